#!/usr/bin/env bash
# cli-xrt.sh - the `xrt` device without a card: every way the card path can be
# missing or wrong (no --xclbin, bad xclbin path or file, emulation mismatch,
# no XILINX_XRT, XILINX_XRT without lib/ or without XRT's driver library, no
# card, device index out of range, emulation without emconfig.json) ends with
# exit status 1 (2 for usage errors) and a message naming what is missing,
# never a signal (status >= 128: abort, segfault). XRT itself aborts or
# crashes in several of these cases, which driver/xrt-preflight.c checks first.
#
# On a machine that has an Alveo card bound to xocl the no-card cases are
# skipped (they would open the card).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
skip=0

if [ ! -x "$TOOLS/snn-randnet" ]; then
    make --no-print-directory -s "$TOOLS/snn-randnet" >/dev/null || { echo "FAIL: cannot build $TOOLS/snn-randnet"; exit 1; }
fi

# A minimal axlf container: "xclbin2" magic, m_header.m_length (offset 304) =
# file size, m_header.m_mode (offset 332): 0 hw, 4 hw_emu. No kernel inside:
# every check here fails before XRT would look at its sections.
mkxclbin() { # file mode [size]
    local f=$1 mode=$2 size=${3:-1024}
    head -c "$size" /dev/zero >"$f"
    printf 'xclbin2\0' | dd of="$f" conv=notrunc status=none
    printf "\\x$(printf %02x $((size & 255)))\\x$(printf %02x $((size >> 8 & 255)))" |
        dd of="$f" bs=1 seek=304 conv=notrunc status=none
    printf "\\x$(printf %02x "$mode")" | dd of="$f" bs=1 seek=332 conv=notrunc status=none
}

"$TOOLS/snn-randnet" "$tmp/net.snn" c4,p,c8,f16 5 4 1 12 12 10 || { echo "FAIL: snn-randnet"; exit 1; }
mkxclbin "$tmp/hw.xclbin" 0
mkxclbin "$tmp/emu.xclbin" 4
head -c 600 "$tmp/hw.xclbin" >"$tmp/trunc.xclbin"
cp "$tmp/net.snn" "$tmp/model-not-xclbin.xclbin"
mkdir -p "$tmp/prefix-nolib" "$tmp/prefix-empty/lib"

multiarch=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
mkdir -p "$tmp/prefix"
ln -s "$multiarch" "$tmp/prefix/lib"

bench=("$MPBN" bench "$tmp/net.snn" --random 4 --devices xrt)
noenv=(-u XILINX_XRT -u XCL_EMULATION_MODE -u EMCONFIG_PATH)

# ---- the card image ----------------------------------------------------------
check_re "no --xclbin" 1 "no card image given: pass --xclbin" env "${noenv[@]}" "${bench[@]}"
check_re "xclbin path missing" 1 "xclbin '.*/nope.xclbin': No such file" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/nope.xclbin"
check_re "xclbin is a directory" 1 "is not a regular file" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp"
check_re "xclbin is a deploy image" 1 "is not an xclbin" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/model-not-xclbin.xclbin"
check_re "xclbin truncated" 1 "truncated" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/trunc.xclbin"
check_re "hw_emu xclbin on hardware" 1 "built for hw_emu.*XCL_EMULATION_MODE=hw_emu" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/emu.xclbin"
check_re "hw xclbin in emulation" 1 "XCL_EMULATION_MODE=hw_emu is set" env -u XILINX_XRT XCL_EMULATION_MODE=hw_emu "${bench[@]}" --xclbin "$tmp/hw.xclbin"

# ---- the XRT installation --------------------------------------------------------
check_re "no XILINX_XRT" 1 "XILINX_XRT is not set.*setup.sh" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
check_re "XILINX_XRT empty" 1 "XILINX_XRT is not set" env -u XCL_EMULATION_MODE XILINX_XRT= "${bench[@]}" --xclbin "$tmp/hw.xclbin"
check_re "XILINX_XRT without lib/" 1 "has no lib/ directory" env -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix-nolib" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
check_re "XILINX_XRT lib/ without XRT" 1 "libxrt_core.so.2 not found" env -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix-empty" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
check_re "XILINX_XRT=/usr (Debian layout)" 1 "/usr/lib/libxrt_core.so.2 not found" env -u XCL_EMULATION_MODE XILINX_XRT=/usr "${bench[@]}" --xclbin "$tmp/hw.xclbin"
check_re "negative device index" 2 "bad value '-1' for --device-index" env "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/hw.xclbin" --device-index -1

# ---- no card: XRT is really called ---------------------------------------------------
has_card=0
ls /sys/bus/pci/drivers/xocl/ 2>/dev/null | grep -q ':' && has_card=1
if [ ! -e "$multiarch/libxrt_core.so.2" ]; then
    echo "skip no-card cases: $multiarch/libxrt_core.so.2 missing (Debian package libxrt1)"
    skip=$((skip + 2))
elif [ $has_card = 1 ]; then
    echo "skip no-card cases: this machine has a card bound to xocl"
    skip=$((skip + 2))
else
    check_re "no card" 1 "no Alveo card found: XRT could not open device 0" env -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
    check_re "device index out of range" 1 "could not open device 7" env -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix" "${bench[@]}" --xclbin "$tmp/hw.xclbin" --device-index 7
fi
if [ -e "$multiarch/libxrt_hwemu.so.2" ]; then
    check_re "hw_emu, EMCONFIG_PATH without the file" 1 "$tmp/emconfig.json does not exist" env XCL_EMULATION_MODE=hw_emu EMCONFIG_PATH="$tmp" XILINX_XRT="$tmp/prefix" "${bench[@]}" --xclbin "$tmp/emu.xclbin"
else
    echo "skip emulation case: $multiarch/libxrt_hwemu.so.2 missing (Debian package libxrt1)"
    skip=$((skip + 1))
fi

# ---- bench without --devices skips xrt with a note and succeeds -------------------
check "default device list" 0 env "${noenv[@]}" "$MPBN" bench "$tmp/net.snn" --random 4 &&
    expect_err "default device list: xrt skipped" "skipping xrt" &&
    expect_out "default device list: JSON lists it" '"skipped":\[.*"xrt"'

# ---- the card path, on the XRT stand-in (tests/xrt-fake.c) ---------------------------
# XILINX_XRT=build/xrt-fake: dev-xrt.c loads a fake libxrt_coreutil.so.2 whose
# "card" runs the golden model. Checks what needs XRT past xrtDeviceOpen:
# the xclbin's compute units, buffers placed per CU bank, runs in flight,
# trace off and on, power readings, timeouts.
FAKE=$(dirname "$MPBN")/xrt-fake
if [ ! -e "$FAKE/lib/libxrt_coreutil.so.2" ] || [ ! -x "$FAKE/make-xclbin" ]; then
    make --no-print-directory -s xrt-fake >/dev/null 2>&1
fi
if [ -e "$FAKE/lib/libxrt_coreutil.so.2" ] && [ -x "$FAKE/make-xclbin" ]; then
    "$FAKE/make-xclbin" "$tmp/cu1.xclbin" 1
    "$FAKE/make-xclbin" "$tmp/cu3.xclbin" 3
    fake=(-u XCL_EMULATION_MODE XILINX_XRT="$FAKE")
    # agree() NAME JSON-REGEX ARGS...: bench ref,xrt exits 0, no mismatch, JSON matches
    agree() {
        local name=$1 re=$2
        shift 2
        check_re "$name" 0 "$re" env "$@" && expect_out "$name: no mismatch" '"mismatches":0,"ann'
    }
    agree "fake card, 1 CU: same results as ref" '"device":"xrt"' "${fake[@]}" \
        "$MPBN" bench "$tmp/net.snn" --random 300 --batch 32 --devices ref,xrt --xclbin "$tmp/cu1.xclbin"
    rm -f "$tmp/runs.log"
    agree "fake card, 3 CUs: same results as ref" '"device":"xrt"' "${fake[@]}" XRT_FAKE_LOG="$tmp/runs.log" \
        "$MPBN" bench "$tmp/net.snn" --random 300 --batch 32 --devices ref,xrt --xclbin "$tmp/cu3.xclbin"
    cus=$(grep 'images 32' "$tmp/runs.log" | cut -d' ' -f2 | sort -u | tr '\n' ' ')
    expect_true "fake card, 3 CUs: runs spread over CUs 0 1 2, not '$cus'" test "$cus" = "0 1 2 "
    echo 31250000 >"$tmp/power_uw"
    agree "fake card: board power 31.25 W -> joules per image" '"board_watts":31.25,"joules_per_image":[0-9.e-]+' \
        "${fake[@]}" MPBN_XRT_POWER_NODE="$tmp/power_uw" XRT_FAKE_DELAY_US=3000 \
        "$MPBN" bench "$tmp/net.snn" --random 200 --batch 50 --devices ref,xrt --xclbin "$tmp/cu3.xclbin"
    # a kernel that keeps the model on chip (the RTL kernel's flags argument):
    # a second model in a buffer at the same address must be loaded again
    if [ -x "$FAKE/xrt-reload" ]; then
        "$TOOLS/snn-randnet" "$tmp/net-b.snn" c4,p,c8,f16 6 4 1 12 12 10 || { echo "FAIL: snn-randnet"; exit 1; }
        rm -f "$tmp/runs.log"
        check_re "fake card keeping the model on chip: A, B, A in turn run as loaded" 0 \
            "load 3: model A, 0 of 64 predictions differ" env "${fake[@]}" XRT_FAKE_ONCHIP=1 \
            XRT_FAKE_LOG="$tmp/runs.log" "$FAKE/xrt-reload" "$tmp/cu1.xclbin" "$tmp/net.snn" "$tmp/net-b.snn" 64 &&
            expect_true "... model B after A: 0 differ" grep -q "load 2: model B, 0 of 64 predictions differ" "$tmp/out"
        expect_true "the kernel was told to reload (3 loads in the run log)" \
            test "$(grep -c 'load 1' "$tmp/runs.log")" = 3
        rm -f "$tmp/runs.log"
        check_re "fake cards keeping the model on chip: A, B, A on 2 cards x 3 CUs" 0 \
            "load 3: model A, 0 of 240 predictions differ" env "${fake[@]}" XRT_FAKE_ONCHIP=1 XRT_FAKE_CARDS=2 \
            XRT_FAKE_LOG="$tmp/runs.log" "$FAKE/xrt-reload" "$tmp/cu3.xclbin" "$tmp/net.snn" "$tmp/net-b.snn" 240 all 8 &&
            expect_true "... model B after A on 2 cards: 0 differ" grep -q "load 2: model B, 0 of 240 predictions differ" "$tmp/out"
        expect_true "each of the 6 CUs loaded each of the 3 models once (18 loads)" \
            test "$(grep -c 'load 1' "$tmp/runs.log")" = 18
    fi
    check_re "fake card: no such device index" 1 "could not open device 1" env "${fake[@]}" "${bench[@]}" --xclbin "$tmp/cu1.xclbin" --device-index 1
    check_re "fake card: hung kernel times out" 1 "did not finish within 200 ms" env "${fake[@]}" XRT_FAKE_HANG=1 \
        "${bench[@]}" --xclbin "$tmp/cu1.xclbin" --timeout-ms 200
    if "$MPBN" compare --help 2>&1 | grep -q -- "--xclbin"; then
        rm -f "$tmp/runs.log"
        check "fake card: compare ref,xrt (spike traces)" 0 env "${fake[@]}" XRT_FAKE_LOG="$tmp/runs.log" \
            "$MPBN" compare "$tmp/net.snn" --devices ref,xrt --xclbin "$tmp/cu3.xclbin" --random 100 --batch 16 &&
            expect_err "fake card: compare ref,xrt (spike traces)" "identical on ref,xrt"
        expect_true "compare ran the kernel with a trace buffer" grep -q "trace 1" "$tmp/runs.log"
        # a record counter that disagrees is named: net.snn has K = 10 classes
        # and L = 5 layers, so word K + 1 + 2L + 2 = 23 is events[2] (the c8 conv)
        check_re "fake card: compare names an events counter that differs" 1 \
            "MISMATCH image 0: xrt differs from ref in the events_counter of layer 2" \
            env "${fake[@]}" XRT_FAKE_RECORD_WORD=23 \
            "$MPBN" compare "$tmp/net.snn" --devices ref,xrt --xclbin "$tmp/cu1.xclbin" --random 4 &&
            expect_out "fake card: compare counts it as a counter mismatch" \
                '"spike_mismatches":0,"sum_mismatches":0,"pred_mismatches":0,"counter_mismatches":4'
    fi

    # ---- several cards (--cards): XRT_FAKE_CARDS=N cards, each with the xclbin's CUs ----
    # pairs LOG: the distinct "card cu" pairs of the runs of batches of 16 images
    pairs() { awk '$4 == 16 { print $10, $2 }' "$1" | sort -u | tr '\n' ' '; }
    for n in 1 2 3; do
        rm -f "$tmp/runs.log"
        agree "fake cards: --cards all on $n card(s) x 3 CUs, same results as ref" "\"n_cards\":$n,\"cus\":$((3 * n))" \
            "${fake[@]}" XRT_FAKE_CARDS=$n XRT_FAKE_LOG="$tmp/runs.log" \
            "$MPBN" bench "$tmp/net.snn" --random 900 --batch 16 --devices ref,xrt --xclbin "$tmp/cu3.xclbin" --cards all
        want=""
        for c in $(seq 0 $((n - 1))); do want="$want$c 0 $c 1 $c 2 "; done
        got=$(pairs "$tmp/runs.log")
        expect_true "fake cards: $n card(s): runs on every CU of every card ('$want'), not '$got'" test "$got" = "$want"
    done
    rm -f "$tmp/runs.log"
    agree "fake cards: --cards 0,2 of 3" '"cards":\[\{"card":0,.*\{"card":2,.*"n_cards":2,"cus":6' \
        "${fake[@]}" XRT_FAKE_CARDS=3 XRT_FAKE_LOG="$tmp/runs.log" \
        "$MPBN" bench "$tmp/net.snn" --random 400 --batch 16 --devices ref,xrt --xclbin "$tmp/cu3.xclbin" --cards 0,2
    got=$(pairs "$tmp/runs.log")
    expect_true "fake cards: --cards 0,2 runs on cards 0 and 2 only, not '$got'" test "$got" = "0 0 0 1 0 2 2 0 2 1 2 2 "
    # the images of each card add up, and each card's copy of the model was
    # written once per CU (weights resident: one load per CU, not per run)
    check_re "fake cards: per-card images add up to the total" 0 '"cards":\[\{"card":0,"bdf":"","cus":3,"images":[0-9]+' \
        env "${fake[@]}" XRT_FAKE_CARDS=2 "$MPBN" bench "$tmp/net.snn" --random 1000 --batch 16 --devices xrt \
        --xclbin "$tmp/cu3.xclbin" --cards 0,1
    sum=$(tail -n 1 "$tmp/out" | grep -o '"card":[0-9]*,"bdf":"[^"]*","cus":[0-9]*,"images":[0-9]*' | awk -F'"images":' '{ s += $2 } END { print s }')
    expect_true "fake cards: per-card images sum to 1000, not '$sum'" test "$sum" = 1000
    rm -f "$tmp/runs.log"
    check "fake cards, kernel keeping the model on chip: one model load per CU" 0 env "${fake[@]}" XRT_FAKE_CARDS=2 \
        XRT_FAKE_ONCHIP=1 XRT_FAKE_LOG="$tmp/runs.log" "$MPBN" bench "$tmp/net.snn" --random 900 --batch 16 \
        --devices xrt --xclbin "$tmp/cu3.xclbin" --cards all
    loads=$(grep -c 'load 1' "$tmp/runs.log")
    expect_true "fake cards: 6 model loads on 2 cards x 3 CUs, not $loads" test "$loads" = 6
    # compare: every spike of every layer identical across two cards
    if "$MPBN" compare --help 2>&1 | grep -q -- "--cards"; then
        rm -f "$tmp/runs.log"
        check "fake cards: compare ref,xrt on 2 cards (spike traces)" 0 env "${fake[@]}" XRT_FAKE_CARDS=2 \
            XRT_FAKE_LOG="$tmp/runs.log" \
            "$MPBN" compare "$tmp/net.snn" --devices ref,xrt --xclbin "$tmp/cu3.xclbin" --cards all --random 100 --batch 8 &&
            expect_err "fake cards: compare ref,xrt on 2 cards" "identical on ref,xrt"
        # compare runs one chunk of --batch images per call: the chunks take the CUs in turn
        got=$(awk '{ print $10, $2 }' "$tmp/runs.log" | sort -u | tr '\n' ' ')
        expect_true "fake cards: compare's chunks reach every CU of both cards, not '$got'" \
            test "$got" = "0 0 0 1 0 2 1 0 1 1 1 2 "
    fi
    # board power of each card (one sensor file per card), summed
    echo 10000000 >"$tmp/power1_uw"
    agree "fake cards: board power 31.25 W + 10 W" '"board_watts":41.25,"joules_per_image":[0-9.e-]+,"uj_per_image":[0-9.e+-]+,"cards":\[\{"card":0,"bdf":"","cus":3,"images":[0-9]+,"runs":[0-9]+,"images_per_s":[0-9.e+-]+,"board_watts":31.25,.*"board_watts":10,' \
        "${fake[@]}" XRT_FAKE_CARDS=2 MPBN_XRT_POWER_NODE="$tmp/power_uw,$tmp/power1_uw" XRT_FAKE_DELAY_US=3000 \
        "$MPBN" bench "$tmp/net.snn" --random 300 --batch 25 --devices ref,xrt --xclbin "$tmp/cu3.xclbin" --cards all
    # a card that fails is named
    cb=("$MPBN" bench "$tmp/net.snn" --random 200 --batch 16 --devices xrt --xclbin "$tmp/cu3.xclbin")
    check_re "fake cards: card 3 of --cards 0,3 is missing" 1 "could not open card 3 .*after opening 1 other card" \
        env "${fake[@]}" XRT_FAKE_CARDS=2 "${cb[@]}" --cards 0,3
    check_re "fake cards: card 1 does not open (in use)" 1 "could not open card 1 \(Device or resource busy\)" \
        env "${fake[@]}" XRT_FAKE_CARDS=3 XRT_FAKE_FAIL=open:1 "${cb[@]}" --cards all
    check_re "fake cards: card 2 does not take the xclbin" 1 "could not load '.*cu3.xclbin' on card 2" \
        env "${fake[@]}" XRT_FAKE_CARDS=3 XRT_FAKE_FAIL=load:2 "${cb[@]}" --cards 0,1,2
    check_re "fake cards: card 1 hangs: the watchdog names card and CU" 1 \
        "card 1, compute unit snn_kernel:\{snn_kernel_[123]\} did not finish within 200 ms" \
        env "${fake[@]}" XRT_FAKE_CARDS=2 XRT_FAKE_FAIL=hang:1 "${cb[@]}" --cards all --timeout-ms 200
    check_re "fake cards: a hang of card 1 does not matter without it" 0 '"n_cards":1,' \
        env "${fake[@]}" XRT_FAKE_CARDS=2 XRT_FAKE_FAIL=hang:1 "${cb[@]}" --cards 0 --timeout-ms 200
else
    echo "skip fake-card cases: build/xrt-fake not built (make xrt-fake; needs libxrt-dev)"
    skip=$((skip + 6))
fi

# ---- --cards: bad values are usage errors (exit 2), whatever the machine --------------
check_re "--cards empty" 2 "--cards: '': an empty card index" "${bench[@]}" --cards=
check_re "--cards with an empty entry" 2 "--cards: '0,,1': an empty card index" "${bench[@]}" --cards 0,,1
check_re "--cards trailing comma" 2 "--cards: '0,': an empty card index" "${bench[@]}" --cards 0,
check_re "--cards duplicate" 2 "--cards: card 1 is listed twice in '1,0,1'" "${bench[@]}" --cards 1,0,1
check_re "--cards out of range" 2 "--cards: '1025' is not a card index \(0..1024" "${bench[@]}" --cards 0,1025
check_re "--cards negative" 2 "--cards: '-1' is not a card index" "${bench[@]}" --cards=-1
check_re "--cards not a number" 2 "--cards: 'two' is not a card index" "${bench[@]}" --cards two
check_re "--cards all mixed with a list" 2 "--cards: 'all' is not a card index" "${bench[@]}" --cards all,1
check_re "--cards too many" 2 "lists more than 16 cards" "${bench[@]}" --cards 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16
check_re "--cards with --device-index" 2 "--cards and --device-index cannot be given together" "${bench[@]}" --cards 0,1 --device-index 1
check "help eval" 0 "$MPBN" help eval
expect_true "help eval lists --cards" grep -Eq -e "--cards all\\|LIST +xrt: the cards to run on" "$tmp/out"
expect_true "help eval: --cards range" grep -q "range 0..1024, at most 16" "$tmp/out"
expect_true "help eval: --cards default" grep -q "default the --device-index card, 0" "$tmp/out"

# ---- the same through `mpbn eval` (needs the Fashion-MNIST test split) ---------------
data=${MPBN_DATA:-/usr/share/datasets/fashion-mnist}
if ls "$data"/t10k-images-idx3-ubyte* >/dev/null 2>&1; then
    "$TOOLS/snn-randnet" "$tmp/net28.snn" c4,p,c8,f16 5 4 1 28 28 10
    ev=("$MPBN" eval "$tmp/net28.snn" --data "$data" --limit 8 --device xrt)
    check_re "eval: no --xclbin" 1 "no card image given" env "${noenv[@]}" "${ev[@]}"
    check_re "eval: no XILINX_XRT" 1 "XILINX_XRT is not set" env "${noenv[@]}" "${ev[@]}" --xclbin "$tmp/hw.xclbin"
    check_re "eval: missing xclbin" 1 "No such file" env "${noenv[@]}" "${ev[@]}" --xclbin "$tmp/nope.xclbin"
    check_re "eval: XILINX_XRT=/usr" 1 "libxrt_core.so.2 not found" env -u XCL_EMULATION_MODE XILINX_XRT=/usr "${ev[@]}" --xclbin "$tmp/hw.xclbin"
    if [ -e "$FAKE/lib/libxrt_coreutil.so.2" ]; then
        ref_acc=$("$MPBN" eval "$tmp/net28.snn" --data "$data" --limit 64 --device ref 2>/dev/null | tail -n 1 | grep -o '"accuracy":[0-9.e-]*')
        xrt_acc=$(env "${fake[@]}" "$MPBN" eval "$tmp/net28.snn" --data "$data" --limit 64 --device xrt \
                  --xclbin "$tmp/cu3.xclbin" 2>/dev/null | tail -n 1 | grep -o '"accuracy":[0-9.e-]*')
        expect_true "eval on the fake card: ref '$ref_acc', xrt '$xrt_acc'" test -n "$ref_acc" -a "$ref_acc" = "$xrt_acc"
        check_re "eval on 3 fake cards (--cards all)" 0 '"n_cards":3,"cus":9' env "${fake[@]}" XRT_FAKE_CARDS=3 \
            "$MPBN" eval "$tmp/net28.snn" --data "$data" --limit 64 --batch 4 --device xrt --xclbin "$tmp/cu3.xclbin" --cards all
        acc3=$(tail -n 1 "$tmp/out" | grep -o '"accuracy":[0-9.e-]*')
        expect_true "eval on 3 fake cards: ref '$ref_acc', xrt '$acc3'" test -n "$acc3" -a "$ref_acc" = "$acc3"
        # one command from a checkpoint to the card's figures: bench folds it in memory
        if MPBN_PROGRESS=0 "$MPBN" train --arch c4,p,f16 --T 2 --mpbn channel --epochs 1 --limit-train 300 \
            --limit-test 50 --threads 1 --data "$data" --out "$tmp/ck.safetensors" >/dev/null 2>&1; then
            agree "bench CKPT.safetensors --devices ref,xrt on 2 fake cards" \
                '"folded":"in memory".*"device":"xrt".*"board_watts":62.5,"joules_per_image":[0-9.e-]+,"uj_per_image":[0-9.e+-]+' \
                "${fake[@]}" XRT_FAKE_CARDS=2 MPBN_XRT_POWER_NODE="$tmp/power_uw,$tmp/power_uw" \
                "$MPBN" bench "$tmp/ck.safetensors" --data "$data" --limit 200 --batch 16 --devices ref,xrt \
                --xclbin "$tmp/cu3.xclbin" --cards all &&
                expect_err "bench CKPT: says it folded in memory" "checkpoint folded in memory"
            ck_acc=$(tail -n 1 "$tmp/out" | grep -o '"device":"xrt","images":200,[^}]*"accuracy":[0-9.e-]*' | grep -o '"accuracy":.*')
            "$MPBN" fold "$tmp/ck.safetensors" --out "$tmp/ck.snn" >/dev/null 2>&1
            snn_acc=$("$MPBN" bench "$tmp/ck.snn" --data "$data" --limit 200 --devices ref 2>/dev/null | tail -n 1 |
                      grep -o '"accuracy":[0-9.e-]*')
            expect_true "bench CKPT: same accuracy as the folded .snn ('$ck_acc', '$snn_acc')" test -n "$ck_acc" -a "$ck_acc" = "$snn_acc"
        else
            echo "FAIL: mpbn train of the small checkpoint"
            fail=$((fail + 1))
        fi
    fi
else
    echo "skip eval cases: no test split in $data (Debian package dataset-fashion-mnist)"
    skip=$((skip + 5))
fi

# ---- make xclbin without Vitis: says what is missing, fails ------------------------
repo=$(cd "$(dirname "$0")/.." && pwd)
if command -v v++ >/dev/null 2>&1; then
    echo "skip make xclbin case: v++ is installed here"
    skip=$((skip + 2))
else
    check_re "make xclbin without Vitis" 2 "missing on this machine: v\+\+.*" make --no-print-directory -s -C "$repo" xclbin TARGET=hw PLATFORM=u250
    check_re "make xclbin, unknown card" 2 "no link configuration constraints/vck5000.cfg" make --no-print-directory -s -C "$repo" xclbin TARGET=hw PLATFORM=xilinx_vck5000_gen4x8_qdma_2_202220_1
fi

finish
