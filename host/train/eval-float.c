/*
 * eval-float.c - eval-mode forward of the float model (running statistics),
 * with optional per-layer spike recording for the fold, and accuracy.
 */
#include <string.h>

#include "train-impl.h"

#define EVAL_BATCH 100u

snn_status snn_model_forward_eval(snn_model *m, const uint8_t *pixels, uint32_t n, float *logits,
                                  snn_spike_cb cb, void *ctx)
{
    uint32_t Bmax = m->ws_batch ? m->ws_batch : (n < EVAL_BATCH ? (n ? n : 1) : EVAL_BATCH);
    snn_status st = snn_model_workspace(m, Bmax);
    if (st != SNN_OK) return st;
    const uint32_t T = m->cfg.T, K = m->cfg.n_classes;
    const size_t px = (size_t)m->cfg.in_c * m->cfg.in_h * m->cfg.in_w;
    size_t maxn = 0;
    for (uint32_t l = 0; l < m->n_layers; l++)
        if (m->layers[l].out_n > maxn) maxn = m->layers[l].out_n;
    float *spk = NULL;
    if (cb && !(spk = snn_malloc(maxn * sizeof(float)))) return SNN_ERR_NOMEM;
    for (uint32_t i0 = 0; i0 < n; i0 += Bmax) {
        uint32_t B = n - i0 < Bmax ? n - i0 : Bmax;
        snn_model_load_input(m, pixels + (size_t)i0 * px, NULL, B, NULL);
        snn_model_forward(m, B, 0);
        if (logits) memcpy(logits + (size_t)i0 * K, m->logits, (size_t)B * K * sizeof(float));
        if (!cb) continue;
        const uint32_t N = T * B;
        for (uint32_t l = 0; l + 1 < m->n_layers; l++) {
            const snn_tlayer *L = &m->layers[l];
            for (uint32_t t = 0; t < T; t++)
                for (uint32_t b = 0; b < B; b++) {
                    for (uint32_t c = 0; c < L->oc; c++)
                        memcpy(spk + (size_t)c * L->ohw,
                               L->out + ((size_t)c * N + (size_t)t * B + b) * L->ohw,
                               L->ohw * sizeof(float));
                    cb(l, t, i0 + b, spk, (uint32_t)L->out_n, ctx);
                }
        }
    }
    free(spk);
    return SNN_OK;
}

snn_status snn_model_evaluate(snn_model *m, const snn_dataset *ds, uint32_t batch, double *accuracy)
{
    return snn_model_evaluate_cb(m, ds, batch, NULL, NULL, accuracy);
}

snn_status snn_model_evaluate_cb(snn_model *m, const snn_dataset *ds, uint32_t batch,
                                 snn_eval_progress_cb cb, void *ctx, double *accuracy)
{
    if (ds->c != m->cfg.in_c || ds->h != m->cfg.in_h || ds->w != m->cfg.in_w)
        return snn_fail(SNN_ERR_FORMAT, "data set images are %ux%ux%u but the model expects %ux%ux%u",
                        ds->c, ds->h, ds->w, m->cfg.in_c, m->cfg.in_h, m->cfg.in_w);
    if (ds->n_classes > m->cfg.n_classes)
        return snn_fail(SNN_ERR_FORMAT, "data set has %u classes but the model only %u",
                        ds->n_classes, m->cfg.n_classes);
    if (batch == 0) batch = m->ws_batch ? m->ws_batch : EVAL_BATCH;
    /* A batch larger than the set would only size a bigger workspace. */
    if (batch > ds->n) batch = ds->n ? ds->n : 1;
    snn_status st = snn_model_workspace(m, batch);
    if (st != SNN_OK) return st;
    const size_t px = (size_t)ds->c * ds->h * ds->w;
    const uint32_t K = m->cfg.n_classes;
    uint64_t ok = 0;
    for (uint32_t i0 = 0; i0 < ds->n; i0 += batch) {
        uint32_t B = ds->n - i0 < batch ? ds->n - i0 : batch;
        snn_model_load_input(m, ds->pixels + (size_t)i0 * px, NULL, B, NULL);
        snn_model_forward(m, B, 0);
        for (uint32_t b = 0; b < B; b++) {
            const float *z = m->logits + (size_t)b * K;
            uint32_t am = 0;
            for (uint32_t k = 1; k < K; k++)
                if (z[k] > z[am]) am = k;
            ok += am == ds->labels[i0 + b];
        }
        if (cb) cb(i0 + B, ok, ctx);
    }
    *accuracy = ds->n ? (double)ok / ds->n : 0.0;
    return SNN_OK;
}
