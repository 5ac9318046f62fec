/*
 * test-landscape.c - the 1-D loss landscape (host/train/landscape.c):
 *
 * - at alpha 0 the loss is the eval-mode cross-entropy of the unchanged
 *   model, computed here independently from snn_model_forward_eval()'s
 *   logits, and the accuracy is snn_model_evaluate()'s on the same images;
 * - at alpha != 0 it is the loss of the model whose conv/fc weights were
 *   moved by alpha * d by hand (BN/MPBN and the output bias untouched);
 * - the direction is filter-normalised: every conv filter and fc output
 *   neuron of d has the norm of its weights, and every other tensor a zero
 *   direction;
 * - the same seed gives the same direction and the same curve bit for bit,
 *   another seed another direction; the model is restored bit for bit;
 * - the grid holds the sharpness points, and the figures are right on a
 *   known curve.
 *
 * A synthetic data set and a freshly initialised model with non-trivial
 * running statistics; no data set needed. When the trained fixture and the
 * data set exist (MPBN_FIXTURE, default build/fixtures/fmnist-channel
 * .safetensors), the alpha-0 figures are checked on it as well.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "train/landscape.h"
#include "train/train-impl.h"

#define N_IMG 150u

static snn_model *make_model(snn_mpbn_mode mode)
{
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "c6,p,c8,f12");
    cfg.T = 3;
    cfg.in_h = cfg.in_w = 8;
    cfg.n_classes = 5;
    cfg.mpbn = mode;
    cfg.norm_mean = 0.3f;
    cfg.norm_std = 0.35f;
    snn_model *m = NULL;
    assert_int_equal(snn_model_create(&cfg, 5, &m), SNN_OK);
    /* running statistics and affine parameters away from their init, so
     * eval mode really uses them */
    uint64_t s = 99;
    for (uint32_t i = 0; i < m->n_params; i++) {
        snn_param *p = &m->params[i];
        if (p->kind == SNN_PARAM_WEIGHT) continue;
        const int var = strstr(p->name, "running_var") != NULL;
        for (size_t k = 0; k < p->n; k++) {
            double u = snn_rng_uniform(&s);
            p->data[k] = var ? (float)(0.2 + 2 * u) : (float)(p->data[k] + (u - 0.5) * 0.6);
        }
    }
    return m;
}

static void make_data(snn_dataset *ds, uint32_t n_classes)
{
    memset(ds, 0, sizeof *ds);
    ds->n = N_IMG;
    ds->c = 1;
    ds->h = ds->w = 8;
    ds->pixels = malloc(N_IMG * 64);
    ds->labels = malloc(N_IMG);
    assert_non_null(ds->pixels);
    assert_non_null(ds->labels);
    uint64_t s = 3;
    for (uint32_t i = 0; i < N_IMG; i++) {
        ds->labels[i] = (uint8_t)(i % n_classes);
        for (uint32_t k = 0; k < 64; k++) {
            /* a class-dependent blob plus noise: the loss is not flat */
            uint32_t y = k / 8, x = k % 8;
            int on = (y + x) % n_classes == ds->labels[i];
            ds->pixels[i * 64 + k] = (uint8_t)(on * 150 + snn_rng_below(&s, 100));
        }
    }
    ds->n_classes = n_classes;
}

/* Mean cross-entropy from snn_model_forward_eval()'s logits, in double. */
static double ref_loss(snn_model *m, const snn_dataset *ds, double *acc)
{
    const uint32_t K = m->cfg.n_classes;
    float *lg = malloc((size_t)ds->n * K * sizeof(float));
    assert_non_null(lg);
    assert_int_equal(snn_model_forward_eval(m, ds->pixels, ds->n, lg, NULL, NULL), SNN_OK);
    double sum = 0;
    uint32_t ok = 0;
    for (uint32_t i = 0; i < ds->n; i++) {
        const float *z = lg + (size_t)i * K;
        double mx = z[0], se = 0;
        uint32_t am = 0;
        for (uint32_t k = 1; k < K; k++)
            if (z[k] > mx) mx = z[am = k];
        for (uint32_t k = 0; k < K; k++) se += exp(z[k] - mx);
        sum += log(se) + mx - z[ds->labels[i]];
        ok += am == ds->labels[i];
    }
    free(lg);
    if (acc) *acc = (double)ok / ds->n;
    return sum / ds->n;
}

static float *snapshot(const snn_model *m)
{
    size_t n = 0;
    for (uint32_t i = 0; i < m->n_params; i++) n += m->params[i].n;
    float *s = malloc(n * sizeof(float)), *p = s;
    assert_non_null(s);
    for (uint32_t i = 0; i < m->n_params; i++) {
        memcpy(p, m->params[i].data, m->params[i].n * sizeof(float));
        p += m->params[i].n;
    }
    return s;
}

static void assert_snapshot(const snn_model *m, const float *s)
{
    for (uint32_t i = 0; i < m->n_params; i++) {
        if (memcmp(s, m->params[i].data, m->params[i].n * sizeof(float)))
            fail_msg("tensor %s was not restored", m->params[i].name);
        s += m->params[i].n;
    }
}

static void test_alpha0_is_eval_loss(void **state)
{
    (void)state;
    for (int mode = 0; mode <= 2; mode++) {
        snn_model *m = make_model((snn_mpbn_mode)mode);
        snn_dataset ds;
        make_data(&ds, m->cfg.n_classes);
        double acc_ref = 0, acc_eval = 0;
        const double want = ref_loss(m, &ds, &acc_ref);
        assert_int_equal(snn_model_evaluate(m, &ds, 0, &acc_eval), SNN_OK);
        float *before = snapshot(m);
        snn_landscape_dir d;
        assert_int_equal(snn_landscape_direction(m, 1, &d), SNN_OK);
        const double alphas[3] = {-0.5, 0, 0.5};
        double loss[3], acc[3];
        /* a batch that does not divide the set: the mean is over images */
        assert_int_equal(snn_landscape_eval(m, &ds, &d, alphas, 3, 64, NULL, NULL, loss, acc),
                         SNN_OK);
        if (!(fabs(loss[1] - want) <= 1e-5 * (1 + want)))
            fail_msg("mpbn %d: loss at alpha 0 %.9g, eval-mode cross-entropy %.9g", mode, loss[1],
                     want);
        assert_true(acc[1] == acc_ref && acc[1] == acc_eval);
        assert_true(loss[0] > loss[1] || loss[2] > loss[1]); /* the direction does something */
        assert_snapshot(m, before);
        double again;
        assert_int_equal(snn_landscape_loss(m, &ds, 7, &again, NULL), SNN_OK);
        assert_true(fabs(again - want) <= 1e-5 * (1 + want));
        free(before);
        snn_landscape_dir_free(&d);
        snn_dataset_free(&ds);
        snn_model_free(m);
    }
}

static void test_alpha_moves_weights_only(void **state)
{
    (void)state;
    snn_model *m = make_model(SNN_MPBN_CHANNEL);
    snn_dataset ds;
    make_data(&ds, m->cfg.n_classes);
    snn_landscape_dir d;
    assert_int_equal(snn_landscape_direction(m, 42, &d), SNN_OK);
    const double alpha = 0.3;
    double loss;
    assert_int_equal(snn_landscape_eval(m, &ds, &d, &alpha, 1, 0, NULL, NULL, &loss, NULL), SNN_OK);
    /* the same by hand on the weights */
    for (uint32_t i = 0; i < m->n_params; i++) {
        snn_param *p = &m->params[i];
        if (p->kind != SNN_PARAM_WEIGHT) continue;
        const float *dp = snn_landscape_dir_param(m, &d, p->name, NULL);
        assert_non_null(dp);
        for (size_t k = 0; k < p->n; k++) p->data[k] += (float)alpha * dp[k];
    }
    const double want = ref_loss(m, &ds, NULL);
    if (!(fabs(loss - want) <= 1e-5 * (1 + want)))
        fail_msg("loss at alpha 0.3 %.9g, model moved by hand %.9g", loss, want);
    snn_landscape_dir_free(&d);
    snn_dataset_free(&ds);
    snn_model_free(m);
}

static void test_filter_normalised(void **state)
{
    (void)state;
    snn_model *m = make_model(SNN_MPBN_ELEMENT);
    snn_landscape_dir d;
    assert_int_equal(snn_landscape_direction(m, 9, &d), SNN_OK);
    uint32_t filters = 0;
    for (uint32_t i = 0; i < m->n_params; i++) {
        const snn_param *p = &m->params[i];
        uint32_t n = 0;
        const float *dp = snn_landscape_dir_param(m, &d, p->name, &n);
        assert_non_null(dp);
        assert_int_equal(n, p->n);
        if (p->kind != SNN_PARAM_WEIGHT) {
            for (size_t k = 0; k < p->n; k++)
                if (dp[k] != 0) fail_msg("%s has a non-zero direction", p->name);
            continue;
        }
        const size_t rows = (size_t)p->shape[0], per = p->n / rows;
        assert_true(per >= 9 || p->ndim == 2);
        for (size_t r = 0; r < rows; r++) {
            double wn = 0, dn = 0, dot = 0;
            for (size_t k = 0; k < per; k++) {
                wn += (double)p->data[r * per + k] * p->data[r * per + k];
                dn += (double)dp[r * per + k] * dp[r * per + k];
                dot += (double)p->data[r * per + k] * dp[r * per + k];
            }
            if (fabs(sqrt(dn) - sqrt(wn)) > 1e-5 * sqrt(wn))
                fail_msg("%s filter %zu: |d| %.7g, |w| %.7g", p->name, r, sqrt(dn), sqrt(wn));
            /* random, not the weights themselves */
            assert_true(fabs(dot) < 0.999 * wn);
            filters++;
        }
    }
    /* c6, c8, f12 and the 5 outputs */
    assert_int_equal(filters, 6 + 8 + 12 + 5);
    assert_int_equal(d.n_filters, filters);
    snn_landscape_dir_free(&d);
    snn_model_free(m);
}

static void test_same_seed_same_curve(void **state)
{
    (void)state;
    snn_model *m = make_model(SNN_MPBN_CHANNEL);
    snn_dataset ds;
    make_data(&ds, m->cfg.n_classes);
    double alphas[32];
    const uint32_t n = snn_landscape_grid(7, 1.0, alphas);
    double l1[32], l2[32], l3[32];
    snn_landscape_dir a, b, c;
    assert_int_equal(snn_landscape_direction(m, 7, &a), SNN_OK);
    assert_int_equal(snn_landscape_direction(m, 7, &b), SNN_OK);
    assert_int_equal(snn_landscape_direction(m, 8, &c), SNN_OK);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.d, b.d, a.n * sizeof(float));
    assert_true(memcmp(a.d, c.d, a.n * sizeof(float)) != 0);
    assert_int_equal(snn_landscape_eval(m, &ds, &a, alphas, n, 0, NULL, NULL, l1, NULL), SNN_OK);
    assert_int_equal(snn_landscape_eval(m, &ds, &b, alphas, n, 0, NULL, NULL, l2, NULL), SNN_OK);
    assert_int_equal(snn_landscape_eval(m, &ds, &c, alphas, n, 0, NULL, NULL, l3, NULL), SNN_OK);
    assert_memory_equal(l1, l2, n * sizeof(double));
    int differ = 0;
    for (uint32_t i = 0; i < n; i++) differ |= alphas[i] != 0 && l1[i] != l3[i];
    assert_true(differ);
    snn_landscape_dir_free(&a);
    snn_landscape_dir_free(&b);
    snn_landscape_dir_free(&c);
    snn_dataset_free(&ds);
    snn_model_free(m);
}

static void test_grid_and_stats(void **state)
{
    (void)state;
    double g[64];
    uint32_t n = snn_landscape_grid(21, 1.0, g);
    assert_int_equal(n, 23); /* 21 points (0, +-0.5 among them) and +-0.25 */
    for (uint32_t i = 1; i < n; i++) assert_true(g[i] > g[i - 1]);
    assert_true(g[0] == -1.0 && g[n - 1] == 1.0);
    int have[5] = {0};
    const double sp[5] = {0, -0.25, 0.25, -0.5, 0.5};
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < 5; k++) have[k] |= g[i] == sp[k];
    for (int k = 0; k < 5; k++) assert_true(have[k]);
    assert_int_equal(snn_landscape_grid(5, 0.3, g), 7); /* +-0.5 outside */
    assert_int_equal(snn_landscape_grid(3, 0.1, g), 3);

    /* L = 1 + 2 (alpha - 0.1)^2 on the 21-point grid */
    n = snn_landscape_grid(41, 1.0, g);
    double l[64];
    for (uint32_t i = 0; i < n; i++) l[i] = 1 + 2 * (g[i] - 0.1) * (g[i] - 0.1);
    snn_landscape_stats s;
    snn_landscape_stats_of(g, l, n, &s);
    assert_true(fabs(s.loss0 - 1.02) < 1e-12);
    assert_true(fabs(s.min_loss - 1.0) < 1e-12 && fabs(s.alpha_min - 0.1) < 1e-12);
    assert_true(fabs(s.loss_p025 - (1 + 2 * 0.15 * 0.15)) < 1e-12);
    assert_true(fabs(s.rise_025 - 0.5 * (2 * 0.35 * 0.35 + 2 * 0.15 * 0.15)) < 1e-12);
    assert_true(fabs(s.rise_05 - 0.5 * (2 * 0.6 * 0.6 + 2 * 0.4 * 0.4)) < 1e-12);
    /* outside the range: no figure */
    n = snn_landscape_grid(5, 0.3, g);
    for (uint32_t i = 0; i < n; i++) l[i] = g[i] * g[i];
    snn_landscape_stats_of(g, l, n, &s);
    assert_true(isnan(s.rise_05) && !isnan(s.rise_025));
}

static void test_bad_data(void **state)
{
    (void)state;
    snn_model *m = make_model(SNN_MPBN_CHANNEL);
    snn_dataset ds;
    make_data(&ds, m->cfg.n_classes);
    ds.labels[17] = 9; /* beyond the model's 5 classes */
    double loss;
    assert_int_equal(snn_landscape_loss(m, &ds, 0, &loss, NULL), SNN_ERR_FORMAT);
    assert_non_null(strstr(snn_last_error(), "index 17"));
    ds.labels[17] = 1;
    ds.w = 7;
    assert_int_equal(snn_landscape_loss(m, &ds, 0, &loss, NULL), SNN_ERR_FORMAT);
    ds.w = 8;
    snn_dataset_free(&ds);
    snn_model_free(m);
}

/* The trained fixture, when the suite built it and the data set is there. */
static void test_fixture(void **state)
{
    (void)state;
    const char *f = getenv("MPBN_FIXTURE");
    if (!f) f = "build/fixtures/fmnist-channel.safetensors";
    if (access(f, R_OK) || access(SNN_DATA_DEFAULT_DIR, R_OK)) skip();
    snn_model *m;
    assert_int_equal(snn_model_load(f, &m), SNN_OK);
    snn_dataset ds;
    assert_int_equal(snn_dataset_load(NULL, "train", 300, &ds), SNN_OK);
    double acc_eval = 0, acc_ref = 0;
    assert_int_equal(snn_model_evaluate(m, &ds, 0, &acc_eval), SNN_OK);
    const double want = ref_loss(m, &ds, &acc_ref);
    snn_landscape_dir d;
    assert_int_equal(snn_landscape_direction(m, 1, &d), SNN_OK);
    double g[32], l[32], a[32];
    uint32_t n = snn_landscape_grid(3, 0.5, g); /* -0.5 -0.25 0 0.25 0.5 */
    assert_int_equal(n, 5);
    assert_int_equal(snn_landscape_eval(m, &ds, &d, g, n, 0, NULL, NULL, l, a), SNN_OK);
    assert_true(fabs(l[2] - want) <= 1e-5 * (1 + want));
    assert_true(a[2] == acc_eval && a[2] == acc_ref);
    /* a trained network sits in a valley along a random direction */
    assert_true(l[0] > l[2] && l[4] > l[2]);
    snn_landscape_dir_free(&d);
    snn_dataset_free(&ds);
    snn_model_free(m);
}

int main(void)
{
    snn_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alpha0_is_eval_loss),  cmocka_unit_test(test_alpha_moves_weights_only),
        cmocka_unit_test(test_filter_normalised),    cmocka_unit_test(test_same_seed_same_curve),
        cmocka_unit_test(test_grid_and_stats),       cmocka_unit_test(test_bad_data),
        cmocka_unit_test(test_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
