/*
 * test-ref.c - the golden model against hand-computed sequences
 * (docs/numerics.md) and against an independent dense int64 implementation
 * written here from the document on random networks (including the
 * saturation corner: weights +-127, biases at the bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"
#include "snn-dev.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct run_out {
    int32_t sums[SNN_MAX_CLASSES];
    int32_t pred;
    uint32_t spikes[SNN_MAX_LAYERS], synops[SNN_MAX_LAYERS], events[SNN_MAX_LAYERS];
    uint32_t *trace;
} run_out;

static void run1(const uint8_t *img, size_t n, const uint8_t *px, run_out *o)
{
    snn_net net;
    if (snn_deploy_parse(img, n, &net) != SNN_OK) fail_msg("%s", snn_last_error());
    uint32_t K = net.hdr->n_classes, L = net.n_layers;
    uint8_t *rec = malloc(snn_result_stride(K, L));
    o->trace = malloc(4u * snn_trace_words(&net));
    snn_ref_run(&net, px, 1, rec, o->trace);
    memcpy(o->sums, rec, 4u * K);
    memcpy(&o->pred, rec + 4u * K, 4);
    memcpy(o->spikes, rec + 4u * (K + 1), 4u * L);
    memcpy(o->synops, rec + 4u * (K + 1 + L), 4u * L);
    memcpy(o->events, rec + 4u * (K + 1 + 2 * L), 4u * L);
    for (uint32_t i = snn_result_words(K, L) * 4; i < snn_result_stride(K, L); i++)
        assert_int_equal(rec[i], 0); /* padding is zero */
    free(rec);
}

/* One neuron: fc 1 pixel -> 1 LIF neuron -> out 2 classes; T steps.
 * Returns the spike train of the neuron as bits (bit t = fired at t). */
static uint32_t one_neuron(int8_t w, int32_t b, int32_t th, uint8_t pol, uint32_t T, uint8_t pixel,
                           const int8_t wo[2], const int32_t bo[2], run_out *o)
{
    int8_t w0[1] = {w};
    int32_t b0[1] = {b}, th0[1] = {th};
    uint8_t pol0[1] = {pol};
    snn_deploy_spec s = {.n_layers = 2, .T = T, .in_c = 1, .in_h = 1, .in_w = 1, .n_classes = 2};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_FC, 1, w0, b0, th0, pol0, NULL};
    s.layers[1] = (snn_layer_spec){SNN_LAYER_OUT, 2, wo, bo, NULL, NULL, NULL};
    uint8_t *img;
    size_t n;
    if (snn_deploy_build(&s, &img, &n) != SNN_OK) fail_msg("%s", snn_last_error());
    run1(img, n, &pixel, o);
    uint32_t bits = 0;
    for (uint32_t t = 0; t < T; t++) bits |= (o->trace[t] & 1u) << t; /* 1 word per step */
    free(o->trace);
    free(img);
    return bits;
}

static const int8_t WO0[2] = {0, 0};
static const int32_t BO0[2] = {0, 0};

/* ---- hand-computed sequences ---------------------------------------------------- */

static void test_leak_rounding_negative(void **state)
{
    (void)state;
    run_out o;
    /* acc = -5 every step, pol 1 (fire if v < th):
     * floor: v = -5, (-5>>2)-5 = -2-5 = -7, fires at t1 if th = -6;
     * truncation towards zero would give -1-5 = -6 and never fire. */
    assert_int_equal(one_neuron(-5, 0, -6, 1, 4, 1, WO0, BO0, &o), 0x2 | 0x8);
    /* t0 -5; t1 -7 fire -> 0; t2 -5; t3 -7 fire */
    /* acc = -7: v = -7, -2-7 = -9, -3-7 = -10, -3-7 = -10; th -9 strict: fires at t2, t3?
     * t2: -10 < -9 fire -> u 0; t3: v = -7, no. */
    assert_int_equal(one_neuron(-7, 0, -9, 1, 4, 1, WO0, BO0, &o), 0x4);
    /* bias enters every step, the leak scales the carried membrane only:
     * w*x = 2*3 = 6, b = -10 -> acc+b = -4: v = -4, -1-4 = -5, (-5>>2)-4 = -6, (-6>>2)-4 = -6 */
    assert_int_equal(one_neuron(2, -10, -5, 1, 4, 3, WO0, BO0, &o), 0x4);
}

static void test_leak_positive_and_reset(void **state)
{
    (void)state;
    run_out o;
    /* acc+b = 13: v = 13, 3+13 = 16 (not > 16), 4+13 = 17 fire, 13, 16, 17 fire */
    assert_int_equal(one_neuron(10, 3, 16, 0, 6, 1, WO0, BO0, &o), 0x4 | 0x20);
    /* 7 >> 2 = 1 (floor of 1.75): acc 7, th 8: 7, 1+7 = 8 no, 2+7 = 9 fire */
    assert_int_equal(one_neuron(7, 0, 8, 0, 4, 1, WO0, BO0, &o), 0x4);
    /* hard reset: above threshold every step -> fires every step */
    assert_int_equal(one_neuron(50, 0, 10, 0, 5, 1, WO0, BO0, &o), 0x1f);
    /* T = 1 */
    assert_int_equal(one_neuron(50, 0, 10, 0, 1, 1, WO0, BO0, &o), 0x1);
    /* pixel value scales the weight: 3*40 = 120 > 100; 2*40 = 80 not */
    assert_int_equal(one_neuron(40, 0, 100, 0, 1, 3, WO0, BO0, &o), 1);
    assert_int_equal(one_neuron(40, 0, 100, 0, 1, 2, WO0, BO0, &o), 0);
    /* zero pixel contributes nothing, bias still integrates: b = 5 > 4 */
    assert_int_equal(one_neuron(127, 5, 4, 0, 2, 0, WO0, BO0, &o), 0x3);
}

static void test_constant_neurons(void **state)
{
    (void)state;
    run_out o;
    /* whatever the input, INT32_MIN pol 0 always fires, INT32_MAX pol 0 never;
     * pol 1 mirrors them. */
    for (int x = 0; x < 256; x += 51) {
        assert_int_equal(one_neuron(-127, -(1 << 26), INT32_MIN, 0, 4, (uint8_t)x, WO0, BO0, &o), 0xf);
        assert_int_equal(one_neuron(127, (1 << 26), INT32_MAX, 0, 4, (uint8_t)x, WO0, BO0, &o), 0);
        assert_int_equal(one_neuron(127, (1 << 26), INT32_MAX, 1, 4, (uint8_t)x, WO0, BO0, &o), 0xf);
        assert_int_equal(one_neuron(-127, -(1 << 26), INT32_MIN, 1, 4, (uint8_t)x, WO0, BO0, &o), 0);
    }
}

static void test_output_sums_and_ties(void **state)
{
    (void)state;
    run_out o;
    /* spikes at t2 only (see above): s_k = sum_t (o_t * wo_k + bo_k) */
    const int8_t wo[2] = {3, -2};
    const int32_t bo[2] = {1, 5};
    assert_int_equal(one_neuron(-7, 0, -9, 1, 4, 1, wo, bo, &o), 0x4);
    assert_int_equal(o.sums[0], 3 + 4 * 1);
    assert_int_equal(o.sums[1], -2 + 4 * 5);
    assert_int_equal(o.pred, 1);
    /* counters: layer 0 reached 1 synapse once (not T times); the out layer
     * 2 synapses per input spike */
    assert_int_equal(o.spikes[0], 1);
    assert_int_equal(o.spikes[1], 0);
    assert_int_equal(o.synops[0], 1);
    assert_int_equal(o.synops[1], 2);
    /* events: the pixel once, the neuron (one spike) once, times its fan-out */
    assert_int_equal(o.events[0], 1);
    assert_int_equal(o.events[1], 2);
    /* a neuron firing at every one of 5 steps: 5 x 2 synops, but one event x 2 */
    assert_int_equal(one_neuron(50, 0, 10, 0, 5, 1, WO0, BO0, &o), 0x1f);
    assert_int_equal(o.synops[1], 5 * 2);
    assert_int_equal(o.events[1], 2);
    /* a silent neuron: no events downstream; the nonzero pixel still counts */
    assert_int_equal(one_neuron(127, (1 << 26), INT32_MAX, 0, 4, 9, WO0, BO0, &o), 0);
    assert_int_equal(o.events[0], 1);
    assert_int_equal(o.synops[1], 0);
    assert_int_equal(o.events[1], 0);
    /* ties go to the lowest index */
    const int32_t tie[2] = {5, 5};
    one_neuron(-7, 0, -9, 1, 4, 1, WO0, tie, &o);
    assert_int_equal(o.sums[0], o.sums[1]);
    assert_int_equal(o.pred, 0);
    const int32_t neg[2] = {-9, -8};
    one_neuron(-7, 0, -9, 1, 4, 1, WO0, neg, &o);
    assert_int_equal(o.pred, 1);
    assert_int_equal(o.sums[1], -32);
}

static void test_tie_three_classes(void **state)
{
    (void)state;
    int8_t w0[1] = {0}, wo[3] = {0, 0, 0};
    int32_t b0[1] = {0}, th0[1] = {0}, bo[3] = {1, 7, 7};
    snn_deploy_spec s = {.n_layers = 2, .T = 2, .in_c = 1, .in_h = 1, .in_w = 1, .n_classes = 3};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_FC, 1, w0, b0, th0, NULL, NULL};
    s.layers[1] = (snn_layer_spec){SNN_LAYER_OUT, 3, wo, bo, NULL, NULL, NULL};
    uint8_t *img, px = 9;
    size_t n;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_OK);
    run_out o;
    run1(img, n, &px, &o);
    assert_int_equal(o.pred, 1);
    assert_int_equal(o.sums[2], 14);
    /* trace: 1 word per step for layer 0, then the 3 sums */
    assert_int_equal(o.trace[2], 2);
    assert_int_equal(o.trace[4], 14);
    free(o.trace);
    free(img);
}

/* Conv geometry, edge synops and pool OR on a 4x4 single-channel map. */
static void test_conv_pool_geometry(void **state)
{
    (void)state;
    /* conv 1->2: channel 0 has only the centre tap = 1 (copies the pixel),
     * channel 1 has only tap (ky=0,kx=0) = 1, i.e. out(y,x) = in(y-1,x-1). */
    int8_t w0[9 * 2] = {0};
    w0[(1 * 3 + 1) * 2 + 0] = 1;
    w0[(0 * 3 + 0) * 2 + 1] = 1;
    int32_t b0[2] = {0, 0}, th0[32];
    for (int i = 0; i < 32; i++) th0[i] = 100;
    int8_t wo[8 * 2] = {0};
    int32_t bo[2] = {0, 0};
    snn_deploy_spec s = {.n_layers = 3, .T = 1, .in_c = 1, .in_h = 4, .in_w = 4, .n_classes = 2};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_CONV, 2, w0, b0, th0, NULL, NULL};
    s.layers[1] = (snn_layer_spec){.kind = SNN_LAYER_POOL};
    s.layers[2] = (snn_layer_spec){SNN_LAYER_OUT, 2, wo, bo, NULL, NULL, NULL};
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_OK);
    uint8_t px[16] = {0};
    px[0 * 4 + 0] = 200; /* corner: reaches 4 taps */
    px[1 * 4 + 2] = 200; /* interior: 9 taps */
    px[3 * 4 + 1] = 50;  /* bottom edge, below threshold: 6 taps */
    run_out o;
    run1(img, n, px, &o);
    /* channel 0 fires at (0,0), (1,2); channel 1 at (1,1), (2,3) */
    uint32_t c0 = (1u << 0) | (1u << 6), c1 = (1u << 5) | (1u << 11);
    assert_int_equal(o.trace[0], c0 | (c1 << 16));
    /* pool 2x2: ch0 (0,0) and (0,1); ch1 (0,0) and (1,1) -> bits 0,1 | 4,7 */
    assert_int_equal(o.trace[1], 0x3 | (0x1 << 4) | (0x8 << 4));
    assert_int_equal(o.spikes[0], 4);
    assert_int_equal(o.spikes[1], 4);
    assert_int_equal(o.synops[0], (4 + 9 + 6) * 2);
    assert_int_equal(o.synops[1], 0);
    assert_int_equal(o.synops[2], 4 * 2);
    /* T = 1: every firing input fires once, events = synops; pool 0 */
    assert_int_equal(o.events[0], o.synops[0]);
    assert_int_equal(o.events[1], 0);
    assert_int_equal(o.events[2], o.synops[2]);
    free(o.trace);
    free(img);
}

/* events[l] = firing input neurons x synapses reached, each input counted
 * once however many of the T steps it fires at (docs/numerics.md, "Counters").
 * 4x4 image, T = 3:
 *   layer 0 conv 1->1, centre tap 1 (copies the pixel), threshold 100:
 *     (0,0) = 200 corner     fires t0 t1 t2      4 taps
 *     (1,2) = 90  interior   fires t1 only       9 taps  (90; 22+90 = 112; 90)
 *     (2,1) = 200 interior   fires t0 t1 t2      9 taps
 *     (1,3) = 200 right edge fires t0 t1 t2      6 taps
 *     (3,3) = 60  corner     never fires         4 taps  (60; 15+60; 18+60)
 *   layer 1 conv 1->2: channel 0 copies its input (centre tap 1, threshold 0:
 *     fires exactly when the input fired), channel 1 never fires
 *   layer 2 pool: channel 0 fires at (0,0), (0,1) (from (1,2) and (1,3): OR,
 *     3 spikes, not 4), (1,0); at every step
 *   layer 3 out, 2 classes. */
static void test_events_counted_once(void **state)
{
    (void)state;
    int8_t w0[9] = {0}, w1[9 * 2] = {0}, wo[8 * 2] = {0};
    w0[1 * 3 + 1] = 1;
    w1[(1 * 3 + 1) * 2 + 0] = 1;
    int32_t b0[1] = {0}, b1[2] = {0, 0}, bo[2] = {0, 0}, th0[16], th1[32];
    for (int i = 0; i < 16; i++) th0[i] = 100;
    for (int i = 0; i < 32; i++) th1[i] = i < 16 ? 0 : 1000;
    snn_deploy_spec s = {.n_layers = 4, .T = 3, .in_c = 1, .in_h = 4, .in_w = 4, .n_classes = 2};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_CONV, 1, w0, b0, th0, NULL, NULL};
    s.layers[1] = (snn_layer_spec){SNN_LAYER_CONV, 2, w1, b1, th1, NULL, NULL};
    s.layers[2] = (snn_layer_spec){.kind = SNN_LAYER_POOL};
    s.layers[3] = (snn_layer_spec){SNN_LAYER_OUT, 2, wo, bo, NULL, NULL, NULL};
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_OK);
    uint8_t px[16] = {0};
    px[0 * 4 + 0] = 200;
    px[1 * 4 + 2] = 90;
    px[2 * 4 + 1] = 200;
    px[1 * 4 + 3] = 200;
    px[3 * 4 + 3] = 60;
    run_out o;
    run1(img, n, px, &o);
    /* layer 0's spikes at t1 (3 trace words per step): all four firing pixels */
    assert_int_equal(o.trace[3], (1u << 0) | (1u << 6) | (1u << 9) | (1u << 7));
    assert_int_equal(o.spikes[0], 3 + 1 + 3 + 3);
    assert_int_equal(o.spikes[1], 10);
    assert_int_equal(o.spikes[2], 9);
    /* layer 0: nonzero pixels x taps x out_c, once per image: events = synops */
    assert_int_equal(o.synops[0], 4 + 9 + 9 + 6 + 4);
    assert_int_equal(o.events[0], 4 + 9 + 9 + 6 + 4);
    /* layer 1: per spike vs per firing neuron, x 2 output channels */
    assert_int_equal(o.synops[1], (3 * 4 + 1 * 9 + 3 * 9 + 3 * 6) * 2);
    assert_int_equal(o.events[1], (4 + 9 + 9 + 6) * 2);
    /* pool: nothing */
    assert_int_equal(o.synops[2], 0);
    assert_int_equal(o.events[2], 0);
    /* out: 9 pool spikes x 2 classes; 3 firing pool neurons x 2 */
    assert_int_equal(o.synops[3], 9 * 2);
    assert_int_equal(o.events[3], 3 * 2);
    free(o.trace);
    free(img);
}

/* ---- independent dense model ------------------------------------------------------ */

typedef struct dense_out {
    int64_t sums[SNN_MAX_CLASSES];
    uint64_t spikes[SNN_MAX_LAYERS], synops[SNN_MAX_LAYERS], events[SNN_MAX_LAYERS];
    uint8_t *bits; /* [T][layer][n_out] concatenated */
} dense_out;

static int bit(const uint8_t *p, uint32_t n)
{
    return (p[n / 8] >> (n % 8)) & 1;
}

/* A straightforward reading of docs/numerics.md: dense loops, int64, output
 * positions pull from inputs (the ref model pushes from input events). */
static void dense_run(const snn_net *net, const uint8_t *px, dense_out *o)
{
    const snn_deploy_hdr *h = net->hdr;
    uint32_t L = net->n_layers, T = h->timesteps;
    memset(o->sums, 0, sizeof o->sums);
    memset(o->spikes, 0, sizeof o->spikes);
    memset(o->synops, 0, sizeof o->synops);
    memset(o->events, 0, sizeof o->events);
    int64_t *u[SNN_MAX_LAYERS];
    int64_t *spk[SNN_MAX_LAYERS + 1];
    uint8_t *ever[SNN_MAX_LAYERS]; /* input neuron of layer l nonzero at some step */
    spk[0] = malloc(sizeof(int64_t) * net->layers[0].n_in);
    for (uint32_t i = 0; i < net->layers[0].n_in; i++) spk[0][i] = px[i];
    for (uint32_t l = 0; l < L; l++) {
        u[l] = calloc(net->layers[l].n_out, sizeof(int64_t));
        spk[l + 1] = calloc(net->layers[l].n_out, sizeof(int64_t));
        ever[l] = calloc(net->layers[l].n_in, 1);
    }
    size_t bitpos = 0;
    for (uint32_t t = 0; t < T; t++)
        for (uint32_t l = 0; l < L; l++) {
            const snn_layer *Ly = &net->layers[l];
            const snn_layer_desc *d = Ly->desc;
            const int64_t *in = spk[l];
            int64_t *out = spk[l + 1];
            uint32_t H = d->in_h, W = d->in_w;
            int count_synops = l > 0 || t == 0;
            for (uint32_t i = 0; i < Ly->n_in; i++) ever[l][i] |= in[i] != 0;
            for (uint32_t n = 0; n < Ly->n_out; n++) {
                uint32_t c = n / (d->out_h * d->out_w), y = n / d->out_w % d->out_h, x = n % d->out_w;
                int64_t acc = 0;
                if (Ly->kind == SNN_LAYER_POOL) {
                    int any = 0;
                    for (uint32_t dy = 0; dy < 2; dy++)
                        for (uint32_t dx = 0; dx < 2; dx++)
                            any |= in[(c * H + 2 * y + dy) * W + 2 * x + dx] != 0;
                    out[n] = any;
                    o->spikes[l] += (uint64_t)any;
                    continue;
                }
                if (Ly->kind == SNN_LAYER_CONV) {
                    for (uint32_t ci = 0; ci < d->in_c; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int yi = (int)y + ky - 1, xi = (int)x + kx - 1;
                                if (yi < 0 || yi >= (int)H || xi < 0 || xi >= (int)W) continue;
                                int64_t v = in[(ci * H + (uint32_t)yi) * W + (uint32_t)xi];
                                if (!v) continue;
                                acc += v * Ly->w[((ci * 3 + (uint32_t)ky) * 3 + (uint32_t)kx) * d->out_c + c];
                                if (count_synops) o->synops[l]++;
                            }
                } else {
                    for (uint32_t i = 0; i < Ly->n_in; i++) {
                        if (!in[i]) continue;
                        acc += in[i] * Ly->w[(size_t)i * d->out_c + c];
                        if (count_synops) o->synops[l]++;
                    }
                }
                acc += Ly->bias[c];
                assert_true(acc < (1 << 28) && acc > -(1 << 28));
                if (Ly->kind == SNN_LAYER_OUT) {
                    o->sums[n] += acc;
                    continue;
                }
                int64_t uu = u[l][n];
                int64_t v = (uu >= 0 ? uu / 4 : -((-uu + 3) / 4)) + acc; /* floor(u/4) */
                assert_true(v < (1 << 30) && v > -(1 << 30));
                int fire = bit(Ly->pol, n) ? v < Ly->th[n] : v > Ly->th[n];
                u[l][n] = fire ? 0 : v;
                out[n] = fire;
                o->spikes[l] += (uint64_t)fire;
            }
            if (Ly->kind != SNN_LAYER_OUT)
                for (uint32_t n = 0; n < Ly->n_out; n++) o->bits[bitpos++] = (uint8_t)out[n];
        }
    /* events, pulled from the outputs like synops: every (output, input)
     * synapse whose input was nonzero at one or more steps, once */
    for (uint32_t l = 0; l < L; l++) {
        const snn_layer *Ly = &net->layers[l];
        const snn_layer_desc *d = Ly->desc;
        if (Ly->kind == SNN_LAYER_POOL) continue;
        for (uint32_t n = 0; n < Ly->n_out; n++) {
            uint32_t y = n / d->out_w % d->out_h, x = n % d->out_w;
            if (Ly->kind != SNN_LAYER_CONV) {
                for (uint32_t i = 0; i < Ly->n_in; i++) o->events[l] += ever[l][i];
                continue;
            }
            for (uint32_t ci = 0; ci < d->in_c; ci++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int yi = (int)y + ky - 1, xi = (int)x + kx - 1;
                        if (yi < 0 || yi >= (int)d->in_h || xi < 0 || xi >= (int)d->in_w) continue;
                        o->events[l] += ever[l][(ci * d->in_h + (uint32_t)yi) * d->in_w + (uint32_t)xi];
                    }
        }
    }
    for (uint32_t l = 0; l <= L; l++) free(spk[l]);
    for (uint32_t l = 0; l < L; l++) free(u[l]), free(ever[l]);
}

static void compare_with_dense(const char *arch, uint32_t c, uint32_t h, uint32_t w, uint32_t T,
                               uint32_t K, uint32_t flags, uint64_t seed, uint32_t n_img,
                               double *rate_out)
{
    uint8_t *img;
    size_t n;
    if (snn_deploy_random(seed, arch, c, h, w, T, K, flags, &img, &n) != SNN_OK)
        fail_msg("%s", snn_last_error());
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    size_t px = (size_t)c * h * w, tw = snn_trace_words(&net);
    size_t stride = snn_result_stride(K, net.n_layers);
    uint8_t *pixels = malloc(px * n_img), *rec = malloc(stride * n_img);
    uint32_t *trace = malloc(4 * tw * n_img);
    snn_pixels_random(seed, n_img, c, h, w, pixels);
    snn_ref_run(&net, pixels, n_img, rec, trace);
    size_t nbits = 0;
    for (uint32_t l = 0; l + 1 < net.n_layers; l++) nbits += net.layers[l].n_out;
    dense_out d;
    d.bits = malloc(nbits * T);
    uint64_t fired = 0;
    for (uint32_t i = 0; i < n_img; i++) {
        dense_run(&net, pixels + i * px, &d);
        const uint8_t *r = rec + i * stride;
        const uint32_t *tr = trace + i * tw;
        size_t b = 0, word = 0;
        for (uint32_t t = 0; t < T; t++)
            for (uint32_t l = 0; l + 1 < net.n_layers; l++) {
                for (uint32_t k = 0; k < net.layers[l].n_out; k++, b++) {
                    int got = (tr[word + k / 32] >> (k % 32)) & 1;
                    if (got != d.bits[b])
                        fail_msg("%s image %u t %u layer %u neuron %u: ref %d dense %d", arch, i, t,
                                 l, k, got, d.bits[b]);
                    fired += (uint64_t)got;
                }
                word += (net.layers[l].n_out + 31) / 32;
            }
        int32_t best = 0;
        for (uint32_t k = 0; k < K; k++) {
            int32_t s;
            memcpy(&s, r + 4 * k, 4);
            assert_int_equal(s, d.sums[k]);
            assert_int_equal((int32_t)tr[word + k], s);
            if (d.sums[k] > d.sums[best]) best = (int32_t)k;
        }
        int32_t pred;
        memcpy(&pred, r + 4 * K, 4);
        assert_int_equal(pred, best);
        for (uint32_t l = 0; l < net.n_layers; l++) {
            uint32_t sp, so, ev;
            memcpy(&sp, r + 4 * (K + 1 + l), 4);
            memcpy(&so, r + 4 * (K + 1 + net.n_layers + l), 4);
            memcpy(&ev, r + 4 * (K + 1 + 2 * net.n_layers + l), 4);
            assert_int_equal(sp, d.spikes[l]);
            assert_int_equal(so, d.synops[l]);
            assert_int_equal(ev, d.events[l]);
            assert_true(ev <= so); /* each firing input counted once, not once per step */
            if (l == 0 || T == 1) assert_int_equal(ev, so);
        }
    }
    if (rate_out) *rate_out = (double)fired / (double)(nbits * T * n_img);
    free(d.bits), free(pixels), free(rec), free(trace), free(img);
}

static void test_against_dense(void **state)
{
    (void)state;
    double rate;
    compare_with_dense("c4,p,c8,f16", 1, 12, 12, 4, 10, 0, 1, 20, &rate);
    print_message("c4,p,c8,f16: mean spike rate %.3f\n", rate);
    assert_true(rate > 0.05 && rate < 0.6); /* lively */
    compare_with_dense("c3,c5,p,p,f7", 2, 9, 11, 3, 5, 0, 2, 10, NULL);  /* odd sizes */
    compare_with_dense("f12,f9", 1, 7, 5, 6, 4, 0, 3, 10, NULL);
    compare_with_dense("", 1, 6, 6, 2, 3, 0, 4, 10, NULL);              /* out layer only */
    compare_with_dense("c6,p,f8", 1, 10, 10, 16, 12, SNN_RAND_EXTREME, 5, 10, &rate);
    print_message("extreme (weights +-127, bias at the bound, T 16): rate %.3f\n", rate);
    compare_with_dense("c4,f5", 3, 5, 5, 5, 3, SNN_RAND_EXTREME | SNN_RAND_PLAIN, 6, 10, NULL);
    compare_with_dense("c8,p,c8,p,f16", 1, 28, 28, 4, 10, 0, 7, 3, &rate);
    print_message("28x28 c8,p,c8,p,f16: rate %.3f\n", rate);
}

/* The device API over the ref backend gives the same records as the direct
 * call, for batches that do not divide the image count. */
static void test_device_ref(void **state)
{
    (void)state;
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_random(9, "c4,p,f8", 1, 8, 8, 3, 5, 0, &img, &n), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    const uint32_t N = 37;
    size_t stride = snn_result_stride(5, net.n_layers), tw = snn_trace_words(&net);
    uint8_t *px = malloc(64 * N), *r1 = malloc(stride * N), *r2 = malloc(stride * N);
    uint32_t *t1 = malloc(4 * tw * N), *t2 = malloc(4 * tw * N);
    int32_t preds[37];
    snn_pixels_random(9, N, 1, 8, 8, px);
    snn_ref_run(&net, px, N, r1, t1);
    snn_dev_opts o;
    snn_dev_opts_init(&o);
    o.batch = 8;
    snn_dev_t *dev;
    assert_int_equal(snn_dev_open("ref", &o, &dev), SNN_OK);
    assert_int_equal(snn_dev_load(dev, img, n), SNN_OK);
    assert_int_equal(snn_dev_run(dev, px, N, preds, r2, t2), SNN_OK);
    assert_memory_equal(r1, r2, stride * N);
    assert_memory_equal(t1, t2, 4 * tw * N);
    for (uint32_t i = 0; i < N; i++) assert_int_equal(preds[i], *(int32_t *)(r1 + i * stride + 20));
    assert_int_equal(snn_dev_run(dev, px, N, preds, NULL, NULL), SNN_OK);
    snn_dev_stats st;
    snn_dev_get_stats(dev, &st);
    assert_int_equal(st.images, 2 * N);
    assert_int_equal(st.runs, 2 * 5);
    assert_int_equal(st.cycles, 0);
    /* a corrupt image is refused by load */
    img[100] ^= 1;
    assert_int_equal(snn_dev_load(dev, img, n), SNN_ERR_FORMAT);
    assert_null(snn_dev_net(dev));
    snn_dev_close(dev);
    assert_int_equal(snn_dev_open("nonesuch", &o, &dev), SNN_ERR_ARG);
    free(px), free(r1), free(r2), free(t1), free(t2), free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leak_rounding_negative),
        cmocka_unit_test(test_leak_positive_and_reset),
        cmocka_unit_test(test_constant_neurons),
        cmocka_unit_test(test_output_sums_and_ties),
        cmocka_unit_test(test_tie_three_classes),
        cmocka_unit_test(test_conv_pool_geometry),
        cmocka_unit_test(test_events_counted_once),
        cmocka_unit_test(test_against_dense),
        cmocka_unit_test(test_device_ref),
    };
    return cmocka_run_group_tests_name("ref", tests, NULL, NULL);
}
