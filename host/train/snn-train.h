/*
 * snn-train.h - the float spiking network of mpbn: architecture spec, model
 * (load / save / query), training on the CPU and evaluation.
 *
 * The network (docs/checkpoint.md has the exact conventions, docs/trainer.md
 * the design):
 *
 *   image -> norm -> [conv3x3|fc] -> BN -> LIF(MPBN) -> ... -> fc(out) -> mean_t
 *
 * Hidden conv/fc layers have BN (statistics pooled over time, batch, space)
 * and an LIF neuron (tau 0.25, Vth 0.5, hard reset) whose firing decision is
 * taken on the MPBN-normalised membrane m = MPBN(u_pre); the membrane carried
 * to the next step is the raw u_pre. Pool layers max-pool spikes (2x2).
 * The output layer is an fc with bias whose outputs are averaged over T.
 *
 * Layers are numbered by their position in the architecture spec (the
 * implied output layer comes last); the same index names the checkpoint
 * tensors ("layers.{i}.weight") and the spike recordings below.
 *
 * Loading a checkpoint and recording every layer's spikes (for the fold):
 *
 *     static void on_spikes(uint32_t layer, uint32_t t, uint32_t image,
 *                           const float *spikes, uint32_t n, void *ctx)
 *     {
 *         // spikes[0..n-1] are 0.0f / 1.0f in C,H,W order of that layer
 *     }
 *
 *     snn_model *m;
 *     if (snn_model_load("net.safetensors", &m) != SNN_OK) { ... snn_last_error() ... }
 *     const snn_model_config *cfg = snn_model_get_config(m);
 *     for (uint32_t i = 0; i < snn_model_n_layers(m); i++) {
 *         snn_layer_info li;
 *         snn_model_layer(m, i, &li);           // kind, shapes
 *     }
 *     uint32_t n;
 *     const float *w0 = snn_model_param(m, "layers.0.weight", &n);
 *     float *logits = malloc(sizeof(float) * n_images * cfg->n_classes);
 *     snn_model_forward_eval(m, pixels, n_images, logits, on_spikes, ctx);
 *     snn_model_free(m);
 */
#ifndef SNN_TRAIN_H
#define SNN_TRAIN_H

#include <signal.h> /* sig_atomic_t */

#include "io/snn-data.h"
#include "snn-common.h"
#include "snn-deploy-format.h" /* snn_layer_kind, SNN_MAX_LAYERS */

#ifdef __cplusplus
extern "C" {
#endif

#define SNN_ARCH_DEFAULT "c32,c32,p,c64,p,f128"
#define SNN_ARCH_MAX_WIDTH 4096u

typedef enum {
    SNN_MPBN_NONE = 0,    /* plain LIF: fire on u_pre */
    SNN_MPBN_CHANNEL = 1, /* one lambda/beta/statistic per channel */
    SNN_MPBN_ELEMENT = 2, /* one per neuron (C,H,W) */
} snn_mpbn_mode;

/* MPBN epsilon of a new run (checkpoint key "mpbn_eps"). Element-wise MPBN
 * normalises each neuron over the B images of a batch; a neuron whose
 * membrane is the same in every image (a background pixel) has batch
 * variance 0, and with the BN epsilon 1e-5 its normalisation would scale
 * the membrane and its gradient by 1/sqrt(1e-5) = 316. The epsilon is a
 * variance floor: m = lambda (u - mu) / sqrt(var + eps), so the gain of a
 * (near-)constant neuron is at most lambda / sqrt(eps) (docs/trainer.md,
 * "Element-wise MPBN: the variance floor"). Channel statistics pool B*H*W
 * values and keep the BN epsilon. The float eval and the fold read the
 * epsilon from the checkpoint, so they follow whatever the run used. */
#define SNN_MPBN_EPS 1e-5f
#define SNN_MPBN_ELEMENT_EPS 0.1f

/* "none" / "channel" / "element" <-> mode; parse returns SNN_ERR_ARG naming the value. */
const char *snn_mpbn_mode_str(snn_mpbn_mode mode);
snn_status snn_mpbn_mode_parse(const char *s, snn_mpbn_mode *mode);

/* ---- architecture spec ------------------------------------------------------ */

/* "c32,c32,p,c64,p,f128": cN = 3x3 conv with N channels, p = 2x2 max-pool,
 * fN = fully connected with N outputs; the n_classes output layer is implied.
 * The first layer must be c or f; no conv after an fc. */
typedef struct snn_arch {
    uint32_t n;                          /* hidden layers (output not included) */
    snn_layer_kind kind[SNN_MAX_LAYERS]; /* SNN_LAYER_CONV / POOL / FC */
    uint32_t width[SNN_MAX_LAYERS];      /* channels / outputs (0 for pool) */
} snn_arch;

/* Parse a spec; errors are SNN_ERR_ARG naming the bad token. */
snn_status snn_arch_parse(const char *spec, snn_arch *arch);

/* ---- model -------------------------------------------------------------------- */

typedef struct snn_model_config {
    char arch[256];          /* spec string */
    uint32_t T;              /* time steps, 1..SNN_MAX_T */
    snn_mpbn_mode mpbn;
    uint32_t in_c, in_h, in_w;
    uint32_t n_classes;
    float norm_mean, norm_std; /* x_n = (x/255 - mean)/std */
    float tau, vth;            /* 0.25, 0.5 */
    float bn_eps, mpbn_eps;    /* 1e-5; a new element-wise run: SNN_MPBN_ELEMENT_EPS */
    float bn_momentum;         /* 0.1 (PyTorch convention), also for MPBN */
} snn_model_config;

/* Fill the defaults (default arch, T 4, channel MPBN, 1x28x28, 10 classes,
 * mean 0 / std 1, tau 0.25, vth 0.5, eps 1e-5, momentum 0.1). */
void snn_model_config_default(snn_model_config *cfg);

typedef struct snn_model snn_model; /* opaque; host/train/train-impl.h */

typedef struct snn_layer_info {
    snn_layer_kind kind;
    uint32_t index;             /* position in the spec (checkpoint name) */
    uint32_t in_c, in_h, in_w;  /* input shape (C,H,W); fc: in_c = inputs, h = w = 1 */
    uint32_t out_c, out_h, out_w;
    int has_bn, has_mpbn, has_lif; /* conv/fc hidden: BN + LIF; MPBN unless mode none */
} snn_layer_info;

/* Build a model with freshly initialised parameters (PyTorch-like
 * Kaiming-uniform, bound 1/sqrt(fan_in); BN/MPBN gamma 1, beta 0, running
 * mean 0, var 1) from the splitmix64 stream seeded with `seed`. */
snn_status snn_model_create(const snn_model_config *cfg, uint64_t seed, snn_model **out);

/* Load a checkpoint written by `mpbn train` (docs/checkpoint.md), after
 * snn_ckpt_validate(). */
snn_status snn_model_load(const char *path, snn_model **out);

/* ---- checkpoint validation ----------------------------------------------------- */

/* Limits of every checkpoint consumer (snn_model_create keeps to them too). */
#define SNN_CKPT_MAX_DIM 4096u          /* in_c, in_h, in_w */
#define SNN_CKPT_MAX_NEURONS (1u << 24) /* the input and every layer's output */
#define SNN_CKPT_MAX_CLASSES 256u       /* labels are bytes */

struct snn_st_file;

/* The options that shape a training run (snn_train_opts.given, and the
 * checkpoint keys snn_ckpt_info.run_keys says are present). */
#define SNN_RUN_DATA (1u << 0)        /* --data: key "data" */
#define SNN_RUN_ARCH (1u << 1)        /* --arch: "arch" */
#define SNN_RUN_T (1u << 2)           /* --T: "T" */
#define SNN_RUN_MPBN (1u << 3)        /* --mpbn: "mpbn" */
#define SNN_RUN_EPOCHS (1u << 4)      /* --epochs: "epochs_total" */
#define SNN_RUN_BATCH (1u << 5)       /* --batch: "batch" */
#define SNN_RUN_LR (1u << 6)          /* --lr: "lr" */
#define SNN_RUN_WD (1u << 7)          /* --wd: "weight_decay" */
#define SNN_RUN_LIMIT_TRAIN (1u << 8) /* --limit-train: "limit_train" */
#define SNN_RUN_LIMIT_TEST (1u << 9)  /* --limit-test: "limit_test" */
#define SNN_RUN_SEED (1u << 10)       /* --seed: "seed" */
#define SNN_RUN_AUGMENT (1u << 11)    /* --augment: "augment" */
#define SNN_RUN_MAX_BATCHES (1u << 12) /* --max-batches: "max_batches" */
#define SNN_RUN_RATE_REG (1u << 13)   /* --rate-reg: "rate_reg" */
#define SNN_RUN_LABEL_SMOOTHING (1u << 14) /* --label-smoothing: "label_smoothing" */

/* What snn_ckpt_validate found. Numbers are kept as parsed (double) so that
 * the fold sees exactly the written values; absent optional keys hold their
 * defaults (mpbn_eps = bn_eps, bn_momentum 0.1, lr 0.1, weight_decay 5e-4,
 * momentum 0.9, seed 1, augment crop + flip (what the builds that wrote no
 * key trained with), limits and max_batches 0, rate_reg and label_smoothing
 * 0 (what those builds trained with), data "", test_acc -1). */
typedef struct snn_ckpt_info {
    char arch[256];
    snn_arch spec;
    uint32_t T;
    snn_mpbn_mode mpbn;
    uint32_t in_c, in_h, in_w, n_classes;
    double norm_mean, norm_std, tau, vth, bn_eps, mpbn_eps, bn_momentum;
    uint32_t n_layers;                     /* incl. the output layer */
    snn_layer_info layers[SNN_MAX_LAYERS]; /* shapes as snn_model_layer() gives them */
    uint32_t n_tensors;                    /* network tensors (not momentum buffers) */
    uint64_t n_values;                     /* floats in them */
    uint32_t n_momentum;                   /* optim.*.momentum buffers present */
    int resumable;                         /* every momentum buffer and rng_state present */
    int has_rng_state;
    uint32_t epochs_done, epochs_total, batch; /* 0 when absent */
    uint64_t seed, rng_state;
    double lr, weight_decay, momentum, test_acc;
    uint32_t augment;                      /* SNN_AUG_* bits */
    uint32_t limit_train, limit_test;      /* the run's --limit-train/--limit-test (0 = all) */
    uint32_t max_batches;                  /* the run's --max-batches (0 = all) */
    double rate_reg;                       /* the run's --rate-reg (0 = none) */
    double label_smoothing;                /* the run's --label-smoothing (0 = none) */
    char data[4096];                       /* the run's data directory ("" when absent) */
    uint32_t run_keys;                     /* SNN_RUN_* bits of the run keys present */
} snn_ckpt_info;

/* The one validation of a checkpoint, run by every consumer before it reads
 * one (eval --device float and train --resume through snn_model_load and the
 * resume path, fold, info), so that none accepts what another refuses:
 * metadata (format, version, arch, T, mpbn, input shape, n_classes,
 * norm_mean/std, tau, vth, eps, and the training bookkeeping when present)
 * and tensors (every one of the architecture present as F32 with its exact
 * shape, all values finite, running variances >= 0, no tensor that is not
 * part of the network or a momentum buffer of one). The checks and their
 * bounds are listed in docs/checkpoint.md. SNN_ERR_FORMAT with a message that
 * starts with the file name and names the key or tensor (and element). */
snn_status snn_ckpt_validate(const struct snn_st_file *st, snn_ckpt_info *info);


void snn_model_free(snn_model *m); /* NULL is fine */

const snn_model_config *snn_model_get_config(const snn_model *m);

/* Number of layers including the output layer (= arch.n + 1). */
uint32_t snn_model_n_layers(const snn_model *m);
snn_status snn_model_layer(const snn_model *m, uint32_t i, snn_layer_info *info);

/* Parameter or statistic by checkpoint tensor name ("layers.3.mpbn.running_var");
 * *n = number of floats. NULL if the model has no such tensor. The pointer is
 * writable so the caller may edit a model (tests); it lives as long as m. */
float *snn_model_param(const snn_model *m, const char *name, uint32_t *n);

/* Eval-mode forward (running statistics) of n images (uint8, C,H,W each, the
 * model's in_c x in_h x in_w). logits (n x n_classes, may be NULL) receive the
 * output averaged over T. If cb is not NULL it is called, for every LIF and
 * pool layer in order, for t = 0..T-1, for every image, with that layer's
 * 0/1 output spikes in C,H,W order (calls come batch by batch: for each batch
 * of images, layer by layer, step by step, image by image). Eval mode uses
 * running statistics only, so an image's result does not depend on the other
 * images of its batch. */
typedef void (*snn_spike_cb)(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                             uint32_t n_neurons, void *ctx);
snn_status snn_model_forward_eval(snn_model *m, const uint8_t *pixels, uint32_t n, float *logits,
                                  snn_spike_cb cb, void *ctx);

/* Accuracy of the eval-mode model on a data set (batches of `batch`; 0 = the
 * workspace batch, or 100). */
snn_status snn_model_evaluate(snn_model *m, const snn_dataset *ds, uint32_t batch, double *accuracy);
/* The same, calling cb(images done, correct so far, ctx) after every batch
 * (progress lines: host/common/progress.h). cb may be NULL. */
typedef void (*snn_eval_progress_cb)(uint32_t done, uint64_t correct, void *ctx);
snn_status snn_model_evaluate_cb(snn_model *m, const snn_dataset *ds, uint32_t batch,
                                 snn_eval_progress_cb cb, void *ctx, double *accuracy);

/* ---- training --------------------------------------------------------------- */

#define SNN_AUG_CROP 1u /* random shift by -2..2 pixels (zero = black padding) */
#define SNN_AUG_FLIP 2u /* horizontal flip with probability 1/2 */
#define SNN_AUG_ERASE 4u /* random erasing: with probability 1/2 a rectangle of 2-40% of the
                          * image, aspect 0.3..3.3, set to black (Zhong et al., AAAI 2020) */
#define SNN_AUG_ALL (SNN_AUG_CROP | SNN_AUG_FLIP | SNN_AUG_ERASE) /* every bit */
#define SNN_AUG_DEFAULT 0xffffffffu /* none, or the checkpoint's choice with resume */

/* --augment and the checkpoint's "augment": none, all (crop and flip: the
 * name older checkpoints and scripts use) or a comma-separated list of
 * crop, flip, erase. parse: SNN_ERR_ARG naming the bad word; str: the
 * canonical form (all for crop+flip) in buf (32 bytes). */
snn_status snn_augment_parse(const char *s, uint32_t *augment);
const char *snn_augment_str(uint32_t augment, char buf[32]);

/* Options of a run. With `resume`, the options that shape the run (SNN_RUN_*)
 * come from the checkpoint: one the caller marks in `given` (the CLI: given
 * on the command line) must equal the stored value or the run is refused
 * (SNN_ERR_ARG naming the option and both values); the others are ignored.
 * epochs != 0 and augment != SNN_AUG_DEFAULT count as given. The data
 * directory is the exception: a given one replaces the stored one (a data
 * set may move), with a note. */
typedef struct snn_train_opts {
    const char *data_dir;   /* NULL = default ("" is refused) */
    const char *arch;       /* NULL = SNN_ARCH_DEFAULT */
    uint32_t T;             /* 4 */
    snn_mpbn_mode mpbn;     /* channel */
    uint32_t epochs;        /* 10 */
    uint32_t batch;         /* 64 */
    double lr;              /* 0.1, cosine to 0 over all iterations */
    double weight_decay;    /* 5e-4 on conv/fc weights */
    double momentum;        /* 0.9 */
    uint32_t limit_train, limit_test; /* 0 = all */
    uint64_t seed;          /* 1 */
    uint32_t threads;       /* 0 = all cores */
    uint32_t augment;       /* SNN_AUG_* bits, or SNN_AUG_DEFAULT */
    /* Spike-count regulariser (0 = off): the loss is cross-entropy +
     * rate_reg * R, R = the fan-out-weighted mean firing rate of the LIF
     * layers (snn_model_spike_rate, docs/trainer.md "Sparsity control"). */
    double rate_reg;
    /* Label smoothing (0 = off, below 1): the loss's target is 1 - e on the
     * label plus e / n_classes on every class (Szegedy et al., CVPR 2016). */
    double label_smoothing;
    uint32_t max_batches;   /* stop an epoch after this many batches (0 = all); benchmarks */
    uint32_t stop_after;    /* end this run after N epochs (0 = run to the total); --resume continues */
    /* Data-parallel runs (several MPI ranks, host/common/snn-mpi.h; docs/
     * trainer.md "Several processes (MPI)"): `batch` is the global batch,
     * each rank takes batch/ranks images of it. 0: BN and MPBN batch
     * statistics are summed over all ranks (the run equals a single
     * process with the same batch); 1: each rank normalises with the
     * statistics of its own share. No effect with one process. */
    int local_stats;
    const char *resume;     /* checkpoint to continue from, or NULL */
    const char *out;        /* checkpoint path (required) */
    int quiet;              /* no progress / epoch lines / run summary */
    uint32_t given;         /* SNN_RUN_* bits: options the caller set explicitly */
    /* When not NULL: read between batches; non-zero ends the run at once
     * (the unfinished epoch is dropped, the last checkpoint stays) and
     * snn_train_result.interrupted is set. For a SIGINT/SIGTERM handler. */
    const volatile sig_atomic_t *stop;
} snn_train_opts;

void snn_train_opts_default(snn_train_opts *o);

typedef struct snn_train_epoch {
    uint32_t epoch;         /* 1-based */
    double train_loss;      /* cross-entropy with the labels alone (not smoothed; the regulariser's
                             * term is rate_reg * train_rate) */
    double train_acc, test_acc, lr, seconds, images_per_s;
    double train_rate;      /* R (snn_model_spike_rate) averaged over the epoch's batches */
} snn_train_epoch;

/* Called after each epoch (checkpoint already written); may be NULL. */
typedef void (*snn_train_epoch_cb)(const snn_train_epoch *e, void *ctx);

typedef struct snn_train_result {
    uint32_t epochs;        /* epochs done in total (incl. resumed ones) */
    uint32_t epochs_total;  /* of the run */
    int already_complete;   /* --resume of a finished run: nothing trained, no new metrics */
    int interrupted;        /* ended by *opts.stop; `epochs` is the last checkpoint's */
    int stop_signal;        /* several ranks: *opts.stop of the ranks that stopped the run
                             * when they agree (the signal), else 0 */
    const char *last_ckpt;  /* the file holding epoch `epochs` (out or resume), NULL if none */
    double test_acc;        /* after the last epoch */
    double train_acc, train_loss;
    double train_rate;      /* the last epoch's mean R (snn_train_epoch.train_rate) */
    double rate_reg;        /* the run's --rate-reg (the checkpoint's with resume) */
    double label_smoothing; /* the run's --label-smoothing (the checkpoint's with resume) */
    double train_images_per_s; /* training images / training seconds (this run) */
    double seconds;         /* wall time of this run */
    /* data-parallel runs */
    uint32_t ranks;         /* processes that trained (1 without MPI) */
    uint32_t threads;       /* worker threads per process */
    int32_t failed_rank;    /* on error: the rank that reports it (the lowest that failed);
                             * the others stay silent. 0 in a single process */
    double comm_seconds;    /* rank 0's time inside collectives while training */
    double comm_bytes_per_step; /* payload bytes per rank and step (gradients + statistics) */
    double comm_calls_per_step; /* collective calls per step */
    double grad_bytes_per_step; /* of which the fused gradient buffer */
} snn_train_result;

snn_status snn_train_run(const snn_train_opts *o, snn_train_epoch_cb cb, void *ctx,
                         snn_train_result *res);

/* Write the model (+ momentum buffers when training) to a checkpoint. */
snn_status snn_model_save(const snn_model *m, const char *path);

/* Worker threads of the trainer's pool (0 = all online cores); OpenBLAS runs
 * single-threaded inside each worker task. */
void snn_set_threads(uint32_t n);

/* CLI only (host/cli/cmd-train.c): re-execute the program once with
 * OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs that OpenBLAS 0.3.21 does not
 * recognise (it would use AVX2 kernels). argv = main()'s argv. Returns
 * (doing nothing) if the variable is set or the CPU lacks AVX-512. */
void snn_cli_prefer_avx512_blas(char **argv);

#ifdef __cplusplus
}
#endif
#endif
