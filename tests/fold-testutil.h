/*
 * fold-testutil.h - helpers shared by the fold tests: a random checkpoint in
 * the format of docs/checkpoint.md, and a spike comparison that separates
 * disagreements caused by float rounding at a threshold ("primary": the
 * reference membrane is within `tol` of Vth) from their consequences later in
 * the same image ("propagated": a flipped spike changes the reset of that
 * neuron and the input of the next layer, so later differences need no
 * small margin).
 */
#ifndef FOLD_TESTUTIL_H
#define FOLD_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold/fold-impl.h"
#include "io/safetensors.h"

static inline double tu_unif(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (snn_rng_uniform(s));
}

/* MPBN scale pattern of a random checkpoint. */
typedef struct tu_ckpt_opts {
    const char *arch, *mpbn;
    uint32_t T, in_c, in_h, in_w, n_classes;
    double p_negative, p_zero, p_denormal; /* fractions of MPBN lambdas */
    uint64_t seed;
    double mpbn_eps; /* metadata "mpbn_eps"; 0: 1e-5 (the BN epsilon) */
} tu_ckpt_opts;

#define TU_MAX_TENSORS 128

/* Write a random checkpoint to path. Returns 0 on success. */
static inline int tu_write_ckpt(const char *path, const tu_ckpt_opts *o)
{
    snn_layer_kind kind[SNN_MAX_LAYERS];
    uint32_t width[SNN_MAX_LAYERS], nh;
    if (snn_fold_arch_parse(o->arch, kind, width, &nh) != SNN_OK) return -1;
    kind[nh] = SNN_LAYER_OUT, width[nh] = o->n_classes;
    uint64_t s = o->seed;
    snn_st_tensor t[TU_MAX_TENSORS];
    char names[TU_MAX_TENSORS][64];
    float *bufs[TU_MAX_TENSORS];
    size_t nt = 0;
    int element = !strcmp(o->mpbn, "element"), none = !strcmp(o->mpbn, "none");
    uint32_t c = o->in_c, h = o->in_h, w = o->in_w;
#define TU_ADD(nm, nd, s0, s1, s2, s3)                                                      \
    do {                                                                                   \
        int64_t sh_[4] = {s0, s1, s2, s3};                                                 \
        size_t n_ = 1;                                                                     \
        for (int d_ = 0; d_ < (nd); d_++) n_ *= (size_t)sh_[d_];                            \
        snprintf(names[nt], 64, "%s", nm);                                                  \
        bufs[nt] = calloc(n_, sizeof(float));                                              \
        t[nt] = (snn_st_tensor){names[nt], SNN_ST_F32, (nd), {0}, bufs[nt], n_ * sizeof(float)}; \
        for (int d_ = 0; d_ < (nd); d_++) t[nt].shape[d_] = sh_[d_];                       \
        nt++;                                                                              \
    } while (0)
    char nm[64];
    for (uint32_t i = 0; i <= nh; i++) {
        if (kind[i] == SNN_LAYER_POOL) {
            h /= 2, w /= 2;
            continue;
        }
        uint32_t oc = width[i], fan = kind[i] == SNN_LAYER_CONV ? 9 * c : c * h * w;
        snprintf(nm, sizeof nm, "layers.%u.weight", i);
        if (kind[i] == SNN_LAYER_CONV) TU_ADD(nm, 4, oc, c, 3, 3);
        else TU_ADD(nm, 2, oc, fan, 0, 0);
        float *W = bufs[nt - 1];
        double bound = 1.0 / sqrt((double)fan);
        /* spike inputs are 0/1 with rates ~0.2: scale up so the next layer moves */
        for (size_t k = 0; k < (size_t)oc * fan; k++) W[k] = (float)tu_unif(&s, -bound, bound);
        if (kind[i] != SNN_LAYER_CONV) h = w = 1;
        if (kind[i] == SNN_LAYER_OUT) {
            snprintf(nm, sizeof nm, "layers.%u.bias", i);
            TU_ADD(nm, 1, oc, 0, 0, 0);
            for (uint32_t k = 0; k < oc; k++) bufs[nt - 1][k] = (float)tu_unif(&s, -0.5, 0.5);
            break;
        }
        const char *bn[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4; k++) {
            snprintf(nm, sizeof nm, "layers.%u.bn.%s", i, bn[k]);
            TU_ADD(nm, 1, oc, 0, 0, 0);
            for (uint32_t j = 0; j < oc; j++) {
                double v = k == 0 ? tu_unif(&s, 0.5, 1.5) * (tu_unif(&s, 0, 1) < 0.1 ? -1 : 1)
                         : k == 1 ? tu_unif(&s, -0.3, 0.8)
                         : k == 2 ? tu_unif(&s, -0.3, 0.3) * (i == 0 ? 1 : 0.3)
                                  : tu_unif(&s, 0.05, 0.5) * (i == 0 ? 4 : 0.3);
                bufs[nt - 1][j] = (float)v;
            }
        }
        if (!none) {
            uint32_t n = element ? oc * h * w : oc;
            for (int k = 0; k < 4; k++) {
                snprintf(nm, sizeof nm, "layers.%u.mpbn.%s", i, bn[k]);
                if (element && kind[i] == SNN_LAYER_CONV) TU_ADD(nm, 3, oc, h, w, 0);
                else TU_ADD(nm, 1, n, 0, 0, 0);
                for (uint32_t j = 0; j < n; j++) {
                    double v;
                    if (k == 0) {
                        double u = tu_unif(&s, 0, 1);
                        v = u < o->p_zero ? 0.0
                          : u < o->p_zero + o->p_denormal ? 1e-41
                          : tu_unif(&s, 0.5, 1.5) * (u < o->p_zero + o->p_denormal + o->p_negative ? -1 : 1);
                    } else {
                        v = k == 1 ? tu_unif(&s, -0.3, 0.9) : k == 2 ? tu_unif(&s, 0.0, 0.4) : tu_unif(&s, 0.05, 0.6);
                    }
                    bufs[nt - 1][j] = (float)v;
                }
            }
        }
        c = oc;
    }
#undef TU_ADD
    char T[16], ic[16], ih[16], iw[16], K[16];
    snprintf(T, sizeof T, "%u", o->T);
    snprintf(ic, sizeof ic, "%u", o->in_c);
    snprintf(ih, sizeof ih, "%u", o->in_h);
    snprintf(iw, sizeof iw, "%u", o->in_w);
    snprintf(K, sizeof K, "%u", o->n_classes);
    char meps[32];
    snprintf(meps, sizeof meps, "%.9g", o->mpbn_eps > 0 ? o->mpbn_eps : 1e-5);
    const char *keys[] = {"format", "version", "arch", "T", "mpbn", "in_c", "in_h", "in_w",
                          "n_classes", "norm_mean", "norm_std", "tau", "vth", "bn_eps", "mpbn_eps"};
    const char *vals[] = {"mpbn-checkpoint", "1", o->arch, T, o->mpbn, ic, ih, iw, K,
                          "0.2860", "0.3530", "0.25", "0.5", "1e-05", meps};
    snn_status st = snn_st_write(path, t, nt, keys, vals, sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < nt; i++) free(bufs[i]);
    return st == SNN_OK ? 0 : -1;
}

/* ---- spike comparison ---------------------------------------------------------------- */

typedef struct tu_diff {
    uint32_t T, n_layers, n_img;
    uint32_t off[SNN_MAX_LAYERS + 1]; /* neuron offsets of each layer in a (t, image) record */
    uint8_t *ref;                     /* [image][t][all neurons] reference spikes */
    float *margin;                    /* same: |m - vth| of the reference (FLT_MAX for pool) */
    uint8_t *got;
    float vth;
} tu_diff;

typedef struct tu_diff_result {
    uint64_t spikes;       /* reference spikes compared (total neurons x steps x images) */
    uint64_t differing;    /* all differing spikes */
    uint64_t primary;      /* first disagreements of an image, all within tol of Vth */
    uint64_t propagated;   /* differences after the first one in that image */
    uint64_t unexplained;  /* first disagreements with a margin >= tol (must be 0) */
    uint32_t images;       /* images with any difference */
    double worst_margin;   /* largest margin among primary/unexplained differences */
} tu_diff_result;

static inline int tu_diff_init(tu_diff *d, const snn_fold_net *f, uint32_t n_img)
{
    memset(d, 0, sizeof *d);
    d->T = f->T, d->n_layers = f->n_layers - 1, d->n_img = n_img, d->vth = f->vth;
    for (uint32_t l = 0; l < d->n_layers; l++) d->off[l + 1] = d->off[l] + f->layers[l].n_out;
    size_t n = (size_t)n_img * f->T * d->off[d->n_layers];
    d->ref = calloc(n, 1), d->got = calloc(n, 1), d->margin = calloc(n, sizeof(float));
    return d->ref && d->got && d->margin ? 0 : -1;
}

static inline void tu_diff_free(tu_diff *d)
{
    free(d->ref), free(d->got), free(d->margin);
}

static inline size_t tu_at(const tu_diff *d, uint32_t layer, uint32_t t, uint32_t image)
{
    return ((size_t)image * d->T + t) * d->off[d->n_layers] + d->off[layer];
}

static inline void tu_ref_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                      const float *m, uint32_t n, void *ctx)
{
    tu_diff *d = ctx;
    size_t at = tu_at(d, layer, t, image);
    for (uint32_t i = 0; i < n; i++) {
        d->ref[at + i] = spikes[i] != 0;
        d->margin[at + i] = m ? fabsf(m[i] - d->vth) : 3.0e38f;
    }
}

/* Reference spikes without membranes (the trainer's forward): margins are
 * taken from a second reference run through tu_ref_cb later. */
static inline void tu_ref_spikes_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                             uint32_t n, void *ctx)
{
    tu_diff *d = ctx;
    size_t at = tu_at(d, layer, t, image);
    for (uint32_t i = 0; i < n; i++) d->ref[at + i] = spikes[i] != 0;
}

static inline void tu_got_cb(uint32_t layer, uint32_t t, uint32_t image, const float *spikes, uint32_t n,
                      void *ctx)
{
    tu_diff *d = ctx;
    size_t at = tu_at(d, layer, t, image);
    for (uint32_t i = 0; i < n; i++) d->got[at + i] = spikes[i] != 0;
}

static inline tu_diff_result tu_diff_count(const tu_diff *d, double tol)
{
    tu_diff_result r = {0};
    uint32_t N = d->off[d->n_layers];
    for (uint32_t im = 0; im < d->n_img; im++) {
        int seen = 0;
        for (uint32_t t = 0; t < d->T; t++)
            for (uint32_t l = 0; l < d->n_layers; l++) {
                size_t at = tu_at(d, l, t, im);
                int here = 0;
                for (uint32_t i = d->off[l]; i < d->off[l + 1]; i++, at++) {
                    r.spikes++;
                    (void)N;
                    if (d->ref[at] == d->got[at]) continue;
                    r.differing++;
                    here = 1;
                    if (seen) {
                        r.propagated++;
                        continue;
                    }
                    double mg = d->margin[at];
                    if (mg > r.worst_margin) r.worst_margin = mg;
                    if (mg < tol) r.primary++;
                    else r.unexplained++;
                }
                seen |= here;
            }
        r.images += seen;
    }
    return r;
}

#endif
