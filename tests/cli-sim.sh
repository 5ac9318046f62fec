#!/usr/bin/env bash
# cli-sim.sh - the `sim` device (the layer-pipeline RTL kernel in Verilator)
# from the command line: an unknown configuration is a usage error with no
# build suggested; a missing simulator library is named together with the
# make command that builds it (the default configuration, card, and ci);
# with the ci library built (`make sim-pipe PIPE_CONFIGS=ci`; `make
# test-sim-pipe` builds it and runs this suite again): compare of a random
# network agrees with ref on every spike under back-pressure (on the records
# with --no-trace), eval and bench
# agree with ref and report "config", one compare runs csim and sim in the
# same configuration, a
# cycle budget too small for the run ends in a timeout naming the kernel's
# state, MPBN_SIM_WAVEFORM writes an FST file, and a network that does not
# fit is refused with the reason.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
SIM_DIR=${MPBN_SIM_DIR:-$(dirname "$MPBN")/sim}
export MPBN_SIM_DIR=$SIM_DIR

net=(--random-net c4,p,c8,f16 --shape 1x12x12 --T 3 --random 12 --seed 4)

# ---- the layer-pipeline kernel: --config --------------------------------------
"$TOOLS/snn-randnet" "$tmp/pipe.snn" c4,p,c8,f16 7 4 1 12 12 10 >/dev/null
for cmd in eval compare bench; do
    check "--config bogus ($cmd)" 2 "$MPBN" "$cmd" "$tmp/pipe.snn" --config bogus &&
        expect_err "--config bogus ($cmd): message" "--config: unknown configuration 'bogus' of the layer-pipeline kernel \(one of ([a-z0-9_]+\|)*ci(\|[a-z0-9_]+)*;" &&
        expect_true "--config bogus ($cmd): no build suggested" eval '! grep -q "make sim" "$tmp/err"'
done
check "--config on --device float" 2 "$MPBN" eval "$tmp/pipe.snn" --device float --config ci &&
    expect_err "--config on float: message" "--config is an option of the device backends"
check "help eval lists --config" 0 "$MPBN" help eval &&
    expect_true "help eval: --config" grep -qE -- "^  --config NAME " "$tmp/out" &&
    expect_true "help eval: --config values" bash -c "tr -s ' \n' ' ' <'$tmp/out' | grep -qE -- 'one of ([a-z0-9_]+\|)*ci'"

# No library where mpbn looks: a copy of mpbn elsewhere, MPBN_SIM_DIR empty.
mkdir -p "$tmp/bin" "$tmp/nosim"
cp "$MPBN" "$tmp/bin/mpbn"
MPBN_SIM_DIR=$tmp/nosim check "missing library (default configuration)" 1 "$tmp/bin/mpbn" compare \
    "${net[@]}" --devices ref,sim &&
    expect_err "missing library: file" "$tmp/nosim/libsnn-sim-pipe-card\.so" &&
    expect_err "missing library: command" "make sim-pipe PIPE_CONFIGS=card"
MPBN_SIM_DIR=$tmp/nosim check "missing pipe library" 1 "$tmp/bin/mpbn" bench "$tmp/pipe.snn" \
    --devices ref,sim --config ci --random 2 &&
    expect_err "missing pipe library: file" "$tmp/nosim/libsnn-sim-pipe-ci\.so" &&
    expect_err "missing pipe library: command" "make sim-pipe PIPE_CONFIGS=ci"

if [ ! -f "$SIM_DIR/libsnn-sim-pipe-ci.so" ]; then
    echo "note: $SIM_DIR/libsnn-sim-pipe-ci.so not built (make sim-pipe PIPE_CONFIGS=ci); skipping the runs of the layer-pipeline kernel"
else
    # Small IDX test sets of the network's shape: N images 1x12x12, random
    # pixels, labels i % 10.
    mkidx() {
        python3 - "$1" "$2" 12 12 <<'EOF'
import os, random, struct, sys
d, n, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(d, exist_ok=True)
r = random.Random(5)
with open(os.path.join(d, 't10k-images-idx3-ubyte'), 'wb') as f:
    f.write(struct.pack('>IIII', 0x803, n, h, w) + r.randbytes(n * h * w))
with open(os.path.join(d, 't10k-labels-idx1-ubyte'), 'wb') as f:
    f.write(struct.pack('>II', 0x801, n) + bytes(i % 10 for i in range(n)))
EOF
    }
    mkidx "$tmp/idx" 40
    check "eval --device ref (idx set)" 0 "$MPBN" eval "$tmp/pipe.snn" --device ref --data "$tmp/idx" &&
        tail -n 1 "$tmp/out" >"$tmp/ref.json"
    if check "eval --device sim --config ci" 0 "$MPBN" eval "$tmp/pipe.snn" --device sim --config ci \
        --data "$tmp/idx" --batch 16 --backpressure 20; then
        expect_out "eval --config ci: device and config" '"device":"sim","config":"ci"'
        expect_out "eval --config ci: cycles" '"cycles":[1-9]'
        tail -n 1 "$tmp/out" >"$tmp/sim.json"
        # the same records as ref: accuracy and every layer's counters
        expect_true "eval ref vs sim --config ci: accuracy, spikes, synops identical" \
            python3 - "$tmp/ref.json" "$tmp/sim.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ('images', 'accuracy', 'spikes_per_layer', 'synops_per_layer')
bad = [k for k in keys if a.get(k) != b.get(k)]
for k in bad:
    print('    %s: ref %s, sim %s' % (k, a.get(k), b.get(k)))
sys.exit(1 if bad or a['images'] != 40 else 0)
EOF
    fi
    check "bench ref,sim --config ci" 0 "$MPBN" bench "$tmp/pipe.snn" --devices ref,sim --config ci \
        --random 6 --batch 3 &&
        expect_out "bench --config ci: sim reports its config" '"device":"sim","config":"ci"' &&
        expect_out "bench --config ci: latency of one image" '"device":"sim"[^}]*"latency_cycles":[1-9]' &&
        expect_true "bench --config ci: no pipelines per card measured for ci" eval '! grep -q "\"pipelines\"" "$tmp/out"' &&
        expect_out "bench --config ci: no mismatches" '"mismatches":0'

    # A long eval is announced: at the pace of its second chunk, or, when
    # its first chunk alone looks long (--batch N), before it by the
    # estimate. MPBN_LONG_RUN_SECONDS=1 makes "long" a second (these runs
    # take ~40 s here); each is stopped once it has warned (timeout: in
    # case it never does, or the suite is interrupted).
    mkidx "$tmp/idx-long" 4000
    long_eval() { # name, regex, extra eval options...
        local name=$1 re=$2
        shift 2
        MPBN_LONG_RUN_SECONDS=1 timeout 120 "$MPBN" eval "$tmp/pipe.snn" --device sim --config ci \
            --data "$tmp/idx-long" "$@" >"$tmp/out" 2>"$tmp/err" &
        local evp=$!
        for _ in $(seq 240); do grep -q "images will take" "$tmp/err" && break; sleep 0.5; done
        kill "$evp" 2>/dev/null
        wait "$evp" 2>/dev/null
        expect_err "$name" "$re"
    }
    long_eval "eval: a long run announced at the pace of its second chunk" \
        "mpbn eval: warning: sim: [0-9]+ more images will take about ([0-9]+h)?[0-9]+m?[0-9]*s? \(~[0-9.e-]+ s per image, measured on images [1-9][0-9]*\.\.[0-9]+\); --limit N"
    long_eval "eval --batch 2000: announced before the first chunk, by the estimate" \
        "mpbn eval: warning: sim: 4000 images will take about .*, estimated\); --limit N" --batch 2000
    MPBN_LONG_RUN_SECONDS=soon check "MPBN_LONG_RUN_SECONDS=soon: reported, ignored" 0 "$MPBN" eval \
        "$tmp/pipe.snn" --device ref --data "$tmp/idx" &&
        expect_err "MPBN_LONG_RUN_SECONDS=soon: named" "MPBN_LONG_RUN_SECONDS=soon is not a number of seconds: ignored"

    # Networks the stages cannot hold: refused before ap_start, with the reason.
    "$TOOLS/snn-randnet" "$tmp/fc-image.snn" f33,f9 5 3 1 12 12 10 >/dev/null
    check "fc on the image" 1 "$MPBN" eval "$tmp/fc-image.snn" --device sim --config ci --data "$tmp/idx" &&
        expect_err "fc on the image: message" "does not fit the layer-pipeline kernel \(--config ci\): layer 0 \(fc\) reads the image" &&
        expect_true "fc on the image: no JSON" eval '! grep -q "accuracy" "$tmp/out"'
    "$TOOLS/snn-randnet" "$tmp/four-convs.snn" c2,c2,c2,c2,f4 5 2 1 12 12 10 >/dev/null
    check "four convs" 1 "$MPBN" bench "$tmp/four-convs.snn" --devices ref,sim --config ci --random 2 &&
        expect_err "four convs: message" "layer 3 \(conv\) needs a fourth conv stage"

    # compare: every spike of every layer at every step (the kernel's trace
    # mode), sums, prediction and counters.
    check "random net ref,sim, 30% back-pressure" 0 \
        "$MPBN" compare "${net[@]}" --devices ref,sim --config ci --backpressure 30 --mem-latency 60 &&
        expect_out "random net: no mismatches" '"mismatches":0' &&
        expect_out "random net: sim cycles" '"sim":\{[^}]*"cycles":[1-9]'
    # --no-trace: the records only (the trace mode is slow on big networks).
    check "compare --no-trace" 0 "$MPBN" compare "${net[@]}" --devices ref,sim --config ci --no-trace &&
        expect_out "--no-trace: no mismatches, spikes not compared" '"spikes_compared":false,.*"mismatches":0' &&
        expect_err "--no-trace: says what was compared" "records: sums, preds, counters; spikes not compared"
    # --config is both kernels': one compare runs csim and sim in configuration ci.
    check "compare ref,csim,sim --config ci" 0 \
        "$MPBN" compare "${net[@]}" --devices ref,csim,sim --config ci --random 4 &&
        expect_out "ref,csim,sim: no mismatches" '"mismatches":0'

    # A budget far below the run: a timeout with the kernel's state, exit 1.
    MPBN_SIM_CYCLE_BUDGET=300 check "cycle budget" 1 "$MPBN" compare "${net[@]}" --devices ref,sim --config ci &&
        expect_err "cycle budget: what" "ap_done never rose within the budget of 300 cycles" &&
        expect_err "cycle budget: state" "m_axi_gmem: [0-9]+ read burst" &&
        expect_err "cycle budget: mapping" "MPBN_SIM_CYCLE_BUDGET"

    MPBN_SIM_WAVEFORM=$tmp/run.fst check "waveform" 0 "$MPBN" compare "${net[@]}" --random 1 \
        --devices ref,sim --config ci &&
        expect_true "waveform: $tmp/run.fst not empty" test -s "$tmp/run.fst"
fi

finish
