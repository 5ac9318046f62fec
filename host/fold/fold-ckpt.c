/*
 * fold-ckpt.c - the checkpoint as the fold reads it: configuration and
 * layer shapes (after snn_ckpt_validate, the one check of a trained
 * network), and the tensors of each layer by name (docs/checkpoint.md), so
 * that folding depends on the file format only, not on the trainer's data
 * structures. Used by the fold (fold.c) and the unfolded float forward
 * (fold-check.c).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "fold-impl.h"
#include "io/safetensors.h"
#include "train/snn-train.h" /* snn_ckpt_validate */

/* ---- checkpoint configuration ----------------------------------------------------- */

/* The checkpoint's configuration and layer shapes, after snn_ckpt_validate()
 * (the one check of a trained network); what remains here are the limits of
 * the integer deploy format. */
snn_status fold_ckpt_read(const snn_st_file *st, ckpt *c)
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
snn_status fold_ckpt_f32(const ckpt *c, const char *name, uint32_t ndim, const int64_t *shape,
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
snn_status fold_ckpt_weights(const ckpt *c, uint32_t i, float **out)
{
    const ck_layer *L = &c->l[i];
    char name[64];
    snprintf(name, sizeof name, "layers.%u.weight", i);
    const float *w = NULL;
    snn_status s;
    if (L->kind == SNN_LAYER_CONV) {
        int64_t sh[4] = {L->out_c, L->in_c, 3, 3};
        s = fold_ckpt_f32(c, name, 4, sh, &w);
    } else {
        int64_t sh[2] = {L->out_c, L->n_in};
        s = fold_ckpt_f32(c, name, 2, sh, &w);
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

snn_status fold_ckpt_bn(const ckpt *c, uint32_t i, bn_p *p)
{
    char name[80];
    int64_t sh[1] = {c->l[i].out_c};
    const float **dst[4] = {&p->g, &p->b, &p->rm, &p->rv};
    const char *suf[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "layers.%u.bn.%s", i, suf[k]);
        snn_status s = fold_ckpt_f32(c, name, 1, sh, dst[k]);
        if (s != SNN_OK) return s;
    }
    return SNN_OK;
}

snn_status fold_ckpt_mp(const ckpt *c, uint32_t i, mp_p *p)
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
        snn_status s = fold_ckpt_f32(c, name, nd, sh, dst[k]);
        if (s != SNN_OK) return s;
    }
    return SNN_OK;
}
