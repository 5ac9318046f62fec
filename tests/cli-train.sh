#!/usr/bin/env bash
# cli-train.sh - the `mpbn train` / `mpbn eval --device float` contract:
# JSON last line with the documented keys, usage errors (bad --arch, --mpbn,
# --T) exit 2 naming the bad value, a missing data directory exits 1 naming
# it, and eval of the checkpoint reproduces train's test accuracy.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

out=$tmp/net.safetensors
check "bad arch token" 2 "$MPBN" train --arch c32,x7,p --out "$out" && expect_err "bad arch token" "bad token 'x7'"
check "pool first" 2 "$MPBN" train --arch p,c8 --out "$out" && expect_err "pool first" "token 'p'"
check "conv after fc" 2 "$MPBN" train --arch f8,c8 --out "$out" && expect_err "conv after fc" "'c8' after an fc"
check "bad mpbn" 2 "$MPBN" train --mpbn layer --out "$out" && expect_err "bad mpbn" "bad MPBN mode 'layer'"
check "bad T" 2 "$MPBN" train --T 0 --out "$out" && expect_err "bad T" "bad value '0' for --T"
check "T too large" 2 "$MPBN" train --T 99 --out "$out" && expect_err "T too large" "--T"
check "no out" 2 "$MPBN" train --epochs 1 && expect_err "no out" "--out"
check "unknown option" 2 "$MPBN" train --bogus 1 --out "$out" && expect_err "unknown option" "unknown option '--bogus'"
check "missing data" 1 "$MPBN" train --data "$tmp/nodata" --out "$out" && expect_err "missing data" "$tmp/nodata"
check "eval missing file" 1 "$MPBN" eval "$tmp/none.safetensors" --device float && expect_err "eval missing file" "none.safetensors"

if [ -e "$DATA/train-images-idx3-ubyte.gz" ] || [ -e "$DATA/train-images-idx3-ubyte" ]; then
    if check "train small" 0 "$MPBN" train --data "$DATA" --arch c8,p,f32 --T 2 --mpbn element \
        --epochs 1 --limit-train 640 --limit-test 200 --threads 2 --out "$out"; then
        expect_out "train json" '^\{.*"test_acc":[0-9.e-]+.*"train_images_per_s":[0-9.e+-]+.*"epochs":1.*"seconds":.*"out":'
        expect_err "epoch line" "^epoch 1: train_loss"
        expect_true "per-epoch CSV $tmp/net.csv" grep -q '^epoch,train_loss,train_acc,test_acc,lr,seconds,images_per_s$' "$tmp/net.csv" &&
            expect_true "per-epoch CSV: header and one epoch" test "$(wc -l <"$tmp/net.csv")" -eq 2
        acc=$(tail -n 1 "$tmp/out" | sed -E 's/.*"test_acc":([0-9.e-]+).*/\1/')
        if check "eval float" 0 "$MPBN" eval "$out" --data "$DATA" --limit 200; then
            expect_out "eval json" '^\{"accuracy":[0-9.e-]+,"images":200,"images_per_s":[0-9.e+-]+,"device":"float"'
            eacc=$(tail -n 1 "$tmp/out" | sed -E 's/.*"accuracy":([0-9.e-]+).*/\1/')
            expect_true "eval accuracy $eacc = train test_acc $acc" test "$eacc" = "$acc"
        fi
        check "resume done run" 0 "$MPBN" train --data "$DATA" --limit-train 640 --limit-test 200 --resume "$out" --out "$out" \
            && expect_out "resume json" '"epochs":1'
        check "resume bad file" 1 "$MPBN" train --data "$DATA" --resume "$tmp/net.csv" --out "$out"
    fi
    # Never a non-finite checkpoint: element-wise MPBN at --lr 0.1 on this seed
    # diverged (a background neuron's batch variance is 0, its gradient is
    # scaled by 1/sqrt(eps)) and used to write NaN weights. Now the run either
    # ends with a checkpoint that folds (all finite) or is refused, naming the
    # tensor, and writes nothing.
    d="$tmp/diverged.safetensors"
    "$MPBN" train --data "$DATA" --epochs 1 --seed 1 --threads 2 --arch c8,p,c16,p,f32 --T 4 \
        --mpbn element --limit-train 5000 --limit-test 200 --out "$d" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ]; then
        check "finite checkpoint folds" 0 "$MPBN" fold "$d" --out "$tmp/d.snn"
    elif [ $rc -eq 1 ] && grep -Eq "diverged in epoch 1: '.*' is not finite" "$tmp/err" && [ ! -e "$d" ]; then
        pass=$((pass + 1))
    else
        echo "FAIL diverging run: exit $rc, file $(ls "$d" 2>/dev/null || echo absent)"; tail -3 "$tmp/err"
        fail=$((fail + 1))
    fi
else
    echo "skip: no data set in $DATA"
fi

finish
