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
"$MPBN" fold "$ck" --out "$tmp/tiny.snn" >/dev/null 2>&1 || exit 1
cp "$ck" "$tmp/ck.orig"
cp "$tmp/tiny.snn" "$tmp/snn.orig"

# ---- outputs ----------------------------------------------------------------
# (section: output safety)
# Each output is new, or a regular file of the same kind; never an input,
# never a special file; symlinks are followed to a regular file.
check "fold over its own input" 1 "$MPBN" fold "$ck" --out "$ck" &&
    expect_err "fold over its own input: message" "input of this command|checkpoint"
expect_same "checkpoint kept (fold over input)" "$ck" "$tmp/ck.orig"
check "bench --csv over its model" 1 "$MPBN" bench "$tmp/tiny.snn" --devices ref --limit 8 --csv "$tmp/tiny.snn" &&
    expect_err "bench --csv over its model: message" "input of this command|deploy image"
expect_same "model kept (bench --csv)" "$tmp/tiny.snn" "$tmp/snn.orig"
mkdir -p "$tmp/data"
cp "$DATA"/* "$tmp/data/"
gunzip -k "$tmp/data/t10k-labels-idx1-ubyte.gz"
cp "$tmp/data/t10k-labels-idx1-ubyte" "$tmp/labels.orig"
check "train --out over the data set" 1 "$MPBN" train --data "$tmp/data" --arch f8 --epochs 1 \
    --limit-train 64 --limit-test 16 --out "$tmp/data/t10k-labels-idx1-ubyte" &&
    expect_err "train --out over data: message" "input of this command|IDX"
expect_same "data set kept" "$tmp/data/t10k-labels-idx1-ubyte" "$tmp/labels.orig"
check "fold --out /dev/full" 1 "$MPBN" fold "$ck" --out /dev/full &&
    expect_err "fold --out /dev/full: message" "character device"
expect_true "/dev/full still a character device" test -c /dev/full
if mknod "$tmp/chr" c 1 3 2>/dev/null; then
    check "bench --csv char device" 1 "$MPBN" bench "$tmp/tiny.snn" --devices ref --limit 8 --csv "$tmp/chr" &&
        expect_err "bench --csv char device: message" "character device"
    expect_true "mknod node still a character device" test -c "$tmp/chr"
fi
mkfifo "$tmp/fifo"
check "fold --out FIFO" 1 timeout 20 "$MPBN" fold "$ck" --out "$tmp/fifo" && expect_err "FIFO named" "FIFO"
expect_true "FIFO still a FIFO" test -p "$tmp/fifo"
mkdir "$tmp/adir"
check "fold --out directory" 1 "$MPBN" fold "$ck" --out "$tmp/adir" && expect_err "directory named" "directory"
expect_true "directory still a directory" test -d "$tmp/adir"
ln -s /dev/null "$tmp/null-link"
check "bench --csv symlink to /dev/null" 1 "$MPBN" bench "$tmp/tiny.snn" --devices ref --limit 8 --csv "$tmp/null-link" &&
    expect_err "symlink to device: message" "character device"
expect_true "symlink to /dev/null kept" test -L "$tmp/null-link" -a -c /dev/null
echo "old,csv" >"$tmp/real.csv"
ln -s real.csv "$tmp/csv-link"
check "bench --csv symlink to a CSV" 0 "$MPBN" bench "$tmp/tiny.snn" --devices ref --limit 8 --csv "$tmp/csv-link"
expect_true "symlink still a symlink" test -L "$tmp/csv-link"
expect_true "its target replaced" grep -q device "$tmp/real.csv"
check "fold over a deploy image" 0 "$MPBN" fold "$ck" --out "$tmp/again.snn"
check "fold over the same deploy image again" 0 "$MPBN" fold "$ck" --out "$tmp/again.snn"
echo "notes" >"$tmp/notes.txt"
check "fold over a text file" 1 "$MPBN" fold "$ck" --out "$tmp/notes.txt" && expect_err "kind named" "unknown kind|--force"
expect_true "text file kept" grep -q notes "$tmp/notes.txt"
check "fold --check with missing data writes nothing" 1 "$MPBN" fold "$ck" --out "$tmp/unchecked.snn" \
    --check 10 --data "$tmp/nodata"
expect_true "no .snn after a failed --check" test ! -e "$tmp/unchecked.snn"
expect_true "no temporary or lock file left" bash -c "! ls -a '$tmp' | grep -E '\\.tmp\\.|\\.lock$'"
# Two writers of one output: the second fails at once, the first finishes.
"$MPBN" train --arch c32,c32,p,c64,p,f128 --T 4 --epochs 2 --limit-train 1000 --limit-test 100 \
    --out "$tmp/two.safetensors" >"$tmp/first.out" 2>&1 &
first=$!
for _ in $(seq 100); do [ -e "$tmp/.two.safetensors.lock" ] && break; sleep 0.1; done
expect_true "first writer still running (holds the lock)" kill -0 $first
check "second writer of one output" 1 "$MPBN" train --arch f8 --epochs 1 --limit-train 64 \
    --limit-test 16 --out "$tmp/two.safetensors" && expect_err "second writer: message" "another mpbn process"
wait $first
expect_true "first writer finished" test $? -eq 0 -a -s "$tmp/two.safetensors"
# A read-only directory, as an unprivileged user where one exists.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    chmod 755 "$tmp"
    mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
    cp "$tmp/tiny.snn" "$tmp/ro-model.snn" && chmod 644 "$tmp/ro-model.snn" "$ck"
    check "fold into a read-only directory (nobody)" 1 su nobody -s /bin/sh -c \
        "'$MPBN' fold '$ck' --out '$tmp/ro/x.snn'" && expect_err "read-only: message" "Permission denied"
    expect_true "read-only directory still empty" test -z "$(ls -A "$tmp/ro")"
fi


# ---- bounded reads and memory -----------------------------------------------
# (section: bounded reads)

# ---- one validation for every consumer --------------------------------------
# (section: validation)

# ---- options, messages, help --------------------------------------------------
# (section: messages)

finish
