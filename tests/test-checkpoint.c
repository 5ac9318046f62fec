/*
 * test-checkpoint.c - snn_ckpt_validate, the one check of a checkpoint that
 * every consumer runs: a checkpoint written by the trainer passes (channel,
 * element and none MPBN; with and without momentum buffers), and each kind
 * of damage (NaN/Inf values, negative running variance, metadata out of
 * range or missing, tensors missing, misshapen or foreign) is refused with a
 * message naming the field. Each bad file is also refused, with the same
 * message, by snn_model_load (eval --device float) and snn_fold_load (fold).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fold/snn-fold.h"
#include "io/safetensors.h"
#include "train/train-impl.h"

static char g_good[256], g_bad[256];

/* A checkpoint of an untrained model straight from the trainer's writer. */
static void write_model(const char *path, const char *arch, snn_mpbn_mode mode, int with_optim)
{
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "%s", arch);
    cfg.T = 2, cfg.mpbn = mode, cfg.in_c = 1, cfg.in_h = 8, cfg.in_w = 8, cfg.n_classes = 3;
    cfg.norm_mean = 0.25f, cfg.norm_std = 0.5f;
    snn_model *m;
    assert_int_equal(snn_model_create(&cfg, 7, &m), SNN_OK);
    m->epochs_total = 2;
    m->batch = 16;
    m->limit_train = 640;
    m->max_batches = 3;
    snprintf(m->data_dir, sizeof m->data_dir, "/data/set");
    if (with_optim) assert_int_equal(snn_model_alloc_grads(m), SNN_OK);
    if (snn_model_save(m, path) != SNN_OK) fail_msg("save: %s", snn_last_error());
    snn_model_free(m);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_good, sizeof g_good, "/tmp/mpbn-test-ckpt-%d.safetensors", (int)getpid());
    snprintf(g_bad, sizeof g_bad, "/tmp/mpbn-test-ckpt-bad-%d.safetensors", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_good);
    unlink(g_bad);
    return 0;
}

static void validate_file(const char *path, snn_ckpt_info *ci, snn_status *st)
{
    snn_st_file *f;
    *st = snn_st_read(path, &f);
    if (*st == SNN_OK) *st = snn_ckpt_validate(f, ci);
    snn_st_free(f);
}

static void test_valid(void **state)
{
    (void)state;
    const struct {
        const char *arch;
        snn_mpbn_mode mode;
        int optim;
        uint32_t tensors;
    } cases[] = {
        {"c4,p,f8", SNN_MPBN_CHANNEL, 1, 2 * 9 + 2},
        {"c4,p,f8", SNN_MPBN_ELEMENT, 0, 2 * 9 + 2},
        {"f8", SNN_MPBN_NONE, 1, 5 + 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_model(g_good, cases[k].arch, cases[k].mode, cases[k].optim);
        snn_ckpt_info ci;
        snn_status st;
        validate_file(g_good, &ci, &st);
        if (st != SNN_OK) fail_msg("%s: %s", cases[k].arch, snn_last_error());
        assert_string_equal(ci.arch, cases[k].arch);
        assert_int_equal(ci.mpbn, cases[k].mode);
        assert_int_equal(ci.T, 2);
        assert_int_equal(ci.n_classes, 3);
        assert_int_equal(ci.n_tensors, cases[k].tensors);
        assert_int_equal(ci.resumable, cases[k].optim);
        assert_int_equal(ci.epochs_total, 2);
        assert_int_equal(ci.batch, 16);
        /* every option that shapes the run is recorded (--resume keeps them) */
        assert_int_equal(ci.limit_train, 640);
        assert_int_equal(ci.limit_test, 0);
        assert_int_equal(ci.max_batches, 3);
        assert_string_equal(ci.data, "/data/set");
        assert_int_equal(ci.run_keys, 0x7fff); /* SNN_RUN_DATA .. SNN_RUN_LABEL_SMOOTHING */
        assert_true(ci.tau == (double)0.25f && ci.vth == (double)0.5f);
        const snn_layer_info *L = &ci.layers[ci.n_layers - 1];
        assert_int_equal(L->kind, SNN_LAYER_OUT);
        assert_int_equal(L->out_c, 3);
        snn_model *m;
        if (snn_model_load(g_good, &m) != SNN_OK) fail_msg("load: %s", snn_last_error());
        snn_model_free(m);
    }
}

/* One edit of the good checkpoint: metadata key set (val) or removed (NULL),
 * a tensor renamed, or one float of a tensor overwritten. */
typedef struct edit {
    const char *what;
    const char *key, *val;        /* metadata */
    const char *tensor;           /* tensor to rename (to `rename`) or to write into */
    const char *rename;
    size_t index;
    float value;
    const char *needle;           /* the message must contain it */
} edit;

static void write_edited(const snn_st_file *f, const edit *e)
{
    size_t nt = snn_st_count(f), nm = snn_st_meta_count(f);
    snn_st_tensor *t = calloc(nt, sizeof *t);
    const char **k = calloc(nm + 1, sizeof *k), **v = calloc(nm + 1, sizeof *v);
    float *copy = NULL;
    assert_non_null(t);
    assert_non_null(k);
    assert_non_null(v);
    for (size_t i = 0; i < nt; i++) {
        t[i] = *snn_st_at(f, i);
        if (!e->tensor || strcmp(t[i].name, e->tensor)) continue;
        if (e->rename) {
            t[i].name = e->rename;
            continue;
        }
        copy = malloc(t[i].nbytes);
        assert_non_null(copy);
        memcpy(copy, t[i].data, t[i].nbytes);
        assert_true(e->index < t[i].nbytes / 4);
        copy[e->index] = e->value;
        t[i].data = copy;
    }
    size_t n = 0;
    int set = 0;
    for (size_t i = 0; i < nm; i++) {
        const char *key, *val;
        snn_st_meta_at(f, i, &key, &val);
        if (e->key && !strcmp(key, e->key)) {
            set = 1;
            if (!e->val) continue;
            val = e->val;
        }
        k[n] = key, v[n] = val, n++;
    }
    if (e->key && e->val && !set) k[n] = e->key, v[n] = e->val, n++;
    if (snn_st_write(g_bad, t, nt, k, v, n) != SNN_OK) fail_msg("%s: %s", e->what, snn_last_error());
    free(copy);
    free(t);
    free(k);
    free(v);
}

static void expect_refused(const edit *e)
{
    snn_st_file *f;
    assert_int_equal(snn_st_read(g_good, &f), SNN_OK);
    write_edited(f, e);
    snn_st_free(f);
    snn_ckpt_info ci;
    snn_status st;
    validate_file(g_bad, &ci, &st);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", snn_last_error());
    if (st != SNN_ERR_FORMAT || !strstr(msg, e->needle))
        fail_msg("%s: status %d, message '%s' lacks '%s'", e->what, st, msg, e->needle);
    /* the file name comes first, once */
    assert_true(!strncmp(msg, g_bad, strlen(g_bad)));
    assert_null(strstr(msg + strlen(g_bad), g_bad));
    /* every consumer refuses with the same message */
    snn_model *m = NULL;
    assert_int_not_equal(snn_model_load(g_bad, &m), SNN_OK);
    assert_null(m);
    if (strcmp(snn_last_error(), msg)) fail_msg("%s: load says '%s'", e->what, snn_last_error());
    snn_fold_net *fn = NULL;
    assert_int_not_equal(snn_fold_load(g_bad, &fn), SNN_OK);
    assert_null(fn);
    if (strcmp(snn_last_error(), msg)) fail_msg("%s: fold says '%s'", e->what, snn_last_error());
}

static void test_refusals(void **state)
{
    (void)state;
    write_model(g_good, "c4,p,f8", SNN_MPBN_CHANNEL, 1);
    const edit cases[] = {
        {"NaN weight", .tensor = "layers.0.weight", .index = 5, .value = NAN,
         .needle = "tensor \"layers.0.weight\": element 5 is nan (not finite)"},
        {"Inf weight", .tensor = "layers.2.weight", .index = 0, .value = INFINITY,
         .needle = "tensor \"layers.2.weight\": element 0 is inf"},
        {"-Inf output bias", .tensor = "layers.3.bias", .index = 2, .value = -INFINITY,
         .needle = "tensor \"layers.3.bias\": element 2 is -inf"},
        {"NaN BN mean", .tensor = "layers.0.bn.running_mean", .index = 1, .value = NAN,
         .needle = "layers.0.bn.running_mean"},
        {"negative BN variance", .tensor = "layers.2.bn.running_var", .index = 3, .value = -0.5f,
         .needle = "tensor \"layers.2.bn.running_var\": element 3 is -0.5, a variance must be >= 0"},
        {"negative MPBN variance", .tensor = "layers.0.mpbn.running_var", .index = 0, .value = -1e-3f,
         .needle = "layers.0.mpbn.running_var"},
        {"NaN MPBN scale", .tensor = "layers.0.mpbn.weight", .index = 2, .value = NAN,
         .needle = "layers.0.mpbn.weight"},
        {"NaN momentum buffer", .tensor = "optim.layers.0.bn.weight.momentum", .index = 0,
         .value = NAN, .needle = "optim.layers.0.bn.weight.momentum"},
        {"tau 2", .key = "tau", .val = "2", .needle = "metadata \"tau\" is 2"},
        {"tau -0.25", .key = "tau", .val = "-0.25", .needle = "metadata \"tau\" is -0.25"},
        {"vth -1", .key = "vth", .val = "-1", .needle = "metadata \"vth\" is -1"},
        {"vth 0", .key = "vth", .val = "0", .needle = "metadata \"vth\" is 0"},
        {"vth missing", .key = "vth", .needle = "metadata \"vth\" is missing"},
        {"tau missing", .key = "tau", .needle = "metadata \"tau\" is missing"},
        {"bn_eps negative", .key = "bn_eps", .val = "-1e-5", .needle = "metadata \"bn_eps\" is -1e-05"},
        {"bn_eps zero", .key = "bn_eps", .val = "0", .needle = "metadata \"bn_eps\" is 0"},
        {"bn_eps missing", .key = "bn_eps", .needle = "metadata \"bn_eps\" is missing"},
        {"mpbn_eps negative", .key = "mpbn_eps", .val = "-1", .needle = "metadata \"mpbn_eps\""},
        {"norm_std 0", .key = "norm_std", .val = "0", .needle = "metadata \"norm_std\" is 0"},
        {"norm_mean inf", .key = "norm_mean", .val = "inf", .needle = "metadata \"norm_mean\" is 'inf'"},
        {"norm_mean missing", .key = "norm_mean", .needle = "\"norm_mean\" is missing"},
        {"T 0", .key = "T", .val = "0", .needle = "metadata \"T\" is '0'"},
        {"T 17", .key = "T", .val = "17", .needle = "metadata \"T\" is '17'"},
        {"T text", .key = "T", .val = "2x", .needle = "metadata \"T\" is '2x'"},
        {"in_c 0", .key = "in_c", .val = "0", .needle = "metadata \"in_c\" is '0'"},
        {"n_classes 1", .key = "n_classes", .val = "1", .needle = "metadata \"n_classes\" is '1'"},
        {"n_classes 300", .key = "n_classes", .val = "300", .needle = "\"n_classes\" is '300'"},
        {"mpbn mode", .key = "mpbn", .val = "layer", .needle = "metadata \"mpbn\" is 'layer'"},
        {"mpbn none with MPBN tensors", .key = "mpbn", .val = "none",
         .needle = "is not part of a network 'c4,p,f8' with mpbn none"},
        {"mpbn element, channel tensors", .key = "mpbn", .val = "element",
         .needle = "tensor \"layers.0.mpbn.weight\": expected F32 [4, 8, 8], got F32 [4]"},
        {"arch trailing comma", .key = "arch", .val = "c4,p,f8,", .needle = "metadata \"arch\""},
        {"arch conv after fc", .key = "arch", .val = "f8,c4", .needle = "metadata \"arch\""},
        {"arch missing", .key = "arch", .needle = "metadata \"arch\" is missing"},
        {"arch vs tensors", .key = "arch", .val = "c4,p,f9",
         .needle = "tensor \"layers.2.weight\": expected F32 [9, 64]"},
        {"pool of 1x1", .key = "arch", .val = "c4,p,p,p,p,f8", .needle = "pools a 1x1 map"},
        {"input vs tensors", .key = "in_h", .val = "10", .needle = "layers.2.weight"},
        {"format", .key = "format", .val = "other", .needle = "not an mpbn checkpoint"},
        {"format missing", .key = "format", .needle = "metadata \"format\" is missing"},
        {"version", .key = "version", .val = "2", .needle = "metadata \"version\" is '2'"},
        {"test_acc", .key = "test_acc", .val = "1.5", .needle = "metadata \"test_acc\" is 1.5"},
        {"epochs", .key = "epochs_done", .val = "3", .needle = "\"epochs_done\" is 3 but"},
        {"batch 1", .key = "batch", .val = "1", .needle = "metadata \"batch\" is 1"},
        {"batch too large", .key = "batch", .val = "65537", .needle = "metadata \"batch\" is '65537'"},
        {"lr", .key = "lr", .val = "nan", .needle = "metadata \"lr\" is 'nan'"},
        {"augment", .key = "augment", .val = "most", .needle = "metadata \"augment\" is 'most'"},
        {"augment list", .key = "augment", .val = "crop,,erase", .needle = "metadata \"augment\" is 'crop,,erase'"},
        {"label_smoothing", .key = "label_smoothing", .val = "1",
         .needle = "metadata \"label_smoothing\" is 1: label smoothing must be in 0..0.999"},
        {"rng_state", .key = "rng_state", .val = "xyz", .needle = "metadata \"rng_state\" is 'xyz'"},
        {"limit_train", .key = "limit_train", .val = "-1", .needle = "metadata \"limit_train\" is '-1'"},
        {"limit_test", .key = "limit_test", .val = "1e3", .needle = "metadata \"limit_test\" is '1e3'"},
        {"max_batches", .key = "max_batches", .val = "4294967296",
         .needle = "metadata \"max_batches\" is '4294967296'"},
        {"data empty", .key = "data", .val = "", .needle = "metadata \"data\" is 0 characters"},
        {"missing tensor", .tensor = "layers.0.bn.bias", .rename = "layers.0.bn.beta",
         .needle = "tensor \"layers.0.bn.bias\" is missing"},
        /* statistics are not trained: they have no momentum buffer */
        {"foreign tensor", .tensor = "optim.layers.0.weight.momentum",
         .rename = "optim.layers.0.bn.running_var.momentum",
         .needle = "tensor \"optim.layers.0.bn.running_var.momentum\" is not part"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_refused(&cases[i]);
}

/* Optional state: without rng_state or a momentum buffer a checkpoint still
 * validates (eval, fold, info) but is not resumable. */
static void test_not_resumable(void **state)
{
    (void)state;
    write_model(g_good, "f8", SNN_MPBN_CHANNEL, 1);
    snn_st_file *f;
    assert_int_equal(snn_st_read(g_good, &f), SNN_OK);
    edit e = {"no rng_state", .key = "rng_state"};
    write_edited(f, &e);
    snn_st_free(f);
    snn_ckpt_info ci;
    snn_status st;
    validate_file(g_bad, &ci, &st);
    assert_int_equal(st, SNN_OK);
    assert_false(ci.resumable);
    assert_int_equal(ci.n_momentum, 7);
    write_model(g_good, "f8", SNN_MPBN_CHANNEL, 0);
    validate_file(g_good, &ci, &st);
    assert_int_equal(st, SNN_OK);
    assert_false(ci.resumable);
    assert_int_equal(ci.n_momentum, 0);
}

/* A checkpoint written before the run keys existed (no limit_train,
 * limit_test, max_batches, data) still validates, for eval, fold and
 * --resume alike; run_keys tells which are absent, their fields hold the
 * defaults. */
static void test_older_run_keys(void **state)
{
    (void)state;
    write_model(g_good, "f8", SNN_MPBN_CHANNEL, 1);
    const char *keys[] = {"limit_train", "limit_test", "max_batches", "data"};
    for (size_t k = 0; k < 4; k++) {
        snn_st_file *f;
        assert_int_equal(snn_st_read(k ? g_bad : g_good, &f), SNN_OK);
        edit e = {"older", .key = keys[k]};
        write_edited(f, &e); /* g_bad, one key less each time */
        snn_st_free(f);
    }
    snn_ckpt_info ci;
    snn_status st;
    validate_file(g_bad, &ci, &st);
    if (st != SNN_OK) fail_msg("%s", snn_last_error());
    assert_true(ci.resumable);
    assert_int_equal(ci.run_keys & (SNN_RUN_LIMIT_TRAIN | SNN_RUN_LIMIT_TEST | SNN_RUN_MAX_BATCHES |
                                    SNN_RUN_DATA),
                     0);
    assert_int_equal(ci.run_keys & (SNN_RUN_ARCH | SNN_RUN_EPOCHS | SNN_RUN_LR),
                     SNN_RUN_ARCH | SNN_RUN_EPOCHS | SNN_RUN_LR);
    assert_int_equal(ci.limit_train, 0);
    assert_int_equal(ci.max_batches, 0);
    assert_string_equal(ci.data, "");
    snn_model *m;
    if (snn_model_load(g_bad, &m) != SNN_OK) fail_msg("load: %s", snn_last_error());
    snn_model_free(m);
}

/* The kind check names what was found and what the command takes. */
static void test_kind_messages(void **state)
{
    (void)state;
    write_model(g_good, "f8", SNN_MPBN_NONE, 0);
    assert_int_equal(snn_file_expect_kind(g_good, SNN_KIND_BIT(SNN_KIND_CHECKPOINT), "fold"), SNN_OK);
    assert_int_equal(snn_file_expect_kind("/nonexistent/x", SNN_KIND_BIT(SNN_KIND_CHECKPOINT), "fold"),
                     SNN_OK);
    assert_int_equal(snn_file_expect_kind(g_good, SNN_KIND_BIT(SNN_KIND_DEPLOY), "eval --device ref"),
                     SNN_ERR_FORMAT);
    char want[512];
    snprintf(want, sizeof want,
             "%s is a checkpoint (safetensors); eval --device ref takes a deploy image (.snn)", g_good);
    assert_string_equal(snn_last_error(), want);
    FILE *fp = fopen(g_bad, "wb");
    assert_non_null(fp);
    fputs("\x1f\x8b not really gzip", fp);
    fclose(fp);
    assert_int_equal(snn_file_expect_kind(g_bad,
                                          SNN_KIND_BIT(SNN_KIND_CHECKPOINT) | SNN_KIND_BIT(SNN_KIND_DEPLOY),
                                          "info"),
                     SNN_ERR_FORMAT);
    snprintf(want, sizeof want,
             "%s is a file of unknown kind; info takes a checkpoint (safetensors) or a deploy image "
             "(.snn)",
             g_bad);
    assert_string_equal(snn_last_error(), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_not_resumable),
        cmocka_unit_test(test_older_run_keys),
        cmocka_unit_test(test_kind_messages),
    };
    return cmocka_run_group_tests_name("checkpoint", tests, setup, teardown);
}
