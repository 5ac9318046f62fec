#!/usr/bin/env bash
# The README's test command (`make test`): install missing packages (as root),
# build everything, run every suite, print one summary. Exit non-zero if any
# suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1
bash scripts/check-tools.sh | grep -v '^  ok '; [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
make -j"$jobs" all || exit 1
declare -a names=() results=()
run_suite() {
    local name=$1; shift
    local t0=$SECONDS
    echo "=================== $name"
    if "$@"; then results+=("PASS"); else results+=("FAIL"); fi
    names+=("$name ($((SECONDS - t0)) s)")
}
run_suite unit make -j"$jobs" test-unit
run_suite cli make test-cli
# Each suite registered by mk/*.mk runs on its own, so one failure does not hide the rest.
# With -j: what a suite builds first (Verilator models and testbenches, fuzzers,
# fixtures) is compiled on every core; the suite's own recipe stays in order.
for suite in $(make -s --no-print-directory list-extra); do
    run_suite "$suite" make -j"$jobs" --no-print-directory "$suite"
done
echo "=================== summary"
fail=0 npass=0 nfail=0
for i in "${!names[@]}"; do
    printf '  %-4s %s\n' "${results[$i]}" "${names[$i]}"
    if [ "${results[$i]}" = PASS ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fail=1; fi
done
echo "suites: $npass passed, $nfail failed"
exit $fail
