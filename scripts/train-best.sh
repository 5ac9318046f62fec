#!/usr/bin/env bash
# train-best.sh - the accuracy recipe (`make train-best`, docs/trainer.md
# "The accuracy recipe"): the default network at twice the width, T = 4,
# channel-wise MPBN, 40 epochs with random crop and horizontal flip, then
# the fold and the folded integer model's accuracy on all 10,000 test images.
#
# It resumes an interrupted run (the checkpoint stores every option; `train
# --resume` refuses different ones), so it can be run a few epochs at a time:
#   STOP_AFTER=3 make train-best     3 more epochs, then stop (resumable)
#   OUT=DIR                          where the checkpoint goes (runs/best)
#   THREADS=N                        trainer threads (0 = all cores)
#   ARCH, EPOCHS, AUGMENT            the network (c64,c64,p,c128,p,f256), the
#                                    epochs (40), the augmentation (all =
#                                    crop,flip; a list: crop,flip,erase)
#   SEED=N                           --seed N (initial weights, shuffle,
#                                    augmentation; 1, the trainer's default)
#   LABEL_SMOOTHING=E                --label-smoothing E (0: off, the default)
#   DATA=DIR                         another IDX data set
#
# The network does not fit the RTL kernel's `card` configuration (32
# channels in the first stages); its card cost is reported by the
# architectural model (tools/snn-archmodel.c) for engines sized like the
# card's, next to the default network's.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${ARCH:-c64,c64,p,c128,p,f256}
EPOCHS_GIVEN=${EPOCHS:-}
EPOCHS=${EPOCHS:-40}
AUGMENT=${AUGMENT:-all}
OUT=${OUT:-runs/best}
THREADS=${THREADS:-0}
STOP_AFTER=${STOP_AFTER:-0}
LABEL_SMOOTHING=${LABEL_SMOOTHING:-0}
SEED_GIVEN=${SEED:-}
SEED=${SEED:-1}
DATA_OPT=()
[ -n "${DATA:-}" ] && DATA_OPT=(--data "$DATA")
TRAIN_OPT=(--arch "$ARCH" --T 4 --mpbn channel --augment "$AUGMENT" --threads "$THREADS"
    --stop-after "$STOP_AFTER")
if [ "$LABEL_SMOOTHING" != 0 ]; then TRAIN_OPT+=(--label-smoothing "$LABEL_SMOOTHING"); fi

mkdir -p "$OUT"
ckpt="$OUT/fmnist-wide.safetensors"
model="$OUT/fmnist-wide.snn"
step() { printf '\n=== %s\n' "$*" >&2; }

if [ -f "$ckpt" ]; then
    step "training: resuming $ckpt"
    # the epochs and the seed are the checkpoint's unless given: a run
    # started with other defaults (24 epochs before) resumes as it was
    [ -n "$EPOCHS_GIVEN" ] && TRAIN_OPT+=(--epochs "$EPOCHS_GIVEN")
    [ -n "$SEED_GIVEN" ] && TRAIN_OPT+=(--seed "$SEED_GIVEN")
    build/mpbn train "${DATA_OPT[@]}" --resume "$ckpt" "${TRAIN_OPT[@]}" --out "$ckpt" | tail -n 1
else
    TRAIN_OPT+=(--epochs "$EPOCHS" --seed "$SEED")
    step "training $ARCH, T=4, channel MPBN, $EPOCHS epochs, augment $AUGMENT, label smoothing $LABEL_SMOOTHING, seed $SEED"
    build/mpbn train "${DATA_OPT[@]}" "${TRAIN_OPT[@]}" --out "$ckpt" | tail -n 1
fi

info=$(build/mpbn info "$ckpt" | tail -n 1)
done_epochs=$(sed -nE 's/.*"epochs_done":([0-9]+).*/\1/p' <<<"$info")
total_epochs=$(sed -nE 's/.*"epochs_total":([0-9]+).*/\1/p' <<<"$info")
if [ -z "$done_epochs" ] || [ -z "$total_epochs" ]; then
    echo "train-best: $ckpt: no epoch counts in its metadata (mpbn info)" >&2
    exit 1
fi
if [ "$done_epochs" -lt "$total_epochs" ]; then
    echo "train-best: $done_epochs of $total_epochs epochs done; run it again to continue" >&2
    exit 0
fi

step "folding -> $model"
build/mpbn fold "$ckpt" --out "$model" | tail -n 1
step "float and folded integer (ref) accuracy, all test images"
build/mpbn eval "$ckpt" "${DATA_OPT[@]}" --device float | tail -n 1
build/mpbn eval "$model" "${DATA_OPT[@]}" --device ref | tail -n 1
step "events, synaptic operations and energy per image (ref, 1000 images)"
build/mpbn bench "$model" "${DATA_OPT[@]}" --devices ref --limit 1000 | tail -n 1
step "card cost (architectural model, engines as the card configuration's: 2,27,7)"
build/tools/snn-archmodel "$model" --images 500 --engines 2,27,7
echo "train-best done: checkpoint $ckpt, deploy image $model" >&2
