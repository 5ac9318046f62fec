/*
 * landscape.h - the 1-D loss landscape of a trained float model along a
 * filter-normalised random direction (Li et al., "Visualizing the loss
 * landscape of neural nets", NeurIPS 2018; the MPBN paper's Fig. 3):
 *
 *     L(alpha) = loss(theta + alpha * d),   alpha in [-range, range]
 *
 * Direction d: a Gaussian N(0,1) value for every conv/fc weight (hidden
 * layers and the output layer), then, for every filter (a conv output
 * channel: its Cin x 3 x 3 weights) and every fc output neuron (a row of
 * its weight matrix), scaled so that ||d_filter|| = ||theta_filter||.
 * BN and MPBN parameters, running statistics and the output bias get a zero
 * direction: they stay at the checkpoint's values (Li et al. do the same
 * for BN parameters; for the output bias it keeps the direction a pure
 * weight direction, 10 values out of ~10^5 either way).
 *
 * Loss: the cross-entropy of the T-averaged logits, the network in eval
 * mode (BN and MPBN normalise with their running statistics, as the trained
 * network is used and folded), averaged over the given images. Eval mode
 * makes the loss a deterministic function of the weights and of each image
 * alone (no batch statistics), so every alpha sees the same normalisation.
 *
 *     snn_landscape_dir d;
 *     snn_landscape_direction(m, seed, &d);
 *     snn_landscape_eval(m, ds, &d, alphas, n, 0, NULL, NULL, loss, acc);
 *     snn_landscape_dir_free(&d);
 */
#ifndef SNN_LANDSCAPE_H
#define SNN_LANDSCAPE_H

#include "snn-train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A direction over all parameters of one model. */
typedef struct snn_landscape_dir {
    uint32_t n_params;                /* the model's tensors, in its table order */
    size_t n;                         /* floats in d (every tensor's values) */
    float *d;                         /* the direction, tensor after tensor */
    size_t off[SNN_MAX_LAYERS * 10 + 4]; /* start of each tensor in d */
    uint32_t n_filters;               /* filters / output neurons with a direction */
} snn_landscape_dir;

/* Draw the filter-normalised direction of m from the splitmix64 stream
 * seeded with seed (Box-Muller). A filter whose weights are all zero gets a
 * zero direction. The same seed gives the same direction for the same
 * architecture, whatever the thread count. */
snn_status snn_landscape_direction(const snn_model *m, uint64_t seed, snn_landscape_dir *dir);
void snn_landscape_dir_free(snn_landscape_dir *dir);

/* The direction's values for the tensor named name ("layers.0.weight"),
 * *n = its length; NULL if the model has no such tensor. */
const float *snn_landscape_dir_param(const snn_model *m, const snn_landscape_dir *dir,
                                     const char *name, uint32_t *n);

/* Eval-mode cross-entropy (mean over the images) and accuracy of m as it is
 * on ds, in batches of `batch` (0 = 100). acc may be NULL. */
snn_status snn_landscape_loss(snn_model *m, const snn_dataset *ds, uint32_t batch, double *loss,
                              double *acc);

/* Called after each alpha: index i, alphas[i], its loss and accuracy. */
typedef void (*snn_landscape_cb)(uint32_t i, double alpha, double loss, double acc, void *ctx);

/* loss[i] (and acc[i], when acc is not NULL) at theta + alphas[i] * d for
 * i = 0..n-1. The model's parameters are restored bit for bit afterwards
 * (also on failure). */
snn_status snn_landscape_eval(snn_model *m, const snn_dataset *ds, const snn_landscape_dir *dir,
                              const double *alphas, uint32_t n, uint32_t batch,
                              snn_landscape_cb cb, void *ctx, double *loss, double *acc);

/* Sharpness figures of one curve (alphas ascending). */
typedef struct snn_landscape_stats {
    double loss0;        /* at alpha 0 (the checkpoint); NaN if 0 is not among the alphas */
    double min_loss;     /* over the curve */
    double alpha_min;    /* where */
    double max_loss;     /* over the curve */
    /* mean of L(-a) and L(+a) minus min_loss, for a = 0.25 and 0.5 (linear
     * interpolation between the neighbouring alphas; NaN outside the range) */
    double rise_025, rise_05;
    double loss_m05, loss_m025, loss_p025, loss_p05; /* L(-0.5), L(-0.25), L(0.25), L(0.5) */
} snn_landscape_stats;
void snn_landscape_stats_of(const double *alphas, const double *loss, uint32_t n,
                            snn_landscape_stats *s);

/* The grid: n evenly spaced alphas in [-range, range] (n >= 2), merged with
 * 0, +-0.25 and +-0.5 where they lie inside the range (the sharpness points,
 * evaluated exactly), ascending without duplicates. Returns the count
 * (at most n + 5); out must hold n + 5 values. */
uint32_t snn_landscape_grid(uint32_t n, double range, double *out);

#ifdef __cplusplus
}
#endif
#endif
