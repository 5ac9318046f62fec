/*
 * snn-fold.h - producing deploy images (docs/deploy-image.md):
 *
 *   snn_deploy_build   integer layer arrays -> a valid image with CRC
 *   snn_deploy_random  a random but lively network (tests, cross-backend checks)
 *   snn_fold_*        a trained checkpoint -> folded float net -> quantised image
 *                     (docs/fold.md has the derivation)
 *
 * Building an image by hand (shapes chain from the input; only out_c is given):
 *
 *     snn_deploy_spec s = {.n_layers = 2, .T = 4, .in_c = 1, .in_h = 4, .in_w = 4,
 *                         .n_classes = 2};
 *     s.layers[0] = (snn_layer_spec){.kind = SNN_LAYER_CONV, .out_c = 2,
 *                                    .w = w0, .bias = b0, .th = th0};
 *     s.layers[1] = (snn_layer_spec){.kind = SNN_LAYER_OUT, .out_c = 2, .w = w1, .bias = b1};
 *     uint8_t *img; size_t n;
 *     if (snn_deploy_build(&s, &img, &n) != SNN_OK) ... snn_last_error() ...
 *     free(img);
 *
 * A random network and images for it:
 *
 *     snn_deploy_random(7, "c4,p,c8,f16", 1, 12, 12, 4, 10, 0, &img, &n);
 *     uint8_t px[16 * 144];
 *     snn_pixels_random(7, 16, 1, 12, 12, px);
 *
 * Folding a checkpoint:
 *
 *     snn_fold_net *f;
 *     snn_fold_load("ckpt.safetensors", &f);        // BN, norm and MPBN folded, float
 *     snn_fold_quantize(f, &img, &n);               // int8/int32 deploy image
 *     snn_fold_forward(f, pixels, n_img, logits, cb, ctx);  // folded float model
 *     snn_fold_free(f);
 */
#ifndef SNN_FOLD_H
#define SNN_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "snn-common.h"
#include "snn-deploy-format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- image writer ----------------------------------------------------------- */

/* One layer. The input shape is the previous layer's output (or the image);
 * the output shape follows from the kind (conv keeps h,w; pool halves them
 * and keeps c; fc/out give out_c x 1 x 1). Arrays are read, not kept. */
typedef struct snn_layer_spec {
    snn_layer_kind kind;
    uint32_t out_c;        /* conv/fc/out: output channels; pool: ignored */
    const int8_t *w;       /* conv [ci][ky][kx][co]; fc/out [i][o] (i in the input's CHW order) */
    const int32_t *bias;   /* [out_c] */
    const int32_t *th;     /* conv/fc: [n_out] CHW */
    const uint8_t *pol;    /* conv/fc: [n_out] one byte per neuron, 0 or 1; NULL = all 0 */
    const float *scale;    /* [out_c] float value of one accumulator unit; NULL = 1.0 */
} snn_layer_spec;

typedef struct snn_deploy_spec {
    uint32_t n_layers;
    uint32_t T;
    uint32_t in_c, in_h, in_w;
    uint32_t n_classes;    /* must equal the out layer's out_c */
    snn_layer_spec layers[SNN_MAX_LAYERS];
} snn_deploy_spec;

/* Lay out and write an image (header, descriptors, 64-byte aligned sections,
 * CRC-32), then validate it with snn_deploy_parse(): an image that breaks a
 * rule (range, overflow bound) is refused with the parser's message.
 * *bytes is malloc'ed (64-byte aligned, free() it). */
snn_status snn_deploy_build(const snn_deploy_spec *spec, uint8_t **bytes, size_t *size);

/* Recompute and store the CRC of an image (for tests that edit a field on
 * purpose and want only that field to be wrong). size >= 68. */
void snn_deploy_fix_crc(uint8_t *bytes, size_t size);

/* ---- random networks -------------------------------------------------------- */

/* Flags of snn_deploy_random. */
#define SNN_RAND_EXTREME 0x1u  /* saturation corner: weights only +-127, |bias| at the bound */
#define SNN_RAND_PLAIN 0x2u    /* no negative-polarity or constant neurons */

/* A random network with architecture `arch` ("c4,p,c8,f16": cN conv, p pool,
 * fN fc; the n_classes output layer is implied). Weights hit +-127, about 10%
 * of neurons have polarity 1 and 3% are constant (always / never fire), and
 * thresholds are calibrated on random images so hidden layers fire at roughly
 * 10-40% per step. Deterministic in seed. *bytes: free(). */
snn_status snn_deploy_random(uint64_t seed, const char *arch, uint32_t in_c, uint32_t in_h,
                            uint32_t in_w, uint32_t T, uint32_t n_classes, uint32_t flags,
                            uint8_t **bytes, size_t *size);

/* n random images (c*h*w bytes each, CHW) with dark backgrounds: about 40%
 * zero pixels, the rest spread over 1..255 including 255. Deterministic. */
void snn_pixels_random(uint64_t seed, uint32_t n, uint32_t c, uint32_t h, uint32_t w, uint8_t *out);

/* "c32,c32,p,c64,p,f128" -> kinds and widths of the hidden layers (the
 * output layer is implied). The first layer must be c or f, no conv after an
 * fc. SNN_ERR_ARG names the bad token. Used for random deploy images
 * (host/deploy/randnet.c), which may have no hidden layer (""); a checkpoint's arch is
 * checked by snn_ckpt_validate with the trainer's parser. */
snn_status snn_fold_arch_parse(const char *arch, snn_layer_kind *kind, uint32_t *width, uint32_t *n);

/* ---- fold: checkpoint -> folded float network -> deploy image --------------- */

/* The folded float network (docs/fold.md): per layer, weights in the image
 * layout, a bias per output channel and a threshold + polarity per neuron, all
 * in float units of the network with the input normalisation, BN and MPBN
 * removed. Pixels enter as raw 0..255 values. Its spikes equal the unfolded
 * network's in eval mode up to float rounding at the threshold. */
typedef struct snn_fold_layer {
    snn_layer_kind kind;
    uint32_t index;            /* checkpoint layer index */
    uint32_t in_c, in_h, in_w, out_c, out_h, out_w;
    uint32_t n_in, n_out;
    float *w;                  /* conv [ci][ky][kx][co]; fc/out [i][o] */
    float *bias;               /* [out_c] per step */
    float *th;                 /* [n_out] float threshold on u_pre (pol 0: fire if u > th) */
    uint8_t *pol;              /* [n_out] 1: fire if u < th */
    uint8_t *cnst;             /* [n_out] 0 normal, 1 always fires, 2 never fires */
} snn_fold_layer;

typedef struct snn_fold_net {
    uint32_t n_layers;
    uint32_t T, in_c, in_h, in_w, n_classes;
    char mpbn[16];             /* "none" / "channel" / "element" */
    float tau, vth;
    snn_fold_layer layers[SNN_MAX_LAYERS];
    /* counts of the fold (reported by `mpbn fold`) */
    uint32_t n_negative;       /* neurons with a negative MPBN scale (polarity 1) */
    uint32_t n_constant;       /* neurons with a zero / denormal scale */
} snn_fold_net;

/* Read a checkpoint (docs/checkpoint.md) by tensor name and fold it. */
snn_status snn_fold_load(const char *ckpt_path, snn_fold_net **out);
/* Same on a parsed safetensors file (tests). */
struct snn_st_file;
snn_status snn_fold_from_st(const struct snn_st_file *st, snn_fold_net **out);
void snn_fold_free(snn_fold_net *f);

/* Quantisation report of snn_fold_quantize (may be NULL). */
typedef struct snn_quant_report {
    uint32_t th_clamped;       /* thresholds outside +-2^30 clamped to INT32_MIN/MAX */
    uint32_t bias_limited;     /* channels whose scale was raised to keep |bias| in the bound */
    double max_bias_units;     /* largest |bias| in accumulator units */
    double max_acc_bound;      /* largest A_l of docs/numerics.md, as a fraction of 2^28 */
} snn_quant_report;

/* Quantise to a deploy image (docs/fold.md, section quantisation). */
snn_status snn_fold_quantize(const snn_fold_net *f, uint8_t **bytes, size_t *size,
                             snn_quant_report *rep);

/* Folded-float forward of n images (uint8 CHW). logits (n x n_classes, may be
 * NULL) = mean_t(W o_t + b). cb (may be NULL) is called like the trainer's
 * snn_spike_cb: per LIF and pool layer (checkpoint index), step, image, with
 * 0/1 spikes in CHW order. If upre_cb is not NULL it also receives, for LIF
 * layers, the membrane u_pre that was compared with the threshold. */
typedef void (*snn_fold_spike_cb)(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                                  uint32_t n_neurons, void *ctx);
snn_status snn_fold_forward(const snn_fold_net *f, const uint8_t *pixels, uint32_t n,
                            float *logits, snn_fold_spike_cb cb, void *ctx);

/* Eval-mode forward of the UNFOLDED network straight from checkpoint tensors
 * (normalisation, conv/fc, BN, LIF with MPBN, pool, output): the reference the
 * fold is checked against. cb also gets, per LIF layer, m = MPBN(u_pre) in
 * `margin` (NULL for pool) so that a test can tell float-rounding ties from
 * real disagreements. */
typedef void (*snn_unfold_cb)(uint32_t layer, uint32_t t, uint32_t image, const float *spikes,
                              const float *m, uint32_t n_neurons, void *ctx);
snn_status snn_unfold_forward(const struct snn_st_file *st, const uint8_t *pixels, uint32_t n,
                              float *logits, snn_unfold_cb cb, void *ctx);

/* The float check of the fold: run the unfolded network (snn_unfold_forward)
 * and the folded one (snn_fold_forward) on the same images and compare every
 * hidden layer's spikes at every step. The first disagreement of an image
 * must come from float rounding at a threshold: the reference membrane after
 * MPBN lies within `tol` of Vth ("primary"); a flipped spike then changes
 * that neuron's reset and the next layer's input, so later differences in
 * the same image are counted as "propagated". */
typedef struct snn_fold_check_result {
    uint64_t neuron_steps;     /* neurons x steps x images compared */
    uint64_t ref_spikes;       /* spikes of the unfolded network */
    uint64_t differing;        /* all differing spikes */
    uint64_t primary;          /* first disagreements of an image within tol of Vth */
    uint64_t propagated;       /* later disagreements in an image that already differed */
    uint64_t unexplained;      /* first disagreements with a margin >= tol: a fold error */
    uint32_t images_differing; /* images with any difference */
    uint32_t pred_differing;   /* images whose arg-max differs */
    double worst_margin;       /* largest |MPBN(u) - Vth| among first disagreements */
} snn_fold_check_result;
snn_status snn_fold_check(const struct snn_st_file *st, const snn_fold_net *f, const uint8_t *pixels,
                          uint32_t n, double tol, snn_fold_check_result *r);
/* The same, calling cb(images done, the counts so far, ctx) after every
 * chunk of images (progress lines: host/common/progress.h). cb may be NULL. */
typedef void (*snn_fold_check_progress_cb)(uint32_t done, const snn_fold_check_result *so_far,
                                           void *ctx);
snn_status snn_fold_check_cb(const struct snn_st_file *st, const snn_fold_net *f,
                             const uint8_t *pixels, uint32_t n, double tol,
                             snn_fold_check_result *r, snn_fold_check_progress_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
