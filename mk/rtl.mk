# rtl.mk - the RTL kernel (rtl/snn_kernel.sv, the layer pipeline): lint,
# synthesis, module-level testbenches.
#
#   make lint                 verilator --lint-only -Wall on rtl/snn.f at every
#                             configuration of mk/sim.mk (waivers: lint/snn.vlt)
#   make synth-pipe           Yosys resources of one layer pipeline, block by block:
#                             build/synth/pipe-card.txt (SYNTH_PIPE_CONFIG=card)
#   make test-rtl-modules     self-checking testbenches of tests/rtl/ (part of test-extra)
#
# Details: docs/rtl.md.

RTL_VERILATOR ?= verilator
RTL_YOSYS     ?= yosys
RTL_F         := rtl/snn.f
RTL_SRCS       = $(shell cat $(RTL_F) 2>/dev/null)
RTL_LINT_CONFIGS ?= $(PIPE_CONFIG_NAMES)
RTL_TB_DIR    := $(BUILD)/rtl-tests

.PHONY: lint synth-pipe test-rtl-modules rtl-check-verilator rtl-check-yosys

rtl-check-verilator:
	@command -v $(RTL_VERILATOR) >/dev/null || { \
	    echo "rtl: '$(RTL_VERILATOR)' not found; install Debian's verilator package (make deps)" >&2; exit 1; }

rtl-check-yosys:
	@command -v $(RTL_YOSYS) >/dev/null || { \
	    echo "rtl: '$(RTL_YOSYS)' not found; install Debian's yosys package (make deps)" >&2; exit 1; }

lint: rtl-check-verilator ## lint the RTL kernel (verilator -Wall) at every configuration of mk/sim.mk
	@$(foreach c,$(RTL_LINT_CONFIGS),\
	    echo "== verilator --lint-only -Wall (configuration $(c)) -f $(RTL_F) lint/snn.vlt" && \
	    $(RTL_VERILATOR) --lint-only -Wall $(addprefix -G,$(PIPE_PARAMS_$(c))) -f $(RTL_F) lint/snn.vlt \
	        --top-module snn_kernel &&) echo "lint: clean"

# ---- module-level testbenches -------------------------------------------------
# Each tests/rtl/tb_<name>.sv is a self-checking SystemVerilog testbench built
# with `verilator --binary --timing`; it exits non-zero on the first failed
# check summary (or a timeout). The modules each one needs:
RTL_TBS := tb_ctrl tb_spike_queue
RTL_TB_MODS_tb_ctrl        := rtl/snn_ctrl.sv
RTL_TB_MODS_tb_spike_queue := rtl/snn_fifo.sv
RTL_TBS += tb_fc_stage
RTL_TB_MODS_tb_fc_stage    := rtl/snn_ram.sv rtl/snn_fc_stage.sv
RTL_TBS += tb_lif_unit tb_spike_map
RTL_TB_MODS_tb_lif_unit    := rtl/snn_lif_unit.sv
RTL_TB_MODS_tb_spike_map   := rtl/snn_ram.sv rtl/snn_spike_map.sv tests/rtl/snn_map_writer.sv
RTL_TBS += tb_conv_engine
RTL_TB_MODS_tb_conv_engine := rtl/snn_dsp_acc2.sv rtl/snn_conv_engine.sv
RTL_TBS += tb_conv_stage
RTL_TB_MODS_tb_conv_stage  := rtl/snn_fifo.sv rtl/snn_ram.sv rtl/snn_ram_tdp.sv rtl/snn_dsp_acc2.sv rtl/snn_conv_engine.sv rtl/snn_lif_unit.sv rtl/snn_lif_serial.sv \
                              rtl/snn_spike_map.sv rtl/snn_conv_stage.sv
# The modules a testbench compiles are prerequisites too.
$(foreach t,$(RTL_TBS),$(eval $(RTL_TB_DIR)/$(t): $(RTL_TB_MODS_$(t))))
# The pipeline's testbenches check the RTL's assertions (`assert property`,
# the SNN_ASSERT blocks).
RTL_TB_ASSERT := tb_fc_stage tb_lif_unit tb_spike_map tb_conv_engine tb_conv_stage
RTL_TB_VFLAGS  = $(if $(filter $*,$(RTL_TB_ASSERT)),--assert +define+SNN_ASSERT)

$(RTL_TB_DIR)/%: tests/rtl/%.sv $(RTL_SRCS) mk/rtl.mk | rtl-check-verilator
	@rm -rf $(RTL_TB_DIR)/obj-$* && mkdir -p $(RTL_TB_DIR)/obj-$*
	@echo "verilator --binary --timing $(RTL_TB_VFLAGS) $(RTL_TB_MODS_$*) tests/rtl/$*.sv"
	@$(RTL_VERILATOR) --binary --timing --timescale 1ns/1ps -Wno-fatal $(RTL_TB_VFLAGS) -Mdir $(RTL_TB_DIR)/obj-$* \
	    --top-module $* -o $* $(RTL_TB_MODS_$*) tests/rtl/$*.sv \
	    >$(RTL_TB_DIR)/obj-$*/build.log 2>&1 || { tail -n 30 $(RTL_TB_DIR)/obj-$*/build.log; exit 1; }
	@cp $(RTL_TB_DIR)/obj-$*/$* $@

test-rtl-modules: $(addprefix $(RTL_TB_DIR)/,$(RTL_TBS)) ## run the RTL module testbenches (AXI-Lite slave, FIFO, engines, LIF unit, spike map, conv and fc stages)
	@fail=0; for t in $(RTL_TBS); do \
	    if $(RTL_TB_DIR)/$$t >$(RTL_TB_DIR)/$$t.log 2>&1; then grep -h PASS $(RTL_TB_DIR)/$$t.log; \
	    else tail -n 20 $(RTL_TB_DIR)/$$t.log; echo "$$t: FAILED"; fail=1; fi; \
	done; exit $$fail

EXTRA_TESTS += test-rtl-modules
# verilator -Wall on the kernel at every configuration: warnings fail it
EXTRA_TESTS += lint

# ---- synthesis of the layer pipeline -------------------------------------------------
# One pipeline of rtl/snn_kernel.sv at a configuration of mk/sim.mk
# (PIPE_PARAMS_<config>), block by block (scripts/synth-pipe.sh): each block
# alone at the parameters the kernel gives it, summed with its instance
# counts, and the pipelines that fit a card (scripts/synth-pipe-table.py).
# The conv stages keep their hierarchy (one engine derivation for all E).
# A measurement of about an hour, not part of `make test`.
# SYNTH_PIPE_BLOCKS="stage1 map1" re-runs some blocks; the slow ones run only
# when named there (fc and out at full size, "whole": the flattened
# kernel); SYNTH_PIPE_TIMEOUT (90m) and SYNTH_PIPE_MEM_GB (16) per block.
SYNTH_PIPE_CONFIG ?= card
SYNTH_DIR         := $(BUILD)/synth

synth-pipe: rtl-check-yosys ## Yosys resources of one layer pipeline, block by block, and pipelines per card: build/synth/pipe-card.txt
	@test -n "$(PIPE_PARAMS_$(SYNTH_PIPE_CONFIG))" || { \
	    echo "make synth-pipe: no configuration '$(SYNTH_PIPE_CONFIG)' (PIPE_PARAMS_<config> in mk/sim.mk)" >&2; exit 1; }
	@rc=0; bash scripts/synth-pipe.sh $(SYNTH_DIR)/pipe-$(SYNTH_PIPE_CONFIG) $(PIPE_PARAMS_$(SYNTH_PIPE_CONFIG)) || rc=$$?; \
	python3 scripts/synth-pipe-table.py $(SYNTH_DIR)/pipe-$(SYNTH_PIPE_CONFIG) $(SYNTH_PIPE_CONFIG) \
	    > $(SYNTH_DIR)/pipe-$(SYNTH_PIPE_CONFIG).txt || rc=1; \
	cat $(SYNTH_DIR)/pipe-$(SYNTH_PIPE_CONFIG).txt; exit $$rc
