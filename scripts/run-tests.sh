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
# The card configuration's Verilator model is the longest single build (about
# 9 CPU-minutes at -O2, mk/sim.mk) and only test-sim-fixture, the last suite,
# needs it. Build it now, on one core in the background, so it overlaps the
# suites that leave a core idle; the suite waits for it (and rebuilds it if the
# background build failed, so a failure is reported where it belongs).
# sim_build builds in a private directory and renames the library into place,
# so nothing else can see a half-built model.
card_log=build/sim-card-build.log
mkdir -p build
setsid make -j1 --no-print-directory sim-pipe PIPE_CONFIGS=card >"$card_log" 2>&1 &
card_pid=$!
card_t0=$SECONDS
wait_card_model() {
    [ -n "$card_pid" ] || return 0
    echo "=================== waiting for the card model (background build since $((SECONDS - card_t0)) s)"
    if ! wait "$card_pid"; then echo "background card model build failed (log $card_log):"; tail -n 20 "$card_log"; fi
    card_pid=
}
# Its own process group (setsid), so an interrupted run stops the compilers too.
trap '[ -n "${card_pid:-}" ] && kill -- -"$card_pid" 2>/dev/null' EXIT
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
    [ "$suite" = test-sim-fixture ] && wait_card_model
    run_suite "$suite" make -j"$jobs" --no-print-directory "$suite"
done
wait_card_model
echo "=================== summary"
fail=0 npass=0 nfail=0
for i in "${!names[@]}"; do
    printf '  %-4s %s\n' "${results[$i]}" "${names[$i]}"
    if [ "${results[$i]}" = PASS ]; then npass=$((npass + 1)); else nfail=$((nfail + 1)); fail=1; fi
done
echo "suites: $npass passed, $nfail failed"
exit $fail
