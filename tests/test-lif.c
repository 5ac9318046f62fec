/*
 * test-lif.c - LIF + MPBN forward on small hand-computed cases: leak,
 * threshold (strict), hard reset, T > 1, the shared first-layer input,
 * channel and element statistics, train (batch statistics, running update
 * with the unbiased variance) vs eval (running statistics), and the model's
 * spike-recording eval forward.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "train/train-impl.h"

static float bn_one[1] = {1}, bn_zero[1] = {0};

static snn_lif_args base_args(uint32_t c, uint32_t hw, uint32_t B, uint32_t T, snn_mpbn_mode mode,
                              const float *z, float *up, float *out)
{
    static float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1}, zeros[8] = {0};
    snn_lif_args a = {.c = c, .hw = hw, .B = B, .T = T, .z = z, .bn_g = ones, .bn_b = zeros,
                      .bn_mean = zeros, .bn_istd = ones, .mode = mode, .tau = 0.25f, .vth = 0.5f,
                      .eps = 1e-5f, .momentum = 0.1f, .train = 1, .upre = up, .out = out};
    (void)bn_one;
    (void)bn_zero;
    return a;
}

static void expect(const float *got, const float *want, size_t n, float tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= tol)) /* a NaN fails too */
            fail_msg("%s[%zu]: got %.7g, want %.7g", what, i, got[i], want[i]);
}

/* mode none: leak, strict threshold, reset, T = 3; layout [c][t*B+b][hw] */
static void test_lif_plain_reset(void **state)
{
    (void)state;
    /* neuron b=0: y = 0.3 each step; b=1: y = 0.6, 0.2, 0.46 */
    const float z[6] = {0.3f, 0.6f, 0.3f, 0.2f, 0.3f, 0.46f};
    float up[6], o[6];
    snn_lif_args a = base_args(1, 1, 2, 3, SNN_MPBN_NONE, z, up, o);
    snn_lif_forward(&a);
    /* b0: 0.3, 0.375, 0.39375 (never fires); b1: 0.6 fires -> reset -> 0.2, 0.05+0.46 = 0.51 fires */
    const float want_u[6] = {0.3f, 0.6f, 0.375f, 0.2f, 0.39375f, 0.51f};
    const float want_o[6] = {0, 1, 0, 0, 0, 1};
    expect(up, want_u, 6, 1e-6f, "u_pre");
    expect(o, want_o, 6, 0, "spikes");
}

/* first layer: the same input at every step (z holds B images only) */
static void test_lif_shared_input(void **state)
{
    (void)state;
    const float z[2] = {0.3f, 0.45f}; /* B = 2, reused for T = 3 */
    float up[6], o[6];
    snn_lif_args a = base_args(1, 1, 2, 3, SNN_MPBN_NONE, z, up, o);
    a.shared_z = 1;
    snn_lif_forward(&a);
    /* b1: 0.45, 0.1125+0.45 = 0.5625 fires, reset -> 0.45 */
    const float want_u[6] = {0.3f, 0.45f, 0.375f, 0.5625f, 0.39375f, 0.45f};
    const float want_o[6] = {0, 0, 0, 1, 0, 0};
    expect(up, want_u, 6, 1e-6f, "u_pre");
    expect(o, want_o, 6, 0, "spikes");
}

/* BN scale/shift is applied on the fly: y = (z - mean) * istd * gamma + beta */
static void test_lif_bn_affine(void **state)
{
    (void)state;
    const float z[2] = {2.0f, 4.0f};
    float up[2], o[2], g[1] = {0.5f}, b[1] = {0.1f}, mu[1] = {3.0f}, is[1] = {2.0f};
    snn_lif_args a = base_args(1, 1, 2, 1, SNN_MPBN_NONE, z, up, o);
    a.bn_g = g;
    a.bn_b = b;
    a.bn_mean = mu;
    a.bn_istd = is;
    snn_lif_forward(&a);
    const float want_u[2] = {-0.9f, 1.1f}, want_o[2] = {0, 1};
    expect(up, want_u, 2, 1e-6f, "u_pre");
    expect(o, want_o, 2, 0, "spikes");
}

/* channel MPBN in training: batch statistics of each step; the membrane
 * carried on is the raw u_pre; running stats updated once per step. */
static void test_mpbn_channel_train(void **state)
{
    (void)state;
    const float z[8] = {1, 2, 3, 4, 0, 0, 0, 0}; /* T = 2, B = 4 */
    float up[8], o[8], lam[1] = {1}, bet[1] = {0}, rm[1] = {0}, rv[1] = {1}, mm[2], mi[2];
    snn_lif_args a = base_args(1, 1, 4, 2, SNN_MPBN_CHANNEL, z, up, o);
    a.mp_g = lam;
    a.mp_b = bet;
    a.mp_rm = rm;
    a.mp_rv = rv;
    a.mp_mean = mm;
    a.mp_istd = mi;
    snn_lif_forward(&a);
    /* t0: mean 2.5, var 1.25 -> m = +-0.447, +-1.342: only u=4 fires.
     * t1: u_pre = 0.25 * [1, 2, 3, 0] = [0.25, 0.5, 0.75, 0] (raw membrane, reset
     * of the 4th); mean 0.375, var 0.078125 -> m = -0.447, 0.447, 1.342, -1.342 */
    const float want_u[8] = {1, 2, 3, 4, 0.25f, 0.5f, 0.75f, 0};
    const float want_o[8] = {0, 0, 0, 1, 0, 0, 1, 0};
    expect(up, want_u, 8, 1e-6f, "u_pre");
    expect(o, want_o, 8, 0, "spikes");
    assert_float_equal(mm[0], 2.5f, 1e-6f);
    assert_float_equal(mi[0], 1.0f / sqrtf(1.25f + 1e-5f), 1e-5f);
    assert_float_equal(mm[1], 0.375f, 1e-6f);
    assert_float_equal(mi[1], 1.0f / sqrtf(0.078125f + 1e-5f), 1e-4f);
    /* running: momentum 0.1, unbiased variance (n = 4) */
    assert_float_equal(rm[0], 0.9f * 0.25f + 0.1f * 0.375f, 1e-6f);
    assert_float_equal(rv[0], 0.9f * (0.9f + 0.1f * 1.25f * 4 / 3) + 0.1f * 0.078125f * 4 / 3, 1e-6f);
}

/* eval: running statistics, nothing updated */
static void test_mpbn_channel_eval(void **state)
{
    (void)state;
    const float z[3] = {1.0f, 1.5f, 1.3f};
    float up[3], o[3], lam[1] = {2}, bet[1] = {0.1f}, rm[1] = {1}, rv[1] = {4 - 1e-5f}, mm[1], mi[1];
    snn_lif_args a = base_args(1, 1, 3, 1, SNN_MPBN_CHANNEL, z, up, o);
    a.mp_g = lam;
    a.mp_b = bet;
    a.mp_rm = rm;
    a.mp_rv = rv;
    a.mp_mean = mm;
    a.mp_istd = mi;
    a.train = 0;
    snn_lif_forward(&a);
    /* m = 2 * (u - 1) / 2 + 0.1 = u - 0.9 -> 0.1, 0.6, 0.4 */
    const float want_o[3] = {0, 1, 0};
    expect(o, want_o, 3, 0, "spikes");
    assert_float_equal(rm[0], 1.0f, 0);
    assert_float_equal(rv[0], 4 - 1e-5f, 0);
}

/* element vs channel statistics on the same membrane (hw = 2, B = 2) */
static void test_mpbn_element_vs_channel(void **state)
{
    (void)state;
    const float z[4] = {1, 5, 3, 5.2f}; /* b0: e0 = 1, e1 = 5; b1: e0 = 3, e1 = 5.2 */
    float up[4], o[4], lam[2] = {1, 1}, bet[2] = {0, 0}, rm[2] = {0, 0}, rv[2] = {1, 1}, mm[2], mi[2];
    snn_lif_args a = base_args(1, 2, 2, 1, SNN_MPBN_ELEMENT, z, up, o);
    a.mp_g = lam;
    a.mp_b = bet;
    a.mp_rm = rm;
    a.mp_rv = rv;
    a.mp_mean = mm;
    a.mp_istd = mi;
    snn_lif_forward(&a);
    /* element e0: {1, 3} -> m = -1, +1; e1: {5, 5.2} -> m = -1, +1 (approx) */
    const float want_el[4] = {0, 0, 1, 1};
    expect(o, want_el, 4, 0, "element spikes");
    assert_float_equal(mm[0], 2.0f, 1e-6f);
    assert_float_equal(mm[1], 5.1f, 1e-5f);
    assert_float_equal(rv[1], 0.9f + 0.1f * 0.02f, 1e-5f); /* var 0.01, unbiased 0.02 */
    a.mode = SNN_MPBN_CHANNEL;
    rm[0] = 0;
    rv[0] = 1;
    snn_lif_forward(&a);
    /* channel: mean 3.55, std 1.705 -> m = -1.50, 0.85, -0.32, 0.97 */
    const float want_ch[4] = {0, 1, 0, 1};
    expect(o, want_ch, 4, 0, "channel spikes");
}

/* ---- eval forward with spike recording ------------------------------------------------------ */

typedef struct rec {
    uint32_t calls[8];
    int bad;
    uint32_t last_layer, order_ok;
} rec;

static void on_spikes(uint32_t layer, uint32_t t, uint32_t image, const float *s, uint32_t n, void *ctx)
{
    rec *r = ctx;
    (void)t;
    (void)image;
    if (layer >= 8) {
        r->bad = 1;
        return;
    }
    if (layer < r->last_layer) r->order_ok = 0;
    r->last_layer = layer;
    r->calls[layer]++;
    for (uint32_t i = 0; i < n; i++)
        if (s[i] != 0.0f && s[i] != 1.0f) r->bad = 1;
}

static void test_forward_eval_record(void **state)
{
    (void)state;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "c3,p,f5");
    cfg.T = 3;
    cfg.in_h = cfg.in_w = 6;
    cfg.n_classes = 4;
    cfg.norm_mean = 0.4f;
    cfg.norm_std = 0.3f;
    snn_model *m;
    assert_int_equal(snn_model_create(&cfg, 3, &m), SNN_OK);
    assert_int_equal(snn_model_n_layers(m), 4);
    snn_layer_info li;
    assert_int_equal(snn_model_layer(m, 1, &li), SNN_OK);
    assert_int_equal(li.kind, SNN_LAYER_POOL);
    assert_int_equal(li.out_h, 3);
    assert_int_equal(snn_model_layer(m, 2, &li), SNN_OK);
    assert_int_equal(li.kind, SNN_LAYER_FC);
    assert_int_equal(li.in_c, 27);
    assert_true(li.has_mpbn && li.has_bn && li.has_lif);
    uint32_t n;
    assert_non_null(snn_model_param(m, "layers.2.mpbn.running_var", &n));
    assert_int_equal(n, 5);
    assert_null(snn_model_param(m, "layers.1.weight", &n));
    /* make the first layer fire a lot */
    float *bnb = snn_model_param(m, "layers.0.bn.bias", &n);
    for (uint32_t i = 0; i < n; i++) bnb[i] = 0.6f;

    uint8_t px[7 * 36];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)((i * 53 + 7) % 256);
    float l1[7 * 4], l2[7 * 4];
    rec r = {{0}, 0, 0, 1};
    assert_int_equal(snn_model_forward_eval(m, px, 7, l1, on_spikes, &r), SNN_OK);
    assert_false(r.bad);
    assert_int_equal(r.calls[0], 3 * 7);
    assert_int_equal(r.calls[1], 3 * 7);
    assert_int_equal(r.calls[2], 3 * 7);
    assert_int_equal(r.calls[3], 0); /* output layer: logits, not spikes */
    /* same logits without the callback */
    assert_int_equal(snn_model_forward_eval(m, px, 7, l2, NULL, NULL), SNN_OK);
    assert_memory_equal(l1, l2, sizeof l1);
    snn_model_free(m);
}

int main(void)
{
    snn_par_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lif_plain_reset),
        cmocka_unit_test(test_lif_shared_input),
        cmocka_unit_test(test_lif_bn_affine),
        cmocka_unit_test(test_mpbn_channel_train),
        cmocka_unit_test(test_mpbn_channel_eval),
        cmocka_unit_test(test_mpbn_element_vs_channel),
        cmocka_unit_test(test_forward_eval_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
