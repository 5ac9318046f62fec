/*
 * mpi.c - the MPI layer of mpbn (host/common/snn-mpi.h): initialisation only
 * under a launcher, rank/size, sum/max reductions, broadcast, barrier,
 * agreement, traffic counters. Compiled with -DSNN_HAVE_MPI (and mpicc's
 * include flags) when the build found MPI; otherwise every function acts on
 * a world of one process.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/snn-mpi.h"

#ifdef SNN_HAVE_MPI
#include <mpi.h>
#endif

static struct {
    int inited;      /* this module called MPI_Init */
    int finalized;
    uint32_t rank, size, local_size, local_rank;
    snn_mpi_stats_t stats;
} g_mpi = {.size = 1, .local_size = 1};

int snn_mpi_built(void)
{
#ifdef SNN_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

static uint32_t env_u32(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    return *end || x > UINT32_MAX ? 0 : (uint32_t)x;
}

uint32_t snn_mpi_launched(void)
{
    uint32_t n = env_u32("OMPI_COMM_WORLD_SIZE");
    if (!n) n = env_u32("PMIX_SIZE");
    if (!n) n = env_u32("PMI_SIZE");
    if (n) return n;
    /* a rank variable without a size: a launcher, size unknown (at least 1) */
    if (getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("OMPI_COMM_WORLD_RANK")) return 1;
    return 0;
}

uint32_t snn_mpi_launched_rank(void)
{
    uint32_t r = env_u32("OMPI_COMM_WORLD_RANK");
    if (!r) r = env_u32("PMIX_RANK");
    if (!r) r = env_u32("PMI_RANK");
    return r;
}

uint32_t snn_mpi_rank(void) { return g_mpi.rank; }
uint32_t snn_mpi_size(void) { return g_mpi.size; }
uint32_t snn_mpi_local_size(void) { return g_mpi.local_size; }
uint32_t snn_mpi_local_rank(void) { return g_mpi.local_rank; }

void snn_mpi_stats(snn_mpi_stats_t *s) { *s = g_mpi.stats; }
void snn_mpi_stats_reset(void) { memset(&g_mpi.stats, 0, sizeof g_mpi.stats); }

#ifdef SNN_HAVE_MPI

static void at_exit_finalize(void) { snn_mpi_finalize(); }

snn_status snn_mpi_init(void)
{
    if (g_mpi.inited || !snn_mpi_launched()) return SNN_OK;
    int flag = 0;
    MPI_Initialized(&flag);
    if (!flag) {
        int provided;
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            return snn_fail(SNN_ERR_ARG, "MPI_Init failed");
        g_mpi.inited = 1;
        atexit(at_exit_finalize);
    }
    int r, s;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    g_mpi.rank = (uint32_t)r;
    g_mpi.size = (uint32_t)s;
    /* the ranks that share this host */
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, r, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        int ls, lr;
        MPI_Comm_size(local, &ls);
        MPI_Comm_rank(local, &lr); /* key = world rank: ordered as the world */
        g_mpi.local_size = (uint32_t)ls;
        g_mpi.local_rank = (uint32_t)lr;
        MPI_Comm_free(&local);
    }
    return SNN_OK;
}

void snn_mpi_finalize(void)
{
    if (!g_mpi.inited || g_mpi.finalized) return;
    g_mpi.finalized = 1;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

static int active(void) { return g_mpi.inited && !g_mpi.finalized && g_mpi.size > 1; }

/* Count and time one collective of `bytes`. */
#define TIMED(nbytes_, call)                                                                         \
    do {                                                                                           \
        const double t0_ = snn_now();                                                              \
        int rc_ = (call);                                                                          \
        g_mpi.stats.seconds += snn_now() - t0_;                                                    \
        g_mpi.stats.calls++;                                                                       \
        g_mpi.stats.bytes += (nbytes_);                                                            \
        if (rc_ != MPI_SUCCESS) return snn_fail(SNN_ERR_IO, "MPI collective failed (%d)", rc_);  \
    } while (0)

#define CHUNK ((size_t)1 << 30) /* elements per call: below INT_MAX */

static snn_status allreduce(void *buf, size_t n, size_t elem, MPI_Datatype type, MPI_Op op)
{
    if (!active()) return SNN_OK;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t k = n - i < CHUNK ? n - i : CHUNK;
        TIMED(k * elem, MPI_Allreduce(MPI_IN_PLACE, (char *)buf + i * elem, (int)k, type, op,
                                      MPI_COMM_WORLD));
    }
    return SNN_OK;
}

static snn_status reduce(void *buf, size_t n, size_t elem, MPI_Datatype type, uint32_t root)
{
    if (!active()) return SNN_OK;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t k = n - i < CHUNK ? n - i : CHUNK;
        char *p = (char *)buf + i * elem;
        TIMED(k * elem, MPI_Reduce(g_mpi.rank == root ? MPI_IN_PLACE : p, p, (int)k, type, MPI_SUM,
                                   (int)root, MPI_COMM_WORLD));
    }
    return SNN_OK;
}

snn_status snn_mpi_allreduce_f32(float *buf, size_t n)
{
    return allreduce(buf, n, sizeof *buf, MPI_FLOAT, MPI_SUM);
}
snn_status snn_mpi_allreduce_f64(double *buf, size_t n)
{
    return allreduce(buf, n, sizeof *buf, MPI_DOUBLE, MPI_SUM);
}
snn_status snn_mpi_allreduce_u64(uint64_t *buf, size_t n)
{
    return allreduce(buf, n, sizeof *buf, MPI_UINT64_T, MPI_SUM);
}
snn_status snn_mpi_allreduce_max_f64(double *buf, size_t n)
{
    return allreduce(buf, n, sizeof *buf, MPI_DOUBLE, MPI_MAX);
}
snn_status snn_mpi_reduce_f64(double *buf, size_t n, uint32_t root)
{
    return reduce(buf, n, sizeof *buf, MPI_DOUBLE, root);
}
snn_status snn_mpi_reduce_u64(uint64_t *buf, size_t n, uint32_t root)
{
    return reduce(buf, n, sizeof *buf, MPI_UINT64_T, root);
}

snn_status snn_mpi_bcast(void *buf, size_t bytes, uint32_t root)
{
    if (!active()) return SNN_OK;
    for (size_t i = 0; i < bytes; i += CHUNK) {
        size_t k = bytes - i < CHUNK ? bytes - i : CHUNK;
        TIMED(k, MPI_Bcast((char *)buf + i, (int)k, MPI_BYTE, (int)root, MPI_COMM_WORLD));
    }
    return SNN_OK;
}

snn_status snn_mpi_gather(const void *mine, size_t bytes, void *all, uint32_t root)
{
    if (!active()) {
        if (all && bytes) memmove(all, mine, bytes);
        return SNN_OK;
    }
    if (bytes > INT_MAX) return snn_fail(SNN_ERR_ARG, "MPI gather of %zu bytes per rank", bytes);
    TIMED(bytes, MPI_Gather(mine, (int)bytes, MPI_BYTE, g_mpi.rank == root ? all : NULL,
                            (int)bytes, MPI_BYTE, (int)root, MPI_COMM_WORLD));
    return SNN_OK;
}

snn_status snn_mpi_barrier(void)
{
    if (!active()) return SNN_OK;
    TIMED(0, MPI_Barrier(MPI_COMM_WORLD));
    return SNN_OK;
}

int snn_mpi_agree(int failed)
{
    if (!active()) return failed ? 0 : -1;
    int me = failed ? (int)g_mpi.rank : INT_MAX, first = INT_MAX;
    if (MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        snn_mpi_abort(1); /* the job cannot agree on anything any more */
    g_mpi.stats.calls++;
    g_mpi.stats.bytes += sizeof me;
    return first == INT_MAX ? -1 : first;
}

void snn_mpi_abort(int code)
{
    fflush(NULL);
    if (g_mpi.inited && !g_mpi.finalized) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

#else /* no MPI: a world of one process */

snn_status snn_mpi_init(void)
{
    uint32_t n = snn_mpi_launched();
    if (n > 1)
        return snn_fail(SNN_ERR_ARG,
                        "started as one of %u processes (mpirun), but this mpbn was built without "
                        "MPI: each would run alone and write the same files. Install "
                        "libopenmpi-dev and rebuild (make), or run without mpirun",
                        n);
    return SNN_OK;
}

void snn_mpi_finalize(void) {}
snn_status snn_mpi_allreduce_f32(float *buf, size_t n) { return SNN_OK; }
snn_status snn_mpi_allreduce_f64(double *buf, size_t n) { return SNN_OK; }
snn_status snn_mpi_allreduce_u64(uint64_t *buf, size_t n) { return SNN_OK; }
snn_status snn_mpi_allreduce_max_f64(double *buf, size_t n) { return SNN_OK; }
snn_status snn_mpi_reduce_f64(double *buf, size_t n, uint32_t root) { return SNN_OK; }
snn_status snn_mpi_reduce_u64(uint64_t *buf, size_t n, uint32_t root) { return SNN_OK; }
snn_status snn_mpi_bcast(void *buf, size_t bytes, uint32_t root) { return SNN_OK; }
snn_status snn_mpi_gather(const void *mine, size_t bytes, void *all, uint32_t root)
{
    (void)root;
    if (all && bytes) memmove(all, mine, bytes);
    return SNN_OK;
}
snn_status snn_mpi_barrier(void) { return SNN_OK; }
int snn_mpi_agree(int failed) { return failed ? 0 : -1; }

void snn_mpi_abort(int code)
{
    fflush(NULL);
    exit(code);
}

#endif
