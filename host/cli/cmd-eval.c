/*
 * cmd-eval.c - `mpbn eval`: accuracy of a model on the test split.
 *
 *   mpbn eval FILE [--device D] [--threads N] [data and device options]
 *
 * The options are one table (host/cli/opts.h); the data and device options are
 * the fragment eval shares with compare and bench (SNN_OPTS_DEVICE), parsed
 * here once and handed to snn_eval_device() for a deploy image.
 *
 * A safetensors checkpoint runs on the float model (device `float`, the
 * default for checkpoints); a deploy image (.snn) goes to the device
 * backends through snn_eval_device() (host/cli/eval-device.c; default device
 * `ref`). Last stdout line: {"accuracy":..,"images":..,"images_per_s":..,
 * "device":..}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "estimate.h"
#include "opts.h"
#include "snn-dev.h"
#include "train/snn-train.h"

/* Progress of the float evaluation: one update per batch. */
typedef struct float_progress {
    snn_progress p;
    char extra[32];
} float_progress;

static void on_float_batch(uint32_t done, uint64_t correct, void *ctx)
{
    float_progress *fp = ctx;
    snprintf(fp->extra, sizeof fp->extra, "acc %.4f", done ? (double)correct / done : 0.0);
    snn_progress_update(&fp->p, done, fp->extra);
}

int snn_cmd_eval(int argc, char **argv)
{
    const char *path = NULL, *data = NULL, *device = NULL;
    uint32_t limit = 0, threads = 0;
    snn_dev_opts dev;
    snn_dev_opts_init(&dev);
    char device_help[256];
    snprintf(device_help, sizeof device_help,
             "float (the float model of a checkpoint), or a device of this build for a deploy "
             "image: %s",
             snn_dev_names());
    snn_opt tab[] = {
        SNN_O_STR("--device", "D", &device, device_help,
                  .def = "float for a checkpoint, ref for a deploy image"),
        SNN_O_U32("--threads", "N", &threads, 0, 1024, "float: worker threads (0 = all cores)"),
        SNN_OPTS_DEVICE(&dev, &data, &limit),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "eval",
        .synopsis = "FILE [options]",
        .about = "Accuracy on the test split of FILE: a .safetensors checkpoint (float model) or a "
                 ".snn deploy image (any device).",
        .opts = tab,
        .pos_name = "model file",
        .pos = &path,
        .min_pos = 1,
        .max_pos = 1,
    };
    int prc = snn_opts_run(&spec, argc, argv);
    if (prc != SNN_OPTS_GO) return prc;
    int ckpt = snn_file_kind_of(path) == SNN_KIND_CHECKPOINT, device_given = device != NULL;
    if (!device) device = ckpt ? "float" : "ref";
    if (strcmp(device, "float")) {
        /* the device backends read deploy images: name any other kind of file */
        char consumer[96];
        snprintf(consumer, sizeof consumer, "eval --device %s", device);
        unsigned want = SNN_KIND_BIT(SNN_KIND_DEPLOY);
        if (!device_given) want |= SNN_KIND_BIT(SNN_KIND_CHECKPOINT);
        if (snn_file_expect_kind(path, want, device_given ? consumer : "eval") != SNN_OK) {
            fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
            return 1;
        }
        return snn_eval_device(path, device, data, limit, &dev, snn_opts_given(&spec, "--batch"));
    }
    for (const snn_opt *o = tab; o->kind != SNN_OPT_END; o++)
        if (o->given && (o->flags & SNN_OPTF_DEVICE))
            return snn_opts_usage_error(&spec, "%s is an option of the device backends, not of "
                                        "--device float", o->name);
    /* the float model's own batch (its workspace) unless --batch says */
    uint32_t batch = snn_opts_given(&spec, "--batch") ? dev.batch : 0;

    snn_cli_prefer_avx512_blas(argv - 1);
    snn_set_threads(threads);
    snn_model *m;
    if (snn_file_expect_kind(path, SNN_KIND_BIT(SNN_KIND_CHECKPOINT), "eval --device float") !=
            SNN_OK ||
        snn_model_load(path, &m) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        return 1;
    }
    snn_dataset ds;
    if (snn_dataset_load(data, "t10k", limit, &ds) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        snn_model_free(m);
        return 1;
    }
    /* Estimate first (a custom --data set may be large), then a progress
     * line per batch. */
    double macs = 0;
    for (uint32_t l = 0; l < snn_model_n_layers(m); l++) {
        snn_layer_info li;
        if (snn_model_layer(m, l, &li) == SNN_OK)
            macs += snn_est_dense_macs(li.kind, li.in_c, li.in_c * li.in_h * li.in_w, li.out_c,
                                       li.out_h, li.out_w);
    }
    snn_warn_long_run("eval", "float", ds.n,
                      snn_est_float_image_seconds(SNN_EST_FLOAT_EVAL, macs,
                                                  snn_model_get_config(m)->T),
                      "--limit N evaluates the first N test images only");
    float_progress fp = {.extra = ""};
    snn_progress_begin(&fp.p, "eval float", ds.n, "img");
    double t0 = snn_now(), acc = 0;
    snn_status st = snn_model_evaluate_cb(m, &ds, batch, on_float_batch, &fp, &acc);
    double secs = snn_now() - t0;
    snn_progress_end(&fp.p, st == SNN_OK ? fp.extra : NULL);
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
        if (snn_json_print(j) != 0) rc = 1;
    }
    snn_dataset_free(&ds);
    snn_model_free(m);
    return rc;
}
