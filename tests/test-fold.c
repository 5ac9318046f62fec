/*
 * test-fold.c - folding BN and MPBN (docs/fold.md) on random checkpoints:
 *
 *   - the threshold rule (th, polarity, constant) against the MPBN formula on
 *     random membranes, including negative, zero and denormal scales, both
 *     MPBN forms;
 *   - the folded float network against the unfolded one on random images:
 *     every first disagreement of an image must sit within float rounding of
 *     the threshold;
 *   - quantisation properties (int8 range, rounding, floor/ceil thresholds,
 *     constant encodings, one scale for the output layer) and that integer
 *     comparisons reproduce the float ones exactly;
 *   - refusals: missing tensors, wrong shapes, bad metadata.
 */
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
#include "fold-testutil.h"
#include "train/snn-train.h" /* SNN_MPBN_ELEMENT_EPS */

static char g_path[256];

static snn_fold_net *fold_random(const tu_ckpt_opts *o, snn_st_file **keep)
{
    snprintf(g_path, sizeof g_path, "/tmp/mpbn-test-fold-%d.safetensors", (int)getpid());
    if (tu_write_ckpt(g_path, o) != 0) fail_msg("writing checkpoint: %s", snn_last_error());
    snn_st_file *st;
    if (snn_st_read(g_path, &st) != SNN_OK) fail_msg("%s", snn_last_error());
    unlink(g_path);
    snn_fold_net *f;
    if (snn_fold_from_st(st, &f) != SNN_OK) fail_msg("fold: %s", snn_last_error());
    if (keep)
        *keep = st;
    else
        snn_st_free(st);
    return f;
}

/* MPBN formula in double vs the folded rule, on random membranes. eps is
 * the checkpoint's mpbn_eps (0: 1e-5). */
static void check_threshold_rule(const char *mpbn, double eps)
{
    tu_ckpt_opts o = {"c6,p,f9", mpbn, 2, 1, 6, 6, 3, 0.25, 0.08, 0.04, 42, eps};
    if (eps <= 0) eps = 1e-5;
    snn_st_file *st;
    snn_fold_net *f = fold_random(&o, &st);
    uint64_t s = 7, n_cmp = 0, n_neg = 0, n_const = 0, n_near = 0;
    uint32_t idx[2] = {0, 2};
    for (int k = 0; k < 2; k++) {
        const snn_fold_layer *F = &f->layers[idx[k]];
        uint32_t hw = F->out_h * F->out_w;
        char nm[64];
        const snn_st_tensor *lam, *beta, *mu, *var;
        snprintf(nm, sizeof nm, "layers.%u.mpbn.weight", F->index);
        lam = snn_st_find(st, nm);
        snprintf(nm, sizeof nm, "layers.%u.mpbn.bias", F->index);
        beta = snn_st_find(st, nm);
        snprintf(nm, sizeof nm, "layers.%u.mpbn.running_mean", F->index);
        mu = snn_st_find(st, nm);
        snprintf(nm, sizeof nm, "layers.%u.mpbn.running_var", F->index);
        var = snn_st_find(st, nm);
        assert_non_null(lam);
        for (uint32_t n = 0; n < F->n_out; n++) {
            uint32_t p = !strcmp(mpbn, "channel") ? n / hw : n;
            double L = ((const float *)lam->data)[p], B = ((const float *)beta->data)[p];
            double M = ((const float *)mu->data)[p], V = ((const float *)var->data)[p];
            n_neg += F->pol[n];
            n_const += F->cnst[n] != 0;
            if (L < 0) assert_int_equal(F->pol[n], 1);
            if (L == 0 || fabs(L) < 1e-38) assert_int_not_equal(F->cnst[n], 0);
            for (int r = 0; r < 200; r++) {
                double u = tu_unif(&s, -4, 4);
                if (r == 0 && !F->cnst[n]) u = F->th[n]; /* exactly at the threshold */
                double m = L * (u - M) / sqrt(V + eps) + B;
                int want = m > 0.5;
                int got = F->cnst[n] ? F->cnst[n] == 1 : F->pol[n] ? u < F->th[n] : u > F->th[n];
                n_cmp++;
                if (want != got) {
                    /* only float rounding of th (stored as float) may flip it */
                    if (fabs(m - 0.5) > 1e-5 * (1 + fabs(L) / sqrt(V + eps)))
                        fail_msg("%s layer %u neuron %u: lam %g beta %g mu %g var %g u %g: m %g, "
                                 "fold says %d (th %g pol %u const %u)",
                                 mpbn, F->index, n, L, B, M, V, u, m, got, F->th[n], F->pol[n],
                                 F->cnst[n]);
                    n_near++;
                }
            }
        }
    }
    print_message("%s: %llu comparisons, %llu negative-scale neurons, %llu constant, %llu at the "
                  "threshold within float rounding\n",
                  mpbn, (unsigned long long)n_cmp, (unsigned long long)n_neg,
                  (unsigned long long)n_const, (unsigned long long)n_near);
    assert_true(n_neg > 0);
    assert_true(n_const > 0);
    assert_int_equal(f->n_negative, n_neg);
    assert_int_equal(f->n_constant, n_const);
    snn_fold_free(f);
    snn_st_free(st);
}

static void test_threshold_rule_channel(void **state)
{
    (void)state;
    check_threshold_rule("channel", 0);
}

static void test_threshold_rule_element(void **state)
{
    (void)state;
    check_threshold_rule("element", 0);
}

/* A new element-wise run has the variance floor SNN_MPBN_ELEMENT_EPS as its
 * mpbn_eps: the fold must take the epsilon from the checkpoint, as the
 * trainer's eval forward does. */
static void test_threshold_rule_element_floor(void **state)
{
    (void)state;
    check_threshold_rule("element", SNN_MPBN_ELEMENT_EPS);
}

static void test_none_is_vth(void **state)
{
    (void)state;
    tu_ckpt_opts o = {"c4,f5", "none", 3, 1, 5, 5, 2, 0, 0, 0, 3, 0};
    snn_fold_net *f = fold_random(&o, NULL);
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t n = 0; n < f->layers[l].n_out; n++) {
            assert_true(f->layers[l].th[n] == 0.5f);
            assert_int_equal(f->layers[l].pol[n], 0);
            assert_int_equal(f->layers[l].cnst[n], 0);
        }
    snn_fold_free(f);
}

/* Folded float vs unfolded float on random images. */
static void check_forward_eps(const char *arch, const char *mpbn, uint32_t c, uint32_t h,
                              uint32_t w, uint32_t T, uint64_t seed, double eps)
{
    tu_ckpt_opts o = {arch, mpbn, T, c, h, w, 10, 0.2, 0.05, 0.02, seed, eps};
    snn_st_file *st;
    snn_fold_net *f = fold_random(&o, &st);
    const uint32_t N = 40;
    uint8_t *px = malloc((size_t)N * c * h * w);
    snn_pixels_random(seed, N, c, h, w, px);
    tu_diff d;
    assert_int_equal(tu_diff_init(&d, f, N), 0);
    float *l1 = malloc(sizeof(float) * N * 10), *l2 = malloc(sizeof(float) * N * 10);
    assert_int_equal(snn_unfold_forward(st, px, N, l1, tu_ref_cb, &d), SNN_OK);
    assert_int_equal(snn_fold_forward(f, px, N, l2, tu_got_cb, &d), SNN_OK);
    tu_diff_result r = tu_diff_count(&d, 1e-4);
    uint64_t fired = 0;
    for (size_t i = 0; i < (size_t)N * T * d.off[d.n_layers]; i++) fired += d.ref[i];
    double maxdl = 0;
    for (uint32_t i = 0; i < N * 10; i++) maxdl = fmax(maxdl, fabs(l1[i] - l2[i]));
    print_message("%s %s: %llu neuron-steps, rate %.3f, differing %llu (primary %llu, propagated "
                  "%llu, unexplained %llu) in %u images; max |dlogit| %.2g\n",
                  arch, mpbn, (unsigned long long)r.spikes, r.spikes ? (double)fired / (double)r.spikes : 0.0,
                  (unsigned long long)r.differing, (unsigned long long)r.primary,
                  (unsigned long long)r.propagated, (unsigned long long)r.unexplained, r.images, maxdl);
    if (r.spikes) assert_true(fired > r.spikes / 50); /* the network is alive */
    assert_int_equal(r.unexplained, 0);
    assert_true(r.differing * 1000 <= r.spikes); /* rare */
    tu_diff_free(&d);
    free(px), free(l1), free(l2);
    snn_fold_free(f);
    snn_st_free(st);
}

static void check_forward(const char *arch, const char *mpbn, uint32_t c, uint32_t h, uint32_t w,
                          uint32_t T, uint64_t seed)
{
    check_forward_eps(arch, mpbn, c, h, w, T, seed, 0);
}

static void test_forward_channel(void **state)
{
    (void)state;
    check_forward("c8,p,c8,p,f16", "channel", 1, 12, 12, 4, 11);
}

static void test_forward_element(void **state)
{
    (void)state;
    check_forward("c8,c8,p,f16", "element", 1, 10, 10, 4, 12);
}

static void test_forward_element_floor(void **state)
{
    (void)state;
    check_forward_eps("c8,c8,p,f16", "element", 1, 10, 10, 4, 15, SNN_MPBN_ELEMENT_EPS);
}

static void test_forward_none(void **state)
{
    (void)state;
    check_forward("c6,p,f12,f8", "none", 2, 8, 8, 3, 13);
}

static void test_forward_fc_first(void **state)
{
    (void)state;
    check_forward("f20,f10", "element", 1, 6, 6, 5, 14);
}

/* ---- quantisation ------------------------------------------------------------------ */

static void test_quantize_properties(void **state)
{
    (void)state;
    tu_ckpt_opts o = {"c8,p,f12", "element", 4, 1, 8, 8, 10, 0.2, 0.05, 0.02, 21, 0};
    snn_fold_net *f = fold_random(&o, NULL);
    /* an all-zero channel and a huge-threshold neuron */
    snn_fold_layer *F0 = &f->layers[0];
    for (uint32_t j = 0; j < 9; j++) F0->w[j * 8 + 3] = 0;
    F0->th[5] = 1e12f, F0->pol[5] = 0, F0->cnst[5] = 0;
    F0->th[6] = 1e12f, F0->pol[6] = 1, F0->cnst[6] = 0;
    F0->th[7] = -1e12f, F0->pol[7] = 0, F0->cnst[7] = 0;
    uint8_t *img;
    size_t n;
    snn_quant_report rep;
    if (snn_fold_quantize(f, &img, &n, &rep) != SNN_OK) fail_msg("%s", snn_last_error());
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    assert_true(rep.th_clamped >= 3);
    for (uint32_t l = 0; l < net.n_layers; l++) {
        const snn_layer *L = &net.layers[l];
        const snn_fold_layer *F = &f->layers[l];
        if (L->kind == SNN_LAYER_POOL) continue;
        uint32_t oc = L->desc->out_c, fan = L->desc->w_bytes / oc, hw = L->desc->out_h * L->desc->out_w;
        for (uint32_t co = 0; co < oc; co++) {
            double s = L->kind == SNN_LAYER_OUT ? L->scale[0] : L->scale[co];
            assert_true(L->scale[co] > 0);
            if (L->kind == SNN_LAYER_OUT) assert_true(L->scale[co] == L->scale[0]);
            int wmax = 0;
            for (uint32_t j = 0; j < fan; j++) {
                int q = L->w[j * oc + co];
                double x = F->w[j * oc + co] / s;
                assert_true(fabs(q - x) <= 0.5 + 1e-4); /* round to nearest */
                wmax = abs(q) > wmax ? abs(q) : wmax;
            }
            if (L->kind != SNN_LAYER_OUT && !(l == 0 && co == 3)) assert_int_equal(wmax, 127);
            if (l == 0 && co == 3) assert_int_equal(wmax, 0);
            assert_true(fabs(L->bias[co] - F->bias[co] / s) <= 0.5 + 1e-3);
        }
        if (L->kind == SNN_LAYER_OUT) continue;
        for (uint32_t i = 0; i < L->n_out; i++) {
            double s = L->scale[i / hw];
            int pol = (L->pol[i / 8] >> (i % 8)) & 1;
            int32_t th = L->th[i];
            if (F->cnst[i]) {
                assert_int_equal(pol, 0);
                assert_int_equal(th, F->cnst[i] == 1 ? INT32_MIN : INT32_MAX);
                continue;
            }
            double t = F->th[i] / s;
            if (fabs(t) >= (1 << 30)) {
                assert_int_equal(pol, 0);
                int always = F->pol[i] ? t > 0 : t < 0;
                assert_int_equal(th, always ? INT32_MIN : INT32_MAX);
                continue;
            }
            assert_int_equal(pol, F->pol[i]);
            if (pol) assert_true(th - 1 < t && t <= th);
            else assert_true(th <= t && t < th + 1);
            /* integer comparison == float comparison for every integer membrane */
            for (int64_t v = (int64_t)floor(t) - 2; v <= (int64_t)ceil(t) + 2; v++) {
                int fi = pol ? v < th : v > th;
                int ff = pol ? (double)v < t : (double)v > t;
                assert_int_equal(fi, ff);
            }
        }
    }
    assert_int_equal(net.layers[0].th[5], INT32_MAX);
    assert_int_equal(net.layers[0].th[6], INT32_MIN);
    assert_int_equal(net.layers[0].th[7], INT32_MIN);
    free(img);
    snn_fold_free(f);
}

/* A bias far too large for a channel's weights raises that channel's scale. */
static void test_quantize_bias_bound(void **state)
{
    (void)state;
    tu_ckpt_opts o = {"f4", "channel", 4, 1, 4, 4, 3, 0, 0, 0, 5, 0};
    snn_fold_net *f = fold_random(&o, NULL);
    snn_fold_layer *F = &f->layers[0];
    for (uint32_t j = 0; j < F->n_in; j++) F->w[j * 4 + 1] *= 1e-9f;
    F->bias[1] = 3.0f;
    uint8_t *img;
    size_t n;
    snn_quant_report rep;
    assert_int_equal(snn_fold_quantize(f, &img, &n, &rep), SNN_OK);
    assert_int_equal(rep.bias_limited, 1);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    assert_true(abs(net.layers[0].bias[1]) < (1 << 27));
    print_message("bias-limited channel: bias %d units, scale %g\n", net.layers[0].bias[1],
                  net.layers[0].scale[1]);
    free(img);
    snn_fold_free(f);
}

/* ---- refusals ----------------------------------------------------------------------- */

static void expect_refusal(const char *what, snn_st_tensor *t, size_t nt, const char **k,
                           const char **v, size_t nm, const char *needle)
{
    snprintf(g_path, sizeof g_path, "/tmp/mpbn-test-fold-bad-%d.safetensors", (int)getpid());
    assert_int_equal(snn_st_write(g_path, t, nt, k, v, nm), SNN_OK);
    snn_fold_net *f = NULL;
    snn_clear_error();
    snn_status st = snn_fold_load(g_path, &f);
    unlink(g_path);
    if (st == SNN_OK || !strstr(snn_last_error(), needle))
        fail_msg("%s: status %d, message '%s' lacks '%s'", what, st, snn_last_error(), needle);
    assert_null(f);
}

static void test_refusals(void **state)
{
    (void)state;
    float w0[4 * 16] = {0}, g[4] = {1, 1, 1, 1}, z[4] = {0}, one[4] = {1, 1, 1, 1}, wo[2 * 4] = {0},
          bo[2] = {0}, neg[4] = {1, -1, 1, 1};
    snn_st_tensor t[] = {
        {"layers.0.weight", SNN_ST_F32, 2, {4, 16}, w0, sizeof w0},
        {"layers.0.bn.weight", SNN_ST_F32, 1, {4}, g, sizeof g},
        {"layers.0.bn.bias", SNN_ST_F32, 1, {4}, z, sizeof z},
        {"layers.0.bn.running_mean", SNN_ST_F32, 1, {4}, z, sizeof z},
        {"layers.0.bn.running_var", SNN_ST_F32, 1, {4}, one, sizeof one},
        {"layers.1.weight", SNN_ST_F32, 2, {2, 4}, wo, sizeof wo},
        {"layers.1.bias", SNN_ST_F32, 1, {2}, bo, sizeof bo},
    };
    const char *k[] = {"format", "version", "arch", "T", "mpbn", "in_c", "in_h", "in_w", "n_classes",
                       "norm_mean", "norm_std", "tau", "vth", "bn_eps"};
    const char *v[] = {"mpbn-checkpoint", "1", "f4", "2", "none", "1", "4", "4", "2", "0.5", "0.5",
                       "0.25", "0.5", "1e-5"};
    size_t nt = sizeof t / sizeof t[0], nm = sizeof k / sizeof k[0];
    /* the valid one folds */
    snprintf(g_path, sizeof g_path, "/tmp/mpbn-test-fold-ok-%d.safetensors", (int)getpid());
    assert_int_equal(snn_st_write(g_path, t, nt, k, v, nm), SNN_OK);
    snn_fold_net *f;
    if (snn_fold_load(g_path, &f) != SNN_OK) fail_msg("%s", snn_last_error());
    unlink(g_path);
    snn_fold_free(f);

    expect_refusal("missing tensor", t, nt - 1, k, v, nm, "layers.1.bias");
    t[0].shape[1] = 15, t[0].nbytes = 4 * 60;
    expect_refusal("wrong shape", t, nt, k, v, nm, "layers.0.weight");
    t[0].shape[1] = 16, t[0].nbytes = sizeof w0;
    const char *v2[sizeof v / sizeof v[0]];
    memcpy(v2, v, sizeof v);
    v2[11] = "0.5";
    expect_refusal("tau", t, nt, k, v2, nm, "tau");
    memcpy(v2, v, sizeof v);
    v2[4] = "layer";
    expect_refusal("mpbn mode", t, nt, k, v2, nm, "mpbn");
    memcpy(v2, v, sizeof v);
    v2[2] = "f4,c3";
    expect_refusal("arch", t, nt, k, v2, nm, "arch");
    /* no hidden layer: not a network the trainer or eval can run */
    v2[2] = "";
    expect_refusal("empty arch", t, nt, k, v2, nm, "empty architecture");
    memcpy(v2, v, sizeof v);
    v2[3] = "0";
    expect_refusal("T", t, nt, k, v2, nm, "\"T\"");
    expect_refusal("missing meta", t, nt, k, v, nm - 1, "bn_eps");
    memcpy(v2, v, sizeof v);
    v2[4] = "channel";
    expect_refusal("mpbn tensors missing", t, nt, k, v2, nm, "layers.0.mpbn.weight");
    t[4].data = neg;
    expect_refusal("negative variance", t, nt, k, v, nm, "running_var");
    t[4].data = one;
    w0[3] = NAN;
    expect_refusal("NaN weight", t, nt, k, v, nm, "not finite");
    w0[3] = 0;
    /* not a safetensors file at all */
    snprintf(g_path, sizeof g_path, "/tmp/mpbn-test-fold-junk-%d", (int)getpid());
    FILE *fp = fopen(g_path, "wb");
    fputs("this is not a checkpoint", fp);
    fclose(fp);
    assert_int_not_equal(snn_fold_load(g_path, &f), SNN_OK);
    unlink(g_path);
    assert_int_equal(snn_fold_load("/nonexistent/x.safetensors", &f), SNN_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold_rule_channel), cmocka_unit_test(test_threshold_rule_element),
        cmocka_unit_test(test_threshold_rule_element_floor), cmocka_unit_test(test_forward_element_floor),
        cmocka_unit_test(test_none_is_vth),            cmocka_unit_test(test_forward_channel),
        cmocka_unit_test(test_forward_element),        cmocka_unit_test(test_forward_none),
        cmocka_unit_test(test_forward_fc_first),       cmocka_unit_test(test_quantize_properties),
        cmocka_unit_test(test_quantize_bias_bound),    cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("fold", tests, NULL, NULL);
}
