/*
 * test-csim.c - the HLS kernel (csim device, the layer pipeline in C) against
 * the golden model (ref device) through the driver API, for every kernel
 * build linked in (one per configuration of the layer pipeline: card, ci):
 * every layer's spike bitmap at every step, the output sums, the prediction
 * and the spike / synaptic-operation / event counters (the whole result
 * record) must be identical.
 *
 * Networks: random lively networks (host/deploy/randnet.c) that fit the
 * configuration (conv, pools folded into a stage and in a pass-through,
 * skipped conv stages, odd map sizes, multi-channel images, T = 1..8 within
 * TM), in the saturation corner (weights +-127, biases at the bound), with
 * negative polarity and constant neurons, and in both MPBN forms. Networks
 * that do not fit are refused before the kernel runs, with the reason; the
 * kernel itself answers them with pred = -1, on exactly the networks
 * snn_pipe_fit refuses. Also: the parameters of every build are those of the
 * configuration table (mk/sim.mk), the model stays on chip between runs
 * (SNN_FLAG_RELOAD), and the cycle model's bounds.
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
#include "snn-pipe.h"
#include "snn-regmap.h"

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
static void run_device(const char *name, const char *config, uint32_t batch, const uint8_t *img,
                       size_t size, const uint8_t *px, uint32_t n, int trace, dev_out *o)
{
    snn_dev_opts opts;
    snn_dev_opts_init(&opts);
    opts.config = config;
    if (batch) opts.batch = batch;
    snn_dev_t *dev;
    if (snn_dev_open(name, &opts, &dev) != SNN_OK) fail_msg("open %s: %s", name, snn_last_error());
    if (snn_dev_load(dev, img, size) != SNN_OK) fail_msg("load %s: %s", name, snn_last_error());
    const snn_net *net = snn_dev_net(dev);
    size_t stride = snn_result_stride(net->hdr->n_classes, net->n_layers);
    o->results = malloc(stride * n);
    o->trace = trace ? malloc(4u * snn_trace_words(net) * n) : NULL;
    o->preds = malloc(4u * n);
    assert_non_null(o->results);
    if (snn_dev_run(dev, px, n, o->preds, o->results, o->trace) != SNN_OK)
        fail_msg("run %s (--config %s): %s", name, config ? config : "default", snn_last_error());
    snn_dev_close(dev);
}

/* ref vs csim of configuration cfg on n images, with and without the trace
 * (the trace mode runs one image at a time), the second in odd batches. */
static void cross_check(const char *what, const char *cfg, const uint8_t *img, size_t size,
                        const uint8_t *px, uint32_t n, int lively)
{
    snn_net net;
    if (snn_deploy_parse(img, size, &net) != SNN_OK) fail_msg("%s: %s", what, snn_last_error());
    size_t stride = snn_result_stride(net.hdr->n_classes, net.n_layers);
    size_t tw = snn_trace_words(&net);
    dev_out ref = {0};
    run_device("ref", NULL, 0, img, size, px, n, 1, &ref);
    for (int pass = 0; pass < 2; pass++) {
        dev_out cs = {0};
        run_device("csim", cfg, pass ? 7 : 0, img, size, px, n, pass == 0, &cs);
        for (uint32_t i = 0; i < n; i++) {
            if (pass == 0) {
                const uint32_t *a = ref.trace + i * tw, *b = cs.trace + i * tw;
                snn_trace_mismatch m;
                if (snn_trace_diff(&net, a, b, 1, &m, NULL)) {
                    if (m.layer >= 0)
                        fail_msg("%s (%s): image %u step %u layer %d neuron %u: ref %d csim %d",
                                 what, cfg, i, m.step, m.layer, m.neuron, m.a, m.b);
                    fail_msg("%s (%s): image %u sum %u: ref %d csim %d", what, cfg, i, m.neuron,
                             m.a, m.b);
                }
            }
            const uint8_t *ra = ref.results + i * stride, *rb = cs.results + i * stride;
            if (memcmp(ra, rb, stride) != 0) {
                for (uint32_t k = 0; k < stride / 4; k++) {
                    uint32_t x, y;
                    memcpy(&x, ra + 4 * k, 4);
                    memcpy(&y, rb + 4 * k, 4);
                    if (x != y)
                        fail_msg("%s (%s, %s): image %u result word %u (classes %u, layers %u): "
                                 "ref %u csim %u",
                                 what, cfg, pass ? "batches of 7" : "trace", i, k,
                                 net.hdr->n_classes, net.n_layers, x, y);
                }
            }
            assert_int_equal(ref.preds[i], cs.preds[i]);
        }
        dev_out_free(&cs);
    }
    /* a lively network: the first layer spikes, the last layer is reached */
    uint64_t spikes0 = 0, events_last = 0;
    const uint32_t K = net.hdr->n_classes, L = net.n_layers;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s, e;
        memcpy(&s, ref.results + i * stride + 4u * snn_result_spikes_word(K, L), 4);
        memcpy(&e, ref.results + i * stride + 4u * (snn_result_events_word(K, L) + L - 1), 4);
        spikes0 += s, events_last += e;
    }
    if (lively && (!spikes0 || !events_last)) fail_msg("%s: not lively (%llu spikes in layer 0, %llu events in the last)",
                                          what, (unsigned long long)spikes0,
                                          (unsigned long long)events_last);
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

static const snn_hls_variant *variant(const char *name)
{
    for (size_t v = 0; snn_hls_variants[v]; v++)
        if (!strcmp(snn_hls_variants[v]->cfg.name, name)) return snn_hls_variants[v];
    fail_msg("no csim build of configuration %s", name);
    return NULL;
}

/* ---- the builds ------------------------------------------------------------------ */

/* Every build's parameters are its configuration's in mk/sim.mk's table, and
 * every configuration of the table has a build (a build without the table,
 * the sanitizer's, has nothing to compare). */
static void test_builds(void **state)
{
    (void)state;
    uint32_t n;
    const snn_pipe_config *t = snn_pipe_configs(&n);
    if (n == 0) /* a build without mk/sim.mk's table (the sanitizer build) */
        printf("  no configuration table in this build: the builds' parameters are not compared\n");
    assert_non_null(variant("card"));
    assert_non_null(variant("ci"));
    for (uint32_t k = 0; k < n; k++) {
        const snn_hls_variant *v = variant(t[k].name);
        if (memcmp(&v->cfg.p, &t[k].p, sizeof t[k].p))
            fail_msg("csim build %s: parameters differ from PIPE_PARAMS_%s", t[k].name, t[k].name);
    }
    assert_string_equal(snn_hls_variants[0]->cfg.name, SNN_PIPE_DEFAULT_CONFIG);
    /* an unknown configuration names the builds */
    snn_dev_opts opts;
    snn_dev_opts_init(&opts);
    opts.config = "nope";
    snn_dev_t *dev;
    assert_int_equal(snn_dev_open("csim", &opts, &dev), SNN_ERR_UNSUPPORTED);
    if (!strstr(snn_last_error(), "no kernel build of configuration 'nope'") ||
        !strstr(snn_last_error(), "card") || !strstr(snn_last_error(), "ci"))
        fail_msg("got \"%s\"", snn_last_error());
}

/* ---- random networks ---------------------------------------------------------- */

typedef struct rcase {
    const char *cfg;
    const char *arch;
    uint32_t c, h, w, T, K;
} rcase;

static const rcase cases[] = {
    /* ci: T <= 8, up to 3 image channels, 16/24/24 conv channels, 40-pixel rows, fc 256 x 40 */
    {"ci", "c4,p,c8,f16", 1, 12, 12, 4, 10},     /* stage 2 passes through */
    {"ci", "c3,c5,p,f7", 1, 9, 11, 8, 3},        /* odd map: the pool drops a row and a column */
    {"ci", "c9,p,c17,f5", 2, 8, 7, 2, 5},        /* two-channel image */
    {"ci", "c8,p,p,f16", 3, 9, 9, 1, 10},        /* two pools: the second in a pass-through, T = 1 */
    {"ci", "c2,p,c2,p,c2,f4", 1, 9, 9, 5, 2},    /* three convs, maps shrink to 2x2 */
    {"ci", "c1,f1", 1, 5, 5, 2, 2},              /* one channel, one fc neuron */
    {"ci", "c8,f8", 1, 6, 40, 7, 3},             /* 40-pixel rows, fc over 240 pixels */
    {"ci", "c6,c6,p,c12,p,f20", 1, 16, 16, 8, 16}, /* the default shape, T = 8, 16 classes */
    {"ci", "c16,c24,p,c24,f40", 3, 8, 8, 6, 7},  /* every stage at its channel maximum */
    {"ci", "c5,p,p,p,f6", 1, 16, 16, 3, 4},      /* three pools: two pass-throughs */
    {"ci", "c7,f9", 3, 3, 2, 7, 6},              /* tiny map */
    /* card: one image channel, 32/32/64 channels, 28x28 / 14x14 maps, fc 49 x 128, T <= 4 */
    {"card", "c4,p,c8,f16", 1, 12, 12, 4, 10},
    {"card", "c3,c5,p,f7", 1, 9, 11, 3, 3},
    {"card", "c17,p,c32,p,f19", 1, 14, 14, 3, 5},
    {"card", "c8,p,p,f16", 1, 13, 13, 1, 10},
    {"card", "c2,p,c2,p,c2,f4", 1, 9, 9, 4, 2},
    {"card", "c32,c32,p,c64,p,f128", 1, 28, 28, 4, 10}, /* the default network's shape */
};

static void test_random_networks(void **state)
{
    (void)state;
    enum { N_IMG = 12 };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const rcase *rc = &cases[k];
        const snn_hls_variant *v = variant(rc->cfg);
        static const uint32_t flag_sets[] = {0, SNN_RAND_EXTREME, SNN_RAND_PLAIN};
        const uint32_t n_img = rc->h * rc->w > 400 ? 3 : N_IMG;
        for (uint32_t f = 0; f < 3; f++) {
            uint64_t seed = 1000 * (k + 1) + f;
            uint8_t *img;
            size_t size;
            if (snn_deploy_random(seed, rc->arch, rc->c, rc->h, rc->w, rc->T, rc->K, flag_sets[f],
                                  &img, &size) != SNN_OK)
                fail_msg("random net %s: %s", rc->arch, snn_last_error());
            snn_net net;
            assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
            if (snn_pipe_fit(&net, &v->cfg, NULL) != SNN_OK)
                fail_msg("case %s on %s does not fit: %s", rc->arch, rc->cfg, snn_last_error());
            uint8_t *px = malloc((size_t)n_img * rc->c * rc->h * rc->w);
            snn_pixels_random(seed, n_img, rc->c, rc->h, rc->w, px);
            char what[128];
            snprintf(what, sizeof what, "%s %ux%ux%u T=%u seed %llu flags %u", rc->arch, rc->c,
                     rc->h, rc->w, rc->T, (unsigned long long)seed, flag_sets[f]);
            cross_check(what, rc->cfg, img, size, px, n_img, f != 1);
            if (f == 0) { /* the same network with channel-shared thresholds */
                make_channelwise(img, size);
                strncat(what, " channelwise", sizeof what - strlen(what) - 1);
                cross_check(what, rc->cfg, img, size, px, n_img, 0);
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
    /* (not cross_check: the all-black image leaves the net silent) */
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    dev_out ref = {0}, cs = {0};
    run_device("ref", NULL, 0, img, size, px, N, 1, &ref);
    run_device("csim", "ci", 0, img, size, px, N, 1, &cs);
    assert_memory_equal(ref.results, cs.results, N * snn_result_stride(7, net.n_layers));
    assert_memory_equal(ref.trace, cs.trace, N * 4u * snn_trace_words(&net));
    dev_out_free(&ref);
    dev_out_free(&cs);
    free(img);
}

/* ---- networks that do not fit ---------------------------------------------------- */

typedef struct nofit {
    const char *cfg, *arch;
    uint32_t c, h, w, T, K;
    const char *why; /* part of the message */
} nofit;

static const nofit nofits[] = {
    {"ci", "f33,f9", 1, 7, 5, 3, 4, "layer 0 (fc) reads the image"},
    {"ci", "c2,c2,c2,c2,f4", 1, 8, 8, 2, 4, "needs a fourth conv stage"},
    {"ci", "c2,f4,f4", 1, 8, 8, 2, 4, "second fc layer"},
    {"ci", "c2", 1, 8, 8, 2, 4, "no fc layer"},
    {"ci", "c2,p,c2,p,c2,p,p,f4", 1, 16, 32, 2, 4, "the three conv stages are taken"},
    {"ci", "c17,f4", 1, 8, 8, 2, 4, "17 output channels"},
    {"ci", "c2,f4", 4, 8, 8, 2, 4, "4 input channels"},
    {"ci", "c2,f4", 1, 17, 8, 2, 4, "17-row maps"},
    {"ci", "c2,f4", 1, 8, 41, 2, 4, "41-pixel rows"},
    {"ci", "c2,f4", 1, 12, 24, 2, 4, "288 input pixels"},
    {"ci", "c2,f41", 1, 8, 8, 2, 4, "41 outputs"},
    {"ci", "c2,f4", 1, 8, 8, 9, 4, "T = 9 time steps"},
    {"ci", "c2,f4", 1, 8, 8, 2, 17, "17 classes"},
    {"card", "c4,p,c8,f16", 1, 12, 12, 5, 10, "T = 5 time steps"},
    {"card", "c4,p,c8,f16", 3, 12, 12, 4, 10, "3 input channels"},
    {"card", "c4,f16", 1, 8, 8, 4, 10, "64 input pixels"},
};

/* Refused before the kernel runs, with snn_pipe_fit's reason; the kernel
 * itself, handed the model anyway, writes pred = -1 records. */
static void test_not_fitting(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof nofits / sizeof nofits[0]; k++) {
        const nofit *c = &nofits[k];
        uint8_t *img;
        size_t size;
        if (snn_deploy_random(50 + k, c->arch, c->c, c->h, c->w, c->T, c->K, 0, &img, &size) !=
            SNN_OK)
            fail_msg("random net %s: %s", c->arch, snn_last_error());
        uint8_t *px = malloc(2u * c->c * c->h * c->w);
        snn_pixels_random(50 + k, 2, c->c, c->h, c->w, px);
        snn_dev_opts opts;
        snn_dev_opts_init(&opts);
        opts.config = c->cfg;
        snn_dev_t *dev;
        assert_int_equal(snn_dev_open("csim", &opts, &dev), SNN_OK);
        assert_int_equal(snn_dev_load(dev, img, size), SNN_OK);
        int32_t preds[2];
        if (snn_dev_run(dev, px, 2, preds, NULL, NULL) != SNN_ERR_UNSUPPORTED)
            fail_msg("%s %ux%ux%u T=%u K=%u on %s: not refused (%s)", c->arch, c->c, c->h, c->w,
                     c->T, c->K, c->cfg, snn_last_error());
        if (!strstr(snn_last_error(), "does not fit the HLS layer-pipeline kernel") ||
            !strstr(snn_last_error(), c->why))
            fail_msg("%s %ux%ux%u T=%u K=%u on %s: got \"%s\", want \"%s\"", c->arch, c->c, c->h,
                     c->w, c->T, c->K, c->cfg, snn_last_error(), c->why);
        snn_dev_close(dev);

        snn_net net;
        assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
        size_t stride = snn_result_stride(c->K, net.n_layers);
        uint8_t *res = calloc(2, stride);
        uint8_t *model = aligned_alloc(64, (size + 63) & ~(size_t)63);
        memcpy(model, img, size);
        variant(c->cfg)->kernel((const uint32_t *)model, px, (uint32_t *)res, NULL, 2,
                                SNN_FLAG_RELOAD);
        for (int i = 0; i < 2; i++) {
            int32_t pred;
            memcpy(&pred, res + i * stride + 4 * c->K, 4);
            assert_int_equal(pred, -1);
        }
        free(model);
        free(res);
        free(px);
        free(img);
    }
}

/* ---- the model kept on chip --------------------------------------------------------- */

static void kernel_run(const snn_hls_variant *v, const uint8_t *model, const uint8_t *px, uint32_t n,
                       uint8_t *res, uint32_t flags, snn_hls_cycles *cyc)
{
    v->kernel((const uint32_t *)model, px, (uint32_t *)res, NULL, n, flags);
    v->cycles(cyc);
}

/* The kernel loads a model when the address changes or SNN_FLAG_RELOAD is
 * set, and keeps it otherwise (a model rewritten in place without the flag
 * is not seen); the load's cycles are counted once. */
static void test_model_kept(void **state)
{
    (void)state;
    uint8_t *a, *b;
    size_t sa, sb;
    assert_int_equal(snn_deploy_random(11, "c4,p,c8,f16", 1, 12, 12, 4, 10, 0, &a, &sa), SNN_OK);
    assert_int_equal(snn_deploy_random(12, "c4,p,c8,f16", 1, 12, 12, 4, 10, 0, &b, &sb), SNN_OK);
    assert_int_equal(sa, sb);
    snn_net na, nb;
    assert_int_equal(snn_deploy_parse(a, sa, &na), SNN_OK);
    assert_int_equal(snn_deploy_parse(b, sb, &nb), SNN_OK);
    enum { N = 4 };
    uint8_t px[N * 144];
    snn_pixels_random(11, N, 1, 12, 12, px);
    size_t stride = snn_result_stride(10, na.n_layers);
    uint8_t ra[N * 256], rb[N * 256], got[N * 256];
    assert_true(N * stride <= sizeof ra);
    snn_ref_run(&na, px, N, ra, NULL);
    snn_ref_run(&nb, px, N, rb, NULL);
    assert_true(memcmp(ra, rb, N * stride) != 0);
    const snn_hls_variant *v = variant("card");
    uint8_t *model = aligned_alloc(64, (sa + 63) & ~(size_t)63);
    memcpy(model, a, sa);
    snn_hls_cycles c1, c2;
    kernel_run(v, model, px, N, got, SNN_FLAG_RELOAD, &c1);
    assert_memory_equal(got, ra, N * stride);
    assert_true(c1.load_cycles > 0);
    kernel_run(v, model, px, N, got, 0, &c2);
    assert_memory_equal(got, ra, N * stride);
    assert_int_equal(c2.load_cycles, 0);
    assert_int_equal(c1.cycles - c1.load_cycles, c2.cycles);
    memcpy(model, b, sb); /* rewritten in place: kept until the flag */
    kernel_run(v, model, px, N, got, 0, &c2);
    assert_memory_equal(got, ra, N * stride);
    kernel_run(v, model, px, N, got, SNN_FLAG_RELOAD, &c2);
    assert_memory_equal(got, rb, N * stride);
    assert_true(c2.load_cycles > 0);
    /* another address loads */
    uint8_t *model2 = aligned_alloc(64, (sa + 63) & ~(size_t)63);
    memcpy(model2, a, sa);
    kernel_run(v, model2, px, N, got, 0, &c2);
    assert_memory_equal(got, ra, N * stride);
    assert_true(c2.load_cycles > 0);
    free(model);
    free(model2);
    free(a);
    free(b);
}

/* ---- the cycle model --------------------------------------------------------------- */

/* Each conv stage needs at least one cycle per output pixel and its engines
 * at least (issued inputs + one per pixel) / E; the fc stage two cycles per
 * input pixel; a batch overlaps images (less than the sum of every unit's
 * cycles) but never beats its slowest unit; one image alone is the sum of
 * the units plus the handshakes. */
static void test_cycle_model(void **state)
{
    (void)state;
    uint8_t *img;
    size_t size;
    assert_int_equal(snn_deploy_random(9, "c16,p,c32,p,f64", 1, 28, 28, 4, 10, 0, &img, &size),
                     SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    enum { N = 6 };
    uint8_t px[N * 784];
    snn_pixels_random(9, N, 1, 28, 28, px);
    const snn_hls_variant *v = variant("card");
    const snn_pipe_params *p = &v->cfg.p;
    const uint32_t K = 10, L = net.n_layers;
    size_t stride = snn_result_stride(K, L);
    uint8_t *res = malloc(N * stride);
    uint8_t *model = aligned_alloc(64, (size + 63) & ~(size_t)63);
    memcpy(model, img, size);
    snn_hls_cycles one, batch, sum = {0};
    uint64_t events1 = 0;
    for (uint32_t i = 0; i < N; i++) {
        kernel_run(v, model, px + i * 784, 1, res, i == 0 ? SNN_FLAG_RELOAD : 0, &one);
        if (i == 0) {
            /* one image alone: every unit in turn */
            uint64_t units = 0;
            for (int u = 0; u < SNN_HLS_UNITS; u++) units += one.unit_cycles[u];
            assert_true(one.cycles - one.load_cycles >= units);
            assert_true(one.cycles - one.load_cycles < units + 100);
        }
        for (int u = 0; u < SNN_HLS_UNITS; u++) sum.unit_cycles[u] += one.unit_cycles[u];
        uint32_t e;
        memcpy(&e, res + 4u * (snn_result_events_word(K, L) + 2), 4); /* layer 2: conv 16 -> 32 */
        events1 += e / 32u;
    }
    kernel_run(v, model, px, N, res, 0, &batch);
    for (int u = 0; u < SNN_HLS_UNITS; u++)
        assert_int_equal(batch.unit_cycles[u], sum.unit_cycles[u]);
    /* conv stage 0 (28x28, 2 engines) and 1 (14x14 after the pool, E1 engines) */
    assert_true(sum.unit_cycles[1 + SNN_PIPE_CONV0] >= (uint64_t)N * 784);
    assert_true(sum.unit_cycles[1 + SNN_PIPE_CONV1] >= (uint64_t)N * 196);
    assert_true(sum.unit_cycles[1 + SNN_PIPE_CONV1] * p->C1_E >= events1 + (uint64_t)N * 196);
    assert_true(sum.unit_cycles[1 + SNN_PIPE_FC] >= (uint64_t)N * 2 * 49);
    uint64_t total = 0, slowest = 0;
    for (int u = 0; u < SNN_HLS_UNITS; u++) {
        total += sum.unit_cycles[u];
        if (sum.unit_cycles[u] > slowest) slowest = sum.unit_cycles[u];
    }
    assert_int_equal(batch.load_cycles, 0);
    assert_int_equal(batch.images, N);
    /* a black image: one patch per cycle, then the drain (tests/rtl/tb_conv_stage.sv's
     * bound for an image without events: h*w + 2T + 16) */
    uint8_t black[784] = {0};
    kernel_run(v, model, black, 1, res, 0, &one);
    assert_true(one.unit_cycles[1 + SNN_PIPE_CONV0] >= 784);
    assert_true(one.unit_cycles[1 + SNN_PIPE_CONV0] <= 784 + 2 * p->TM + 16);
    assert_true(batch.cycles >= slowest);
    assert_true(batch.cycles < total);
    free(model);
    free(res);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builds),       cmocka_unit_test(test_random_networks),
        cmocka_unit_test(test_extreme_images), cmocka_unit_test(test_not_fitting),
        cmocka_unit_test(test_model_kept),   cmocka_unit_test(test_cycle_model),
    };
    return cmocka_run_group_tests_name("csim", tests, NULL, NULL);
}
