#!/usr/bin/env bash
# mpi-train.sh - data-parallel `mpbn train` under mpirun (make test-train-mpi;
# docs/trainer.md "Several processes (MPI)"):
#
#  * equivalence: with synchronised BN/MPBN statistics (the default) and no
#    augmentation, 2 ranks train what 1 process trains with the same global
#    --batch: every tensor of the two checkpoints (weights, statistics,
#    momentum) agrees to float summation tolerance (tests/ckpt-diff.c), for
#    channel and element-wise MPBN, after 6 SGD steps over 2 epochs;
#  * the same with --augment crop,flip,erase (every rank draws the whole
#    batch's augmentation stream and keeps its share);
#  * the comparison can fail: --bn-stats local is a different run, and
#    ckpt-diff must say so;
#  * --resume with another rank count: 2 ranks for epoch 1, 1 process for
#    epoch 2 equals 1 process for both;
#  * rank 0 alone prints the JSON line (with "ranks") and progress, writes
#    the checkpoint, CSV and plot;
#  * bad input: a --batch that does not split over the ranks, more ranks
#    than images in a batch, --threads oversubscribing the host: one clear
#    message each, exit 1;
#  * a plain run (no mpirun) prints nothing of MPI's.
#
# Without MPI in the build (or without mpirun) the suite is skipped with a
# message. Runs in ~20 s on 2 cores (oversubscribed: 1 thread per rank).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
CKPT_DIFF=${CKPT_DIFF:-$(dirname "$MPBN")/tests/ckpt-diff}

if [ "${HAVE_MPI:-}" != 1 ] || ! command -v mpirun >/dev/null; then
    echo "mpi-train.sh: skipped: this build has no MPI (install openmpi-bin libopenmpi-dev, rebuild)"
    exit 0
fi
# OpenMPI refuses root without these; --oversubscribe: 2 ranks on any machine
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
run_np() { # ranks, mpbn arguments...
    local n=$1
    shift
    mpirun --oversubscribe --allow-run-as-root -n "$n" "$MPBN" "$@"
}
# A small network, 2 epochs of 3 steps of a global batch of 32, no
# augmentation. Small on purpose: spikes and the surrogate window are
# threshold decisions, so a last-bit difference of a sum (2 ranks add their
# halves, 1 process adds the whole) now and then flips one, and from then on
# the runs part like any two float orders do (1 process with --threads 1 and
# --threads 2 part the same way). With c4,p,f16 over 6 steps the two runs
# stay within ~3e-5 of each other (8 seeds, both MPBN modes); a rank that
# normalised with its own statistics, or a gradient scaled or summed wrongly,
# is off by 1e-2 and more.
NET=(--data "$DATA" --arch c4,p,f16 --T 3 --limit-train 2048 --limit-test 400
     --batch 32 --epochs 2 --max-batches 3 --seed 3 --augment none)
TOL=1e-4
t0=$SECONDS

# ---- equivalence: channel MPBN --------------------------------------------------------
check_re "1 process" 0 '"ranks":1' "$MPBN" train "${NET[@]}" --threads 1 --out "$tmp/one.safetensors"
expect_true "no MPI output without mpirun" bash -c "! grep -Eiq 'mpi|pmix|orte|prte' '$tmp/err'"
check_re "2 ranks" 0 '"ranks":2,.*"bn_stats":"global"' run_np 2 train "${NET[@]}" --out "$tmp/two.safetensors"
expect_true "one JSON line (rank 0)" test "$(grep -c '^{' "$tmp/out")" -eq 1
expect_err "run line names ranks and per-rank batch" "batches of 32.*2 ranks x 1 threads, 16 images per rank"
expect_true "one run line" test "$(grep -c '^mpbn train: data ' "$tmp/err")" -eq 1
expect_true "CSV written by rank 0" test "$(wc -l <"$tmp/two.csv")" -eq 3
check "2 ranks equal 1 process (channel)" 0 "$CKPT_DIFF" "$tmp/one.safetensors" "$tmp/two.safetensors" $TOL
tail -n 1 "$tmp/out"

# ---- equivalence: element-wise MPBN ----------------------------------------------------
check "1 process (element)" 0 "$MPBN" train "${NET[@]}" --mpbn element --threads 1 --out "$tmp/one-e.safetensors"
check "2 ranks (element)" 0 run_np 2 train "${NET[@]}" --mpbn element --out "$tmp/two-e.safetensors"
check "2 ranks equal 1 process (element)" 0 "$CKPT_DIFF" "$tmp/one-e.safetensors" "$tmp/two-e.safetensors" $TOL
tail -n 1 "$tmp/out"

# ---- equivalence with every augmentation: the ranks draw the same stream -----------------
check "1 process (crop,flip,erase)" 0 "$MPBN" train "${NET[@]}" --augment crop,flip,erase --threads 1 \
    --out "$tmp/one-a.safetensors"
check "2 ranks (crop,flip,erase)" 0 run_np 2 train "${NET[@]}" --augment crop,flip,erase --out "$tmp/two-a.safetensors"
check "2 ranks equal 1 process (crop,flip,erase)" 0 "$CKPT_DIFF" "$tmp/one-a.safetensors" "$tmp/two-a.safetensors" $TOL
check "augmentation changes the run" 1 "$CKPT_DIFF" "$tmp/one.safetensors" "$tmp/one-a.safetensors" $TOL
tail -n 1 "$tmp/out"

# ---- the comparison can fail: local statistics are another run ---------------------------
check_re "2 ranks, local statistics" 0 '"bn_stats":"local"' run_np 2 train "${NET[@]}" --bn-stats local \
    --out "$tmp/local.safetensors"
check "local statistics differ from 1 process" 1 "$CKPT_DIFF" "$tmp/one.safetensors" "$tmp/local.safetensors" $TOL
tail -n 1 "$tmp/out"

# ---- --resume with another rank count -----------------------------------------------------
check "2 ranks, epoch 1" 0 run_np 2 train "${NET[@]}" --stop-after 1 --out "$tmp/half.safetensors"
check_re "1 process resumes epoch 2" 0 '"ranks":1' "$MPBN" train --resume "$tmp/half.safetensors" --threads 1 \
    --out "$tmp/resumed.safetensors"
check "resumed equals 1 process" 0 "$CKPT_DIFF" "$tmp/one.safetensors" "$tmp/resumed.safetensors" $TOL
tail -n 1 "$tmp/out"

# ---- bad input ----------------------------------------------------------------------------
check "batch not a multiple of the ranks" 1 run_np 2 train "${NET[@]}" --batch 33 --out "$tmp/bad.safetensors" &&
    expect_err "names the split" "--batch 33 is not a multiple of the 2 ranks.*use --batch 32 or 34"
expect_true "error printed once" test "$(grep -c 'not a multiple' "$tmp/err")" -eq 1
check "more ranks than images" 1 run_np 3 train "${NET[@]}" --batch 2 --out "$tmp/bad.safetensors" &&
    expect_err "names the batch and ranks" "--batch 2 is smaller than the 3 ranks"
cores=$(nproc)
check "threads oversubscribe the host" 1 run_np 2 train "${NET[@]}" --threads "$cores" --out "$tmp/bad.safetensors" &&
    expect_err "names threads, ranks and cores" "--threads $cores with 2 ranks on this host needs $((2 * cores)) cores"
check "local statistics of 1 image" 1 run_np 2 train "${NET[@]}" --batch 2 --bn-stats local --out "$tmp/bad.safetensors" &&
    expect_err "names --bn-stats local" "--bn-stats local needs at least 2 images per rank"
expect_true "no checkpoint after bad input" test ! -e "$tmp/bad.safetensors"

echo "mpi-train.sh: $((SECONDS - t0)) s"
finish
