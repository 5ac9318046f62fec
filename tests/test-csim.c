/*
 * test-csim.c - the HLS kernel (csim device, the layer pipeline in C) against
 * the golden model (ref device) through the driver API, for every kernel
 * build linked in (one per configuration of the layer pipeline: card, ci):
 * every layer's spike bitmap at every step, the output sums, the prediction
 * and the spike / synaptic-operation / event counters (the whole result
 * record) must be identical (the cross-backend harness tests/xbackend.h, which
 * tests/test-pipe.c runs on the sim device).
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
#include "xbackend.h"

/* ---- helpers ------------------------------------------------------------------ */

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

static const xb_case cases[] = {
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

static const snn_pipe_config *variant_config(const char *name)
{
    return &variant(name)->cfg;
}

/* ref vs csim: every case under every weight regime (tests/xbackend.h), all
 * images with the trace, then again without it in batches of 7. */
static void test_random_networks(void **state)
{
    (void)state;
    xb_suite s = {.cases = cases, .n_cases = sizeof cases / sizeof cases[0]};
    s.target.dev = "csim";
    snn_dev_opts_init(&s.target.opts);
    s.target.n_trace = UINT32_MAX;
    s.target.rerun_batch = 7;
    s.seed_step = 1000;
    s.n_images = 12;
    s.n_images_big = 3;
    s.channelwise = 1;
    s.lively = 1;
    s.fit_config = variant_config;
    xb_run_cases(&s);
}

/* Images with every pixel 255 or 0 and all-black images: the extremes of
 * the encoding layer (largest accumulation, and no events at all). */
static void test_extreme_images(void **state)
{
    (void)state;
    xb_target t = {.dev = "csim", .n_trace = UINT32_MAX};
    snn_dev_opts_init(&t.opts);
    t.opts.config = "ci";
    xb_check_extreme_images(&t, 2, 5);
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
    xb_pair p;
    xb_pair_make(&p);
    enum { N = XB_PAIR_N };
    const uint8_t *px = p.px, *ra = p.ref[0], *rb = p.ref[1];
    size_t sa = p.size, stride = p.stride;
    uint8_t got[N * 256];
    assert_true(N * stride <= sizeof got);
    const snn_hls_variant *v = variant("card");
    uint8_t *model = aligned_alloc(64, (sa + 63) & ~(size_t)63);
    memcpy(model, p.img[0], sa);
    snn_hls_cycles c1, c2;
    kernel_run(v, model, px, N, got, SNN_FLAG_RELOAD, &c1);
    assert_memory_equal(got, ra, N * stride);
    assert_true(c1.load_cycles > 0);
    kernel_run(v, model, px, N, got, 0, &c2);
    assert_memory_equal(got, ra, N * stride);
    assert_int_equal(c2.load_cycles, 0);
    assert_int_equal(c1.cycles - c1.load_cycles, c2.cycles);
    memcpy(model, p.img[1], sa); /* rewritten in place: kept until the flag */
    kernel_run(v, model, px, N, got, 0, &c2);
    assert_memory_equal(got, ra, N * stride);
    kernel_run(v, model, px, N, got, SNN_FLAG_RELOAD, &c2);
    assert_memory_equal(got, rb, N * stride);
    assert_true(c2.load_cycles > 0);
    /* another address loads */
    uint8_t *model2 = aligned_alloc(64, (sa + 63) & ~(size_t)63);
    memcpy(model2, p.img[0], sa);
    kernel_run(v, model2, px, N, got, 0, &c2);
    assert_memory_equal(got, ra, N * stride);
    assert_true(c2.load_cycles > 0);
    free(model);
    free(model2);
    xb_pair_free(&p);
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
