# mk/sim.mk - the Verilator harness (sim/) and the `sim` device.
#
#   make sim                        build/sim/libsnn-sim-L8.so
#   make sim SIM_LANES="1 4 8 16"   one library per lane count
#   make test-sim-rtl               RTL kernel vs ref on random networks (lanes 1, 8)
#   make test-sim-fixture           mpbn compare ref,sim on the trained fixture (lanes 8, 4)
#   make bench-sim                  cycles, synops and lane utilisation at 1/4/8/16 lanes
#   make sim-trace                  FST waveform of a short run in build/sim/trace.fst
#   make sim-pipe PIPE_CONFIGS=ci   the layer pipeline, build/sim/libsnn-sim-pipe-ci.so
#                                   (`mpbn ... --device sim --config ci`)
#   make test-sim-pipe              the layer pipeline vs ref, the host's fit check, --config
#   TRACE=1 make <any of these>     also write build/sim/trace.fst (FST waveform)
#
# A library is one Verilated model of rtl/snn_kernel.sv (-GLANES=N) plus
# sim/harness.cpp, compiled position-independent and linked -shared,
# exporting only snn_sim_get_api() (sim/snn-sim.map). driver/dev-sim.c
# dlopen()s it, so build/mpbn itself links nothing of Verilator.
# Details: docs/simulation.md.

VERILATOR     ?= verilator
SIM_LANES     ?= 8
SIM_DIR       := $(BUILD)/sim
# C++ optimisation of the generated model (Verilator's default is -Os).
SIM_OPT       ?= -O2
# Waveform support compiled in: opts.waveform / MPBN_SIM_WAVEFORM work without
# a rebuild. SIM_TRACE_FST=0 builds a model without it.
SIM_TRACE_FST ?= 1
TRACE         ?=
# The RTL kernel's compile-time maxima (docs/rtl.md). Passed to Verilator as
# -G parameters AND to the harness as -D, so the library reports exactly the
# limits it was built with and the driver refuses images beyond them.
SIM_RTL_PARAMS ?= MAX_LAYERS=16 MAX_T=16 MAX_CLASSES=64 MAX_PIXELS=4096 MAX_NEURONS=65536 \
                  MAX_TH_NEURONS=131072 MAX_WEIGHT_BYTES=1048576 MAX_CHANNELS=8192 \
                  MAX_SPIKE_WORDS=16384

SIM_HARNESS   := sim/harness.cpp sim/snn-sim.h sim/vl-hooks.h sim/lib.mk sim/snn-sim.map \
                 include/snn-regmap.h mk/sim.mk
SIM_RTL_SRCS   = $(wildcard rtl/*.sv rtl/*.svh rtl/snn.f)
SIM_LIBS       = $(foreach n,$(SIM_LANES),$(SIM_DIR)/libsnn-sim-L$(n).so)
SIM_TEST_LIB  := $(SIM_DIR)/libsnn-sim-test.so

SIM_VFLAGS    := --cc -O3 --x-assign fast --prefix Vsnn_top -Wno-fatal --timescale 1ns/1ps \
                 $(if $(filter 1,$(SIM_TRACE_FST)),--trace-fst --trace-structs)
SIM_CFLAGS    := -fPIC -include $(CURDIR)/sim/vl-hooks.h -I$(CURDIR)/sim -I$(CURDIR)/include
SIM_PARAM_G    = $(foreach p,$(SIM_RTL_PARAMS),-G$(p))
SIM_PARAM_D    = $(foreach p,$(SIM_RTL_PARAMS),-DSNN_SIM_$(p))

.PHONY: sim sim-pipe test-sim-pipe sim-check-verilator test-sim-rtl test-sim-fixture bench-sim sim-clean sim-trace

sim: $(SIM_LIBS) ## build the Verilator model(s) build/sim/libsnn-sim-L<N>.so (SIM_LANES="1 4 8 16")

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
	    -CFLAGS "$(SIM_CFLAGS) $(4)" -LDFLAGS "-lz" $(5) $(CURDIR)/sim/harness.cpp \
	    >$$tmp/verilator.log 2>&1 || { cat $$tmp/verilator.log; exit 1; }; \
	$(MAKE) --no-print-directory -C $$tmp -f $(CURDIR)/sim/lib.mk \
	    OPT_FAST="$(SIM_OPT)" OPT_GLOBAL="$(SIM_OPT)" OPT_SLOW=-O1 \
	    SIM_LIB_OUT=$$abs/lib.so SIM_VERSION_SCRIPT=$(CURDIR)/sim/snn-sim.map \
	    $$abs/lib.so >$$tmp/build.log 2>&1 || { tail -n 40 $$tmp/build.log; exit 1; }; \
	mv -f $$tmp/lib.so $(6); rm -rf $(1); mv $$tmp $(1) 2>/dev/null || rm -rf $$tmp; \
	echo "built $(6)"
endef

$(SIM_DIR)/libsnn-sim-L%.so: $(SIM_RTL_SRCS) $(SIM_HARNESS) | sim-check-verilator
	@case "$*" in 1|2|4|8|16) ;; *) echo "make sim: SIM_LANES=$* is not a lane count of the RTL kernel (1, 2, 4, 8 or 16: LANES of rtl/snn_kernel.sv)" >&2; exit 1;; esac
	@test -f rtl/snn.f || { echo "make sim: rtl/snn.f (the RTL kernel's file list) does not exist yet" >&2; exit 1; }
	$(call sim_build,$(SIM_DIR)/obj-L$*,snn_kernel,-GLANES=$* $(SIM_PARAM_G) -f rtl/snn.f,\
	    -DSNN_SIM_LANES=$* $(SIM_PARAM_D),,$@)

# The harness's own test kernel (same ports and register map, copies words).
$(SIM_TEST_LIB): tests/sim/snn_copy_kernel.sv $(SIM_HARNESS) | sim-check-verilator
	$(call sim_build,$(SIM_DIR)/obj-test,snn_copy_kernel,-GLANES=8,\
	    -DSNN_SIM_LANES=8 -DSNN_SIM_TEST_KERNEL=1,$(CURDIR)/tests/sim/snn_copy_kernel.sv,$@)

# The layer-pipeline kernel (rtl/snn_pipe_kernel.sv, docs/rtl-pipeline.md),
# one library per configuration: `card` is sized for the trained default
# network (engines 2/19/5), `ci` is small and covers the random networks of
# tests/test-pipe.c (T up to 8, odd maps, up to 24 channels, 40-pixel rows).
PIPE_CONFIGS      ?= ci
PIPE_PARAMS_card  := TM=4 C0_CIN=1 C0_COUT=32 C0_H=28 C0_W=28 C0_E=2 C1_COUT=32 C1_H=28 C1_W=28 \
                     C1_E=19 C2_COUT=64 C2_H=14 C2_W=14 C2_E=5 F_HW=49 F_COUT=128 F_FCH=128 O_COUT=64
PIPE_PARAMS_ci    := TM=8 C0_CIN=3 C0_COUT=16 C0_H=16 C0_W=40 C0_E=2 C1_COUT=24 C1_H=16 C1_W=40 \
                     C1_E=3 C2_COUT=24 C2_H=12 C2_W=40 C2_E=2 F_HW=256 F_COUT=40 F_FCH=40 O_COUT=16
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
pipe_c_config      = {"$(1)",{$(subst $(pipe_space),$(pipe_comma),$(strip $(addprefix .,$(PIPE_PARAMS_$(1)))))}}
PIPE_CONFIG_TABLE  = $(subst $(pipe_space),$(pipe_comma),$(foreach c,$(PIPE_CONFIG_NAMES),$(call pipe_c_config,$(c))))
$(BUILD)/obj/host/deploy/pipe-fit.o: CFLAGS += '-DSNN_PIPE_CONFIG_TABLE=$(PIPE_CONFIG_TABLE)'
$(BUILD)/obj/host/deploy/pipe-fit.o: mk/sim.mk

sim-pipe: $(PIPE_LIBS) ## build the layer-pipeline kernel's Verilator model(s) (PIPE_CONFIGS="ci card")

$(SIM_DIR)/libsnn-sim-pipe-%.so: $(SIM_RTL_SRCS) $(SIM_HARNESS) | sim-check-verilator
	@test -n "$(PIPE_PARAMS_$*)" || { echo "make sim-pipe: no configuration '$*' (PIPE_PARAMS_<config> in mk/sim.mk: $(PIPE_CONFIG_NAMES))" >&2; exit 1; }
	$(call sim_build,$(SIM_DIR)/obj-pipe-$*,snn_pipe_kernel,$(foreach p,$(PIPE_PARAMS_$*),-G$(p)) -f rtl/snn_pipe.f,\
	    -DSNN_SIM_LANES=0 -DSNN_SIM_PIPE_CONFIG=$* $(foreach p,$(PIPE_PARAMS_$*),-DSNN_SIM_PIPE_$(p)),,$@)

# Then tests/cli-sim.sh again: its --config runs need the ci library, which
# `make test-cli` does not build (there they are skipped, like the lanes runs).
test-sim-pipe: $(BUILD)/tests/test-pipe $(MPBN) $(TOOLS) ## layer-pipeline RTL kernel vs ref on random networks, back-pressure on; the host's fit check against it; `sim --config ci` from the CLI
	@$(MAKE) --no-print-directory sim-pipe PIPE_CONFIGS=ci
	$(SIM_ENV) MPBN_SIM_TESTS=pipe MPBN_PIPE_CONFIG=ci $(BUILD)/tests/test-pipe
	$(SIM_ENV) MPBN=$(MPBN) bash tests/cli-sim.sh

# tests/test-sim.c: the harness self-tests (test kernel) run in `make test-unit`;
# the RTL groups only when MPBN_SIM_TESTS asks for them (test-sim-rtl below).
$(BUILD)/tests/test-sim: $(SIM_TEST_LIB)

SIM_ENV = MPBN_SIM_DIR=$(abspath $(SIM_DIR)) $(if $(TRACE),MPBN_SIM_WAVEFORM=$(abspath $(SIM_DIR))/trace.fst)

test-sim-rtl: $(BUILD)/tests/test-sim ## RTL kernel vs ref on random networks, lanes 1 and 8, back-pressure on
	@$(MAKE) --no-print-directory sim SIM_LANES="1 8"
	$(SIM_ENV) MPBN_SIM_TESTS=rtl $(BUILD)/tests/test-sim

SIM_FIXTURE      ?= $(FIXTURE_CHANNEL_SNN)
SIM_FIXTURE_BP   ?= 20
# Images per lane count. The trained default network costs ~17.6M synaptic
# operations per image, i.e. ~2.4M kernel cycles at 8 lanes, and Verilator
# runs this kernel at ~1.2M cycles/s: 200 images at 8 lanes are ~7 CPU
# minutes; at 16 lanes the model is twice as wide but needs half the cycles,
# so about the same. Both run at once (one per core), so the suite takes
# ~7-9 minutes of wall time on two idle cores.
SIM_FIXTURE_RUNS ?= 8:200 16:200

test-sim-fixture: $(MPBN) $(SIM_FIXTURE) ## mpbn compare ref,sim on the trained fixture, 20% back-pressure: 200 images at 8 and at 16 lanes (in parallel)
	@$(MAKE) --no-print-directory sim SIM_LANES="$(foreach r,$(SIM_FIXTURE_RUNS),$(firstword $(subst :, ,$(r))))"
	@pids=(); logs=(); \
	for r in $(SIM_FIXTURE_RUNS); do \
	    l=$${r%%:*}; n=$${r##*:}; log=$(SIM_DIR)/fixture-L$$l.log; logs+=("$$log"); \
	    echo "== compare ref,sim: $(SIM_FIXTURE), $$n images, $$l lanes, back-pressure $(SIM_FIXTURE_BP)% (log $$log)"; \
	    $(SIM_ENV) MPBN_PROGRESS=0 $(MPBN) compare $(SIM_FIXTURE) --devices ref,sim --limit $$n \
	        --lanes $$l --backpressure $(SIM_FIXTURE_BP) >$$log 2>&1 & pids+=($$!); \
	done; \
	fail=0; for i in $${!pids[@]}; do \
	    if wait $${pids[$$i]}; then tail -n 2 $${logs[$$i]} | head -n 1; \
	    else echo "FAILED: $${logs[$$i]}"; tail -n 6 $${logs[$$i]}; fail=1; fi; \
	done; exit $$fail

SIM_BENCH_LANES ?= 1 4 8 16
# Test images per lane count (0 = the whole test set: at ~2.4M cycles per
# image at 8 lanes and ~1.2M simulated cycles/s, days of CPU time).
SIM_BENCH_LIMIT ?= 100

bench-sim: $(MPBN) $(SIM_FIXTURE) ## RTL kernel on the Fashion-MNIST test set at 1/4/8/16 lanes: cycles, synops, utilisation
	@$(MAKE) --no-print-directory sim SIM_LANES="$(SIM_BENCH_LANES)"
	$(SIM_ENV) bash scripts/bench-sim.sh $(MPBN) $(SIM_FIXTURE) "$(SIM_BENCH_LANES)" $(SIM_BENCH_LIMIT) $(SIM_DIR)

sim-trace: $(MPBN) ## waveform of a short run (random network, 2 images, 8 lanes) in build/sim/trace.fst
	@$(MAKE) --no-print-directory sim SIM_LANES=8
	MPBN_SIM_DIR=$(abspath $(SIM_DIR)) MPBN_SIM_WAVEFORM=$(abspath $(SIM_DIR))/trace.fst \
	    $(MPBN) compare --random-net c4,p,c8,f16 --shape 1x12x12 --T 2 --random 2 --devices ref,sim
	@echo "waveform: $(SIM_DIR)/trace.fst (gtkwave $(SIM_DIR)/trace.fst)"

sim-clean: ## remove the Verilator builds (build/sim)
	rm -rf $(SIM_DIR)

EXTRA_TESTS   += test-sim-rtl test-sim-fixture test-sim-pipe
BENCH_TARGETS += bench-sim
