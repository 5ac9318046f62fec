#!/usr/bin/env bash
# mpi-eval.sh - `mpbn eval` and `mpbn bench` of a deploy image under mpirun
# (make test-eval-mpi; docs/running-on-alveo.md, "Several processes (MPI)"):
#
#  * equivalence: 2 ranks, each on its half of the images, report what 1
#    process reports: accuracy, images, mismatches and every counter per
#    image (spikes, synops, events, per layer and in total, spike rates,
#    the energy model's estimates) are equal, on --device ref, csim and xrt
#    (the XRT stand-in playing two cards, XRT_FAKE_CARDS=2), for eval and
#    for bench --devices ref,csim,xrt; eval of a checkpoint (float model):
#    the same accuracy;
#  * the card rule: rank r takes card r (the JSON's cards[] names rank and
#    card), --device-index 0 puts both ranks on card 0;
#  * rank 0 alone prints the JSON line (with "ranks", "per_rank"), the table
#    and the CSV;
#  * failures: a card that cannot open, or hangs, on rank 1 only, and more
#    ranks than cards: exit status 1, the message names rank and card, no
#    hang (every run under `timeout`).
#
# Without MPI in the build (or without mpirun) the suite is skipped with a
# message; the xrt cases need the XRT stand-in (make xrt-fake). About 20 s on
# 2 cores.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
skip=0

if [ "${HAVE_MPI:-}" != 1 ] || ! command -v mpirun >/dev/null; then
    echo "mpi-eval.sh: skipped: this build has no MPI (install openmpi-bin libopenmpi-dev, rebuild)"
    exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
T=timeout
run_np() { # ranks, mpbn arguments...
    local n=$1
    shift
    $T 120 mpirun --oversubscribe --allow-run-as-root -n "$n" "$MPBN" "$@"
}
t0=$SECONDS

# same_json NAME ONE TWO [TOL]: the last JSON lines of two outputs agree on
# every figure that does not depend on time or on how the images were split
# (numbers within TOL when given: the float model, see below)
same_json() {
    local name=$1
    if python3 - "$2" "$3" "${4:-0}" <<'EOF'; then pass=$((pass + 1)); else echo "FAIL $name"; fail=$((fail + 1)); fi
import json, sys
a, b = (json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[1:3])
tol = float(sys.argv[3])
def same(x, y):
    if tol and isinstance(x, float) and isinstance(y, float):
        return abs(x - y) <= tol
    return x == y
KEYS = ("accuracy", "images", "mismatches", "spikes_per_image", "synops_per_image",
        "events_per_image", "spikes_per_layer", "synops_per_layer", "events_per_layer",
        "spike_rate", "snn_macs_per_image", "snn_acs_per_image", "est_uj_fp32", "est_uj_int",
        "est_uj_int_sram", "ann_macs_per_image", "ann_est_uj_fp32", "ann_est_uj_int_sram",
        "device", "command")
def cmp(x, y, where):
    bad = 0
    for k in KEYS:
        if (k in x) != (k in y) or not same(x.get(k), y.get(k)):
            print(f"    {where}{k}: 1 process {x.get(k)!r}, 2 ranks {y.get(k)!r}")
            bad += 1
    return bad
bad = cmp(a, b, "")
if "devices" in a:
    if [d["device"] for d in a["devices"]] != [d["device"] for d in b["devices"]]:
        print("    devices differ"); bad += 1
    for x, y in zip(a["devices"], b["devices"]):
        bad += cmp(x, y, x["device"] + ": ")
if b.get("ranks") != 2 or a.get("ranks") != 1:
    print(f"    ranks: {a.get('ranks')!r}, {b.get('ranks')!r}"); bad += 1
sys.exit(1 if bad else 0)
EOF
}

"$TOOLS/snn-randnet" "$tmp/net.snn" c4,p,c8,p,f16 5 4 1 28 28 10 >/dev/null ||
    { echo "FAIL: snn-randnet"; exit 1; }
E=("$tmp/net.snn" --data "$DATA")

# ---- eval: ref and csim ------------------------------------------------------------
for dev in ref csim; do
    lim=600
    [ $dev = csim ] && lim=300
    check "eval $dev, 1 process" 0 $T 120 "$MPBN" eval "${E[@]}" --device $dev --limit $lim &&
        cp "$tmp/out" "$tmp/eval-$dev-1"
    check_re "eval $dev, 2 ranks" 0 '"ranks":2,.*"per_rank":\[\{"rank":0,"images":[0-9]+' \
        run_np 2 eval "${E[@]}" --device $dev --limit $lim && cp "$tmp/out" "$tmp/eval-$dev-2"
    expect_true "eval $dev: one JSON line (rank 0)" test "$(grep -c '^{' "$tmp/out")" -eq 1
    expect_err "eval $dev: summary names the ranks" "accuracy .* on $lim images .*2 ranks\)"
    same_json "eval $dev: 2 ranks equal 1 process" "$tmp/eval-$dev-1" "$tmp/eval-$dev-2"
done
tail -n 1 "$tmp/eval-csim-2"
# an odd count: shares of 150 and 151
check "eval ref, 301 images, 1 process" 0 "$MPBN" eval "${E[@]}" --limit 301 && cp "$tmp/out" "$tmp/odd-1"
check_re "eval ref, 301 images, 2 ranks" 0 '"per_rank":\[\{"rank":0,"images":150,.*\{"rank":1,"images":151,' \
    run_np 2 eval "${E[@]}" --limit 301 && cp "$tmp/out" "$tmp/odd-2"
same_json "eval ref, 301 images: 2 ranks equal 1 process" "$tmp/odd-1" "$tmp/odd-2"

# ---- eval of a checkpoint (the float model) ------------------------------------------
check "train a small checkpoint" 0 "$MPBN" train --data "$DATA" --arch c4,p,f16 --T 3 --limit-train 512 \
    --limit-test 64 --batch 32 --epochs 1 --threads 1 --quiet --out "$tmp/m.safetensors"
check "eval float, 1 process" 0 "$MPBN" eval "$tmp/m.safetensors" --data "$DATA" --limit 601 --threads 1 &&
    cp "$tmp/out" "$tmp/float-1"
check_re "eval float, 2 ranks" 0 '"device":"float",.*"ranks":2' run_np 2 eval "$tmp/m.safetensors" \
    --data "$DATA" --limit 601 && cp "$tmp/out" "$tmp/float-2"
# The float model computes each image alone (running statistics), but BLAS
# may round a batch of 300 images otherwise than one of 601, and a spike at
# its threshold can flip: equal here, 1 image of 601 allowed elsewhere.
same_json "eval float: 2 ranks equal 1 process" "$tmp/float-1" "$tmp/float-2" 0.00167

# ---- xrt on the stand-in: two cards --------------------------------------------------
FAKE=$(dirname "$MPBN")/xrt-fake
if [ ! -e "$FAKE/lib/libxrt_coreutil.so.2" ] || [ ! -x "$FAKE/make-xclbin" ]; then
    echo "skip xrt cases: no XRT stand-in ($FAKE; make xrt-fake needs libxrt-dev)"
    skip=$((skip + 1))
else
    "$FAKE/make-xclbin" "$tmp/cu2.xclbin" 2
    fake=(env -u XCL_EMULATION_MODE XILINX_XRT="$FAKE" XRT_FAKE_CARDS=2)
    X=(--device xrt --xclbin "$tmp/cu2.xclbin" --timeout-ms 3000)
    check "eval xrt, 1 process" 0 "${fake[@]}" $T 120 "$MPBN" eval "${E[@]}" "${X[@]}" --limit 600 &&
        cp "$tmp/out" "$tmp/eval-xrt-1"
    check_re "eval xrt, 2 ranks on cards 0 and 1" 0 \
        '"cards":\[\{"card":0,[^]]*"rank":0\},\{"card":1,[^]]*"rank":1\}\],"n_cards":2,"cus":4,"ranks":2' \
        "${fake[@]}" $T 120 mpirun --oversubscribe --allow-run-as-root -n 2 "$MPBN" eval "${E[@]}" "${X[@]}" --limit 600 &&
        cp "$tmp/out" "$tmp/eval-xrt-2"
    same_json "eval xrt: 2 ranks (2 cards) equal 1 process" "$tmp/eval-xrt-1" "$tmp/eval-xrt-2"
    tail -n 1 "$tmp/eval-xrt-2"
    check_re "eval xrt, 2 ranks, --device-index 0: both on card 0" 0 \
        '"cards":\[\{"card":0,[^]]*"rank":0\},\{"card":0,[^]]*"rank":1\}\]' \
        "${fake[@]}" $T 120 mpirun --oversubscribe --allow-run-as-root -n 2 "$MPBN" eval "${E[@]}" "${X[@]}" \
        --limit 100 --device-index 0

    # ---- bench: ref, csim, xrt --------------------------------------------------------
    BX=(--devices ref,csim,xrt --xclbin "$tmp/cu2.xclbin" --timeout-ms 3000 --limit 300)
    check "bench, 1 process" 0 "${fake[@]}" $T 120 "$MPBN" bench "${E[@]}" "${BX[@]}" &&
        cp "$tmp/out" "$tmp/bench-1"
    check_re "bench, 2 ranks" 0 '"mismatches":0,.*"ranks":2\}$' \
        "${fake[@]}" $T 120 mpirun --oversubscribe --allow-run-as-root -n 2 "$MPBN" bench "${E[@]}" "${BX[@]}" &&
        cp "$tmp/out" "$tmp/bench-2"
    same_json "bench ref,csim,xrt: 2 ranks equal 1 process" "$tmp/bench-1" "$tmp/bench-2"
    expect_true "bench: one table (rank 0)" test "$(grep -c '^device ' "$tmp/bench-2")" -eq 1
    expect_true "bench: the table names rank and card" grep -q '^xrt: rank 1, card 1: 2 CUs, 150 images' "$tmp/bench-2"

    # ---- a card that fails on rank 1 only ---------------------------------------------
    for kind in open hang; do
        check "eval xrt, card 1 fails ($kind) on rank 1" 1 "${fake[@]}" XRT_FAKE_FAIL=$kind:1 \
            $T 60 mpirun --oversubscribe --allow-run-as-root -n 2 "$MPBN" eval "${E[@]}" "${X[@]}" --limit 200 &&
            expect_err "eval xrt ($kind): rank and card named" "mpbn eval: rank 1 \(card 1\): .*(card 1|device 1)"
        expect_true "eval xrt ($kind): no JSON" test ! -s "$tmp/out"
    done
    check "bench, card 1 fails on rank 1" 1 "${fake[@]}" XRT_FAKE_FAIL=open:1 \
        $T 60 mpirun --oversubscribe --allow-run-as-root -n 2 "$MPBN" bench "${E[@]}" "${BX[@]}" &&
        expect_out "bench: xrt failed, ref and csim ran" '"devices":\[\{"device":"ref".*\{"device":"csim".*"failed":\[\{"device":"xrt","error":"rank 1 \(card 1\): '
    check "more ranks than cards" 1 "${fake[@]}" \
        $T 60 mpirun --oversubscribe --allow-run-as-root -n 3 "$MPBN" eval "${E[@]}" "${X[@]}" --limit 30 &&
        expect_err "names rank 2, card 2 and the rule" "rank 2 \(card 2\): .*each rank takes card <its local rank>"
fi

# ---- bench --csv: rank 0 writes it, once ----------------------------------------------
check "bench --csv, 2 ranks" 0 run_np 2 bench "${E[@]}" --devices ref --limit 50 --csv "$tmp/b.csv" &&
    expect_true "CSV: a header and one row per layer" test "$(wc -l <"$tmp/b.csv")" -eq 7

# ---- bad input ---------------------------------------------------------------------
check "bench: fewer images than ranks" 1 run_np 3 bench "${E[@]}" --devices ref --limit 2 &&
    expect_err "names images and ranks" "2 images for 3 ranks"
expect_true "error printed once" test "$(grep -c 'images for 3 ranks' "$tmp/err")" -eq 1
check "eval: missing model, every rank" 1 run_np 2 eval "$tmp/nope.snn" &&
    expect_true "error printed once" test "$(grep -c 'nope.snn' "$tmp/err")" -eq 1

echo "mpi-eval.sh: $((SECONDS - t0)) s"
finish
