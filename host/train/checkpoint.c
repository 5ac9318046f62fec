/*
 * checkpoint.c - the one validation of a checkpoint (docs/checkpoint.md,
 * section "Validation"). Every consumer runs snn_ckpt_validate() before it
 * reads a checkpoint: `mpbn eval --device float` and `train --resume`
 * (through snn_model_load and the trainer's resume path in train.c),
 * `mpbn fold` (fold.c) and `mpbn info`, so that no consumer accepts a file
 * another one refuses. Consumers add only their own limits on top (the fold:
 * those of the integer deploy format; resume: the momentum buffers).
 *
 * The checkpoint is read by tensor name, not through the trainer's data
 * structures. Every message starts with the file name and names the
 * metadata key or the tensor (and element) at fault.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "io/safetensors.h"
#include "snn-train.h"

#define CKPT_FORMAT "mpbn-checkpoint"
#define CKPT_VERSION "1"

/* ---- metadata ------------------------------------------------------------------- */

static snn_status meta_need(const snn_st_file *st, const char *key, const char **v)
{
    *v = snn_st_meta(st, key);
    if (!*v)
        return snn_fail(SNN_ERR_FORMAT, "%s: metadata \"%s\" is missing (docs/checkpoint.md)",
                        snn_st_name(st), key);
    return SNN_OK;
}

/* Decimal integer in lo..hi; absent is an error only if required. */
static snn_status meta_int(const snn_st_file *st, const char *key, uint64_t lo, uint64_t hi,
                           int required, uint64_t *out)
{
    const char *v = snn_st_meta(st, key);
    if (!v) return required ? meta_need(st, key, &v) : SNN_OK;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || errno || x < lo || x > hi)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: metadata \"%s\" is '%.80s', expected an integer in %llu..%llu",
                        snn_st_name(st), key, v, (unsigned long long)lo, (unsigned long long)hi);
    *out = x;
    return SNN_OK;
}

static snn_status meta_u32(const snn_st_file *st, const char *key, uint32_t lo, uint32_t hi,
                           int required, uint32_t *out)
{
    uint64_t x = *out;
    snn_status s = meta_int(st, key, lo, hi, required, &x);
    *out = (uint32_t)x;
    return s;
}

/* Finite number in [lo, hi] (lo_open: lo excluded); `rule` says it in words. */
static snn_status meta_num(const snn_st_file *st, const char *key, double lo, int lo_open,
                           double hi, const char *rule, int required, double *out)
{
    const char *v = snn_st_meta(st, key);
    if (!v) return required ? meta_need(st, key, &v) : SNN_OK;
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || end == v || !isfinite(x))
        return snn_fail(SNN_ERR_FORMAT, "%s: metadata \"%s\" is '%.80s', expected a finite number",
                        snn_st_name(st), key, v);
    if (x < lo || (lo_open && x == lo) || x > hi)
        return snn_fail(SNN_ERR_FORMAT, "%s: metadata \"%s\" is %g: %s", snn_st_name(st), key, x,
                        rule);
    *out = x;
    return SNN_OK;
}

static snn_status read_meta(const snn_st_file *st, snn_ckpt_info *ci)
{
    const char *name = snn_st_name(st), *v;
    snn_status s;
    if ((s = meta_need(st, "format", &v))) return s;
    if (strcmp(v, CKPT_FORMAT))
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: not an mpbn checkpoint (metadata \"format\" is '%.80s', expected '%s')",
                        name, v, CKPT_FORMAT);
    if ((s = meta_need(st, "version", &v))) return s;
    if (strcmp(v, CKPT_VERSION))
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: metadata \"version\" is '%.80s': this build reads checkpoint version %s",
                        name, v, CKPT_VERSION);
    if ((s = meta_need(st, "arch", &v))) return s;
    if (strlen(v) >= sizeof ci->arch)
        return snn_fail(SNN_ERR_FORMAT, "%s: metadata \"arch\" is %zu characters long (at most %zu)",
                        name, strlen(v), sizeof ci->arch - 1);
    snprintf(ci->arch, sizeof ci->arch, "%s", v);
    if (snn_arch_parse(ci->arch, &ci->spec) != SNN_OK)
        return snn_fail_context(SNN_ERR_FORMAT, "%s: metadata \"arch\"", name);
    if ((s = meta_need(st, "mpbn", &v))) return s;
    if (snn_mpbn_mode_parse(v, &ci->mpbn) != SNN_OK)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: metadata \"mpbn\" is '%.80s', expected none, channel or element", name,
                        v);
    if ((s = meta_u32(st, "T", 1, SNN_MAX_T, 1, &ci->T)) ||
        (s = meta_u32(st, "in_c", 1, SNN_CKPT_MAX_DIM, 1, &ci->in_c)) ||
        (s = meta_u32(st, "in_h", 1, SNN_CKPT_MAX_DIM, 1, &ci->in_h)) ||
        (s = meta_u32(st, "in_w", 1, SNN_CKPT_MAX_DIM, 1, &ci->in_w)) ||
        (s = meta_u32(st, "n_classes", 2, SNN_CKPT_MAX_CLASSES, 1, &ci->n_classes)))
        return s;
    if ((s = meta_num(st, "norm_mean", -HUGE_VAL, 0, HUGE_VAL, "", 1, &ci->norm_mean)) ||
        (s = meta_num(st, "norm_std", 0, 1, HUGE_VAL, "the input scale must be > 0", 1,
                      &ci->norm_std)) ||
        (s = meta_num(st, "tau", 0, 0, 1, "the membrane leak factor must be in 0..1", 1,
                      &ci->tau)) ||
        (s = meta_num(st, "vth", 0, 1, HUGE_VAL, "the firing threshold must be > 0", 1,
                      &ci->vth)) ||
        (s = meta_num(st, "bn_eps", 0, 1, HUGE_VAL, "an epsilon must be > 0", 1, &ci->bn_eps)))
        return s;
    ci->mpbn_eps = ci->bn_eps;
    ci->bn_momentum = 0.1;
    if ((s = meta_num(st, "mpbn_eps", 0, 1, HUGE_VAL, "an epsilon must be > 0", 0, &ci->mpbn_eps)) ||
        (s = meta_num(st, "bn_momentum", 0, 0, 1, "a momentum must be in 0..1", 0,
                      &ci->bn_momentum)))
        return s;

    /* training bookkeeping: optional, checked when present */
    ci->epochs_done = ci->epochs_total = ci->batch = 0;
    ci->seed = 1, ci->rng_state = 0, ci->has_rng_state = 0;
    ci->lr = 0.1, ci->weight_decay = 5e-4, ci->momentum = 0.9, ci->test_acc = -1;
    ci->augment = SNN_AUG_CROP | SNN_AUG_FLIP;
    ci->limit_train = ci->limit_test = ci->max_batches = 0;
    ci->rate_reg = 0;
    ci->label_smoothing = 0;
    ci->data[0] = 0;
    if ((s = meta_u32(st, "epochs_done", 0, UINT32_MAX, 0, &ci->epochs_done)) ||
        (s = meta_u32(st, "epochs_total", 0, UINT32_MAX, 0, &ci->epochs_total)) ||
        (s = meta_u32(st, "batch", 0, 65536, 0, &ci->batch)) ||
        (s = meta_int(st, "seed", 0, UINT64_MAX, 0, &ci->seed)) ||
        (s = meta_num(st, "lr", 0, 0, HUGE_VAL, "a learning rate must be >= 0", 0, &ci->lr)) ||
        (s = meta_num(st, "weight_decay", 0, 0, HUGE_VAL, "a weight decay must be >= 0", 0,
                      &ci->weight_decay)) ||
        (s = meta_num(st, "momentum", 0, 0, 1, "a momentum must be in 0..1", 0, &ci->momentum)) ||
        (s = meta_num(st, "test_acc", 0, 0, 1, "an accuracy must be in 0..1", 0, &ci->test_acc)) ||
        (s = meta_u32(st, "limit_train", 0, UINT32_MAX, 0, &ci->limit_train)) ||
        (s = meta_u32(st, "limit_test", 0, UINT32_MAX, 0, &ci->limit_test)) ||
        (s = meta_u32(st, "max_batches", 0, UINT32_MAX, 0, &ci->max_batches)) ||
        (s = meta_num(st, "rate_reg", 0, 0, HUGE_VAL, "a regulariser weight must be >= 0", 0,
                      &ci->rate_reg)) ||
        (s = meta_num(st, "label_smoothing", 0, 0, 0.999, "label smoothing must be in 0..0.999", 0,
                      &ci->label_smoothing)))
        return s;
    if ((v = snn_st_meta(st, "data"))) {
        if (!*v || strlen(v) >= sizeof ci->data)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: metadata \"data\" is %zu characters long, expected 1..%zu", name,
                            strlen(v), sizeof ci->data - 1);
        snprintf(ci->data, sizeof ci->data, "%s", v);
    }
    /* which of the options that shape a run the file records */
    static const struct { const char *key; uint32_t bit; } run_keys[] = {
        {"data", SNN_RUN_DATA},
        {"arch", SNN_RUN_ARCH},
        {"T", SNN_RUN_T},
        {"mpbn", SNN_RUN_MPBN},
        {"epochs_total", SNN_RUN_EPOCHS},
        {"batch", SNN_RUN_BATCH},
        {"lr", SNN_RUN_LR},
        {"weight_decay", SNN_RUN_WD},
        {"limit_train", SNN_RUN_LIMIT_TRAIN},
        {"limit_test", SNN_RUN_LIMIT_TEST},
        {"seed", SNN_RUN_SEED},
        {"augment", SNN_RUN_AUGMENT},
        {"max_batches", SNN_RUN_MAX_BATCHES},
        {"rate_reg", SNN_RUN_RATE_REG},
        {"label_smoothing", SNN_RUN_LABEL_SMOOTHING},
    };
    ci->run_keys = 0;
    for (size_t i = 0; i < sizeof run_keys / sizeof run_keys[0]; i++)
        if (snn_st_meta(st, run_keys[i].key)) ci->run_keys |= run_keys[i].bit;
    if (ci->batch == 1)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: metadata \"batch\" is 1: a batch needs at least 2 images (0: the "
                        "command's --batch)",
                        name);
    if (snn_st_meta(st, "epochs_total") && ci->epochs_done > ci->epochs_total)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: metadata \"epochs_done\" is %u but \"epochs_total\" only %u", name,
                        ci->epochs_done, ci->epochs_total);
    if ((v = snn_st_meta(st, "rng_state"))) {
        size_t n = strspn(v, "0123456789abcdefABCDEF");
        if (n == 0 || n > 16 || v[n])
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: metadata \"rng_state\" is '%.80s', expected 1 to 16 hex digits",
                            name, v);
        ci->rng_state = strtoull(v, NULL, 16);
        ci->has_rng_state = 1;
    }
    if ((v = snn_st_meta(st, "augment"))) {
        if (snn_augment_parse(v, &ci->augment) != SNN_OK)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: metadata \"augment\" is '%.80s', expected none, all or a list of "
                            "crop, flip, erase",
                            name, v);
    }
    return SNN_OK;
}

/* ---- shapes ------------------------------------------------------------------------ */

static snn_status layer_shapes(const snn_st_file *st, snn_ckpt_info *ci)
{
    const char *name = snn_st_name(st);
    if ((uint64_t)ci->in_c * ci->in_h * ci->in_w > SNN_CKPT_MAX_NEURONS)
        return snn_fail(SNN_ERR_FORMAT, "%s: metadata input %ux%ux%u is larger than %u values",
                        name, ci->in_c, ci->in_h, ci->in_w, SNN_CKPT_MAX_NEURONS);
    ci->n_layers = ci->spec.n + 1;
    uint32_t c = ci->in_c, h = ci->in_h, w = ci->in_w;
    for (uint32_t i = 0; i < ci->n_layers; i++) {
        snn_layer_info *L = &ci->layers[i];
        memset(L, 0, sizeof *L);
        L->kind = i < ci->spec.n ? ci->spec.kind[i] : SNN_LAYER_OUT;
        L->index = i;
        L->in_c = c, L->in_h = h, L->in_w = w;
        if (L->kind == SNN_LAYER_POOL) {
            if (h < 2 || w < 2)
                return snn_fail(SNN_ERR_FORMAT,
                                "%s: metadata \"arch\" '%s': layer %u pools a %ux%u map (needs at "
                                "least 2x2)",
                                name, ci->arch, i, h, w);
            h /= 2, w /= 2;
        } else if (L->kind == SNN_LAYER_CONV) {
            c = ci->spec.width[i];
        } else {
            /* fc/out: the input flattened in C,H,W order (snn_layer_info) */
            L->in_c = c * h * w, L->in_h = L->in_w = 1;
            c = L->kind == SNN_LAYER_OUT ? ci->n_classes : ci->spec.width[i];
            h = w = 1;
        }
        L->out_c = c, L->out_h = h, L->out_w = w;
        if ((uint64_t)c * h * w > SNN_CKPT_MAX_NEURONS)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: metadata \"arch\" '%s': layer %u has more than %u neurons", name,
                            ci->arch, i, SNN_CKPT_MAX_NEURONS);
        int hidden = L->kind == SNN_LAYER_CONV || L->kind == SNN_LAYER_FC;
        L->has_bn = L->has_lif = hidden;
        L->has_mpbn = hidden && ci->mpbn != SNN_MPBN_NONE;
    }
    return SNN_OK;
}

/* ---- tensors ----------------------------------------------------------------------- */

typedef struct want {
    char name[64];
    uint32_t ndim;
    int64_t shape[4];
    int trained;  /* has an SGD momentum buffer */
    int variance; /* a running variance: must be >= 0 */
} want;

#define MAX_WANT (SNN_MAX_LAYERS * 10)

static void add_want(want *w, uint32_t *n, uint32_t layer, const char *suffix, uint32_t ndim,
                     const int64_t *shape, int trained)
{
    want *x = &w[(*n)++];
    snprintf(x->name, sizeof x->name, "layers.%u.%s", layer, suffix);
    x->ndim = ndim;
    memcpy(x->shape, shape, sizeof(int64_t) * ndim);
    x->trained = trained;
    x->variance = strstr(suffix, "running_var") != NULL;
}

/* The tensors of docs/checkpoint.md for this architecture. */
static uint32_t wanted(const snn_ckpt_info *ci, want *w)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ci->n_layers; i++) {
        const snn_layer_info *L = &ci->layers[i];
        if (L->kind == SNN_LAYER_POOL) continue;
        int64_t sh[4] = {L->out_c, L->in_c, 3, 3};
        if (L->kind == SNN_LAYER_CONV) {
            add_want(w, &n, i, "weight", 4, sh, 1);
        } else {
            sh[1] = (int64_t)L->in_c * L->in_h * L->in_w;
            add_want(w, &n, i, "weight", 2, sh, 1);
        }
        if (L->kind == SNN_LAYER_OUT) {
            add_want(w, &n, i, "bias", 1, sh, 1);
            continue;
        }
        add_want(w, &n, i, "bn.weight", 1, sh, 1);
        add_want(w, &n, i, "bn.bias", 1, sh, 1);
        add_want(w, &n, i, "bn.running_mean", 1, sh, 0);
        add_want(w, &n, i, "bn.running_var", 1, sh, 0);
        if (!L->has_mpbn) continue;
        uint32_t nd = 1;
        if (ci->mpbn == SNN_MPBN_ELEMENT && L->kind == SNN_LAYER_CONV) {
            nd = 3;
            sh[1] = L->out_h, sh[2] = L->out_w;
        }
        add_want(w, &n, i, "mpbn.weight", nd, sh, 1);
        add_want(w, &n, i, "mpbn.bias", nd, sh, 1);
        add_want(w, &n, i, "mpbn.running_mean", nd, sh, 0);
        add_want(w, &n, i, "mpbn.running_var", nd, sh, 0);
    }
    return n;
}

/* Present with this dtype and shape, every value finite (and >= 0 for a variance). */
static snn_status check_tensor(const snn_st_file *st, const char *name, const want *w,
                               uint64_t *values)
{
    const snn_st_tensor *t;
    snn_status s = snn_st_get(st, name, SNN_ST_F32, w->ndim, w->shape, &t);
    if (s != SNN_OK) return s;
    const float *p = t->data;
    size_t n = t->nbytes / sizeof(float);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i]))
            return snn_fail(SNN_ERR_FORMAT, "%s: tensor \"%s\": element %zu is %g (not finite)",
                            snn_st_name(st), name, i, (double)p[i]);
        if (w->variance && p[i] < 0)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: tensor \"%s\": element %zu is %g, a variance must be >= 0",
                            snn_st_name(st), name, i, (double)p[i]);
    }
    *values += n;
    return SNN_OK;
}

static int momentum_of(const char *name, const want *w, uint32_t n)
{
    size_t len = strlen(name);
    if (strncmp(name, "optim.", 6) || len < 6 + 9 || strcmp(name + len - 9, ".momentum")) return -1;
    for (uint32_t k = 0; k < n; k++)
        if (w[k].trained && strlen(w[k].name) == len - 15 && !strncmp(name + 6, w[k].name, len - 15))
            return (int)k;
    return -1;
}

snn_status snn_ckpt_validate(const snn_st_file *st, snn_ckpt_info *ci)
{
    memset(ci, 0, sizeof *ci);
    snn_status s = read_meta(st, ci);
    if (s == SNN_OK) s = layer_shapes(st, ci);
    if (s != SNN_OK) return s;
    want w[MAX_WANT];
    uint32_t nw = wanted(ci, w), n_trained = 0;
    for (uint32_t k = 0; k < nw; k++) {
        if ((s = check_tensor(st, w[k].name, &w[k], &ci->n_values)) != SNN_OK) return s;
        ci->n_tensors++;
        n_trained += (uint32_t)w[k].trained;
    }
    /* every other tensor must be the momentum buffer of a trained one */
    uint64_t mom_values = 0;
    for (size_t i = 0; i < snn_st_count(st); i++) {
        const char *name = snn_st_at(st, i)->name;
        uint32_t k = 0;
        while (k < nw && strcmp(w[k].name, name)) k++;
        if (k < nw) continue;
        int m = momentum_of(name, w, nw);
        if (m < 0)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: tensor \"%s\" is not part of a network '%s' with mpbn %s "
                            "(docs/checkpoint.md)",
                            snn_st_name(st), name, ci->arch, snn_mpbn_mode_str(ci->mpbn));
        if ((s = check_tensor(st, name, &w[m], &mom_values)) != SNN_OK) return s;
        ci->n_momentum++;
    }
    ci->resumable = ci->n_momentum == n_trained && ci->has_rng_state;
    return SNN_OK;
}
