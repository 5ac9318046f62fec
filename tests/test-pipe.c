/*
 * test-pipe.c - the layer-pipeline RTL kernel (rtl/snn_pipe_kernel.sv) against
 * the golden model, record by record, through the Verilator harness
 * (build/sim/libsnn-sim-pipe-<config>.so, `make sim-pipe`).
 *
 * Random networks that map onto the kernel's stages (conv, conv, conv, fc,
 * out, with pools folded and missing convs as pass-through stages) at T = 1..8,
 * odd map sizes, extreme weights and biases, negative-polarity and constant
 * neurons, 20% AXI back-pressure; several runs on one kernel instance (the
 * maps' tags carry over from run to run); a network that does not fit gets
 * records with pred = -1. Prints cycles per image.
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
#include "snn-regmap.h"

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

static void reg64(snn_sim_t *s, uint32_t lo, uint64_t v)
{
    assert_int_equal(api()->reg_write(s, lo, (uint32_t)v), SNN_SIM_OK);
    assert_int_equal(api()->reg_write(s, lo + 4, (uint32_t)(v >> 32)), SNN_SIM_OK);
}

/* One run of n images on an existing simulation; the results into *out. */
static uint64_t run_full(snn_sim_t *s, uint64_t model, const snn_net *net, const uint8_t *px,
                         uint32_t n, uint8_t *out, uint32_t flags, uint32_t *trace)
{
    const snn_sim_api *a = api();
    size_t pxb = (size_t)net->hdr->in_c * net->hdr->in_h * net->hdr->in_w;
    size_t stride = snn_result_stride(net->hdr->n_classes, net->n_layers);
    uint64_t images, results, tr = 0, cycles = 0;
    size_t trb = (size_t)snn_trace_words(net) * 4 * n;
    if (trace) assert_int_equal(a->alloc(s, trb, &tr), SNN_SIM_OK);
    assert_int_equal(a->alloc(s, pxb * n, &images), SNN_SIM_OK);
    assert_int_equal(a->alloc(s, stride * n, &results), SNN_SIM_OK);
    assert_int_equal(a->mem_write(s, images, px, pxb * n), SNN_SIM_OK);
    reg64(s, SNN_REG_MODEL_LO, model);
    reg64(s, SNN_REG_IMAGES_LO, images);
    reg64(s, SNN_REG_RESULTS_LO, results);
    reg64(s, SNN_REG_TRACE_LO, tr);
    assert_int_equal(a->reg_write(s, SNN_REG_N_IMAGES, n), SNN_SIM_OK);
    assert_int_equal(a->reg_write(s, SNN_REG_FLAGS, flags), SNN_SIM_OK);
    if (a->run(s, 400000000ull, &cycles) != SNN_SIM_OK) fail_msg("run: %s", a->error(s));
    assert_int_equal(a->mem_read(s, results, out, stride * n), SNN_SIM_OK);
    if (trace) {
        assert_int_equal(a->mem_read(s, tr, trace, trb), SNN_SIM_OK);
        assert_int_equal(a->free(s, tr), SNN_SIM_OK);
    }
    assert_int_equal(a->free(s, images), SNN_SIM_OK);
    assert_int_equal(a->free(s, results), SNN_SIM_OK);
    return cycles;
}

static uint64_t run_flags(snn_sim_t *s, uint64_t model, const snn_net *net, const uint8_t *px,
                          uint32_t n, uint8_t *out, uint32_t flags)
{
    return run_full(s, model, net, px, n, out, flags, NULL);
}

static uint64_t run(snn_sim_t *s, uint64_t model, const snn_net *net, const uint8_t *px, uint32_t n,
                    uint8_t *out)
{
    return run_flags(s, model, net, px, n, out, 0);
}

/* Trace words that differ, the first few printed with their place. */
static int diff_traces(const char *what, const snn_net *net, const uint32_t *ref, const uint32_t *got,
                       uint32_t n)
{
    uint32_t tw = snn_trace_words(net);
    int bad = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t w = 0; w < tw; w++) {
            if (ref[i * tw + w] == got[i * tw + w]) continue;
            uint32_t t, n0;
            int32_t l;
            snn_trace_locate(net, w, &t, &l, &n0);
            if (bad < 8)
                print_error("%s: image %u trace word %u (t %u, layer %d, neurons %u..): ref %08x, pipe %08x\n",
                            what, i, w, t, l, n0, ref[i * tw + w], got[i * tw + w]);
            bad++;
        }
    return bad;
}

static int diff_records(const char *what, const snn_net *net, const uint8_t *ref, const uint8_t *got,
                        uint32_t n)
{
    uint32_t K = net->hdr->n_classes, L = net->n_layers;
    size_t stride = snn_result_stride(K, L);
    int bad = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < stride / 4; k++) {
            uint32_t x, y;
            memcpy(&x, ref + i * stride + 4 * k, 4);
            memcpy(&y, got + i * stride + 4 * k, 4);
            if (x == y) continue;
            const char *part = k < K ? "sum" : k == K ? "pred" : k < K + 1 + L ? "spikes"
                             : k < K + 1 + 2 * L ? "synops" : "padding";
            uint32_t idx = k < K ? k : k == K ? 0 : k < K + 1 + L ? k - K - 1 : k - K - 1 - L;
            if (bad < 8)
                print_error("%s: image %u %s[%u]: ref %d, pipe %d\n", what, i, part, idx, (int32_t)x,
                            (int32_t)y);
            bad++;
        }
    return bad;
}

typedef struct pcase {
    const char *arch;
    uint32_t c, h, w, T, K;
} pcase;

static const pcase cases[] = {
    {"c4,p,c8,f16", 1, 12, 12, 4, 10},   /* a small default-like network: stage 2 passes through */
    {"c3,c5,p,f7", 1, 9, 11, 3, 3},      /* odd map: the pool drops a row and a column */
    {"c9,p,c17,f5", 2, 8, 7, 2, 5},      /* two-channel image */
    {"c8,p,p,f16", 3, 9, 9, 1, 10},      /* two pools: the second one in a pass-through, T = 1 */
    {"c2,p,c2,p,c2,f4", 1, 9, 9, 5, 2},  /* three convs, maps shrink to 2x2 */
    {"c1,f1", 1, 5, 5, 2, 2},            /* one channel, one fc neuron */
    {"c8,f8", 1, 6, 40, 2, 3},           /* 40-pixel rows, fc over 240 pixels */
    {"c6,c6,p,c12,p,f20", 1, 16, 16, 8, 16}, /* the default shape, T = 8, 16 classes */
    {"c16,c24,p,c24,f40", 3, 8, 8, 6, 7}, /* every stage at its channel maximum */
};

static void test_random_networks(void **state)
{
    (void)state;
    enum { N_IMG = 10 };
    uint64_t total_cycles = 0, total_images = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const pcase *pc = &cases[k];
        static const uint32_t flag_sets[] = {0, SNN_RAND_EXTREME, SNN_RAND_PLAIN};
        for (uint32_t f = 0; f < 3; f++) {
            uint64_t seed = 900 * (k + 1) + f;
            uint8_t *img;
            size_t size;
            if (snn_deploy_random(seed, pc->arch, pc->c, pc->h, pc->w, pc->T, pc->K, flag_sets[f], &img,
                                  &size) != SNN_OK)
                fail_msg("random net %s: %s", pc->arch, snn_last_error());
            snn_net net;
            assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
            size_t pxb = (size_t)pc->c * pc->h * pc->w, stride = snn_result_stride(pc->K, net.n_layers);
            uint8_t *px = malloc(pxb * N_IMG), *ref = calloc(N_IMG, stride), *got = calloc(N_IMG, stride);
            uint32_t tw = snn_trace_words(&net);
            uint32_t *rtr = calloc((size_t)tw * 3, 4), *gtr = calloc((size_t)tw * 3, 4);
            snn_pixels_random(seed, N_IMG, pc->c, pc->h, pc->w, px);
            snn_ref_run(&net, px, N_IMG, ref, NULL);
            uint8_t *scratch = calloc(3, stride);
            snn_ref_run(&net, px, 3, scratch, rtr);
            free(scratch);

            snn_sim_cfg cfg = {0};
            cfg.backpressure = 20;
            cfg.seed = seed;
            cfg.mem_latency = 8 + (uint32_t)(seed % 5) * 20;
            char err[512];
            snn_sim_t *s = api()->create(&cfg, err, sizeof err);
            if (!s) fail_msg("create: %s", err);
            uint64_t model;
            assert_int_equal(api()->alloc(s, size, &model), SNN_SIM_OK);
            assert_int_equal(api()->mem_write(s, model, img, size), SNN_SIM_OK);
            /* two runs on one instance: 3 images with the trace, then the rest */
            uint64_t c1 = run_full(s, model, &net, px, 3, got, 0, gtr);
            uint64_t c2 = run(s, model, &net, px + 3 * pxb, N_IMG - 3, got + 3 * stride);
            total_cycles += c1 + c2;
            total_images += N_IMG;
            api()->destroy(s);

            char what[96];
            snprintf(what, sizeof what, "%s T=%u seed %llu flags %u", pc->arch, pc->T,
                     (unsigned long long)seed, flag_sets[f]);
            int bad = diff_records(what, &net, ref, got, N_IMG);
            if (bad) fail_msg("%s: %d record words differ", what, bad);
            bad = diff_traces(what, &net, rtr, gtr, 3);
            if (bad) fail_msg("%s: %d trace words differ", what, bad);
            free(rtr);
            free(gtr);
            printf("  ok %-40s %8.0f cycles/image (3 traced, %d not; load included)\n", what,
                   (double)(c1 + c2) / N_IMG, N_IMG - 3);
            free(px);
            free(ref);
            free(got);
            free(img);
        }
    }
    printf("  %llu images, %.0f cycles per image on average\n", (unsigned long long)total_images,
           (double)total_cycles / (double)total_images);
}

/* The model stays on chip between runs: a model rewritten in place at the
 * same address is used only once the host sets SNN_FLAG_RELOAD; a run that
 * does not load is cheaper by the load. */
static void test_reload(void **state)
{
    (void)state;
    enum { N = 4 };
    uint8_t *a_img, *b_img;
    size_t a_size, b_size;
    assert_int_equal(snn_deploy_random(11, "c4,p,c8,f16", 1, 12, 12, 4, 10, 0, &a_img, &a_size), SNN_OK);
    assert_int_equal(snn_deploy_random(12, "c4,p,c8,f16", 1, 12, 12, 4, 10, 0, &b_img, &b_size), SNN_OK);
    assert_int_equal(a_size, b_size);
    snn_net a, b;
    assert_int_equal(snn_deploy_parse(a_img, a_size, &a), SNN_OK);
    assert_int_equal(snn_deploy_parse(b_img, b_size, &b), SNN_OK);
    size_t stride = snn_result_stride(10, a.n_layers);
    uint8_t px[N * 144], *ra = calloc(N, stride), *rb = calloc(N, stride), *got = calloc(N, stride);
    snn_pixels_random(11, N, 1, 12, 12, px);
    snn_ref_run(&a, px, N, ra, NULL);
    snn_ref_run(&b, px, N, rb, NULL);
    assert_memory_not_equal(ra, rb, N * stride);

    snn_sim_cfg cfg = {0};
    char err[512];
    snn_sim_t *s = api()->create(&cfg, err, sizeof err);
    if (!s) fail_msg("create: %s", err);
    uint64_t model;
    assert_int_equal(api()->alloc(s, a_size, &model), SNN_SIM_OK);
    assert_int_equal(api()->mem_write(s, model, a_img, a_size), SNN_SIM_OK);
    uint64_t c_load = run(s, model, &a, px, N, got);
    assert_int_equal(diff_records("model a", &a, ra, got, N), 0);
    uint64_t c_kept = run(s, model, &a, px, N, got);
    assert_int_equal(diff_records("model a, kept", &a, ra, got, N), 0);
    if (c_kept >= c_load) fail_msg("a run without a load took %llu cycles, with the load %llu",
                                   (unsigned long long)c_kept, (unsigned long long)c_load);
    /* model b written over a: without the flag the kernel still runs a */
    assert_int_equal(api()->mem_write(s, model, b_img, b_size), SNN_SIM_OK);
    run(s, model, &b, px, N, got);
    assert_int_equal(diff_records("model b, no reload", &a, ra, got, N), 0);
    run_flags(s, model, &b, px, N, got, SNN_FLAG_RELOAD);
    assert_int_equal(diff_records("model b, reloaded", &b, rb, got, N), 0);
    printf("  %llu cycles for %d images with the load, %llu without\n", (unsigned long long)c_load, N,
           (unsigned long long)c_kept);
    api()->destroy(s);
    free(ra);
    free(rb);
    free(got);
    free(a_img);
    free(b_img);
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
    char err[512];
    snn_sim_t *s = api()->create(&cfg, err, sizeof err);
    if (!s) fail_msg("create: %s", err);
    uint64_t model;
    assert_int_equal(api()->alloc(s, size, &model), SNN_SIM_OK);
    assert_int_equal(api()->mem_write(s, model, img, size), SNN_SIM_OK);
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

int main(void)
{
    const char *sel = getenv("MPBN_SIM_TESTS");
    if (!sel || !strstr(sel, "pipe")) {
        printf("test-pipe: skipped (needs the Verilator model: make test-sim-pipe)\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nofit),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_random_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
