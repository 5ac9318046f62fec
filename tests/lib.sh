# tests/lib.sh - helpers shared by the tests/cli-*.sh suites. Source it after
# setting MPBN; it makes $tmp (removed on exit) and keeps pass/fail counts.
#
#   check NAME WANT_EXIT CMD...     run CMD, stdout -> $tmp/out, stderr -> $tmp/err;
#                                   count a failure if the exit code differs
#                                   (a signal is always a failure); returns 0
#                                   when the exit code matched
#   check_re NAME WANT_EXIT REGEX CMD...
#                                   check, then (REGEX not empty) expect_out
#                                   when WANT_EXIT is 0, expect_err otherwise
#   expect_err NAME REGEX           stderr of the last check matches REGEX
#   expect_out NAME REGEX           last stdout line of the last check matches
#   expect_same NAME FILE COPY      FILE is byte-identical to COPY
#   expect_true NAME CMD...         CMD succeeds
#   finish                          print the summary (with $skip, when a suite
#                                   sets it), exit 1 on any failure
set -uo pipefail
MPBN=${MPBN:-build/mpbn}
TOOLS=${TOOLS:-$(dirname "$MPBN")/tools}
DATA=${MPBN_DATA:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
export MPBN_PROGRESS=${MPBN_PROGRESS:-0}

check() {
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ge 128 ] && [ "$want" -lt 128 ]; then
        echo "FAIL $name: killed by signal $((rc - 128))"
        sed 's/^/    /' "$tmp/err" | tail -5
        fail=$((fail + 1))
        return 1
    fi
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want"
        sed 's/^/    /' "$tmp/err" | tail -5
        fail=$((fail + 1))
        return 1
    fi
    pass=$((pass + 1))
    return 0
}
check_re() {
    local name=$1 want=$2 re=$3
    shift 3
    check "$name" "$want" "$@" || return 1
    [ -n "$re" ] || return 0
    if [ "$want" -eq 0 ]; then expect_out "$name" "$re"; else expect_err "$name" "$re"; fi
}
expect_err() {
    if grep -Eq -e "$2" "$tmp/err"; then pass=$((pass + 1)); return 0; fi
    echo "FAIL $1: stderr does not match /$2/:"
    sed 's/^/    /' "$tmp/err" | tail -5
    fail=$((fail + 1))
    return 1
}
expect_out() {
    if tail -n 1 "$tmp/out" | grep -Eq -e "$2"; then pass=$((pass + 1)); return 0; fi
    echo "FAIL $1: last stdout line does not match /$2/:"
    tail -n 1 "$tmp/out" | sed 's/^/    /'
    fail=$((fail + 1))
    return 1
}
expect_same() {
    if cmp -s "$2" "$3"; then pass=$((pass + 1)); return 0; fi
    echo "FAIL $1: $2 changed"
    fail=$((fail + 1))
    return 1
}
expect_true() {
    local name=$1
    shift
    if "$@"; then pass=$((pass + 1)); return 0; fi
    echo "FAIL $name: '$*' is false"
    fail=$((fail + 1))
    return 1
}
finish() {
    echo "$(basename "$0"): $pass passed, $fail failed${skip:+, $skip skipped}"
    [ "$fail" -eq 0 ]
    exit $?
}
