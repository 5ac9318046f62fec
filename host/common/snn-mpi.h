/*
 * snn-mpi.h - the one MPI layer of mpbn: every other file talks to MPI
 * through these functions and never includes <mpi.h>.
 *
 * Built with MPI when the Makefile finds `mpicc` (or pkg-config ompi-c/mpi):
 * host/common/mpi.c is then compiled with -DSNN_HAVE_MPI and the library
 * links against libmpi. Without MPI the same functions exist and behave as
 * a world of one process (rank 0 of 1): collectives return at once with the
 * buffer unchanged, so callers need no #ifdef.
 *
 * MPI is initialised only when a launcher started the process: mpirun /
 * mpiexec (OpenMPI: OMPI_COMM_WORLD_SIZE, PMIx: PMIX_RANK, Hydra/MPICH:
 * PMI_RANK). A plain `mpbn ...` never calls MPI_Init, so it starts as fast
 * as a build without MPI and prints nothing of MPI's.
 *
 *     if (snn_mpi_init() != SNN_OK) { ... snn_last_error() ... }   // once, early
 *     uint32_t me = snn_mpi_rank(), n = snn_mpi_size();
 *     ... each rank works on its share of the images ...
 *     uint64_t cnt[2] = {correct, images};
 *     snn_mpi_allreduce_u64(cnt, 2);         // every rank: the sums over all ranks
 *     if (me == 0) print(cnt);
 *     snn_mpi_finalize();                     // once, at the end (also atexit)
 *
 * Rules for callers:
 *  - Collectives (allreduce, reduce, bcast, barrier, agree) must be called by
 *    every rank, in the same order, with the same counts; only the main
 *    thread calls them (MPI_THREAD_FUNNELED).
 *  - A rank that fails while the others go on to a collective hangs the job.
 *    Before the next collective after a step that may fail on one rank
 *    only (writing a file, allocating), call snn_mpi_agree(): every rank
 *    learns whether any failed, and which.
 *  - Results of sum reductions are the same on every rank (one reduction
 *    order per call); they may differ from a single-process sum in the
 *    last bits of float rounding.
 *
 * Statistics: every collective adds its payload bytes (per rank, the
 * buffer's size) to counters that snn_mpi_stats() returns, so a benchmark
 * can print the traffic of a step.
 */
#ifndef SNN_MPI_H
#define SNN_MPI_H

#include <stddef.h>
#include <stdint.h>

#include "snn-common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if this build has MPI (compiled with SNN_HAVE_MPI), else 0. */
int snn_mpi_built(void);

/* The number of processes a launcher says it started (OMPI_COMM_WORLD_SIZE,
 * PMIX_SIZE / PMI_SIZE), or 0 when the process was not started by one.
 * Works in builds without MPI (to refuse running N copies of a serial run). */
uint32_t snn_mpi_launched(void);
/* This process's rank as the launcher's environment says (0 when not
 * launched): usable before and without MPI, e.g. to print a start-up error
 * once. */
uint32_t snn_mpi_launched_rank(void);

/* Initialise MPI if a launcher started this process (snn_mpi_launched() >
 * 0) and the build has MPI; otherwise do nothing (a world of one). Idempotent.
 * SNN_ERR_ARG when a launcher started several processes but the build has
 * no MPI (each would run alone and they would write the same files), or
 * when MPI_Init fails. Registers snn_mpi_finalize() with atexit(). */
snn_status snn_mpi_init(void);

/* MPI_Finalize if snn_mpi_init initialised MPI; idempotent. */
void snn_mpi_finalize(void);

/* This process's rank (0..size-1) and the number of processes; 0 and 1
 * without MPI or before snn_mpi_init. */
uint32_t snn_mpi_rank(void);
uint32_t snn_mpi_size(void);

/* Processes of this job on this host (including this one): the ranks that
 * share this machine's cores; 1 without MPI. */
uint32_t snn_mpi_local_size(void);
/* This process's place among them (0..local_size-1, in world-rank order: the
 * same number as OpenMPI's OMPI_COMM_WORLD_LOCAL_RANK); 0 without MPI. Eval
 * and bench take card `local rank` of the host by default (docs/running-on-
 * alveo.md, "Several processes"). */
uint32_t snn_mpi_local_rank(void);

/* In-place sums over all ranks: after the call every rank holds the sum of
 * every rank's buffer. n may exceed INT_MAX (split into several calls). */
snn_status snn_mpi_allreduce_f32(float *buf, size_t n);
snn_status snn_mpi_allreduce_f64(double *buf, size_t n);
snn_status snn_mpi_allreduce_u64(uint64_t *buf, size_t n);

/* In-place sums onto `root` only (the other ranks' buffers are unchanged):
 * counters, timings and accuracies that only the printing rank needs. */
snn_status snn_mpi_reduce_f64(double *buf, size_t n, uint32_t root);
snn_status snn_mpi_reduce_u64(uint64_t *buf, size_t n, uint32_t root);

/* Maximum over all ranks, in place (e.g. the slowest rank's time). */
snn_status snn_mpi_allreduce_max_f64(double *buf, size_t n);

/* Gather: root receives every rank's `bytes` bytes of `mine` into `all`
 * (size x bytes, rank order; `all` is only written on root and may be NULL
 * elsewhere). Without MPI: all = mine. For per-rank figures (records of
 * plain numbers: every rank runs the same executable). */
snn_status snn_mpi_gather(const void *mine, size_t bytes, void *all, uint32_t root);

/* Copy `bytes` of root's buffer into every other rank's buffer. */
snn_status snn_mpi_bcast(void *buf, size_t bytes, uint32_t root);

/* Wait until every rank has arrived. */
snn_status snn_mpi_barrier(void);

/* Agreement after a step that may fail on some ranks only: every rank passes
 * whether it failed; returns -1 if none did, else the lowest failing rank
 * (the same on every rank). With one process: failed ? 0 : -1. */
int snn_mpi_agree(int failed);

/* End every rank of the job at once (a rank that cannot reach the next
 * collective); exit(code) without MPI. Does not return. */
void snn_mpi_abort(int code) __attribute__((noreturn));

/* Traffic since the start (or the last snn_mpi_stats_reset): collective
 * calls and payload bytes per rank (the buffer size of each call). */
typedef struct snn_mpi_stats_t {
    uint64_t calls;
    uint64_t bytes;
    double seconds; /* wall time spent inside the collectives */
} snn_mpi_stats_t;
void snn_mpi_stats(snn_mpi_stats_t *s);
void snn_mpi_stats_reset(void);

#ifdef __cplusplus
}
#endif
#endif
