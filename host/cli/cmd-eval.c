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
 * `ref`; --device xrt --cards all|LIST runs on several cards at once). Last
 * stdout line: {"accuracy":..,"images":..,"images_per_s":..,
 * "device":..,"ranks":..}.
 *
 * Under mpirun (`mpirun -n N mpbn eval ...`, a build with MPI) the ranks
 * split the test images in contiguous blocks and rank 0 sums the correct
 * counts (and, on a device, the counters): the same accuracy as one process,
 * images_per_s over the slowest rank's time. --device xrt takes card `local
 * rank` of each host unless --cards or --device-index is given. The float
 * model runs --threads per rank (0: the host's cores over its ranks).
 * docs/running-on-alveo.md, "Several processes (MPI)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/snn-mpi.h"
#include "estimate.h"
#include "opts.h"
#include "snn-dev.h"
#include "train/snn-train.h"

/* Progress of the float evaluation: one update per batch. */
typedef struct float_progress {
    snn_progress p;
    char extra[32];
    uint64_t correct; /* so far */
} float_progress;

static void on_float_batch(uint32_t done, uint64_t correct, void *ctx)
{
    float_progress *fp = ctx;
    fp->correct = correct;
    snprintf(fp->extra, sizeof fp->extra, "acc %.4f", done ? (double)correct / done : 0.0);
    snn_progress_update(&fp->p, done, fp->extra);
}

/* MPI only under a launcher: the ranks split the images. 1 on failure. */
static int init_mpi(void)
{
    if (snn_mpi_init() == SNN_OK) return 0;
    if (snn_mpi_launched_rank() == 0) fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
    return 1;
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
            if (snn_mpi_launched_rank() == 0) fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
            return 1;
        }
        if (init_mpi()) return 1;
        snn_rank_card(device, &dev, snn_opts_given(&spec, "--device-index"));
        return snn_eval_device(path, device, data, limit, &dev, snn_opts_given(&spec, "--batch"));
    }
    for (const snn_opt *o = tab; o->kind != SNN_OPT_END; o++)
        if (o->given && (o->flags & SNN_OPTF_DEVICE))
            return snn_opts_usage_error(&spec, "%s is an option of the device backends, not of "
                                        "--device float", o->name);
    /* the float model's own batch (its workspace) unless --batch says */
    uint32_t batch = snn_opts_given(&spec, "--batch") ? dev.batch : 0;

    snn_cli_prefer_avx512_blas(argv - 1);
    if (init_mpi()) return 1; /* after the re-execution above */
    const uint32_t rank = snn_mpi_rank(), ranks = snn_mpi_size();
    if (threads == 0 && snn_mpi_local_size() > 1) {
        /* several ranks on this host: its cores shared out */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (uint32_t)cores / snn_mpi_local_size() : 1;
        if (threads == 0) threads = 1;
    }
    snn_set_threads(threads);
    snn_model *m = NULL;
    snn_dataset ds = {0};
    char who[32] = "";
    if (ranks > 1) snprintf(who, sizeof who, "rank %u: ", rank);
    int bad = snn_file_expect_kind(path, SNN_KIND_BIT(SNN_KIND_CHECKPOINT),
                                   "eval --device float") != SNN_OK ||
              snn_model_load(path, &m) != SNN_OK ||
              snn_dataset_load(data, "t10k", limit, &ds) != SNN_OK;
    if (snn_rank_agree("eval", bad, who, snn_last_error())) {
        snn_dataset_free(&ds);
        snn_model_free(m);
        return 1;
    }
    /* this rank's share: a view into the whole set */
    const uint32_t n_all = ds.n;
    uint32_t first, share;
    snn_rank_share(n_all, &first, &share);
    snn_dataset view = ds;
    view.n = share;
    view.pixels = ds.pixels + (size_t)first * ds.c * ds.h * ds.w;
    view.labels = ds.labels + first;
    /* Estimate first (a custom --data set may be large), then a progress
     * line per batch. */
    double macs = 0;
    for (uint32_t l = 0; l < snn_model_n_layers(m); l++) {
        snn_layer_info li;
        if (snn_model_layer(m, l, &li) == SNN_OK)
            macs += snn_est_dense_macs(li.kind, li.in_c, li.in_c * li.in_h * li.in_w, li.out_c,
                                       li.out_h, li.out_w);
    }
    if (rank == 0)
        snn_warn_long_run("eval", "float", share,
                          snn_est_float_image_seconds(SNN_EST_FLOAT_EVAL, macs,
                                                      snn_model_get_config(m)->T),
                          "--limit N evaluates the first N test images only");
    float_progress fp = {.extra = ""};
    char label[48] = "eval float";
    if (ranks > 1) snprintf(label, sizeof label, "eval float (rank 0 of %u)", ranks);
    snn_progress_begin(&fp.p, label, share, "img");
    if (rank != 0) fp.p.mode = SNN_PROGRESS_OFF;
    snn_mpi_barrier(); /* the ranks start together */
    double t0 = snn_now(), acc = 0;
    /* (a rank without images, when there are fewer than ranks, waits) */
    snn_status st = share || ranks == 1
                        ? snn_model_evaluate_cb(m, &view, batch, on_float_batch, &fp, &acc)
                        : SNN_OK;
    double secs = snn_now() - t0;
    snn_progress_end(&fp.p, st == SNN_OK ? fp.extra : NULL);
    int rc = 1;
    if (!snn_rank_agree("eval", st != SNN_OK, who, snn_last_error())) {
        /* rank 0 sums the correct counts; the slowest rank's time */
        uint64_t cnt[2] = {fp.correct, share};
        double rate_sum = secs > 0 ? share / secs : 0;
        if (ranks > 1 && (snn_mpi_reduce_u64(cnt, 2, 0) != SNN_OK ||
                          snn_mpi_reduce_f64(&rate_sum, 1, 0) != SNN_OK ||
                          snn_mpi_allreduce_max_f64(&secs, 1) != SNN_OK)) {
            fprintf(stderr, "mpbn eval: %s%s\n", who, snn_last_error());
            snn_mpi_abort(1);
        }
        if (ranks > 1) acc = cnt[1] ? (double)cnt[0] / cnt[1] : 0;
        rc = 0;
        if (rank == 0) {
            char on_ranks[32] = "";
            if (ranks > 1) snprintf(on_ranks, sizeof on_ranks, ", %u ranks", ranks);
            fprintf(stderr, "mpbn eval: %s: accuracy %.4f on %u images (%.1f s%s)\n", path, acc,
                    n_all, secs, on_ranks);
            snn_json *j = snn_json_new();
            snn_json_num(j, "accuracy", acc);
            snn_json_int(j, "images", n_all);
            snn_json_num(j, "images_per_s", secs > 0 ? n_all / secs : 0);
            snn_json_str(j, "device", "float");
            snn_json_str(j, "model", path);
            snn_json_num(j, "seconds", secs);
            snn_json_int(j, "ranks", ranks);
            if (ranks > 1) snn_json_num(j, "images_per_s_sum", rate_sum);
            if (snn_json_print(j) != 0) rc = 1;
        }
    }
    snn_dataset_free(&ds);
    snn_model_free(m);
    return rc;
}
