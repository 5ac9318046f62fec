#!/usr/bin/env bash
# cli-sim.sh - the `sim` device from the command line: a missing simulator
# library is named together with the make command that builds it; with the
# 8-lane library built (`make sim`), a random network agrees with ref under
# back-pressure, `mpbn eval --device sim` reports cycles per image, a cycle
# budget too small for the run ends in a timeout naming the kernel's state,
# and MPBN_SIM_WAVEFORM writes an FST file.
set -uo pipefail
MPBN=${MPBN:-build/mpbn}
SIM_DIR=${MPBN_SIM_DIR:-$(dirname "$MPBN")/sim}
export MPBN_SIM_DIR=$SIM_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0

check() { # name, expected exit code, command...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want"
        sed 's/^/    /' "$tmp/err" | tail -5
        fail=$((fail + 1))
        return 1
    fi
    pass=$((pass + 1))
    return 0
}
expect() { # name, file, regex
    if ! grep -Eq -- "$3" "$2"; then
        echo "FAIL $1: no match for /$3/ in:"
        tail -n 5 "$2" | sed 's/^/    /'
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

net=(--random-net c4,p,c8,f16 --shape 1x12x12 --T 3 --random 12 --seed 4)

# No library for 2 lanes (a count the RTL kernel has, never built by the
# suites): the message names the file and the command.
check "missing library" 1 "$MPBN" compare "${net[@]}" --devices ref,sim --lanes 2 &&
    expect "missing library: file" "$tmp/err" "libsnn-sim-L2\.so" &&
    expect "missing library: command" "$tmp/err" "make sim SIM_LANES=2"
# 32 lanes: csim has them, the RTL kernel not; no build is suggested.
check "lanes beyond the RTL kernel" 1 "$MPBN" compare "${net[@]}" --devices ref,sim --lanes 32 &&
    expect "lanes beyond the RTL kernel: message" "$tmp/err" "1, 2, 4, 8 or 16 lanes" &&
    { ! grep -q "make sim" "$tmp/err" && pass=$((pass + 1)) ||
        { echo "FAIL lanes beyond the RTL kernel: suggests make sim"; fail=$((fail + 1)); }; }

if [ ! -f "$SIM_DIR/libsnn-sim-L8.so" ]; then
    echo "note: $SIM_DIR/libsnn-sim-L8.so not built (make sim); skipping the runs of the RTL kernel"
else
    check "random net ref,sim, 30% back-pressure" 0 \
        "$MPBN" compare "${net[@]}" --devices ref,sim --backpressure 30 --mem-latency 60 &&
        expect "random net: no mismatches" "$tmp/out" '"mismatches":0' &&
        expect "random net: sim cycles" "$tmp/out" '"sim":\{[^}]*"cycles":[1-9]'

    # A budget far below the run: a timeout with the kernel's state, exit 1.
    MPBN_SIM_CYCLE_BUDGET=300 check "cycle budget" 1 "$MPBN" compare "${net[@]}" --devices ref,sim &&
        expect "cycle budget: what" "$tmp/err" "ap_done never rose within the budget of 300 cycles" &&
        expect "cycle budget: state" "$tmp/err" "m_axi_gmem: [0-9]+ read burst" &&
        expect "cycle budget: mapping" "$tmp/err" "MPBN_SIM_CYCLE_BUDGET"

    MPBN_SIM_WAVEFORM=$tmp/run.fst check "waveform" 0 "$MPBN" compare "${net[@]}" --random 1 --devices ref,sim &&
        { [ -s "$tmp/run.fst" ] && pass=$((pass + 1)) || { echo "FAIL waveform: $tmp/run.fst empty"; fail=$((fail + 1)); }; }

    FIXTURE=${FIXTURE:-$(dirname "$MPBN")/fixtures/fmnist-channel.snn}
    if [ -f "$FIXTURE" ]; then
        check "eval --device sim" 0 env MPBN_PROGRESS=0 "$MPBN" eval "$FIXTURE" --device sim --limit 16 --batch 8 &&
            expect "eval: cycles per image" "$tmp/out" '"cycles":[1-9]'
    else
        echo "note: $FIXTURE not built (make fixtures); skipping eval --device sim"
    fi
fi

echo "cli-sim: $pass passed, $fail failed"
[ $fail -eq 0 ]
