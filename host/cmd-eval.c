/*
 * cmd-eval.c - `mpbn eval`: accuracy of a model on the test split.
 *
 *   mpbn eval FILE [--data DIR] [--device D] [--limit N] [--batch N] [--threads N]
 *
 * A safetensors checkpoint runs on the float model (device `float`, the
 * default for checkpoints); a deploy image (.snn) goes to the device
 * backends through snn_eval_device() (host/eval-device.c; default device
 * `ref`). Last stdout line: {"accuracy":..,"images":..,"images_per_s":..,
 * "device":..}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "snn-train.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mpbn eval FILE [--data DIR] [--device float|ref|csim|sim|xrt] [--limit N]\n"
               "                 [--batch N] [--threads N]\n"
               "  FILE          a .safetensors checkpoint (device float) or a .snn deploy image\n");
}

/* safetensors: u64 header length, then the JSON header starting with '{'. */
static int is_safetensors(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char b[9];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    return n == sizeof b && b[8] == '{';
}

static int parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || x < lo || x > UINT32_MAX) {
        fprintf(stderr, "mpbn eval: bad value '%s' for %s (expected an integer >= %u)\n", s, opt, lo);
        return 0;
    }
    *v = (uint32_t)x;
    return 1;
}

int snn_cmd_eval(int argc, char **argv)
{
    const char *path = NULL, *data = NULL, *device = NULL, *unknown = NULL, *missing = NULL;
    const char *limit_s = NULL, *batch_s = NULL, *threads_s = NULL;
    /* First pass: the model file and the options of the float path. Options
     * of the device backends are theirs to parse (their full argv is passed
     * on), so an unknown option is only an error for a checkpoint. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        const char **slot = !strcmp(a, "--data")      ? &data
                            : !strcmp(a, "--device")  ? &device
                            : !strcmp(a, "--limit")   ? &limit_s
                            : !strcmp(a, "--batch")   ? &batch_s
                            : !strcmp(a, "--threads") ? &threads_s
                                                      : NULL;
        if (slot) {
            if (i + 1 >= argc) missing = a;
            else *slot = argv[++i];
        } else if (a[0] == '-') {
            if (!unknown) unknown = a;
        } else if (!path) {
            path = a;
        }
    }
    if (!path) {
        fprintf(stderr, "mpbn eval: no model file given\n");
        usage(stderr);
        return 2;
    }
    int ckpt = is_safetensors(path);
    if (!device) device = ckpt ? "float" : "ref";
    if (strcmp(device, "float")) return snn_eval_device(path, device, argc, argv);
    if (missing) {
        fprintf(stderr, "mpbn eval: option %s needs a value\n", missing);
        usage(stderr);
        return 2;
    }
    if (unknown) {
        fprintf(stderr, "mpbn eval: unknown option '%s'\n", unknown);
        usage(stderr);
        return 2;
    }
    uint32_t limit = 0, batch = 0, threads = 0;
    if ((limit_s && !parse_u32("--limit", limit_s, 0, &limit)) ||
        (batch_s && !parse_u32("--batch", batch_s, 1, &batch)) ||
        (threads_s && !parse_u32("--threads", threads_s, 0, &threads)))
        return 2;

    snn_cli_prefer_avx512_blas(argv - 1);
    snn_set_threads(threads);
    snn_model *m;
    if (snn_model_load(path, &m) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        return 1;
    }
    snn_dataset ds;
    if (snn_dataset_load(data, "t10k", limit, &ds) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        snn_model_free(m);
        return 1;
    }
    double t0 = snn_now(), acc = 0;
    snn_status st = snn_model_evaluate(m, &ds, batch, &acc);
    double secs = snn_now() - t0;
    int rc = 0;
    if (st != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        rc = 1;
    } else {
        fprintf(stderr, "mpbn eval: %s: accuracy %.4f on %u images (%.1f s)\n", path, acc, ds.n,
                secs);
        snn_json *j = snn_json_new();
        snn_json_num(j, "accuracy", acc);
        snn_json_int(j, "images", ds.n);
        snn_json_num(j, "images_per_s", secs > 0 ? ds.n / secs : 0);
        snn_json_str(j, "device", "float");
        snn_json_str(j, "model", path);
        snn_json_num(j, "seconds", secs);
        const char *s = snn_json_finish(j);
        if (s) puts(s);
        else rc = 1;
        snn_json_free(j);
    }
    snn_dataset_free(&ds);
    snn_model_free(m);
    return rc;
}
