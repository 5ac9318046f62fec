#!/usr/bin/env bash
# bench-sim.sh - the RTL kernel in Verilator on Fashion-MNIST test images at
# several lane counts (`make bench-sim`):
#
#   bench-sim.sh MPBN MODEL.snn "1 4 8 16" LIMIT OUTDIR
#
# For each lane count: `mpbn compare MODEL --devices ref,sim --lanes N` over
# the first LIMIT test images (0 = the whole test set) with 20% memory
# back-pressure, which must report 0 mismatches; its per-device figures give
# the kernel cycles. Synaptic operations per image come from the result
# records (`mpbn eval --device ref`: synops_per_image, the sum of synops[l]).
# Printed table (also OUTDIR/bench-sim.md and .json):
#   cycles/image, synops/image, lane utilisation = synops / (lanes x cycles),
#   and the simulator's speed in kernel cycles per wall-clock second.
set -uo pipefail
MPBN=$1 MODEL=$2 LANES=$3 LIMIT=$4 OUT=$5
BP=${SIM_BENCH_BP:-20}
mkdir -p "$OUT"
lim=()
[ "$LIMIT" != 0 ] && lim=(--limit "$LIMIT")
json_get() { python3 -c 'import json,sys
d=json.loads(sys.stdin.readlines()[-1])
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

echo "== synaptic operations per image (ref, result records)"
ref=$(MPBN_PROGRESS=0 "$MPBN" eval "$MODEL" --device ref "${lim[@]}" 2>"$OUT/bench-ref.err") ||
    { cat "$OUT/bench-ref.err"; exit 1; }
synops=$(json_get synops_per_image <<<"$ref")
images=$(json_get images <<<"$ref")
acc=$(json_get accuracy <<<"$ref")
echo "   $images images, accuracy $acc, $synops synops/image"

fail=0
rows=()
jrows=()
for l in $LANES; do
    echo "== lanes $l: compare ref,sim, $images images, back-pressure $BP%"
    t0=$SECONDS
    out=$(MPBN_PROGRESS=0 "$MPBN" compare "$MODEL" --devices ref,sim --lanes "$l" \
          --backpressure "$BP" "${lim[@]}" 2>"$OUT/bench-L$l.err")
    rc=$?
    if [ $rc -ne 0 ] || [ -z "$out" ]; then
        echo "   FAILED (exit $rc):"
        tail -n 5 "$OUT/bench-L$l.err" | sed 's/^/   /'
        fail=1
        rows+=("| $l | - | - | - | - | - | FAILED |")
        continue
    fi
    mism=$(json_get mismatches <<<"$out")
    cyc=$(json_get per_device.sim.cycles <<<"$out")
    secs=$(json_get per_device.sim.seconds <<<"$out")
    row=$(python3 -c 'import sys
l,n,cyc,syn,secs=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),float(sys.argv[5])
cpi=cyc/n
print("%.0f %.0f %.1f %.3g" % (cpi, syn, 100.0*syn/(l*cpi), cyc/secs if secs>0 else 0))' \
        "$l" "$images" "$cyc" "$synops" "$secs")
    read -r cpi syn util speed <<<"$row"
    echo "   mismatches $mism, $cpi cycles/image, utilisation $util%, sim $speed cycles/s ($((SECONDS - t0)) s)"
    [ "$mism" = 0 ] || fail=1
    rows+=("| $l | $images | $mism | $cpi | $syn | $util% | $speed |")
    jrows+=("{\"lanes\":$l,\"images\":$images,\"mismatches\":$mism,\"cycles_per_image\":$cpi,\"synops_per_image\":$syn,\"utilisation\":$(python3 -c "print($util/100)"),\"sim_cycles_per_s\":$speed}")
done

{
    echo "RTL kernel in Verilator: $(basename "$MODEL"), $images test images, back-pressure $BP%, default read latency"
    echo
    echo "| lanes | images | mismatches | cycles/image | synops/image | utilisation | sim cycles/s |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} >"$OUT/bench-sim.md"
echo
cat "$OUT/bench-sim.md"
(IFS=,; echo "{\"bench\":\"sim\",\"model\":\"$MODEL\",\"accuracy\":$acc,\"rows\":[${jrows[*]}]}") >"$OUT/bench-sim.json"
tail -n 1 "$OUT/bench-sim.json"
exit $fail
