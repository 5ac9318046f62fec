# mk/hls.mk - the HLS kernel (hls/, the layer pipeline of the RTL kernel in
# C): csim flags, `make hls` (Vitis HLS synthesis for a user who has it) and
# the kernel's test suites.
#
# hls/*.c is compiled into build/libsnn.a by the top-level Makefile (csim
# device): snn_kernel.c is the `card` configuration, hls/csim-<config>.c the
# others (their parameters are PIPE_PARAMS_<config> of mk/sim.mk, which
# tests/test-csim.c checks). The sources keep their `#pragma HLS` lines; gcc
# would warn about each one (and about the loop labels HLS names loops by),
# so those warnings are off for the files under hls/.

$(BUILD)/obj/hls/%.o: CFLAGS += -Wno-unknown-pragmas -Wno-unused-label

VITIS_HLS   ?= $(shell command -v vitis_hls 2>/dev/null || command -v vivado_hls 2>/dev/null)
HLS_PART    ?= xcu250-figd2104-2L-e
HLS_CLOCK   ?= 300MHz
# The configuration to synthesise: its PIPE_PARAMS_<config> (mk/sim.mk) become
# -DSNN_HLS_<param>=<value> (hls/snn_kernel.h).
HLS_CONFIG  ?= card

.PHONY: hls
hls: ## synthesize the HLS kernel with Vitis HLS and export build/hls/snn_kernel.xo (needs AMD Vitis)
	@if [ -z "$(VITIS_HLS)" ]; then \
	    echo "make hls: vitis_hls (or vivado_hls) is not on PATH." >&2; \
	    echo "  It comes with AMD Vitis (https://www.xilinx.com/products/design-tools/vitis.html)," >&2; \
	    echo "  which is not in Debian. Install Vitis, source <vitis>/settings64.sh and rerun:" >&2; \
	    echo "    make hls HLS_PART=$(HLS_PART) HLS_CLOCK=$(HLS_CLOCK) HLS_CONFIG=$(HLS_CONFIG)" >&2; \
	    echo "  The csim device (the same source under gcc) needs none of it: build/mpbn eval ... --device csim" >&2; \
	    exit 1; \
	fi
	@test -n "$(PIPE_PARAMS_$(HLS_CONFIG))" || { echo "make hls: no configuration '$(HLS_CONFIG)' (PIPE_PARAMS_<config> in mk/sim.mk)" >&2; exit 1; }
	@mkdir -p $(BUILD)/hls
	cd $(BUILD)/hls && HLS_SRC=$(CURDIR) HLS_PART=$(HLS_PART) HLS_CLOCK=$(HLS_CLOCK) \
	    HLS_DEFINES="$(addprefix -DSNN_HLS_,$(PIPE_PARAMS_$(HLS_CONFIG)))" $(VITIS_HLS) -f $(CURDIR)/hls/run_hls.tcl

# ---- tests -------------------------------------------------------------------
# tests/test-csim.c (a unit test, built by the top-level Makefile) runs every
# configuration's build (card, ci) against ref on random networks that fit
# it, and checks the refusal of those that do not. Here:
#
# test-hls-src: the kernel source compiles as Vitis HLS sees it
#   (-D__SYNTHESIS__: no host headers, no cycle model) for every configuration
#   of mk/sim.mk, with clang, warnings as errors.
# test-csim-fixture: the trained Fashion-MNIST models (mk/fold.mk): the
#   channel-wise MPBN model on 500 test images, the element-wise and no-MPBN
#   models on 200, ref vs csim, every spike of every layer and step.

HLS_SRC_CC      ?= $(shell command -v clang 2>/dev/null || echo $(CC))

.PHONY: test-hls-src test-csim-fixture bench-csim
test-hls-src: ## compile hls/snn_kernel.c as synthesis sees it (-D__SYNTHESIS__), every configuration
	@set -e; $(foreach c,$(PIPE_CONFIG_NAMES),\
	    echo "  $(HLS_SRC_CC) -fsyntax-only -D__SYNTHESIS__ (configuration $(c)) hls/snn_kernel.c"; \
	    $(HLS_SRC_CC) -std=gnu11 -fsyntax-only -Wall -Wextra -Wshadow -Werror -Wno-unknown-pragmas \
	        -Wno-unused-label -D__SYNTHESIS__ $(addprefix -DSNN_HLS_,$(PIPE_PARAMS_$(c))) \
	        -Ihls -Iinclude hls/snn_kernel.c;) echo "test-hls-src: ok"

test-csim-fixture: $(MPBN) $(FIXTURE_CHANNEL_SNN) $(FIXTURE_ELEMENT_SNN) $(FIXTURE_NONE_SNN) ## ref vs csim (card) on the trained fixtures (500 + 200 + 200 test images)
	MPBN_PROGRESS=0 $(MPBN) compare $(FIXTURE_CHANNEL_SNN) --devices ref,csim --limit 500
	MPBN_PROGRESS=0 $(MPBN) compare $(FIXTURE_ELEMENT_SNN) --devices ref,csim --limit 200
	MPBN_PROGRESS=0 $(MPBN) compare $(FIXTURE_NONE_SNN) --devices ref,csim --limit 200 --config card --batch 7

bench-csim: $(MPBN) $(FIXTURE_CHANNEL_SNN) ## csim vs ref: accuracy, synops, events, cycle model per stage on 1000 test images
	MPBN_PROGRESS=0 $(MPBN) eval $(FIXTURE_CHANNEL_SNN) --device ref --limit 1000 | tail -n 1
	MPBN_PROGRESS=0 $(MPBN) bench $(FIXTURE_CHANNEL_SNN) --devices csim --limit 1000 | tail -n 1

EXTRA_TESTS   += test-hls-src test-csim-fixture
BENCH_TARGETS += bench-csim
