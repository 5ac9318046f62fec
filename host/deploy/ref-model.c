/*
 * ref-model.c - the golden fixed-point model: docs/numerics.md in plain C.
 *
 * This is the specification every other backend is compared with, so it is
 * written for obviousness first and speed second. It is spike-driven like the
 * kernel (work per step proportional to the input events), because that is
 * also the natural way to count synaptic operations:
 *
 *   for t in 0..T-1:                          (step-major)
 *     for each layer l:
 *       acc  = sum of fan-out weights of the events of layer l-1 at step t
 *              (layer 0: pixel value * weights, computed once per image)
 *       LIF  v = (u >> 2) + acc + b;  fire = pol ? v < th : v > th;  u = fire ? 0 : v
 *       pool OR of 2x2 input events;  out: s += acc + b
 *
 * Counters (docs/numerics.md): spikes, synops (synapses reached, per input
 * spike) and events (synapses reached, per firing input neuron: its first
 * spike of the image only).
 *
 * Conv accumulators are kept position-major ([y][x][co]) so that the fan-out
 * of one event (out_c weights per tap, contiguous in the image) is one
 * contiguous add; the threshold pass reads them back in C,H,W neuron order.
 * Nothing here can overflow: snn_deploy_parse() proved the bound of
 * docs/numerics.md for the image.
 */
#include <string.h>

#include "snn-deploy.h"

typedef struct ref_layer_ws {
    int32_t *acc;      /* conv: [y][x][co]; fc/out: [o] */
    int32_t *u;        /* LIF membrane, CHW */
    uint32_t *ev;      /* this step's output events (neuron indices, CHW) */
    uint32_t n_ev;
    uint8_t *mark;     /* pool: output neuron already emitted this step */
    uint8_t *fired;    /* output neuron already seen by the next layer this image (events) */
} ref_layer_ws;

typedef struct ref_ws {
    ref_layer_ws l[SNN_MAX_LAYERS];
    int32_t *acc0;     /* layer 0 accumulation of the current image */
    int32_t sums[SNN_MAX_CLASSES];
} ref_ws;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    SNN_ASSERT(p != NULL); /* the ref model has no error path; buffers are small */
    return p;
}

static void ws_init(ref_ws *ws, const snn_net *net)
{
    memset(ws, 0, sizeof *ws);
    for (uint32_t l = 0; l < net->n_layers; l++) {
        const snn_layer *L = &net->layers[l];
        ref_layer_ws *w = &ws->l[l];
        w->acc = xcalloc(L->n_out, sizeof(int32_t));
        w->u = xcalloc(L->n_out, sizeof(int32_t));
        w->ev = xcalloc(L->n_out, sizeof(uint32_t));
        w->mark = xcalloc(L->n_out, 1);
        w->fired = xcalloc(L->n_out, 1);
    }
    ws->acc0 = xcalloc(net->layers[0].n_out, sizeof(int32_t));
}

static void ws_free(ref_ws *ws, const snn_net *net)
{
    for (uint32_t l = 0; l < net->n_layers; l++) {
        free(ws->l[l].acc);
        free(ws->l[l].u);
        free(ws->l[l].ev);
        free(ws->l[l].mark);
        free(ws->l[l].fired);
    }
    free(ws->acc0);
}

/* acc += value * fan-out of input neuron `in` (CHW index); returns synapses reached. */
static uint32_t accumulate(const snn_layer *L, int32_t *acc, uint32_t in, int32_t value)
{
    const snn_layer_desc *d = L->desc;
    uint32_t oc = d->out_c;
    if (L->kind == SNN_LAYER_CONV) {
        uint32_t H = d->in_h, W = d->in_w;
        uint32_t ci = in / (H * W), yi = in / W % H, xi = in % W;
        uint32_t reached = 0;
        for (uint32_t ky = 0; ky < 3; ky++) {
            int32_t y = (int32_t)yi - (int32_t)ky + 1;
            if (y < 0 || y >= (int32_t)H) continue;
            for (uint32_t kx = 0; kx < 3; kx++) {
                int32_t x = (int32_t)xi - (int32_t)kx + 1;
                if (x < 0 || x >= (int32_t)W) continue;
                const int8_t *w = L->w + ((size_t)(ci * 3 + ky) * 3 + kx) * oc;
                int32_t *a = acc + ((size_t)y * W + (size_t)x) * oc;
                if (value == 1)
                    for (uint32_t o = 0; o < oc; o++) a[o] += w[o];
                else
                    for (uint32_t o = 0; o < oc; o++) a[o] += value * w[o];
                reached += oc;
            }
        }
        return reached;
    }
    /* fc / out */
    const int8_t *w = L->w + (size_t)in * oc;
    if (value == 1)
        for (uint32_t o = 0; o < oc; o++) acc[o] += w[o];
    else
        for (uint32_t o = 0; o < oc; o++) acc[o] += value * w[o];
    return oc;
}

/* LIF threshold pass over every neuron of a conv/fc layer. */
static void lif(const snn_layer *L, const int32_t *acc, ref_layer_ws *w)
{
    const snn_layer_desc *d = L->desc;
    uint32_t hw = d->out_h * d->out_w, oc = d->out_c;
    w->n_ev = 0;
    for (uint32_t c = 0, n = 0; c < oc; c++) {
        int32_t b = L->bias[c];
        for (uint32_t p = 0; p < hw; p++, n++) {
            int32_t a = L->kind == SNN_LAYER_CONV ? acc[(size_t)p * oc + c] : acc[n];
            /* >> on a negative int32 is an arithmetic shift with gcc/clang (floor). */
            int32_t v = (w->u[n] >> SNN_LEAK_SHIFT) + a + b;
            int pol = (L->pol[n >> 3] >> (n & 7)) & 1;
            int fire = pol ? v < L->th[n] : v > L->th[n];
            w->u[n] = fire ? 0 : v;
            if (fire) w->ev[w->n_ev++] = n;
        }
    }
}

static void pool(const snn_layer *L, const ref_layer_ws *in, ref_layer_ws *w)
{
    const snn_layer_desc *d = L->desc;
    uint32_t H = d->in_h, W = d->in_w, oh = d->out_h, ow = d->out_w;
    w->n_ev = 0;
    for (uint32_t i = 0; i < in->n_ev; i++) {
        uint32_t e = in->ev[i];
        uint32_t c = e / (H * W), y = e / W % H, x = e % W;
        if (y / 2 >= oh || x / 2 >= ow) continue; /* odd last row / column */
        uint32_t o = (c * oh + y / 2) * ow + x / 2;
        if (!w->mark[o]) {
            w->mark[o] = 1;
            w->ev[w->n_ev++] = o;
        }
    }
    for (uint32_t i = 0; i < w->n_ev; i++) w->mark[w->ev[i]] = 0;
}

static void run_image(const snn_net *net, ref_ws *ws, const uint8_t *px, uint8_t *rec,
                      uint32_t *trace)
{
    const snn_deploy_hdr *h = net->hdr;
    uint32_t L = net->n_layers, T = h->timesteps, K = h->n_classes;
    uint32_t spikes[SNN_MAX_LAYERS] = {0}, synops[SNN_MAX_LAYERS] = {0};
    uint32_t events[SNN_MAX_LAYERS] = {0};
    int32_t *sums = ws->sums;
    memset(sums, 0, sizeof(int32_t) * K);
    for (uint32_t l = 0; l < L; l++) {
        memset(ws->l[l].u, 0, sizeof(int32_t) * net->layers[l].n_out);
        memset(ws->l[l].fired, 0, net->layers[l].n_out);
        ws->l[l].n_ev = 0;
    }

    /* Layer 0 sees the same image at every step: accumulate once. */
    const snn_layer *L0 = &net->layers[0];
    memset(ws->acc0, 0, sizeof(int32_t) * L0->n_out);
    for (uint32_t i = 0; i < L0->n_in; i++)
        if (px[i]) synops[0] += accumulate(L0, ws->acc0, i, px[i]);
    events[0] = synops[0]; /* every nonzero pixel, once: the same count */

    for (uint32_t t = 0; t < T; t++) {
        for (uint32_t l = 0; l < L; l++) {
            const snn_layer *Ly = &net->layers[l];
            ref_layer_ws *w = &ws->l[l];
            const int32_t *acc = ws->acc0;
            if (l > 0 && Ly->kind != SNN_LAYER_POOL) {
                const ref_layer_ws *in = &ws->l[l - 1];
                memset(w->acc, 0, sizeof(int32_t) * Ly->n_out);
                for (uint32_t i = 0; i < in->n_ev; i++) {
                    uint32_t e = in->ev[i], reached = accumulate(Ly, w->acc, e, 1);
                    synops[l] += reached;
                    /* events: a firing input neuron counts at its first spike only */
                    if (!in->fired[e]) {
                        in->fired[e] = 1;
                        events[l] += reached;
                    }
                }
                acc = w->acc;
            }
            switch (Ly->kind) {
            case SNN_LAYER_CONV:
            case SNN_LAYER_FC:
                lif(Ly, acc, w);
                break;
            case SNN_LAYER_POOL:
                pool(Ly, &ws->l[l - 1], w);
                break;
            case SNN_LAYER_OUT:
                for (uint32_t k = 0; k < K; k++) sums[k] += acc[k] + Ly->bias[k];
                break;
            }
            if (Ly->kind != SNN_LAYER_OUT) {
                spikes[l] += w->n_ev;
                if (trace) {
                    uint32_t words = (Ly->n_out + 31) / 32;
                    memset(trace, 0, 4u * words);
                    for (uint32_t i = 0; i < w->n_ev; i++)
                        trace[w->ev[i] / 32] |= 1u << (w->ev[i] % 32);
                    trace += words;
                }
            }
        }
    }
    int32_t pred = 0;
    for (uint32_t k = 1; k < K; k++)
        if (sums[k] > sums[pred]) pred = (int32_t)k; /* ties: lowest index */
    if (trace) memcpy(trace, sums, 4u * K);

    memset(rec, 0, snn_result_stride(K, L));
    memcpy(rec, sums, 4u * K);
    memcpy(rec + 4u * K, &pred, 4);
    memcpy(rec + 4u * (K + 1), spikes, 4u * L);
    memcpy(rec + 4u * (K + 1 + L), synops, 4u * L);
    memcpy(rec + 4u * (K + 1 + 2 * L), events, 4u * L);
}

void snn_ref_run(const snn_net *net, const uint8_t *pixels, uint32_t n, uint8_t *results,
                 uint32_t *trace)
{
    if (n == 0) return;
    const snn_deploy_hdr *h = net->hdr;
    size_t px = (size_t)h->in_c * h->in_h * h->in_w;
    size_t stride = snn_result_stride(h->n_classes, net->n_layers);
    size_t tw = snn_trace_words(net);
    ref_ws ws;
    ws_init(&ws, net);
    for (uint32_t i = 0; i < n; i++)
        run_image(net, &ws, pixels + i * px, results + i * stride, trace ? trace + i * tw : NULL);
    ws_free(&ws, net);
}
