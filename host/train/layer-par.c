/*
 * layer-par.c - a tiny persistent thread pool for the trainer's layer loops.
 *
 * Every layer loop (conv chunks, BN/LIF channels, pool channels) is a set of
 * independent tasks; each task writes its own outputs, so results do not
 * depend on which worker ran it or on the thread count (reductions across
 * tasks are summed afterwards in task order by the caller). OpenBLAS runs
 * single-threaded inside each task: one level of parallelism, no nested
 * pools fighting over the two cores.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "train-impl.h"

#define PAR_MAX 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    pthread_t th[PAR_MAX];
    uint32_t n;        /* threads created incl. the caller */
    uint32_t active;   /* workers used (<= n) */
    uint64_t gen;      /* bumped per run */
    uint32_t joined;   /* helpers working on this run */
    int closed;        /* the caller ran out of tasks: no helper may join any more */
    snn_task_fn fn;
    void *ctx;
    uint32_t n_tasks;
    atomic_uint next;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 1, 1, 0,
       0, 1, NULL, NULL, 0, 0};

static void work(uint32_t worker)
{
    for (;;) {
        uint32_t t = atomic_fetch_add(&P.next, 1);
        if (t >= P.n_tasks) break;
        P.fn(P.ctx, t, worker);
    }
}

static void *helper(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.gen == seen) pthread_cond_wait(&P.start, &P.mu);
        seen = P.gen;
        /* A helper that wakes after the caller has taken every task does not
         * join: the caller never waits for a thread the scheduler is slow to
         * run (the machine may be shared). */
        if (P.closed || id >= P.active) continue;
        P.joined++;
        pthread_mutex_unlock(&P.mu);
        work(id);
        pthread_mutex_lock(&P.mu);
        if (--P.joined == 0) pthread_cond_signal(&P.done);
    }
    return NULL;
}

void snn_par_set_threads(uint32_t n)
{
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (uint32_t)c : 1;
    }
    if (n > PAR_MAX) n = PAR_MAX;
    openblas_set_num_threads(1);
    pthread_mutex_lock(&P.mu);
    while (P.n < n) { /* threads are only ever added; extra ones just sleep */
        if (pthread_create(&P.th[P.n], NULL, helper, (void *)(uintptr_t)P.n)) break;
        pthread_detach(P.th[P.n]);
        P.n++;
    }
    P.active = n < P.n ? n : P.n;
    pthread_mutex_unlock(&P.mu);
}

uint32_t snn_par_threads(void) { return P.active ? P.active : 1; }

void snn_par_run(uint32_t n_tasks, snn_task_fn fn, void *ctx)
{
    uint32_t nw = snn_par_threads();
    if (nw <= 1 || n_tasks <= 1) {
        for (uint32_t t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&P.mu);
    P.fn = fn;
    P.ctx = ctx;
    P.n_tasks = n_tasks;
    atomic_store(&P.next, 0);
    P.joined = 0;
    P.closed = 0;
    P.gen++;
    pthread_cond_broadcast(&P.start);
    pthread_mutex_unlock(&P.mu);
    work(0);
    pthread_mutex_lock(&P.mu);
    P.closed = 1;
    while (P.joined) pthread_cond_wait(&P.done, &P.mu);
    pthread_mutex_unlock(&P.mu);
}

/* ---- sgemm over the pool ---------------------------------------------------------- */

/* Columns of C per task: fixed, so a column's sums do not depend on the
 * thread count (each comes from the same OpenBLAS call shape). */
enum { SGEMM_COLS = 64 };

typedef struct sgemm_ctx {
    CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float beta, *C;
} sgemm_ctx;

static void sgemm_task(void *vc, uint32_t task, uint32_t worker)
{
    (void)worker;
    const sgemm_ctx *c = vc;
    const int j0 = (int)task * SGEMM_COLS, nj = c->N - j0 < SGEMM_COLS ? c->N - j0 : SGEMM_COLS;
    const float *B = c->B + (c->tb == CblasNoTrans ? (size_t)j0 : (size_t)j0 * (size_t)c->ldb);
    cblas_sgemm(CblasRowMajor, c->ta, c->tb, c->M, nj, c->K, 1.0f, c->A, c->lda, B, c->ldb, c->beta,
                c->C + j0, c->ldc);
}

void snn_par_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    sgemm_ctx c = {ta, tb, M, N, K, lda, ldb, ldc, A, B, beta, C};
    snn_par_run((uint32_t)((N + SGEMM_COLS - 1) / SGEMM_COLS), sgemm_task, &c);
}

static __thread void *tl_buf;
static __thread size_t tl_size;

void *snn_par_scratch(size_t bytes)
{
    if (bytes > tl_size) {
        free(tl_buf);
        tl_buf = NULL;
        tl_size = 0;
        if (posix_memalign(&tl_buf, 64, bytes)) SNN_ASSERT(!"out of memory for thread scratch");
        tl_size = bytes;
    }
    return tl_buf;
}
