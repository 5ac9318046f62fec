/*
 * cmd-fold.c - `mpbn fold`: checkpoint -> deploy image (docs/fold.md).
 *
 *   mpbn fold CKPT.safetensors --out MODEL.snn [--check N] [--data DIR] [--force]
 *
 * Folds BN and the input normalisation into the weights and a per-step bias,
 * MPBN into per-neuron thresholds (polarity bit for negative scales, constant
 * neurons for zero ones), quantises and writes the image atomically.
 * --check N runs the unfolded and the folded float networks on N test images
 * and counts differing spikes (docs/fold.md, "float check").
 * Last stdout line: {"out":..,"bytes":..,"layers":..,"negative":..,...}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "deploy/snn-deploy.h"
#include "estimate.h"
#include "fold/snn-fold.h"
#include "io/safetensors.h"
#include "io/snn-data.h"
#include "opts.h"

/* Progress of --check: one update per chunk of images. */
typedef struct check_progress {
    snn_progress p;
    char extra[64];
} check_progress;

static void on_check_chunk(uint32_t done, const snn_fold_check_result *r, void *ctx)
{
    check_progress *cp = ctx;
    snprintf(cp->extra, sizeof cp->extra, "differing spikes %llu, unexplained %llu",
             (unsigned long long)r->differing, (unsigned long long)r->unexplained);
    snn_progress_update(&cp->p, done, cp->extra);
}

int snn_cmd_fold(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *data = NULL;
    uint32_t check = 0;
    int force = 0;
    snn_opt tab[] = {
        SNN_O_STR("--out", "MODEL.snn", &out, "deploy image to write (docs/deploy-image.md)",
                  .flags = SNN_OPTF_REQUIRED),
        SNN_O_U32("--check", "N", &check, 0, 1000000,
                  "compare unfolded and folded float spikes on N test images (0 = no check)"),
        SNN_O_STR("--data", "DIR", &data, "IDX data set directory for --check",
                  .def = SNN_DATA_DEFAULT_DIR),
        SNN_O_FORCE(&force),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "fold",
        .synopsis = "CKPT.safetensors --out MODEL.snn [options]",
        .about = "Fold BN into the weights and MPBN into per-neuron thresholds, quantise to "
                 "int8, write the deploy image.",
        .opts = tab,
        .pos_name = "checkpoint",
        .pos = &in,
        .min_pos = 1,
        .max_pos = 1,
    };
    int prc = snn_opts_run(&spec, argc, argv);
    if (prc != SNN_OPTS_GO) return prc;
    if (force) snn_io_allow_replace(1);

    if (snn_file_expect_kind(in, SNN_KIND_BIT(SNN_KIND_CHECKPOINT), "fold") != SNN_OK) {
        fprintf(stderr, "mpbn fold: %s\n", snn_last_error());
        return 1;
    }
    snn_st_file *st = NULL;
    snn_fold_net *f = NULL;
    uint8_t *img = NULL;
    size_t size = 0;
    snn_quant_report rep;
    snn_fold_check_result cr;
    snn_dataset ds = {0};
    int rc = 1;
    double t0 = snn_now();
    snn_io_note_input(in);
    if (check) snn_dataset_note_inputs(data);
    if (snn_output_claim(out, SNN_KIND_DEPLOY) != SNN_OK) {
        fprintf(stderr, "mpbn fold: --out %s\n", snn_last_error());
        goto done;
    }
    if (snn_st_read(in, &st) != SNN_OK || snn_fold_from_st(st, &f) != SNN_OK) {
        /* the reader's and the validator's messages start with the path */
        fprintf(stderr, "mpbn fold: %s\n", snn_last_error());
        goto done;
    }
    if (snn_fold_quantize(f, &img, &size, &rep) != SNN_OK) {
        fprintf(stderr, "mpbn fold: %s: quantising: %s\n", in, snn_last_error());
        goto done;
    }
    fprintf(stderr,
            "mpbn fold: %s -> %s: %u layers, mpbn %s, %zu bytes; %u negative-scale and %u constant "
            "neurons, %u thresholds clamped, %u bias-limited channels\n",
            in, out, f->n_layers, f->mpbn, size, f->n_negative, f->n_constant, rep.th_clamped,
            rep.bias_limited);
    if (check) {
        if (snn_dataset_load(data, "t10k", check, &ds) != SNN_OK) {
            fprintf(stderr, "mpbn fold: --check: %s\n", snn_last_error());
            goto done;
        }
        if (ds.c != f->in_c || ds.h != f->in_h || ds.w != f->in_w) {
            fprintf(stderr, "mpbn fold: --check: images are %ux%ux%u, the model expects %ux%ux%u\n",
                    ds.c, ds.h, ds.w, f->in_c, f->in_h, f->in_w);
            goto done;
        }
        double macs = 0;
        for (uint32_t l = 0; l < f->n_layers; l++) {
            const snn_fold_layer *fl = &f->layers[l];
            macs += snn_est_dense_macs(fl->kind, fl->in_c, fl->n_in, fl->out_c, fl->out_h,
                                       fl->out_w);
        }
        snn_warn_long_run("fold", "--check", ds.n,
                          snn_est_float_image_seconds(SNN_EST_FOLD_CHECK, macs, f->T),
                          "a smaller --check N checks fewer images");
        check_progress cp = {.extra = ""};
        snn_progress_begin(&cp.p, "fold --check", ds.n, "img");
        snn_status cs = snn_fold_check_cb(st, f, ds.pixels, ds.n, 1e-4, &cr, on_check_chunk, &cp);
        snn_progress_end(&cp.p, cs == SNN_OK ? cp.extra : NULL);
        if (cs != SNN_OK) {
            fprintf(stderr, "mpbn fold: --check: %s\n", snn_last_error());
            goto done;
        }
        fprintf(stderr,
                "mpbn fold: float check on %u images: %llu of %llu neuron-steps differ (%llu at the "
                "threshold within 1e-4, %llu propagated, %llu unexplained; largest |MPBN(u)-Vth| "
                "of a first disagreement %.2g), %u predictions differ\n",
                ds.n, (unsigned long long)cr.differing, (unsigned long long)cr.neuron_steps,
                (unsigned long long)cr.primary, (unsigned long long)cr.propagated,
                (unsigned long long)cr.unexplained, cr.worst_margin, cr.pred_differing);
    }
    /* The deploy image is written only once it is known good: a failed
     * --check leaves no .snn behind (and an existing one untouched). */
    if (check && cr.unexplained) {
        fprintf(stderr,
                "mpbn fold: the float check found disagreements not explained by rounding; "
                "%s not written\n",
                out);
        goto done;
    }
    if (snn_file_write_atomic(out, img, size, SNN_KIND_DEPLOY) != SNN_OK) {
        fprintf(stderr, "mpbn fold: %s\n", snn_last_error());
        goto done;
    }
    snn_json *j = snn_json_new();
    snn_json_str(j, "checkpoint", in);
    snn_json_str(j, "out", out);
    snn_json_int(j, "bytes", (int64_t)size);
    snn_json_int(j, "layers", f->n_layers);
    snn_json_str(j, "mpbn", f->mpbn);
    snn_json_int(j, "negative", f->n_negative);
    snn_json_int(j, "constant", f->n_constant);
    snn_json_int(j, "th_clamped", rep.th_clamped);
    snn_json_int(j, "bias_limited", rep.bias_limited);
    snn_json_num(j, "acc_bound_fraction", rep.max_acc_bound);
    if (check) {
        snn_json_int(j, "check_images", ds.n);
        snn_json_int(j, "neuron_steps", (int64_t)cr.neuron_steps);
        snn_json_int(j, "differing_spikes", (int64_t)cr.differing);
        snn_json_int(j, "primary", (int64_t)cr.primary);
        snn_json_int(j, "propagated", (int64_t)cr.propagated);
        snn_json_int(j, "unexplained", (int64_t)cr.unexplained);
        snn_json_int(j, "pred_differing", cr.pred_differing);
        snn_json_num(j, "worst_margin", cr.worst_margin);
    }
    snn_json_num(j, "seconds", snn_now() - t0);
    rc = snn_json_print(j);
done:
    snn_dataset_free(&ds);
    free(img);
    snn_fold_free(f);
    snn_st_free(st);
    return rc;
}
