/*
 * test-pipefit.c - the layer-pipeline kernel's stage mapping and fit check as
 * the host mirrors it (include/snn-pipe.h, host/deploy/pipe-fit.c, from
 * rtl/snn_pipe_loader.sv): the configurations of mk/sim.mk, the stage of
 * every layer of the architectures tests/test-pipe.c runs on the kernel (all
 * fit configuration ci), the trained default network on configuration card,
 * and one network per reason not to fit, each refused with a message naming
 * the layer, the stage, the configuration and the parameter. The limits come
 * from the configuration table, so the cases follow mk/sim.mk.
 * (tests/test-pipe.c checks the verdicts against the kernel itself.)
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
#include "snn-pipe.h"

static const snn_pipe_config *config(const char *name)
{
    const snn_pipe_config *c = snn_pipe_config_find(name);
    if (!c)
        fail_msg("configuration %s is not in the table (PIPE_PARAMS_%s in mk/sim.mk)", name, name);
    return c;
}

/* Build a random network and run the fit check; the image stays alive in
 * *img for the caller to free. */
static snn_status fit(const snn_pipe_config *c, const char *arch, uint32_t in_c, uint32_t h,
                      uint32_t w, uint32_t T, uint32_t K, snn_pipe_map *map)
{
    uint8_t *img;
    size_t size;
    if (snn_deploy_random(7, arch, in_c, h, w, T, K, 0, &img, &size) != SNN_OK)
        fail_msg("random net %s %ux%ux%u T=%u K=%u: %s", arch, in_c, h, w, T, K, snn_last_error());
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    snn_clear_error();
    snn_status st = snn_pipe_fit(&net, c, map);
    free(img);
    return st;
}

/* Networks snn_deploy_random does not make (a conv after the fc): zero
 * weights, biases and thresholds; kinds is a string of c, p, f, o. */
static snn_status fit_kinds(const snn_pipe_config *c, const char *kinds, const uint32_t *out_c,
                            uint32_t in_c, uint32_t h, uint32_t w, uint32_t T, const char **msg)
{
    static int8_t zw[1 << 16];
    static int32_t zi[1 << 16];
    snn_deploy_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.T = T, sp.in_c = in_c, sp.in_h = h, sp.in_w = w;
    for (const char *k = kinds; *k; k++) {
        snn_layer_spec *L = &sp.layers[sp.n_layers];
        L->kind = *k == 'c'   ? SNN_LAYER_CONV
                  : *k == 'p' ? SNN_LAYER_POOL
                  : *k == 'f' ? SNN_LAYER_FC
                              : SNN_LAYER_OUT;
        L->out_c = out_c[sp.n_layers++];
        if (L->kind != SNN_LAYER_POOL) L->w = zw, L->bias = zi;
        if (L->kind == SNN_LAYER_CONV || L->kind == SNN_LAYER_FC) L->th = zi;
    }
    sp.n_classes = out_c[sp.n_layers - 1];
    uint8_t *img;
    size_t size;
    if (snn_deploy_build(&sp, &img, &size) != SNN_OK) fail_msg("%s: %s", kinds, snn_last_error());
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    snn_clear_error();
    snn_status st = snn_pipe_fit(&net, c, NULL);
    *msg = snn_last_error();
    printf("  %-24s %ux%ux%u T=%-2u      %s\n", kinds, in_c, h, w, T, st == SNN_OK ? "fits" : *msg);
    free(img);
    return st;
}

static void test_configs(void **state)
{
    (void)state;
    uint32_t n = 0;
    const snn_pipe_config *all = snn_pipe_configs(&n);
    assert_true(n >= 2);
    for (uint32_t i = 0; i < n; i++) {
        const snn_pipe_params *p = &all[i].p;
        assert_non_null(all[i].name);
        if (i) assert_true(strcmp(all[i - 1].name, all[i].name) < 0); /* name order */
        uint32_t v[] = {p->TM,      p->C0_CIN, p->C0_COUT, p->C0_H,   p->C0_W,    p->C0_E,
                        p->C1_COUT, p->C1_H,   p->C1_W,    p->C1_E,   p->C2_COUT, p->C2_H,
                        p->C2_W,    p->C2_E,   p->F_HW,    p->F_COUT, p->F_FCH,   p->O_COUT};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            if (!v[k]) fail_msg("configuration %s: parameter %zu is 0", all[i].name, k);
        assert_ptr_equal(snn_pipe_config_find(all[i].name), &all[i]);
    }
    config("ci");
    config("card");
    assert_null(snn_pipe_config_find("bogus"));
    assert_null(snn_pipe_config_find(NULL));
    const char *names = snn_pipe_config_names();
    assert_non_null(strstr(names, "ci"));
    assert_non_null(strstr(names, "card|") ? strstr(names, "card|") : strstr(names, "|card"));
}

/* Expected placement: one token per layer, the stage, 'p' after it for a
 * pool folded into that stage ("0 0p 1 3 4"), then layer_of and pool_of. */
typedef struct mcase {
    const char *arch;
    uint32_t c, h, w, T, K;
    const char *stages;
    int32_t layer_of[SNN_PIPE_STAGES], pool_of[SNN_PIPE_STAGES];
} mcase;

/* The architectures of tests/test-pipe.c, with the same shapes. */
static const mcase pipe_cases[] = {
    {"c4,p,c8,f16", 1, 12, 12, 4, 10, "0 0p 1 3 4", {0, 2, -1, 3, 4}, {1, -1, -1, -1, -1}},
    {"c3,c5,p,f7", 1, 9, 11, 3, 3, "0 1 1p 3 4", {0, 1, -1, 3, 4}, {-1, 2, -1, -1, -1}},
    {"c9,p,c17,f5", 2, 8, 7, 2, 5, "0 0p 1 3 4", {0, 2, -1, 3, 4}, {1, -1, -1, -1, -1}},
    {"c8,p,p,f16", 3, 9, 9, 1, 10, "0 0p 1p 3 4", {0, -1, -1, 3, 4}, {1, 2, -1, -1, -1}},
    {"c2,p,c2,p,c2,f4", 1, 9, 9, 5, 2, "0 0p 1 1p 2 3 4", {0, 2, 4, 5, 6}, {1, 3, -1, -1, -1}},
    {"c1,f1", 1, 5, 5, 2, 2, "0 3 4", {0, -1, -1, 1, 2}, {-1, -1, -1, -1, -1}},
    {"c8,f8", 1, 6, 40, 2, 3, "0 3 4", {0, -1, -1, 1, 2}, {-1, -1, -1, -1, -1}},
    {"c6,c6,p,c12,p,f20", 1, 16, 16, 8, 16, "0 1 1p 2 2p 3 4", {0, 1, 3, 5, 6}, {-1, 2, 4, -1, -1}},
    {"c16,c24,p,c24,f40", 3, 8, 8, 6, 7, "0 1 1p 2 3 4", {0, 1, 3, 4, 5}, {-1, 2, -1, -1, -1}},
};

static void check_map(const mcase *m, const snn_pipe_map *map)
{
    const char *s = m->stages;
    for (uint32_t l = 0; *s; l++) {
        while (*s == ' ')
            s++;
        int stage = *s++ - '0', pool = *s == 'p';
        if (pool) s++;
        if (map->stage[l] != stage || map->pool[l] != pool)
            fail_msg("%s: layer %u on stage %d%s, expected %d%s", m->arch, l, map->stage[l],
                     map->pool[l] ? " (pool)" : "", stage, pool ? " (pool)" : "");
    }
    for (int k = 0; k < SNN_PIPE_STAGES; k++)
        if (map->layer_of[k] != m->layer_of[k] || map->pool_of[k] != m->pool_of[k])
            fail_msg("%s: stage %d computes layer %d with pool %d, expected %d and %d", m->arch, k,
                     map->layer_of[k], map->pool_of[k], m->layer_of[k], m->pool_of[k]);
}

static void test_pipe_architectures_fit_ci(void **state)
{
    (void)state;
    const snn_pipe_config *ci = config("ci");
    for (size_t i = 0; i < sizeof pipe_cases / sizeof pipe_cases[0]; i++) {
        const mcase *m = &pipe_cases[i];
        snn_pipe_map map;
        memset(&map, 0x5a, sizeof map);
        if (fit(ci, m->arch, m->c, m->h, m->w, m->T, m->K, &map) != SNN_OK)
            fail_msg("%s %ux%ux%u T=%u does not fit ci: %s", m->arch, m->c, m->h, m->w, m->T,
                     snn_last_error());
        check_map(m, &map);
    }
}

/* The trained default network (make demo's recipe) on the card configuration. */
static void test_default_network_fits_card(void **state)
{
    (void)state;
    const snn_pipe_config *card = config("card");
    snn_pipe_map map;
    const mcase m = {"c32,c32,p,c64,p,f128", 1, 28, 28, 4, 10, "0 1 1p 2 2p 3 4", {0, 1, 3, 5, 6},
                     {-1, 2, 4, -1, -1}};
    if (fit(card, m.arch, 1, 28, 28, 4, 10, &map) != SNN_OK)
        fail_msg("the default network does not fit card: %s", snn_last_error());
    check_map(&m, &map);
}

/* Refused, and the message holds every one of the fragments. */
static void expect_nofit(const snn_pipe_config *c, const char *arch, uint32_t in_c, uint32_t h,
                         uint32_t w, uint32_t T, uint32_t K, const char *frag1, const char *frag2)
{
    snn_pipe_map map;
    snn_status st = fit(c, arch, in_c, h, w, T, K, &map);
    if (st == SNN_OK) fail_msg("%s %ux%ux%u T=%u K=%u fits %s", arch, in_c, h, w, T, K, c->name);
    assert_int_equal(st, SNN_ERR_UNSUPPORTED);
    const char *msg = snn_last_error();
    printf("  %-24s %ux%ux%u T=%-2u K=%-2u %s\n", arch, in_c, h, w, T, K, msg);
    if (!strstr(msg, frag1) || (frag2 && !strstr(msg, frag2)))
        fail_msg("%s: message '%s' lacks '%s'%s%s", arch, msg, frag1, frag2 ? " or " : "",
                 frag2 ? frag2 : "");
}

static void test_nofit_reasons(void **state)
{
    (void)state;
    const snn_pipe_config *ci = config("ci");
    const snn_pipe_params *p = &ci->p;
    char arch[64], lim[160];

    /* mapping */
    expect_nofit(ci, "f33,f9", 1, 7, 5, 3, 4, "layer 0 (fc) reads the image", "an fc on the image");
    expect_nofit(ci, "c2,c2,c2,c2,f4", 1, 8, 8, 2, 4, "layer 3 (conv) needs a fourth conv stage",
                 NULL);
    const char *msg;
    static const uint32_t cfcf[] = {2, 4, 2, 4, 4};
    assert_int_equal(fit_kinds(ci, "cfcfo", cfcf, 1, 8, 8, 2, &msg), SNN_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "layer 2 (conv) follows the fc layer (layer 1)"));
    static const uint32_t cfo[] = {2, 4, 4};
    assert_int_equal(fit_kinds(ci, "cfo", cfo, 1, 8, 8, 2, &msg), SNN_OK); /* the same, fitting */
    expect_nofit(ci, "c2,f4,f4", 1, 8, 8, 2, 4,
                 "layer 2 (fc) is a second fc layer (the first is layer 1)", NULL);
    expect_nofit(ci, "c2", 1, 8, 8, 2, 4, "layer 1 (out) has no fc layer before it", NULL);
    expect_nofit(ci, "c2,p,p,p,p,f4", 1, 16, 32, 2, 4,
                 "layer 4 (pool) is a second pool in a row and needs a pass-through conv stage",
                 "three conv stages are taken");

    /* T and classes */
    snprintf(lim, sizeof lim, "T = %u time steps; configuration ci holds %u (TM)", p->TM + 1,
             p->TM);
    expect_nofit(ci, "c2,f4", 1, 8, 8, p->TM + 1, 4, lim, NULL);
    snprintf(lim, sizeof lim, "%u classes; the out stage of configuration ci holds %u (O_COUT)",
             p->O_COUT + 1, p->O_COUT);
    expect_nofit(ci, "c2,f4", 1, 8, 8, 2, p->O_COUT + 1, lim, NULL);

    /* channels */
    snprintf(lim, sizeof lim,
             "layer 0 (conv) has %u input channels; conv stage 0 of configuration "
             "ci holds %u (C0_CIN)",
             p->C0_CIN + 1, p->C0_CIN);
    expect_nofit(ci, "c2,f4", p->C0_CIN + 1, 8, 8, 2, 4, lim, NULL);
    /* one output channel too many in conv stage s: layer s, after s 2-channel convs */
    const struct {
        const char *before;
        uint32_t cout;
        const char *param;
    } conv_out[] = {{"", p->C0_COUT, "C0_COUT"},
                    {"c2,", p->C1_COUT, "C1_COUT"},
                    {"c2,c2,", p->C2_COUT, "C2_COUT"}};
    for (unsigned s = 0; s < 3; s++) {
        snprintf(arch, sizeof arch, "%sc%u,f4", conv_out[s].before, conv_out[s].cout + 1);
        snprintf(lim, sizeof lim,
                 "layer %u (conv) has %u output channels; conv stage %u of "
                 "configuration ci holds %u (%s)",
                 s, conv_out[s].cout + 1, s, conv_out[s].cout, conv_out[s].param);
        expect_nofit(ci, arch, 1, 8, 8, 2, 4, lim, NULL);
    }
    snprintf(arch, sizeof arch, "c2,f%u", p->F_COUT + 1);
    snprintf(lim, sizeof lim,
             "layer 1 (fc) has %u outputs; the fc stage of configuration ci "
             "holds %u (F_COUT)",
             p->F_COUT + 1, p->F_COUT);
    expect_nofit(ci, arch, 1, 8, 8, 2, 4, lim, NULL);

    /* maps: the image, a pass-through stage, the fc stage's pixels */
    snprintf(lim, sizeof lim,
             "layer 0 (conv) has %u-pixel rows; conv stage 0 of configuration ci "
             "holds %u (C0_W)",
             p->C0_W + 1, p->C0_W);
    expect_nofit(ci, "c2,p,f4", 1, 8, p->C0_W + 1, 2, 4, lim, NULL);
    snprintf(lim, sizeof lim,
             "layer 0 (conv) has %u-row maps; conv stage 0 of configuration ci "
             "holds %u rows (C0_H)",
             p->C0_H + 1, p->C0_H);
    expect_nofit(ci, "c2,p,f4", 1, p->C0_H + 1, 8, 2, 4, lim, NULL);
    uint32_t min_h = p->C0_H < p->C1_H ? p->C0_H : p->C1_H;
    if (p->C2_H < min_h) { /* an fc on maps conv stage 2 cannot pass through */
        snprintf(lim, sizeof lim,
                 "the pass-through on conv stage 2 for layer 1 (fc) has %u-row "
                 "maps; conv stage 2 of configuration ci holds %u rows (C2_H)",
                 p->C2_H + 1, p->C2_H);
        expect_nofit(ci, "c2,f4", 1, p->C2_H + 1, 4, 2, 4, lim, NULL);
    }
    /* fc over more pixels than F_HW, on maps every conv stage passes through */
    uint32_t h = min_h < p->C2_H ? min_h : p->C2_H;
    uint32_t wmax = p->C0_W < p->C1_W ? p->C0_W : p->C1_W;
    wmax = wmax < p->C2_W ? wmax : p->C2_W;
    uint32_t w = p->F_HW / h + 1;
    if (w <= wmax) {
        snprintf(lim, sizeof lim,
                 "layer 1 (fc) has %u input pixels; the fc stage of configuration "
                 "ci holds %u (F_HW)",
                 h * w, p->F_HW);
        expect_nofit(ci, "c2,f4", 1, h, w, 2, 4, lim, NULL);
    }
}

/* Pass-through stages narrower than the channels they copy: ci cannot show
 * it (every stage takes at least what the stage before gives), a made-up
 * configuration can. (A pass-through's input channels and the fc stage's
 * input channels never exceed their maxima once the stage before fits.) */
static void test_nofit_synthetic(void **state)
{
    (void)state;
    snn_pipe_config t = *config("ci");
    t.name = "narrow";
    t.p.C1_COUT = 4;
    expect_nofit(&t, "c6,p,p,f4", 1, 8, 8, 2, 4,
                 "the pass-through on conv stage 1 for layer 2 (pool) has 6 output channels; conv "
                 "stage 1 of configuration narrow holds 4 (C1_COUT)",
                 NULL);
    expect_nofit(&t, "c6,f4", 1, 8, 8, 2, 4,
                 "the pass-through on conv stage 1 for layer 1 (fc) has 6 output channels; conv "
                 "stage 1 of configuration narrow holds 4 (C1_COUT)",
                 NULL);
    t.p.C1_COUT = 8;
    t.p.C2_COUT = 4;
    expect_nofit(&t, "c6,p,c6,f4", 1, 8, 8, 2, 4,
                 "the pass-through on conv stage 2 for layer 3 (fc) has 6 output channels; conv "
                 "stage 2 of configuration narrow holds 4 (C2_COUT)",
                 NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_pipe_architectures_fit_ci),
        cmocka_unit_test(test_default_network_fits_card),
        cmocka_unit_test(test_nofit_reasons),
        cmocka_unit_test(test_nofit_synthetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
