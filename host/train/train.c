/*
 * train.c - the training loop (SGD with momentum, cosine learning rate,
 * augmentation), checkpoints (docs/checkpoint.md) and --resume.
 *
 * Reproducibility: every random draw (initialisation, shuffling, crops,
 * flips) comes from one splitmix64 stream whose state is saved in each
 * checkpoint (`rng_state`), together with the momentum buffers and the
 * epoch count, so a resumed run continues exactly where the uninterrupted
 * one would be (bit-identical with --threads 1).
 *
 * Data-parallel (several MPI ranks): every rank holds the whole model and
 * data set, draws the same permutation and augmentation stream, and trains
 * on its share of each global batch (rank r: images r*b..r*b+b-1, b =
 * batch/ranks); the gradients (and the batch's loss, accuracy, spike rate
 * and the stop requests) are summed in one allreduce per step, so every rank
 * takes the same SGD step. With synchronised statistics (the default) BN
 * and MPBN normalise with the sums over all ranks and the run equals a
 * single process with the same batch up to float summation order. Rank 0
 * alone writes the checkpoint; failures that may hit one rank only
 * (allocation, evaluation, the checkpoint) are agreed on (snn_mpi_agree)
 * before the next collective, so no rank is left waiting.
 */
#include <cblas.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/progress.h"
#include "common/snn-mpi.h"
#include "io/safetensors.h"
#include "train-impl.h"

#define CKPT_FORMAT "mpbn-checkpoint"
#define CKPT_VERSION "1"

void snn_set_threads(uint32_t n) { snn_par_set_threads(n); }

void snn_train_opts_default(snn_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->T = 4;
    o->mpbn = SNN_MPBN_CHANNEL;
    o->epochs = 0; /* 0: 10, or the checkpoint's total when resuming */
    o->batch = 64;
    o->lr = 0.1;
    o->weight_decay = 5e-4;
    o->momentum = 0.9;
    o->seed = 1;
    o->augment = SNN_AUG_DEFAULT;
}

/* ---- checkpoints ------------------------------------------------------------------ */

#define MAX_META 40

snn_status snn_augment_parse(const char *s, uint32_t *augment)
{
    static const struct { const char *name; uint32_t bits; } words[] = {
        {"none", 0}, {"all", SNN_AUG_CROP | SNN_AUG_FLIP}, {"crop", SNN_AUG_CROP},
        {"flip", SNN_AUG_FLIP}, {"erase", SNN_AUG_ERASE},
    };
    uint32_t a = 0;
    const char *p = s;
    for (;;) {
        const size_t n = strcspn(p, ",");
        size_t k = 0;
        while (k < sizeof words / sizeof words[0] && (strlen(words[k].name) != n || strncmp(p, words[k].name, n)))
            k++;
        if (k == sizeof words / sizeof words[0])
            return snn_fail(SNN_ERR_ARG,
                            "bad value '%.80s' ('%.*s' is not one of none, all, crop, flip, erase; "
                            "a list joins them with commas: crop,flip,erase)",
                            s, (int)(n < 40 ? n : 40), p);
        a |= words[k].bits;
        if (!p[n]) break;
        p += n + 1;
    }
    *augment = a;
    return SNN_OK;
}

const char *snn_augment_str(uint32_t a, char buf[32])
{
    a &= SNN_AUG_ALL;
    if (a == 0) return strcpy(buf, "none");
    if (a == (SNN_AUG_CROP | SNN_AUG_FLIP)) return strcpy(buf, "all");
    snprintf(buf, 32, "%s%s%s", a & SNN_AUG_CROP ? ",crop" : "", a & SNN_AUG_FLIP ? ",flip" : "",
             a & SNN_AUG_ERASE ? ",erase" : "");
    memmove(buf, buf + 1, strlen(buf)); /* the leading comma */
    return buf;
}

snn_status snn_model_save(const snn_model *m, const char *path)
{
    snn_st_tensor *t = snn_calloc(2 * (size_t)m->n_params, sizeof *t);
    char (*mom_names)[80] = snn_calloc(m->n_params, sizeof *mom_names);
    if (!t || !mom_names) {
        free(t);
        free(mom_names);
        return SNN_ERR_NOMEM;
    }
    size_t nt = 0;
    for (uint32_t i = 0; i < m->n_params; i++) {
        const snn_param *p = &m->params[i];
        snn_st_tensor *x = &t[nt++];
        x->name = p->name;
        x->dtype = SNN_ST_F32;
        x->ndim = p->ndim;
        memcpy(x->shape, p->shape, sizeof(int64_t) * p->ndim);
        x->data = p->data;
        x->nbytes = p->n * sizeof(float);
    }
    if (m->with_grads)
        for (uint32_t i = 0; i < m->n_params; i++) {
            const snn_param *p = &m->params[i];
            if (!p->mom) continue;
            snprintf(mom_names[i], sizeof mom_names[i], "optim.%s.momentum", p->name);
            snn_st_tensor *x = &t[nt++];
            *x = t[i];
            x->name = mom_names[i];
            x->data = p->mom;
        }
    char vals[MAX_META][64], augbuf[32];
    const char *keys[MAX_META], *vp[MAX_META];
    size_t nm = 0;
#define META(k, ...)                                                                          \
    do {                                                                                      \
        keys[nm] = k;                                                                         \
        snprintf(vals[nm], sizeof vals[nm], __VA_ARGS__);                                     \
        vp[nm] = vals[nm];                                                                    \
        nm++;                                                                                 \
    } while (0)
    const snn_model_config *c = &m->cfg;
    META("format", "%s", CKPT_FORMAT);
    META("version", "%s", CKPT_VERSION);
    keys[nm] = "arch";
    vp[nm++] = c->arch;
    META("T", "%u", c->T);
    META("mpbn", "%s", snn_mpbn_mode_str(c->mpbn));
    META("in_c", "%u", c->in_c);
    META("in_h", "%u", c->in_h);
    META("in_w", "%u", c->in_w);
    META("n_classes", "%u", c->n_classes);
    META("norm_mean", "%.9g", c->norm_mean);
    META("norm_std", "%.9g", c->norm_std);
    META("tau", "%.9g", c->tau);
    META("vth", "%.9g", c->vth);
    META("bn_eps", "%.9g", c->bn_eps);
    META("mpbn_eps", "%.9g", c->mpbn_eps);
    META("bn_momentum", "%.9g", c->bn_momentum);
    META("epochs_done", "%u", m->epochs_done);
    META("epochs_total", "%u", m->epochs_total);
    META("seed", "%" PRIu64, m->seed);
    META("rng_state", "%016" PRIx64, m->rng_state);
    META("lr", "%.9g", m->lr);
    META("batch", "%u", m->batch);
    META("weight_decay", "%.9g", m->weight_decay);
    META("momentum", "%.9g", m->momentum);
    META("augment", "%s", snn_augment_str(m->augment, augbuf));
    META("limit_train", "%u", m->limit_train);
    META("limit_test", "%u", m->limit_test);
    META("max_batches", "%u", m->max_batches);
    META("rate_reg", "%.9g", m->rate_reg);
    META("label_smoothing", "%.9g", m->label_smoothing);
    if (m->data_dir[0]) {
        keys[nm] = "data";
        vp[nm++] = m->data_dir;
    }
    if (m->test_acc >= 0) META("test_acc", "%.4f", m->test_acc);
#undef META
    snn_status st = snn_st_write(path, t, nt, keys, vp, nm);
    free(t);
    free(mom_names);
    if (st != SNN_OK) return snn_fail_context(st, "writing checkpoint");
    return SNN_OK;
}

/* Load a checkpoint (validated by snn_ckpt_validate first, its findings in
 * *ci); with_optim also restores the momentum buffers and the RNG state
 * (resume). */
static snn_status model_load(const char *path, int with_optim, snn_model **out, snn_ckpt_info *ci_out)
{
    *out = NULL;
    snn_st_file *f;
    snn_status st = snn_st_read(path, &f);
    if (st != SNN_OK) return st;
    snn_model *m = NULL;
    snn_ckpt_info ci;
    if ((st = snn_ckpt_validate(f, &ci)) != SNN_OK) goto out;
    if (with_optim && !ci.resumable) {
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: cannot resume: %s (a checkpoint written by mpbn train has them)", path,
                      !ci.has_rng_state ? "metadata \"rng_state\" is missing"
                                        : "optim.*.momentum buffers are missing");
        goto out;
    }
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", ci.arch);
    cfg.T = ci.T;
    cfg.mpbn = ci.mpbn;
    cfg.in_c = ci.in_c;
    cfg.in_h = ci.in_h;
    cfg.in_w = ci.in_w;
    cfg.n_classes = ci.n_classes;
    cfg.norm_mean = (float)ci.norm_mean;
    cfg.norm_std = (float)ci.norm_std;
    cfg.tau = (float)ci.tau;
    cfg.vth = (float)ci.vth;
    cfg.bn_eps = (float)ci.bn_eps;
    cfg.mpbn_eps = (float)ci.mpbn_eps;
    cfg.bn_momentum = (float)ci.bn_momentum;
    if ((st = snn_model_create(&cfg, ci.seed, &m)) != SNN_OK) {
        st = snn_fail_context(st, "%s", path);
        goto out;
    }
    /* shapes and values were checked by the validator */
    for (uint32_t i = 0; i < m->n_params; i++) {
        snn_param *p = &m->params[i];
        const snn_st_tensor *t;
        if ((st = snn_st_get(f, p->name, SNN_ST_F32, p->ndim, p->shape, &t)) != SNN_OK) goto out;
        memcpy(p->data, t->data, p->n * sizeof(float));
    }
    if (with_optim) {
        if ((st = snn_model_alloc_grads(m)) != SNN_OK) goto out;
        for (uint32_t i = 0; i < m->n_params; i++) {
            snn_param *p = &m->params[i];
            if (!p->mom) continue;
            char name[96];
            snprintf(name, sizeof name, "optim.%s.momentum", p->name);
            const snn_st_tensor *t;
            if ((st = snn_st_get(f, name, SNN_ST_F32, p->ndim, p->shape, &t)) != SNN_OK) goto out;
            memcpy(p->mom, t->data, p->n * sizeof(float));
        }
    }
    m->epochs_done = ci.epochs_done;
    m->epochs_total = ci.epochs_total;
    m->batch = ci.batch;
    m->lr = ci.lr;
    m->weight_decay = ci.weight_decay;
    m->momentum = ci.momentum;
    m->test_acc = ci.test_acc;
    m->augment = ci.augment;
    m->limit_train = ci.limit_train;
    m->limit_test = ci.limit_test;
    m->max_batches = ci.max_batches;
    m->rate_reg = ci.rate_reg;
    m->label_smoothing = ci.label_smoothing;
    snprintf(m->data_dir, sizeof m->data_dir, "%s", ci.data);
    if (ci.has_rng_state) m->rng_state = ci.rng_state;
    if (ci_out) *ci_out = ci;
    st = SNN_OK;
out:
    snn_st_free(f);
    if (st != SNN_OK) {
        snn_model_free(m);
        return st;
    }
    *out = m;
    return SNN_OK;
}

snn_status snn_model_load(const char *path, snn_model **out)
{
    return model_load(path, 0, out, NULL);
}

/* ---- optimiser ------------------------------------------------------------------ */

static void sgd_step(snn_model *m, float lr, float wd, float mu)
{
    for (uint32_t i = 0; i < m->n_params; i++) {
        snn_param *p = &m->params[i];
        if (p->kind == SNN_PARAM_STAT) continue;
        const float d = p->kind == SNN_PARAM_WEIGHT ? wd : 0.0f;
        float *restrict w = p->data, *restrict g = p->grad, *restrict v = p->mom;
        for (size_t k = 0; k < p->n; k++) {
            v[k] = mu * v[k] + (g[k] + d * w[k]);
            w[k] -= lr * v[k];
        }
    }
}

/* A diverged run (e.g. element-wise MPBN on a neuron whose membrane is the
 * same for every image of the batch: its batch variance is 0 and the
 * gradient is scaled by 1/sqrt(eps)) must not overwrite the last good
 * checkpoint with NaNs. Returns the first parameter or statistic that is not
 * finite, or NULL. */
static const char *first_nonfinite(const snn_model *m)
{
    for (uint32_t i = 0; i < m->n_params; i++) {
        const snn_param *p = &m->params[i];
        for (size_t k = 0; k < p->n; k++)
            if (!isfinite(p->data[k])) return p->name;
    }
    return NULL;
}

/* ---- training loop ---------------------------------------------------------------- */

static void dataset_norm(const snn_dataset *ds, float *mean, float *std)
{
    size_t n = (size_t)ds->n * ds->c * ds->h * ds->w;
    uint64_t hist[256] = {0};
    for (size_t i = 0; i < n; i++) hist[ds->pixels[i]]++;
    double s = 0, ss = 0;
    for (int v = 0; v < 256; v++) {
        double x = v / 255.0;
        s += x * hist[v];
        ss += x * x * hist[v];
    }
    double mu = n ? s / n : 0, var = n ? ss / n - mu * mu : 1;
    *mean = (float)mu;
    *std = var > 1e-12 ? (float)sqrt(var) : 1.0f;
}

/* ---- resume: the stored run against the command ----------------------------------- */

/* Append text to buf, after ", " unless buf is empty. */
static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 3 >= size) return;
    if (n) {
        memcpy(buf + n, ", ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

/* Equal as the checkpoint writes numbers ("%.9g"). */
static int same_num(double a, double b)
{
    char x[40], y[40];
    snprintf(x, sizeof x, "%.9g", a);
    snprintf(y, sizeof y, "%.9g", b);
    return !strcmp(x, y);
}

static int same_arch(const char *spec, const snn_arch *b)
{
    snn_arch a;
    if (snn_arch_parse(spec, &a) != SNN_OK || a.n != b->n) return 0;
    for (uint32_t i = 0; i < a.n; i++)
        if (a.kind[i] != b->kind[i] || a.width[i] != b->width[i]) return 0;
    return 1;
}

/* The options of a resumed run are the checkpoint's (model_load put them in
 * m): an option the caller gave must equal the stored value. A key an older
 * checkpoint lacks falls back to the command's value (given, or its
 * default; augment: all, what the builds that wrote no key trained with),
 * and one note names them. The data directory may be given anew. */
static snn_status resume_opts(const snn_train_opts *o, const snn_ckpt_info *ci, snn_model *m)
{
    uint32_t given = o->given, have = ci->run_keys;
    if (o->epochs) given |= SNN_RUN_EPOCHS;
    if (o->augment != SNN_AUG_DEFAULT) given |= SNN_RUN_AUGMENT;
    if (o->data_dir) given |= SNN_RUN_DATA;
    const char *arch = o->arch ? o->arch : SNN_ARCH_DEFAULT;
    char bad[2048] = "", missing[1024] = "", aug_a[32], aug_b[32];
#define CHECK(bit, differ, opt, fmt, a, b)                                                         \
    do {                                                                                           \
        if ((given & (bit)) && (have & (bit)) && (differ))                                         \
            append(bad, sizeof bad, opt " " fmt " (the checkpoint has " fmt ")", a, b);            \
    } while (0)
    CHECK(SNN_RUN_ARCH, !same_arch(arch, &ci->spec), "--arch", "%s", arch, ci->arch);
    CHECK(SNN_RUN_T, o->T != ci->T, "--T", "%u", o->T, ci->T);
    CHECK(SNN_RUN_MPBN, o->mpbn != ci->mpbn, "--mpbn", "%s", snn_mpbn_mode_str(o->mpbn),
          snn_mpbn_mode_str(ci->mpbn));
    CHECK(SNN_RUN_EPOCHS, o->epochs != ci->epochs_total, "--epochs", "%u", o->epochs,
          ci->epochs_total);
    CHECK(SNN_RUN_BATCH, ci->batch && o->batch != ci->batch, "--batch", "%u", o->batch, ci->batch);
    CHECK(SNN_RUN_LR, !same_num(o->lr, ci->lr), "--lr", "%.9g", o->lr, ci->lr);
    CHECK(SNN_RUN_WD, !same_num(o->weight_decay, ci->weight_decay), "--wd", "%.9g",
          o->weight_decay, ci->weight_decay);
    CHECK(SNN_RUN_LIMIT_TRAIN, o->limit_train != ci->limit_train, "--limit-train", "%u",
          o->limit_train, ci->limit_train);
    CHECK(SNN_RUN_LIMIT_TEST, o->limit_test != ci->limit_test, "--limit-test", "%u", o->limit_test,
          ci->limit_test);
    CHECK(SNN_RUN_SEED, o->seed != ci->seed, "--seed", "%" PRIu64, o->seed, ci->seed);
    CHECK(SNN_RUN_AUGMENT, (o->augment & SNN_AUG_ALL) != ci->augment, "--augment", "%s",
          snn_augment_str(o->augment, aug_a), snn_augment_str(ci->augment, aug_b));
    CHECK(SNN_RUN_MAX_BATCHES, o->max_batches != ci->max_batches, "--max-batches", "%u",
          o->max_batches, ci->max_batches);
    CHECK(SNN_RUN_RATE_REG, !same_num(o->rate_reg, ci->rate_reg), "--rate-reg", "%.9g",
          o->rate_reg, ci->rate_reg);
    CHECK(SNN_RUN_LABEL_SMOOTHING, !same_num(o->label_smoothing, ci->label_smoothing),
          "--label-smoothing", "%.9g", o->label_smoothing, ci->label_smoothing);
#undef CHECK
    if (bad[0])
        return snn_fail(SNN_ERR_ARG,
                        "cannot resume %s with other options: %s. A resumed run keeps the "
                        "checkpoint's options: leave these out, or start a new run without "
                        "--resume",
                        o->resume, bad);

    /* keys an older checkpoint lacks */
    if (!(have & SNN_RUN_EPOCHS)) {
        m->epochs_total = o->epochs ? o->epochs : 10;
        append(missing, sizeof missing, "epochs_total %u", m->epochs_total);
    }
    if (!ci->batch) {
        m->batch = o->batch; /* 0 stored: the command's, by definition */
        if (!(have & SNN_RUN_BATCH)) append(missing, sizeof missing, "batch %u", m->batch);
    }
    if (!(have & SNN_RUN_LR)) {
        if (given & SNN_RUN_LR) m->lr = o->lr;
        append(missing, sizeof missing, "lr %g", m->lr);
    }
    if (!(have & SNN_RUN_WD)) {
        if (given & SNN_RUN_WD) m->weight_decay = o->weight_decay;
        append(missing, sizeof missing, "weight_decay %g", m->weight_decay);
    }
    if (!(have & SNN_RUN_SEED)) {
        if (given & SNN_RUN_SEED) m->seed = o->seed;
        append(missing, sizeof missing, "seed %" PRIu64, m->seed);
    }
    if (!(have & SNN_RUN_AUGMENT)) {
        if (given & SNN_RUN_AUGMENT) m->augment = o->augment & SNN_AUG_ALL;
        append(missing, sizeof missing, "augment %s", snn_augment_str(m->augment, aug_a));
    }
    if (!(have & SNN_RUN_LIMIT_TRAIN)) {
        m->limit_train = o->limit_train;
        append(missing, sizeof missing, "limit_train %u", m->limit_train);
    }
    if (!(have & SNN_RUN_LIMIT_TEST)) {
        m->limit_test = o->limit_test;
        append(missing, sizeof missing, "limit_test %u", m->limit_test);
    }
    if (!(have & SNN_RUN_MAX_BATCHES)) {
        m->max_batches = o->max_batches;
        append(missing, sizeof missing, "max_batches %u", m->max_batches);
    }
    if (!(have & SNN_RUN_RATE_REG)) {
        /* the builds that wrote no key had no regulariser: 0 */
        if (given & SNN_RUN_RATE_REG) m->rate_reg = o->rate_reg;
        append(missing, sizeof missing, "rate_reg %g", m->rate_reg);
    }
    if (!(have & SNN_RUN_LABEL_SMOOTHING)) {
        if (given & SNN_RUN_LABEL_SMOOTHING) m->label_smoothing = o->label_smoothing;
        append(missing, sizeof missing, "label_smoothing %g", m->label_smoothing);
    }
    const char *dir = o->data_dir ? o->data_dir : SNN_DATA_DEFAULT_DIR;
    if (!(have & SNN_RUN_DATA)) {
        snprintf(m->data_dir, sizeof m->data_dir, "%s", dir);
        append(missing, sizeof missing, "data %s", dir);
    } else if ((given & SNN_RUN_DATA) && strcmp(dir, ci->data)) {
        if (snn_mpi_rank() == 0)
            fprintf(stderr,
                    "mpbn train: note: --data %s replaces the checkpoint's data directory %s\n",
                    dir, ci->data);
        snprintf(m->data_dir, sizeof m->data_dir, "%s", dir);
    }
    if (missing[0] && snn_mpi_rank() == 0)
        fprintf(stderr,
                "mpbn train: note: %s has no record of some options of its run (written by an "
                "older mpbn); using %s\n",
                o->resume, missing);
    return SNN_OK;
}

/* ---- data-parallel helpers --------------------------------------------------------- */

/* Worker threads of one rank: --threads, or this host's cores shared by the
 * ranks on it. A count that oversubscribes the host is refused (the ranks
 * would time-slice each other and every allreduce waits for the slowest). */
static snn_status rank_threads(uint32_t want, uint32_t ranks, uint32_t *threads)
{
    const long on = sysconf(_SC_NPROCESSORS_ONLN);
    const uint32_t cores = on > 0 ? (uint32_t)on : 1, local = snn_mpi_local_size();
    *threads = want;
    if (ranks <= 1) return SNN_OK;
    if (!want) {
        *threads = cores / local ? cores / local : 1;
        return SNN_OK;
    }
    if ((uint64_t)want * local > cores)
        return snn_fail(SNN_ERR_ARG,
                        "--threads %u with %u ranks on this host needs %llu cores, it has %u: "
                        "use --threads %u (or leave --threads out: cores / ranks per host), or "
                        "fewer ranks per host",
                        want, local, (unsigned long long)want * local, cores,
                        cores / local ? cores / local : 1);
    return SNN_OK;
}

/* The global batch B over the ranks: b = B / ranks images each. */
static snn_status check_split(uint32_t B, uint32_t ranks, int local_stats)
{
    if (ranks <= 1) return SNN_OK;
    if (B < ranks)
        return snn_fail(SNN_ERR_ARG,
                        "--batch %u is smaller than the %u ranks: --batch is the global batch, "
                        "each rank takes batch/ranks images of it; use --batch %u or more, or "
                        "fewer ranks",
                        B, ranks, 2 * ranks);
    if (B % ranks)
        return snn_fail(SNN_ERR_ARG,
                        "--batch %u is not a multiple of the %u ranks (--batch is the global "
                        "batch, each rank takes batch/ranks images): use --batch %u or %u",
                        B, ranks, B / ranks * ranks,
                        (B / ranks + 1) * ranks);
    if (local_stats && B / ranks < 2)
        return snn_fail(SNN_ERR_ARG,
                        "--bn-stats local needs at least 2 images per rank, --batch %u over %u "
                        "ranks gives %u: use --bn-stats global or --batch %u",
                        B, ranks, B / ranks, 2 * ranks);
    return SNN_OK;
}

/* Rank 0's model (parameters, running statistics, momentum) and RNG state to
 * every rank: identical starting points, and no drift between checkpoints. */
static snn_status bcast_model(snn_model *m)
{
    snn_status st = SNN_OK;
    for (uint32_t i = 0; i < m->n_params && st == SNN_OK; i++) {
        snn_param *p = &m->params[i];
        st = snn_mpi_bcast(p->data, p->n * sizeof(float), 0);
        if (st == SNN_OK && p->mom) st = snn_mpi_bcast(p->mom, p->n * sizeof(float), 0);
    }
    if (st == SNN_OK) st = snn_mpi_bcast(&m->rng_state, sizeof m->rng_state, 0);
    return st;
}

/* Local statistics: the running statistics (an exponential average, linear
 * in the batch statistics) become the mean over the ranks. */
static snn_status average_stats(snn_model *m, uint32_t ranks)
{
    for (uint32_t i = 0; i < m->n_params; i++) {
        snn_param *p = &m->params[i];
        if (p->kind != SNN_PARAM_STAT) continue;
        snn_status st = snn_mpi_allreduce_f32(p->data, p->n);
        if (st != SNN_OK) return st;
        for (size_t k = 0; k < p->n; k++) p->data[k] /= (float)ranks;
    }
    return SNN_OK;
}

typedef struct eval_count {
    uint64_t correct;
} eval_count;

static void on_eval_batch(uint32_t done, uint64_t correct, void *ctx)
{
    ((eval_count *)ctx)->correct = correct;
}

/* Test accuracy: one process evaluates the whole test set; with several
 * ranks each evaluates a contiguous share and *correct gets its count (the
 * caller agrees on failures, then sums). */
static snn_status evaluate_share(snn_model *m, const snn_dataset *test, uint32_t rank,
                                 uint32_t ranks, double *acc, uint64_t *correct)
{
    if (ranks <= 1) return snn_model_evaluate(m, test, 0, acc);
    const uint32_t i0 = (uint32_t)((uint64_t)test->n * rank / ranks);
    const uint32_t i1 = (uint32_t)((uint64_t)test->n * (rank + 1) / ranks);
    const size_t px = (size_t)test->c * test->h * test->w;
    snn_dataset part = *test;
    part.n = i1 - i0;
    part.pixels = test->pixels + (size_t)i0 * px;
    part.labels = test->labels + i0;
    eval_count ec = {0};
    snn_status st = snn_model_evaluate_cb(m, &part, 0, on_eval_batch, &ec, acc);
    *correct = ec.correct;
    return st;
}

/* ---- the run ---------------------------------------------------------------------- */

/* *agreed: set once every rank has reported the outcome of its set-up
 * (several ranks); snn_train_run agrees for a run that returned before. */
static snn_status train_run(const snn_train_opts *o, snn_train_epoch_cb cb, void *ctx,
                            snn_train_result *res, int *agreed)
{
    const double t0 = snn_now();
    memset(res, 0, sizeof *res);
    /* data-parallel: ranks > 1 (snn_mpi_init ran in the CLI) */
    const uint32_t ranks = snn_mpi_size(), rank = snn_mpi_rank();
    const int root = rank == 0, dist = ranks > 1;
    const int quiet = o->quiet || !root;
    res->ranks = ranks;
    if (!o->out) return snn_fail(SNN_ERR_ARG, "no output checkpoint path (--out FILE.safetensors)");
    if (o->batch < 2) return snn_fail(SNN_ERR_ARG, "batch must be at least 2 (got %u)", o->batch);
    if (!(o->rate_reg >= 0) || !isfinite(o->rate_reg))
        return snn_fail(SNN_ERR_ARG, "--rate-reg must be a finite number >= 0 (got %g)",
                        o->rate_reg);
    if (!(o->label_smoothing >= 0 && o->label_smoothing <= 0.999))
        return snn_fail(SNN_ERR_ARG, "--label-smoothing must be in 0..0.999 (got %g)",
                        o->label_smoothing);
    if (o->data_dir && !o->data_dir[0])
        return snn_fail(SNN_ERR_ARG,
                        "empty data directory name; leave --data out for the default set %s",
                        SNN_DATA_DEFAULT_DIR);
    if (o->resume && snn_file_expect_kind(o->resume, SNN_KIND_BIT(SNN_KIND_CHECKPOINT),
                                          "train --resume") != SNN_OK)
        return SNN_ERR_FORMAT;
    uint32_t threads;
    snn_status tst = rank_threads(o->threads, ranks, &threads);
    if (tst != SNN_OK) return tst;
    snn_set_threads(threads);
    res->threads = snn_par_threads();

    snn_dataset train = {0}, test = {0};
    snn_model *m = NULL;
    uint32_t *perm = NULL, *idx = NULL;
    snn_aug_draw *aug = NULL;
    uint8_t *lab = NULL;
    int saved = 0, stopped = 0;
    snn_status st = SNN_OK;
    if (o->resume) {
        /* the checkpoint is validated, and its options reconciled with the
         * command's, before the data set is read */
        snn_ckpt_info ci;
        if ((st = model_load(o->resume, 1, &m, &ci)) != SNN_OK ||
            (st = resume_opts(o, &ci, m)) != SNN_OK)
            goto out;
        if (m->epochs_done >= m->epochs_total) {
            /* nothing to train; --out gets the checkpoint (it may be another file) */
            if (root) {
                fprintf(stderr, "mpbn train: run already complete: epoch %u of %u (%s)\n",
                        m->epochs_done, m->epochs_total, o->resume);
                if ((st = snn_model_save(m, o->out)) != SNN_OK) goto out;
            }
            res->already_complete = 1;
            res->test_acc = m->test_acc;
            saved = 1;
            goto out;
        }
    }
    const char *dir = o->resume ? m->data_dir
                      : o->data_dir ? o->data_dir
                                    : SNN_DATA_DEFAULT_DIR;
    const uint32_t lim_train = o->resume ? m->limit_train : o->limit_train;
    const uint32_t lim_test = o->resume ? m->limit_test : o->limit_test;
    if ((st = snn_dataset_load(dir, "train", lim_train, &train)) != SNN_OK ||
        (st = snn_dataset_load(dir, "t10k", lim_test, &test)) != SNN_OK)
        goto out;
    if (train.c != test.c || train.h != test.h || train.w != test.w) {
        st = snn_fail(SNN_ERR_FORMAT, "train images are %ux%ux%u but test images %ux%ux%u", train.c,
                      train.h, train.w, test.c, test.h, test.w);
        goto out;
    }

    if (o->resume) {
        if (m->cfg.in_c != train.c || m->cfg.in_h != train.h || m->cfg.in_w != train.w) {
            st = snn_fail(SNN_ERR_FORMAT, "%s: the model takes %ux%ux%u images but the data set "
                          "has %ux%ux%u", o->resume, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w,
                          train.c, train.h, train.w);
            goto out;
        }
        char why[4200];
        snprintf(why, sizeof why, "the network of %s has %u classes", o->resume, m->cfg.n_classes);
        if ((st = snn_dataset_check_labels(&train, m->cfg.n_classes, why)) != SNN_OK ||
            (st = snn_dataset_check_labels(&test, m->cfg.n_classes, why)) != SNN_OK)
            goto out;
    } else {
        snn_model_config cfg;
        snn_model_config_default(&cfg);
        if (o->arch) {
            if (strlen(o->arch) >= sizeof cfg.arch) {
                st = snn_fail(SNN_ERR_ARG, "architecture spec too long");
                goto out;
            }
            snprintf(cfg.arch, sizeof cfg.arch, "%s", o->arch);
        }
        cfg.T = o->T;
        cfg.mpbn = o->mpbn;
        if (cfg.mpbn == SNN_MPBN_ELEMENT) cfg.mpbn_eps = SNN_MPBN_ELEMENT_EPS;
        cfg.in_c = train.c;
        cfg.in_h = train.h;
        cfg.in_w = train.w;
        /* the classes are those of the training labels; a test label beyond
         * them could never be predicted */
        cfg.n_classes = train.n_classes < 2 ? 2 : train.n_classes;
        char why[4200];
        snprintf(why, sizeof why, "the training labels %s have %u classes", train.labels_path,
                 cfg.n_classes);
        if ((st = snn_dataset_check_labels(&test, cfg.n_classes, why)) != SNN_OK) goto out;
        dataset_norm(&train, &cfg.norm_mean, &cfg.norm_std);
        if ((st = snn_model_create(&cfg, o->seed, &m)) != SNN_OK) goto out;
        m->epochs_total = o->epochs ? o->epochs : 10;
        m->lr = o->lr;
        m->weight_decay = o->weight_decay;
        m->momentum = o->momentum;
        m->batch = o->batch;
        m->augment = o->augment == SNN_AUG_DEFAULT ? 0 : o->augment & SNN_AUG_ALL;
        m->limit_train = o->limit_train;
        m->limit_test = o->limit_test;
        m->max_batches = o->max_batches;
        m->rate_reg = o->rate_reg;
        m->label_smoothing = o->label_smoothing;
        /* recorded for --resume; the file format takes UTF-8 strings only */
        if (strlen(dir) < sizeof m->data_dir && snn_st_utf8_valid(dir))
            snprintf(m->data_dir, sizeof m->data_dir, "%s", dir);
        else if (root)
            fprintf(stderr, "mpbn train: note: the data directory is not recorded in the "
                            "checkpoint (not UTF-8 or too long): give --data with --resume\n");
        if ((st = snn_model_alloc_grads(m)) != SNN_OK) goto out;
    }
    const uint32_t B = m->batch ? m->batch : o->batch; /* the global batch */
    m->batch = B;
    if ((st = check_split(B, ranks, o->local_stats)) != SNN_OK) goto out;
    const uint32_t b = B / ranks; /* this rank's share of each batch */
    if (dist && (st = snn_model_set_dist(m, B, o->local_stats ? 0 : ranks)) != SNN_OK) goto out;
    uint32_t iters = train.n / B;
    if (m->max_batches && iters > m->max_batches) iters = m->max_batches;
    if (iters == 0) {
        st = snn_fail(SNN_ERR_ARG, "training set of %u images is smaller than one batch of %u",
                      train.n, B);
        goto out;
    }
    if ((st = snn_model_workspace(m, b)) != SNN_OK) goto out;
    perm = snn_malloc(sizeof *perm * train.n);
    idx = snn_malloc(sizeof *idx * B);
    aug = snn_malloc((size_t)B * sizeof *aug);
    lab = snn_malloc(B);
    if (!perm || !idx || !aug || !lab) {
        st = SNN_ERR_NOMEM;
        goto out;
    }
    if (dist) {
        /* every rank has set up (or says which failed), then starts from
         * rank 0's model */
        *agreed = 1;
        int first = snn_mpi_agree(0);
        if (first >= 0) {
            st = snn_fail(SNN_ERR_ARG, "rank %d failed to set up", first);
            res->failed_rank = first;
            goto out;
        }
        if ((st = bcast_model(m)) != SNN_OK) goto out;
    }
    if (!quiet) {
        char par[160], augbuf[32], ls[48] = "";
        if (m->label_smoothing > 0) snprintf(ls, sizeof ls, ", label-smoothing %g", m->label_smoothing);
        if (dist)
            snprintf(par, sizeof par,
                     "%u ranks x %u threads, %u images per rank and batch, %s BN/MPBN statistics",
                     ranks, snn_par_threads(), b, o->local_stats ? "local" : "global");
        else
            snprintf(par, sizeof par, "%u threads", snn_par_threads());
        fprintf(stderr,
                "mpbn train: data %s: %u training and %u test images of %ux%ux%u, %u classes; "
                "arch %s, T %u, MPBN %s; %u epochs of %u batches of %u, lr %g, augment %s, "
                "rate-reg %g%s; %s\n",
                dir, train.n, test.n, train.c, train.h, train.w, m->cfg.n_classes, m->cfg.arch,
                m->cfg.T, snn_mpbn_mode_str(m->cfg.mpbn), m->epochs_total, iters, B, m->lr,
                snn_augment_str(m->augment, augbuf), m->rate_reg, ls, par);
        if (o->resume)
            fprintf(stderr, "mpbn train: resuming %s at epoch %u of %u\n", o->resume,
                    m->epochs_done + 1, m->epochs_total);
    }
    const uint64_t total_iters = (uint64_t)iters * m->epochs_total;
    uint64_t rng = m->rng_state;
    double train_time = 0;
    uint64_t train_images = 0;
    res->test_acc = m->test_acc;
    uint32_t run_epochs = 0;
    snn_mpi_stats_t cs0;
    uint64_t steps = 0;
    double comm_s = 0;
    float *extra_buf = m->grad_all + m->grad_n; /* loss, correct, rate, stop count, stop value */
    while (m->epochs_done < m->epochs_total && !(o->stop_after && run_epochs >= o->stop_after)) {
        /* several ranks: the stop flag travels with the gradients (all stop
         * after the same batch) */
        if (!dist && o->stop && *o->stop) {
            stopped = 1;
            break;
        }
        run_epochs++;
        const uint32_t ep = m->epochs_done;
        for (uint32_t i = 0; i < train.n; i++) perm[i] = i;
        for (uint32_t i = train.n - 1; i > 0; i--) {
            uint32_t j = snn_rng_below(&rng, i + 1);
            uint32_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        snn_progress p;
        char label[64], extra[128] = "";
        snprintf(label, sizeof label, "epoch %u/%u", ep + 1, m->epochs_total);
        if (!quiet) snn_progress_begin(&p, label, (uint64_t)iters * B, "img");
        double loss_sum = 0, rate_sum = 0, lr = 0;
        uint64_t correct = 0;
        const double te0 = snn_now();
        snn_mpi_stats(&cs0);
        for (uint32_t it = 0; it < iters; it++) {
            /* SIGINT/SIGTERM: between batches, the unfinished epoch is dropped */
            if (!dist && o->stop && *o->stop) {
                stopped = 1;
                break;
            }
            /* the whole global batch's draws on every rank (the same stream);
             * this rank keeps images rank*b..rank*b+b-1 of it */
            for (uint32_t g = 0; g < B; g++) {
                const uint64_t r = snn_rng_next(&rng);
                const uint64_t r2 = (m->augment & SNN_AUG_ERASE) ? snn_rng_next(&rng) : 0;
                if (g / b != rank) continue;
                const uint32_t k = g - rank * b;
                idx[k] = perm[(size_t)it * B + g];
                lab[k] = train.labels[idx[k]];
                snn_aug_draw_make(m->augment, r, r2, train.h, train.w, &aug[k]);
            }
            snn_model_load_input(m, train.pixels, idx, b, aug);
            snn_model_forward(m, b, 1);
            uint32_t ok;
            double loss = snn_model_loss(m, b, lab, &ok);
            double rate = snn_model_spike_rate(m, b);
            snn_model_backward(m, b);
            if (dist) {
                /* one fused buffer: every gradient, then the batch's figures */
                extra_buf[0] = (float)(loss / ranks);
                extra_buf[1] = (float)ok;
                extra_buf[2] = (float)(rate / ranks);
                extra_buf[3] = o->stop && *o->stop ? 1.0f : 0.0f; /* ranks that were stopped */
                extra_buf[4] = o->stop ? (float)*o->stop : 0.0f;  /* and their stop values */
                if ((st = snn_mpi_allreduce_f32(m->grad_all, m->grad_n + 5)) != SNN_OK) goto out;
                steps++;
                if (extra_buf[3] > 0) {
                    stopped = 1;
                    /* the stop value, when every rank that was stopped had the same */
                    const float v = extra_buf[4] / extra_buf[3];
                    res->stop_signal = v == (float)(int)v ? (int)v : 0;
                    break;
                }
                loss = extra_buf[0];
                ok = (uint32_t)extra_buf[1];
                rate = extra_buf[2];
            }
            rate_sum += rate;
            uint64_t gi = (uint64_t)ep * iters + it;
            lr = m->lr * 0.5 * (1.0 + cos(M_PI * (double)gi / (double)total_iters));
            sgd_step(m, (float)lr, (float)m->weight_decay, (float)m->momentum);
            loss_sum += loss;
            correct += ok;
            if (!quiet) {
                snprintf(extra, sizeof extra, "batch %u/%u loss %.3f acc %.3f rate %.3f lr %.4f",
                         it + 1, iters, loss_sum / (it + 1),
                         (double)correct / ((double)(it + 1) * B), rate_sum / (it + 1), lr);
                snn_progress_update(&p, (uint64_t)(it + 1) * B, extra);
            }
        }
        const double secs = snn_now() - te0;
        {
            snn_mpi_stats_t cs1;
            snn_mpi_stats(&cs1);
            comm_s += cs1.seconds - cs0.seconds;
            res->comm_bytes_per_step += (double)(cs1.bytes - cs0.bytes);
            res->comm_calls_per_step += (double)(cs1.calls - cs0.calls);
        }
        if (!quiet) snn_progress_end(&p, extra);
        if (stopped) break;
        train_time += secs;
        train_images += (uint64_t)iters * B;
        if (dist && (st = (o->local_stats ? average_stats(m, ranks) : SNN_OK)) != SNN_OK) goto out;
        const char *bad = first_nonfinite(m);
        double acc = 0;
        uint64_t ok_test = 0;
        if (bad)
            st = snn_fail(SNN_ERR_ARG,
                          "training diverged in epoch %u: '%s' is not finite; %s was not "
                          "overwritten. Lower --lr (now %g) or use --mpbn channel",
                          ep + 1, bad, o->out, m->lr);
        else
            st = evaluate_share(m, &test, rank, ranks, &acc, &ok_test);
        if (dist) {
            /* evaluation may fail on one rank only: agree before the sum */
            int first = snn_mpi_agree(st != SNN_OK);
            if (first >= 0) {
                if (st == SNN_OK) st = snn_fail(SNN_ERR_ARG, "rank %d failed", first);
                res->failed_rank = first;
                goto out;
            }
            if ((st = snn_mpi_allreduce_u64(&ok_test, 1)) != SNN_OK) goto out;
            acc = test.n ? (double)ok_test / test.n : 0.0;
        } else if (st != SNN_OK) {
            goto out;
        }
        m->epochs_done = ep + 1;
        m->rng_state = rng;
        m->test_acc = acc;
        if (root) st = snn_model_save(m, o->out);
        if (dist) {
            /* rank 0 alone writes the checkpoint: the others learn whether it could */
            int first = snn_mpi_agree(st != SNN_OK);
            if (first >= 0) {
                if (st == SNN_OK) st = snn_fail(SNN_ERR_IO, "rank %d failed", first);
                res->failed_rank = first;
                goto out;
            }
            if ((st = bcast_model(m)) != SNN_OK) goto out; /* no drift between the ranks */
        }
        if (st != SNN_OK) goto out;
        saved = 1;
        snn_train_epoch e = {ep + 1,  loss_sum / iters, (double)correct / ((double)iters * B),
                             acc,     lr,               secs,
                             (double)iters * B / secs,   rate_sum / iters};
        res->train_loss = e.train_loss;
        res->train_rate = e.train_rate;
        res->train_acc = e.train_acc;
        res->test_acc = acc;
        if (cb && root) cb(&e, ctx);
    }
    res->train_images_per_s = train_time > 0 ? train_images / train_time : 0;
    res->interrupted = stopped;
    res->comm_seconds = comm_s;
    if (steps) {
        res->comm_bytes_per_step /= (double)steps;
        res->comm_calls_per_step /= (double)steps;
        res->grad_bytes_per_step = (double)(m->grad_n + 5) * sizeof(float);
    } else {
        res->comm_bytes_per_step = res->comm_calls_per_step = 0;
    }
    st = SNN_OK;
out:
    if (m) {
        res->epochs = m->epochs_done;
        res->epochs_total = m->epochs_total;
        res->rate_reg = m->rate_reg;
        res->label_smoothing = m->label_smoothing;
        res->last_ckpt = saved ? o->out : o->resume && m->epochs_done ? o->resume : NULL;
    }
    res->seconds = snn_now() - t0;
    free(perm);
    free(idx);
    free(aug);
    free(lab);
    snn_model_free(m);
    snn_dataset_free(&train);
    snn_dataset_free(&test);
    return st;
}

snn_status snn_train_run(const snn_train_opts *o, snn_train_epoch_cb cb, void *ctx,
                         snn_train_result *res)
{
    int agreed = snn_mpi_size() <= 1;
    snn_status st = train_run(o, cb, ctx, res, &agreed);
    if (!agreed) {
        /* this rank ended before the set-up's agreement (an error, or a
         * finished run): the others learn it before any other collective */
        int first = snn_mpi_agree(st != SNN_OK);
        if (first >= 0) {
            if (st == SNN_OK) st = snn_fail(SNN_ERR_ARG, "rank %d failed to set up", first);
            res->failed_rank = first;
        }
    }
    return st;
}
