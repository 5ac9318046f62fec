#!/usr/bin/env bash
# cli-landscape.sh - the `mpbn landscape` contract: help from the option
# table, usage errors (exit 2) for bad --points/--range/--out and missing
# arguments, missing/corrupt/wrong-kind checkpoints refused (exit 1) naming
# the file, outputs that would replace an input, a directory or a device
# refused, and a run on two tiny trained checkpoints: JSON last line with
# the figures of both, a CSV with one row per alpha and two curves, a plot,
# the same CSV again with the same seed, and the checkpoints unchanged.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

check_re "help" 0 "" "$MPBN" help landscape && {
    grep -q -- "--points N" "$tmp/out" && grep -q -- "--range X" "$tmp/out" &&
        grep -q -- "--seed N" "$tmp/out" && grep -q -- "--limit N" "$tmp/out" &&
        grep -q -- "--threads N" "$tmp/out" && pass=$((pass + 1)) ||
        { echo "FAIL help: options missing"; fail=$((fail + 1)); }
}
check "listed in mpbn help" 0 "$MPBN" help && expect_true "landscape in the command list" grep -q "landscape" "$tmp/out"
check "no checkpoint" 2 "$MPBN" landscape --out "$tmp/l.csv" && expect_err "no checkpoint" "checkpoint"
check "no --out" 2 "$MPBN" landscape "$tmp/x.safetensors" && expect_err "no --out" "--out"
check "--out not .csv" 2 "$MPBN" landscape "$tmp/x.safetensors" --out "$tmp/l.png" && expect_err "--out not .csv" "\.csv"
for v in 0 1 2 1002 x -3; do
    check "bad --points $v" 2 "$MPBN" landscape "$tmp/x.safetensors" --points "$v" --out "$tmp/l.csv" &&
        expect_err "bad --points $v named" "--points"
done
for v in 0 -1 nan inf 101 abc; do
    check "bad --range $v" 2 "$MPBN" landscape "$tmp/x.safetensors" --range "$v" --out "$tmp/l.csv" &&
        expect_err "bad --range $v named" "--range"
done
check "unknown option" 2 "$MPBN" landscape "$tmp/x.safetensors" --bogus --out "$tmp/l.csv" && expect_err "unknown option" "--bogus"
check "missing checkpoint" 1 "$MPBN" landscape "$tmp/none.safetensors" --out "$tmp/l.csv" && expect_err "missing checkpoint named" "none\.safetensors"
head -c 3000 /dev/urandom >"$tmp/noise.safetensors"
check "noise checkpoint" 1 "$MPBN" landscape "$tmp/noise.safetensors" --out "$tmp/l.csv" && expect_err "noise named" "noise\.safetensors"
printf 'a,b\n1,2\n' >"$tmp/text.csv"
check "a CSV as checkpoint" 1 "$MPBN" landscape "$tmp/text.csv" --out "$tmp/l.csv" && expect_err "CSV as checkpoint" "text\.csv is a CSV file; landscape takes a checkpoint"
mkdir -p "$tmp/dir.safetensors"
check "directory as checkpoint" 1 "$MPBN" landscape "$tmp/dir.safetensors" --out "$tmp/l.csv" && expect_err "directory named" "dir\.safetensors"
expect_true "no output after the errors" test ! -e "$tmp/l.csv"

if [ ! -r "$DATA/train-images-idx3-ubyte.gz" ] && [ ! -r "$DATA/train-images-idx3-ubyte" ]; then
    skip="runs on trained checkpoints (no data set in $DATA)"
    finish
fi
train() { # out, mpbn
    MPBN_PROGRESS=0 "$MPBN" train --data "$DATA" --arch c4,p,f16 --T 2 --mpbn "$2" --epochs 1 --batch 32 \
        --limit-train 512 --limit-test 64 --threads 1 --quiet --out "$1" >/dev/null 2>"$tmp/train.err"
}
a=$tmp/net-a.safetensors b=$tmp/net-b.safetensors
if ! train "$a" channel || ! train "$b" none; then
    echo "FAIL training the checkpoints:"; tail -3 "$tmp/train.err"; fail=$((fail + 1)); finish
fi
cp "$a" "$tmp/a.copy"
cp "$b" "$tmp/b.copy"

# a corrupt checkpoint (cut short) is named before any curve is computed
head -c 2000 "$a" >"$tmp/cut.safetensors"
check "truncated checkpoint" 1 "$MPBN" landscape "$a" "$tmp/cut.safetensors" --limit 50 --points 3 --out "$tmp/l.csv" &&
    expect_err "truncated named" "cut\.safetensors"
expect_true "no CSV after a bad checkpoint" test ! -e "$tmp/l.csv"

# outputs that may not be written
cp "$a" "$tmp/ckpt.csv"
check "--out is the input" 1 "$MPBN" landscape "$tmp/ckpt.csv" --limit 50 --points 3 --out "$tmp/ckpt.csv" &&
    expect_err "--out is the input" "ckpt\.csv"
expect_same "input kept" "$a" "$tmp/ckpt.csv"
mkdir -p "$tmp/d.csv"
check "--out a directory" 1 "$MPBN" landscape "$a" --limit 50 --points 3 --out "$tmp/d.csv" && expect_err "--out a directory" "d\.csv"
ln -s /dev/null "$tmp/null.csv"
check "--out a device" 1 "$MPBN" landscape "$a" --limit 50 --points 3 --out "$tmp/null.csv" && expect_err "--out a device" "null\.csv"
cp "$a" "$tmp/p.png"
check "plot would replace an input" 1 "$MPBN" landscape "$tmp/p.png" --limit 50 --points 3 --out "$tmp/p.csv" &&
    expect_err "plot over an input" "p\.png"
expect_same "input kept (png)" "$a" "$tmp/p.png"

# the run
out=$tmp/land.csv
check_re "two checkpoints" 0 '"checkpoints":\[\{"file":.*net-a.*"mpbn":"channel".*"loss_at_0":[0-9.]+.*"rise_0.25":[-0-9.e]+.*\},\{.*net-b.*"mpbn":"none"' \
    "$MPBN" landscape "$a" "$b" --limit 100 --points 5 --seed 3 --threads 1 --out "$out"
expect_out "csv and points in JSON" '"points":7,.*"images":100,"seed":3.*"csv":"[^"]*land\.csv"'
expect_err "a summary line per checkpoint" "net-b \\(mpbn none\\): loss [0-9.]+ at alpha 0"
expect_true "CSV: header + 7 rows" test "$(wc -l <"$out")" -eq 8
expect_true "CSV header: both curves" grep -q '^alpha,net-a (channel),acc net-a,net-b (none),acc net-b$' "$out"
expect_true "CSV has alpha 0 and +-0.25" bash -c "grep -q '^0,' '$out' && grep -q '^-0.25,' '$out' && grep -q '^0.25,' '$out'"
if command -v gnuplot >/dev/null; then
    expect_true "plot written" test -s "$tmp/land.png"
    expect_out "png in JSON" '"png":"[^"]*land\.png"'
fi
cp "$out" "$tmp/first.csv"
check "same seed again" 0 "$MPBN" landscape "$a" "$b" --limit 100 --points 5 --seed 3 --threads 1 --no-plot --out "$out"
expect_same "same seed, same curves" "$tmp/first.csv" "$out"
check "other seed" 0 "$MPBN" landscape "$a" --limit 100 --points 5 --seed 4 --threads 1 --no-plot --out "$tmp/other.csv"
expect_true "other seed, other curve" bash -c "! cmp -s <(cut -d, -f2 '$tmp/first.csv' | sed -n '2p;8p') <(cut -d, -f2 '$tmp/other.csv' | sed -n '2p;8p')"
expect_same "checkpoint a unchanged" "$tmp/a.copy" "$a"
expect_same "checkpoint b unchanged" "$tmp/b.copy" "$b"
finish
