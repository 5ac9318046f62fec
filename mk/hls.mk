# mk/hls.mk - the HLS kernel (hls/): csim flags, `make hls` (Vitis HLS
# synthesis for a user who has it) and the kernel's test suites.
#
# hls/*.c is compiled into build/libsnn.a by the top-level Makefile (csim
# device). The sources keep their `#pragma HLS` lines; gcc would warn about
# each one (and about the loop labels HLS names loops by), so those warnings
# are off for the files under hls/.

$(BUILD)/obj/hls/%.o: CFLAGS += -Wno-unknown-pragmas -Wno-unused-label

VITIS_HLS   ?= $(shell command -v vitis_hls 2>/dev/null || command -v vivado_hls 2>/dev/null)
HLS_PART    ?= xcu250-figd2104-2L-e
HLS_CLOCK   ?= 300MHz
HLS_LANES   ?= 16

.PHONY: hls
hls: ## synthesize the HLS kernel with Vitis HLS and export build/hls/snn_kernel.xo (needs AMD Vitis)
	@if [ -z "$(VITIS_HLS)" ]; then \
	    echo "make hls: vitis_hls (or vivado_hls) is not on PATH." >&2; \
	    echo "  It comes with AMD Vitis (https://www.xilinx.com/products/design-tools/vitis.html)," >&2; \
	    echo "  which is not in Debian. Install Vitis, source <vitis>/settings64.sh and rerun:" >&2; \
	    echo "    make hls HLS_PART=$(HLS_PART) HLS_CLOCK=$(HLS_CLOCK) HLS_LANES=$(HLS_LANES)" >&2; \
	    echo "  The csim device (the same source under gcc) needs none of it: build/mpbn eval ... --device csim" >&2; \
	    exit 1; \
	fi
	@mkdir -p $(BUILD)/hls
	cd $(BUILD)/hls && HLS_SRC=$(CURDIR) HLS_PART=$(HLS_PART) HLS_CLOCK=$(HLS_CLOCK) \
	    HLS_LANES=$(HLS_LANES) $(VITIS_HLS) -f $(CURDIR)/hls/run_hls.tcl
