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
else
    echo "skip fake-card cases: build/xrt-fake not built (make xrt-fake; needs libxrt-dev)"
    skip=$((skip + 6))
fi

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
