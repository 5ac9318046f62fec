#!/usr/bin/env bash
# The README's main job (`make demo`): on Fashion-MNIST, train the default
# network with channel-wise MPBN, fold MPBN into per-neuron thresholds,
# quantise, and run the deploy image on every backend this machine has,
# proving they agree on every spike.
#
# Variables: EPOCHS (default 7), AUGMENT (flip), OUT (default runs/demo), DATA
# (default: Debian's dataset-fashion-mnist), MPBN_MODE (channel), T (4),
# SIM_IMAGES (200). The defaults are the settings of the 93.01% run of
# docs/results.md.
# A finished checkpoint is reused; an interrupted one is resumed.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-7}
AUGMENT=${AUGMENT:-flip}
OUT=${OUT:-runs/demo}
MPBN_MODE=${MPBN_MODE:-channel}
T=${T:-4}
SIM_IMAGES=${SIM_IMAGES:-200}
DATA_OPT=()
[ -n "${DATA:-}" ] && DATA_OPT=(--data "$DATA")

bash scripts/deps.sh
make -j"$(nproc)" all
mkdir -p "$OUT"
ckpt="$OUT/fmnist-$MPBN_MODE.safetensors"
model="$OUT/fmnist-$MPBN_MODE.snn"
step() { printf '\n=== %s\n' "$*" >&2; }

if [ -f "$ckpt" ]; then
    # Resuming a finished run trains nothing and just reports it.
    step "training: resuming $ckpt"
    build/mpbn train "${DATA_OPT[@]}" --resume "$ckpt" --epochs "$EPOCHS" --out "$ckpt" | tail -n 1
else
    step "training the default network (c32,c32,p,c64,p,f128, T=$T, MPBN $MPBN_MODE, $EPOCHS epochs)"
    build/mpbn train "${DATA_OPT[@]}" --T "$T" --mpbn "$MPBN_MODE" --epochs "$EPOCHS" \
        --augment "$AUGMENT" --out "$ckpt" | tail -n 1
fi

step "float accuracy of the checkpoint"
build/mpbn eval "$ckpt" "${DATA_OPT[@]}" --device float | tail -n 1

step "folding MPBN into per-neuron thresholds and quantising -> $model"
build/mpbn fold "$ckpt" --out "$model" | tail -n 1
build/mpbn info "$model"

step "integer golden model (ref) and HLS kernel (csim) on the whole test set"
build/mpbn eval "$model" "${DATA_OPT[@]}" --device ref | tail -n 1
build/mpbn compare "$model" "${DATA_OPT[@]}" --devices ref,csim | tail -n 1

if command -v verilator >/dev/null; then
    step "RTL kernel in Verilator: bit-exactness on $SIM_IMAGES test images"
    make sim
    build/mpbn compare "$model" "${DATA_OPT[@]}" --devices ref,sim --limit "$SIM_IMAGES" | tail -n 1
fi

step "throughput, spikes, synaptic operations, energy"
build/mpbn bench "$model" "${DATA_OPT[@]}" --devices ref,csim --limit 1000 | tail -n 1
echo "demo done: checkpoint $ckpt, deploy image $model" >&2
