#!/usr/bin/env bash
# cli-backends.sh - the same images through every backend that exists on this
# machine give identical predictions and output sums, image by image.
#
# `mpbn bench` runs each device of the build (devices that cannot open here,
# e.g. `sim` before `make sim` or `xrt` without a card, are skipped with a
# note) and counts the images whose sums or prediction differ from the first
# device's; this test demands 0 on random networks of several shapes (conv
# and fc, pooling, negative-polarity and constant neurons, T = 1..8, a
# multi-channel input, batches that split the set unevenly) and, when it has
# been built, on the trained fixture with real test images. `mpbn compare`
# checks the spikes step by step; this is the user-level contract.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
FIXTURE=${FIXTURE:-$(dirname "$MPBN")/fixtures/fmnist-channel.snn}

if [ ! -x "$TOOLS/snn-randnet" ]; then
    make --no-print-directory -s "$TOOLS/snn-randnet" >/dev/null || { echo "FAIL: cannot build $TOOLS/snn-randnet"; exit 1; }
fi

# bench NAME MODEL ARGS...: every device that opens agrees with the first one.
bench() {
    local name=$1 model=$2
    shift 2
    env -u XILINX_XRT "$MPBN" bench "$model" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    local json
    json=$(tail -n 1 "$tmp/out")
    local ran
    ran=$(grep -o '"device":"[a-z]*"' <<<"$json" | sed 's/.*:"\(.*\)"/\1/' | tr '\n' ' ')
    local n_ran
    n_ran=$(wc -w <<<"$ran")
    if [ $rc -ne 0 ]; then
        echo "FAIL $name: exit $rc"
        tail -5 "$tmp/err" | sed 's/^/    /'
        fail=$((fail + 1))
    elif ! grep -q '"mismatches":0,"ann_macs' <<<"$json"; then
        echo "FAIL $name: devices disagree: $(grep -o '"mismatches":[0-9]*' <<<"$json" | tr '\n' ' ')"
        fail=$((fail + 1))
    elif ! python3 -c '
import json, sys
devs = [d for d in json.loads(sys.argv[1]).get("devices", []) if "events_per_layer" in d]
assert devs
# averages over the same images (sim may run only the first few)
same = [d for d in devs if d["images"] == devs[0]["images"]]
assert all(d[k] == same[0][k] for d in same
           for k in ("spikes_per_layer", "synops_per_layer", "events_per_layer"))
' "$json" 2>/dev/null; then
        echo "FAIL $name: the devices' counters (spikes, synops, events per layer) differ or are missing"
        fail=$((fail + 1))
    elif [ "$n_ran" -lt 2 ]; then
        echo "FAIL $name: only '$ran' ran; need at least two backends to compare"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
        echo "ok   $name: identical on [ $ran] ($(grep -o '"images":[0-9]*' <<<"$json" | head -1))"
    fi
}

# The kernels (csim, the HLS kernel; sim, the RTL kernel) run a network in
# the configuration of the last column when its layers map onto the stages
# (docs/rtl-pipeline.md, "Stage mapping"): an fc layer on the image, or a
# 28x28 map at T = 6, fit no configuration; both kernels refuse those before
# running, with the reason, and ref runs them alone.
#            arch            seed T  C  H  W  classes  config
nets=(
    "c4,p,c8,f16      1 4 1 12 12 10 ci"
    "c8,c8,p,f32      2 2 1 16 16 10 ci"
    "f24,f12          3 8 1 8 8 4    -"
    "c4,p,c8,f16      5 6 1 28 28 10 -"
    "c6,p,c6,p,f10    4 1 3 12 12 5  ci"
)
for spec in "${nets[@]}"; do
    set -- $spec
    model="$tmp/net-$2.snn"
    if ! "$TOOLS/snn-randnet" "$model" "${@:1:7}"; then
        echo "FAIL snn-randnet $spec"
        fail=$((fail + 1))
        continue
    fi
    if [ "$8" = - ]; then
        for cfg in ci card; do
            check "random $1 T=$3 ${4}x${5}x${6}: csim --config $cfg refuses it" 1 \
                env -u XILINX_XRT "$MPBN" compare "$model" --devices ref,csim --config $cfg --random 2 &&
                expect_err "random $1: the refusal says why" "does not fit the HLS layer-pipeline kernel \(--config $cfg\): "
        done
    else
        bench "random $1 T=$3 ${4}x${5}x${6}" "$model" --random 37 --batch 16 --config "$8"
    fi
done

# Devices that ran on the last random network (the whole build, minus those
# that cannot open here).
devices=$(tail -n 1 "$tmp/out" | grep -o '"device":"[a-z]*"' | sed 's/.*:"\(.*\)"/\1/' | tr '\n' ',')
devices=${devices%,}
fast=$(tr ',' '\n' <<<"$devices" | grep -vx sim | tr '\n' ',')
fast=${fast%,}

if [ -f "$FIXTURE" ]; then
    # Verilator needs about two seconds per fixture image: sim gets a few.
    bench "fixture $(basename "$FIXTURE"), 200 test images" "$FIXTURE" --limit 200 --batch 64 --devices "$fast"
    if tr ',' '\n' <<<"$devices" | grep -qx sim; then # (not csim)
        bench "fixture $(basename "$FIXTURE"), ${SIM_IMAGES:-2} test images with sim" "$FIXTURE" \
            --limit "${SIM_IMAGES:-2}" --devices ref,sim
    fi
    # The same through `mpbn eval` on each device: identical accuracy.
    accs=""
    for dev in ${fast//,/ }; do
        a=$(env -u XILINX_XRT "$MPBN" eval "$FIXTURE" --device "$dev" --limit 200 2>/dev/null | tail -n 1 |
            grep -o '"accuracy":[0-9.e-]*')
        accs="$accs $dev=${a#*:}"
    done
    if [ "$(tr ' ' '\n' <<<"$accs" | sed -n 's/.*=//p' | sort -u | wc -l)" -eq 1 ] &&
        ! grep -q '= \|=$' <<<"$accs "; then
        pass=$((pass + 1))
        echo "ok   eval on$accs (200 images): same accuracy"
    else
        echo "FAIL eval accuracies differ or missing:$accs"
        fail=$((fail + 1))
    fi
else
    echo "skip fixture: $FIXTURE not built (make $FIXTURE)"
fi

finish
