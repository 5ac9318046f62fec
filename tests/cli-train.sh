#!/usr/bin/env bash
# cli-train.sh - the `mpbn train` / `mpbn eval --device float` contract:
# JSON last line with the documented keys, usage errors (bad --arch, --mpbn,
# --T, --data "") exit 2 naming the bad value, a missing data directory exits
# 1 naming it, labels outside 0..63 or beyond the training classes are refused
# naming the file and index, eval of the checkpoint reproduces train's test
# accuracy, the resume contract (stored options kept, a conflicting one
# refused naming it, a finished run reported as such), SIGINT/SIGTERM, and the
# spike-count regulariser --rate-reg (bad values refused, 0 the same as no
# option, stored and checked on --resume, in the summary line and the JSON);
# MPBN_DENSE_CONV's kernels train, a bad value is reported.
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
for v in -1 -0.5 nan inf abc 1e999 ""; do
    check "bad --rate-reg '$v'" 2 "$MPBN" train --rate-reg "$v" --out "$out" &&
        expect_err "bad --rate-reg '$v' named" "--rate-reg"
done
expect_true "no output after a bad --rate-reg" test ! -e "$out"
check "unknown option" 2 "$MPBN" train --bogus 1 --out "$out" && expect_err "unknown option" "unknown option '--bogus'"
check "missing data" 1 "$MPBN" train --data "$tmp/nodata" --out "$out" && expect_err "missing data" "$tmp/nodata"
check "empty --data" 2 "$MPBN" train --data "" --out "$out" && expect_err "empty --data" "--data needs a value \(got an empty one\)"
check "empty --data=" 2 "$MPBN" train --data= --out "$out" && expect_err "empty --data=" "--data needs a value"
expect_true "no output after an empty --data" test ! -e "$out"

# A tiny IDX set written here: 64 black 4x4 images per split and the given
# labels. be32 N prints N as the octal escapes of 4 big-endian bytes.
be32() { printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
tiny_set() { # dir, train labels, t10k labels (both as octal escapes)
    mkdir -p "$1"
    for split in train t10k; do
        { printf "\\0\\0\\10\\3$(be32 64)$(be32 4)$(be32 4)"; head -c 1024 /dev/zero; } >"$1/$split-images-idx3-ubyte"
    done
    printf "\\0\\0\\10\\1$(be32 64)$2" >"$1/train-labels-idx1-ubyte"
    printf "\\0\\0\\10\\1$(be32 64)$3" >"$1/t10k-labels-idx1-ubyte"
}
labels() { # 64 labels: i % $1, with label $3 (decimal) at index $2 (-1: none)
    local i l
    for ((i = 0; i < 64; i++)); do
        l=$((i % $1)); [ "$i" -eq "$2" ] && l=$3
        printf '\\%o' "$l"
    done
}
tiny_set "$tmp/lab255" "$(labels 4 5 255)" "$(labels 4 -1 0)"
check "label 255" 1 "$MPBN" train --data "$tmp/lab255" --arch f8 --T 1 --epochs 1 --batch 16 --out "$out" &&
    expect_err "label 255: file, index" "lab255/train-labels-idx1-ubyte: label 255 at index 5 is outside 0\.\.63"
tiny_set "$tmp/lab-test" "$(labels 4 -1 0)" "$(labels 4 9 7)"
check "test label beyond the training classes" 1 "$MPBN" train --data "$tmp/lab-test" --arch f8 --T 1 --epochs 1 --batch 16 --out "$out" &&
    expect_err "test label: file, index, why" "lab-test/t10k-labels-idx1-ubyte: label 7 at index 9 is outside 0\.\.3 \(the training labels .* have 4 classes\)"
tiny_set "$tmp/lab-ok" "$(labels 4 -1 0)" "$(labels 4 -1 0)"
check "tiny set trains" 0 "$MPBN" train --data "$tmp/lab-ok" --arch f8 --T 1 --epochs 1 --batch 16 --out "$tmp/tiny.safetensors"
# the dense-conv choice (MPBN_DENSE_CONV): each kernel trains; a value
# that names none of them, and the replaced MPBN_DIRECT_CONV, are reported
for k in gemm direct winograd; do
    check "MPBN_DENSE_CONV=$k trains" 0 env MPBN_DENSE_CONV=$k "$MPBN" train --data "$tmp/lab-ok" --arch c8,c8,f8 \
        --T 2 --epochs 1 --batch 16 --quiet --out "$tmp/dense-$k.safetensors"
done
check "MPBN_DENSE_CONV=bogus" 0 env MPBN_DENSE_CONV=bogus MPBN_DIRECT_CONV=1 "$MPBN" train --data "$tmp/lab-ok" \
    --arch c8,c8,f8 --T 2 --epochs 1 --batch 16 --quiet --out "$tmp/dense-bogus.safetensors" &&
    expect_err "MPBN_DENSE_CONV=bogus named" "MPBN_DENSE_CONV=bogus is none of gemm, direct, winograd" &&
    expect_err "MPBN_DIRECT_CONV replaced" "MPBN_DIRECT_CONV is no longer read"
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

    # The resume contract: the checkpoint keeps every option that shapes the
    # run; one left out is the stored one, one given must agree.
    r=$tmp/run.safetensors
    check "run of 2 epochs, stopped after 1" 0 "$MPBN" train --data "$DATA" --arch c4,p,f16 --T 2 --epochs 2 \
        --stop-after 1 --limit-train 320 --limit-test 100 --batch 32 --lr 0.05 --threads 2 --out "$r" &&
        expect_err "start-of-run summary" "^mpbn train: data $DATA: 320 training and 100 test images of 1x28x28, 10 classes; arch c4,p,f16, T 2, MPBN channel; 2 epochs of 10 batches of 32, lr 0.05, augment none, rate-reg 0; 2 threads$"
    cp "$r" "$tmp/run.orig"
    check_re "conflicting --lr refused" 1 "--lr 0\.1 \(the checkpoint has 0\.05\)" \
        "$MPBN" train --resume "$r" --lr 0.1 --out "$r"
    check_re "conflicting --limit-train refused" 1 "--limit-train 0 \(the checkpoint has 320\)" \
        "$MPBN" train --resume "$r" --limit-train 0 --out "$r"
    check_re "conflicting --rate-reg refused" 1 "--rate-reg 0\.5 \(the checkpoint has 0\)" \
        "$MPBN" train --resume "$r" --rate-reg 0.5 --out "$r"
    check_re "conflicting --epochs, --augment refused" 1 "--epochs 3 \(the checkpoint has 2\), --augment flip \(the checkpoint has none\)" \
        "$MPBN" train --resume "$r" --epochs 3 --augment flip --out "$r"
    expect_same "refused resume leaves the checkpoint" "$r" "$tmp/run.orig"
    if check "resume keeps the stored options" 0 "$MPBN" train --resume "$r" --T 2 --lr 0.05 --threads 2 --out "$r"; then
        expect_err "limit kept" "320 training and 100 test images"
        expect_err "resuming at" "^mpbn train: resuming .*run.safetensors at epoch 2 of 2$"
        expect_out "resumed json" '"epochs":2'
    fi
    if check "resume a finished run" 0 "$MPBN" train --resume "$r" --out "$r"; then
        expect_err "finished run says so" "run already complete: epoch 2 of 2"
        expect_out "finished run: no new figures" '^\{"test_acc":[0-9.]+,"epochs":2,"epochs_total":2,"already_complete":true,"rate_reg":0,"label_smoothing":0,"out":'
        expect_true "finished run: no train_acc" bash -c "! tail -n 1 '$tmp/out' | grep -q train_acc"
    fi

    # --rate-reg: 0 trains exactly as no option (one thread: bit for bit); a
    # weight is in the summary line and the JSON, stored, and checked on resume.
    rr="--data $DATA --arch c4,p,f16 --T 2 --epochs 1 --limit-train 320 --limit-test 100 --batch 32 --threads 1"
    # shellcheck disable=SC2086
    if check "no --rate-reg" 0 "$MPBN" train $rr --out "$tmp/rr-none.safetensors" &&
        check "--rate-reg 0" 0 "$MPBN" train $rr --rate-reg 0 --out "$tmp/rr-0.safetensors"; then
        expect_out "--rate-reg 0: JSON" '"rate_reg":0,"label_smoothing":0,"train_rate":[0-9.e-]+'
        expect_same "--rate-reg 0 = no option (checkpoint)" "$tmp/rr-none.safetensors" "$tmp/rr-0.safetensors"
    fi
    # shellcheck disable=SC2086
    if check "--rate-reg 2" 0 "$MPBN" train $rr --epochs 2 --stop-after 1 --rate-reg 2 --out "$tmp/rr-2.safetensors"; then
        expect_err "--rate-reg 2 in the summary" "augment none, rate-reg 2; 1 threads$"
        expect_out "--rate-reg 2: JSON" '"rate_reg":2,"label_smoothing":0,"train_rate":[0-9.e-]+'
        expect_true "--rate-reg 2 changes the weights" bash -c "! cmp -s '$tmp/rr-none.safetensors' '$tmp/rr-2.safetensors'"
        check_re "resume with another --rate-reg refused" 1 "--rate-reg 0 \(the checkpoint has 2\)" \
            "$MPBN" train --resume "$tmp/rr-2.safetensors" --rate-reg 0 --out "$tmp/rr-2.safetensors"
        if check "resume keeps --rate-reg" 0 "$MPBN" train --resume "$tmp/rr-2.safetensors" --out "$tmp/rr-2.safetensors"; then
            expect_err "resumed summary has the stored weight" "rate-reg 2; [0-9]+ threads$"
            expect_out "resumed JSON" '"epochs":2,.*"rate_reg":2,'
        fi
    fi

    # --label-smoothing: 0 is no option; a value is in the summary line and the
    # JSON, changes the run, is stored and checked on resume; out of range refused.
    # shellcheck disable=SC2086
    if check "--label-smoothing 0" 0 "$MPBN" train $rr --label-smoothing 0 --out "$tmp/ls-0.safetensors"; then
        expect_same "--label-smoothing 0 = no option (checkpoint)" "$tmp/rr-none.safetensors" "$tmp/ls-0.safetensors"
        expect_true "--label-smoothing 0: not in the summary" bash -c "! grep -q 'label-smoothing' '$tmp/err'"
    fi
    # shellcheck disable=SC2086
    if check "--label-smoothing 0.2" 0 "$MPBN" train $rr --epochs 2 --stop-after 1 --label-smoothing 0.2 \
        --out "$tmp/ls.safetensors"; then
        expect_err "--label-smoothing in the summary" "rate-reg 0, label-smoothing 0.2; 1 threads$"
        expect_out "--label-smoothing: JSON" '"rate_reg":0,"label_smoothing":0.2,"train_rate"'
        expect_true "--label-smoothing changes the weights" bash -c "! cmp -s '$tmp/rr-none.safetensors' '$tmp/ls.safetensors'"
        check_re "resume with another --label-smoothing refused" 1 "--label-smoothing 0.1 \(the checkpoint has 0.2\)" \
            "$MPBN" train --resume "$tmp/ls.safetensors" --label-smoothing 0.1 --out "$tmp/ls.safetensors"
        if check "resume keeps --label-smoothing" 0 "$MPBN" train --resume "$tmp/ls.safetensors" --out "$tmp/ls.safetensors"; then
            expect_err "resumed summary has it" "label-smoothing 0.2; [0-9]+ threads$"
        fi
    fi
    check_re "--label-smoothing 1 refused" 2 "bad value '1' for --label-smoothing \(range 0\.\.0\.999\)" \
        "$MPBN" train --label-smoothing 1 --out "$tmp/ls-bad.safetensors"

    # SIGINT/SIGTERM: the run ends between two batches, the last checkpoint stays.
    for sig in INT TERM; do
        s=$tmp/sig-$sig.safetensors
        "$MPBN" train --data "$DATA" --arch c4,p,f16 --T 2 --epochs 1000 --limit-train 320 --limit-test 100 \
            --batch 32 --threads 2 --out "$s" >"$tmp/out" 2>"$tmp/err" &
        pid=$!
        for _ in $(seq 200); do [ -e "$s" ] && break; sleep 0.05; done
        kill -"$sig" "$pid"
        wait "$pid"
        rc=$?
        want=$([ $sig = INT ] && echo 130 || echo 143)
        if [ "$rc" -eq "$want" ] && grep -Eq "^mpbn train: interrupted; last checkpoint epoch [1-9][0-9]* of 1000 \(.*sig-$sig.safetensors\)" "$tmp/err"; then
            pass=$((pass + 1))
        else
            echo "FAIL SIG$sig: exit $rc (want $want)"; tail -3 "$tmp/err"
            fail=$((fail + 1))
        fi
        check "SIG$sig: checkpoint resumable" 0 "$MPBN" info "$s"
        expect_out "SIG$sig: checkpoint valid" "resumable"
    done
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

    # scripts/train-best.sh (the accuracy recipe) on a tiny network: a
    # stopped run resumes with the epochs and seed it was started with,
    # whatever the script's defaults, then folds and evaluates.
    if [ "$(dirname "$MPBN")" = build ] || [ "$MPBN" = "$PWD/build/mpbn" ]; then
        tb=(env ARCH=c8,p,f16 AUGMENT=flip THREADS=2 OUT="$tmp/best" DATA="$DATA")
        check "train-best: first epoch of 2" 0 "${tb[@]}" EPOCHS=2 SEED=3 STOP_AFTER=1 bash scripts/train-best.sh &&
            expect_err "train-best: stopped, says how to go on" "1 of 2 epochs done; run it again to continue"
        check "train-best: resumed with the checkpoint's epochs and seed" 0 "${tb[@]}" bash scripts/train-best.sh &&
            expect_err "train-best: resumed at epoch 2 of 2" "resuming .* at epoch 2 of 2" &&
            expect_err "train-best: folded and evaluated on ref" "fmnist-wide.snn on ref: accuracy 0\.[0-9]+ on 10000 images" &&
            expect_err "train-best: done" "train-best done: checkpoint"
        check "train-best: another seed refused on resume" 1 "${tb[@]}" SEED=4 bash scripts/train-best.sh &&
            expect_err "train-best: the seed named" "--seed"
    fi
else
    echo "skip: no data set in $DATA"
fi

finish
