/*
 * train-impl.h - internals of the float model and trainer (snn-train.h).
 *
 * Activation layout: every tensor of a layer is channel-major over the whole
 * multi-step batch, [C][N][H][W] with N = T*B and image n = t*B + b. A conv
 * is then ONE im2col + sgemm over all T*B images (weights shared over time),
 * BN statistics of a channel are one contiguous run, and the LIF recurrence
 * of step t reads the slice t*B..t*B+B-1 of every channel. The first layer
 * sees the same analogue image at every step, so its conv/BN run over the B
 * images once (N = B) and the LIF reads that slice at every step.
 */
#ifndef SNN_TRAIN_IMPL_H
#define SNN_TRAIN_IMPL_H

#include <cblas.h>

#include "snn-train.h"

#define SNN_MAX_PARAMS (SNN_MAX_LAYERS * 10 + 4)

typedef enum {
    SNN_PARAM_WEIGHT = 0, /* trained, weight decay */
    SNN_PARAM_AFFINE,     /* trained, no decay (BN/MPBN gamma/beta, output bias) */
    SNN_PARAM_STAT,       /* running statistic: saved, not trained */
} snn_param_kind;

typedef struct snn_param {
    char name[64];
    snn_param_kind kind;
    uint32_t ndim;
    int64_t shape[4];
    size_t n;
    float *data;
    float *grad; /* NULL for statistics */
    float *mom;  /* SGD momentum buffer, NULL for statistics */
} snn_param;

typedef struct snn_tlayer {
    snn_layer_kind kind;
    uint32_t index;
    uint32_t ic, ih, iw, oc, oh, ow;
    uint32_t ihw, ohw;      /* ih*iw, oh*ow */
    size_t in_n, out_n;     /* neurons per image */
    int first;              /* reads the image (conv/BN over B, LIF reuses it) */
    /* parameters (point into the param table) */
    snn_param *w, *b;       /* conv/fc weight; output-layer bias */
    snn_param *bn_g, *bn_b, *bn_rm, *bn_rv;
    snn_param *mp_g, *mp_b, *mp_rm, *mp_rv;
    uint32_t mp_n;          /* MPBN parameter count (C or C*H*W), 0 if none */
    /* workspace, sized for the model's workspace batch */
    float *z;               /* conv/fc output before BN, [C][Nz][HW] */
    float *upre;            /* membrane before reset, [C][N][HW] */
    float *out;             /* spikes (LIF or pool), [C][N][HW] */
    uint8_t *arg;           /* pool: index 0..3 of the max in its window */
    float *xt;              /* fc/out: input gathered per image, [N][in_n] */
    float *bn_mean, *bn_istd;  /* [C] of the current batch (train) or running */
    float *mp_mean, *mp_istd;  /* [T][mp_n] per step (train) */
    uint64_t *spikes;          /* [C]: spikes of each channel in the last forward */
} snn_tlayer;

struct snn_model {
    snn_model_config cfg;
    snn_arch arch;
    uint32_t n_layers; /* incl. output */
    snn_tlayer layers[SNN_MAX_LAYERS + 1];
    uint32_t n_params;
    snn_param params[SNN_MAX_PARAMS];
    int with_grads;    /* grad/mom buffers allocated */
    /* training bookkeeping kept with the model so checkpoints are complete */
    uint32_t epochs_done, epochs_total;
    uint64_t seed, rng_state;
    double lr, weight_decay, momentum;
    uint32_t batch;
    uint32_t augment;  /* SNN_AUG_* bits */
    uint32_t limit_train, limit_test, max_batches; /* the run's data limits (0 = all) */
    double rate_reg;   /* spike-count regulariser weight X (0 = off): snn_model_backward */
    double label_smoothing; /* e of snn_model_loss's target (0 = one-hot) */
    char data_dir[4096]; /* the run's data directory ("" = not recorded) */
    double test_acc;   /* < 0: not evaluated */
    /* workspace */
    uint32_t ws_batch;     /* images per batch the buffers hold (0 = none) */
    float *x;              /* normalised input [C][B][HW] */
    float *g0, *g1;        /* gradient ping-pong, max N*neurons */
    float *col;            /* im2col chunks, one per worker */
    size_t col_n;          /* floats per worker */
    float *dwp;            /* conv weight-gradient partials, one per task */
    uint32_t ws_threads;   /* workers the workspace was sized for */
    float *dlogits;        /* [B][classes] */
    float *logits;         /* [B][classes] */
    float *yout;           /* output layer per step [classes][N] */
    /* every trained parameter's grad in one block (p->grad points into it),
     * 64-byte aligned per parameter, followed by SNN_GRAD_EXTRA floats: the
     * one fused buffer a data-parallel step sums over the ranks */
    float *grad_all;
    size_t grad_n;         /* floats in grad_all before the extra ones */
    /* data-parallel training (docs/trainer.md "Several processes (MPI)"):
     * snn_model_set_dist; all 0/NULL in a single process */
    uint32_t loss_batch;   /* images the loss averages over (the global batch); 0 = B */
    double *sync_buf;      /* not NULL: BN/MPBN batch statistics are summed over the ranks */
    uint32_t sync_ranks;   /* ranks those sums come from */
};

/* Floats after the gradients in grad_all (train.c: the batch's loss,
 * correct count and spike rate, the count and sum of stop values). */
#define SNN_GRAD_EXTRA 16u

/* Data-parallel training: the loss (and the regulariser) average over
 * loss_batch images (the global batch, of which this rank holds B); with
 * sync_ranks > 1 the batch statistics of BN and MPBN are sums over all
 * ranks (host/common/snn-mpi.h), so the forward and backward equal those
 * of one process with the whole batch. sync_ranks 0 or 1: local statistics. */
snn_status snn_model_set_dist(snn_model *m, uint32_t loss_batch, uint32_t sync_ranks);

/* ---- thread pool (host/train/layer-par.c) ----------------------------------------- */

/* fn(ctx, task, worker) for task = 0..n_tasks-1 on the pool's workers
 * (worker < snn_par_threads()); returns when all are done. */
typedef void (*snn_task_fn)(void *ctx, uint32_t task, uint32_t worker);
void snn_par_set_threads(uint32_t n); /* 0 = all cores; OpenBLAS is set to 1 thread */
uint32_t snn_par_threads(void);
void snn_par_run(uint32_t n_tasks, snn_task_fn fn, void *ctx);
/* Row-major C = op(A) op(B) + beta C (alpha 1) as one OpenBLAS call per 64
 * columns of C, on the pool: the fc layers' GEMMs (results independent of
 * the thread count). */
void snn_par_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);
/* Per-thread scratch of at least `bytes` (grown on demand, never freed). */
void *snn_par_scratch(size_t bytes);

/* ---- layers (host/train/layer-*.c) ------------------------------------------------ */

/* Split of n images into im2col chunks (tasks): keeps each column buffer a
 * few MiB and gives each of SNN_PLAN_WORKERS workers several tasks. The
 * split does not depend on the thread count, so neither do the weight
 * gradients (sums of per-chunk parts in chunk order) nor the chunks' path
 * choices. *col_floats = per-worker column buffer size. */
enum { SNN_PLAN_WORKERS = 8 };
void snn_conv_plan(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t n, uint32_t *chunk,
                   uint32_t *n_tasks, size_t *col_floats);

/* in [cin][n][h][w] -> out [cout][n][h][w]; 3x3, pad 1 with value `pad`.
 * spikes: every input value is 0 or 1 (and pad is 0), so chunks may take
 * the event-driven path of layer-conv-spike.c (asserted while packing).
 * col: snn_par_threads() buffers of col_floats. */
void snn_conv_forward(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                      int spikes, const float *wt, uint32_t cout, float *out, float *col);
/* dw (cout x cin*9) = dout * im2col(in)^T (overwritten; dwp = n_tasks
 * partial sums, summed in task order); din (may be NULL) = dL/din. */
void snn_conv_backward(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                       int spikes, const float *wt, uint32_t cout, const float *dout, float *dw,
                       float *dwp, float *din, float *col);

/* Which path a conv of a spike input takes: OFF always the dense GEMM,
 * AUTO the event-driven path for chunks of spike rates up to a limit that
 * depends on OpenBLAS's kernels (layer-conv.c), ALWAYS the event-driven
 * path. Until set, the environment's MPBN_SPIKE_CONV (0, 1 or 2) chooses,
 * else AUTO. */
enum { SNN_SPIKE_PATH_OFF = 0, SNN_SPIKE_PATH_AUTO = 1, SNN_SPIKE_PATH_ALWAYS = 2 };
void snn_conv_set_spike_path(int mode);
/* The dense convolutions (the forward where the spike path is not taken,
 * every input gradient): GEMM as im2col + sgemm, DIRECT on a padded map
 * (layer-conv-direct.c), WINOGRAD by F(2x2, 3x3) on the same map
 * (layer-conv-winograd.c); below 8 input channels always the GEMM. Until
 * set, the environment's MPBN_DENSE_CONV (gemm, direct or winograd)
 * chooses, else WINOGRAD where built with AVX-512, GEMM otherwise. */
enum { SNN_DENSE_GEMM = 0, SNN_DENSE_DIRECT = 1, SNN_DENSE_WINOGRAD = 2 };
void snn_conv_set_dense(int mode);

/* The event-driven conv of a spike input (host/train/layer-conv-spike.c).
 * Weight rows are padded to snn_sconv_ld(cout) floats; ws_floats is its
 * share of a worker's column buffer for a chunk of `chunk` images; count
 * returns the ones of a chunk; pack writes the chunk's bit words at the
 * start of col and returns the count of ones, for forward_chunk (same col);
 * dw_chunk needs no packing and returns the count of ones. */
uint32_t snn_sconv_ld(uint32_t cout);
size_t snn_sconv_ws_floats(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t chunk);
/* wk: snn_sconv_wk_floats floats (the forward's weight layout) */
size_t snn_sconv_wk_floats(uint32_t cin, uint32_t cout);
void snn_sconv_weights(const float *wt, uint32_t cin, uint32_t cout, float *wk);
size_t snn_sconv_pack(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h,
                      uint32_t w, float *col);
void snn_sconv_forward_chunk(uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                             const float *wk, uint32_t cout, float *out, float *col);
size_t snn_sconv_count(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, size_t hw);
size_t snn_sconv_dw_chunk(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h,
                          uint32_t w, uint32_t cout, const float *dout, float *dw, float *col);

/* The dense 3x3 conv computed directly on a padded flat map, no im2col
 * (host/train/layer-conv-direct.c): out[a] = sum over b, k of
 * m[a][b][k] * in[b] shifted by tap k (pad outside). weights packs W
 * (cout x cin x 9) as m for the forward (a = co, b = ci; for_din 0) or
 * for the input gradient (a = ci, b = co, taps rotated by 180 degrees;
 * for_din 1) into pk_floats(na, nb) floats; chunk computes images
 * n0..n0+cn-1 of out [na][N][h][w] from in [nb][N][h][w], using
 * ws_floats(nb, h, w, cn) floats of ws. */
size_t snn_dconv_pk_floats(uint32_t na, uint32_t nb);
void snn_dconv_weights(const float *wt, uint32_t cout, uint32_t cin, int for_din, float *pk);
size_t snn_dconv_ws_floats(uint32_t nb, uint32_t h, uint32_t w, uint32_t chunk);
void snn_dconv_chunk(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                     float pad, const float *pk, uint32_t na, float *out, float *ws);

/* The padded flat maps of the direct conv, shared with the Winograd one:
 * channel b at ws + b * len, image i's (h+2) x (w+2) map at guard + i *
 * (h+2)(w+2), pad everywhere else up to len (>= guard + cn (h+2)(w+2)). */
void snn_dconv_pad_maps(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h,
                        uint32_t w, float pad, size_t guard, size_t len, float *ws);

/* The same dense 3x3 conv by Winograd's F(2x2, 3x3)
 * (host/train/layer-conv-winograd.c), with the direct conv's arguments:
 * weights transforms W into pk_floats(na, nb) floats, chunk uses
 * ws_floats(nb, na, h, w, cn) floats of ws. */
size_t snn_wconv_pk_floats(uint32_t na, uint32_t nb);
void snn_wconv_weights(const float *wt, uint32_t cout, uint32_t cin, int for_din, float *pk);
size_t snn_wconv_ws_floats(uint32_t nb, uint32_t na, uint32_t h, uint32_t w, uint32_t chunk);
void snn_wconv_chunk(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                     float pad, const float *pk, uint32_t na, float *out, float *ws);
/* The weight gradient of the conv from `in` (cin channels, pad outside)
 * to dout (cout channels) over images n0..n0+cn-1, by the transpose of
 * F(2x2, 3x3): dw[co][ci][9] (written, not added to), using
 * dw_ws_floats(cin, cout, h, w, cn) floats of ws. */
size_t snn_wconv_dw_ws_floats(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t chunk);
void snn_wconv_dw_chunk(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                        float pad, const float *dout, uint32_t cout, float *dw, float *ws);

/* The two packed-weight dense convs (direct, Winograd) behind one call
 * shape: snn_dense_kernel_of(SNN_DENSE_DIRECT or SNN_DENSE_WINOGRAD), NULL
 * for any other mode. ws_floats(nb, na, h, w, cn) is chunk's share of ws. */
typedef struct snn_dense_kernel {
    const char *name;
    size_t (*pk_floats)(uint32_t na, uint32_t nb);
    void (*weights)(const float *wt, uint32_t cout, uint32_t cin, int for_din, float *pk);
    size_t (*ws_floats)(uint32_t nb, uint32_t na, uint32_t h, uint32_t w, uint32_t chunk);
    void (*chunk)(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                  float pad, const float *pk, uint32_t na, float *out, float *ws);
} snn_dense_kernel;
const snn_dense_kernel *snn_dense_kernel_of(int mode);

/* [c][n][hw] <-> [n][c*hw] */
void snn_gather_images(const float *in, uint32_t c, uint32_t n, uint32_t hw, float *xt);
void snn_scatter_images(const float *xt, uint32_t c, uint32_t n, uint32_t hw, float *out);

/* BN over [c][n][hw]: train -> batch mean/istd (+ running update with the
 * unbiased variance over n_eff samples); eval -> running stats. */
void snn_bn_forward_stats(const float *z, uint32_t c, size_t per_c, int train, size_t n_eff,
                          float momentum, float eps, float *rm, float *rv, float *mean, float *istd);
/* The same in training mode with the sums of every rank (sync: 2c doubles,
 * ranks: the number of ranks; per_c and n_eff are this rank's counts). */
void snn_bn_forward_stats_sync(const float *z, uint32_t c, size_t per_c, size_t n_eff,
                               float momentum, float eps, float *rm, float *rv, float *mean,
                               float *istd, double *sync, uint32_t ranks);
/* dy [c][ny][hw] (ny = reps*nz) -> dz [c][nz][hw]; reps > 1 sums the
 * replicated copies (first layer). dgamma/dbeta accumulate (+=). In place
 * (dz == dy) only when reps == 1. */
void snn_bn_backward(const float *z, const float *dy, uint32_t c, uint32_t nz, uint32_t reps,
                     uint32_t hw, const float *gamma, const float *mean, const float *istd,
                     float *dz, float *dgamma, float *dbeta);
/* The same with the batch sums of every rank (sync: 2c doubles); dgamma and
 * dbeta still get this rank's share only (the gradient sum adds the rest). */
void snn_bn_backward_sync(const float *z, const float *dy, uint32_t c, uint32_t nz, uint32_t reps,
                          uint32_t hw, const float *gamma, const float *mean, const float *istd,
                          float *dz, float *dgamma, float *dbeta, double *sync, uint32_t ranks);

/* LIF + MPBN over all steps of one layer (see train-impl.h layout). */
typedef struct snn_lif_args {
    uint32_t c, hw, B, T;
    int shared_z;            /* z holds B images reused at every step */
    const float *z;          /* [c][Nz][hw] pre-BN */
    const float *bn_g, *bn_b, *bn_mean, *bn_istd;
    snn_mpbn_mode mode;
    float *mp_g, *mp_b, *mp_rm, *mp_rv; /* [mp_n] */
    float *mp_mean, *mp_istd;           /* [T][mp_n] */
    float tau, vth, eps, momentum;
    int train;
    float *upre, *out;       /* [c][T*B][hw] */
    uint64_t *spikes;        /* [c]: forward writes each channel's spike count */
    float *dmp_g, *dmp_b;    /* backward: accumulate (+=) */
    /* not NULL: statistics summed over sync_ranks ranks (train only); a
     * buffer of 2 * mp_n doubles (snn_model_set_dist) */
    double *sync_buf;
    uint32_t sync_ranks;
} snn_lif_args;
void snn_lif_forward(const snn_lif_args *a);
/* g [c][T*B][hw]: in = dL/d(spikes), out = dL/d(BN output) (in place). */
void snn_lif_backward(const snn_lif_args *a, float *g);

/* 2x2 stride-2 max-pool (floor) of [c][n][h][w]. */
void snn_pool_forward(const float *in, uint32_t c, uint32_t n, uint32_t h, uint32_t w, float *out,
                      uint8_t *arg);
void snn_pool_backward(const float *dout, const uint8_t *arg, uint32_t c, uint32_t n, uint32_t h,
                       uint32_t w, float *din);

/* ---- network (host/train/layers.c) --------------------------------------------------- */

/* (Re)allocate the workspace for batches of up to B images. */
snn_status snn_model_workspace(snn_model *m, uint32_t B);
/* One training image's augmentation (SNN_AUG_*): shifted by (sy, sx) with
 * black entering, mirrored if flip, then the eh x ew rectangle at (ey, ex)
 * of the result set to black (eh = 0: none). */
typedef struct snn_aug_draw {
    int8_t sy, sx;
    uint8_t flip;
    uint16_t ey, ex, eh, ew;
} snn_aug_draw;
/* The draw of one image from two words of the training stream (r2 is only
 * drawn when SNN_AUG_ERASE is on, so runs without it keep their stream):
 * crop: r bits 0-15, flip: bit 16; erase: r2 (probability 1/2, area
 * 2-40% of h x w, aspect 0.3..3.3, clamped to the image). */
void snn_aug_draw_make(uint32_t augment, uint64_t r, uint64_t r2, uint32_t h, uint32_t w, snn_aug_draw *d);
/* Normalise (and optionally augment) images into m->x. idx selects the
 * images of ds-like storage: image i of the batch is pixels + idx[i]*px.
 * aug: one draw per image, or NULL (none). */
void snn_model_load_input(snn_model *m, const uint8_t *pixels, const uint32_t *idx, uint32_t B,
                          const snn_aug_draw *aug);
/* Forward of the batch in m->x; logits [B][classes] into m->logits. */
void snn_model_forward(snn_model *m, uint32_t B, int train);
/* Cross-entropy of m->logits vs labels: loss (mean), correct count; sets m->dlogits. */
double snn_model_loss(snn_model *m, uint32_t B, const uint8_t *labels, uint32_t *correct);
/* Fan-out-weighted mean firing rate of the batch's last forward (train or
 * eval, B images): R = sum_l F_l S_l / (T B sum_l n_l F_l) over the LIF
 * layers l, with S_l the layer's spike count over all steps and images,
 * n_l its neurons per image and F_l its nominal fan-out (synapses one of
 * its spikes reaches: 9 x the channels of a following conv, the outputs of
 * a following fc or output layer; a pool in between passes the spike on).
 * R is in 0..1: the synaptic operations of the batch relative to every
 * neuron firing at every step. */
double snn_model_spike_rate(snn_model *m, uint32_t B);
/* dR/d(one spike of LIF layer l) times T*B: F_l / sum_k n_k F_k (0 for a
 * layer without LIF). */
double snn_model_rate_weight(const snn_model *m, uint32_t l);
/* Backward after a train forward + loss: fills every param's grad of the
 * loss cross-entropy + m->rate_reg * R (R: snn_model_spike_rate; with
 * rate_reg 0 the regulariser is not touched at all). The regulariser's
 * gradient is dR/do added to each LIF layer's incoming spike gradient, so
 * it flows through the surrogate and BPTT like the cross-entropy's. */
void snn_model_backward(snn_model *m, uint32_t B);

/* Allocate grad/momentum buffers. */
snn_status snn_model_alloc_grads(snn_model *m);
snn_param *snn_model_find_param(const snn_model *m, const char *name);

/* ---- rng -------------------------------------------------------------------- */

/* snn_rng_next, snn_rng_uniform: include/snn-common.h */
static inline uint32_t snn_rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((snn_rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

#endif
