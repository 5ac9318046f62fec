/*
 * fold-impl.h - internals shared by the image producers (fold.c, quantize.c)
 * and the fold check (fold-check.c).
 */
#ifndef SNN_FOLD_IMPL_H
#define SNN_FOLD_IMPL_H

#include "io/safetensors.h"
#include "snn-fold.h"

/* ---- the checkpoint as the fold reads it (fold-ckpt.c) ---------------------- */

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

typedef struct bn_p { const float *g, *b, *rm, *rv; } bn_p;
typedef struct mp_p { const float *lam, *beta, *mu, *var; uint32_t n; } mp_p;

/* Configuration and shapes of a validated checkpoint (SNN_ERR_UNSUPPORTED
 * for what the integer deploy format cannot hold). */
snn_status fold_ckpt_read(const snn_st_file *st, ckpt *c);
/* Tensor `name`, F32 of the given shape. */
snn_status fold_ckpt_f32(const ckpt *c, const char *name, uint32_t ndim, const int64_t *shape,
                         const float **out);
/* Layer i's weights in the deploy order (fan-out-major); caller frees. */
snn_status fold_ckpt_weights(const ckpt *c, uint32_t i, float **out);
snn_status fold_ckpt_bn(const ckpt *c, uint32_t i, bn_p *p);
snn_status fold_ckpt_mp(const ckpt *c, uint32_t i, mp_p *p);

#endif
