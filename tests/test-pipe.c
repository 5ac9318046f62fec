/*
 * test-pipe.c - the layer-pipeline RTL kernel (rtl/snn_kernel.sv) against
 * the golden model, record by record, through the Verilator harness
 * (build/sim/libsnn-sim-pipe-<config>.so, `make sim-pipe`).
 *
 * Random networks that map onto the kernel's stages (conv, conv, conv, fc,
 * out, with pools folded and missing convs as pass-through stages) at T = 1..8,
 * odd map sizes, extreme weights and biases, negative-polarity and constant
 * neurons, 20% AXI back-pressure; several runs on one kernel instance (the
 * maps' tags carry over from run to run); a network that does not fit gets
 * records with pred = -1, and the host's mirror of the loader's fit check
 * (include/snn-pipe.h) gives the kernel's verdict on networks at and beyond
 * every limit; the sim device with --config (driver/dev-sim.c) on two models.
 * The random networks and the extreme images run through the sim device in
 * the cross-backend harness tests/xbackend.h, as test-csim.c's do on csim.
 * Prints cycles per image.
 *
 * Runs when MPBN_SIM_TESTS contains "pipe" (`make test-sim-pipe`);
 * MPBN_PIPE_CONFIG selects the library (default ci).
 */
#include <dlfcn.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"
#include "sim/snn-sim.h"
#include "snn-dev.h"
#include "snn-pipe.h"
#include "snn-regmap.h"
#include "xbackend.h"

static const snn_sim_api *g_api;

static const snn_sim_api *api(void)
{
    if (g_api) return g_api;
    const char *dir = getenv("MPBN_SIM_DIR");
    const char *cfg = getenv("MPBN_PIPE_CONFIG");
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/libsnn-sim-pipe-%s.so", dir && dir[0] ? dir : "build/sim",
             cfg && cfg[0] ? cfg : "ci");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!dl) fail_msg("%s (build it with `make sim-pipe`)", dlerror());
    snn_sim_get_api_fn get = (snn_sim_get_api_fn)dlsym(dl, SNN_SIM_ENTRY);
    assert_non_null(get);
    g_api = get();
    assert_int_equal(g_api->abi, SNN_SIM_ABI);
    return g_api;
}

/* A simulator instance of the library under test. */
static snn_sim_t *new_sim(const snn_sim_cfg *cfg)
{
    char err[512];
    snn_sim_t *s = api()->create(cfg, err, sizeof err);
    if (!s) fail_msg("create: %s", err);
    return s;
}

/* A deploy image in device memory; its address. */
static uint64_t put_model(snn_sim_t *s, const uint8_t *img, size_t size)
{
    uint64_t model;
    assert_int_equal(api()->alloc(s, size, &model), SNN_SIM_OK);
    assert_int_equal(api()->mem_write(s, model, img, size), SNN_SIM_OK);
    return model;
}

static void reg64(snn_sim_t *s, uint32_t lo, uint64_t v)
{
    assert_int_equal(api()->reg_write(s, lo, (uint32_t)v), SNN_SIM_OK);
    assert_int_equal(api()->reg_write(s, lo + 4, (uint32_t)(v >> 32)), SNN_SIM_OK);
}

/* One run of n images on an existing simulation; the results into *out. */
static uint64_t run_flags(snn_sim_t *s, uint64_t model, const snn_net *net, const uint8_t *px,
                          uint32_t n, uint8_t *out, uint32_t flags)
{
    const snn_sim_api *a = api();
    size_t pxb = (size_t)net->hdr->in_c * net->hdr->in_h * net->hdr->in_w;
    size_t stride = snn_result_stride(net->hdr->n_classes, net->n_layers);
    uint64_t images, results, cycles = 0;
    assert_int_equal(a->alloc(s, pxb * n, &images), SNN_SIM_OK);
    assert_int_equal(a->alloc(s, stride * n, &results), SNN_SIM_OK);
    assert_int_equal(a->mem_write(s, images, px, pxb * n), SNN_SIM_OK);
    reg64(s, SNN_REG_MODEL_LO, model);
    reg64(s, SNN_REG_IMAGES_LO, images);
    reg64(s, SNN_REG_RESULTS_LO, results);
    reg64(s, SNN_REG_TRACE_LO, 0);
    assert_int_equal(a->reg_write(s, SNN_REG_N_IMAGES, n), SNN_SIM_OK);
    assert_int_equal(a->reg_write(s, SNN_REG_FLAGS, flags), SNN_SIM_OK);
    if (a->run(s, 400000000ull, &cycles) != SNN_SIM_OK) fail_msg("run: %s", a->error(s));
    assert_int_equal(a->mem_read(s, results, out, stride * n), SNN_SIM_OK);
    assert_int_equal(a->free(s, images), SNN_SIM_OK);
    assert_int_equal(a->free(s, results), SNN_SIM_OK);
    return cycles;
}

static uint64_t run(snn_sim_t *s, uint64_t model, const snn_net *net, const uint8_t *px, uint32_t n,
                    uint8_t *out)
{
    return run_flags(s, model, net, px, n, out, 0);
}

/* A network shape per row, each under randnet's three weight regimes
 * (tests/xbackend.h; not the channel-wise one, which test-csim.c runs). */
static const xb_case cases[] = {
    {NULL, "c4,p,c8,f16", 1, 12, 12, 4, 10},   /* a small default-like network: stage 2 passes through */
    {NULL, "c3,c5,p,f7", 1, 9, 11, 3, 3},      /* odd map: the pool drops a row and a column */
    {NULL, "c9,p,c17,f5", 2, 8, 7, 2, 5},      /* two-channel image */
    {NULL, "c8,p,p,f16", 3, 9, 9, 1, 10},      /* two pools: the second one in a pass-through, T = 1 */
    {NULL, "c2,p,c2,p,c2,f4", 1, 9, 9, 5, 2},  /* three convs, maps shrink to 2x2 */
    {NULL, "c1,f1", 1, 5, 5, 2, 2},            /* one channel, one fc neuron */
    {NULL, "c8,f8", 1, 6, 40, 2, 3},           /* 40-pixel rows, fc over 240 pixels */
    {NULL, "c6,c6,p,c12,p,f20", 1, 16, 16, 8, 16}, /* the default shape, T = 8, 16 classes */
    {NULL, "c16,c24,p,c24,f40", 3, 8, 8, 6, 7}, /* every stage at its channel maximum */
};

/* The same kinds of shape for a configuration sized for one-channel images
 * and T <= 4 (`card`, `u280`: MPBN_PIPE_CONFIG=card, make test-sim-pipe-card). */
static const xb_case cases_card[] = {
    {NULL, "c4,p,c8,f16", 1, 12, 12, 4, 10},      /* a small default-like network */
    {NULL, "c3,c5,p,f7", 1, 9, 11, 3, 3},         /* odd map: the pool drops a row and a column */
    {NULL, "c3,c4,f5", 1, 5, 5, 2, 4},            /* 25 pixels: fewer than stage 1's engines */
    {NULL, "c8,p,p,f16", 1, 9, 9, 1, 10},         /* two pools, T = 1 */
    {NULL, "c2,p,c2,p,c2,f4", 1, 9, 9, 4, 2},     /* three convs, maps shrink to 2x2 */
    {NULL, "c6,c6,p,c12,p,f20", 1, 28, 28, 4, 16}, /* the default shape at full size */
    {NULL, "c32,p,c32,p,c64,f128", 1, 14, 14, 2, 32}, /* every stage at its channel maximum */
};

/* The sim device on the configuration of the library under test
 * (opts.config), batch images per kernel run, backpressure percent of
 * stalled memory cycles; every image with the trace. */
static xb_target sim_target(uint32_t batch, uint32_t backpressure)
{
    snn_sim_info in;
    api()->info(&in);
    setenv("MPBN_SIM_DIR", "build/sim", 0); /* make test-sim-pipe sets it */
    xb_target t = {.dev = "sim", .n_trace = UINT32_MAX};
    snn_dev_opts_init(&t.opts);
    t.opts.config = in.config;
    t.opts.batch = batch;
    t.opts.backpressure = backpressure;
    return t;
}

/* Per network: the back-pressure pattern and the memory latency by seed. */
static void random_setup(snn_dev_opts *o, const xb_case *c, uint64_t seed)
{
    (void)c;
    o->seed = seed;
    o->mem_latency = 8 + (uint32_t)(seed % 5) * 20;
}

/* ref vs the sim device (tests/xbackend.h), 20% back-pressure: two runs on
 * one kernel instance, 3 images with the trace, then the rest. */
static void test_random_networks(void **state)
{
    (void)state;
    snn_sim_info in;
    api()->info(&in);
    int card = in.pipe.C0_CIN < 3 || in.pipe.TM < 8; /* the ci shapes need 3 channels, T = 8 */
    xb_suite s = {.cases = card ? cases_card : cases,
                  .n_cases = card ? sizeof cases_card / sizeof cases_card[0]
                                  : sizeof cases / sizeof cases[0]};
    s.target = sim_target(0, 20);
    s.target.n_trace = 3;
    s.seed_step = 900;
    s.n_images = s.n_images_big = 10;
    s.setup = random_setup;
    s.verbose = 1;
    xb_run_cases(&s);
}

/* The model stays on chip between runs: a model rewritten in place at the
 * same address is used only once the host sets SNN_FLAG_RELOAD; a run that
 * does not load is cheaper by the load. */
static void test_reload(void **state)
{
    (void)state;
    xb_pair p;
    xb_pair_make(&p);
    enum { N = XB_PAIR_N };
    const snn_net *a = &p.net[0], *b = &p.net[1];
    const uint8_t *px = p.px, *ra = p.ref[0], *rb = p.ref[1];
    uint8_t *got = calloc(N, p.stride);
    assert_non_null(got);

    snn_sim_cfg cfg = {0};
    snn_sim_t *s = new_sim(&cfg);
    uint64_t model = put_model(s, p.img[0], p.size);
    uint64_t c_load = run(s, model, a, px, N, got);
    xb_expect_equal("model a", a, ra, got, NULL, NULL, NULL, N);
    uint64_t c_kept = run(s, model, a, px, N, got);
    xb_expect_equal("model a, kept", a, ra, got, NULL, NULL, NULL, N);
    if (c_kept >= c_load) fail_msg("a run without a load took %llu cycles, with the load %llu",
                                   (unsigned long long)c_kept, (unsigned long long)c_load);
    /* model b written over a: without the flag the kernel still runs a */
    assert_int_equal(api()->mem_write(s, model, p.img[1], p.size), SNN_SIM_OK);
    run(s, model, b, px, N, got);
    xb_expect_equal("model b, no reload", a, ra, got, NULL, NULL, NULL, N);
    run_flags(s, model, b, px, N, got, SNN_FLAG_RELOAD);
    xb_expect_equal("model b, reloaded", b, rb, got, NULL, NULL, NULL, N);
    printf("  %llu cycles for %d images with the load, %llu without\n", (unsigned long long)c_load, N,
           (unsigned long long)c_kept);
    api()->destroy(s);
    free(got);
    xb_pair_free(&p);
}

/* A network the stages cannot hold: every record says so (pred = -1). */
static void test_nofit(void **state)
{
    (void)state;
    uint8_t *img;
    size_t size;
    assert_int_equal(snn_deploy_random(5, "f33,f9", 1, 7, 5, 3, 4, 0, &img, &size), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    size_t stride = snn_result_stride(4, net.n_layers);
    uint8_t px[4 * 35];
    snn_pixels_random(5, 4, 1, 7, 5, px);
    uint8_t *got = malloc(4 * stride);
    memset(got, 0x5a, 4 * stride);
    snn_sim_cfg cfg = {0};
    snn_sim_t *s = new_sim(&cfg);
    uint64_t model = put_model(s, img, size);
    run(s, model, &net, px, 4, got);
    api()->destroy(s);
    for (uint32_t i = 0; i < 4; i++)
        for (uint32_t k = 0; k < stride / 4; k++) {
            int32_t v;
            memcpy(&v, got + i * stride + 4 * k, 4);
            assert_int_equal(v, k == 4 ? -1 : 0);
        }
    free(got);
    free(img);
}

/* The library says what it is (sim/snn-sim.h), with the parameters of the
 * same configuration in this build's table (mk/sim.mk); and snn_pipe_fit,
 * the host's mirror of the loader, refuses exactly the networks the kernel
 * answers with pred = -1: networks at and one past each limit of the
 * configuration, and each way of not mapping onto the stages. */
static void test_fit_mirror(void **state)
{
    (void)state;
    snn_sim_info in;
    api()->info(&in);
    assert_int_equal(in.arch, SNN_SIM_ARCH_PIPE);
    assert_string_equal(in.kernel, "snn_kernel");
    assert_int_equal(in.lanes, 0);
    const char *want = getenv("MPBN_PIPE_CONFIG");
    assert_non_null(in.config);
    assert_string_equal(in.config, want && want[0] ? want : "ci");
    const snn_pipe_config *tab = snn_pipe_config_find(in.config);
    assert_non_null(tab);
    assert_memory_equal(&tab->p, &in.pipe, sizeof in.pipe);
    const snn_pipe_config cfg = {in.config, in.pipe, 0};
    const snn_pipe_params *p = &in.pipe;

    struct {
        char arch[48];
        uint32_t c, h, w, T, K;
    } cs[40];
    int n = 0;
#define CASE(a, c_, h_, w_, T_, K_)                                                                \
    do {                                                                                           \
        assert_true(n < (int)(sizeof cs / sizeof cs[0]));                                          \
        snprintf(cs[n].arch, sizeof cs[n].arch, "%s", a);                                          \
        cs[n].c = c_, cs[n].h = h_, cs[n].w = w_, cs[n].T = T_, cs[n].K = K_;                      \
        n++;                                                                                       \
    } while (0)
    char a[48];
    uint32_t h = p->C0_H < p->C1_H ? p->C0_H : p->C1_H, w = p->C0_W < p->C1_W ? p->C0_W : p->C1_W;
    h = h < p->C2_H ? h : p->C2_H; /* maps every conv stage holds */
    w = w < p->C2_W ? w : p->C2_W;
    CASE("c2,f4", 1, 6, 6, 2, 4);
    CASE("c2,f4", 1, 6, 6, p->TM, 4);
    if (p->TM < SNN_MAX_T) CASE("c2,f4", 1, 6, 6, p->TM + 1, 4);
    CASE("c2,f4", 1, 6, 6, 2, p->O_COUT);
    if (p->O_COUT < SNN_MAX_CLASSES) CASE("c2,f4", 1, 6, 6, 2, p->O_COUT + 1);
    CASE("c2,f4", p->C0_CIN, 6, 6, 2, 4);
    CASE("c2,f4", p->C0_CIN + 1, 6, 6, 2, 4);
    for (uint32_t d = 0; d <= 1; d++) {
        snprintf(a, sizeof a, "c%u,f4", p->C0_COUT + d);
        CASE(a, 1, 6, 6, 2, 4);
        snprintf(a, sizeof a, "c2,c%u,f4", p->C1_COUT + d);
        CASE(a, 1, 6, 6, 2, 4);
        snprintf(a, sizeof a, "c2,c2,c%u,f4", p->C2_COUT + d);
        CASE(a, 1, 6, 6, 2, 4);
        snprintf(a, sizeof a, "c2,f%u", p->F_COUT + d);
        CASE(a, 1, 6, 6, 2, 4);
        CASE("c2,p,f4", 1, p->C0_H + d, 8, 2, 4);
        CASE("c2,p,f4", 1, 8, p->C0_W + d, 2, 4);
        CASE("c2,f4", 1, h + d, 4, 2, 4); /* pass-through stages */
        CASE("c2,f4", 1, 4, w + d, 2, 4);
    }
    uint32_t wf = p->F_HW / h; /* the fc stage's pixels: at most, and one row more */
    if (wf + 1 <= w) {
        CASE("c2,f4", 1, h, wf, 2, 4);
        CASE("c2,f4", 1, h, wf + 1, 2, 4);
    }
    CASE("f33,f9", 1, 7, 5, 3, 4);
    CASE("c2,c2,c2,c2,f4", 1, 8, 8, 2, 4);
    CASE("c2,f4,f4", 1, 8, 8, 2, 4);
    CASE("c2", 1, 8, 8, 2, 4);
    CASE("c2,p,p,p,f4", 1, 16, 16, 2, 4);
    CASE("c2,p,p,p,p,f4", 1, 16, 32, 2, 4);
    CASE("c2,p,c2,p,p,f4", 1, 16, 16, 2, 4);
#undef CASE

    snn_sim_cfg scfg = {0};
    scfg.backpressure = 10;
    snn_sim_t *s = new_sim(&scfg);
    int n_fit = 0, n_nofit = 0;
    for (int i = 0; i < n; i++) {
        uint8_t *img;
        size_t size;
        if (snn_deploy_random(40 + (uint64_t)i, cs[i].arch, cs[i].c, cs[i].h, cs[i].w, cs[i].T,
                              cs[i].K, 0, &img, &size) != SNN_OK)
            fail_msg("random net %s: %s", cs[i].arch, snn_last_error());
        snn_net net;
        assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
        snn_clear_error();
        int fits = snn_pipe_fit(&net, &cfg, NULL) == SNN_OK;
        char why[512];
        snprintf(why, sizeof why, "%s", fits ? "fits" : snn_last_error());
        enum { N = 2 };
        size_t pxb = (size_t)cs[i].c * cs[i].h * cs[i].w;
        size_t stride = snn_result_stride(cs[i].K, net.n_layers);
        uint8_t *px = malloc(pxb * N), *ref = calloc(N, stride), *got = calloc(N, stride);
        snn_pixels_random(40 + (uint64_t)i, N, cs[i].c, cs[i].h, cs[i].w, px);
        uint64_t model = put_model(s, img, size);
        run_flags(s, model, &net, px, N, got, SNN_FLAG_RELOAD);
        assert_int_equal(api()->free(s, model), SNN_SIM_OK);
        int kernel_fits = 1;
        for (uint32_t k = 0; k < N; k++) {
            int32_t pred;
            memcpy(&pred, got + k * stride + 4u * cs[i].K, 4);
            if (pred == -1) kernel_fits = 0;
        }
        printf("  %-18s %ux%ux%u T=%-2u K=%-2u kernel: %-7s host: %s\n", cs[i].arch, cs[i].c,
               cs[i].h, cs[i].w, cs[i].T, cs[i].K, kernel_fits ? "fits" : "pred -1", why);
        if (kernel_fits != fits)
            fail_msg("%s %ux%ux%u T=%u K=%u: the kernel %s, snn_pipe_fit says: %s", cs[i].arch,
                     cs[i].c, cs[i].h, cs[i].w, cs[i].T, cs[i].K,
                     kernel_fits ? "runs it" : "answers pred = -1", why);
        if (fits) {
            snn_ref_run(&net, px, N, ref, NULL);
            xb_expect_equal(cs[i].arch, &net, ref, got, NULL, NULL, NULL, N);
        }
        n_fit += fits, n_nofit += !fits;
        free(px);
        free(ref);
        free(got);
        free(img);
    }
    api()->destroy(s);
    printf("  %d networks: %d fit, %d do not; kernel and host agree on every one\n", n, n_fit,
           n_nofit);
}

/* The sim device (driver/dev-sim.c) on the configuration of the library
 * under test (opts.config), batch images per kernel run, backpressure percent
 * of stalled memory cycles. */
static snn_dev_t *open_sim(uint32_t batch, uint32_t backpressure)
{
    xb_target t = sim_target(batch, backpressure);
    snn_dev_t *dev;
    if (snn_dev_open("sim", &t.opts, &dev) != SNN_OK) fail_msg("open: %s", snn_last_error());
    return dev;
}

/* The sim device on this configuration (driver/dev-sim.c, opts.config):
 * records equal ref's for two models loaded one after the other on one
 * device; a second run of the same model is cheaper by the load (the flags
 * register carries SNN_FLAG_RELOAD only on the first run after the model was
 * written); a network that does not fit is refused before ap_start with
 * snn_pipe_fit's reason; a run with a trace buffer (compare) runs the trace
 * mode and gives ref's trace. */
static void test_device(void **state)
{
    (void)state;
    snn_dev_t *dev = open_sim(4, 15);
    enum { N = 8 };
    const char *arch[2] = {"c4,p,c8,f16", "c3,c5,p,f7"};
    uint8_t px[N * 144];
    snn_pixels_random(21, N, 1, 12, 12, px);
    for (int m = 0; m < 2; m++) {
        uint8_t *img;
        size_t size;
        assert_int_equal(
            snn_deploy_random(21 + (uint64_t)m, arch[m], 1, 12, 12, 4, 10, 0, &img, &size), SNN_OK);
        snn_net net;
        assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
        size_t stride = snn_result_stride(10, net.n_layers);
        uint8_t *ref = calloc(N, stride), *got = calloc(N, stride);
        snn_ref_run(&net, px, N, ref, NULL);
        if (snn_dev_load(dev, img, size) != SNN_OK) fail_msg("load: %s", snn_last_error());
        snn_dev_stats st0, st1, st2;
        snn_dev_get_stats(dev, &st0);
        if (snn_dev_run(dev, px, 4, NULL, got, NULL) != SNN_OK)
            fail_msg("run: %s", snn_last_error());
        snn_dev_get_stats(dev, &st1);
        if (snn_dev_run(dev, px + 4 * 144, 4, NULL, got + 4 * stride, NULL) != SNN_OK)
            fail_msg("run: %s", snn_last_error());
        snn_dev_get_stats(dev, &st2);
        xb_expect_equal(arch[m], &net, ref, got, NULL, NULL, NULL, N);
        uint64_t c1 = st1.cycles - st0.cycles, c2 = st2.cycles - st1.cycles;
        printf("  %s: %llu cycles with the load, %llu without\n", arch[m], (unsigned long long)c1,
               (unsigned long long)c2);
        if (c2 >= c1)
            fail_msg("%s: the second run reloaded the model (%llu >= %llu cycles)", arch[m],
                     (unsigned long long)c2, (unsigned long long)c1);
        size_t tw = snn_trace_words(&net);
        uint32_t *tr = calloc(tw * 4, 4), *rtr = calloc(tw * 4, 4);
        uint8_t *rec = calloc(4, stride);
        snn_ref_run(&net, px, 4, ref, rtr);
        if (snn_dev_run(dev, px, 4, NULL, rec, tr) != SNN_OK)
            fail_msg("trace run: %s", snn_last_error());
        xb_expect_equal(arch[m], &net, ref, rec, rtr, tr, NULL, 4);
        free(rec);
        free(rtr);
        free(tr);
        free(ref);
        free(got);
        free(img);
    }
    uint8_t *img;
    size_t size;
    assert_int_equal(snn_deploy_random(5, "f33,f9", 1, 12, 12, 3, 4, 0, &img, &size), SNN_OK);
    assert_int_equal(snn_dev_load(dev, img, size), SNN_OK);
    snn_dev_stats a, b;
    snn_dev_get_stats(dev, &a);
    int32_t preds[2];
    assert_int_equal(snn_dev_run(dev, px, 2, preds, NULL, NULL), SNN_ERR_UNSUPPORTED);
    snn_dev_get_stats(dev, &b);
    if (!strstr(snn_last_error(), "does not fit the layer-pipeline kernel") ||
        !strstr(snn_last_error(), "layer 0 (fc) reads the image"))
        fail_msg("no fit: %s", snn_last_error());
    assert_int_equal(b.runs, a.runs); /* nothing started */
    free(img);
    snn_dev_close(dev);
}

/* Images of all 255, all 0 (no events at all), stripes and a ramp, through
 * the sim device with the trace: every spike, the sums and the counters. */
static void test_extreme_images(void **state)
{
    (void)state;
    xb_target t = sim_target(2, 30);
    snn_sim_info in;
    api()->info(&in);
    /* 2 channels and T = 5 where the configuration holds them (ci), else 1 and T = 4 (card) */
    xb_check_extreme_images(&t, in.pipe.C0_CIN < 2 ? 1 : 2, in.pipe.TM < 5 ? in.pipe.TM : 5);
}

/* The kernel's register map as the driver relies on it: arguments read back,
 * n_images = 0 ends at once without a memory transfer, ap_done is clear on
 * read, the interrupt rises with ap_done and the ISR clears it. */
static void test_register_map(void **state)
{
    (void)state;
    const snn_sim_api *a = api();
    snn_sim_info in;
    a->info(&in);
    assert_string_equal(in.kernel, "snn_kernel");
    assert_int_equal(in.arch, SNN_SIM_ARCH_PIPE);
    assert_non_null(in.config);
    snn_sim_cfg cfg = {0};
    snn_sim_t *s = new_sim(&cfg);
    uint32_t v;
    assert_int_equal(a->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v & 0xF, SNN_CTRL_AP_IDLE);
    static const uint32_t regs[] = {SNN_REG_MODEL_LO,   SNN_REG_MODEL_HI,   SNN_REG_IMAGES_LO,
                                    SNN_REG_IMAGES_HI,  SNN_REG_RESULTS_LO, SNN_REG_RESULTS_HI,
                                    SNN_REG_TRACE_LO,   SNN_REG_TRACE_HI,   SNN_REG_N_IMAGES,
                                    SNN_REG_FLAGS};
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        uint32_t x = regs[i] == SNN_REG_FLAGS ? SNN_FLAG_RELOAD : 0x5A000040u + (uint32_t)i * 0x1000u;
        assert_int_equal(a->reg_write(s, regs[i], x), SNN_SIM_OK);
    }
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        uint32_t x = regs[i] == SNN_REG_FLAGS ? SNN_FLAG_RELOAD : 0x5A000040u + (uint32_t)i * 0x1000u;
        assert_int_equal(a->reg_read(s, regs[i], &v), SNN_SIM_OK);
        assert_int_equal(v, x);
    }
    assert_int_equal(a->reg_write(s, SNN_REG_N_IMAGES, 0), SNN_SIM_OK);
    uint64_t cycles;
    if (a->run(s, 100000, &cycles) != SNN_SIM_OK) fail_msg("%s", a->error(s));
    snn_sim_stats st;
    a->stats(s, &st);
    assert_int_equal(st.rd_beats + st.wr_beats, 0);
    assert_int_equal(a->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v & 0xF, SNN_CTRL_AP_IDLE);
    assert_true(cycles < 1000);
    assert_int_equal(a->irq(s), 0);
    assert_int_equal(a->start(s), SNN_SIM_OK);
    assert_int_equal(a->step(s, 500), SNN_SIM_OK);
    assert_int_equal(a->irq(s), 1);
    assert_int_equal(a->reg_read(s, SNN_REG_ISR, &v), SNN_SIM_OK);
    assert_int_equal(v & 1, 1);
    assert_int_equal(a->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v & (SNN_CTRL_AP_DONE | SNN_CTRL_AP_IDLE), SNN_CTRL_AP_DONE | SNN_CTRL_AP_IDLE);
    assert_int_equal(a->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v & SNN_CTRL_AP_DONE, 0);
    assert_int_equal(a->reg_write(s, SNN_REG_ISR, 1), SNN_SIM_OK);
    assert_int_equal(a->step(s, 4), SNN_SIM_OK);
    assert_int_equal(a->irq(s), 0);
    a->destroy(s);
}

int main(void)
{
    const char *sel = getenv("MPBN_SIM_TESTS");
    if (!sel || !strstr(sel, "pipe")) {
        printf("test-pipe: skipped (needs the Verilator model: make test-sim-pipe)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_map),
        cmocka_unit_test(test_nofit),
        cmocka_unit_test(test_fit_mirror),
        cmocka_unit_test(test_device),
        cmocka_unit_test(test_extreme_images),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_random_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
