#!/usr/bin/env bash
# cli-sim.sh - the `sim` device from the command line: a missing simulator
# library is named together with the make command that builds it; with the
# 8-lane library built (`make sim`), a random network agrees with ref under
# back-pressure, `mpbn eval --device sim` reports cycles per image, a cycle
# budget too small for the run ends in a timeout naming the kernel's state,
# and MPBN_SIM_WAVEFORM writes an FST file.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
SIM_DIR=${MPBN_SIM_DIR:-$(dirname "$MPBN")/sim}
export MPBN_SIM_DIR=$SIM_DIR

net=(--random-net c4,p,c8,f16 --shape 1x12x12 --T 3 --random 12 --seed 4)

# No library for 2 lanes (a count the RTL kernel has, never built by the
# suites): the message names the file and the command.
check "missing library" 1 "$MPBN" compare "${net[@]}" --devices ref,sim --lanes 2 &&
    expect_err "missing library: file" "libsnn-sim-L2\.so" &&
    expect_err "missing library: command" "make sim SIM_LANES=2"
# 32 lanes: csim has them, the RTL kernel not; no build is suggested.
check "lanes beyond the RTL kernel" 1 "$MPBN" compare "${net[@]}" --devices ref,sim --lanes 32 &&
    expect_err "lanes beyond the RTL kernel: message" "1, 2, 4, 8 or 16 lanes" &&
    expect_true "lanes beyond the RTL kernel: no make sim suggested" eval '! grep -q "make sim" "$tmp/err"'

if [ ! -f "$SIM_DIR/libsnn-sim-L8.so" ]; then
    echo "note: $SIM_DIR/libsnn-sim-L8.so not built (make sim); skipping the runs of the RTL kernel"
else
    check "random net ref,sim, 30% back-pressure" 0 \
        "$MPBN" compare "${net[@]}" --devices ref,sim --backpressure 30 --mem-latency 60 &&
        expect_out "random net: no mismatches" '"mismatches":0' &&
        expect_out "random net: sim cycles" '"sim":\{[^}]*"cycles":[1-9]'

    # A budget far below the run: a timeout with the kernel's state, exit 1.
    MPBN_SIM_CYCLE_BUDGET=300 check "cycle budget" 1 "$MPBN" compare "${net[@]}" --devices ref,sim &&
        expect_err "cycle budget: what" "ap_done never rose within the budget of 300 cycles" &&
        expect_err "cycle budget: state" "m_axi_gmem: [0-9]+ read burst" &&
        expect_err "cycle budget: mapping" "MPBN_SIM_CYCLE_BUDGET"

    MPBN_SIM_WAVEFORM=$tmp/run.fst check "waveform" 0 "$MPBN" compare "${net[@]}" --random 1 --devices ref,sim &&
        expect_true "waveform: $tmp/run.fst not empty" test -s "$tmp/run.fst"

    FIXTURE=${FIXTURE:-$(dirname "$MPBN")/fixtures/fmnist-channel.snn}
    if [ -f "$FIXTURE" ]; then
        check "eval --device sim" 0 env MPBN_PROGRESS=0 "$MPBN" eval "$FIXTURE" --device sim --limit 16 --batch 8 &&
            expect_out "eval: cycles per image" '"cycles":[1-9]'
    else
        echo "note: $FIXTURE not built (make fixtures); skipping eval --device sim"
    fi
fi

finish
