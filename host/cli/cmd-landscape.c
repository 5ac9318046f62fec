/*
 * cmd-landscape.c - `mpbn landscape`: the 1-D loss landscape of one or more
 * checkpoints along a filter-normalised random direction (the MPBN paper's
 * Fig. 3; Li et al. 2018). The core is host/train/landscape.c.
 *
 *   mpbn landscape CKPT [CKPT2 ...] --out FILE.csv [options]
 *
 * For every checkpoint: the eval-mode cross-entropy on the first --limit
 * training images at --points alphas in [-range, range] (plus 0, +-0.25 and
 * +-0.5, the points of the sharpness figures), along a direction drawn with
 * --seed. Writes FILE.csv (alpha, then loss and accuracy per checkpoint)
 * and FILE.png (one curve per checkpoint; gnuplot), both atomically; the last
 * stdout line is JSON with the figures of every checkpoint.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "estimate.h"
#include "opts.h"
#include "train/landscape.h"

#define MAX_CKPTS 16

typedef struct curve {
    const char *path;
    char label[96];
    char mpbn[16];
    double *loss, *acc;
    snn_landscape_stats st;
    uint32_t filters;
    double seconds;
} curve;

typedef struct prog_ctx {
    snn_progress p;
    char extra[96];
} prog_ctx;

static void on_point(uint32_t i, double alpha, double loss, double acc, void *ctx)
{
    prog_ctx *pc = ctx;
    snprintf(pc->extra, sizeof pc->extra, "alpha %+.3f loss %.4f acc %.4f", alpha, loss, acc);
    snn_progress_update(&pc->p, i + 1, pc->extra);
}

/* "runs/fmnist-channel.safetensors" -> "fmnist-channel" (no character that
 * would break the CSV header or the plot's titles). */
static void make_label(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    const char *ext = ".safetensors";
    if (n > strlen(ext) && !strcmp(b + n - strlen(ext), ext)) n -= strlen(ext);
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        out[i] = (c == ',' || c == '"' || c == '\'' || c == '\\' || c < 0x20 || c == 0x7f) ? '_' : c;
    }
    out[n] = 0;
    if (!n) snprintf(out, cap, "model");
}

static int have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* gnuplot renders into a private temporary directory; the PNG then goes to
 * its place like every other output (snn_file_write_atomic). Returns 1 if
 * the plot was written. */
/* Colour and dash by MPBN mode (as scripts/plot-ablation.gp: none dashed,
 * channel solid, element dotted), a point type per curve. */
static int plot(const char *csv, const char *png, const curve *cv, uint32_t n_curves, double range,
                uint32_t limit)
{
    if (strchr(csv, '\'') || strchr(csv, '\\')) return 0;
    char dir[] = "/tmp/mpbn-landscape-XXXXXX";
    if (!mkdtemp(dir)) return 0;
    char tmp[sizeof dir + 16];
    snprintf(tmp, sizeof tmp, "%s/plot.png", dir);
    int ok = 0;
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (g) {
        fprintf(g,
                "set terminal pngcairo size 900,550 font 'sans,11' noenhanced\n"
                "set output '%s'\nset datafile separator ','\n"
                "set title \"1-D loss landscape along a filter-normalised random direction\\n"
                "eval-mode cross-entropy on %u training images\"\n"
                "set xlabel 'alpha (theta + alpha d)'\nset ylabel 'training loss'\n"
                "set grid\nset key top center\nset xrange [%g:%g]\nplot ",
                tmp, limit, -range, range);
        static const int pts[] = {7, 5, 9, 11, 13, 4, 6, 8, 10, 12};
        for (uint32_t i = 0; i < n_curves; i++) {
            const char *md = cv[i].mpbn;
            int lc = !strcmp(md, "none") ? 1 : !strcmp(md, "channel") ? 2 : 3;
            int dt = !strcmp(md, "none") ? 2 : !strcmp(md, "channel") ? 1 : 3;
            fprintf(g, "%s'%s' using 1:%u with linespoints lw 2 lc %d dt %d pt %d ps 0.7 "
                       "title columnhead(%u)",
                    i ? ", " : "", csv, 2 * i + 2, lc, dt, pts[i % 10], 2 * i + 2);
        }
        fprintf(g, "\n");
        uint8_t *buf = NULL;
        size_t n = 0;
        if (pclose(g) == 0 && snn_file_read(tmp, (uint64_t)64 << 20, &buf, &n) == SNN_OK && n > 0) {
            if (snn_file_write_atomic(png, buf, n, SNN_KIND_PNG) == SNN_OK)
                ok = 1;
            else
                fprintf(stderr, "mpbn landscape: warning: %s\n", snn_last_error());
        }
        free(buf);
    }
    unlink(tmp);
    rmdir(dir);
    return ok;
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    if (!*buf) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        char *p = realloc(*buf, *cap * 2 + (size_t)n);
        if (!p) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = p;
        *cap = *cap * 2 + (size_t)n;
    }
}

static void json_fig(char **b, size_t *len, size_t *cap, const char *key, double v, int comma)
{
    if (isfinite(v))
        append(b, len, cap, "\"%s\":%.6g%s", key, v, comma ? "," : "");
    else
        append(b, len, cap, "\"%s\":null%s", key, comma ? "," : "");
}

int snn_cmd_landscape(int argc, char **argv)
{
    const char *pos[MAX_CKPTS] = {0}, *data = NULL, *out = NULL;
    snn_model *models[MAX_CKPTS] = {0};
    uint32_t points = 21, limit = 2000, threads = 0, batch = 100;
    uint64_t seed = 1;
    double range = 1.0;
    int force = 0, no_plot = 0;
    snn_opt tab[] = {
        SNN_O_STR("--data", "DIR", &data, "IDX data set directory (its training split is used)",
                  .def = SNN_DATA_DEFAULT_DIR),
        SNN_O_U32("--limit", "N", &limit, 0, UINT32_MAX,
                  "first N training images the loss is averaged over (0 = all)"),
        SNN_O_U32("--points", "N", &points, 3, 1001,
                  "evenly spaced alphas in [-range, range]; 0, +-0.25 and +-0.5 are added when "
                  "inside the range"),
        SNN_O_DOUBLE("--range", "X", &range, 0.001, 100, "alpha runs over [-X, X]"),
        SNN_O_U64("--seed", "N", &seed, 0, UINT32_MAX,
                  "seed of the random direction (the same for every checkpoint)"),
        SNN_O_U32("--batch", "N", &batch, 1, 65536, "images per forward pass"),
        SNN_O_U32("--threads", "N", &threads, 0, 1024, "worker threads (0 = all cores)"),
        SNN_O_STR("--out", "FILE", &out,
                  "the curves as CSV (FILE.csv: alpha, then loss and accuracy per checkpoint); "
                  "the plot goes to FILE.png",
                  .flags = SNN_OPTF_REQUIRED),
        SNN_O_FLAG("--no-plot", &no_plot, "write the CSV only"),
        SNN_O_FORCE(&force),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "landscape",
        .synopsis = "CKPT [CKPT2 ...] --out FILE.csv [options]",
        .about = "1-D loss landscape (Li et al. 2018; the MPBN paper's Fig. 3) of each checkpoint "
                 "along a filter-normalised random direction d: every conv filter and fc output "
                 "neuron of d is scaled to the norm of its weights; BN/MPBN parameters, running "
                 "statistics and the output bias get no direction. The loss is the cross-entropy "
                 "of the network in eval mode (running statistics) on the training images.\n"
                 "Progress on stderr; the last stdout line is JSON with the sharpness figures.",
        .opts = tab,
        .pos_name = "checkpoint",
        .pos = pos,
        .min_pos = 1,
        .max_pos = MAX_CKPTS,
    };
    int prc = snn_opts_run(&spec, argc, argv);
    if (prc != SNN_OPTS_GO) return prc;
    size_t ol = strlen(out);
    if (ol <= 4 || strcmp(out + ol - 4, ".csv"))
        return snn_opts_usage_error(&spec, "--out must name a .csv file (got '%s'); the plot "
                                    "goes next to it as .png", out);
    if (force) snn_io_allow_replace(1);
    /* before any output is claimed: the re-executed process claims them */
    snn_cli_prefer_avx512_blas(argv - 1);
    const uint32_t n_ckpt = (uint32_t)spec.n_pos;
    char png[4096 + 8];
    snprintf(png, sizeof png, "%.*s.png", (int)(ol - 4 > 4096 ? 4096 : ol - 4), out);

    /* Every input is noted and checked before anything is claimed or run. */
    for (uint32_t i = 0; i < n_ckpt; i++) snn_io_note_input(pos[i]);
    snn_dataset_note_inputs(data);
    for (uint32_t i = 0; i < n_ckpt; i++) {
        struct stat sb;
        if (stat(pos[i], &sb) != 0) {
            fprintf(stderr, "mpbn landscape: %s: no such checkpoint\n", pos[i]);
            return 1;
        }
        if (!S_ISREG(sb.st_mode)) {
            fprintf(stderr, "mpbn landscape: %s is not a regular file (a checkpoint is)\n", pos[i]);
            return 1;
        }
        if (snn_file_expect_kind(pos[i], SNN_KIND_BIT(SNN_KIND_CHECKPOINT), "landscape") != SNN_OK) {
            fprintf(stderr, "mpbn landscape: %s\n", snn_last_error());
            return 1;
        }
    }
    int gp = !no_plot && have_gnuplot();
    if (snn_output_claim(out, SNN_KIND_CSV) != SNN_OK ||
        (gp && snn_output_claim(png, SNN_KIND_PNG) != SNN_OK)) {
        fprintf(stderr, "mpbn landscape: %s\n", snn_last_error());
        return 1;
    }
    if (!no_plot && !gp) fprintf(stderr, "mpbn landscape: gnuplot not found: no plot (%s)\n", png);

    snn_set_threads(threads);
    snn_dataset ds;
    if (snn_dataset_load(data, "train", limit, &ds) != SNN_OK) {
        fprintf(stderr, "mpbn landscape: %s\n", snn_last_error());
        return 1;
    }
    double *alphas = malloc((points + 5) * sizeof(double));
    curve *cv = calloc(n_ckpt, sizeof *cv);
    int rc = 1;
    if (!alphas || !cv) {
        fprintf(stderr, "mpbn landscape: out of memory\n");
        goto done;
    }
    const uint32_t na = snn_landscape_grid(points, range, alphas);
    /* every checkpoint is read (and validated) before the first curve */
    for (uint32_t i = 0; i < n_ckpt; i++)
        if (snn_model_load(pos[i], &models[i]) != SNN_OK) {
            fprintf(stderr, "mpbn landscape: %s\n", snn_last_error());
            goto done;
        }
    for (uint32_t i = 0; i < n_ckpt; i++) {
        cv[i].path = pos[i];
        make_label(pos[i], cv[i].label, sizeof cv[i].label);
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(cv[k].label, cv[i].label)) {
                /* the same name in two directories: "runs/x" and "fixtures/x" */
                char parent[96] = "";
                const char *e = strrchr(pos[i], '/'), *b = e;
                while (b && b > pos[i] && b[-1] != '/') b--;
                if (e && b && e > b) {
                    char tmpl[4096];
                    snprintf(tmpl, sizeof tmpl, "%.*s", (int)(e - b), b);
                    make_label(tmpl, parent, sizeof parent);
                }
                char old[96];
                snprintf(old, sizeof old, "%s", cv[i].label);
                if (parent[0] && strcmp(parent, "."))
                    snprintf(cv[i].label, sizeof cv[i].label, "%.40s/%.50s", parent, old);
                else
                    snprintf(cv[i].label, sizeof cv[i].label, "%.80s#%u", old, i + 1);
                break;
            }
        if (!(cv[i].loss = calloc(na, sizeof(double))) || !(cv[i].acc = calloc(na, sizeof(double)))) {
            fprintf(stderr, "mpbn landscape: out of memory\n");
            goto done;
        }
    }
    /* a run estimated at more than a few minutes is announced first */
    double est = 0;
    for (uint32_t i = 0; i < n_ckpt; i++) {
        double macs = 0;
        for (uint32_t l = 0; l < snn_model_n_layers(models[i]); l++) {
            snn_layer_info li;
            if (snn_model_layer(models[i], l, &li) == SNN_OK)
                macs += snn_est_dense_macs(li.kind, li.in_c, li.in_c * li.in_h * li.in_w, li.out_c,
                                           li.out_h, li.out_w);
        }
        est += snn_est_float_image_seconds(SNN_EST_FLOAT_EVAL, macs,
                                           snn_model_get_config(models[i])->T);
    }
    snn_warn_long_run("landscape", "float", (uint64_t)ds.n * na * n_ckpt, est / n_ckpt,
                      "--limit N and --points N shorten it");
    fprintf(stderr, "mpbn landscape: %u checkpoint%s, %u alphas in [%g, %g], %u training images, "
                    "direction seed %llu\n",
            n_ckpt, n_ckpt == 1 ? "" : "s", na, -range, range, ds.n, (unsigned long long)seed);
    for (uint32_t i = 0; i < n_ckpt; i++) {
        snn_model *m = models[i];
        const snn_model_config *cfg = snn_model_get_config(m);
        snprintf(cv[i].mpbn, sizeof cv[i].mpbn, "%s", snn_mpbn_mode_str(cfg->mpbn));
        snn_landscape_dir d;
        if (snn_landscape_direction(m, seed, &d) != SNN_OK) {
            fprintf(stderr, "mpbn landscape: %s: %s\n", pos[i], snn_last_error());
            goto done;
        }
        cv[i].filters = d.n_filters;
        char lab[128];
        snprintf(lab, sizeof lab, "landscape %u/%u %s", i + 1, n_ckpt, cv[i].label);
        prog_ctx pc = {.extra = ""};
        snn_progress_begin(&pc.p, lab, na, "pts");
        double t0 = snn_now();
        snn_status st = snn_landscape_eval(m, &ds, &d, alphas, na, batch, on_point, &pc,
                                           cv[i].loss, cv[i].acc);
        cv[i].seconds = snn_now() - t0;
        snn_progress_end(&pc.p, st == SNN_OK ? pc.extra : NULL);
        snn_landscape_dir_free(&d);
        if (st != SNN_OK) {
            fprintf(stderr, "mpbn landscape: %s: %s\n", pos[i], snn_last_error());
            goto done;
        }
        snn_landscape_stats_of(alphas, cv[i].loss, na, &cv[i].st);
        const snn_landscape_stats *s = &cv[i].st;
        fprintf(stderr,
                "mpbn landscape: %s (mpbn %s): loss %.4f at alpha 0, min %.4f at %+.3f; "
                "L(+-0.25) %.4f/%.4f, L(+-0.5) %.4f/%.4f; rise over the min %.4f (0.25), %.4f "
                "(0.5) (%.1f s)\n",
                cv[i].label, cv[i].mpbn, s->loss0, s->min_loss, s->alpha_min, s->loss_m025,
                s->loss_p025, s->loss_m05, s->loss_p05, s->rise_025, s->rise_05, cv[i].seconds);
    }

    /* CSV: alpha, then loss and accuracy of each checkpoint */
    size_t len = 0, cap = 4096;
    char *csv = malloc(cap);
    if (csv) csv[0] = 0;
    append(&csv, &len, &cap, "alpha");
    for (uint32_t i = 0; i < n_ckpt; i++)
        append(&csv, &len, &cap, ",%s (%s),acc %s", cv[i].label, cv[i].mpbn, cv[i].label);
    append(&csv, &len, &cap, "\n");
    for (uint32_t a = 0; a < na; a++) {
        append(&csv, &len, &cap, "%.6g", alphas[a]);
        for (uint32_t i = 0; i < n_ckpt; i++)
            append(&csv, &len, &cap, isfinite(cv[i].loss[a]) ? ",%.6f,%.6f" : ",inf,%.6f",
                   cv[i].loss[a], cv[i].acc[a]);
        append(&csv, &len, &cap, "\n");
    }
    if (!csv) {
        fprintf(stderr, "mpbn landscape: out of memory\n");
        goto done;
    }
    if (snn_file_write_atomic(out, csv, len, SNN_KIND_CSV) != SNN_OK) {
        fprintf(stderr, "mpbn landscape: %s\n", snn_last_error());
        free(csv);
        goto done;
    }
    free(csv);
    int png_ok = gp && plot(out, png, cv, n_ckpt, range, ds.n);
    if (gp && !png_ok) fprintf(stderr, "mpbn landscape: warning: no plot drawn (%s)\n", png);
    fprintf(stderr, "mpbn landscape: curves in %s%s%s\n", out, png_ok ? ", plot in " : "",
            png_ok ? png : "");

    /* JSON: one object per checkpoint under "checkpoints" */
    len = 0;
    cap = 1024;
    char *arr = malloc(cap);
    append(&arr, &len, &cap, "[");
    for (uint32_t i = 0; i < n_ckpt; i++) {
        const snn_landscape_stats *s = &cv[i].st;
        char esc[8300], lesc[256];
        snn_json_escape(esc, sizeof esc, cv[i].path);
        snn_json_escape(lesc, sizeof lesc, cv[i].label);
        append(&arr, &len, &cap, "%s{\"file\":%s,\"label\":%s,\"mpbn\":\"%s\",", i ? "," : "",
               esc, lesc, cv[i].mpbn);
        json_fig(&arr, &len, &cap, "loss_at_0", s->loss0, 1);
        double acc0 = NAN;
        for (uint32_t a = 0; a < na; a++)
            if (alphas[a] == 0) acc0 = cv[i].acc[a];
        json_fig(&arr, &len, &cap, "acc_at_0", acc0, 1);
        json_fig(&arr, &len, &cap, "min_loss", s->min_loss, 1);
        json_fig(&arr, &len, &cap, "alpha_min", s->alpha_min, 1);
        json_fig(&arr, &len, &cap, "max_loss", s->max_loss, 1);
        json_fig(&arr, &len, &cap, "loss_m0.5", s->loss_m05, 1);
        json_fig(&arr, &len, &cap, "loss_m0.25", s->loss_m025, 1);
        json_fig(&arr, &len, &cap, "loss_p0.25", s->loss_p025, 1);
        json_fig(&arr, &len, &cap, "loss_p0.5", s->loss_p05, 1);
        json_fig(&arr, &len, &cap, "rise_0.25", s->rise_025, 1);
        json_fig(&arr, &len, &cap, "rise_0.5", s->rise_05, 1);
        append(&arr, &len, &cap, "\"filters\":%u,", cv[i].filters);
        json_fig(&arr, &len, &cap, "seconds", cv[i].seconds, 0);
        append(&arr, &len, &cap, "}");
    }
    append(&arr, &len, &cap, "]");
    if (!arr) {
        fprintf(stderr, "mpbn landscape: out of memory\n");
        goto done;
    }
    snn_json *j = snn_json_new();
    snn_json_int(j, "points", na);
    snn_json_num(j, "range", range);
    snn_json_int(j, "images", ds.n);
    snn_json_int(j, "seed", (int64_t)seed);
    snn_json_str(j, "loss", "eval-mode cross-entropy, training images");
    snn_json_raw(j, "checkpoints", arr);
    snn_json_str(j, "csv", out);
    if (png_ok) snn_json_str(j, "png", png);
    free(arr);
    rc = snn_json_print(j);
done:
    if (cv)
        for (uint32_t i = 0; i < n_ckpt; i++) {
            free(cv[i].loss);
            free(cv[i].acc);
        }
    free(cv);
    free(alphas);
    for (uint32_t i = 0; i < MAX_CKPTS; i++) snn_model_free(models[i]);
    snn_dataset_free(&ds);
    return rc;
}
