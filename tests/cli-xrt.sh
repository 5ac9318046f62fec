#!/usr/bin/env bash
# cli-xrt.sh - the `xrt` device without a card: every way the card path can be
# missing or wrong (no --xclbin, bad xclbin path or file, emulation mismatch,
# no XILINX_XRT, XILINX_XRT without lib/ or without XRT's driver library, no
# card, device index out of range, emulation without emconfig.json) ends with
# exit status 1 (2 for usage errors) and a message naming what is missing,
# never a signal (status >= 128: abort, segfault). XRT itself aborts or
# crashes in several of these cases, which driver/dev-xrt.c checks first.
#
# On a machine that has an Alveo card bound to xocl the no-card cases are
# skipped (they would open the card).
set -uo pipefail
MPBN=${MPBN:-build/mpbn}
TOOLS=$(dirname "$MPBN")/tools
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
skip=0

if [ ! -x "$TOOLS/snn-randnet" ]; then
    make --no-print-directory -s "$TOOLS/snn-randnet" >/dev/null || { echo "FAIL: cannot build $TOOLS/snn-randnet"; exit 1; }
fi

# run NAME WANT_RC REGEX [env VAR=.. ...] -- ARGS: exit status and stderr message
run() {
    local name=$1 want=$2 re=$3
    shift 3
    env "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ge 128 ]; then
        echo "FAIL $name: killed by signal $((rc - 128)) (exit $rc)"
        tail -5 "$tmp/err" | sed 's/^/    /'
        fail=$((fail + 1))
    elif [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, expected $want"
        tail -5 "$tmp/err" | sed 's/^/    /'
        fail=$((fail + 1))
    elif ! grep -Eq -- "$re" "$tmp/err"; then
        echo "FAIL $name: stderr does not match /$re/:"
        tail -5 "$tmp/err" | sed 's/^/    /'
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
        echo "ok   $name: $(grep -E -- "$re" "$tmp/err" | head -1 | cut -c1-150)"
    fi
}

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
run "no --xclbin" 1 "no card image given: pass --xclbin" "${noenv[@]}" "${bench[@]}"
run "xclbin path missing" 1 "xclbin '.*/nope.xclbin': No such file" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/nope.xclbin"
run "xclbin is a directory" 1 "is not a regular file" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp"
run "xclbin is a deploy image" 1 "is not an xclbin" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/model-not-xclbin.xclbin"
run "xclbin truncated" 1 "truncated" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/trunc.xclbin"
run "hw_emu xclbin on hardware" 1 "built for hw_emu.*XCL_EMULATION_MODE=hw_emu" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/emu.xclbin"
run "hw xclbin in emulation" 1 "XCL_EMULATION_MODE=hw_emu is set" -u XILINX_XRT XCL_EMULATION_MODE=hw_emu "${bench[@]}" --xclbin "$tmp/hw.xclbin"

# ---- the XRT installation --------------------------------------------------------
run "no XILINX_XRT" 1 "XILINX_XRT is not set.*setup.sh" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
run "XILINX_XRT empty" 1 "XILINX_XRT is not set" -u XCL_EMULATION_MODE XILINX_XRT= "${bench[@]}" --xclbin "$tmp/hw.xclbin"
run "XILINX_XRT without lib/" 1 "has no lib/ directory" -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix-nolib" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
run "XILINX_XRT lib/ without XRT" 1 "libxrt_core.so.2 not found" -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix-empty" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
run "XILINX_XRT=/usr (Debian layout)" 1 "/usr/lib/libxrt_core.so.2 not found" -u XCL_EMULATION_MODE XILINX_XRT=/usr "${bench[@]}" --xclbin "$tmp/hw.xclbin"
run "negative device index" 2 "bad value '-1' for --device-index" "${noenv[@]}" "${bench[@]}" --xclbin "$tmp/hw.xclbin" --device-index -1

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
    run "no card" 1 "no Alveo card found: XRT could not open device 0" -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix" "${bench[@]}" --xclbin "$tmp/hw.xclbin"
    run "device index out of range" 1 "could not open device 7" -u XCL_EMULATION_MODE XILINX_XRT="$tmp/prefix" "${bench[@]}" --xclbin "$tmp/hw.xclbin" --device-index 7
fi
if [ -e "$multiarch/libxrt_hwemu.so.2" ]; then
    run "hw_emu, EMCONFIG_PATH without the file" 1 "$tmp/emconfig.json does not exist" XCL_EMULATION_MODE=hw_emu EMCONFIG_PATH="$tmp" XILINX_XRT="$tmp/prefix" "${bench[@]}" --xclbin "$tmp/emu.xclbin"
else
    echo "skip emulation case: $multiarch/libxrt_hwemu.so.2 missing (Debian package libxrt1)"
    skip=$((skip + 1))
fi

# ---- bench without --devices skips xrt with a note and succeeds -------------------
{
    env "${noenv[@]}" "$MPBN" bench "$tmp/net.snn" --random 4 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && grep -q "skipping xrt" "$tmp/err" && tail -1 "$tmp/out" | grep -q '"skipped":\[.*"xrt"'; then
        pass=$((pass + 1))
        echo "ok   default device list: xrt skipped, JSON lists it"
    else
        echo "FAIL default device list: exit $rc"
        tail -3 "$tmp/err" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}

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
        env "$@" >"$tmp/out" 2>"$tmp/err"
        local rc=$?
        if [ $rc -eq 0 ] && tail -n 1 "$tmp/out" | grep -q '"mismatches":0,"ann' &&
            tail -n 1 "$tmp/out" | grep -Eq -- "$re"; then
            pass=$((pass + 1))
            echo "ok   $name"
        else
            echo "FAIL $name: exit $rc"
            tail -3 "$tmp/err" | sed 's/^/    /'
            tail -n 1 "$tmp/out" | cut -c1-300 | sed 's/^/    /'
            fail=$((fail + 1))
        fi
    }
    agree "fake card, 1 CU: same results as ref" '"device":"xrt"' "${fake[@]}" \
        "$MPBN" bench "$tmp/net.snn" --random 300 --batch 32 --devices ref,xrt --xclbin "$tmp/cu1.xclbin"
    rm -f "$tmp/runs.log"
    agree "fake card, 3 CUs: same results as ref" '"device":"xrt"' "${fake[@]}" XRT_FAKE_LOG="$tmp/runs.log" \
        "$MPBN" bench "$tmp/net.snn" --random 300 --batch 32 --devices ref,xrt --xclbin "$tmp/cu3.xclbin"
    if [ "$(grep 'images 32' "$tmp/runs.log" | cut -d' ' -f2 | sort -u | tr '\n' ' ')" = "0 1 2 " ]; then
        pass=$((pass + 1))
        echo "ok   fake card, 3 CUs: runs spread over CUs 0 1 2"
    else
        echo "FAIL fake card, 3 CUs: runs went to CUs '$(cut -d' ' -f2 "$tmp/runs.log" | sort | uniq -c | tr '\n' ' ')'"
        fail=$((fail + 1))
    fi
    echo 31250000 >"$tmp/power_uw"
    agree "fake card: board power 31.25 W -> joules per image" '"board_watts":31.25,"joules_per_image":[0-9.e-]+' \
        "${fake[@]}" MPBN_XRT_POWER_NODE="$tmp/power_uw" XRT_FAKE_DELAY_US=3000 \
        "$MPBN" bench "$tmp/net.snn" --random 200 --batch 50 --devices ref,xrt --xclbin "$tmp/cu3.xclbin"
    run "fake card: no such device index" 1 "could not open device 1" "${fake[@]}" "${bench[@]}" --xclbin "$tmp/cu1.xclbin" --device-index 1
    run "fake card: hung kernel times out" 1 "did not finish within 200 ms" "${fake[@]}" XRT_FAKE_HANG=1 \
        "${bench[@]}" --xclbin "$tmp/cu1.xclbin" --timeout-ms 200
    if "$MPBN" compare --help 2>&1 | grep -q -- "--xclbin"; then
        rm -f "$tmp/runs.log"
        run "fake card: compare ref,xrt (spike traces)" 0 "identical on ref,xrt" "${fake[@]}" XRT_FAKE_LOG="$tmp/runs.log" \
            "$MPBN" compare "$tmp/net.snn" --devices ref,xrt --xclbin "$tmp/cu3.xclbin" --random 100 --batch 16
        if grep -q "trace 1" "$tmp/runs.log" 2>/dev/null; then pass=$((pass + 1)); else
            echo "FAIL compare did not run the kernel with a trace buffer"; fail=$((fail + 1)); fi
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
    run "eval: no --xclbin" 1 "no card image given" "${noenv[@]}" "${ev[@]}"
    run "eval: no XILINX_XRT" 1 "XILINX_XRT is not set" "${noenv[@]}" "${ev[@]}" --xclbin "$tmp/hw.xclbin"
    run "eval: missing xclbin" 1 "No such file" "${noenv[@]}" "${ev[@]}" --xclbin "$tmp/nope.xclbin"
    run "eval: XILINX_XRT=/usr" 1 "libxrt_core.so.2 not found" -u XCL_EMULATION_MODE XILINX_XRT=/usr "${ev[@]}" --xclbin "$tmp/hw.xclbin"
    if [ -e "$FAKE/lib/libxrt_coreutil.so.2" ]; then
        ref_acc=$("$MPBN" eval "$tmp/net28.snn" --data "$data" --limit 64 --device ref 2>/dev/null | tail -n 1 | grep -o '"accuracy":[0-9.e-]*')
        xrt_acc=$(env "${fake[@]}" "$MPBN" eval "$tmp/net28.snn" --data "$data" --limit 64 --device xrt \
                  --xclbin "$tmp/cu3.xclbin" 2>/dev/null | tail -n 1 | grep -o '"accuracy":[0-9.e-]*')
        if [ -n "$ref_acc" ] && [ "$ref_acc" = "$xrt_acc" ]; then
            pass=$((pass + 1)); echo "ok   eval on the fake card: $xrt_acc as ref"
        else
            echo "FAIL eval on the fake card: ref '$ref_acc', xrt '$xrt_acc'"; fail=$((fail + 1))
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
    run "make xclbin without Vitis" 2 "missing on this machine: v\+\+.*" make --no-print-directory -s -C "$repo" xclbin TARGET=hw PLATFORM=u250
    run "make xclbin, unknown card" 2 "no link configuration constraints/vck5000.cfg" make --no-print-directory -s -C "$repo" xclbin TARGET=hw PLATFORM=xilinx_vck5000_gen4x8_qdma_2_202220_1
fi

echo "cli-xrt: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
