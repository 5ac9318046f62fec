/*
 * arch.c - architecture spec parser and model construction: shapes, the
 * parameter table (named as in docs/checkpoint.md) and initialisation.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "train-impl.h"

/* ---- small enums ------------------------------------------------------------ */

const char *snn_mpbn_mode_str(snn_mpbn_mode mode)
{
    switch (mode) {
    case SNN_MPBN_NONE: return "none";
    case SNN_MPBN_CHANNEL: return "channel";
    case SNN_MPBN_ELEMENT: return "element";
    }
    return "?";
}

snn_status snn_mpbn_mode_parse(const char *s, snn_mpbn_mode *mode)
{
    if (s && !strcmp(s, "none")) *mode = SNN_MPBN_NONE;
    else if (s && !strcmp(s, "channel")) *mode = SNN_MPBN_CHANNEL;
    else if (s && !strcmp(s, "element")) *mode = SNN_MPBN_ELEMENT;
    else
        return snn_fail(SNN_ERR_ARG, "bad MPBN mode '%s' (expected none, channel or element)",
                        s ? s : "");
    return SNN_OK;
}

/* ---- spec parser ------------------------------------------------------------- */

snn_status snn_arch_parse(const char *spec, snn_arch *arch)
{
    memset(arch, 0, sizeof *arch);
    if (!spec || !*spec) return snn_fail(SNN_ERR_ARG, "empty architecture spec");
    const char *p = spec;
    int seen_fc = 0;
    while (1) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char tok[32];
        if (len == 0 || len >= sizeof tok)
            return snn_fail(SNN_ERR_ARG, "architecture '%s': bad token '%.*s' at position %u "
                            "(expected cN, p or fN)", spec, (int)len, p, arch->n + 1);
        memcpy(tok, p, len);
        tok[len] = 0;
        if (arch->n >= SNN_MAX_LAYERS - 1)
            return snn_fail(SNN_ERR_ARG, "architecture '%s': more than %u layers", spec,
                            SNN_MAX_LAYERS - 1);
        snn_layer_kind k;
        uint32_t width = 0;
        if (!strcmp(tok, "p")) {
            k = SNN_LAYER_POOL;
        } else if ((tok[0] == 'c' || tok[0] == 'f') && isdigit((unsigned char)tok[1])) {
            char *end;
            errno = 0;
            unsigned long v = strtoul(tok + 1, &end, 10);
            if (*end || errno || v == 0 || v > SNN_ARCH_MAX_WIDTH)
                return snn_fail(SNN_ERR_ARG, "architecture '%s': bad token '%s' (width must be "
                                "1..%u)", spec, tok, SNN_ARCH_MAX_WIDTH);
            k = tok[0] == 'c' ? SNN_LAYER_CONV : SNN_LAYER_FC;
            width = (uint32_t)v;
        } else {
            return snn_fail(SNN_ERR_ARG, "architecture '%s': bad token '%s' (expected cN = conv, "
                            "p = pool, fN = fc)", spec, tok);
        }
        if (arch->n == 0 && k == SNN_LAYER_POOL)
            return snn_fail(SNN_ERR_ARG, "architecture '%s': bad token 'p' at position 1 (the "
                            "first layer encodes the image: it must be cN or fN)", spec);
        if (k == SNN_LAYER_FC) seen_fc = 1;
        else if (seen_fc)
            return snn_fail(SNN_ERR_ARG, "architecture '%s': bad token '%s' after an fc layer "
                            "(conv and pool must come before fc)", spec, tok);
        arch->kind[arch->n] = k;
        arch->width[arch->n] = width;
        arch->n++;
        if (!e) break;
        p = e + 1;
    }
    return SNN_OK;
}

/* ---- model --------------------------------------------------------------------- */

void snn_model_config_default(snn_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "%s", SNN_ARCH_DEFAULT);
    cfg->T = 4;
    cfg->mpbn = SNN_MPBN_CHANNEL;
    cfg->in_c = 1;
    cfg->in_h = 28;
    cfg->in_w = 28;
    cfg->n_classes = 10;
    cfg->norm_mean = 0.0f;
    cfg->norm_std = 1.0f;
    cfg->tau = 0.25f;
    cfg->vth = 0.5f;
    cfg->bn_eps = 1e-5f;
    cfg->mpbn_eps = 1e-5f;
    cfg->bn_momentum = 0.1f;
}

static snn_param *add_param(snn_model *m, snn_param_kind kind, uint32_t ndim, const int64_t *shape,
                            const char *fmt, uint32_t idx, float fill)
{
    SNN_ASSERT(m->n_params < SNN_MAX_PARAMS);
    snn_param *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, fmt, idx);
    p->kind = kind;
    p->ndim = ndim;
    p->n = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->n *= (size_t)shape[i];
    }
    p->data = snn_malloc(p->n * sizeof(float));
    if (!p->data) return NULL;
    for (size_t i = 0; i < p->n; i++) p->data[i] = fill;
    m->n_params++;
    return p;
}

static void init_uniform(snn_param *p, float bound, uint64_t *rng)
{
    for (size_t i = 0; i < p->n; i++)
        p->data[i] = (float)((2.0 * snn_rng_uniform(rng) - 1.0) * bound);
}

snn_status snn_model_create(const snn_model_config *cfg, uint64_t seed, snn_model **out)
{
    *out = NULL;
    snn_arch arch;
    snn_status st = snn_arch_parse(cfg->arch, &arch);
    if (st != SNN_OK) return st;
    if (cfg->T < 1 || cfg->T > SNN_MAX_T)
        return snn_fail(SNN_ERR_ARG, "bad T %u (expected 1..%u)", cfg->T, SNN_MAX_T);
    if (cfg->in_c < 1 || cfg->in_h < 1 || cfg->in_w < 1 || cfg->n_classes < 2)
        return snn_fail(SNN_ERR_ARG, "bad input shape %ux%ux%u or class count %u", cfg->in_c,
                        cfg->in_h, cfg->in_w, cfg->n_classes);
    if ((int)cfg->mpbn < 0 || cfg->mpbn > SNN_MPBN_ELEMENT)
        return snn_fail(SNN_ERR_ARG, "bad MPBN mode %d", (int)cfg->mpbn);
    /* the limits snn_ckpt_validate applies, so every model can be read back */
    if (cfg->in_c > SNN_CKPT_MAX_DIM || cfg->in_h > SNN_CKPT_MAX_DIM || cfg->in_w > SNN_CKPT_MAX_DIM ||
        (uint64_t)cfg->in_c * cfg->in_h * cfg->in_w > SNN_CKPT_MAX_NEURONS ||
        cfg->n_classes > SNN_CKPT_MAX_CLASSES)
        return snn_fail(SNN_ERR_ARG, "input %ux%ux%u or %u classes beyond the checkpoint limits "
                        "(docs/checkpoint.md)", cfg->in_c, cfg->in_h, cfg->in_w, cfg->n_classes);

    snn_model *m = snn_calloc(1, sizeof *m);
    if (!m) return SNN_ERR_NOMEM;
    m->cfg = *cfg;
    m->arch = arch;
    m->n_layers = arch.n + 1;
    m->test_acc = -1.0;
    m->seed = seed;
    uint64_t rng = seed;

    uint32_t c = cfg->in_c, h = cfg->in_h, w = cfg->in_w;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        snn_tlayer *L = &m->layers[i];
        L->index = i;
        L->first = i == 0;
        L->kind = i < arch.n ? arch.kind[i] : SNN_LAYER_OUT;
        L->ic = c;
        L->ih = h;
        L->iw = w;
        switch (L->kind) {
        case SNN_LAYER_CONV:
            L->oc = arch.width[i];
            L->oh = h;
            L->ow = w;
            break;
        case SNN_LAYER_POOL:
            if (h < 2 || w < 2) {
                snn_model_free(m);
                return snn_fail(SNN_ERR_ARG, "architecture '%s': pool layer %u gets a %ux%u "
                                "input (needs at least 2x2)", cfg->arch, i, h, w);
            }
            L->oc = c;
            L->oh = h / 2;
            L->ow = w / 2;
            break;
        case SNN_LAYER_FC:
            L->oc = arch.width[i];
            L->oh = L->ow = 1;
            break;
        default:
            L->oc = cfg->n_classes;
            L->oh = L->ow = 1;
            break;
        }
        L->ihw = L->ih * L->iw;
        L->ohw = L->oh * L->ow;
        L->in_n = (size_t)L->ic * L->ihw;
        L->out_n = (size_t)L->oc * L->ohw;
        if (L->out_n > SNN_CKPT_MAX_NEURONS) {
            snn_model_free(m);
            return snn_fail(SNN_ERR_ARG, "architecture '%s': layer %u has more than %u neurons",
                            cfg->arch, i, SNN_CKPT_MAX_NEURONS);
        }
        c = L->oc;
        h = L->oh;
        w = L->ow;

        if (L->kind == SNN_LAYER_POOL) continue;
        int64_t sh[4];
        float fan_in;
        if (L->kind == SNN_LAYER_CONV) {
            sh[0] = L->oc; sh[1] = L->ic; sh[2] = 3; sh[3] = 3;
            L->w = add_param(m, SNN_PARAM_WEIGHT, 4, sh, "layers.%u.weight", i, 0.0f);
            fan_in = (float)L->ic * 9.0f;
        } else {
            sh[0] = L->oc; sh[1] = (int64_t)L->in_n;
            L->w = add_param(m, SNN_PARAM_WEIGHT, 2, sh, "layers.%u.weight", i, 0.0f);
            fan_in = (float)L->in_n;
        }
        if (!L->w) goto nomem;
        float bound = 1.0f / sqrtf(fan_in);
        init_uniform(L->w, bound, &rng);
        if (L->kind == SNN_LAYER_OUT) {
            sh[0] = L->oc;
            if (!(L->b = add_param(m, SNN_PARAM_AFFINE, 1, sh, "layers.%u.bias", i, 0.0f)))
                goto nomem;
            init_uniform(L->b, bound, &rng);
            continue;
        }
        sh[0] = L->oc;
        if (!(L->bn_g = add_param(m, SNN_PARAM_AFFINE, 1, sh, "layers.%u.bn.weight", i, 1.0f)) ||
            !(L->bn_b = add_param(m, SNN_PARAM_AFFINE, 1, sh, "layers.%u.bn.bias", i, 0.0f)) ||
            !(L->bn_rm = add_param(m, SNN_PARAM_STAT, 1, sh, "layers.%u.bn.running_mean", i, 0.0f)) ||
            !(L->bn_rv = add_param(m, SNN_PARAM_STAT, 1, sh, "layers.%u.bn.running_var", i, 1.0f)))
            goto nomem;
        if (cfg->mpbn == SNN_MPBN_NONE) continue;
        uint32_t nd = 1;
        sh[0] = L->oc;
        if (cfg->mpbn == SNN_MPBN_ELEMENT && L->kind == SNN_LAYER_CONV) {
            nd = 3;
            sh[1] = L->oh;
            sh[2] = L->ow;
        }
        L->mp_n = cfg->mpbn == SNN_MPBN_ELEMENT ? (uint32_t)L->out_n : L->oc;
        if (!(L->mp_g = add_param(m, SNN_PARAM_AFFINE, nd, sh, "layers.%u.mpbn.weight", i, 1.0f)) ||
            !(L->mp_b = add_param(m, SNN_PARAM_AFFINE, nd, sh, "layers.%u.mpbn.bias", i, 0.0f)) ||
            !(L->mp_rm = add_param(m, SNN_PARAM_STAT, nd, sh, "layers.%u.mpbn.running_mean", i, 0.0f)) ||
            !(L->mp_rv = add_param(m, SNN_PARAM_STAT, nd, sh, "layers.%u.mpbn.running_var", i, 1.0f)))
            goto nomem;
    }
    if (m->layers[m->n_layers - 1].in_n > (1u << 24)) {
        snn_model_free(m);
        return snn_fail(SNN_ERR_ARG, "architecture '%s' is too large", cfg->arch);
    }
    m->rng_state = rng;
    *out = m;
    return SNN_OK;
nomem:
    snn_model_free(m);
    return SNN_ERR_NOMEM;
}

snn_status snn_model_alloc_grads(snn_model *m)
{
    if (m->with_grads) return SNN_OK;
    /* the gradients in one block: a data-parallel step sums them over the
     * ranks in one call (train.c) */
    size_t total = 0;
    for (uint32_t i = 0; i < m->n_params; i++)
        if (m->params[i].kind != SNN_PARAM_STAT) total += (m->params[i].n + 15) & ~(size_t)15;
    m->grad_all = snn_calloc(total + SNN_GRAD_EXTRA, sizeof(float));
    if (!m->grad_all) return SNN_ERR_NOMEM;
    m->grad_n = total;
    size_t off = 0;
    for (uint32_t i = 0; i < m->n_params; i++) {
        snn_param *p = &m->params[i];
        if (p->kind == SNN_PARAM_STAT) continue;
        p->grad = m->grad_all + off;
        off += (p->n + 15) & ~(size_t)15;
        p->mom = snn_calloc(p->n, sizeof(float));
        if (!p->mom) return SNN_ERR_NOMEM;
    }
    m->with_grads = 1;
    return SNN_OK;
}

static void free_workspace(snn_model *m)
{
    for (uint32_t i = 0; i < m->n_layers; i++) {
        snn_tlayer *L = &m->layers[i];
        free(L->z); free(L->upre); free(L->out); free(L->arg); free(L->xt);
        free(L->bn_mean); free(L->bn_istd); free(L->mp_mean); free(L->mp_istd); free(L->spikes);
        L->z = L->upre = L->out = L->xt = L->bn_mean = L->bn_istd = L->mp_mean = L->mp_istd = NULL;
        L->arg = NULL;
        L->spikes = NULL;
    }
    free(m->x); free(m->g0); free(m->g1); free(m->col); free(m->dwp);
    free(m->dlogits); free(m->logits); free(m->yout);
    m->x = m->g0 = m->g1 = m->col = m->dwp = m->dlogits = m->logits = m->yout = NULL;
    m->ws_batch = 0;
}

void snn_model_free(snn_model *m)
{
    if (!m) return;
    free_workspace(m);
    for (uint32_t i = 0; i < m->n_params; i++) {
        free(m->params[i].data);
        free(m->params[i].mom);
    }
    free(m->grad_all);
    free(m->sync_buf);
    free(m);
}

/* Allocate with a 64-byte alignment so vector loops start aligned. */
static void *ws_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63)) {
        snn_fail(SNN_ERR_NOMEM, "out of memory (workspace of %zu bytes)", bytes);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

/* One workspace buffer: pass 0 only adds its size to *need, pass 1
 * allocates it. Returns 0 on allocation failure. */
static int ws_take(int pass, uint64_t *need, void *slot, size_t bytes)
{
    *need += ((bytes ? bytes : 64) + 63) & ~(uint64_t)63;
    if (!pass) return 1;
    void *p = ws_alloc(bytes);
    memcpy(slot, &p, sizeof p);
    return p != NULL;
}
#define WS(ptr, bytes) ws_take(pass, &need, &(ptr), (bytes))

snn_status snn_model_workspace(snn_model *m, uint32_t B)
{
    if (m->ws_batch >= B && m->ws_threads >= snn_par_threads()) return SNN_OK;
    free_workspace(m);
    const uint32_t T = m->cfg.T;
    const size_t N = (size_t)T * B;
    size_t colmax = 0, dwpmax = 0;
    uint64_t need = 0;
    /* Pass 0 sizes the whole workspace and refuses it above the limit before
     * anything is allocated; pass 1 allocates the same buffers. */
    for (int pass = 0; pass < 2; pass++) {
        size_t gmax = (size_t)m->cfg.in_c * m->cfg.in_h * m->cfg.in_w;
        colmax = dwpmax = 0;
        need = 0;
        for (uint32_t i = 0; i < m->n_layers; i++) {
            snn_tlayer *L = &m->layers[i];
            size_t nz = L->first ? B : N;
            if (L->out_n > gmax) gmax = L->out_n;
            if (L->in_n > gmax) gmax = L->in_n;
            switch (L->kind) {
            case SNN_LAYER_CONV:
            case SNN_LAYER_FC:
                if (!WS(L->z, nz * L->out_n * sizeof(float))) goto nomem;
                if (!WS(L->upre, N * L->out_n * sizeof(float))) goto nomem;
                if (!WS(L->out, N * L->out_n * sizeof(float))) goto nomem;
                if (!WS(L->bn_mean, L->oc * sizeof(float))) goto nomem;
                if (!WS(L->bn_istd, L->oc * sizeof(float))) goto nomem;
                if (!WS(L->spikes, L->oc * sizeof(uint64_t))) goto nomem;
                if (L->mp_n) {
                    if (!WS(L->mp_mean, (size_t)T * L->mp_n * sizeof(float))) goto nomem;
                    if (!WS(L->mp_istd, (size_t)T * L->mp_n * sizeof(float))) goto nomem;
                }
                if (L->kind == SNN_LAYER_CONV) {
                    uint32_t chunk, tasks;
                    size_t cn;
                    snn_conv_plan(L->ic, L->oc, L->ih, L->iw, (uint32_t)nz, &chunk, &tasks, &cn);
                    if (cn > colmax) colmax = cn;
                    /* smaller batches (eval tails) may split finer: bound the task count */
                    tasks += 4 * SNN_PLAN_WORKERS;
                    size_t dw = (size_t)tasks * L->oc * L->ic * 9;
                    if (dw > dwpmax) dwpmax = dw;
                } else if (!WS(L->xt, nz * L->in_n * sizeof(float))) {
                    goto nomem;
                }
                break;
            case SNN_LAYER_POOL:
                if (!WS(L->out, N * L->out_n * sizeof(float))) goto nomem;
                if (!WS(L->arg, N * L->out_n)) goto nomem;
                break;
            default:
                if (!WS(L->xt, N * L->in_n * sizeof(float))) goto nomem;
                break;
            }
        }
        if (!WS(m->x, (size_t)B * m->cfg.in_c * m->cfg.in_h * m->cfg.in_w * sizeof(float)) ||
            !WS(m->g0, N * gmax * sizeof(float)) ||
            !WS(m->g1, N * gmax * sizeof(float)) ||
            !WS(m->col, colmax * snn_par_threads() * sizeof(float)) ||
            !WS(m->dwp, dwpmax * sizeof(float)) ||
            !WS(m->dlogits, (size_t)B * m->cfg.n_classes * sizeof(float)) ||
            !WS(m->logits, (size_t)B * m->cfg.n_classes * sizeof(float)) ||
            !WS(m->yout, N * m->cfg.n_classes * sizeof(float)))
            goto nomem;
        if (pass == 0 && need > SNN_WORKSPACE_MAX_BYTES)
            return snn_fail(SNN_ERR_ARG,
                            "a batch of %u images needs a %.1f GiB workspace (%llu bytes), more "
                            "than the %llu GiB limit: use a smaller --batch",
                            B, (double)need / (1u << 30), (unsigned long long)need,
                            (unsigned long long)(SNN_WORKSPACE_MAX_BYTES >> 30));
    }
    m->col_n = colmax;
    m->ws_batch = B;
    m->ws_threads = snn_par_threads();
    return SNN_OK;
nomem:
    free_workspace(m);
    return SNN_ERR_NOMEM;
}
#undef WS

snn_status snn_model_set_dist(snn_model *m, uint32_t loss_batch, uint32_t sync_ranks)
{
    m->loss_batch = loss_batch;
    free(m->sync_buf);
    m->sync_buf = NULL;
    m->sync_ranks = 0;
    if (sync_ranks <= 1) return SNN_OK;
    size_t n = 0;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        const snn_tlayer *L = &m->layers[i];
        if (L->oc > n) n = L->oc;
        if (L->mp_n > n) n = L->mp_n;
    }
    if (!(m->sync_buf = snn_calloc(2 * n, sizeof(double)))) return SNN_ERR_NOMEM;
    m->sync_ranks = sync_ranks;
    return SNN_OK;
}

/* ---- queries -------------------------------------------------------------------- */

const snn_model_config *snn_model_get_config(const snn_model *m) { return &m->cfg; }

uint32_t snn_model_n_layers(const snn_model *m) { return m->n_layers; }

snn_status snn_model_layer(const snn_model *m, uint32_t i, snn_layer_info *info)
{
    if (i >= m->n_layers)
        return snn_fail(SNN_ERR_ARG, "layer %u out of range (model has %u)", i, m->n_layers);
    const snn_tlayer *L = &m->layers[i];
    memset(info, 0, sizeof *info);
    info->kind = L->kind;
    info->index = i;
    info->in_c = L->ic;
    info->in_h = L->ih;
    info->in_w = L->iw;
    info->out_c = L->oc;
    info->out_h = L->oh;
    info->out_w = L->ow;
    if (L->kind == SNN_LAYER_FC || L->kind == SNN_LAYER_OUT) {
        info->in_c = (uint32_t)L->in_n;
        info->in_h = info->in_w = 1;
    }
    info->has_bn = info->has_lif = L->kind == SNN_LAYER_CONV || L->kind == SNN_LAYER_FC;
    info->has_mpbn = info->has_bn && L->mp_n > 0;
    return SNN_OK;
}

snn_param *snn_model_find_param(const snn_model *m, const char *name)
{
    for (uint32_t i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return (snn_param *)&m->params[i];
    return NULL;
}

float *snn_model_param(const snn_model *m, const char *name, uint32_t *n)
{
    snn_param *p = snn_model_find_param(m, name);
    if (n) *n = p ? (uint32_t)p->n : 0;
    return p ? p->data : NULL;
}
