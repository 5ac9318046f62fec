# rtl.mk - the RTL kernel (rtl/): lint, synthesis, module-level testbenches.
#
#   make lint                 verilator --lint-only -Wall on rtl/snn.f (waivers: lint/snn.vlt)
#   make synth                Yosys synth_xilinx (UltraScale+) per lane count:
#                             build/synth/report-L<N>.txt and build/synth/summary.txt
#                             (SYNTH_LANES="1 4 8 16", SYNTH_PARAMS: maxima for synthesis)
#   make test-rtl-modules     self-checking testbenches of tests/rtl/ (part of test-extra)
#
# Details: docs/rtl.md.

RTL_VERILATOR ?= verilator
RTL_YOSYS     ?= yosys
RTL_F         := rtl/snn.f
RTL_SRCS       = $(shell cat $(RTL_F) 2>/dev/null)
RTL_LINT_LANES ?= 1 2 4 8 16
RTL_TB_DIR    := $(BUILD)/rtl-tests

.PHONY: lint synth test-rtl-modules rtl-check-verilator rtl-check-yosys

rtl-check-verilator:
	@command -v $(RTL_VERILATOR) >/dev/null || { \
	    echo "rtl: '$(RTL_VERILATOR)' not found; install Debian's verilator package (make deps)" >&2; exit 1; }

rtl-check-yosys:
	@command -v $(RTL_YOSYS) >/dev/null || { \
	    echo "rtl: '$(RTL_YOSYS)' not found; install Debian's yosys package (make deps)" >&2; exit 1; }

lint: rtl-check-verilator ## lint the RTL kernel (verilator -Wall) at every lane count
	@for l in $(RTL_LINT_LANES); do \
	    echo "== verilator --lint-only -Wall -GLANES=$$l -f $(RTL_F) lint/snn.vlt"; \
	    $(RTL_VERILATOR) --lint-only -Wall -GLANES=$$l -f $(RTL_F) lint/snn.vlt --top-module snn_kernel || exit 1; \
	done
	@echo "lint: clean"
