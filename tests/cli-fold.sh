#!/usr/bin/env bash
# cli-fold.sh - the command-line contract of `mpbn fold`, `mpbn info` and
# `mpbn eval MODEL.snn`: success prints a JSON last line and exits 0, a usage
# error exits 2, a user error (missing file, corrupt or truncated checkpoint,
# metadata that does not match the tensors, damaged deploy image, wrong image
# size for the data set) exits 1 with a message naming the problem, never a
# crash.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# A tiny trained checkpoint (fc 8, T 2, a few hundred images: about a second).
MPBN_PROGRESS=0 "$MPBN" train --arch f8 --T 2 --mpbn channel --epochs 1 --limit-train 256 \
    --limit-test 64 --batch 32 --seed 3 --threads 1 --out "$tmp/tiny.safetensors" >/dev/null 2>"$tmp/train.err" ||
    { echo "FAIL: cannot train the tiny checkpoint"; cat "$tmp/train.err"; exit 1; }
ck=$tmp/tiny.safetensors

# ---- fold ----
check_re "fold ok" 0 '"out":".*tiny.snn".*"layers":2' "$MPBN" fold "$ck" --out "$tmp/tiny.snn"
check_re "fold --check" 0 '"check_images":50.*"unexplained":0' "$MPBN" fold "$ck" --out "$tmp/tiny2.snn" --check 50
check_re "fold is deterministic" 0 '' cmp "$tmp/tiny.snn" "$tmp/tiny2.snn"
check_re "fold no args" 2 'no checkpoint' "$MPBN" fold
check_re "fold no --out" 2 '--out' "$MPBN" fold "$ck"
check_re "fold unknown option" 2 "unknown option '--bogus'" "$MPBN" fold "$ck" --out "$tmp/x.snn" --bogus 1
check_re "fold bad --check" 2 "bad value 'x'" "$MPBN" fold "$ck" --out "$tmp/x.snn" --check x
check_re "fold missing file" 1 'nonexistent' "$MPBN" fold "$tmp/nonexistent.safetensors" --out "$tmp/x.snn"
echo "this is not a checkpoint" >"$tmp/junk.safetensors"
check_re "fold junk file" 1 'junk.safetensors' "$MPBN" fold "$tmp/junk.safetensors" --out "$tmp/x.snn"
head -c 200 "$ck" >"$tmp/trunc.safetensors"
check_re "fold truncated checkpoint" 1 'trunc.safetensors' "$MPBN" fold "$tmp/trunc.safetensors" --out "$tmp/x.snn"
# metadata edited in place (same length, so the file stays well-formed)
edit() { # src dst from to
    python3 - "$@" <<'EOF'
import sys
src, dst, a, b = sys.argv[1:5]
d = open(src, 'rb').read()
assert len(a) == len(b) and d.count(a.encode()) == 1, (a, d.count(a.encode()))
open(dst, 'wb').write(d.replace(a.encode(), b.encode()))
EOF
}
edit "$ck" "$tmp/shape.safetensors" '"arch":"f8"' '"arch":"f9"'
check_re "fold wrong shapes" 1 'layers.0.weight.*expected' "$MPBN" fold "$tmp/shape.safetensors" --out "$tmp/x.snn"
edit "$ck" "$tmp/t0.safetensors" '"T":"2"' '"T":"0"'
check_re "fold bad T" 1 '"T"' "$MPBN" fold "$tmp/t0.safetensors" --out "$tmp/x.snn"
edit "$ck" "$tmp/tau.safetensors" '"tau":"0.25"' '"tau":"0.50"'
check_re "fold tau" 1 'tau' "$MPBN" fold "$tmp/tau.safetensors" --out "$tmp/x.snn"
edit "$ck" "$tmp/mode.safetensors" '"mpbn":"channel"' '"mpbn":"chunnel"'
check_re "fold bad mpbn mode" 1 'mpbn" is .chunnel.' "$MPBN" fold "$tmp/mode.safetensors" --out "$tmp/x.snn"
check_re "fold unwritable out" 1 '' "$MPBN" fold "$ck" --out "$tmp/no/such/dir/x.snn"
expect_true "failed folds left no $tmp/x.snn" test ! -e "$tmp/x.snn"

# ---- info ----
check_re "info ok" 0 '"n_layers":2.*"layers":\[\{"kind":"fc"' "$MPBN" info "$tmp/tiny.snn"
check_re "info --json" 0 '"memory":\{"header"' "$MPBN" info "$tmp/tiny.snn" --json
lines=$("$MPBN" info "$tmp/tiny.snn" --json | wc -l)
expect_true "info --json printed $lines lines, not 1" test "$lines" -eq 1
check_re "info no args" 2 'no model' "$MPBN" info
check_re "info unknown option" 2 "unknown option" "$MPBN" info "$tmp/tiny.snn" --verbose
check_re "info missing file" 1 'nonexistent' "$MPBN" info "$tmp/nonexistent.snn"
check_re "info of a checkpoint" 0 '"kind":"checkpoint","valid":true' "$MPBN" info "$ck"
python3 - "$tmp/tiny.snn" "$tmp/flip.snn" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); d[300] ^= 0x40
open(sys.argv[2], 'wb').write(d)
EOF
check_re "info corrupt byte" 1 'CRC' "$MPBN" info "$tmp/flip.snn"
head -c 100 "$tmp/tiny.snn" >"$tmp/trunc.snn"
check_re "info truncated" 1 'total_bytes' "$MPBN" info "$tmp/trunc.snn"
: >"$tmp/empty.snn"
check_re "info empty" 1 'truncated' "$MPBN" info "$tmp/empty.snn"

# ---- eval of a deploy image ----
check_re "eval ref" 0 '"accuracy":0\.[0-9]+,"images":64,.*"device":"ref".*"synops_per_image"' \
    "$MPBN" eval "$tmp/tiny.snn" --device ref --limit 64 --batch 10
# the counters (docs/numerics.md, "Counters"): events count each firing input
# neuron once, synops each of its spikes; layer 0 (the pixels) the same
tail -n 1 "$tmp/out" >"$tmp/eval.json"
counters_ok() {
    python3 - "$1" <<'EOF'
import json, sys
j = json.loads(open(sys.argv[1]).read())
sp, so, ev = j['spikes_per_layer'], j['synops_per_layer'], j['events_per_layer']
assert len(sp) == len(so) == len(ev) == 2, j
assert abs(sum(ev) - j['events_per_image']) <= 1e-5 * max(1, sum(ev)), j  # %.6g
assert abs(sum(so) - j['synops_per_image']) <= 1e-5 * max(1, sum(so)), j
assert ev[0] == so[0] > 0 and 0 < ev[1] <= so[1], j
EOF
}
expect_true "eval ref: events_per_image, events_per_layer beside synops" counters_ok "$tmp/eval.json"
check_re "eval default device is ref" 0 '"device":"ref"' "$MPBN" eval "$tmp/tiny.snn" --limit 8
check_re "eval corrupt image" 1 'CRC' "$MPBN" eval "$tmp/flip.snn" --limit 8
check_re "eval truncated image" 1 'total_bytes' "$MPBN" eval "$tmp/trunc.snn" --limit 8
check_re "eval missing image" 1 'nonexistent' "$MPBN" eval "$tmp/nonexistent.snn" --limit 8
check_re "eval unknown device" 1 "unknown device 'nonesuch'" "$MPBN" eval "$tmp/tiny.snn" --device nonesuch --limit 8
check_re "eval bad --limit" 2 "bad value 'abc'" "$MPBN" eval "$tmp/tiny.snn" --limit abc
check_re "eval bad --batch" 2 "" "$MPBN" eval "$tmp/tiny.snn" --batch 0
check_re "eval unknown option" 2 "unknown option '--frobnicate'" "$MPBN" eval "$tmp/tiny.snn" --frobnicate 3
check_re "eval missing data dir" 1 'nonexistent' "$MPBN" eval "$tmp/tiny.snn" --data "$tmp/nonexistent" --limit 8
if [ -x "$TOOLS/snn-randnet" ] || make --no-print-directory -s "$TOOLS/snn-randnet" >/dev/null 2>&1; then
    "$TOOLS/snn-randnet" "$tmp/r12.snn" c4,p,f8 1 4 1 12 12 10 >/dev/null 2>&1
    check_re "eval image size mismatch" 1 'expects 1x12x12' "$MPBN" eval "$tmp/r12.snn" --limit 8
fi

finish
