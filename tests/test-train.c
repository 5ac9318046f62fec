/*
 * test-train.c - the trainer end to end on a small Fashion-MNIST subset:
 * it must learn (test accuracy far above the 0.1 of chance), checkpoints
 * round-trip bit-identically, and a run interrupted after one epoch and
 * resumed ends with exactly the weights of the uninterrupted run (one
 * thread, same seed). Skipped when the data set is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "train/train-impl.h"

static char tmpdir[256];

static int have_data(void)
{
    return access(SNN_DATA_DEFAULT_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0 ||
           access(SNN_DATA_DEFAULT_DIR "/train-images-idx3-ubyte", R_OK) == 0;
}

static void path(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static void assert_models_equal(const snn_model *a, const snn_model *b, int with_mom)
{
    assert_int_equal(a->n_params, b->n_params);
    for (uint32_t i = 0; i < a->n_params; i++) {
        const snn_param *p = &a->params[i], *q = &b->params[i];
        assert_string_equal(p->name, q->name);
        assert_int_equal(p->n, q->n);
        if (memcmp(p->data, q->data, p->n * sizeof(float)))
            fail_msg("tensor %s differs", p->name);
        if (with_mom && p->mom && memcmp(p->mom, q->mom, p->n * sizeof(float)))
            fail_msg("momentum of %s differs", p->name);
    }
}

/* Load with the momentum buffers through the resume path of the trainer:
 * snn_model_load() leaves them out, so read them back from the file. */
static snn_model *load(const char *file)
{
    snn_model *m;
    if (snn_model_load(file, &m) != SNN_OK) fail_msg("load %s: %s", file, snn_last_error());
    return m;
}

static void test_learns(void **state)
{
    (void)state;
    if (!have_data()) skip();
    char out[300];
    path(out, sizeof out, "learn.safetensors");
    snn_train_opts o;
    snn_train_opts_default(&o);
    o.arch = "c16,p,c32,p,f64";
    o.epochs = 2;
    o.limit_train = 2000;
    o.limit_test = 500;
    o.quiet = 1;
    o.out = out;
    snn_train_result r;
    snn_status st = snn_train_run(&o, NULL, NULL, &r);
    if (st != SNN_OK) fail_msg("train: %s", snn_last_error());
    assert_int_equal(r.epochs, 2);
    print_message("test accuracy after 2 epochs on 2000 images: %.3f\n", r.test_acc);
    assert_true(r.test_acc > 0.6);
    assert_true(r.train_images_per_s > 0);

    /* the float eval of the saved checkpoint reproduces the reported accuracy */
    snn_model *m = load(out);
    snn_dataset test;
    assert_int_equal(snn_dataset_load(NULL, "t10k", 500, &test), SNN_OK);
    double acc;
    assert_int_equal(snn_model_evaluate(m, &test, 0, &acc), SNN_OK);
    assert_true(acc > r.test_acc - 1e-9 && acc < r.test_acc + 1e-9);
    snn_dataset_free(&test);
    assert_int_equal(m->epochs_done, 2);
    assert_string_equal(m->cfg.arch, "c16,p,c32,p,f64");
    assert_int_equal(m->cfg.mpbn, SNN_MPBN_CHANNEL);
    assert_true(m->cfg.norm_mean > 0.2f && m->cfg.norm_mean < 0.4f);
    snn_model_free(m);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "c4,p,c6,f7");
    cfg.mpbn = SNN_MPBN_ELEMENT;
    cfg.T = 3;
    cfg.in_h = cfg.in_w = 8;
    cfg.norm_mean = 0.28604f;
    cfg.norm_std = 0.35302f;
    snn_model *a;
    assert_int_equal(snn_model_create(&cfg, 99, &a), SNN_OK);
    assert_int_equal(snn_model_alloc_grads(a), SNN_OK);
    for (uint32_t i = 0; i < a->n_params; i++)
        if (a->params[i].mom)
            for (size_t k = 0; k < a->params[i].n; k++) a->params[i].mom[k] = (float)k * 1e-3f;
    a->epochs_done = 3;
    a->epochs_total = 9;
    char f1[300], f2[300];
    path(f1, sizeof f1, "rt1.safetensors");
    path(f2, sizeof f2, "rt2.safetensors");
    assert_int_equal(snn_model_save(a, f1), SNN_OK);
    snn_model *b = load(f1);
    assert_models_equal(a, b, 0);
    assert_true(b->cfg.norm_mean == cfg.norm_mean && b->cfg.norm_std == cfg.norm_std);
    assert_int_equal(b->cfg.mpbn, SNN_MPBN_ELEMENT);
    assert_int_equal(b->cfg.T, 3);
    assert_int_equal(b->epochs_done, 3);
    /* element MPBN of a conv layer is [C, H, W] */
    uint32_t n;
    assert_non_null(snn_model_param(b, "layers.2.mpbn.weight", &n));
    assert_int_equal(n, 6 * 4 * 4);
    assert_int_equal(snn_model_save(b, f2), SNN_OK);
    snn_model *c = load(f2);
    assert_models_equal(a, c, 0);
    snn_model_free(a);
    snn_model_free(b);
    snn_model_free(c);
}

static void test_resume_equals_uninterrupted(void **state)
{
    (void)state;
    if (!have_data()) skip();
    char full[300], part[300];
    path(full, sizeof full, "full.safetensors");
    path(part, sizeof part, "part.safetensors");
    snn_train_opts o;
    snn_train_opts_default(&o);
    o.arch = "c4,p,f16";
    o.epochs = 2;
    o.batch = 32;
    o.limit_train = 256;
    o.limit_test = 64;
    o.threads = 1;
    o.seed = 5;
    o.quiet = 1;
    snn_train_result r;
    o.out = full;
    assert_int_equal(snn_train_run(&o, NULL, NULL, &r), SNN_OK);
    o.out = part;
    o.stop_after = 1;
    assert_int_equal(snn_train_run(&o, NULL, NULL, &r), SNN_OK);
    assert_int_equal(r.epochs, 1);
    o.stop_after = 0;
    o.resume = part;
    o.epochs = 0; /* from the checkpoint */
    o.arch = "c99"; /* ignored when resuming */
    assert_int_equal(snn_train_run(&o, NULL, NULL, &r), SNN_OK);
    assert_int_equal(r.epochs, 2);

    snn_model *a = load(full), *b = load(part);
    assert_models_equal(a, b, 0);
    assert_true(a->rng_state == b->rng_state);
    snn_model_free(a);
    snn_model_free(b);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mpbn-test-train.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"learn", "rt1", "rt2", "full", "part"};
    char p[300];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s.safetensors", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    snn_set_threads(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_resume_equals_uninterrupted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
