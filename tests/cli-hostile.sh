#!/usr/bin/env bash
# cli-hostile.sh - what an adversary or a careless user does to mpbn, run as
# root in a temporary directory: outputs aimed at inputs, device nodes,
# FIFOs, directories and symlinks; two writers on one output; endless and
# explosive inputs; checkpoints that are valid safetensors but invalid
# networks; bad options. Every case asserts the exit code, the message, and
# that every input and special file is byte-identical (or the same node)
# afterwards.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# ---- material: a tiny checkpoint, its deploy image, a small IDX set --------
ck=$tmp/tiny.safetensors
"$MPBN" train --arch f8 --T 2 --epochs 1 --limit-train 256 --limit-test 64 --batch 32 \
    --out "$ck" >/dev/null 2>"$tmp/train.err" || { cat "$tmp/train.err"; exit 1; }
"$MPBN" fold "$ck" --out "$tmp/tiny.snn" >/dev/null || exit 1
cp "$ck" "$tmp/ck.orig"
cp "$tmp/tiny.snn" "$tmp/snn.orig"

# ---- outputs ----------------------------------------------------------------
# (section: output safety)

# ---- bounded reads and memory -----------------------------------------------
# (section: bounded reads)

# ---- one validation for every consumer --------------------------------------
# (section: validation)

# ---- options, messages, help --------------------------------------------------
# (section: messages)

finish
