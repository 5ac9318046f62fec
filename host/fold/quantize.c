/*
 * quantize.c - folded float network -> int8/int32 deploy image
 * (docs/fold.md "Quantisation", layout in docs/deploy-image.md): per-channel
 * weight scales, biases and thresholds in accumulator units, the polarity
 * bits, and the overflow bound of docs/numerics.md checked before writing.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "fold-impl.h"
#include "io/safetensors.h"
#include "train/snn-train.h" /* snn_ckpt_validate */

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
