# mk/sim.mk - the Verilator harness (sim/) and the `sim` device: the
# layer-pipeline RTL kernel (rtl/snn_kernel.sv), one library per
# configuration.
#
#   make sim                        build/sim/libsnn-sim-pipe-<config>.so for PIPE_CONFIGS
#                                   (default: card, the configuration `mpbn --device sim` runs)
#   make sim-pipe PIPE_CONFIGS=ci   the same, configuration ci (`mpbn ... --device sim --config ci`)
#   make test-sim-pipe              the kernel vs ref on random networks (every spike), the
#                                   host's fit check, the sim device from the CLI (config ci)
#   make test-sim-fixture           mpbn compare ref,sim on the trained fixture (config card)
#   make bench-sim                  cycles per image, images/s per pipeline, sim speed (card)
#   make sim-trace                  FST waveform of a short run in build/sim/trace.fst
#   TRACE=1 make <any of these>     also write build/sim/trace.fst (FST waveform)
#
# A library is one Verilated model of rtl/snn_kernel.sv (-G parameters
# of its configuration) plus the harness (SIM_HARNESS_SRCS, sim/harness*.cpp),
# compiled position-independent and linked -shared, exporting only
# snn_sim_get_api() (sim/snn-sim.map).
# driver/dev-sim.c dlopen()s it, so build/mpbn itself links nothing of
# Verilator. Details: docs/simulation.md.

VERILATOR     ?= verilator
SIM_DIR       := $(BUILD)/sim
# C++ optimisation of the generated model (Verilator's default is -Os).
# Measured on the card model: -O1 compiles in 6.2 minutes of CPU instead of
# 9.4 but simulates 2.7x slower (0.48 against 1.29 images/s).
# Where the model's time goes (perf on `mpbn bench --devices sim`: the RTL's
# per-cycle logic, not the harness, which is under 0.3%) and what made it
# faster: docs/rtl-pipeline.md, "Verilator speed". Verilator evaluates every
# always_comb and every register without an enable in every cycle.
SIM_OPT       ?= -O2
# Waveform support compiled in: opts.waveform / MPBN_SIM_WAVEFORM work without
# a rebuild. SIM_TRACE_FST=0 builds a model without it.
SIM_TRACE_FST ?= 1
TRACE         ?=
# The harness: its C API and clock, the AXI memory model, the AXI-Lite master
# (compiled into every library), and what they depend on.
SIM_HARNESS_SRCS := sim/harness.cpp sim/harness-mem.cpp sim/harness-axil.cpp
SIM_HARNESS   := $(SIM_HARNESS_SRCS) sim/harness-internal.h sim/snn-sim.h sim/vl-hooks.h \
                 sim/lib.mk sim/snn-sim.map include/snn-common.h include/snn-regmap.h mk/sim.mk
SIM_RTL_SRCS   = $(wildcard rtl/*.sv rtl/*.svh rtl/snn.f)
SIM_TEST_LIB  := $(SIM_DIR)/libsnn-sim-test.so

SIM_VFLAGS    := --cc -O3 --x-assign fast --prefix Vsnn_top -Wno-fatal --timescale 1ns/1ps \
                 $(if $(filter 1,$(SIM_TRACE_FST)),--trace-fst --trace-structs)
SIM_CFLAGS    := -fPIC -include $(CURDIR)/sim/vl-hooks.h -I$(CURDIR)/sim -I$(CURDIR)/include

.PHONY: sim sim-pipe test-sim-pipe test-sim-pipe-card sim-check-verilator test-sim-fixture bench-sim sim-clean sim-trace

sim: sim-pipe ## build the Verilator model(s) build/sim/libsnn-sim-pipe-<config>.so (PIPE_CONFIGS="card ci")

sim-check-verilator:
	@command -v $(VERILATOR) >/dev/null || { \
	    echo "make sim: '$(VERILATOR)' not found; install Debian's verilator package (make deps)" >&2; exit 1; }

# $(call sim_build,objdir,top,extra verilator args,extra cflags,sources,lib)
# One shell: the model is built in a private directory (objdir.<pid>) and the
# library renamed into place, so two builds running at once cannot clobber
# each other; the last one leaves its directory as objdir for inspection.
define sim_build
	@set -e; tmp=$(1).$$$$; rm -rf $$tmp; mkdir -p $$tmp; abs=$$(cd $$tmp && pwd); \
	echo "verilator: $(2) $(3) -> $(6)"; \
	$(VERILATOR) $(SIM_VFLAGS) -Mdir $$tmp --top-module $(2) $(3) \
	    -CFLAGS "$(SIM_CFLAGS) $(4)" -LDFLAGS "-lz" $(5) $(addprefix $(CURDIR)/,$(SIM_HARNESS_SRCS)) \
	    >$$tmp/verilator.log 2>&1 || { cat $$tmp/verilator.log; exit 1; }; \
	$(MAKE) --no-print-directory -C $$tmp -f $(CURDIR)/sim/lib.mk \
	    OPT_FAST="$(SIM_OPT)" OPT_GLOBAL="$(SIM_OPT)" OPT_SLOW=-O1 \
	    SIM_LIB_OUT=$$abs/lib.so SIM_VERSION_SCRIPT=$(CURDIR)/sim/snn-sim.map \
	    $$abs/lib.so >$$tmp/build.log 2>&1 || { tail -n 40 $$tmp/build.log; exit 1; }; \
	mv -f $$tmp/lib.so $(6); rm -rf $(1); mv $$tmp $(1) 2>/dev/null || rm -rf $$tmp; \
	echo "built $(6)"
endef

# The harness's own test kernel (same ports and register map, copies words).
$(SIM_TEST_LIB): tests/sim/snn_copy_kernel.sv $(SIM_HARNESS) | sim-check-verilator
	$(call sim_build,$(SIM_DIR)/obj-test,snn_copy_kernel,-GLANES=8,\
	    -DSNN_SIM_LANES=8 -DSNN_SIM_TEST_KERNEL=1,$(CURDIR)/tests/sim/snn_copy_kernel.sv,$@)

# The layer-pipeline kernel (rtl/snn_kernel.sv, docs/rtl-pipeline.md),
# one library per configuration: `card` is sized for the trained default
# network (engines 2/27/7), `ci` is small and covers the random networks of
# tests/test-pipe.c (T up to 8, odd maps, up to 24 channels, 40-pixel rows).
PIPE_CONFIGS      ?= card
PIPE_PARAMS_card  := TM=4 C0_CIN=1 C0_COUT=32 C0_H=28 C0_W=28 C0_E=2 C1_COUT=32 C1_H=28 C1_W=28 \
                     C1_E=27 C2_COUT=64 C2_H=14 C2_W=14 C2_E=7 F_HW=49 F_COUT=128 F_FCH=128 O_COUT=32
# `u280` is the card configuration before the U250 sizing (engines 2/19/5):
# an SLR of a U280, U55C or U50 has 2,976-3,008 DSP slices, too few for
# 2/27/7 within the 90% budget, and fits this one (mk/xclbin.mk picks it
# for those platforms).
PIPE_PARAMS_u280  := TM=4 C0_CIN=1 C0_COUT=32 C0_H=28 C0_W=28 C0_E=2 C1_COUT=32 C1_H=28 C1_W=28 \
                     C1_E=19 C2_COUT=64 C2_H=14 C2_W=14 C2_E=5 F_HW=49 F_COUT=128 F_FCH=128 O_COUT=64
PIPE_PARAMS_ci    := TM=8 C0_CIN=3 C0_COUT=16 C0_H=16 C0_W=40 C0_E=2 C1_COUT=24 C1_H=16 C1_W=40 \
                     C1_E=3 C2_COUT=24 C2_H=12 C2_W=40 C2_E=2 F_HW=256 F_COUT=40 F_FCH=40 O_COUT=16
# Pipelines of a configuration on a U250, one per SLR (constraints/u250.cfg),
# each below 70% of its SLR's LUTs and DSP slices by `make synth-pipe`
# (docs/rtl-pipeline.md, "Resources per pipeline"): bench reports them and
# projected_images_per_s_card.
PIPE_CARD_card    := 4
PIPE_LIBS          = $(foreach c,$(PIPE_CONFIGS),$(SIM_DIR)/libsnn-sim-pipe-$(c).so)
# Every configuration (each PIPE_PARAMS_<config> above), passed on twice:
#  - to each library's harness as -DSNN_SIM_PIPE_<param>=<value> and
#    -DSNN_SIM_PIPE_CONFIG=<config>, so the library reports what it was built
#    with (sim/snn-sim.h, info.pipe; a name is stringified there, so it must be
#    a C identifier that is not a macro);
#  - to host/deploy/pipe-fit.c as C initialisers (SNN_PIPE_CONFIG_TABLE,
#    include/snn-pipe.h): the names `--config` accepts and their maxima, for
#    the fit check before ap_start.
PIPE_CONFIG_NAMES := $(sort $(patsubst PIPE_PARAMS_%,%,$(filter PIPE_PARAMS_%,$(.VARIABLES))))
pipe_comma        := ,
pipe_space        := $(subst ,, )
pipe_c_config      = {"$(1)",{$(subst $(pipe_space),$(pipe_comma),$(strip $(addprefix .,$(PIPE_PARAMS_$(1)))))},$(or $(PIPE_CARD_$(1)),0)}
PIPE_CONFIG_TABLE  = $(subst $(pipe_space),$(pipe_comma),$(foreach c,$(PIPE_CONFIG_NAMES),$(call pipe_c_config,$(c))))
$(BUILD)/obj/host/deploy/pipe-fit.o: CFLAGS += '-DSNN_PIPE_CONFIG_TABLE=$(PIPE_CONFIG_TABLE)'
$(BUILD)/obj/host/deploy/pipe-fit.o: mk/sim.mk

sim-pipe: $(PIPE_LIBS) ## build the layer-pipeline kernel's Verilator model(s) (PIPE_CONFIGS="ci card")

$(SIM_DIR)/libsnn-sim-pipe-%.so: $(SIM_RTL_SRCS) $(SIM_HARNESS) | sim-check-verilator
	@test -n "$(PIPE_PARAMS_$*)" || { echo "make sim-pipe: no configuration '$*' (PIPE_PARAMS_<config> in mk/sim.mk: $(PIPE_CONFIG_NAMES))" >&2; exit 1; }
	$(call sim_build,$(SIM_DIR)/obj-pipe-$*,snn_kernel,$(foreach p,$(PIPE_PARAMS_$*),-G$(p)) -f rtl/snn.f,\
	    -DSNN_SIM_LANES=0 -DSNN_SIM_PIPE_CONFIG=$* $(foreach p,$(PIPE_PARAMS_$*),-DSNN_SIM_PIPE_$(p)),,$@)

# Then tests/cli-sim.sh again: its runs need the ci library, which
# `make test-cli` does not build (there they are skipped).
test-sim-pipe: $(BUILD)/tests/test-pipe $(MPBN) $(TOOLS) ## layer-pipeline RTL kernel vs ref on random networks, back-pressure on; the host's fit check against it; `sim --config ci` from the CLI
	@$(MAKE) --no-print-directory sim-pipe PIPE_CONFIGS=ci
	$(SIM_ENV) MPBN_SIM_TESTS=pipe MPBN_PIPE_CONFIG=ci $(BUILD)/tests/test-pipe
	$(SIM_ENV) MPBN=$(MPBN) bash tests/cli-sim.sh

# The same suite on the card configuration's model: random networks shaped
# for it (tests/test-pipe.c, cases_card: one-channel images, T <= 4, up to
# every stage's channel maximum, a full 28x28 map, fewer pixels than
# engines). Not in `make test`: the card model takes about 10 CPU-minutes to
# compile and simulates some 20 times slower than `ci`; run it when the RTL
# changes (docs/rtl-pipeline.md has the last result).
test-sim-pipe-card: $(BUILD)/tests/test-pipe ## the random-network suite of test-sim-pipe on the card configuration's model
	@$(MAKE) --no-print-directory sim-pipe PIPE_CONFIGS=card
	$(SIM_ENV) MPBN_SIM_TESTS=pipe MPBN_PIPE_CONFIG=card $(BUILD)/tests/test-pipe

# tests/test-sim.c: the harness self-tests (test kernel) run in `make test-unit`.
$(BUILD)/tests/test-sim: $(SIM_TEST_LIB)

SIM_ENV = MPBN_SIM_DIR=$(abspath $(SIM_DIR)) $(if $(TRACE),MPBN_SIM_WAVEFORM=$(abspath $(SIM_DIR))/trace.fst)

test-sim-rtl: $(BUILD)/tests/test-sim ## RTL kernel vs ref on random networks, lanes 1 and 8, back-pressure on
	@$(MAKE) --no-print-directory sim SIM_LANES="1 8"
	$(SIM_ENV) MPBN_SIM_TESTS=rtl $(BUILD)/tests/test-sim

SIM_FIXTURE      ?= $(FIXTURE_CHANNEL_SNN)
SIM_FIXTURE_BP   ?= 20
# The card configuration runs the trained default network (the fixture has
# its shape). Verilator simulates it at about 3.6 images/s untraced on one
# core (snn-pipe-bench --config card, 1,000 images); a traced image (every
# spike, `compare`'s default) costs about 670,000 cycles, some 220 untraced
# ones (the trace streams one bit per cycle). So: records of
# SIM_FIXTURE_IMAGES images (sums, prediction, spikes/synops/events of every
# layer, word for word; `compare --no-trace`) and every spike of
# SIM_FIXTURE_TRACED images, the two at once (one per core), about a minute
# each once the model is built.
SIM_FIXTURE_IMAGES ?= 200
SIM_FIXTURE_TRACED ?= 1

test-sim-fixture: $(MPBN) $(SIM_FIXTURE) ## mpbn compare ref,sim (config card) on the trained fixture, 20% back-pressure: records of 200 images, every spike of 1
	@$(MAKE) --no-print-directory sim-pipe PIPE_CONFIGS=card
	@pids=(); logs=(); \
	for r in "records:$(SIM_FIXTURE_IMAGES):--no-trace" "trace:$(SIM_FIXTURE_TRACED):"; do \
	    IFS=: read -r what n opt <<<"$$r"; log=$(SIM_DIR)/fixture-$$what.log; logs+=("$$log"); \
	    echo "== compare ref,sim --config card: $(SIM_FIXTURE), $$n images, $$what, back-pressure $(SIM_FIXTURE_BP)% (log $$log)"; \
	    $(SIM_ENV) MPBN_PROGRESS=0 $(MPBN) compare $(SIM_FIXTURE) --devices ref,sim --config card \
	        --limit $$n $$opt --backpressure $(SIM_FIXTURE_BP) >$$log 2>&1 & pids+=($$!); \
	done; \
	fail=0; for i in $${!pids[@]}; do \
	    if wait $${pids[$$i]}; then tail -n 2 $${logs[$$i]} | head -n 1; \
	    else echo "FAILED: $${logs[$$i]}"; tail -n 6 $${logs[$$i]}; fail=1; fi; \
	done; exit $$fail

# The trained network when there is one (make demo), else the fixture.
SIM_BENCH_MODEL  ?= $(SIM_FIXTURE)
SIM_BENCH_IMAGES ?= 130
SIM_BENCH_CONFIG ?= card

bench-sim: $(SIM_BENCH_MODEL) $(BUILD)/tools/snn-pipe-bench ## layer-pipeline kernel (config card) on test images: interval, images/s per pipeline, latency, load, sim speed
	@$(MAKE) --no-print-directory sim-pipe PIPE_CONFIGS=$(SIM_BENCH_CONFIG)
	$(SIM_ENV) $(BUILD)/tools/snn-pipe-bench $(SIM_BENCH_MODEL) --config $(SIM_BENCH_CONFIG) \
	    --images $(SIM_BENCH_IMAGES)

sim-trace: $(MPBN) ## waveform of a short run (random network, 2 images, config ci) in build/sim/trace.fst
	@$(MAKE) --no-print-directory sim-pipe PIPE_CONFIGS=ci
	MPBN_SIM_DIR=$(abspath $(SIM_DIR)) MPBN_SIM_WAVEFORM=$(abspath $(SIM_DIR))/trace.fst \
	    $(MPBN) compare --random-net c4,p,c8,f16 --shape 1x12x12 --T 2 --random 2 --devices ref,sim --config ci
	@echo "waveform: $(SIM_DIR)/trace.fst (gtkwave $(SIM_DIR)/trace.fst)"

sim-clean: ## remove the Verilator builds (build/sim)
	rm -rf $(SIM_DIR)

EXTRA_TESTS   += test-sim-pipe test-sim-fixture
BENCH_TARGETS += bench-sim
