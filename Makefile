# mpbn: train SNNs with Membrane Potential Batch Normalization on the CPU,
# fold MPBN into per-neuron thresholds, run the folded network bit-exactly on
# the golden model, the HLS kernel (csim), the RTL kernel (Verilator) or an
# Alveo card (XRT).
#
# Everything is built under build/. Area-specific rules live in mk/*.mk and
# append to the shared variables below (LIB_SRCS, TESTS, BENCH_TARGETS, ...).

SHELL      := /bin/bash
BUILD      ?= build
CC         ?= gcc
CXX        ?= g++
# Our own hot loops (LIF, BN, im2col) are vectorised for this machine; OpenBLAS
# dispatches its own kernels at run time. Override with ARCHFLAGS= for a
# portable binary.
ARCHFLAGS  ?= -march=native
OPT        ?= -O3
WERROR     ?=
CFLAGS     += -std=gnu11 $(OPT) -g $(ARCHFLAGS) -Wall -Wextra -Wshadow -Wno-unused-parameter \
              -fno-strict-aliasing $(if $(WERROR),-Werror) -MMD -MP \
              -Iinclude -Ihost -I. -D_GNU_SOURCE
CXXFLAGS   += -std=gnu++17 $(OPT) -g -Wall -Wextra -MMD -MP -Iinclude -Ihost -I.
LDLIBS     += -lopenblas -lz -lm -ldl -lpthread

# One source list per component (host/<stage>/, driver/, hls/). Every build
# (library, CLI, tests, tools, ASan, fuzzers, the XRT stand-in) composes these
# lists; none keeps its own list of files.
COMMON_SRCS := $(wildcard host/common/*.c)
IO_SRCS     := $(wildcard host/io/*.c)
TRAIN_SRCS  := $(wildcard host/train/*.c)
FOLD_SRCS   := $(wildcard host/fold/*.c)
DEPLOY_SRCS := $(wildcard host/deploy/*.c)
CLI_SRCS    := $(wildcard host/cli/*.c)
DRIVER_SRCS := $(wildcard driver/*.c)
HLS_SRCS    := $(wildcard hls/*.c)
CLI_MAIN    := host/cli/main.c
# Library sources: every component but the CLI entry point.
LIB_SRCS    := $(COMMON_SRCS) $(IO_SRCS) $(TRAIN_SRCS) $(FOLD_SRCS) $(DEPLOY_SRCS) \
               $(filter-out $(CLI_MAIN),$(CLI_SRCS)) $(DRIVER_SRCS) $(HLS_SRCS)

# Used by several mk/*.mk fragments: defined once, here.
FIXTURE_DIR         := $(BUILD)/fixtures
FIXTURE_CHANNEL     := $(FIXTURE_DIR)/fmnist-channel.safetensors
FIXTURE_ELEMENT     := $(FIXTURE_DIR)/fmnist-element.safetensors
FIXTURE_NONE        := $(FIXTURE_DIR)/fmnist-none.safetensors
FIXTURE_CHANNEL_SNN := $(FIXTURE_CHANNEL:.safetensors=.snn)
FIXTURE_ELEMENT_SNN := $(FIXTURE_ELEMENT:.safetensors=.snn)
FIXTURE_NONE_SNN    := $(FIXTURE_NONE:.safetensors=.snn)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
LIB_OBJS    = $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB         = $(BUILD)/libsnn.a
MPBN        = $(BUILD)/mpbn

# Unit tests: every tests/test-*.c is one cmocka binary linked against the library.
TEST_SRCS  := $(wildcard tests/test-*.c)
TESTS       = $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# Shell-level tests (CLI contract, bad input): every tests/cli-*.sh.
CLI_TESTS  := $(wildcard tests/cli-*.sh)

.DEFAULT_GOAL := all
# Area fragments (mk/*.mk) append suites to EXTRA_TESTS (cross-backend,
# Verilator, fuzz smoke) and figure-printing targets to BENCH_TARGETS.
EXTRA_TESTS   :=
BENCH_TARGETS :=

.PHONY: all help test test-unit test-cli test-extra bench clean demo deps

all: $(MPBN) ## build build/mpbn (the CLI) and the library

help: ## list the targets
	@echo "mpbn build targets:"
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort -u | \
	    awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'
	@echo "variables: ARCHFLAGS=$(ARCHFLAGS) OPT=$(OPT) WERROR=1 (warnings are errors) MPI=0 (no MPI; found: $(if $(HAVE_MPI),yes,no))"

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(MPBN): $(BUILD)/obj/host/cli/main.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB) -lcmocka $(LDLIBS)

test-unit: $(TESTS) ## build and run the cmocka unit tests
	@fail=0; for t in $(TESTS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

test-cli: $(MPBN) ## run the command-line contract and bad-input tests
	@fail=0; for t in $(CLI_TESTS); do echo "== $$t"; MPBN=$(MPBN) bash $$t || fail=1; done; exit $$fail

test-extra: $(MPBN) ## run the suites registered by mk/*.mk (cross-backend, RTL, fuzz smoke)
	@$(MAKE) --no-print-directory $(EXTRA_TESTS) _extra_done

.PHONY: list-extra _extra_done
list-extra:
	@echo $(EXTRA_TESTS)

_extra_done:
	@echo "extra suites done: $(EXTRA_TESTS)"

bench: $(MPBN) ## run every benchmark (prints figures; never part of make test)
	@$(MAKE) --no-print-directory $(BENCH_TARGETS) _bench_done

.PHONY: _bench_done
_bench_done:
	@echo "benchmarks done: $(BENCH_TARGETS)"

# `make test` is the README's test command: every test, one pass/fail summary.
test: ## build everything and run every test (unit, CLI, cross-backend)
	@bash scripts/run-tests.sh

demo: $(MPBN) ## train the default network on Fashion-MNIST, fold, evaluate on every backend (QUICK=1: a few minutes, on a subset)
	@bash scripts/demo.sh

deps: ## install the Debian packages this project needs (as root), or print the apt-get line
	@bash scripts/deps.sh

clean: ## remove build/
	rm -rf $(BUILD)

-include mk/*.mk
-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
