# fuzz.mk - libFuzzer harnesses for the file parsers (IDX data, safetensors
# checkpoints) and the command-line option layer (host/cli/opts.c, every
# subcommand's table), built with clang's -fsanitize=fuzzer,address,undefined.
#
#   make fuzz              each harness for FUZZ_SECONDS (default 60 s)
#   make fuzz-smoke        each harness for 10 s (part of `make test-extra`
#                          when clang is installed)
#
# Corpora grow under build/fuzz/corpus-*/ and start from the valid files
# tests/fuzz/fuzz-seeds.c writes; a crash leaves build/fuzz/fuzz-<name>-crash-* to replay
# with `build/fuzz/fuzz-<name> build/fuzz/fuzz-<name>-crash-...`.

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -Iinclude -Ihost -I. -D_GNU_SOURCE -Wall -Wextra
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)

# Each harness is compiled from the sources it exercises (instrumented), not
# linked against build/libsnn.a (built by gcc without coverage).
FUZZ_IDX_SRCS := tests/fuzz/fuzz-idx.c $(COMMON_SRCS) $(IO_SRCS)
FUZZ_ST_SRCS  := tests/fuzz/fuzz-safetensors.c $(COMMON_SRCS) $(IO_SRCS)
# The option layer and every subcommand's table are instrumented; the rest of
# the command code comes from build/libsnn.a (parse-only mode never reaches it).
FUZZ_CLI_SRCS := tests/fuzz/fuzz-cli.c $(filter-out $(CLI_MAIN),$(CLI_SRCS))

.PHONY: fuzz fuzz-smoke fuzz-check-cc fuzz-cli

fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null || \
	    { echo "fuzz: $(FUZZ_CC) not found (apt-get install clang)"; exit 1; }

$(FUZZ_DIR)/fuzz-idx: $(FUZZ_IDX_SRCS) host/io/snn-data.h include/snn-common.h | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_IDX_SRCS) -lz

$(FUZZ_DIR)/fuzz-safetensors: $(FUZZ_ST_SRCS) host/io/safetensors.h host/common/json.h include/snn-common.h \
                              | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_ST_SRCS) -lz

$(FUZZ_DIR)/fuzz-cli: $(FUZZ_CLI_SRCS) host/cli/opts.h host/cli/cli.h $(LIB) | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_CLI_SRCS) $(LIB) $(LDLIBS)

# Seeds: NUL-separated argument lists.
$(FUZZ_DIR)/seed-cli.stamp:
	@mkdir -p $(FUZZ_DIR)/seed-cli $(FUZZ_DIR)/corpus-cli
	@printf 'm.snn\000--devices\000ref,csim\000--limit=0\000--config\000ci' >$(FUZZ_DIR)/seed-cli/compare
	@printf -- '--arch\000c4,p,f8\000--T\000099\000--augment=flip\000--out\000--force' >$(FUZZ_DIR)/seed-cli/train
	@printf 'x\000--batch\000065536\000--seed\000000x10\000--clock-mhz\0001e3\000--help' >$(FUZZ_DIR)/seed-cli/bench
	@touch $@

$(FUZZ_DIR)/fuzz-seeds: tests/fuzz/fuzz-seeds.c $(COMMON_SRCS) $(IO_SRCS)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g -Iinclude -Ihost -I. -D_GNU_SOURCE -o $@ $^ -lz

$(FUZZ_DIR)/seeds.stamp: $(FUZZ_DIR)/fuzz-seeds
	rm -rf $(FUZZ_DIR)/seed-idx $(FUZZ_DIR)/seed-st
	$< $(FUZZ_DIR)
	@mkdir -p $(FUZZ_DIR)/corpus-idx $(FUZZ_DIR)/corpus-st
	@touch $@

# $(call run_fuzz,harness,corpus,seeds,seconds,extra flags): the full log goes
# to build/fuzz/<harness>.log; the figures are printed, and the log's tail
# (the sanitizer report) on failure.
define run_fuzz
	@echo "== fuzz $(1) for $(4) s (log: $(FUZZ_DIR)/$(1).log)"
	@if $(FUZZ_DIR)/$(1) -max_total_time=$(4) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/$(1)- $(5) $(FUZZ_DIR)/$(2) $(FUZZ_DIR)/$(3) \
	    >$(FUZZ_DIR)/$(1).log 2>&1; then \
	    grep -E '^stat::(number_of_executed_units|new_units_added)' $(FUZZ_DIR)/$(1).log; \
	    echo "$(1): no crash"; \
	else \
	    tail -n 60 $(FUZZ_DIR)/$(1).log; \
	    echo "$(1): FAILED (input saved as $(FUZZ_DIR)/$(1)-crash-*)"; \
	    exit 1; \
	fi
endef

FUZZ_BINS := $(FUZZ_DIR)/fuzz-idx $(FUZZ_DIR)/fuzz-safetensors $(FUZZ_DIR)/seeds.stamp \
             $(FUZZ_DIR)/fuzz-cli $(FUZZ_DIR)/seed-cli.stamp

FUZZ_IDX_OPTS := -max_len=65536
FUZZ_ST_OPTS  := -max_len=8192 -dict=tests/fuzz/safetensors.dict
FUZZ_CLI_OPTS := -max_len=1024 -dict=tests/fuzz/cli.dict

fuzz: $(FUZZ_BINS) ## fuzz the IDX and safetensors parsers and the CLI options (FUZZ_SECONDS=60 each; needs clang)
	$(call run_fuzz,fuzz-idx,corpus-idx,seed-idx,$(FUZZ_SECONDS),$(FUZZ_IDX_OPTS))
	$(call run_fuzz,fuzz-safetensors,corpus-st,seed-st,$(FUZZ_SECONDS),$(FUZZ_ST_OPTS))
	$(call run_fuzz,fuzz-cli,corpus-cli,seed-cli,$(FUZZ_SECONDS),$(FUZZ_CLI_OPTS))

fuzz-smoke: $(FUZZ_BINS) ## 10-second fuzz run of each parser
	$(call run_fuzz,fuzz-idx,corpus-idx,seed-idx,10,$(FUZZ_IDX_OPTS))
	$(call run_fuzz,fuzz-safetensors,corpus-st,seed-st,10,$(FUZZ_ST_OPTS))
	$(call run_fuzz,fuzz-cli,corpus-cli,seed-cli,10,$(FUZZ_CLI_OPTS))

fuzz-cli: $(FUZZ_DIR)/fuzz-cli $(FUZZ_DIR)/seed-cli.stamp ## fuzz the option tables of every subcommand (FUZZ_SECONDS; needs clang)
	$(call run_fuzz,fuzz-cli,corpus-cli,seed-cli,$(FUZZ_SECONDS),$(FUZZ_CLI_OPTS))

ifneq ($(HAVE_FUZZ_CC),)
EXTRA_TESTS += fuzz-smoke
endif
