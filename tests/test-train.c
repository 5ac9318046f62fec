/*
 * test-train.c - the trainer end to end on a small Fashion-MNIST subset:
 * it must learn (test accuracy far above the 0.1 of chance), checkpoints
 * round-trip bit-identically, and a run interrupted after one epoch and
 * resumed ends with exactly the weights of the uninterrupted run (one
 * thread, same seed). Skipped when the data set is not installed.
 *
 * Element-wise MPBN on a synthetic set whose images share a black border
 * (neurons with zero batch variance) trains at the default learning rate
 * (the variance floor SNN_MPBN_ELEMENT_EPS); it runs without the data set.
 *
 * Augmentation: --augment's words and lists, and the draws (erasing: about
 * half the images, rectangles inside the image of 2-40% of it, exactly
 * that rectangle black in the input).
 *
 * One, or three threads: the same model to the bit.
 *
 * The spike-count regulariser (--rate-reg) on the same synthetic set: X = 0
 * trains bit-identically to a run without the option, a large X lowers the
 * firing rate of the trained network within one short epoch, and the
 * checkpoint records X.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
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

/* ---- element-wise MPBN with constant neurons ------------------------------------ */

#define SYN_H 28

/* n images of SYN_H x SYN_H, the shape of MNIST-style sets: a filled
 * ellipse around the centre (class k = i % 10: half-width 3 + k,
 * half-height 12 - k % 5; centre jittered by up to a pixel, intensity and
 * texture random) on a black background, which is the same in every image
 * near the corners (neurons with zero batch variance) and nearly so at the
 * rim of the ellipses. One label in five is random, so the loss stays well
 * above 0 and the gradients keep flowing. */
static void syn_images(uint32_t n, uint64_t seed, uint8_t *px, uint8_t *lab)
{
    uint64_t s = seed;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *im = px + (size_t)i * SYN_H * SYN_H;
        const uint32_t k = i % 10;
        const double a = 3 + k, b = 12 - k % 5;
        const double cy = SYN_H / 2.0 + 2 * snn_rng_uniform(&s) - 1;
        const double cx = SYN_H / 2.0 + 2 * snn_rng_uniform(&s) - 1;
        const int inten = 120 + (int)snn_rng_below(&s, 136);
        for (int y = 0; y < SYN_H; y++)
            for (int x = 0; x < SYN_H; x++) {
                double d = (x - cx) * (x - cx) / (a * a) + (y - cy) * (y - cy) / (b * b);
                int v = inten + (int)snn_rng_below(&s, 81) - 40;
                im[y * SYN_H + x] = d <= 1 ? (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v) : 0;
            }
        lab[i] = (uint8_t)(snn_rng_below(&s, 5) ? k : snn_rng_below(&s, 10));
    }
}

static void write_idx(const char *file, uint8_t rank, const uint32_t *dims, const uint8_t *data,
                      size_t n)
{
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    uint8_t hdr[4 + 12] = {0, 0, 8, rank};
    for (int d = 0; d < rank; d++)
        for (int b = 0; b < 4; b++) hdr[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
    assert_int_equal(fwrite(hdr, 1, 4 + 4 * (size_t)rank, f), 4 + 4 * (size_t)rank);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_syn_split(const char *dir, const char *split, uint32_t n, uint64_t seed)
{
    uint8_t *px = malloc((size_t)n * SYN_H * SYN_H), *lab = malloc(n);
    assert_non_null(px);
    assert_non_null(lab);
    syn_images(n, seed, px, lab);
    char p[400];
    uint32_t dims[3] = {n, SYN_H, SYN_H};
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, split);
    write_idx(p, 3, dims, px, (size_t)n * SYN_H * SYN_H);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, split);
    write_idx(p, 1, dims, lab, n);
    free(px);
    free(lab);
}

static void record_loss(const snn_train_epoch *e, void *ctx)
{
    double *loss = ctx;
    loss[e->epoch - 1] = e->train_loss;
}

/* A synthetic data set in tmpdir/name (train: n images from seed, test:
 * n/8 from seed + 1) and the options of a quiet 1-epoch run on it; dir
 * holds the path (o->data_dir points to it). */
static void syn_setup(const char *name, uint32_t n, uint64_t seed, char *dir, size_t dn, snn_train_opts *o)
{
    path(dir, dn, name);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_syn_split(dir, "train", n, seed);
    write_syn_split(dir, "t10k", n / 8, seed + 1);
    snn_train_opts_default(o); /* the default learning rate, 0.1 */
    o->data_dir = dir;
    o->arch = "c8,p,c16,p,f32";
    o->epochs = 1;
    o->quiet = 1;
}

static void test_element_constant_neurons(void **state)
{
    (void)state;
    char dir[300], out[300];
    path(out, sizeof out, "syn.safetensors");
    snn_train_opts o;
    syn_setup("syn", 2048, 1, dir, sizeof dir, &o);
    o.mpbn = SNN_MPBN_ELEMENT;
    o.epochs = 3;
    o.out = out;
    double loss[3] = {NAN, NAN, NAN};
    snn_train_result r;
    if (snn_train_run(&o, record_loss, loss, &r) != SNN_OK)
        fail_msg("element-wise run: %s", snn_last_error());
    print_message("element-wise MPBN, lr %g: train loss %.4f %.4f %.4f, test acc %.3f\n", o.lr,
                  loss[0], loss[1], loss[2], r.test_acc);
    for (int e = 0; e < 3; e++) assert_true(isfinite(loss[e]));
    assert_true(loss[1] < loss[0] && loss[2] < loss[1]);
    assert_true(r.test_acc > 0.4); /* 10 classes: chance is 0.1 */

    /* the run has the variance floor, and its premise holds: neurons of the
     * first layer whose membrane is the same in every image (batch variance
     * 0, so 1/sqrt(var + eps) = 1/sqrt(eps)) */
    snn_model *m = load(out);
    assert_true(m->cfg.mpbn_eps == SNN_MPBN_ELEMENT_EPS);
    const uint32_t B = 64;
    uint8_t *px = malloc((size_t)B * SYN_H * SYN_H), lab[64];
    assert_non_null(px);
    syn_images(B, 1, px, lab);
    assert_int_equal(snn_model_workspace(m, B), SNN_OK);
    snn_model_load_input(m, px, NULL, B, NULL);
    snn_model_forward(m, B, 1);
    const snn_tlayer *L0 = &m->layers[0];
    const float floor_istd = 1.0f / sqrtf(SNN_MPBN_ELEMENT_EPS);
    uint32_t n_const = 0;
    for (uint32_t e = 0; e < L0->mp_n; e++) {
        assert_true(L0->mp_istd[e] <= floor_istd * (1 + 1e-6f));
        n_const += L0->mp_istd[e] >= floor_istd * (1 - 1e-6f);
    }
    print_message("layer 0: %u of %u neurons constant over the batch at t = 0\n", n_const, L0->mp_n);
    assert_true(n_const >= 8 * 4); /* at least the corners of each channel */
    free(px);
    snn_model_free(m);
}

/* ---- the spike-count regulariser ------------------------------------------------ */

typedef struct rate_acc {
    const snn_model *m;
    double spikes, slots;
} rate_acc;

/* eval-mode spikes of the LIF layers (not the pools) */
static void count_lif(uint32_t layer, uint32_t t, uint32_t image, const float *spikes, uint32_t n,
                      void *ctx)
{
    rate_acc *r = ctx;
    snn_layer_info li;
    if (snn_model_layer(r->m, layer, &li) != SNN_OK || !li.has_lif) return;
    for (uint32_t i = 0; i < n; i++) r->spikes += spikes[i];
    r->slots += n;
}

/* mean eval-mode firing rate of the LIF layers on n synthetic images */
static double eval_rate(const char *file, uint32_t n)
{
    snn_model *m = load(file);
    uint8_t *px = malloc((size_t)n * SYN_H * SYN_H), *lab = malloc(n);
    assert_non_null(px);
    assert_non_null(lab);
    syn_images(n, 3, px, lab);
    rate_acc r = {m, 0, 0};
    assert_int_equal(snn_model_forward_eval(m, px, n, NULL, count_lif, &r), SNN_OK);
    free(px);
    free(lab);
    snn_model_free(m);
    return r.spikes / r.slots;
}

/* --augment and the checkpoint key: words, lists, the canonical form */
static void test_augment_names(void **state)
{
    (void)state;
    static const struct { const char *in; uint32_t bits; const char *canon; } ok[] = {
        {"none", 0, "none"},
        {"all", SNN_AUG_CROP | SNN_AUG_FLIP, "all"},
        {"crop", SNN_AUG_CROP, "crop"},
        {"flip", SNN_AUG_FLIP, "flip"},
        {"erase", SNN_AUG_ERASE, "erase"},
        {"flip,crop", SNN_AUG_CROP | SNN_AUG_FLIP, "all"},
        {"erase,crop", SNN_AUG_CROP | SNN_AUG_ERASE, "crop,erase"},
        {"crop,flip,erase", SNN_AUG_ALL, "crop,flip,erase"},
        {"all,erase", SNN_AUG_ALL, "crop,flip,erase"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint32_t a = 99;
        assert_int_equal(snn_augment_parse(ok[i].in, &a), SNN_OK);
        assert_int_equal(a, ok[i].bits);
        assert_string_equal(snn_augment_str(a, buf), ok[i].canon);
        uint32_t back = 99;
        assert_int_equal(snn_augment_parse(buf, &back), SNN_OK);
        assert_int_equal(back, a);
    }
    static const char *const bad[] = {"", "some", "crop,", ",crop", "crop,,flip", "Crop", "crop flip", "erasex"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t a = 99;
        assert_int_equal(snn_augment_parse(bad[i], &a), SNN_ERR_ARG);
        assert_int_equal(a, 99);
    }
}

/* The draws: shifts in -2..2 and flips only when asked, erasing of about
 * half the images with rectangles inside the image of 2-40% of its area,
 * and load_input blacks out exactly the rectangle. */
static void test_augment_draws(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    const uint32_t h = 28, w = 28, n = 20000;
    uint32_t erased = 0, flips = 0, shifted = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint64_t r = snn_rng_next(&rng), r2 = snn_rng_next(&rng);
        snn_aug_draw d;
        snn_aug_draw_make(SNN_AUG_ERASE, r, r2, h, w, &d);
        assert_true(d.sy == 0 && d.sx == 0 && d.flip == 0);
        if (d.eh) {
            erased++;
            assert_true(d.ew >= 1 && d.ey + d.eh <= h && d.ex + d.ew <= w);
            const double frac = (double)d.eh * d.ew / (h * w);
            assert_true(frac >= 0.015 && frac <= 0.45);
        } else {
            assert_int_equal(d.ew, 0);
        }
        snn_aug_draw_make(SNN_AUG_CROP | SNN_AUG_FLIP, r, r2, h, w, &d);
        assert_true(d.sy >= -2 && d.sy <= 2 && d.sx >= -2 && d.sx <= 2 && d.flip <= 1 && d.eh == 0);
        flips += d.flip;
        shifted += d.sy != 0 || d.sx != 0;
        snn_aug_draw_make(0, r, r2, h, w, &d);
        assert_true(d.sy == 0 && d.sx == 0 && d.flip == 0 && d.eh == 0);
    }
    assert_true(erased > 0.47 * n && erased < 0.53 * n);
    assert_true(flips > 0.47 * n && flips < 0.53 * n);
    /* images larger than 255 pixels a side (up to the trainer's limit) are
     * erased the same way, with rectangles reaching their far corners */
    static const uint32_t big[][2] = {{300, 200}, {SNN_CKPT_MAX_DIM, 17}, {1, SNN_CKPT_MAX_DIM}};
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++) {
        const uint32_t bh = big[k][0], bw = big[k][1];
        uint32_t nerased = 0, max_y = 0, max_x = 0;
        for (uint32_t i = 0; i < 4000; i++) {
            const uint64_t r = snn_rng_next(&rng), r2 = snn_rng_next(&rng);
            snn_aug_draw d;
            snn_aug_draw_make(SNN_AUG_ERASE, r, r2, bh, bw, &d);
            if (!d.eh) continue;
            nerased++;
            assert_true(d.ew >= 1 && d.ey + d.eh <= bh && d.ex + d.ew <= bw);
            const double frac = (double)d.eh * d.ew / ((double)bh * bw);
            if (bh > 1 && bw > 20) assert_true(frac >= 0.015 && frac <= 0.45);
            if (d.ey + d.eh > max_y) max_y = d.ey + d.eh;
            if (d.ex + d.ew > max_x) max_x = d.ex + d.ew;
        }
        assert_true(nerased > 1800 && nerased < 2200);
        assert_true(max_y >= bh - bh / 50 && max_x >= bw - bw / 50);
    }
    assert_true(shifted > 0.94 * n && shifted < 0.98 * n); /* (0, 0) has probability ~1/25 */

    /* load_input: the rectangle is black, everything else as without it */
    snn_model *m = NULL;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "c4,p,f6");
    cfg.in_h = 12;
    cfg.in_w = 10;
    cfg.n_classes = 4;
    cfg.norm_mean = 0.3f;
    cfg.norm_std = 0.3f;
    assert_int_equal(snn_model_create(&cfg, 1, &m), SNN_OK);
    const size_t px = (size_t)cfg.in_h * cfg.in_w;
    uint8_t *img = malloc(2 * px);
    for (size_t i = 0; i < 2 * px; i++) img[i] = (uint8_t)(1 + i % 250);
    assert_int_equal(snn_model_workspace(m, 2), SNN_OK);
    snn_model_load_input(m, img, NULL, 2, NULL);
    float *plain = malloc(2 * px * sizeof(float));
    memcpy(plain, m->x, 2 * px * sizeof(float));
    snn_aug_draw aug[2] = {{.ey = 3, .ex = 5, .eh = 4, .ew = 2}, {0}};
    snn_model_load_input(m, img, NULL, 2, aug);
    const float black = -cfg.norm_mean / cfg.norm_std;
    for (uint32_t b = 0; b < 2; b++)
        for (uint32_t y = 0; y < cfg.in_h; y++)
            for (uint32_t x = 0; x < cfg.in_w; x++) {
                const size_t i = (size_t)b * px + (size_t)y * cfg.in_w + x;
                const int in = b == 0 && y >= 3 && y < 7 && x >= 5 && x < 7;
                assert_true(m->x[i] == (in ? black : plain[i]));
                if (in) assert_true(plain[i] != black);
            }
    free(img);
    free(plain);
    snn_model_free(m);
}

static void test_rate_reg(void **state)
{
    (void)state;
    char dir[300], a[300], b[300], c[300];
    path(a, sizeof a, "rr0.safetensors");
    path(b, sizeof b, "rrx0.safetensors");
    path(c, sizeof c, "rrbig.safetensors");
    snn_train_opts o;
    syn_setup("synr", 2048, 4, dir, sizeof dir, &o);
    o.threads = 1;
    snn_train_result r0, rx0, rbig;
    o.out = a; /* no regulariser: the option left at its default */
    assert_int_equal(snn_train_run(&o, NULL, NULL, &r0), SNN_OK);
    o.out = b;
    o.rate_reg = 0; /* given as 0 */
    o.given |= SNN_RUN_RATE_REG;
    assert_int_equal(snn_train_run(&o, NULL, NULL, &rx0), SNN_OK);
    o.out = c;
    o.rate_reg = 5;
    if (snn_train_run(&o, NULL, NULL, &rbig) != SNN_OK) fail_msg("rate-reg 5: %s", snn_last_error());

    snn_model *m0 = load(a), *mx0 = load(b), *mbig = load(c);
    assert_models_equal(m0, mx0, 0); /* X = 0 changes nothing */
    assert_true(r0.train_loss == rx0.train_loss && r0.test_acc == rx0.test_acc &&
                r0.train_rate == rx0.train_rate);
    assert_true(m0->rate_reg == 0 && mbig->rate_reg == 5); /* recorded for --resume */
    snn_model_free(m0);
    snn_model_free(mx0);
    snn_model_free(mbig);

    const double e0 = eval_rate(a, 256), ebig = eval_rate(c, 256);
    print_message("rate-reg 0: train rate %.4f, eval LIF rate %.4f, test acc %.3f; rate-reg 5: "
                  "train rate %.4f, eval LIF rate %.4f, test acc %.3f\n",
                  r0.train_rate, e0, r0.test_acc, rbig.train_rate, ebig, rbig.test_acc);
    assert_true(r0.train_rate > 0.02 && e0 > 0.02); /* the unregularised net fires */
    assert_true(rbig.train_rate < 0.7 * r0.train_rate);
    assert_true(ebig < 0.7 * e0);
}

/* The thread count does not change a training run by a bit: tasks write
 * their own outputs and cross-task sums go in task order (conv chunks,
 * channels, the fc GEMMs' 64-column slices). A net with the dense
 * (Winograd) and event-driven convs, pooling and an fc layer, 1 vs 3
 * threads (the pool's workers take tasks in any order). */
static void test_threads_same_result(void **state)
{
    (void)state;
    char dir[300], a[300], b[300];
    path(a, sizeof a, "th1.safetensors");
    path(b, sizeof b, "th3.safetensors");
    snn_train_opts o;
    syn_setup("synt", 512, 6, dir, sizeof dir, &o);
    o.arch = "c8,c16,p,c16,p,f32";
    o.batch = 32;
    snn_train_result r1, r3;
    o.threads = 1;
    o.out = a;
    assert_int_equal(snn_train_run(&o, NULL, NULL, &r1), SNN_OK);
    o.threads = 3;
    o.out = b;
    assert_int_equal(snn_train_run(&o, NULL, NULL, &r3), SNN_OK);
    snn_model *m1 = load(a), *m3 = load(b);
    assert_models_equal(m1, m3, 1);
    assert_true(r1.train_loss == r3.train_loss && r1.test_acc == r3.test_acc);
    snn_model_free(m1);
    snn_model_free(m3);
    snn_set_threads(0);
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
    const char *names[] = {"learn", "rt1", "rt2", "full", "part", "syn", "rr0", "rrx0", "rrbig", "th1", "th3"};
    const char *exts[] = {".safetensors", ".csv", ".png"};
    char p[400];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t k = 0; k < 3; k++) {
            snprintf(p, sizeof p, "%s/%s%s", tmpdir, names[i], exts[k]);
            unlink(p);
        }
    const char *syn[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    const char *syn_dirs[] = {"syn", "synr", "synt"};
    for (size_t d = 0; d < 3; d++) {
        for (size_t k = 0; k < 4; k++) {
            snprintf(p, sizeof p, "%s/%s/%s", tmpdir, syn_dirs[d], syn[k]);
            unlink(p);
        }
        snprintf(p, sizeof p, "%s/%s", tmpdir, syn_dirs[d]);
        rmdir(p);
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
        cmocka_unit_test(test_element_constant_neurons),
        cmocka_unit_test(test_rate_reg),
        cmocka_unit_test(test_threads_same_result),
        cmocka_unit_test(test_augment_names),
        cmocka_unit_test(test_augment_draws),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
