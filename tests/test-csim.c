/*
 * test-csim.c - the HLS kernel (csim device) against the golden model (ref
 * device) through the driver API: every layer's spike bitmap at every step,
 * the output sums, the prediction and the spike / synaptic-operation / event
 * counters (the whole result record) must be identical, for every kernel
 * build linked in (lanes 1..32).
 *
 * Networks: random lively networks (host/fold/randnet.c) of many shapes (conv,
 * pool, fc, odd map sizes, channel counts that are not multiples of the lane
 * count, multi-channel images, an fc encoding layer, T = 1..8), in the
 * saturation corner (weights +-127, biases at the bound), with negative
 * polarity and constant neurons, and in both MPBN forms: thresholds varying
 * per neuron (element-wise) and shared by a channel (channel-wise). Plus the
 * capacity check: an image that does not fit is refused naming the limit.
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
#include "hls/snn_kernel.h"
#include "snn-dev.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct dev_out {
    uint8_t *results;
    uint32_t *trace;
    int32_t *preds;
} dev_out;

static void dev_out_free(dev_out *o)
{
    free(o->results);
    free(o->trace);
    free(o->preds);
    memset(o, 0, sizeof *o);
}

/* Run n images on a device; fails the test on any error. */
static void run_device(const char *name, uint32_t lanes, uint32_t batch, const uint8_t *img,
                       size_t size, const uint8_t *px, uint32_t n, dev_out *o)
{
    snn_dev_opts opts;
    snn_dev_opts_init(&opts);
    opts.lanes = lanes;
    if (batch) opts.batch = batch;
    snn_dev_t *dev;
    if (snn_dev_open(name, &opts, &dev) != SNN_OK) fail_msg("open %s: %s", name, snn_last_error());
    if (snn_dev_load(dev, img, size) != SNN_OK) fail_msg("load %s: %s", name, snn_last_error());
    const snn_net *net = snn_dev_net(dev);
    size_t stride = snn_result_stride(net->hdr->n_classes, net->n_layers);
    o->results = malloc(stride * n);
    o->trace = malloc(4u * snn_trace_words(net) * n);
    o->preds = malloc(4u * n);
    assert_non_null(o->results);
    assert_non_null(o->trace);
    if (snn_dev_run(dev, px, n, o->preds, o->results, o->trace) != SNN_OK)
        fail_msg("run %s (lanes %u): %s", name, lanes, snn_last_error());
    snn_dev_close(dev);
}

/* ref vs csim (each lane build) on n images; returns the ref results for
 * further checks (caller frees). */
static void cross_check(const char *what, const uint8_t *img, size_t size, const uint8_t *px,
                        uint32_t n, dev_out *ref_out)
{
    snn_net net;
    if (snn_deploy_parse(img, size, &net) != SNN_OK) fail_msg("%s: %s", what, snn_last_error());
    size_t stride = snn_result_stride(net.hdr->n_classes, net.n_layers);
    size_t tw = snn_trace_words(&net);
    dev_out ref = {0};
    run_device("ref", 0, 0, img, size, px, n, &ref);
    for (size_t v = 0; snn_hls_variants[v]; v++) {
        uint32_t lanes = snn_hls_variants[v]->lanes;
        dev_out cs = {0};
        /* the default build also runs in odd-sized batches (several kernel runs) */
        run_device("csim", v == 0 ? 0 : lanes, v == 0 ? 7 : 0, img, size, px, n, &cs);
        for (uint32_t i = 0; i < n; i++) {
            const uint32_t *a = ref.trace + i * tw, *b = cs.trace + i * tw;
            snn_trace_mismatch m;
            if (snn_trace_diff(&net, a, b, 1, &m, NULL)) {
                if (m.layer >= 0)
                    fail_msg("%s, lanes %u: image %u step %u layer %d neuron %u: ref %d csim %d",
                             what, lanes, i, m.step, m.layer, m.neuron, m.a, m.b);
                fail_msg("%s, lanes %u: image %u sum %u: ref %d csim %d", what, lanes, i, m.neuron,
                         m.a, m.b);
            }
            const uint8_t *ra = ref.results + i * stride, *rb = cs.results + i * stride;
            if (memcmp(ra, rb, stride) != 0) {
                for (uint32_t k = 0; k < stride / 4; k++) {
                    uint32_t x, y;
                    memcpy(&x, ra + 4 * k, 4);
                    memcpy(&y, rb + 4 * k, 4);
                    if (x != y)
                        fail_msg("%s, lanes %u: image %u result word %u (classes %u, layers %u): "
                                 "ref %u csim %u",
                                 what, lanes, i, k, net.hdr->n_classes, net.n_layers, x, y);
                }
            }
            assert_int_equal(ref.preds[i], cs.preds[i]);
        }
        dev_out_free(&cs);
    }
    if (ref_out)
        *ref_out = ref;
    else
        dev_out_free(&ref);
}

/* Channel-wise MPBN form: every neuron of a conv channel gets the threshold
 * (and polarity) of the channel's first neuron. Edits the image in place. */
static void make_channelwise(uint8_t *img, size_t size)
{
    snn_net net;
    if (snn_deploy_parse(img, size, &net) != SNN_OK) fail_msg("%s", snn_last_error());
    for (uint32_t l = 0; l < net.n_layers; l++) {
        const snn_layer *L = &net.layers[l];
        if (L->kind != SNN_LAYER_CONV) continue;
        uint32_t hw = L->desc->out_h * L->desc->out_w;
        int32_t *th = (int32_t *)(img + L->desc->th_off);
        uint8_t *pol = img + L->desc->pol_off;
        for (uint32_t c = 0; c < L->desc->out_c; c++)
            for (uint32_t p = 1; p < hw; p++) {
                uint32_t n = c * hw + p, n0 = c * hw;
                th[n] = th[n0];
                uint8_t b = (pol[n0 >> 3] >> (n0 & 7)) & 1;
                pol[n >> 3] = (uint8_t)((pol[n >> 3] & ~(1u << (n & 7))) | (b << (n & 7)));
            }
    }
    snn_deploy_fix_crc(img, size);
}

/* ---- random networks ---------------------------------------------------------- */

typedef struct rcase {
    const char *arch;
    uint32_t c, h, w, T, K;
} rcase;

static const rcase cases[] = {
    {"c4,p,c8,f16", 1, 12, 12, 4, 10},        /* a small default-like network */
    {"c3,c5,p,f7", 1, 9, 11, 8, 3},           /* odd map: pool drops a row and a column */
    {"c17,p,c33,p,f19", 2, 10, 7, 3, 5},      /* channels just above lane multiples */
    {"f33,f9", 1, 7, 5, 5, 4},                /* fc encoding layer */
    {"c8,p,p,f16", 3, 13, 13, 1, 10},         /* three-channel image, two pools, T = 1 */
    {"c2,p,c2,p,c2,f4", 1, 9, 9, 6, 2},       /* maps shrink to 1x1 */
    {"c5,f6", 3, 3, 2, 7, 6},                 /* tiny map, several input channels */
    {"c16,c16,p,c32,p,f40", 1, 16, 16, 4, 10}, /* wide enough for 32 lanes to fill */
    {"c1,f1", 1, 5, 5, 2, 2},                 /* single channel, single fc neuron */
};

static void test_random_networks(void **state)
{
    (void)state;
    enum { N_IMG = 24 };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const rcase *rc = &cases[k];
        static const uint32_t flag_sets[] = {0, SNN_RAND_EXTREME, SNN_RAND_PLAIN};
        for (uint32_t f = 0; f < 3; f++) {
            uint64_t seed = 1000 * (k + 1) + f;
            uint8_t *img;
            size_t size;
            if (snn_deploy_random(seed, rc->arch, rc->c, rc->h, rc->w, rc->T, rc->K, flag_sets[f],
                                 &img, &size) != SNN_OK)
                fail_msg("random net %s: %s", rc->arch, snn_last_error());
            uint8_t *px = malloc((size_t)N_IMG * rc->c * rc->h * rc->w);
            snn_pixels_random(seed, N_IMG, rc->c, rc->h, rc->w, px);
            char what[96];
            snprintf(what, sizeof what, "%s seed %llu flags %u", rc->arch,
                     (unsigned long long)seed, flag_sets[f]);
            dev_out ref = {0};
            cross_check(what, img, size, px, N_IMG, &ref);
            /* the network is lively: the first hidden layer spikes, synops and
             * events are counted; events (each firing input once) never exceed
             * synops (each spike), equal them on layer 0 and with T = 1, and
             * are 0 on pools */
            snn_net net;
            assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
            const uint32_t L = net.n_layers;
            size_t stride = snn_result_stride(rc->K, L);
            uint64_t spikes0 = 0, synops_last = 0, events_last = 0, fewer = 0;
            for (uint32_t i = 0; i < N_IMG; i++) {
                const uint8_t *r = ref.results + i * stride;
                uint32_t s, o, e;
                memcpy(&s, r + 4u * snn_result_spikes_word(rc->K, L), 4);
                spikes0 += s;
                for (uint32_t l = 0; l < L; l++) {
                    memcpy(&o, r + 4u * (snn_result_synops_word(rc->K, L) + l), 4);
                    memcpy(&e, r + 4u * (snn_result_events_word(rc->K, L) + l), 4);
                    assert_true(e <= o);
                    if (l == 0 || rc->T == 1) assert_int_equal(e, o);
                    if (net.layers[l].kind == SNN_LAYER_POOL) assert_int_equal(e, 0);
                    fewer += e < o;
                    if (l + 1 == L) synops_last += o, events_last += e;
                }
            }
            assert_true(spikes0 > 0);
            assert_true(synops_last > 0);
            assert_true(events_last > 0);
            if (rc->T > 1) assert_true(fewer > 0);
            dev_out_free(&ref);
            /* the same network with channel-shared thresholds */
            if (f == 0 && rc->arch[0] == 'c') {
                make_channelwise(img, size);
                strncat(what, " channelwise", sizeof what - strlen(what) - 1);
                cross_check(what, img, size, px, N_IMG, NULL);
            }
            free(px);
            free(img);
        }
    }
}

/* Images with every pixel 255 or 0 and all-black images: the extremes of
 * the encoding layer (largest accumulation, and no events at all). */
static void test_extreme_images(void **state)
{
    (void)state;
    uint8_t *img;
    size_t size;
    if (snn_deploy_random(77, "c6,p,c10,f12", 2, 8, 8, 5, 7, SNN_RAND_EXTREME, &img, &size) !=
        SNN_OK)
        fail_msg("%s", snn_last_error());
    enum { N = 4, PX = 2 * 8 * 8 };
    uint8_t px[N * PX];
    memset(px, 255, PX);
    memset(px + PX, 0, PX);
    for (int i = 0; i < PX; i++) px[2 * PX + i] = (i & 1) ? 255 : 0;
    for (int i = 0; i < PX; i++) px[3 * PX + i] = (uint8_t)(i * 37);
    cross_check("extreme images", img, size, px, N, NULL);
    free(img);
}

/* ---- capacity ------------------------------------------------------------------ */

/* conv 1 -> 1 channel on a 128x128 image, then the output layer: 16384
 * neurons, which at 16 lanes occupy 16384 x 16 padded slots (> the default
 * SNN_HLS_MAX_NEURONS) but fit a 1-lane build. */
static void test_capacity(void **state)
{
    (void)state;
    enum { HW = 128 * 128 };
    static int8_t w0[9] = {1, 2, 3, 4, 5, 4, 3, 2, 1};
    static int32_t b0[1] = {-100}, th0[HW], bo[2] = {0, 1};
    static int8_t wo[HW * 2];
    for (int i = 0; i < HW; i++) {
        th0[i] = 1000 + (i % 97) * 10;
        wo[2 * i] = (int8_t)(i % 5 - 2);
        wo[2 * i + 1] = (int8_t)(i % 3 - 1);
    }
    snn_deploy_spec s = {.n_layers = 2, .T = 3, .in_c = 1, .in_h = 128, .in_w = 128, .n_classes = 2};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_CONV, 1, w0, b0, th0, NULL, NULL};
    s.layers[1] = (snn_layer_spec){SNN_LAYER_OUT, 2, wo, bo, NULL, NULL, NULL};
    uint8_t *img;
    size_t size;
    if (snn_deploy_build(&s, &img, &size) != SNN_OK) fail_msg("%s", snn_last_error());
    uint8_t *px = malloc(2 * HW);
    snn_pixels_random(5, 2, 1, 128, 128, px);

    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    const snn_hls_variant *v16 = NULL, *v1 = NULL;
    for (size_t v = 0; snn_hls_variants[v]; v++) {
        if (snn_hls_variants[v]->lanes == 16) v16 = snn_hls_variants[v];
        if (snn_hls_variants[v]->lanes == 1) v1 = snn_hls_variants[v];
    }
    assert_non_null(v16);
    assert_non_null(v1);
    assert_int_equal(v16->check(&net), SNN_ERR_UNSUPPORTED);
    assert_non_null(strstr(snn_last_error(), "SNN_HLS_MAX_NEURONS"));
    assert_non_null(strstr(snn_last_error(), "layer 0"));
    assert_int_equal(v1->check(&net), SNN_OK);

    /* Through the driver: csim with 16 lanes refuses at run time with the same message. */
    snn_dev_opts opts;
    snn_dev_opts_init(&opts);
    opts.lanes = 16;
    snn_dev_t *dev;
    assert_int_equal(snn_dev_open("csim", &opts, &dev), SNN_OK);
    assert_int_equal(snn_dev_load(dev, img, size), SNN_OK);
    int32_t preds[2];
    assert_int_equal(snn_dev_run(dev, px, 2, preds, NULL, NULL), SNN_ERR_UNSUPPORTED);
    assert_non_null(strstr(snn_last_error(), "SNN_HLS_MAX_NEURONS"));
    snn_dev_close(dev);

    /* The kernel itself, handed the image anyway, refuses: pred = -1. */
    size_t stride = snn_result_stride(2, 2);
    uint8_t *res = calloc(2, stride);
    uint8_t *model = aligned_alloc(64, (size + 63) & ~(size_t)63);
    memcpy(model, img, size);
    v16->kernel((const uint32_t *)model, px, (uint32_t *)res, NULL, 2);
    int32_t pred;
    memcpy(&pred, res + 4 * 2, 4);
    assert_int_equal(pred, -1);
    memcpy(&pred, res + stride + 4 * 2, 4);
    assert_int_equal(pred, -1);
    free(model);
    free(res);

    /* With one lane it fits, and agrees with ref. */
    dev_out ref = {0}, cs = {0};
    run_device("ref", 0, 0, img, size, px, 2, &ref);
    run_device("csim", 1, 0, img, size, px, 2, &cs);
    assert_memory_equal(ref.results, cs.results, 2 * stride);
    assert_memory_equal(ref.trace, cs.trace, 2 * 4 * snn_trace_words(&net));
    dev_out_free(&ref);
    dev_out_free(&cs);
    free(px);
    free(img);
}

/* A network that is only the output layer: it reads the image directly. */
static void test_output_only(void **state)
{
    (void)state;
    enum { PX = 2 * 3 * 5, K = 3 };
    int8_t w[PX * K];
    int32_t b[K] = {-(1 << 26), 5, (1 << 26)};
    for (int i = 0; i < PX * K; i++) w[i] = (int8_t)((i * 53) % 255 - 127);
    snn_deploy_spec s = {.n_layers = 1, .T = 5, .in_c = 2, .in_h = 3, .in_w = 5, .n_classes = K};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_OUT, K, w, b, NULL, NULL, NULL};
    uint8_t *img;
    size_t size;
    if (snn_deploy_build(&s, &img, &size) != SNN_OK) fail_msg("%s", snn_last_error());
    enum { N = 6 };
    uint8_t px[N * PX];
    snn_pixels_random(3, N, 2, 3, 5, px);
    cross_check("output layer only", img, size, px, N, NULL);
    free(img);
}

/* The events network of tests/test-ref.c (hand-computed there): a neuron
 * firing at several steps, one firing at a single step, edge taps, a pool
 * whose output is fed by two inputs at different steps. */
static void test_events_network(void **state)
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
    size_t size;
    if (snn_deploy_build(&s, &img, &size) != SNN_OK) fail_msg("%s", snn_last_error());
    uint8_t px[2 * 16] = {0};
    px[0] = 200, px[6] = 90, px[9] = 200, px[7] = 200, px[15] = 60;
    memcpy(px + 16, px, 16); /* twice: the first-spike memories start empty per image */
    dev_out ref = {0};
    cross_check("events network", img, size, px, 2, &ref);
    size_t stride = snn_result_stride(2, 4);
    for (uint32_t i = 0; i < 2; i++) {
        uint32_t ev[4];
        memcpy(ev, ref.results + i * stride + 4u * snn_result_events_word(2, 4), sizeof ev);
        assert_int_equal(ev[0], 32);
        assert_int_equal(ev[1], 56);
        assert_int_equal(ev[2], 0);
        assert_int_equal(ev[3], 6);
    }
    dev_out_free(&ref);
    free(img);
}

static void test_unknown_lanes(void **state)
{
    (void)state;
    snn_dev_opts opts;
    snn_dev_opts_init(&opts);
    opts.lanes = 3;
    snn_dev_t *dev;
    assert_int_equal(snn_dev_open("csim", &opts, &dev), SNN_ERR_UNSUPPORTED);
    assert_non_null(strstr(snn_last_error(), "3 lanes"));
    opts.lanes = 0;
    assert_int_equal(snn_dev_open("csim", &opts, &dev), SNN_OK);
    snn_dev_close(dev);
}

/* The kernel's cycle estimate respects the physical limit of the brief:
 * cycles >= synaptic operations / lanes. */
static void test_cycles_bound(void **state)
{
    (void)state;
    uint8_t *img;
    size_t size;
    if (snn_deploy_random(9, "c16,p,c32,p,f32", 1, 16, 16, 4, 10, 0, &img, &size) != SNN_OK)
        fail_msg("%s", snn_last_error());
    enum { N = 8 };
    uint8_t px[N * 256];
    snn_pixels_random(9, N, 1, 16, 16, px);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    for (size_t v = 0; snn_hls_variants[v]; v++) {
        const snn_hls_variant *hv = snn_hls_variants[v];
        snn_dev_opts opts;
        snn_dev_opts_init(&opts);
        opts.lanes = hv->lanes;
        snn_dev_t *dev;
        assert_int_equal(snn_dev_open("csim", &opts, &dev), SNN_OK);
        assert_int_equal(snn_dev_load(dev, img, size), SNN_OK);
        size_t stride = snn_result_stride(10, net.n_layers);
        uint8_t res[N * 256];
        assert_true(stride * N <= sizeof res);
        assert_int_equal(snn_dev_run(dev, px, N, NULL, res, NULL), SNN_OK);
        snn_dev_stats st;
        snn_dev_get_stats(dev, &st);
        uint64_t synops = 0;
        for (uint32_t i = 0; i < N; i++)
            for (uint32_t l = 0; l < net.n_layers; l++) {
                uint32_t o;
                memcpy(&o, res + i * stride + 4u * (10 + 1 + net.n_layers + l), 4);
                synops += o;
            }
        assert_true(synops > 0);
        assert_true(st.cycles > 0);
        assert_true(st.cycles * hv->lanes >= synops);
        snn_dev_close(dev);
    }
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_networks), cmocka_unit_test(test_extreme_images),
        cmocka_unit_test(test_capacity),        cmocka_unit_test(test_output_only),
        cmocka_unit_test(test_events_network),
        cmocka_unit_test(test_unknown_lanes),
        cmocka_unit_test(test_cycles_bound),
    };
    return cmocka_run_group_tests_name("csim", tests, NULL, NULL);
}
