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
# Every reader refuses what it cannot size (devices, FIFOs, directories) by
# what it is, files over its format's cap from their size, and inputs that
# would inflate or allocate beyond what their header or the data set admits
# to. Run with a time limit and an address-space limit (1 GiB and thread
# stacks; one BLAS thread, two malloc arenas), so that a regression fails
# instead of hanging or swapping.
bounded() {
    (ulimit -v $(((1024 + 16 * $(nproc)) * 1024)) &&
        OPENBLAS_NUM_THREADS=1 MALLOC_ARENA_MAX=2 exec timeout 20 "$@")
}
for c in info eval; do
    check "$c /dev/zero" 1 bounded "$MPBN" $c /dev/zero &&
        expect_err "$c /dev/zero: message" "/dev/zero: is a character device"
    check "$c a directory" 1 bounded "$MPBN" $c "$tmp" &&
        expect_err "$c a directory: message" "$tmp: is a directory"
    expect_true "$c a directory: no 'read error'" bash -c "! grep -q 'read error' '$tmp/err'"
done
mkfifo "$tmp/br-fifo.snn"
for c in "info" "eval" "fold --out $tmp/br-x.snn" "compare --devices ref,csim" "bench --devices ref"; do
    read -r -a a <<<"$c"
    check "${a[0]} a FIFO" 1 bounded "$MPBN" "${a[0]}" "$tmp/br-fifo.snn" "${a[@]:1}" &&
        expect_err "${a[0]} a FIFO: message" "br-fifo.snn: is a FIFO"
done
expect_true "FIFO model still a FIFO" test -p "$tmp/br-fifo.snn"
check "--xclbin a FIFO" 1 bounded "$MPBN" eval "$tmp/tiny.snn" --device xrt --xclbin "$tmp/br-fifo.snn"
# Over the caps (sparse files: nothing is written to disk, nothing read).
cp "$tmp/tiny.snn" "$tmp/br-big.snn" && truncate -s 5G "$tmp/br-big.snn"
cp "$ck" "$tmp/br-big.safetensors" && truncate -s 5G "$tmp/br-big.safetensors"
check "info a 5 GB deploy image" 1 bounded "$MPBN" info "$tmp/br-big.snn" &&
    expect_err "5 GB deploy image: limit named" "larger than the limit.*4294967295 bytes"
check "fold a 5 GB checkpoint" 1 bounded "$MPBN" fold "$tmp/br-big.safetensors" --out "$tmp/br-x.snn" &&
    expect_err "5 GB checkpoint: limit named" "larger than the limit.*4294967296 bytes"
expect_true "no output after refused inputs" test ! -e "$tmp/br-x.snn"
rm -f "$tmp/br-big.snn" "$tmp/br-big.safetensors"
# A gzip IDX bomb: the 10000x28x28 header, then 3 GB of zeros in 3 MB
# (concatenated members); refused one byte after the declared size.
mkdir "$tmp/br-data"
cp "$DATA"/t10k-* "$tmp/br-data/"
head -c 64M /dev/zero | gzip -9 >"$tmp/br-z64.gz"
{
    printf '\0\0\10\3\0\0\47\20\0\0\0\34\0\0\0\34' | gzip -9
    for _ in $(seq 48); do cat "$tmp/br-z64.gz"; done
} >"$tmp/br-data/t10k-images-idx3-ubyte.gz"
rm -f "$tmp/br-z64.gz"
for m in tiny.snn tiny.safetensors; do
    check "eval $m --data gzip bomb" 1 bounded "$MPBN" eval "$tmp/$m" --data "$tmp/br-data" &&
        expect_err "gzip bomb ($m): message" "inflates to more than the 7840016 bytes its IDX header declares"
done
rm -f "$tmp/br-data/t10k-images-idx3-ubyte.gz"
mkfifo "$tmp/br-data/t10k-images-idx3-ubyte"
check "--data with a FIFO as images" 1 bounded "$MPBN" eval "$tmp/tiny.snn" --data "$tmp/br-data" &&
    expect_err "FIFO images: message" "t10k-images-idx3-ubyte: is a FIFO"
rm -rf "$tmp/br-data"
# Batches: capped at the image count; a workspace over 4 GiB is refused
# before anything is allocated, naming --batch.
"$MPBN" train --arch c16 --T 4 --epochs 1 --limit-train 64 --limit-test 16 --batch 32 \
    --out "$tmp/br-c16.safetensors" >/dev/null 2>&1
check "eval checkpoint --batch 65536 --limit 3" 0 bounded "$MPBN" eval "$tmp/br-c16.safetensors" \
    --batch 65536 --limit 3
check "eval deploy image --batch 65536 --limit 3" 0 bounded "$MPBN" eval "$tmp/tiny.snn" --batch 65536 --limit 3
check "eval --batch 10000 (9.9 GiB workspace)" 1 bounded "$MPBN" eval "$tmp/br-c16.safetensors" --batch 10000 &&
    expect_err "workspace refused: message" "workspace .*more than the 4 GiB limit.*--batch"
check "train --batch 8000 (7.9 GiB workspace)" 1 bounded "$MPBN" train --arch c16 --T 4 --epochs 1 \
    --limit-train 8000 --limit-test 16 --batch 8000 --out "$tmp/br-x.safetensors" &&
    expect_err "train workspace refused: message" "more than the 4 GiB limit.*--batch"
expect_true "no checkpoint after a refused batch" test ! -e "$tmp/br-x.safetensors"

# ---- one validation for every consumer --------------------------------------
# (section: validation)
# A bad checkpoint is the valid $ck with metadata set ("key=value"), removed
# ("-key"), a tensor renamed ("name>new") or one float written ("name[i]=v"):
# still well-formed safetensors, so only the network validation can refuse it.
mkbad() { # dst edit...
    python3 - "$ck" "$@" <<'PYEOF' || exit 1
import json, struct, sys
src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
d = open(src, 'rb').read()
n = struct.unpack('<Q', d[:8])[0]
hdr, data = json.loads(d[8:8 + n]), bytearray(d[8 + n:])
meta = hdr['__metadata__']
for e in edits:
    if e.startswith('-'):
        del meta[e[1:]]
    elif '>' in e:
        a, b = e.split('>')
        hdr[b] = hdr.pop(a)
    elif '[' in e:
        name, rest = e.split('[')
        i, v = rest.split(']=')
        struct.pack_into('<f', data, hdr[name]['data_offsets'][0] + 4 * int(i), float(v))
    else:
        k, v = e.split('=', 1)
        meta[k] = v
h = json.dumps(hdr, separators=(',', ':')).encode()
h += b' ' * (-len(h) % 8)
open(dst, 'wb').write(struct.pack('<Q', len(h)) + h + bytes(data))
PYEOF
}
# every consumer refuses with exit 1, naming the field once, and leaves the file alone
refused_by_all() { # name regex edit...
    local name=$1 re=$2 bad=$tmp/bad-$1.safetensors
    shift 2
    mkbad "$bad" "$@"
    cp "$bad" "$bad.copy"
    for cmd in "eval --device float" fold info "train --resume"; do
        local args
        case $cmd in
        eval*) args=(eval "$bad" --device float --limit 8) ;;
        fold) args=(fold "$bad" --out "$tmp/val.snn") ;;
        info) args=(info "$bad") ;;
        train*) args=(train --resume "$bad" --out "$tmp/val.safetensors" --limit-train 64 --limit-test 32) ;;
        esac
        if check "$cmd refuses $name" 1 "$MPBN" "${args[@]}"; then
            expect_err "$cmd names the field of $name" "$re"
            expect_true "$cmd names $name's file once" test "$(grep -o "$bad" "$tmp/err" | wc -l)" -eq 1
        fi
        expect_same "$cmd leaves $name alone" "$bad" "$bad.copy"
    done
    expect_true "no output from $name" test ! -e "$tmp/val.snn" -a ! -e "$tmp/val.safetensors"
}
refused_by_all nan-weight 'tensor "layers.0.weight": element 3 is nan \(not finite\)' 'layers.0.weight[3]=nan'
refused_by_all inf-bias 'tensor "layers.1.bias": element 0 is inf' 'layers.1.bias[0]=inf'
refused_by_all inf-mean 'tensor "layers.0.bn.running_mean": element 2 is -inf' 'layers.0.bn.running_mean[2]=-inf'
refused_by_all neg-var 'tensor "layers.0.bn.running_var": element 0 is -1, a variance must be >= 0' \
    'layers.0.bn.running_var[0]=-1'
refused_by_all neg-mpbn-var 'tensor "layers.0.mpbn.running_var": element 5 is -0.5' 'layers.0.mpbn.running_var[5]=-0.5'
refused_by_all tau2 'metadata "tau" is 2: the membrane leak factor must be in 0..1' tau=2
refused_by_all vth-neg 'metadata "vth" is -1: the firing threshold must be > 0' vth=-1
refused_by_all eps-neg 'metadata "bn_eps" is -1e-05: an epsilon must be > 0' bn_eps=-1e-05
refused_by_all mpbn-eps-neg 'metadata "mpbn_eps" is -0.001' mpbn_eps=-0.001
refused_by_all no-vth 'metadata "vth" is missing' -vth
refused_by_all no-tau 'metadata "tau" is missing' -tau
refused_by_all nan-std "metadata \"norm_std\" is 'nan', expected a finite number" norm_std=nan
refused_by_all T0 "metadata \"T\" is '0', expected an integer in 1\.\.16" T=0
refused_by_all arch-comma "metadata \"arch\": architecture 'f8,'" arch=f8,
refused_by_all arch-shape 'tensor "layers.0.weight": expected F32 \[9, 784\], got F32 \[8, 784\]' arch=f9
refused_by_all mode-none 'tensor "layers.0.mpbn.[a-z_]+" is not part of a network .f8. with mpbn none' mpbn=none
refused_by_all mode-bad "metadata \"mpbn\" is 'layer'" mpbn=layer
refused_by_all no-bias 'tensor "layers.1.bias" is missing' 'layers.1.bias>layers.1.bias_old'
refused_by_all format "not an mpbn checkpoint \(metadata \"format\" is 'other'" format=other
refused_by_all classes1 "metadata \"n_classes\" is '1'" n_classes=1
refused_by_all test-acc 'metadata "test_acc" is 2: an accuracy must be in 0..1' test_acc=2
refused_by_all augment "metadata \"augment\" is 'most'" augment=most
refused_by_all label-smoothing 'metadata "label_smoothing" is -0.1: label smoothing must be in 0..0.999' label_smoothing=-0.1
refused_by_all nan-momentum 'tensor "optim.layers.0.weight.momentum": element 1 is nan' \
    'optim.layers.0.weight.momentum[1]=nan'
# valid for eval, fold and info, but train --resume needs the optimiser state
mkbad "$tmp/norng.safetensors" -rng_state
check "info without rng_state" 0 "$MPBN" info "$tmp/norng.safetensors" --json &&
    expect_out "info: not resumable" '"valid":true.*"resumable":false'
check "resume without rng_state" 1 "$MPBN" train --resume "$tmp/norng.safetensors" --out "$tmp/val.safetensors"
expect_err "resume names rng_state" 'cannot resume: metadata "rng_state" is missing'
# fold keeps the limits of the integer deploy format on top: tau 0.5 is a valid network
mkbad "$tmp/tau05.safetensors" tau=0.5
check "eval takes tau 0.5" 0 "$MPBN" eval "$tmp/tau05.safetensors" --device float --limit 8
check "fold refuses tau 0.5" 1 "$MPBN" fold "$tmp/tau05.safetensors" --out "$tmp/val.snn"
expect_err "fold says why" 'tau" is 0.5: the integer model leaks by a shift of 2'
# info of a valid checkpoint: metadata, layers and the verdict
check "info checkpoint" 0 "$MPBN" info "$ck"
expect_out "info checkpoint json" '^\{"model":".*tiny.safetensors","kind":"checkpoint","valid":true,.*"arch":"f8","T":2,.*"resumable":true'
check "info invalid checkpoint json" 1 "$MPBN" info "$tmp/bad-tau2.safetensors" --json
expect_out "info says invalid" '"valid":false,"error":".*tau'
# the wrong kind of file is named, with what the command takes
echo "a,b" >"$tmp/v.csv"
check "fold of a deploy image" 1 "$MPBN" fold "$tmp/tiny.snn" --out "$tmp/val.snn"
expect_err "fold names the kind" '^mpbn fold: .*tiny.snn is a deploy image \(\.snn\); fold takes a checkpoint \(safetensors\)$'
check "eval float of a CSV" 1 "$MPBN" eval "$tmp/v.csv" --device float
expect_err "eval names the kind" 'v.csv is a CSV file; eval --device float takes a checkpoint \(safetensors\)$'
check "eval float of a deploy image" 1 "$MPBN" eval "$tmp/tiny.snn" --device float
expect_err "eval float names the kind" 'tiny.snn is a deploy image \(\.snn\); eval --device float takes a checkpoint'
check "eval ref of a checkpoint" 1 "$MPBN" eval "$ck" --device ref
expect_err "eval ref names the kind" 'tiny.safetensors is a checkpoint \(safetensors\); eval --device ref takes a deploy image \(\.snn\)'
check "eval of a CSV" 1 "$MPBN" eval "$tmp/v.csv"
expect_err "eval names both kinds" 'v.csv is a CSV file; eval takes a checkpoint \(safetensors\) or a deploy image \(\.snn\)'
check "info of a CSV" 1 "$MPBN" info "$tmp/v.csv"
expect_err "info names the kind" 'v.csv is a CSV file; info takes a checkpoint \(safetensors\) or a deploy image'
check "resume from a deploy image" 1 "$MPBN" train --resume "$tmp/tiny.snn" --out "$tmp/val.safetensors"
expect_err "resume names the kind" 'tiny.snn is a deploy image \(\.snn\); train --resume takes a checkpoint'
expect_same "deploy image unchanged" "$tmp/tiny.snn" "$tmp/snn.orig"
expect_same "checkpoint unchanged" "$ck" "$tmp/ck.orig"

# ---- partial results and progress -------------------------------------------
# (section: partial results and progress)
# A device that fails does not take the others' results with it: bench and
# compare report every device that ran, name each that failed with its
# error (table, "failed" in the JSON) and exit 1. Long runs show a progress
# line (MPBN_PROGRESS=1: plain lines; 0: none) and are announced with an
# estimate when they will take minutes; train names its CSV and plot.
nodev=(env -u XILINX_XRT -u XCL_EMULATION_MODE)
# (a network the layer pipeline holds, so that csim runs it: the tiny model's
# fc on the image fits no configuration)
if [ ! -x "$TOOLS/snn-randnet" ]; then
    make --no-print-directory -s "$TOOLS/snn-randnet" >/dev/null || { echo "FAIL: cannot build $TOOLS/snn-randnet"; exit 1; }
fi
"$TOOLS/snn-randnet" "$tmp/pipe.snn" c4,p,c8,p,f16 1 4 1 28 28 10 || { echo "FAIL: snn-randnet"; exit 1; }
check "bench ref,xrt,csim: xrt fails, the others report" 1 "${nodev[@]}" "$MPBN" bench \
    "$tmp/pipe.snn" --devices ref,xrt,csim --limit 8 --csv "$tmp/partial.csv" &&
    expect_err "bench: the failure is named" "mpbn bench: xrt failed: .*--xclbin" &&
    expect_err "bench: the summary names it" "1 of 3 devices failed \(xrt\)" &&
    expect_out "bench: ref and csim in the JSON" '"devices":\[\{"device":"ref".*\{"device":"csim"' &&
    expect_out "bench: failed list with the error" '"failed":\[\{"device":"xrt","error":"[^"]*--xclbin' &&
    expect_out "bench: skipped keeps its meaning" '"skipped":\[\]' &&
    expect_true "bench: table marks xrt FAILED" grep -qE "^xrt +FAILED: " "$tmp/out" &&
    expect_true "bench: CSV has the devices that ran" \
        bash -c "grep -q '^ref,0,' '$tmp/partial.csv' && grep -q '^csim,0,' '$tmp/partial.csv' && ! grep -q '^xrt,' '$tmp/partial.csv'"
check "bench: only a failing device" 1 "${nodev[@]}" "$MPBN" bench "$tmp/tiny.snn" --devices xrt --limit 8 &&
    expect_err "bench: nothing ran" "no device could run"
rnet=(--random-net c4,p,c8,f16 --shape 1x12x12 --T 3 --random 12 --seed 4)
check "compare ref,xrt,csim: xrt fails to open, ref and csim compared" 1 "${nodev[@]}" "$MPBN" compare \
    "${rnet[@]}" --devices ref,xrt,csim &&
    expect_err "compare: all compared on the rest" "all 12 images identical on ref,csim" &&
    expect_err "compare: the failure is summed up" "1 of 3 devices failed \(xrt\)" &&
    expect_out "compare: images compared" '"images":12,"images_compared":12' &&
    expect_out "compare: per-device error" '"xrt":\{"images":0,[^}]*"error":"opening device' &&
    expect_out "compare: failed list" '"failed":\[\{"device":"xrt","error":'
check "compare: one device left is nothing to compare" 1 "${nodev[@]}" "$MPBN" compare "${rnet[@]}" \
    --devices ref,xrt && expect_err "compare: says so" "only one device opened: nothing to compare"
SIM_LIB=${MPBN_SIM_DIR:-$(dirname "$MPBN")/sim}/libsnn-sim-pipe-ci.so
if [ -f "$SIM_LIB" ]; then
    MPBN_SIM_DIR=$(dirname "$SIM_LIB") MPBN_SIM_CYCLE_BUDGET=300 check "compare: sim fails mid-run, ref and csim go on" 1 "$MPBN" compare \
        "${rnet[@]}" --devices ref,sim,csim --config ci --batch 4 &&
        expect_err "compare mid-run: chunk named" "images 0\.\.3: .*budget of 300 cycles" &&
        expect_out "compare mid-run: ref and csim ran all" '"ref":\{"images":12,.*"csim":\{"images":12,' &&
        expect_out "compare mid-run: sim's error" '"failed":\[\{"device":"sim","error":"images 0\.\.3:'
else
    echo "note: $SIM_LIB not built (make sim-pipe PIPE_CONFIGS=ci); skipping the mid-run failure of sim"
fi
# progress lines: forced plain with MPBN_PROGRESS=1, none with 0
MPBN_PROGRESS=1 check "eval float: progress" 0 "$MPBN" eval "$ck" --limit 64 &&
    expect_err "eval float: final progress line with rate" "^eval float \[#+\] 100% 64/64 img [0-9.]+ img/s in "
MPBN_PROGRESS=1 check "eval ref: progress" 0 "$MPBN" eval "$tmp/tiny.snn" --limit 64 &&
    expect_err "eval ref: final progress line" "^eval ref \[#+\] 100% 64/64 img .* \| acc "
MPBN_PROGRESS=1 check "fold --check: progress" 0 "$MPBN" fold "$ck" --out "$tmp/progress.snn" --check 40 &&
    expect_err "fold --check: final progress line" "^fold --check \[#+\] 100% 40/40 img .*differing spikes"
MPBN_PROGRESS=0 check "MPBN_PROGRESS=0: no progress" 0 "$MPBN" eval "$ck" --limit 64 &&
    expect_true "MPBN_PROGRESS=0: eval float silent" bash -c "! grep -q '\\[#' '$tmp/err'"
MPBN_PROGRESS=0 check "MPBN_PROGRESS=0: fold --check" 0 "$MPBN" fold "$ck" --out "$tmp/progress.snn" --check 40 &&
    expect_true "MPBN_PROGRESS=0: fold --check silent" bash -c "! grep -q '\\[#' '$tmp/err'"
# A long run is announced with its estimate and --limit: a full-size network
# on sim (a cycle budget of 300, or no library: it fails at once after the
# warning).
if [ ! -x "$TOOLS/snn-randnet" ]; then make --no-print-directory -s "$TOOLS/snn-randnet" >/dev/null 2>&1; fi
if [ -x "$TOOLS/snn-randnet" ] && "$TOOLS/snn-randnet" "$tmp/big.snn" c32,c32,p,c64,p,f128 1 4 1 28 28 10; then
    MPBN_SIM_CYCLE_BUDGET=300 check "bench: long sim run announced" 1 "$MPBN" bench "$tmp/big.snn" \
        --random 200 --devices ref,sim &&
        expect_err "bench: estimate and how to shorten" "mpbn bench: warning: sim: 200 images will take about [0-9]+m.*smaller --random N" &&
        expect_out "bench: ref reported, sim failed" '"device":"ref".*"failed":\[\{"device":"sim"'
    check "bench: short ref run not announced" 0 "$MPBN" bench "$tmp/big.snn" --random 20 --devices ref &&
        expect_true "bench: no warning" bash -c "! grep -q warning '$tmp/err'"
else
    echo "note: $TOOLS/snn-randnet missing; skipping the long-run warning"
fi
# train: where the per-epoch CSV and the plot went
check "train: CSV named" 0 env PATH=/nonexistent "$MPBN" train --arch f8 --T 2 --epochs 1 \
    --limit-train 128 --limit-test 32 --batch 32 --out "$tmp/logged.safetensors" &&
    expect_err "train: stderr names the CSV" "per-epoch figures in .*/logged\.csv \(no plot: gnuplot not found\)" &&
    expect_out "train: csv in the JSON, no png" '"csv":"[^"]*/logged\.csv"\}$'
if command -v gnuplot >/dev/null; then
    check "train: CSV and plot named" 0 "$MPBN" train --arch f8 --T 2 --epochs 1 --limit-train 128 \
        --limit-test 32 --batch 32 --out "$tmp/plotted.safetensors" &&
        expect_err "train: stderr names the plot" "accuracy plot in .*/plotted\.png" &&
        expect_out "train: png in the JSON" '"csv":"[^"]*/plotted\.csv","png":"[^"]*/plotted\.png"' &&
        expect_true "train: the plot exists" test -s "$tmp/plotted.png"
fi

# ---- options, messages, help --------------------------------------------------
# (section: messages)
# One option layer (host/cli/opts.h): every command's help is generated from its
# table and lists every option with range and default; `mpbn help CMD` is
# `mpbn CMD --help`; --opt=value; one message per kind of mistake; the
# device options have one range everywhere.
help_has() { tr -s ' \n' ' ' <"$tmp/out" | grep -qF -- "$1"; }
help_lists() { # command, options...
    local cmd=$1 o
    shift
    check "$cmd --help" 0 "$MPBN" "$cmd" --help || return
    for o in "$@"; do
        expect_true "$cmd --help lists $o" grep -qE -- "^  $o( |$)" "$tmp/out"
    done
}
help_lists train --data --arch --T --mpbn --epochs --batch --lr --wd --limit-train --limit-test \
    --seed --threads --augment --no-augment --max-batches --stop-after --resume --out --force --quiet
expect_true "train help: range and default" help_has "--batch N training images per step (range 2..65536; default 64)"
help_lists eval --device --threads --data --limit --batch --config --xclbin --device-index \
    --timeout-ms --mem-latency --backpressure --seed --waveform
expect_true "eval help: --backpressure range" help_has "(range 0..90; default 0)"
help_lists fold --out --check --data --force
help_lists info --json
help_lists compare --devices --split --random --data --limit --batch --config --xclbin \
    --device-index --timeout-ms --mem-latency --backpressure --seed --waveform --random-net \
    --shape --T --classes --extreme
help_lists bench --devices --random --clock-mhz --csv --force --data --limit --batch \
    --config --xclbin --device-index --timeout-ms --mem-latency --backpressure --seed --waveform
expect_true "bench help: its --limit default" help_has "(0 = all; range 0..2^32-1; default 1000)"
"$MPBN" eval --help >"$tmp/eval-help.txt" 2>/dev/null
check "help eval" 0 "$MPBN" help eval && expect_same "help eval is eval --help" "$tmp/out" "$tmp/eval-help.txt"
check "help wins over a bad option" 0 "$MPBN" compare --bogus --config nosuch --help
check "help of an unknown command" 2 "$MPBN" help bogus && expect_err "unknown command named" "unknown command 'bogus'"
check "main help" 0 "$MPBN" help
for v in MPBN_PROGRESS MPBN_BLAS_REEXEC MPBN_SIM_DIR MPBN_SIM_CYCLE_BUDGET XILINX_XRT MPBN_XRT_POWER_NODE; do
    expect_true "main help lists $v" grep -qE "^  $v " "$tmp/out"
done
check "--version" 0 "$MPBN" --version &&
    expect_out "--version json" '^\{"version":"[0-9]+\.[0-9]+\.[0-9]+","deploy_image_format":"1\.[0-9]+"\}$'
cp "$tmp/out" "$tmp/version.txt"
check "version" 0 "$MPBN" version && expect_same "version is --version" "$tmp/out" "$tmp/version.txt"

# --opt=value and --opt value are the same thing
check "--opt=value" 0 "$MPBN" eval "$tmp/tiny.snn" --device=ref --limit=8 --batch=4 &&
    expect_out "--opt=value json" '"images":8,.*"device":"ref"'

# one message per mistake, exit 2
check "unknown option" 2 "$MPBN" compare "$tmp/tiny.snn" --bogus 1 && expect_err "unknown option named" "unknown option '--bogus'"
check "unknown option last" 2 "$MPBN" fold "$ck" --out "$tmp/m.snn" --bogus &&
    expect_err "unknown option last: named" "unknown option '--bogus'" &&
    expect_true "unknown option last: not 'needs a value'" bash -c "! grep -q 'needs a value' '$tmp/err'"
check "unknown option with =" 2 "$MPBN" info "$tmp/tiny.snn" --bogus=3 && expect_err "unknown option= named" "unknown option '--bogus'"
check "near miss" 2 "$MPBN" bench "$tmp/tiny.snn" --device ref && expect_err "near miss: suggestion" "did you mean --devices\?"
check "needs a value" 2 "$MPBN" train --out && expect_err "needs a value: message" "^mpbn train: --out needs a value$"
check "an option is not a value" 2 "$MPBN" fold "$ck" --out --force && expect_err "option as value: message" "--out needs a value"
check "flag with a value" 2 "$MPBN" info "$tmp/tiny.snn" --json=yes && expect_err "flag with a value: message" "--json takes no value"
check "bad integer" 2 "$MPBN" eval "$tmp/tiny.snn" --limit abc && expect_err "bad integer: message" "^mpbn eval: bad value 'abc' for --limit \(range 0\.\.4294967295\)$"
check "negative integer" 2 "$MPBN" bench "$tmp/tiny.snn" --limit -1 && expect_err "negative: message" "bad value '-1' for --limit \(range"
check "integer overflow" 2 "$MPBN" compare "$tmp/tiny.snn" --seed 18446744073709551616 && expect_err "overflow: message" "bad value '18446744073709551616' for --seed"
check "bad number" 2 "$MPBN" train --lr nan --out "$tmp/x.safetensors" && expect_err "bad number: message" "bad value 'nan' for --lr \(range 0\.\.100\)"
check "bad choice" 2 "$MPBN" train --augment some --out "$tmp/x.safetensors" && expect_err "bad choice: message" "^mpbn train: --augment: bad value 'some' \('some' is not one of none, all, crop, flip, erase; a list"
check "bad list" 2 "$MPBN" train --augment crop,,flip --out "$tmp/x.safetensors" && expect_err "bad list: message" "bad value 'crop,,flip' \('' is not one of"
for c in eval compare bench; do
    check "$c --batch 70000" 2 "$MPBN" $c "$tmp/tiny.snn" --batch 70000 && expect_err "$c --batch: one range" "bad value '70000' for --batch \(range 1\.\.65536\)"
done
check "stray argument" 2 "$MPBN" train stray --out "$tmp/x.safetensors" && expect_err "stray: message" "unexpected argument 'stray'"
check "two models" 2 "$MPBN" info "$tmp/tiny.snn" "$ck" && expect_err "two models: message" "more than one model file"
check "device option on float" 2 "$MPBN" eval "$ck" --config ci && expect_err "device option on float: message" "--config is an option of the device backends"
check "version takes nothing" 2 "$MPBN" version now

# --lanes is gone: a usage error naming --config, no build suggested
rnet=(--random-net c4,p,c8,f16 --shape 1x12x12 --T 2 --random 5)
check "compare --lanes 3" 2 "$MPBN" compare "${rnet[@]}" --devices ref,csim --lanes 3 &&
    expect_err "--lanes 3: message" "--lanes was removed: --config replaced it" &&
    expect_true "--lanes 3: no build suggested" bash -c "! grep -q 'make ' '$tmp/err'"
check "compare --lanes=64" 2 "$MPBN" compare "${rnet[@]}" --lanes=64 &&
    expect_err "--lanes=64: message" "--lanes was removed: --config replaced it"
# --limit 0 is "all images" everywhere
check "compare --limit 0" 0 "$MPBN" compare "${rnet[@]}" --limit 0 && expect_out "--limit 0: all images" '"images":5,'

# --force replaces a regular file of another kind, and nothing else
echo "notes" >"$tmp/force.txt"
check "fold --force over a text file" 0 "$MPBN" fold "$ck" --out "$tmp/force.txt" --force &&
    expect_true "fold --force wrote a deploy image" cmp -s "$tmp/force.txt" "$tmp/tiny.snn"
echo "notes" >"$tmp/force2.txt"
check "bench --force --csv over a text file" 0 "$MPBN" bench "$tmp/tiny.snn" --devices ref --limit 8 --csv "$tmp/force2.txt" --force &&
    expect_true "bench --force wrote the CSV" grep -q '^device,layer' "$tmp/force2.txt"
check "--force never over an input" 1 "$MPBN" fold "$ck" --out "$ck" --force
expect_same "checkpoint kept (--force over input)" "$ck" "$tmp/ck.orig"

finish
