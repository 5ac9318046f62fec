/*
 * randnet.c - random but lively deploy images and images for them, from an
 * architecture string ("c4,p,c8,f16", snn_fold_arch_parse). Declared with the
 * image writer in fold/snn-fold.h; needs only deploy.c's writer, no fold code.
 *
 * Cross-backend tests need networks that exercise every path of the kernels:
 * layers that actually spike (a network that never fires tests nothing),
 * weights at +-127, negative-polarity and constant neurons, biases next to
 * the overflow bound. A random weight draw alone gives none of that reliably,
 * so thresholds are calibrated: each layer's membranes at t = 0 are computed
 * on a few random images (with the thresholds of the layers below already
 * fixed), and each neuron's threshold is put at a random quantile between 60%
 * and 90% of its channel's distribution (fc: of its own), which makes it fire
 * on 10-40% of the inputs at the first step. The leak carries sub-threshold
 * membranes into later steps, so rates drift up a little after t = 0.
 */
#include <math.h>
#include <string.h>

#include "fold/snn-fold.h"

/* splitmix64: snn_rng_next / snn_rng_uniform of include/snn-common.h */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((snn_rng_next(s) >> 32) * (uint64_t)n) >> 32);
}
static int32_t rng_range(uint64_t *s, int32_t lo, int32_t hi) /* inclusive */
{
    return lo + (int32_t)rng_below(s, (uint32_t)(hi - lo + 1));
}

void snn_pixels_random(uint64_t seed, uint32_t n, uint32_t c, uint32_t h, uint32_t w, uint8_t *out)
{
    uint64_t s = seed ^ 0x1A2B3C4D5E6F7788ull;
    size_t total = (size_t)n * c * h * w;
    for (size_t i = 0; i < total; i++) {
        double u = snn_rng_uniform(&s);
        out[i] = u < 0.4 ? 0 : u < 0.5 ? 255 : (uint8_t)rng_range(&s, 1, 254);
    }
}

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

/* ---- calibration ------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Value at quantile q of v[0..n-1] (sorts v). */
static int64_t quantile(int64_t *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* Dense acc (without bias) of one image at t = 0: in = input values (pixels or 0/1). */
static void dense_acc(snn_layer_kind kind, uint32_t ic, uint32_t ih, uint32_t iw, uint32_t oc,
                      const int8_t *w, const int32_t *in, int64_t *acc /* CHW out */)
{
    if (kind == SNN_LAYER_CONV) {
        memset(acc, 0, sizeof(int64_t) * oc * ih * iw);
        for (uint32_t ci = 0; ci < ic; ci++)
            for (uint32_t y = 0; y < ih; y++)
                for (uint32_t x = 0; x < iw; x++) {
                    int32_t v = in[(ci * ih + y) * iw + x];
                    if (!v) continue;
                    for (uint32_t ky = 0; ky < 3; ky++) {
                        int32_t oy = (int32_t)y - (int32_t)ky + 1;
                        if (oy < 0 || oy >= (int32_t)ih) continue;
                        for (uint32_t kx = 0; kx < 3; kx++) {
                            int32_t ox = (int32_t)x - (int32_t)kx + 1;
                            if (ox < 0 || ox >= (int32_t)iw) continue;
                            const int8_t *wr = w + ((ci * 3 + ky) * 3 + kx) * oc;
                            for (uint32_t co = 0; co < oc; co++)
                                acc[((size_t)co * ih + (uint32_t)oy) * iw + (uint32_t)ox] +=
                                    (int64_t)v * wr[co];
                        }
                    }
                }
    } else {
        uint32_t n_in = ic * ih * iw;
        memset(acc, 0, sizeof(int64_t) * oc);
        for (uint32_t i = 0; i < n_in; i++) {
            if (!in[i]) continue;
            for (uint32_t o = 0; o < oc; o++) acc[o] += (int64_t)in[i] * w[(size_t)i * oc + o];
        }
    }
}

#define N_CAL 16u

snn_status snn_deploy_random(uint64_t seed, const char *arch, uint32_t in_c, uint32_t in_h,
                            uint32_t in_w, uint32_t T, uint32_t n_classes, uint32_t flags,
                            uint8_t **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    snn_layer_kind kind[SNN_MAX_LAYERS];
    uint32_t width[SNN_MAX_LAYERS], n_hidden;
    snn_status st = snn_fold_arch_parse(arch, kind, width, &n_hidden);
    if (st != SNN_OK) return st;
    kind[n_hidden] = SNN_LAYER_OUT, width[n_hidden] = n_classes;
    uint32_t n_layers = n_hidden + 1;
    if (in_c < 1 || in_h < 1 || in_w < 1 || in_c > 4096 || in_h > 4096 || in_w > 4096 ||
        (uint64_t)in_c * in_h * in_w > (1u << 20))
        return snn_fail(SNN_ERR_ARG, "random net: input %ux%ux%u out of range", in_c, in_h, in_w);
    if (T < 1 || T > SNN_MAX_T || n_classes < 2 || n_classes > SNN_MAX_CLASSES)
        return snn_fail(SNN_ERR_ARG, "random net: T %u or n_classes %u out of range", T, n_classes);

    uint64_t s = seed * 0x2545F4914F6CDD1Dull + 0x9E37ull;
    snn_deploy_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.n_layers = n_layers, spec.T = T, spec.n_classes = n_classes;
    spec.in_c = in_c, spec.in_h = in_h, spec.in_w = in_w;

    /* per-layer arrays, freed at the end */
    void *owned[SNN_MAX_LAYERS * 5 + 4];
    uint32_t n_owned = 0;
#define OWN(p) (owned[n_owned++] = (p))

    /* calibration inputs: N_CAL images, then each layer's t=0 spikes */
    uint32_t c = in_c, h = in_h, w = in_w;
    size_t n_in = (size_t)c * h * w;
    int32_t *cur = calloc(N_CAL * n_in, sizeof(int32_t));
    uint8_t *px = malloc(N_CAL * n_in);
    if (!cur || !px) {
        free(cur), free(px);
        return snn_fail(SNN_ERR_NOMEM, "random net: out of memory");
    }
    snn_pixels_random(seed + 1, N_CAL, c, h, w, px);
    for (size_t i = 0; i < N_CAL * n_in; i++) cur[i] = px[i];
    free(px);

    for (uint32_t l = 0; l < n_layers && st == SNN_OK; l++) {
        snn_layer_spec *ls = &spec.layers[l];
        ls->kind = kind[l];
        if (kind[l] == SNN_LAYER_POOL) {
            if (h < 2 || w < 2) {
                st = snn_fail(SNN_ERR_ARG, "random net: layer %u pools a %ux%u map", l, h, w);
                break;
            }
            uint32_t oh = h / 2, ow = w / 2;
            size_t no = (size_t)c * oh * ow;
            int32_t *nxt = calloc(N_CAL * no, sizeof(int32_t));
            if (!nxt) { st = snn_fail(SNN_ERR_NOMEM, "random net: out of memory"); break; }
            for (uint32_t im = 0; im < N_CAL; im++)
                for (uint32_t ch = 0; ch < c; ch++)
                    for (uint32_t y = 0; y < oh * 2; y++)
                        for (uint32_t x = 0; x < ow * 2; x++)
                            if (cur[im * n_in + (ch * h + y) * w + x])
                                nxt[im * no + (ch * oh + y / 2) * ow + x / 2] = 1;
            free(cur);
            cur = nxt, h = oh, w = ow, n_in = no;
            continue;
        }
        uint32_t oc = width[l];
        uint32_t oh = kind[l] == SNN_LAYER_CONV ? h : 1, ow = kind[l] == SNN_LAYER_CONV ? w : 1;
        size_t no = (size_t)oc * oh * ow;
        size_t nw = kind[l] == SNN_LAYER_CONV ? 9ull * c * oc : n_in * oc;
        int8_t *wt = OWN(malloc(nw));
        int32_t *bias = OWN(calloc(oc, sizeof(int32_t)));
        float *scale = OWN(malloc(sizeof(float) * oc));
        int64_t *acc = malloc(sizeof(int64_t) * N_CAL * no);
        int64_t *samp = malloc(sizeof(int64_t) * N_CAL * (oh * ow > 0 ? oh * ow : 1));
        int32_t *th = NULL;
        uint8_t *pol = NULL;
        if (kind[l] != SNN_LAYER_OUT) {
            th = OWN(malloc(sizeof(int32_t) * no));
            pol = OWN(calloc(no, 1));
        }
        if (!wt || !bias || !scale || !acc || !samp || (kind[l] != SNN_LAYER_OUT && (!th || !pol))) {
            free(acc), free(samp);
            st = snn_fail(SNN_ERR_NOMEM, "random net: out of memory");
            break;
        }
        /* weights: spread over the whole int8 range, both extremes present */
        for (size_t i = 0; i < nw; i++) {
            if (flags & SNN_RAND_EXTREME)
                wt[i] = (snn_rng_next(&s) & 1) ? 127 : -127;
            else {
                double u = snn_rng_uniform(&s);
                wt[i] = u < 0.05 ? 127 : u < 0.10 ? -127 : (int8_t)rng_range(&s, -126, 126);
            }
        }
        wt[rng_below(&s, (uint32_t)nw)] = 127;
        wt[rng_below(&s, (uint32_t)nw)] = -127;
        float sc_out = (float)(0.001 + 0.01 * snn_rng_uniform(&s));
        for (uint32_t o = 0; o < oc; o++)
            scale[o] = kind[l] == SNN_LAYER_OUT ? sc_out : (float)(0.001 + 0.01 * snn_rng_uniform(&s));

        for (uint32_t im = 0; im < N_CAL; im++)
            dense_acc(kind[l], c, h, w, oc, wt, cur + im * n_in, acc + im * no);

        /* bias: around half a standard deviation of the accumulator, or at the bound */
        uint64_t fan_in = kind[l] == SNN_LAYER_CONV ? 9ull * c : n_in;
        uint64_t x_max = l == 0 ? 255 : 1;
        int64_t room = (int64_t)SNN_ACC_BOUND - 1 - (int64_t)(fan_in * 127 * x_max);
        if (kind[l] == SNN_LAYER_OUT) {
            int64_t room_t = (int64_t)(((1ull << 31) - 1) / T) - (int64_t)(fan_in * 127 * x_max) - 1;
            if (room_t < room) room = room_t;
        }
        if (room > (1 << 27) - 1) room = (1 << 27) - 1;
        if (room < 0) {
            free(acc), free(samp);
            st = snn_fail(SNN_ERR_ARG, "random net: layer %u fan-in %llu breaks the overflow bound",
                          l, (unsigned long long)fan_in);
            break;
        }
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < N_CAL * no; i++) sum += (double)acc[i], sum2 += (double)acc[i] * acc[i];
        double mean = sum / (double)(N_CAL * no);
        double sd = sqrt(sum2 / (double)(N_CAL * no) - mean * mean);
        for (uint32_t o = 0; o < oc; o++) {
            int64_t b;
            if ((flags & SNN_RAND_EXTREME) && (o % 2 == 0 || kind[l] == SNN_LAYER_OUT))
                b = (snn_rng_next(&s) & 1) ? room : -room;
            else {
                double bb = (snn_rng_uniform(&s) - 0.5) * sd;
                b = (int64_t)bb;
                if (b > room) b = room;
                if (b < -room) b = -room;
            }
            bias[o] = (int32_t)b;
        }

        if (kind[l] != SNN_LAYER_OUT) {
            /* thresholds: quantile per channel (conv) or per neuron (fc) */
            uint32_t hw = oh * ow;
            for (uint32_t o = 0; o < oc; o++) {
                for (uint32_t im = 0; im < N_CAL; im++)
                    for (uint32_t p = 0; p < hw; p++)
                        samp[im * hw + p] = acc[im * no + (size_t)o * hw + p] + bias[o];
                double q = 0.6 + 0.3 * snn_rng_uniform(&s);
                int64_t base_hi = quantile(samp, (size_t)N_CAL * hw, q);
                int64_t base_lo = quantile(samp, (size_t)N_CAL * hw, 1.0 - q);
                int64_t spread = samp[(size_t)N_CAL * hw - 1] - samp[0];
                for (uint32_t p = 0; p < hw; p++) {
                    size_t n = (size_t)o * hw + p;
                    double u = snn_rng_uniform(&s);
                    int64_t jitter = (int64_t)((snn_rng_uniform(&s) - 0.5) * 0.05 * (double)spread);
                    int64_t t;
                    if (!(flags & SNN_RAND_PLAIN) && u < 0.03) {
                        uint32_t k = rng_below(&s, 4); /* constant neurons, all four encodings */
                        pol[n] = (uint8_t)(k >> 1);
                        t = (k & 1) ? INT32_MAX : INT32_MIN;
                    } else if (!(flags & SNN_RAND_PLAIN) && u < 0.13) {
                        pol[n] = 1;
                        t = base_lo + jitter;
                    } else {
                        t = base_hi + jitter;
                    }
                    if (t > INT32_MAX) t = INT32_MAX;
                    if (t < INT32_MIN) t = INT32_MIN;
                    th[n] = (int32_t)t;
                }
            }
            /* this layer's t=0 spikes feed the next layer's calibration */
            int32_t *nxt = calloc(N_CAL * no, sizeof(int32_t));
            if (!nxt) {
                free(acc), free(samp);
                st = snn_fail(SNN_ERR_NOMEM, "random net: out of memory");
                break;
            }
            for (uint32_t im = 0; im < N_CAL; im++)
                for (size_t n = 0; n < no; n++) {
                    int64_t v = acc[im * no + n] + bias[n / hw];
                    nxt[im * no + n] = pol[n] ? v < th[n] : v > th[n];
                }
            free(cur);
            cur = nxt;
        }
        free(acc), free(samp);
        ls->out_c = oc, ls->w = wt, ls->bias = bias, ls->th = th, ls->pol = pol, ls->scale = scale;
        c = oc, h = oh, w = ow, n_in = no;
    }
    free(cur);
    if (st == SNN_OK) st = snn_deploy_build(&spec, bytes, size);
    for (uint32_t i = 0; i < n_owned; i++) free(owned[i]);
#undef OWN
    return st;
}
