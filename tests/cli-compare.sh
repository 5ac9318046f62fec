#!/usr/bin/env bash
# cli-compare.sh - the `mpbn compare` contract: usage errors exit 2, user
# errors exit 1 with a message, agreement exits 0 with a JSON last line, and a
# wrong spike (injected into the csim trace by MPBN_CSIM_FAULT) exits 1
# naming the image, layer, step and neuron.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

net=(--random-net c4,p,c8,f16 --shape 1x12x12 --T 4 --random 20 --seed 3)

# usage errors
check "no arguments" 2 "$MPBN" compare
check "unknown option" 2 "$MPBN" compare x.snn --frobnicate 1
check "one device" 2 "$MPBN" compare "${net[@]}" --devices ref
check "model and random net" 2 "$MPBN" compare x.snn "${net[@]}"
check "leftover --lanes" 2 "$MPBN" compare "${net[@]}" --lanes 4 &&
    expect_err "--lanes names its replacement" "--lanes was removed: --config replaced it"
check "bad configuration" 2 "$MPBN" compare "${net[@]}" --config nosuch &&
    expect_err "configuration named" "unknown configuration 'nosuch'"
check "--help" 0 "$MPBN" compare --help

# user errors
check "missing model" 1 "$MPBN" compare "$tmp/nope.snn" && expect_err "missing model names the file" "nope.snn"
printf 'not a deploy image at all, just text that is long enough to pass the size test.....' >"$tmp/bad.snn"
check "malformed model" 1 "$MPBN" compare "$tmp/bad.snn" && expect_err "malformed model" "magic|bad.snn"
check "unknown device" 1 "$MPBN" compare "${net[@]}" --devices ref,nosuch && expect_err "unknown device" "nosuch"
check "image too large for the card configuration" 1 "$MPBN" compare --random-net c1,f4 --shape 1x128x128 --random 2 &&
    expect_err "the fit check names the stage and parameter" "does not fit the HLS layer-pipeline kernel \(--config card\): layer 0 \(conv\) has 128-row maps; conv stage 0 of configuration card holds 28 rows \(C0_H\)"
check "fits the ci configuration" 0 "$MPBN" compare --random-net c2,p,f4 --shape 3x16x40 --T 8 --random 2 --config ci
check "T above the configuration's" 1 "$MPBN" compare "${net[@]}" --T 5 &&
    expect_err "T named" "T = 5 time steps; configuration card holds 4 \(TM\)"

# agreement: both configurations, small batches, saturation corner
check "ref vs csim" 0 "$MPBN" compare "${net[@]}" &&
    expect_out "json" '"images":20,.*"mismatches":0,.*"first_mismatch":null'
check "ref vs csim, ci" 0 "$MPBN" compare "${net[@]}" --config ci --batch 7
check "ref vs csim, batches of 3" 0 "$MPBN" compare "${net[@]}" --batch 3
check "ref vs csim extreme" 0 "$MPBN" compare "${net[@]}" --extreme
check "csim vs csim" 0 "$MPBN" compare "${net[@]}" --devices csim,ref,csim

# a wrong spike is caught and named (image 13, layer 2, step 3, neuron 7)
check "injected fault" 1 env MPBN_CSIM_FAULT=13,2,3,7 "$MPBN" compare "${net[@]}" --batch 6 &&
    expect_out "fault json" '"mismatches":1,.*"first_mismatch":\{"image":13,"device":"csim","reference":"ref","what":"spike","layer":2,"step":3,"neuron":7' &&
    expect_err "fault names the spike" "image 13: csim differs from ref at layer 2 \(conv\), step 3, neuron 7"

# a real data set, when the model matches it
if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
    check "fashion-mnist images" 0 "$MPBN" compare --random-net c4,p,c8,p,f16 --seed 5 --limit 40 &&
        expect_out "data set json" '"images":40,.*"mismatches":0'
    fx=build/fixtures/fmnist-channel.snn
    if [ -r "$fx" ]; then
        check "fixture, 50 test images" 0 "$MPBN" compare "$fx" --devices ref,csim --limit 50 &&
            expect_out "fixture json" '"images":50,.*"mismatches":0'
    fi
fi

finish
