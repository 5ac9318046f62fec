/*
 * fold.c - checkpoint -> folded float network (derivation and measurements
 * in docs/fold.md). The checkpoint is read by tensor name (docs/checkpoint.md)
 * so that folding depends on the file format only, not on the trainer's data
 * structures; it is validated first by snn_ckpt_validate() (checkpoint.c),
 * like for every other consumer. The folded network is quantised into a
 * deploy image by quantize.c and checked against the trained network by
 * fold-check.c.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "fold-impl.h"
#include "io/safetensors.h"
#include "train/snn-train.h" /* snn_ckpt_validate */

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
    snn_status s = fold_ckpt_read(st, &c);
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
        if ((s = fold_ckpt_weights(&c, i, &F->w)) != SNN_OK) break;
        if (!(F->bias = snn_calloc(oc, sizeof(float)))) { s = SNN_ERR_NOMEM; break; }
        /* per output channel: y = k*(W x) + b0 (BN in eval mode; out layer: k = 1) */
        bn_p bn = {0};
        const float *ob = NULL;
        if (L->kind == SNN_LAYER_OUT) {
            char name[64];
            int64_t sh[1] = {oc};
            snprintf(name, sizeof name, "layers.%u.bias", i);
            if ((s = fold_ckpt_f32(&c, name, 1, sh, &ob)) != SNN_OK) break;
        } else if ((s = fold_ckpt_bn(&c, i, &bn)) != SNN_OK) {
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
        if ((s = fold_ckpt_mp(&c, i, &mp)) != SNN_OK) break;
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
