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

# eval-device.o holds the strong snn_eval_device (cmd-eval.c has a weak
# fallback, which alone would never pull the archive member).
LDLIBS += -Wl,-u,snn_eval_device_linked

FIXTURE_DIR         := $(BUILD)/fixtures
FIXTURE_CHANNEL     := $(FIXTURE_DIR)/fmnist-channel.safetensors
FIXTURE_ELEMENT     := $(FIXTURE_DIR)/fmnist-element.safetensors
FIXTURE_NONE        := $(FIXTURE_DIR)/fmnist-none.safetensors
FIXTURE_CHANNEL_SNN := $(FIXTURE_CHANNEL:.safetensors=.snn)
FIXTURE_ELEMENT_SNN := $(FIXTURE_ELEMENT:.safetensors=.snn)
FIXTURE_NONE_SNN    := $(FIXTURE_NONE:.safetensors=.snn)
FIXTURES            := $(FIXTURE_CHANNEL) $(FIXTURE_ELEMENT) $(FIXTURE_NONE)
FIXTURES_SNN        := $(FIXTURES:.safetensors=.snn)
FIXTURE_TRAIN        = $(MPBN) train --epochs 1 --seed 1 --limit-test 1000 --threads 2

# The default network, one epoch on 10000 images.
$(FIXTURE_CHANNEL): | $(MPBN)
	@mkdir -p $(@D)
	MPBN_PROGRESS=0 $(FIXTURE_TRAIN) --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel \
	    --limit-train 10000 --out $@ > $@.log 2>&1 || { cat $@.log; exit 1; }
# Smaller networks for the other MPBN forms.
$(FIXTURE_ELEMENT): | $(MPBN)
	@mkdir -p $(@D)
	MPBN_PROGRESS=0 $(FIXTURE_TRAIN) --arch c8,p,c16,p,f32 --T 4 --mpbn element \
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

EXTRA_TESTS   += test-fold-e2e
BENCH_TARGETS += bench-ref
