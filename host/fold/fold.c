/*
 * fold.c - checkpoint -> folded float network -> quantised deploy image
 * (derivation and measurements in docs/fold.md), plus the two float forwards
 * the fold is checked with:
 *
 *   snn_unfold_forward   the trained network in eval mode, straight from the
 *                        checkpoint tensors: normalise, conv/fc, BN, LIF with
 *                        MPBN on the membrane, pool, output
 *   snn_fold_forward     the folded network: raw pixels, conv/fc with folded
 *                        weights and a per-step bias, LIF comparing u_pre with
 *                        a per-neuron threshold (and polarity), pool, output
 *
 * Both are spike-driven loops over one image at a time (work proportional to
 * the input events), the same structure as the golden model in ref-model.c.
 * The checkpoint is read by tensor name (docs/checkpoint.md) so that folding
 * depends on the file format only, not on the trainer's data structures; it
 * is validated first by snn_ckpt_validate() (checkpoint.c), like for every
 * other consumer.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "fold-impl.h"
#include "io/safetensors.h"
#include "train/snn-train.h" /* snn_ckpt_validate */

/* ---- architecture ------------------------------------------------------------- */

snn_status snn_fold_arch_parse(const char *arch, snn_layer_kind *kind, uint32_t *width, uint32_t *n)
{
    *n = 0;
    const char *p = arch ? arch : "";
    int seen_fc = 0;
    while (*p) {
        if (*n >= SNN_MAX_LAYERS - 1)
            return snn_fail(SNN_ERR_ARG, "arch '%s': more than %u hidden layers", arch,
                            SNN_MAX_LAYERS - 1);
        char c = *p++;
        uint32_t v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) v = v * 10 + (uint32_t)(*p++ - '0'), digits++;
        if (c == 'p' && digits == 0) {
            if (*n == 0) return snn_fail(SNN_ERR_ARG, "arch '%s': cannot start with a pool", arch);
            kind[*n] = SNN_LAYER_POOL, width[*n] = 0;
        } else if ((c == 'c' || c == 'f') && digits && v >= 1 && v <= 4096) {
            if (c == 'c' && seen_fc) return snn_fail(SNN_ERR_ARG, "arch '%s': conv after fc", arch);
            seen_fc |= c == 'f';
            kind[*n] = c == 'c' ? SNN_LAYER_CONV : SNN_LAYER_FC, width[*n] = v;
        } else {
            return snn_fail(SNN_ERR_ARG, "arch '%s': bad token at '%c%s' (use cN, p, fN)", arch, c,
                            digits ? "<n>" : "");
        }
        (*n)++;
        if (*p == ',') p++;
        else if (*p) return snn_fail(SNN_ERR_ARG, "arch '%s': expected ',' before '%s'", arch, p);
    }
    return SNN_OK;
}

/* ---- checkpoint configuration ----------------------------------------------------- */

enum { MP_NONE = 0, MP_CHANNEL = 1, MP_ELEMENT = 2 };

typedef struct ck_layer {
    snn_layer_kind kind;
    uint32_t in_c, in_h, in_w, out_c, out_h, out_w, n_in, n_out;
} ck_layer;

typedef struct ckpt {
    const snn_st_file *st;
    uint32_t n_layers; /* incl. output */
    ck_layer l[SNN_MAX_LAYERS];
    uint32_t T, in_c, in_h, in_w, K;
    int mpbn;
    double mean, std, tau, vth, bn_eps, mp_eps;
} ckpt;

/* The checkpoint's configuration and layer shapes, after snn_ckpt_validate()
 * (the one check of a trained network); what remains here are the limits of
 * the integer deploy format. */
static snn_status read_config(const snn_st_file *st, ckpt *c)
{
    memset(c, 0, sizeof *c);
    c->st = st;
    snn_ckpt_info ci;
    snn_status s = snn_ckpt_validate(st, &ci);
    if (s != SNN_OK) return s;
    if (ci.tau != 0.25)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "%s: metadata \"tau\" is %g: the integer model leaks by a shift of 2 "
                        "(tau = 0.25 only)",
                        snn_st_name(st), ci.tau);
    if (ci.n_classes > SNN_MAX_CLASSES)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "%s: metadata \"n_classes\" is %u: a deploy image has at most %u classes",
                        snn_st_name(st), ci.n_classes, SNN_MAX_CLASSES);
    c->T = ci.T, c->in_c = ci.in_c, c->in_h = ci.in_h, c->in_w = ci.in_w, c->K = ci.n_classes;
    c->mpbn = ci.mpbn == SNN_MPBN_NONE ? MP_NONE : ci.mpbn == SNN_MPBN_CHANNEL ? MP_CHANNEL : MP_ELEMENT;
    c->mean = ci.norm_mean, c->std = ci.norm_std, c->tau = ci.tau, c->vth = ci.vth;
    c->bn_eps = ci.bn_eps, c->mp_eps = ci.mpbn_eps;
    c->n_layers = ci.n_layers;
    uint32_t ch = c->in_c, h = c->in_h, w = c->in_w;
    for (uint32_t i = 0; i < c->n_layers; i++) {
        const snn_layer_info *I = &ci.layers[i];
        ck_layer *L = &c->l[i];
        L->kind = I->kind;
        L->in_c = ch, L->in_h = h, L->in_w = w, L->n_in = ch * h * w;
        ch = I->out_c, h = I->out_h, w = I->out_w;
        L->out_c = ch, L->out_h = h, L->out_w = w, L->n_out = ch * h * w;
    }
    return SNN_OK;
}

/* A float tensor with exactly this shape (values checked by the validator). */
static snn_status get_f32(const ckpt *c, const char *name, uint32_t ndim, const int64_t *shape,
                          const float **out)
{
    const snn_st_tensor *t;
    snn_status s = snn_st_get(c->st, name, SNN_ST_F32, ndim, shape, &t);
    if (s != SNN_OK) return s;
    *out = t->data;
    return SNN_OK;
}

/* Weights of conv/fc/out layer i in the image layout: conv [ci][ky][kx][co]
 * from OIHW, fc/out [i][o] from [O][I]. Returns a fresh float array. */
static snn_status get_weights(const ckpt *c, uint32_t i, float **out)
{
    const ck_layer *L = &c->l[i];
    char name[64];
    snprintf(name, sizeof name, "layers.%u.weight", i);
    const float *w = NULL;
    snn_status s;
    if (L->kind == SNN_LAYER_CONV) {
        int64_t sh[4] = {L->out_c, L->in_c, 3, 3};
        s = get_f32(c, name, 4, sh, &w);
    } else {
        int64_t sh[2] = {L->out_c, L->n_in};
        s = get_f32(c, name, 2, sh, &w);
    }
    if (s != SNN_OK) return s;
    uint32_t fan = L->kind == SNN_LAYER_CONV ? 9 * L->in_c : L->n_in, oc = L->out_c;
    float *r = snn_malloc(sizeof(float) * fan * oc);
    if (!r) return SNN_ERR_NOMEM;
    for (uint32_t o = 0; o < oc; o++)
        for (uint32_t k = 0; k < fan; k++) r[(size_t)k * oc + o] = w[(size_t)o * fan + k];
    *out = r;
    return SNN_OK;
}

typedef struct bn_p { const float *g, *b, *rm, *rv; } bn_p;
typedef struct mp_p { const float *lam, *beta, *mu, *var; uint32_t n; } mp_p;

static snn_status get_bn(const ckpt *c, uint32_t i, bn_p *p)
{
    char name[80];
    int64_t sh[1] = {c->l[i].out_c};
    const float **dst[4] = {&p->g, &p->b, &p->rm, &p->rv};
    const char *suf[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "layers.%u.bn.%s", i, suf[k]);
        snn_status s = get_f32(c, name, 1, sh, dst[k]);
        if (s != SNN_OK) return s;
    }
    return SNN_OK;
}

static snn_status get_mp(const ckpt *c, uint32_t i, mp_p *p)
{
    memset(p, 0, sizeof *p);
    if (c->mpbn == MP_NONE) return SNN_OK;
    const ck_layer *L = &c->l[i];
    char name[80];
    int64_t sh[3] = {L->out_c, L->out_h, L->out_w};
    uint32_t nd = c->mpbn == MP_ELEMENT && L->kind == SNN_LAYER_CONV ? 3 : 1;
    p->n = c->mpbn == MP_ELEMENT ? L->n_out : L->out_c;
    const float **dst[4] = {&p->lam, &p->beta, &p->mu, &p->var};
    const char *suf[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "layers.%u.mpbn.%s", i, suf[k]);
        snn_status s = get_f32(c, name, nd, sh, dst[k]);
        if (s != SNN_OK) return s;
    }
    return SNN_OK;
}

/* ---- fold ------------------------------------------------------------------------- */

void snn_fold_free(snn_fold_net *f)
{
    if (!f) return;
    for (uint32_t l = 0; l < f->n_layers; l++) {
        free(f->layers[l].w);
        free(f->layers[l].bias);
        free(f->layers[l].th);
        free(f->layers[l].pol);
        free(f->layers[l].cnst);
    }
    free(f);
}

snn_status snn_fold_from_st(const snn_st_file *st, snn_fold_net **out)
{
    *out = NULL;
    ckpt c;
    snn_status s = read_config(st, &c);
    if (s != SNN_OK) return s;
    snn_fold_net *f = snn_calloc(1, sizeof *f);
    if (!f) return SNN_ERR_NOMEM;
    f->n_layers = c.n_layers, f->T = c.T, f->n_classes = c.K;
    f->in_c = c.in_c, f->in_h = c.in_h, f->in_w = c.in_w;
    f->tau = (float)c.tau, f->vth = (float)c.vth;
    snprintf(f->mpbn, sizeof f->mpbn, "%s", snn_st_meta(st, "mpbn"));
    for (uint32_t i = 0; i < c.n_layers && s == SNN_OK; i++) {
        const ck_layer *L = &c.l[i];
        snn_fold_layer *F = &f->layers[i];
        F->kind = L->kind, F->index = i;
        F->in_c = L->in_c, F->in_h = L->in_h, F->in_w = L->in_w;
        F->out_c = L->out_c, F->out_h = L->out_h, F->out_w = L->out_w;
        F->n_in = L->n_in, F->n_out = L->n_out;
        if (L->kind == SNN_LAYER_POOL) continue;
        uint32_t oc = L->out_c, fan = L->kind == SNN_LAYER_CONV ? 9 * L->in_c : L->n_in;
        if ((s = get_weights(&c, i, &F->w)) != SNN_OK) break;
        if (!(F->bias = snn_calloc(oc, sizeof(float)))) { s = SNN_ERR_NOMEM; break; }
        /* per output channel: y = k*(W x) + b0 (BN in eval mode; out layer: k = 1) */
        bn_p bn = {0};
        const float *ob = NULL;
        if (L->kind == SNN_LAYER_OUT) {
            char name[64];
            int64_t sh[1] = {oc};
            snprintf(name, sizeof name, "layers.%u.bias", i);
            if ((s = get_f32(&c, name, 1, sh, &ob)) != SNN_OK) break;
        } else if ((s = get_bn(&c, i, &bn)) != SNN_OK) {
            break;
        }
        /* layer 0 reads raw pixels: x_n = x/(255 std) - mean/std, padding x = 0 */
        double a = i == 0 ? 1.0 / (255.0 * c.std) : 1.0, shift = i == 0 ? c.mean / c.std : 0.0;
        for (uint32_t o = 0; o < oc; o++) {
            double k = ob ? 1.0 : bn.g[o] / sqrt((double)bn.rv[o] + c.bn_eps);
            double b0 = ob ? ob[o] : bn.b[o] - k * bn.rm[o];
            double sum_w = 0;
            for (uint32_t j = 0; j < fan; j++) {
                double w = F->w[(size_t)j * oc + o];
                sum_w += w;
                F->w[(size_t)j * oc + o] = (float)(k * a * w);
            }
            F->bias[o] = (float)(b0 - k * shift * sum_w);
        }
        if (L->kind == SNN_LAYER_OUT) continue;

        /* MPBN -> per-neuron threshold on u_pre (docs/fold.md) */
        mp_p mp;
        if ((s = get_mp(&c, i, &mp)) != SNN_OK) break;
        F->th = snn_calloc(L->n_out, sizeof(float));
        F->pol = snn_calloc(L->n_out, 1);
        F->cnst = snn_calloc(L->n_out, 1);
        if (!F->th || !F->pol || !F->cnst) { s = SNN_ERR_NOMEM; break; }
        uint32_t hw = L->out_h * L->out_w;
        for (uint32_t n = 0; n < L->n_out; n++) {
            if (c.mpbn == MP_NONE) {
                F->th[n] = (float)c.vth;
                continue;
            }
            uint32_t p = c.mpbn == MP_CHANNEL ? n / hw : n;
            double lam = mp.lam[p], beta = mp.beta[p];
            if (!(fabs(lam) >= FLT_MIN)) {
                /* zero or denormal scale: m = beta at every step */
                F->cnst[n] = beta > c.vth ? 1 : 2;
                F->th[n] = beta > c.vth ? -INFINITY : INFINITY;
                f->n_constant++;
                continue;
            }
            double th = (c.vth - beta) * sqrt((double)mp.var[p] + c.mp_eps) / lam + mp.mu[p];
            F->th[n] = (float)th; /* may overflow to +-inf: handled like any huge threshold */
            F->pol[n] = lam < 0;
            f->n_negative += lam < 0;
        }
    }
    if (s != SNN_OK) {
        snn_fold_free(f);
        return s;
    }
    *out = f;
    return SNN_OK;
}

snn_status snn_fold_load(const char *path, snn_fold_net **out)
{
    *out = NULL;
    snn_st_file *st;
    snn_status s = snn_st_read(path, &st);
    if (s != SNN_OK) return s;
    s = snn_fold_from_st(st, out); /* messages start with the path */
    snn_st_free(st);
    return s;
}

/* ---- quantisation -------------------------------------------------------------------- */

/* Largest |bias| in accumulator units that keeps docs/numerics.md's bound. */
static int64_t bias_room(const snn_fold_layer *F, uint32_t l, uint32_t T)
{
    uint64_t fan = F->kind == SNN_LAYER_CONV ? 9ull * F->in_c : F->n_in;
    int64_t wsum = (int64_t)(fan * 127 * (l == 0 ? 255 : 1));
    int64_t room = (int64_t)SNN_ACC_BOUND - 1 - wsum;
    if (F->kind == SNN_LAYER_OUT) {
        int64_t r2 = (int64_t)(((1ull << 31) - 1) / T) - wsum;
        if (r2 < room) room = r2;
    }
    if (room > (1 << 27) - 1) room = (1 << 27) - 1;
    return room;
}

snn_status snn_fold_quantize(const snn_fold_net *f, uint8_t **bytes, size_t *size,
                             snn_quant_report *rep)
{
    *bytes = NULL;
    *size = 0;
    snn_quant_report r = {0};
    snn_deploy_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n_layers = f->n_layers, spec.T = f->T, spec.n_classes = f->n_classes;
    spec.in_c = f->in_c, spec.in_h = f->in_h, spec.in_w = f->in_w;
    void *owned[SNN_MAX_LAYERS * 5];
    uint32_t n_owned = 0;
    snn_status s = SNN_OK;
    for (uint32_t l = 0; l < f->n_layers && s == SNN_OK; l++) {
        const snn_fold_layer *F = &f->layers[l];
        snn_layer_spec *ls = &spec.layers[l];
        ls->kind = F->kind;
        if (F->kind == SNN_LAYER_POOL) continue;
        uint32_t oc = F->out_c, fan = F->kind == SNN_LAYER_CONV ? 9 * F->in_c : F->n_in;
        uint32_t hw = F->out_h * F->out_w;
        int64_t room = bias_room(F, l, f->T);
        if (room < 0) {
            s = snn_fail(SNN_ERR_UNSUPPORTED,
                         "layer %u (%s): fan-in %u is too large for the 28-bit accumulator bound",
                         F->index, snn_layer_kind_str(F->kind), fan);
            break;
        }
        int8_t *w = owned[n_owned++] = snn_malloc((size_t)fan * oc);
        int32_t *b = owned[n_owned++] = snn_malloc(sizeof(int32_t) * oc);
        float *sc = owned[n_owned++] = snn_malloc(sizeof(float) * oc);
        int32_t *th = NULL;
        uint8_t *pol = NULL;
        if (F->kind != SNN_LAYER_OUT) {
            th = owned[n_owned++] = snn_malloc(sizeof(int32_t) * F->n_out);
            pol = owned[n_owned++] = snn_calloc(F->n_out, 1);
        }
        if (!w || !b || !sc || (F->kind != SNN_LAYER_OUT && (!th || !pol))) {
            s = SNN_ERR_NOMEM;
            break;
        }
        /* scale: per output channel (hidden), one per tensor (out layer, so that
         * the arg-max over classes compares like units) */
        double *sd = malloc(sizeof(double) * oc);
        if (!sd) { s = snn_fail(SNN_ERR_NOMEM, "out of memory"); break; }
        double wmax_all = 0, bmax_all = 0;
        for (uint32_t o = 0; o < oc; o++) {
            double wmax = 0;
            for (uint32_t j = 0; j < fan; j++) wmax = fmax(wmax, fabs((double)F->w[(size_t)j * oc + o]));
            sd[o] = wmax / 127.0;
            wmax_all = fmax(wmax_all, wmax);
            bmax_all = fmax(bmax_all, fabs((double)F->bias[o]));
        }
        for (uint32_t o = 0; o < oc; o++) {
            double ab = fabs((double)F->bias[o]);
            if (F->kind == SNN_LAYER_OUT) sd[o] = fmax(wmax_all / 127.0, bmax_all / (double)room);
            else if (sd[o] == 0) sd[o] = ab > 0 ? ab / (double)(1 << 20) : 1.0; /* no weights: keep the bias precise */
            if (ab / sd[o] > (double)room) { /* a bias too large for the bound: coarser weights */
                sd[o] = ab / (double)room;
                r.bias_limited++;
            }
            if (!(sd[o] >= 1e-30) || !isfinite(sd[o])) sd[o] = 1.0;
            /* quantise with exactly the stored (float) scale, so that the scale
             * section describes the integers without a rounding of its own */
            sc[o] = (float)sd[o];
            sd[o] = sc[o];
        }
        for (uint32_t j = 0; j < fan; j++)
            for (uint32_t o = 0; o < oc; o++) {
                double q = round((double)F->w[(size_t)j * oc + o] / sd[o]);
                w[(size_t)j * oc + o] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
            }
        for (uint32_t o = 0; o < oc; o++) {
            double q = round((double)F->bias[o] / sd[o]);
            q = q > (double)room ? (double)room : q < -(double)room ? -(double)room : q;
            b[o] = (int32_t)q;
            r.max_bias_units = fmax(r.max_bias_units, fabs(q));
        }
        int64_t maxb = 0;
        for (uint32_t o = 0; o < oc; o++) maxb = llabs((int64_t)b[o]) > maxb ? llabs((int64_t)b[o]) : maxb;
        double A = (double)fan * 127 * (l == 0 ? 255 : 1) + (double)maxb;
        r.max_acc_bound = fmax(r.max_acc_bound, A / (double)SNN_ACC_BOUND);
        if (F->kind != SNN_LAYER_OUT) {
            const double lim = (double)(1 << 30);
            for (uint32_t n = 0; n < F->n_out; n++) {
                uint32_t o = n / hw;
                if (F->cnst[n]) {
                    th[n] = F->cnst[n] == 1 ? INT32_MIN : INT32_MAX;
                    continue;
                }
                double t = (double)F->th[n] / sd[o];
                double q = F->pol[n] ? ceil(t) : floor(t);
                if (q >= lim || q <= -lim || !isfinite(q)) {
                    /* |v| < 2^30 always: the neuron is constant; encode with pol 0 */
                    int always = F->pol[n] ? q > 0 : q < 0;
                    th[n] = always ? INT32_MIN : INT32_MAX;
                    r.th_clamped++;
                    continue;
                }
                th[n] = (int32_t)q;
                pol[n] = F->pol[n];
            }
        }
        free(sd);
        ls->out_c = oc, ls->w = w, ls->bias = b, ls->th = th, ls->pol = pol, ls->scale = sc;
    }
    if (s == SNN_OK) s = snn_deploy_build(&spec, bytes, size);
    for (uint32_t i = 0; i < n_owned; i++) free(owned[i]);
    if (rep) *rep = r;
    return s;
}

/* ---- float forwards ----------------------------------------------------------------- */

/* acc (conv: [y][x][co], fc/out: [o]) += value * fan-out of input `in` (CHW). */
static void facc(snn_layer_kind kind, uint32_t H, uint32_t W, uint32_t oc, const float *w,
                 float *acc, uint32_t in, float value)
{
    if (kind == SNN_LAYER_CONV) {
        uint32_t ci = in / (H * W), yi = in / W % H, xi = in % W;
        for (uint32_t ky = 0; ky < 3; ky++) {
            int32_t y = (int32_t)yi - (int32_t)ky + 1;
            if (y < 0 || y >= (int32_t)H) continue;
            for (uint32_t kx = 0; kx < 3; kx++) {
                int32_t x = (int32_t)xi - (int32_t)kx + 1;
                if (x < 0 || x >= (int32_t)W) continue;
                const float *wr = w + ((size_t)(ci * 3 + ky) * 3 + kx) * oc;
                float *a = acc + ((size_t)y * W + (size_t)x) * oc;
                for (uint32_t o = 0; o < oc; o++) a[o] += value * wr[o];
            }
        }
    } else {
        const float *wr = w + (size_t)in * oc;
        for (uint32_t o = 0; o < oc; o++) acc[o] += value * wr[o];
    }
}

/* Per-layer buffers of the float forwards. */
typedef struct fws {
    float *acc[SNN_MAX_LAYERS]; /* conv [y][x][co]; fc/out [o] */
    float *u[SNN_MAX_LAYERS];   /* membrane, CHW */
    float *spk[SNN_MAX_LAYERS]; /* 0/1 spikes, CHW */
    float *m[SNN_MAX_LAYERS];   /* MPBN(u_pre) (unfolded only) */
    uint32_t *ev[SNN_MAX_LAYERS];
    uint32_t n_ev[SNN_MAX_LAYERS];
    float *acc0;                /* layer 0 result of the current image */
} fws;

static void fws_free(fws *w, uint32_t L)
{
    for (uint32_t l = 0; l < L; l++) {
        free(w->acc[l]), free(w->u[l]), free(w->spk[l]), free(w->m[l]), free(w->ev[l]);
    }
    free(w->acc0);
}

static snn_status fws_init(fws *w, uint32_t L, const uint32_t *n_out)
{
    memset(w, 0, sizeof *w);
    int ok = 1;
    for (uint32_t l = 0; l < L; l++) {
        ok &= !!(w->acc[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->u[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->spk[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->m[l] = calloc(n_out[l], sizeof(float)));
        ok &= !!(w->ev[l] = calloc(n_out[l], sizeof(uint32_t)));
    }
    ok &= !!(w->acc0 = calloc(n_out[0], sizeof(float)));
    if (!ok) {
        fws_free(w, L);
        return snn_fail(SNN_ERR_NOMEM, "out of memory for the float forward");
    }
    return SNN_OK;
}

/* Spikes of a pool layer from the events of the layer below. */
static void fpool(uint32_t c, uint32_t H, uint32_t W, const uint32_t *in_ev, uint32_t n_in_ev,
                  fws *w, uint32_t l)
{
    uint32_t oh = H / 2, ow = W / 2, n_out = c * oh * ow;
    memset(w->spk[l], 0, sizeof(float) * n_out);
    w->n_ev[l] = 0;
    for (uint32_t i = 0; i < n_in_ev; i++) {
        uint32_t e = in_ev[i], ch = e / (H * W), y = e / W % H, x = e % W;
        if (y / 2 >= oh || x / 2 >= ow) continue;
        uint32_t o = (ch * oh + y / 2) * ow + x / 2;
        if (w->spk[l][o] == 0) {
            w->spk[l][o] = 1;
            w->ev[l][w->n_ev[l]++] = o;
        }
    }
}

/* acc of layer l (> 0) from the events of layer l-1 */
static void facc_events(snn_layer_kind kind, uint32_t H, uint32_t W, uint32_t oc, uint32_t n_out,
                        const float *wt, fws *w, uint32_t l)
{
    memset(w->acc[l], 0, sizeof(float) * n_out);
    for (uint32_t i = 0; i < w->n_ev[l - 1]; i++) facc(kind, H, W, oc, wt, w->acc[l], w->ev[l - 1][i], 1.0f);
}

static inline float acc_chw(snn_layer_kind kind, const float *acc, uint32_t n, uint32_t hw, uint32_t oc)
{
    return kind == SNN_LAYER_CONV ? acc[(size_t)(n % hw) * oc + n / hw] : acc[n];
}

snn_status snn_fold_forward(const snn_fold_net *f, const uint8_t *pixels, uint32_t n_img,
                            float *logits, snn_fold_spike_cb cb, void *ctx)
{
    uint32_t L = f->n_layers, K = f->n_classes, n_out[SNN_MAX_LAYERS];
    for (uint32_t l = 0; l < L; l++) n_out[l] = f->layers[l].n_out;
    fws w;
    snn_status s = fws_init(&w, L, n_out);
    if (s != SNN_OK) return s;
    size_t px = (size_t)f->in_c * f->in_h * f->in_w;
    float lg[SNN_MAX_CLASSES];
    for (uint32_t im = 0; im < n_img; im++) {
        const uint8_t *x = pixels + im * px;
        const snn_fold_layer *F0 = &f->layers[0];
        memset(w.acc0, 0, sizeof(float) * F0->n_out);
        for (uint32_t i = 0; i < F0->n_in; i++)
            if (x[i]) facc(F0->kind, F0->in_h, F0->in_w, F0->out_c, F0->w, w.acc0, i, (float)x[i]);
        for (uint32_t l = 0; l < L; l++) memset(w.u[l], 0, sizeof(float) * n_out[l]);
        memset(lg, 0, sizeof lg);
        for (uint32_t t = 0; t < f->T; t++)
            for (uint32_t l = 0; l < L; l++) {
                const snn_fold_layer *F = &f->layers[l];
                if (F->kind == SNN_LAYER_POOL) {
                    fpool(F->in_c, F->in_h, F->in_w, w.ev[l - 1], w.n_ev[l - 1], &w, l);
                    if (cb) cb(F->index, t, im, w.spk[l], F->n_out, ctx);
                    continue;
                }
                const float *acc = w.acc0;
                if (l > 0) {
                    facc_events(F->kind, F->in_h, F->in_w, F->out_c, F->n_out, F->w, &w, l);
                    acc = w.acc[l];
                }
                uint32_t hw = F->out_h * F->out_w;
                if (F->kind == SNN_LAYER_OUT) {
                    for (uint32_t k = 0; k < K; k++) lg[k] += acc[k] + F->bias[k];
                    continue;
                }
                w.n_ev[l] = 0;
                for (uint32_t n = 0; n < F->n_out; n++) {
                    float u = f->tau * w.u[l][n] + (acc_chw(F->kind, acc, n, hw, F->out_c) + F->bias[n / hw]);
                    int fire = F->cnst[n] ? F->cnst[n] == 1 : F->pol[n] ? u < F->th[n] : u > F->th[n];
                    w.u[l][n] = fire ? 0.0f : u;
                    w.spk[l][n] = (float)fire;
                    if (fire) w.ev[l][w.n_ev[l]++] = n;
                }
                if (cb) cb(F->index, t, im, w.spk[l], F->n_out, ctx);
            }
        if (logits)
            for (uint32_t k = 0; k < K; k++) logits[(size_t)im * K + k] = lg[k] / (float)f->T;
    }
    fws_free(&w, L);
    return SNN_OK;
}

snn_status snn_unfold_forward(const snn_st_file *st, const uint8_t *pixels, uint32_t n_img,
                              float *logits, snn_unfold_cb cb, void *ctx)
{
    ckpt c;
    snn_status s = read_config(st, &c);
    if (s != SNN_OK) return s;
    uint32_t L = c.n_layers, K = c.K, n_out[SNN_MAX_LAYERS] = {0};
    float *wt[SNN_MAX_LAYERS] = {0};
    bn_p bn[SNN_MAX_LAYERS];
    mp_p mp[SNN_MAX_LAYERS];
    const float *ob = NULL;
    memset(bn, 0, sizeof bn);
    memset(mp, 0, sizeof mp);
    for (uint32_t l = 0; l < L && s == SNN_OK; l++) {
        n_out[l] = c.l[l].n_out;
        if (c.l[l].kind == SNN_LAYER_POOL) continue;
        if ((s = get_weights(&c, l, &wt[l])) != SNN_OK) break;
        if (c.l[l].kind == SNN_LAYER_OUT) {
            char name[64];
            int64_t sh[1] = {K};
            snprintf(name, sizeof name, "layers.%u.bias", l);
            s = get_f32(&c, name, 1, sh, &ob);
        } else if ((s = get_bn(&c, l, &bn[l])) == SNN_OK) {
            s = get_mp(&c, l, &mp[l]);
        }
    }
    fws w;
    if (s == SNN_OK) s = fws_init(&w, L, n_out);
    if (s != SNN_OK) {
        for (uint32_t l = 0; l < L; l++) free(wt[l]);
        return s;
    }
    size_t px = (size_t)c.in_c * c.in_h * c.in_w;
    float *xn = malloc(sizeof(float) * px);
    float lg[SNN_MAX_CLASSES];
    const float pad = (float)(-c.mean / c.std), vth = (float)c.vth, tau = (float)c.tau;
    const ck_layer *L0 = &c.l[0];
    for (uint32_t im = 0; xn && im < n_img; im++) {
        const uint8_t *x = pixels + im * px;
        for (size_t i = 0; i < px; i++) xn[i] = ((float)x[i] / 255.0f - (float)c.mean) / (float)c.std;
        /* layer 0 on the analogue image, padding = the normalised black pixel */
        memset(w.acc0, 0, sizeof(float) * L0->n_out);
        if (L0->kind == SNN_LAYER_CONV) {
            uint32_t H = L0->in_h, W = L0->in_w, oc = L0->out_c;
            for (uint32_t ci = 0; ci < L0->in_c; ci++)
                for (int32_t yi = -1; yi <= (int32_t)H; yi++)
                    for (int32_t xi = -1; xi <= (int32_t)W; xi++) {
                        int inside = yi >= 0 && yi < (int32_t)H && xi >= 0 && xi < (int32_t)W;
                        float v = inside ? xn[(ci * H + (uint32_t)yi) * W + (uint32_t)xi] : pad;
                        for (uint32_t ky = 0; ky < 3; ky++) {
                            int32_t y = yi - (int32_t)ky + 1;
                            if (y < 0 || y >= (int32_t)H) continue;
                            for (uint32_t kx = 0; kx < 3; kx++) {
                                int32_t xo = xi - (int32_t)kx + 1;
                                if (xo < 0 || xo >= (int32_t)W) continue;
                                const float *wr = wt[0] + ((size_t)(ci * 3 + ky) * 3 + kx) * oc;
                                float *a = w.acc0 + ((size_t)y * W + (size_t)xo) * oc;
                                for (uint32_t o = 0; o < oc; o++) a[o] += v * wr[o];
                            }
                        }
                    }
        } else {
            for (uint32_t i = 0; i < L0->n_in; i++)
                facc(L0->kind, 1, 1, L0->out_c, wt[0], w.acc0, i, xn[i]);
        }
        for (uint32_t l = 0; l < L; l++) memset(w.u[l], 0, sizeof(float) * n_out[l]);
        memset(lg, 0, sizeof lg);
        for (uint32_t t = 0; t < c.T; t++)
            for (uint32_t l = 0; l < L; l++) {
                const ck_layer *Ly = &c.l[l];
                if (Ly->kind == SNN_LAYER_POOL) {
                    fpool(Ly->in_c, Ly->in_h, Ly->in_w, w.ev[l - 1], w.n_ev[l - 1], &w, l);
                    if (cb) cb(l, t, im, w.spk[l], NULL, Ly->n_out, ctx);
                    continue;
                }
                const float *acc = w.acc0;
                if (l > 0) {
                    facc_events(Ly->kind, Ly->in_h, Ly->in_w, Ly->out_c, Ly->n_out, wt[l], &w, l);
                    acc = w.acc[l];
                }
                if (Ly->kind == SNN_LAYER_OUT) {
                    for (uint32_t k = 0; k < K; k++) lg[k] += acc[k] + ob[k];
                    continue;
                }
                uint32_t hw = Ly->out_h * Ly->out_w;
                const bn_p *B = &bn[l];
                const mp_p *M = &mp[l];
                w.n_ev[l] = 0;
                for (uint32_t n = 0; n < Ly->n_out; n++) {
                    uint32_t ch = n / hw;
                    float z = acc_chw(Ly->kind, acc, n, hw, Ly->out_c);
                    float y = B->g[ch] * (z - B->rm[ch]) / sqrtf(B->rv[ch] + (float)c.bn_eps) + B->b[ch];
                    float u = tau * w.u[l][n] + y;
                    float m = u;
                    if (c.mpbn != MP_NONE) {
                        uint32_t p = c.mpbn == MP_CHANNEL ? ch : n;
                        m = M->lam[p] * (u - M->mu[p]) / sqrtf(M->var[p] + (float)c.mp_eps) + M->beta[p];
                    }
                    int fire = m > vth;
                    w.u[l][n] = fire ? 0.0f : u;
                    w.spk[l][n] = (float)fire;
                    w.m[l][n] = m;
                    if (fire) w.ev[l][w.n_ev[l]++] = n;
                }
                if (cb) cb(l, t, im, w.spk[l], w.m[l], Ly->n_out, ctx);
            }
        if (logits)
            for (uint32_t k = 0; k < K; k++) logits[(size_t)im * K + k] = lg[k] / (float)c.T;
    }
    if (!xn) s = snn_fail(SNN_ERR_NOMEM, "out of memory");
    free(xn);
    fws_free(&w, L);
    for (uint32_t l = 0; l < L; l++) free(wt[l]);
    return s;
}

/* ---- float check ------------------------------------------------------------------------ */

#define CHECK_CHUNK 16u

typedef struct check_ctx {
    uint32_t T, n_hidden, per_step; /* neurons per (image, step) over hidden layers */
    uint32_t off[SNN_MAX_LAYERS + 1];
    uint8_t *ref, *got;
    float *margin;
    float vth;
} check_ctx;

static size_t check_at(const check_ctx *c, uint32_t layer, uint32_t t, uint32_t image)
{
    return ((size_t)image * c->T + t) * c->per_step + c->off[layer];
}

static void check_ref_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                         const float *m, uint32_t n, void *ctx)
{
    check_ctx *c = ctx;
    size_t at = check_at(c, layer, t, image % CHECK_CHUNK);
    for (uint32_t i = 0; i < n; i++) {
        c->ref[at + i] = spikes[i] != 0;
        c->margin[at + i] = m ? fabsf(m[i] - c->vth) : FLT_MAX;
    }
}

static void check_got_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes, uint32_t n,
                         void *ctx)
{
    check_ctx *c = ctx;
    size_t at = check_at(c, layer, t, image % CHECK_CHUNK);
    for (uint32_t i = 0; i < n; i++) c->got[at + i] = spikes[i] != 0;
}

static uint32_t argmax(const float *z, uint32_t K)
{
    uint32_t a = 0;
    for (uint32_t k = 1; k < K; k++)
        if (z[k] > z[a]) a = k;
    return a;
}

snn_status snn_fold_check(const snn_st_file *st, const snn_fold_net *f, const uint8_t *pixels,
                          uint32_t n, double tol, snn_fold_check_result *r)
{
    return snn_fold_check_cb(st, f, pixels, n, tol, r, NULL, NULL);
}

snn_status snn_fold_check_cb(const snn_st_file *st, const snn_fold_net *f, const uint8_t *pixels,
                             uint32_t n, double tol, snn_fold_check_result *r,
                             snn_fold_check_progress_cb cb, void *ctx)
{
    memset(r, 0, sizeof *r);
    check_ctx c = {.T = f->T, .n_hidden = f->n_layers - 1, .vth = f->vth};
    for (uint32_t l = 0; l < c.n_hidden; l++) c.off[l + 1] = c.off[l] + f->layers[l].n_out;
    c.per_step = c.off[c.n_hidden];
    size_t cells = (size_t)CHECK_CHUNK * f->T * (c.per_step ? c.per_step : 1);
    c.ref = malloc(cells), c.got = malloc(cells), c.margin = malloc(cells * sizeof(float));
    float *l1 = malloc(sizeof(float) * CHECK_CHUNK * f->n_classes);
    float *l2 = malloc(sizeof(float) * CHECK_CHUNK * f->n_classes);
    snn_status s = SNN_OK;
    if (!c.ref || !c.got || !c.margin || !l1 || !l2) s = snn_fail(SNN_ERR_NOMEM, "out of memory");
    size_t px = (size_t)f->in_c * f->in_h * f->in_w;
    for (uint32_t i0 = 0; i0 < n && s == SNN_OK; i0 += CHECK_CHUNK) {
        uint32_t B = n - i0 < CHECK_CHUNK ? n - i0 : CHECK_CHUNK;
        /* callbacks see chunk-relative image indices (i0 is a multiple of the chunk) */
        if ((s = snn_unfold_forward(st, pixels + i0 * px, B, l1, check_ref_cb, &c)) != SNN_OK ||
            (s = snn_fold_forward(f, pixels + i0 * px, B, l2, check_got_cb, &c)) != SNN_OK)
            break;
        for (uint32_t im = 0; im < B; im++) {
            int seen = 0;
            r->pred_differing += argmax(l1 + im * f->n_classes, f->n_classes) !=
                                 argmax(l2 + im * f->n_classes, f->n_classes);
            for (uint32_t t = 0; t < f->T; t++)
                for (uint32_t l = 0; l < c.n_hidden; l++) {
                    size_t at = check_at(&c, l, t, im);
                    int here = 0;
                    for (uint32_t i = c.off[l]; i < c.off[l + 1]; i++, at++) {
                        r->neuron_steps++;
                        r->ref_spikes += c.ref[at];
                        if (c.ref[at] == c.got[at]) continue;
                        r->differing++;
                        here = 1;
                        if (seen) {
                            r->propagated++;
                            continue;
                        }
                        double mg = c.margin[at];
                        if (mg > r->worst_margin) r->worst_margin = mg;
                        if (mg < tol) r->primary++;
                        else r->unexplained++;
                    }
                    seen |= here;
                }
            r->images_differing += (uint32_t)seen;
        }
        if (cb) cb(i0 + B, r, ctx);
    }
    free(c.ref), free(c.got), free(c.margin), free(l1), free(l2);
    return s;
}
