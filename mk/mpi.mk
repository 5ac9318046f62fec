# mpi.mk - optional MPI (data-parallel `mpbn train`, docs/trainer.md
# "Several processes (MPI)"; `mpbn eval` and `mpbn bench` splitting their
# images over the ranks, docs/running-on-alveo.md "Several processes (MPI)").
#
# When OpenMPI's `mpicc` (--showme:compile/--showme:link) or pkg-config's
# ompi-c / mpi / mpich is found, the MPI
# layer host/common/mpi.c is compiled with -DSNN_HAVE_MPI and the MPI
# include flags, and everything linked against the library (build/mpbn, the
# unit tests, the tools) links libmpi. Only that one file includes <mpi.h>.
# Without MPI (or with MPI=0) the build is the single-process one: the same
# file compiles to a world of one process.
#
#   make bench-train-mpi   1 and 2 ranks: images/s, scaling, allreduce bytes
#                          per step (below; not a test)
#   make test-train-mpi    a 2-rank run against a 1-rank run with the same
#                          global batch: the checkpoints' tensors must agree
#                          to float summation tolerance (part of make test;
#                          skipped with a message without MPI)
#   make test-eval-mpi     eval and bench over 2 ranks against 1 process
#                          (below; part of make test)
#   make bench-eval-mpi    eval images/s at 1 and 2 ranks (below; not a test)
#
# The MPI flags are recorded in $(BUILD)/mpi.flags; when they change
# (MPI installed or removed, MPI=0) the layer is recompiled.

MPI ?= 1
ifneq ($(MPI),0)
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
ifeq ($(strip $(MPI_LIBS)),)
MPI_PKG    := $(firstword $(foreach p,ompi-c mpi mpich,$(shell pkg-config --exists $(p) 2>/dev/null && echo $(p))))
ifneq ($(MPI_PKG),)
MPI_CFLAGS := $(shell pkg-config --cflags $(MPI_PKG))
MPI_LIBS   := $(shell pkg-config --libs $(MPI_PKG))
endif
endif
endif
HAVE_MPI := $(if $(strip $(MPI_LIBS)),1,)

ifeq ($(HAVE_MPI),1)
LDLIBS += $(MPI_LIBS)
$(BUILD)/obj/host/common/mpi.o: CFLAGS += -DSNN_HAVE_MPI $(MPI_CFLAGS)
endif

# Rewritten only when the MPI configuration changes, so mpi.o follows it.
MPI_SIG := have=$(HAVE_MPI) cflags=$(MPI_CFLAGS) libs=$(MPI_LIBS)
.PHONY: _mpi_flags_check
$(BUILD)/mpi.flags: _mpi_flags_check
	@mkdir -p $(@D)
	@echo '$(MPI_SIG)' | cmp -s - $@ 2>/dev/null || echo '$(MPI_SIG)' >$@
$(BUILD)/obj/host/common/mpi.o: $(BUILD)/mpi.flags

# ---- the equivalence test ---------------------------------------------------------

MPI_CKPT_DIFF := $(BUILD)/tests/ckpt-diff

$(MPI_CKPT_DIFF): tests/ckpt-diff.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

.PHONY: test-train-mpi
EXTRA_TESTS += test-train-mpi

test-train-mpi: $(MPBN) $(MPI_CKPT_DIFF) ## 2 MPI ranks train what 1 process trains (same global batch; skipped without MPI)
	@MPBN=$(MPBN) CKPT_DIFF=$(MPI_CKPT_DIFF) HAVE_MPI=$(HAVE_MPI) OUT=$(BUILD)/test-train-mpi \
	    bash tests/mpi-train.sh

# ---- eval and bench under mpirun --------------------------------------------------
#
#   make test-eval-mpi     2 ranks split the images of `mpbn eval` and `mpbn
#                          bench` (ref, csim, xrt on the XRT stand-in playing
#                          two cards): accuracy and counters equal to 1
#                          process; a card failing on rank 1 ends every rank
#                          with status 1, rank and card named (part of make
#                          test; skipped with a message without MPI)

.PHONY: test-eval-mpi
EXTRA_TESTS += test-eval-mpi

test-eval-mpi: $(MPBN) $(BUILD)/tools/snn-randnet xrt-fake ## eval and bench split over 2 MPI ranks equal 1 process (ref, csim, 2 stand-in cards); failing rank named
	@MPBN=$(MPBN) TOOLS=$(BUILD)/tools HAVE_MPI=$(HAVE_MPI) bash tests/mpi-eval.sh

# ---- the benchmark (not a test) ---------------------------------------------------
#
#   make bench-train-mpi   training throughput of the default network
#                          (c32,c32,p,c64,p,f128, T=4, channel MPBN) with one
#                          thread per process: 1 process at batch
#                          BENCH_TRAIN_MPI_BATCH (64), 2 MPI ranks at the same
#                          global batch (32 images per rank: strong scaling)
#                          and 2 ranks at twice the batch (64 per rank: weak
#                          scaling), BENCH_TRAIN_MPI_BATCHES batches each;
#                          prints images/s, the scaling efficiency
#                          (images/s of 2 ranks / (2 x 1 process)), the
#                          allreduce payload per step and rank, and the share
#                          of the 2-rank run spent in collectives. On a shared
#                          machine it also runs two independent processes at
#                          the same time (32 images per batch each, no MPI):
#                          what two single-thread processes get from the
#                          machine right now, the ceiling of the 2-rank run.
#                          Skipped without MPI. Figures: docs/trainer.md.

BENCH_TRAIN_MPI_BATCHES ?= 40
BENCH_TRAIN_MPI_BATCH   ?= 64
BENCH_TRAIN_MPI_OUT     := $(BUILD)/bench/bench-train-mpi

.PHONY: bench-train-mpi
BENCH_TARGETS += bench-train-mpi

bench-train-mpi: $(MPBN) ## training images/s at 1 and 2 MPI ranks (1 thread each), scaling efficiency, allreduce bytes/step
	@if [ "$(HAVE_MPI)" != 1 ] || ! command -v mpirun >/dev/null; then \
	    echo "bench-train-mpi: skipped: this build has no MPI (install openmpi-bin libopenmpi-dev, rebuild)"; exit 0; fi; \
	set -o pipefail; mkdir -p $(BENCH_TRAIN_MPI_OUT); \
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MPBN_PROGRESS=0; \
	run() { \
	    local n=$$1 b=$$2 launch=(); \
	    [ "$$n" -gt 1 ] && launch=(mpirun --oversubscribe --allow-run-as-root -n "$$n"); \
	    "$${launch[@]}" $(MPBN) train --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --batch $$b \
	        --epochs 1 --limit-train $$((b * $(BENCH_TRAIN_MPI_BATCHES))) --limit-test 64 --threads 1 \
	        --quiet --out $(BENCH_TRAIN_MPI_OUT)/np$$n-b$$b.safetensors 2>$(BENCH_TRAIN_MPI_OUT)/np$$n-b$$b.log | \
	        tail -n 1 || { tail -n 5 $(BENCH_TRAIN_MPI_OUT)/np$$n-b$$b.log >&2; return 1; }; \
	}; \
	field() { sed -nE "s/.*\"$$1\":([0-9.e+-]+).*/\1/p"; }; \
	B=$(BENCH_TRAIN_MPI_BATCH); \
	j1=$$(run 1 $$B) || exit 1; \
	j2=$$(run 2 $$B) || exit 1; \
	j2w=$$(run 2 $$((2 * B))) || exit 1; \
	solo() { $(MPBN) train --arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --batch $$((B / 2)) --epochs 1 \
	        --limit-train $$((B / 2 * $(BENCH_TRAIN_MPI_BATCHES))) --limit-test 64 --threads 1 --quiet \
	        --out $(BENCH_TRAIN_MPI_OUT)/solo$$1.safetensors 2>/dev/null | tail -n 1 | field train_images_per_s; }; \
	solo a >$(BENCH_TRAIN_MPI_OUT)/solo-a.txt & solo b >$(BENCH_TRAIN_MPI_OUT)/solo-b.txt; wait; \
	rs=$$(cat $(BENCH_TRAIN_MPI_OUT)/solo-a.txt $(BENCH_TRAIN_MPI_OUT)/solo-b.txt | awk '{ s += $$1 } END { print s }'); \
	r1=$$(echo "$$j1" | field train_images_per_s); r2=$$(echo "$$j2" | field train_images_per_s); \
	r2w=$$(echo "$$j2w" | field train_images_per_s); \
	by=$$(echo "$$j2" | field allreduce_bytes_per_step); gb=$$(echo "$$j2" | field grad_bytes_per_step); \
	calls=$$(echo "$$j2" | field allreduce_calls_per_step); \
	cs=$$(echo "$$j2" | field comm_seconds); s2=$$(echo "$$j2" | field seconds); \
	case "$$r1$$r2$$r2w" in *[!0-9.e+]*|'') echo "bench-train-mpi: a run failed"; exit 1;; esac; \
	echo "bench-train-mpi: default net, T=4, $(BENCH_TRAIN_MPI_BATCHES) batches, 1 thread per process, load $$(cut -d' ' -f1 /proc/loadavg), OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-auto}"; \
	echo "bench-train-mpi: 1 process, batch $$B: $$r1 images/s"; \
	awk -v r1=$$r1 -v r=$$r2 -v B=$$B 'BEGIN { printf "bench-train-mpi: 2 ranks, global batch %d (%d per rank): %s images/s, speed-up %.2f, efficiency %.0f%%\n", B, B / 2, r, r / r1, 50 * r / r1 }'; \
	awk -v r1=$$r1 -v r=$$r2w -v B=$$B 'BEGIN { printf "bench-train-mpi: 2 ranks, global batch %d (%d per rank): %s images/s, speed-up %.2f, efficiency %.0f%%\n", 2 * B, B, r, r / r1, 50 * r / r1 }'; \
	awk -v r1=$$r1 -v r=$$r2 -v rs=$$rs -v B=$$B 'BEGIN { printf "bench-train-mpi: 2 independent processes at the same time (no MPI, batch %d each): %.1f images/s together, %.2f x 1 process: the machine'"'"'s share for 2 processes now; the 2-rank run at batch %d reaches %.0f%% of it\n", B / 2, rs, rs / r1, B, 100 * r / rs }'; \
	awk -v by=$$by -v gb=$$gb -v c=$$calls -v cs=$$cs -v s=$$s2 'BEGIN { printf "bench-train-mpi: allreduce per step and rank: %.0f bytes in %.0f calls (fused gradient buffer %.0f bytes, BN/MPBN statistics %.0f bytes); %.1f%% of the 2-rank run inside collectives (waiting for the slower rank included)\n", by, c, gb, by - gb, 100 * cs / s }'

# ---- eval throughput at 1 and 2 ranks (not a test) ----------------------------------
#
#   make bench-eval-mpi    `mpbn eval --device ref` of a random c4,p,c8,p,f16
#                          network (snn-randnet) over BENCH_EVAL_MPI_LIMIT
#                          (10000) test images: 1 process, then 2 MPI ranks
#                          (each half the images); images/s (all images over
#                          the slowest rank's time), the ranks' own rates
#                          summed, and the speed-up. Skipped without MPI.
#                          Figures: docs/running-on-alveo.md, "Several
#                          processes (MPI)".

BENCH_EVAL_MPI_LIMIT ?= 10000
BENCH_EVAL_MPI_OUT   := $(BUILD)/bench/bench-eval-mpi

.PHONY: bench-eval-mpi
BENCH_TARGETS += bench-eval-mpi

bench-eval-mpi: $(MPBN) $(BUILD)/tools/snn-randnet ## eval images/s on ref at 1 and 2 MPI ranks (images split), speed-up
	@if [ "$(HAVE_MPI)" != 1 ] || ! command -v mpirun >/dev/null; then \
	    echo "bench-eval-mpi: skipped: this build has no MPI (install openmpi-bin libopenmpi-dev, rebuild)"; exit 0; fi; \
	set -o pipefail; mkdir -p $(BENCH_EVAL_MPI_OUT); \
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MPBN_PROGRESS=0; \
	$(BUILD)/tools/snn-randnet $(BENCH_EVAL_MPI_OUT)/net.snn c4,p,c8,p,f16 5 4 1 28 28 10 >/dev/null || exit 1; \
	field() { sed -nE "s/.*\"$$1\":([0-9.e+-]+).*/\1/p"; }; \
	j1=$$($(MPBN) eval $(BENCH_EVAL_MPI_OUT)/net.snn --device ref --limit $(BENCH_EVAL_MPI_LIMIT) 2>$(BENCH_EVAL_MPI_OUT)/np1.log | tail -n 1) || \
	    { tail -n 5 $(BENCH_EVAL_MPI_OUT)/np1.log >&2; exit 1; }; \
	j2=$$(mpirun --oversubscribe --allow-run-as-root -n 2 $(MPBN) eval $(BENCH_EVAL_MPI_OUT)/net.snn --device ref \
	    --limit $(BENCH_EVAL_MPI_LIMIT) 2>$(BENCH_EVAL_MPI_OUT)/np2.log | tail -n 1) || \
	    { tail -n 5 $(BENCH_EVAL_MPI_OUT)/np2.log >&2; exit 1; }; \
	r1=$$(echo "$$j1" | field images_per_s); r2=$$(echo "$$j2" | field images_per_s); \
	rs=$$(echo "$$j2" | field images_per_s_sum); \
	a1=$$(echo "$$j1" | field accuracy); a2=$$(echo "$$j2" | field accuracy); \
	echo "bench-eval-mpi: ref, random c4,p,c8,p,f16, $(BENCH_EVAL_MPI_LIMIT) images, load $$(cut -d' ' -f1 /proc/loadavg)"; \
	echo "bench-eval-mpi: 1 process: $$r1 images/s (accuracy $$a1)"; \
	awk -v r1=$$r1 -v r=$$r2 -v rs=$$rs -v a=$$a2 'BEGIN { printf "bench-eval-mpi: 2 ranks: %s images/s (x%.2f), ranks'"'"' own rates summed %s (accuracy %s)\n", r, r / r1, rs, a }'; \
	[ "$$a1" = "$$a2" ] || { echo "bench-eval-mpi: the accuracies differ"; exit 1; }
