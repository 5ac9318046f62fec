# train.mk - trainer benchmark.
#
#   make bench-train   training throughput of the default network
#                      (c32,c32,p,c64,p,f128, T=4, channel MPBN, batch 64)
#                      over BENCH_TRAIN_BATCHES batches (the timed epoch
#                      starts after data loading and the one-time workspace
#                      allocation), with the OpenBLAS kernels of the
#                      environment and, on AVX-512 CPUs, also with the
#                      SkylakeX kernels (OPENBLAS_CORETYPE=SkylakeX).
#
# Figures of this machine are in docs/trainer.md.

BENCH_TRAIN_BATCHES ?= 120
BENCH_TRAIN_THREADS ?= 0
BENCH_TRAIN_OUT     := $(BUILD)/bench/bench-train.safetensors

.PHONY: bench-train
BENCH_TARGETS += bench-train

bench-train: $(MPBN) ## training throughput of the default net, T=4, batch 64 (prints images/s)
	@mkdir -p $(dir $(BENCH_TRAIN_OUT))
	@run() { \
	    MPBN_PROGRESS=0 $(MPBN) train --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --batch 64 \
	        --epochs 1 --limit-train $$((64 * $(BENCH_TRAIN_BATCHES))) --limit-test 64 \
	        --threads $(BENCH_TRAIN_THREADS) --quiet --out $(BENCH_TRAIN_OUT) | tail -n 1 | \
	        sed -E 's/.*"train_images_per_s":([0-9.e+]+).*/\1/'; \
	}; \
	r=$$(run) || exit 1; \
	echo "bench-train: default net, T=4, batch 64, $(BENCH_TRAIN_BATCHES) batches: $$r images/s (OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-auto})"; \
	if grep -q avx512f /proc/cpuinfo 2>/dev/null && [ "$${OPENBLAS_CORETYPE:-}" != SkylakeX ]; then \
	    r=$$(export OPENBLAS_CORETYPE=SkylakeX; run) || exit 1; \
	    echo "bench-train: default net, T=4, batch 64, $(BENCH_TRAIN_BATCHES) batches: $$r images/s (OPENBLAS_CORETYPE=SkylakeX)"; \
	fi
