# fold.mk - fold / deploy image / golden model: trained fixtures other suites
# use, the end-to-end fold check, and the ref throughput benchmark.
#
#   make fixtures          train + fold the three small models below (~2-3 min)
#   make test-fold-e2e     float vs folded-float spikes, float vs ref accuracy
#   make bench-ref         ref images/s on 2000 test images
#
# Fixtures (depend on these variables, not on the paths):
#   FIXTURE_CHANNEL / FIXTURE_ELEMENT / FIXTURE_NONE         checkpoints
#   FIXTURE_CHANNEL_SNN / FIXTURE_ELEMENT_SNN / FIXTURE_NONE_SNN   deploy images

FIXTURES            := $(FIXTURE_CHANNEL) $(FIXTURE_ELEMENT) $(FIXTURE_NONE)
FIXTURES_SNN        := $(FIXTURES:.safetensors=.snn)
FIXTURE_TRAIN        = $(MPBN) train --epochs 1 --seed 1 --limit-test 1000 --threads 2

# The default network, one epoch on 10000 images.
$(FIXTURE_CHANNEL): | $(MPBN)
	@mkdir -p $(@D)
	MPBN_PROGRESS=0 $(FIXTURE_TRAIN) --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel \
	    --limit-train 10000 --out $@ > $@.log 2>&1 || { cat $@.log; exit 1; }
# Smaller networks for the other MPBN forms. Element-wise MPBN on the encoding
# layer sees background pixels whose membrane is (nearly) identical over the
# batch; with the BN epsilon 1e-5 this run diverged at --lr 0.1. Element-wise
# runs now normalise with the variance floor SNN_MPBN_ELEMENT_EPS
# (docs/numerics.md) and train at --lr 0.1 as well; the fixture keeps
# --lr 0.05, whose float-vs-ref accuracy gap is the smaller one (0.02 pp
# against 0.23 pp at --lr 0.1, test-fold-e2e's limit being a loss of 0.3 pp).
$(FIXTURE_ELEMENT): | $(MPBN)
	@mkdir -p $(@D)
	MPBN_PROGRESS=0 $(FIXTURE_TRAIN) --arch c8,p,c16,p,f32 --T 4 --mpbn element --lr 0.05 \
	    --limit-train 5000 --out $@ > $@.log 2>&1 || { cat $@.log; exit 1; }
$(FIXTURE_NONE): | $(MPBN)
	@mkdir -p $(@D)
	MPBN_PROGRESS=0 $(FIXTURE_TRAIN) --arch c8,p,c16,p,f32 --T 4 --mpbn none \
	    --limit-train 5000 --out $@ > $@.log 2>&1 || { cat $@.log; exit 1; }

$(FIXTURE_DIR)/%.snn: $(FIXTURE_DIR)/%.safetensors $(MPBN)
	$(MPBN) fold $< --out $@ > $@.json

.PHONY: fixtures test-fold-e2e bench-ref
fixtures: $(FIXTURES_SNN) ## train and fold the small test models under build/fixtures/

# End-to-end check on the fixtures (tests/e2e-fold.c).
$(BUILD)/tests/e2e-fold: tests/e2e-fold.c tests/fold-testutil.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB) $(LDLIBS)

test-fold-e2e: $(BUILD)/tests/e2e-fold $(FIXTURES_SNN) ## fixtures: float vs folded-float spikes, float vs ref accuracy
	$(BUILD)/tests/e2e-fold --spike-images 500 --acc-images 10000 --max-gap 0.3 $(FIXTURES)

bench-ref: $(FIXTURE_CHANNEL_SNN) ## ref (golden model) images/s on 2000 test images
	@MPBN_PROGRESS=0 $(MPBN) eval $(FIXTURE_CHANNEL_SNN) --device ref --limit 2000 | tail -1

# The parser and the golden model under AddressSanitizer and UBSan: every
# truncation, the byte flips and the hand-computed sequences, with any
# out-of-bounds read or signed overflow turned into a failure.
# The device registry references every backend, so all of them are built in
# (the HLS kernel, compiled as csim, is checked under the sanitizers too).
# The fold validates checkpoints with snn_ckpt_validate (checkpoint.c), which
# parses the architecture with the trainer's parser (arch.c and what it links).
FOLD_ASAN_SRCS := $(COMMON_SRCS) $(IO_SRCS) $(TRAIN_SRCS) $(FOLD_SRCS) $(DEPLOY_SRCS) \
                  $(DRIVER_SRCS) $(HLS_SRCS)
FOLD_ASAN_FLAGS := -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                   -Iinclude -Ihost -I. -Itests -D_GNU_SOURCE
$(BUILD)/asan/test-%: tests/test-%.c $(FOLD_ASAN_SRCS) tests/fold-testutil.h
	@mkdir -p $(@D)
	$(CC) $(FOLD_ASAN_FLAGS) -o $@ $< $(FOLD_ASAN_SRCS) -lcmocka -lopenblas -lz -lm -ldl -lpthread

.PHONY: test-deploy-asan fuzz-deploy fuzz-deploy-smoke
test-deploy-asan: $(BUILD)/asan/test-deploy $(BUILD)/asan/test-ref $(BUILD)/asan/test-fold ## deploy parser, ref model and fold under ASan/UBSan
	$(BUILD)/asan/test-deploy && $(BUILD)/asan/test-ref && $(BUILD)/asan/test-fold

# libFuzzer on the deploy image parser + golden model (needs clang, like mk/fuzz.mk).
FUZZ_DEPLOY_SRCS := tests/fuzz/fuzz-deploy.c $(COMMON_SRCS) $(IO_SRCS) $(TRAIN_SRCS) \
                    $(FOLD_SRCS) $(DEPLOY_SRCS)
$(BUILD)/fuzz/fuzz-deploy: $(FUZZ_DEPLOY_SRCS) include/snn-deploy-format.h host/deploy/snn-deploy.h host/fold/snn-fold.h
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz-deploy: $(FUZZ_CC) not found (apt-get install clang)"; exit 1; }
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -Iinclude -Ihost -I. -D_GNU_SOURCE -o $@ $(FUZZ_DEPLOY_SRCS) -lz -lm -lopenblas -lpthread
$(BUILD)/fuzz/seed-deploy.stamp: $(BUILD)/tools/snn-randnet
	@mkdir -p $(BUILD)/fuzz/seed-deploy $(BUILD)/fuzz/corpus-deploy
	$(BUILD)/tools/snn-randnet $(BUILD)/fuzz/seed-deploy/a.snn c2,p,f4 1 2 1 6 6 3 >/dev/null
	$(BUILD)/tools/snn-randnet $(BUILD)/fuzz/seed-deploy/b.snn f3 2 1 1 4 4 2 >/dev/null
	$(BUILD)/tools/snn-randnet $(BUILD)/fuzz/seed-deploy/c.snn c2,c2,p,p,f3 3 3 2 9 8 4 >/dev/null
	@touch $@
fuzz-deploy: $(BUILD)/fuzz/fuzz-deploy $(BUILD)/fuzz/seed-deploy.stamp ## fuzz the deploy image parser + ref (FUZZ_SECONDS, clang)
	$(BUILD)/fuzz/fuzz-deploy -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=4096 \
	    -artifact_prefix=$(BUILD)/fuzz/crash-deploy- $(BUILD)/fuzz/corpus-deploy $(BUILD)/fuzz/seed-deploy
fuzz-deploy-smoke: $(BUILD)/fuzz/fuzz-deploy $(BUILD)/fuzz/seed-deploy.stamp
	$(BUILD)/fuzz/fuzz-deploy -max_total_time=10 -timeout=10 -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/crash-deploy- $(BUILD)/fuzz/corpus-deploy $(BUILD)/fuzz/seed-deploy 2>&1 | \
	    grep -E '^(stat::number_of_executed_units|SUMMARY|==[0-9]+==ERROR|.*Test unit written)'; \
	    exit $${PIPESTATUS[0]}

EXTRA_TESTS   += test-fold-e2e test-deploy-asan
ifneq ($(shell command -v $(FUZZ_CC) 2>/dev/null),)
EXTRA_TESTS   += fuzz-deploy-smoke
endif
BENCH_TARGETS += bench-ref
