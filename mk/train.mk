# train.mk - trainer benchmark, the sparsity/accuracy table (make pareto) and
# the paper's MPBN ablation (make ablation).
#
#   make bench-train   training throughput of the default network
#                      (c32,c32,p,c64,p,f128, T=4, channel MPBN, batch 64)
#                      over BENCH_TRAIN_BATCHES batches (the timed epoch
#                      starts after data loading and the one-time workspace
#                      allocation), with the OpenBLAS kernels of the
#                      environment and, on AVX-512 CPUs, also with the
#                      SkylakeX kernels (OPENBLAS_CORETYPE=SkylakeX); each
#                      with the default paths (event-driven convolutions of
#                      spikes, Winograd dense convolutions and input
#                      gradients), with the direct dense ones
#                      (MPBN_DENSE_CONV=direct), with im2col + GEMM for the
#                      dense ones (gemm) and with im2col + GEMM only
#                      (MPBN_SPIKE_CONV=0 MPBN_DENSE_CONV=gemm)
#   make bench-conv    a conv of spikes, dense vs event-driven, at spike
#                      rates 0.05-0.5 on one thread (tools/snn-convbench.c):
#                      where the event-driven path pays off; then the dense
#                      forward and input gradient: im2col + GEMM, direct
#                      and Winograd
#
# Figures of this machine are in docs/trainer.md.

BENCH_TRAIN_BATCHES ?= 120
BENCH_TRAIN_THREADS ?= 0
BENCH_TRAIN_OUT     := $(BUILD)/bench/bench-train.safetensors

.PHONY: bench-train bench-conv
BENCH_TARGETS += bench-train bench-conv

bench-conv: $(BUILD)/tools/snn-convbench ## conv of spikes: dense GEMM vs event-driven, per spike rate (us/image)
	@$(BUILD)/tools/snn-convbench
	@if grep -q avx512f /proc/cpuinfo 2>/dev/null && [ "$${OPENBLAS_CORETYPE:-}" != SkylakeX ]; then \
	    echo; OPENBLAS_CORETYPE=SkylakeX $(BUILD)/tools/snn-convbench; \
	fi

bench-train: $(MPBN) ## training throughput of the default net, T=4, batch 64 (prints images/s)
	@mkdir -p $(dir $(BENCH_TRAIN_OUT))
	@run() { \
	    MPBN_PROGRESS=0 $(MPBN) train --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --batch 64 \
	        --epochs 1 --limit-train $$((64 * $(BENCH_TRAIN_BATCHES))) --limit-test 64 \
	        --threads $(BENCH_TRAIN_THREADS) --quiet --out $(BENCH_TRAIN_OUT) | tail -n 1 | \
	        sed -E 's/.*"train_images_per_s":([0-9.e+]+).*/\1/'; \
	}; \
	cores="$${OPENBLAS_CORETYPE:-auto}"; \
	if grep -q avx512f /proc/cpuinfo 2>/dev/null && [ "$${OPENBLAS_CORETYPE:-}" != SkylakeX ]; then \
	    cores="$$cores SkylakeX"; \
	fi; \
	for c in $$cores; do for v in 1:winograd 1:direct 1:gemm 0:gemm; do \
	    sc=$${v%:*}; dc=$${v#*:}; \
	    r=$$(if [ $$c != auto ]; then export OPENBLAS_CORETYPE=$$c; fi; MPBN_SPIKE_CONV=$$sc MPBN_DENSE_CONV=$$dc run) || exit 1; \
	    echo "bench-train: default net, T=4, batch 64, $(BENCH_TRAIN_BATCHES) batches: $$r images/s" \
	        "(OPENBLAS_CORETYPE=$$c, convolutions of spikes $$([ $$sc = 1 ] && echo event-driven || echo dense)," \
	        "dense convolutions $$dc)"; \
	done; done

# The sparsity/accuracy trade-off of the spike-count regulariser
# (docs/trainer.md "Sparsity control", the table in docs/results.md):
#
#   make pareto           trains the default network once per X of PARETO_X
#                         (same seed, PARETO_TRAIN budget), folds it, and
#                         measures float and ref accuracy (all test images)
#                         and events, synaptic operations and the energy
#                         model per image (mpbn bench --devices ref, 1000
#                         images) -> build/pareto/pareto.{csv,md,png}
#   make pareto QUICK=1   a smaller budget: 3000 training images, 1 epoch,
#                         X in 0 1 10, 1000 test images -> build/pareto-quick/
#   make pareto REUSE=1   keeps the rows already measured (an interrupted
#                         run continues)
#
# One trainer thread (PARETO_THREADS), so each run is reproducible bit for
# bit; the runs are niced (scripts/pareto.sh).

ifeq ($(QUICK),1)
PARETO_X      ?= 0 1 10
PARETO_TRAIN  ?= --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --limit-train 3000 --epochs 1 --seed 1
PARETO_EVAL   ?= 1000
PARETO_DIR    ?= $(BUILD)/pareto-quick
else
PARETO_X      ?= 0 0.03 0.1 0.3 1 2 3 5 10
PARETO_TRAIN  ?= --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --limit-train 12000 --epochs 2 --seed 1
PARETO_EVAL   ?= 0
PARETO_DIR    ?= $(BUILD)/pareto
endif
PARETO_THREADS ?= 1
PARETO_BENCH   ?= 1000

.PHONY: pareto

pareto: $(MPBN) ## accuracy vs events/image for several --rate-reg X (QUICK=1: smaller) -> build/pareto/
	@MPBN=$(MPBN) OUT=$(PARETO_DIR) PARETO_X="$(PARETO_X)" TRAIN_ARGS="$(PARETO_TRAIN)" \
	    THREADS=$(PARETO_THREADS) EVAL_LIMIT=$(PARETO_EVAL) BENCH_LIMIT=$(PARETO_BENCH) REUSE=$(REUSE) \
	    bash scripts/pareto.sh

# The trainer's hand-vectorised kernels (the event-driven and the direct
# convolutions, LIF/MPBN, pooling) and its augmentation under ASan/UBSan:
#
#   make test-train-asan   tests/test-grad.c (every layer against references
#                          and finite differences) and tests/test-train.c,
#                          built with the sanitizers twice: with the build's
#                          ARCHFLAGS (the AVX-512 paths on such a CPU) and
#                          without (the portable paths); part of make test
$(BUILD)/asan-arch/test-%: tests/test-%.c $(FOLD_ASAN_SRCS) tests/fold-testutil.h
	@mkdir -p $(@D)
	$(CC) $(FOLD_ASAN_FLAGS) $(ARCHFLAGS) -o $@ $< $(FOLD_ASAN_SRCS) -lcmocka -lopenblas -lz -lm -ldl -lpthread

.PHONY: test-train-asan
EXTRA_TESTS += test-train-asan
test-train-asan: $(BUILD)/asan/test-grad $(BUILD)/asan/test-train $(BUILD)/asan-arch/test-grad $(BUILD)/asan-arch/test-train ## the trainer's kernels and augmentation under ASan/UBSan (build's ARCHFLAGS and portable)
	$(BUILD)/asan-arch/test-grad && $(BUILD)/asan-arch/test-train && $(BUILD)/asan/test-grad && $(BUILD)/asan/test-train

# The paper's ablation (Guo et al., ICCV 2023: no MPBN vs MPBN at several T,
# accuracy per epoch as in its Fig. 2; docs/trainer.md "The MPBN ablation"):
#
#   make ablation          trains the default network on the default data set
#                          (Fashion-MNIST) for each MODE:T of ABLATION_CONFIGS
#                          (none and channel at T 1, 2, 4; element at T 4) and
#                          each seed of ABLATION_SEEDS (1 2 3), folds each run
#                          and evaluates the deploy image on the golden model
#                          (ref); all 10,000 test images. Runs in
#                          build/ablation/, the table and the accuracy-per-epoch
#                          plot in docs/results/ablation.{md,png}. Hours.
#   make ablation QUICK=1  a small budget (3000 training images, 2 epochs,
#                          1000 test images, seeds 1 2): a few minutes, all
#                          outputs in build/ablation-quick/
#   make ablation REUSE=1  keeps the runs already finished and continues an
#                          interrupted training from its last epoch (the budget
#                          must be the same)
#
# One trainer thread (ABLATION_THREADS), runs one at a time (ABLATION_JOBS=2:
# two at a time, both cores of a 2-core machine), niced
# (scripts/ablation.sh). After the runs, the loss landscape (the paper's
# Fig. 3, `mpbn landscape`) of the first seed's checkpoint at the largest T
# of each mode on ABLATION_LANDSCAPE_LIMIT training images and
# ABLATION_LANDSCAPE_POINTS alphas -> landscape.png next to ablation.md.

ABLATION_CONFIGS ?= none:1 channel:1 none:2 channel:2 none:4 channel:4 element:4
ifeq ($(QUICK),1)
ABLATION_SEEDS   ?= 1 2
ABLATION_TRAIN   ?= --arch c32,c32,p,c64,p,f128 --limit-train 3000 --epochs 2
ABLATION_EVAL    ?= 1000
ABLATION_DIR     ?= $(BUILD)/ablation-quick
ABLATION_MD_DIR  ?= $(ABLATION_DIR)
ABLATION_LABEL   ?= QUICK budget (`make ablation QUICK=1`): a check that the pipeline runs, not a measurement of the ablation; `make ablation` is the full one.
ABLATION_LANDSCAPE_LIMIT  ?= 500
ABLATION_LANDSCAPE_POINTS ?= 11
else
ABLATION_SEEDS   ?= 1 2 3
ABLATION_TRAIN   ?= --arch c32,c32,p,c64,p,f128 --epochs 5
ABLATION_EVAL    ?= 0
ABLATION_DIR     ?= $(BUILD)/ablation
ABLATION_MD_DIR  ?= docs/results
ABLATION_LABEL   ?= `make ablation` (scripts/ablation.sh); runs in $(ABLATION_DIR)/.
ABLATION_LANDSCAPE_LIMIT  ?= 2000
ABLATION_LANDSCAPE_POINTS ?= 21
endif
ABLATION_THREADS ?= 1
ABLATION_JOBS    ?= 1

.PHONY: ablation

ablation: $(MPBN) ## the paper's ablation: MPBN none/channel at T 1,2,4, element at T 4, 3 seeds (QUICK=1: minutes) -> docs/results/ablation.md
	@MPBN=$(MPBN) OUT=$(ABLATION_DIR) MD_DIR=$(ABLATION_MD_DIR) CONFIGS="$(ABLATION_CONFIGS)" \
	    SEEDS="$(ABLATION_SEEDS)" TRAIN_ARGS="$(ABLATION_TRAIN)" EVAL_LIMIT=$(ABLATION_EVAL) \
	    THREADS=$(ABLATION_THREADS) JOBS=$(ABLATION_JOBS) REUSE=$(REUSE) LABEL='$(ABLATION_LABEL)' \
	    LANDSCAPE_LIMIT=$(ABLATION_LANDSCAPE_LIMIT) LANDSCAPE_POINTS=$(ABLATION_LANDSCAPE_POINTS) \
	    bash scripts/ablation.sh

# Our trainer against PyTorch on the CPU, side by side (the issue's target:
# at least 3x PyTorch's training throughput, same network, T=4, batch 64):
#
#   make bench-train-torch   for each thread count of BENCH_TORCH_THREADS
#                            (1 2), scripts/bench-train-torch.py --compare:
#                            `mpbn train` and the same network, data and SGD
#                            step in PyTorch, BENCH_TORCH_BATCHES batches
#                            each after BENCH_TORCH_WARMUP warm-up batches,
#                            back to back with as many threads; prints both
#                            images/s (wall) and images per CPU-second (the
#                            stable figure on a shared machine), the ratios
#                            and the load average before each run; on AVX-512
#                            CPUs mpbn also runs with OPENBLAS_CORETYPE=SkylakeX
#                            (as bench-train does). Each pair runs
#                            BENCH_TORCH_REPEAT times, alternating, then the
#                            medians and mpbn's median against PyTorch's best
#                            run (the machine's speed drifts between runs).
#
# PyTorch comes from Debian (python3-torch, /usr/bin/python3); without it the
# target prints the apt-get line and skips (exit 0).

BENCH_TORCH_BATCHES ?= 40
BENCH_TORCH_WARMUP  ?= 3
BENCH_TORCH_REPEAT  ?= 3
BENCH_TORCH_THREADS ?= 1 2
BENCH_TORCH_PYTHON  ?= /usr/bin/python3
BENCH_TORCH_OUT     := $(BUILD)/bench/bench-train-torch-mpbn.safetensors

.PHONY: bench-train-torch
BENCH_TARGETS += bench-train-torch

bench-train-torch: $(MPBN) ## training images/s of mpbn vs PyTorch (same net, T=4, batch 64), 1 and 2 threads
	@if ! $(BENCH_TORCH_PYTHON) -c 'import torch' >/dev/null 2>&1; then \
	    echo "bench-train-torch: skipped: PyTorch not found for $(BENCH_TORCH_PYTHON); install it: apt-get install -y python3-torch"; \
	    exit 0; \
	fi; \
	mkdir -p $(dir $(BENCH_TORCH_OUT)); \
	for n in $(BENCH_TORCH_THREADS); do \
	    $(BENCH_TORCH_PYTHON) scripts/bench-train-torch.py --threads $$n --batches $(BENCH_TORCH_BATCHES) \
	        --warmup $(BENCH_TORCH_WARMUP) --repeat $(BENCH_TORCH_REPEAT) --compare $(MPBN) --tmp $(dir $(BENCH_TORCH_OUT)) \
	        2>&1 >/dev/null || exit 1; \
	    if grep -q avx512f /proc/cpuinfo 2>/dev/null && [ "$${OPENBLAS_CORETYPE:-}" != SkylakeX ]; then \
	        OPENBLAS_CORETYPE=SkylakeX $(BENCH_TORCH_PYTHON) scripts/bench-train-torch.py --threads $$n \
	            --batches $(BENCH_TORCH_BATCHES) --warmup $(BENCH_TORCH_WARMUP) --repeat $(BENCH_TORCH_REPEAT) --compare $(MPBN) \
	            --tmp $(dir $(BENCH_TORCH_OUT)) 2>&1 >/dev/null | grep -E 'mpbn|ratio|median' || exit 1; \
	    fi; \
	done

# The accuracy recipe (docs/trainer.md, "The accuracy recipe"): the default
# network at twice the width, 40 epochs, crop + flip; resumable
# (STOP_AFTER=N epochs at a time), then fold, float and ref accuracy, events
# and the card cost by the architectural model (scripts/train-best.sh).
.PHONY: train-best
train-best: $(MPBN) $(TOOLS) ## the accuracy recipe: 2x width, 40 epochs, crop+flip -> runs/best (hours; resumable)
	@bash scripts/train-best.sh
