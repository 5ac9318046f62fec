/*
 * cmd-train.c - `mpbn train`: train the spiking network on an IDX data set.
 *
 *   mpbn train [--data DIR] [--arch SPEC] [--T N] [--mpbn none|channel|element]
 *              [--epochs N] [--batch N] [--lr X] [--wd X] [--limit-train N]
 *              [--limit-test N] [--seed N] [--threads N] [--augment all|crop|flip|none]
 *              [--max-batches N] [--stop-after N] [--resume CKPT] --out FILE.safetensors
 *
 * Progress and one line per epoch go to stderr; the per-epoch figures also
 * go to <out>.csv (and <out>.png when gnuplot is installed), where <out> is
 * the output path without ".safetensors". Last stdout line: JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "progress.h"
#include "snn-train.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpbn train [--data DIR] [--arch SPEC] [--T N] [--mpbn none|channel|element]\n"
            "                  [--epochs N] [--batch N] [--lr X] [--wd X] [--limit-train N]\n"
            "                  [--limit-test N] [--seed N] [--threads N] [--augment all|crop|flip|none]\n"
            "                  [--max-batches N] [--stop-after N] [--resume CKPT]\n"
            "                  --out FILE.safetensors\n"
            "  --arch SPEC   layers, e.g. %s (cN conv, p pool, fN fc; output implied)\n"
            "  --T N         time steps (1..%u, default 4)\n"
            "  --mpbn MODE   membrane-potential BN: none, channel (default) or element\n"
            "  --epochs N    default 10 (or the checkpoint's total with --resume)\n"
            "  --lr X        initial learning rate, cosine to 0 (default 0.1)\n"
            "  --wd X        weight decay on conv/fc weights (default 5e-4)\n"
            "  --threads N   worker threads (default: all cores)\n"
            "  --augment A   all (random crop, pad 2, + horizontal flip; default), crop, flip, none\n"
            "  --max-batches N  batches per epoch at most (benchmarks)\n"
            "  --stop-after N   end after N epochs of this run; --resume continues it\n",
            SNN_ARCH_DEFAULT, SNN_MAX_T);
}

static int parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || x < lo || x > hi) {
        fprintf(stderr, "mpbn train: bad value '%s' for %s (expected an integer %u..%u)\n", s, opt,
                lo, hi);
        return 0;
    }
    *v = (uint32_t)x;
    return 1;
}

static int parse_f(const char *opt, const char *s, double lo, double hi, double *v)
{
    char *end;
    double x = strtod(s, &end);
    if (!*s || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "mpbn train: bad value '%s' for %s (expected a number %g..%g)\n", s, opt, lo,
                hi);
        return 0;
    }
    *v = x;
    return 1;
}

/* ---- per-epoch log: stderr line, CSV, PNG --------------------------------------- */

typedef struct epoch_log {
    char csv[4096 + 64];
    char png[4096 + 64];
    char *lines; /* CSV text so far */
    size_t len;
    int quiet;
    int have_gnuplot;
    int png_written;
} epoch_log;

static int have_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[4096];
    while (*path) {
        const char *e = strchr(path, ':');
        size_t n = e ? (size_t)(e - path) : strlen(path);
        if (n && n < sizeof buf - 10) {
            snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)n, path);
            if (access(buf, X_OK) == 0) return 1;
        }
        if (!e) break;
        path = e + 1;
    }
    return 0;
}

/* Draw the accuracy curve: gnuplot renders into a private temporary
 * directory, and the PNG then goes to its place like every other output
 * (snn_file_write_atomic: claimed, never over an input or a special file). */
static void plot(epoch_log *lg)
{
    if (!lg->have_gnuplot || strchr(lg->csv, '\'') || strchr(lg->csv, '\\')) return;
    char dir[] = "/tmp/mpbn-plot-XXXXXX";
    if (!mkdtemp(dir)) return;
    char tmp[sizeof dir + 16];
    snprintf(tmp, sizeof tmp, "%s/plot.png", dir);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (g) {
        fprintf(g,
                "set terminal png size 800,500\nset output '%s'\nset datafile separator ','\n"
                "set key bottom right\nset grid\nset xlabel 'epoch'\nset ylabel 'accuracy'\n"
                "plot '%s' using 1:3 skip 1 with linespoints title 'train', "
                "'' using 1:4 skip 1 with linespoints title 'test'\n",
                tmp, lg->csv);
        uint8_t *png = NULL;
        size_t n = 0;
        if (pclose(g) == 0 && snn_file_read(tmp, &png, &n) == SNN_OK && n > 0) {
            if (snn_file_write_atomic(lg->png, png, n, SNN_KIND_PNG) == SNN_OK)
                lg->png_written = 1;
            else
                fprintf(stderr, "mpbn train: warning: %s\n", snn_last_error());
        }
        free(png);
    }
    unlink(tmp);
    rmdir(dir);
}

static void on_epoch(const snn_train_epoch *e, void *ctx)
{
    epoch_log *lg = ctx;
    char t[32];
    snn_progress_fmt_time(e->seconds, t, sizeof t);
    if (!lg->quiet)
        fprintf(stderr,
                "epoch %u: train_loss %.4f train_acc %.4f test_acc %.4f lr %.5f time %s "
                "(%.0f img/s)\n",
                e->epoch, e->train_loss, e->train_acc, e->test_acc, e->lr, t, e->images_per_s);
    char line[256];
    int n = snprintf(line, sizeof line, "%u,%.6f,%.6f,%.6f,%.6g,%.3f,%.1f\n", e->epoch,
                     e->train_loss, e->train_acc, e->test_acc, e->lr, e->seconds, e->images_per_s);
    char *p = realloc(lg->lines, lg->len + (size_t)n + 1);
    if (!p) return;
    lg->lines = p;
    memcpy(lg->lines + lg->len, line, (size_t)n + 1);
    lg->len += (size_t)n;
    if (snn_file_write_atomic(lg->csv, lg->lines, lg->len, SNN_KIND_CSV) != SNN_OK) {
        fprintf(stderr, "mpbn train: warning: %s\n", snn_last_error());
        return;
    }
    plot(lg);
}

static void log_init(epoch_log *lg, const char *out, int resume, int quiet)
{
    memset(lg, 0, sizeof *lg);
    size_t n = strlen(out);
    const char *ext = ".safetensors";
    size_t ne = strlen(ext);
    if (n > ne && !strcmp(out + n - ne, ext)) n -= ne;
    if (n > 4096) n = 4096;
    snprintf(lg->csv, sizeof lg->csv, "%.*s.csv", (int)n, out);
    snprintf(lg->png, sizeof lg->png, "%.*s.png", (int)n, out);
    lg->quiet = quiet;
    const char *hdr = "epoch,train_loss,train_acc,test_acc,lr,seconds,images_per_s\n";
    uint8_t *old = NULL;
    size_t sz = 0;
    if (resume && snn_file_read(lg->csv, &old, &sz) == SNN_OK && sz >= strlen(hdr)) {
        lg->lines = (char *)old;
        lg->lines = realloc(lg->lines, sz + 1);
        lg->lines[sz] = 0;
        lg->len = sz;
    } else {
        free(old);
        snn_clear_error();
        lg->lines = strdup(hdr);
        lg->len = lg->lines ? strlen(hdr) : 0;
    }
    lg->have_gnuplot = have_gnuplot();
    if (!lg->have_gnuplot && !quiet)
        fprintf(stderr, "mpbn train: gnuplot not found: no accuracy plot (%s)\n", lg->png);
}

/* ---- OpenBLAS kernel choice ----------------------------------------------------------- */

/* OpenBLAS 0.3.21 (Debian 12) does not recognise AMD Zen 4/5 and falls back
 * to its AVX2 (Haswell) kernels; its AVX-512 (SkylakeX) sgemm needs ~25% less
 * CPU here. The kernel table is picked when the library loads, from
 * OPENBLAS_CORETYPE, so the CLI re-executes itself once with the variable
 * set. argv is main()'s argv (the subcommand's argv - 1). A user setting
 * OPENBLAS_CORETYPE (or MPBN_BLAS_REEXEC=0) keeps full control. */
void snn_cli_prefer_avx512_blas(char **argv)
{
    const char *no = getenv("MPBN_BLAS_REEXEC");
    if (getenv("OPENBLAS_CORETYPE") || (no && !strcmp(no, "0"))) return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return;
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)) return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with the default kernels */
}

/* ---- command -------------------------------------------------------------------------- */

int snn_cmd_train(int argc, char **argv)
{
    snn_cli_prefer_avx512_blas(argv - 1);
    snn_train_opts o;
    snn_train_opts_default(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-augment")) {
            o.augment = 0;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            o.quiet = 1;
            continue;
        }
        if (a[0] != '-' || a[1] != '-') {
            fprintf(stderr, "mpbn train: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mpbn train: option %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        double d;
        uint32_t u;
        int ok = 1;
        if (!strcmp(a, "--data")) o.data_dir = v;
        else if (!strcmp(a, "--arch")) {
            snn_arch arch;
            if (snn_arch_parse(v, &arch) != SNN_OK) {
                fprintf(stderr, "mpbn train: %s\n", snn_last_error());
                return 2;
            }
            o.arch = v;
        } else if (!strcmp(a, "--T")) ok = parse_u32(a, v, 1, SNN_MAX_T, &o.T);
        else if (!strcmp(a, "--mpbn")) {
            if (snn_mpbn_mode_parse(v, &o.mpbn) != SNN_OK) {
                fprintf(stderr, "mpbn train: %s\n", snn_last_error());
                return 2;
            }
        } else if (!strcmp(a, "--epochs")) ok = parse_u32(a, v, 1, 100000, &o.epochs);
        else if (!strcmp(a, "--batch")) ok = parse_u32(a, v, 2, 65536, &o.batch);
        else if (!strcmp(a, "--lr")) {
            ok = parse_f(a, v, 0, 100, &d);
            o.lr = d;
        } else if (!strcmp(a, "--wd")) {
            ok = parse_f(a, v, 0, 1, &d);
            o.weight_decay = d;
        } else if (!strcmp(a, "--limit-train")) ok = parse_u32(a, v, 0, UINT32_MAX, &o.limit_train);
        else if (!strcmp(a, "--limit-test")) ok = parse_u32(a, v, 0, UINT32_MAX, &o.limit_test);
        else if (!strcmp(a, "--seed")) {
            ok = parse_u32(a, v, 0, UINT32_MAX, &u);
            o.seed = u;
        } else if (!strcmp(a, "--threads")) ok = parse_u32(a, v, 0, 1024, &o.threads);
        else if (!strcmp(a, "--max-batches")) ok = parse_u32(a, v, 0, UINT32_MAX, &o.max_batches);
        else if (!strcmp(a, "--stop-after")) ok = parse_u32(a, v, 0, UINT32_MAX, &o.stop_after);
        else if (!strcmp(a, "--augment")) {
            if (!strcmp(v, "all")) o.augment = SNN_AUG_CROP | SNN_AUG_FLIP;
            else if (!strcmp(v, "crop")) o.augment = SNN_AUG_CROP;
            else if (!strcmp(v, "flip")) o.augment = SNN_AUG_FLIP;
            else if (!strcmp(v, "none")) o.augment = 0;
            else {
                fprintf(stderr, "mpbn train: bad value '%s' for --augment (expected all, crop, "
                        "flip or none)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--resume")) o.resume = v;
        else if (!strcmp(a, "--out")) o.out = v;
        else {
            fprintf(stderr, "mpbn train: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (!ok) return 2;
    }
    if (!o.out) {
        fprintf(stderr, "mpbn train: --out FILE.safetensors is required\n");
        usage(stderr);
        return 2;
    }
    epoch_log lg;
    log_init(&lg, o.out, o.resume != NULL, o.quiet);
    /* Claim every output before hours of training: the data set is never an
     * output, a second trainer on the same --out fails here, and a device
     * node, directory or file of another kind is refused. */
    snn_dataset_note_inputs(o.data_dir);
    if (snn_output_claim(o.out, SNN_KIND_CHECKPOINT) != SNN_OK ||
        snn_output_claim(lg.csv, SNN_KIND_CSV) != SNN_OK ||
        (lg.have_gnuplot && snn_output_claim(lg.png, SNN_KIND_PNG) != SNN_OK)) {
        fprintf(stderr, "mpbn train: %s\n", snn_last_error());
        free(lg.lines);
        return 1;
    }
    snn_train_result r;
    snn_status st = snn_train_run(&o, on_epoch, &lg, &r);
    free(lg.lines);
    if (st != SNN_OK) {
        fprintf(stderr, "mpbn train: %s\n", snn_last_error()[0] ? snn_last_error() : snn_status_str(st));
        return 1;
    }
    snn_json *j = snn_json_new();
    snn_json_num(j, "test_acc", r.test_acc);
    snn_json_num(j, "train_acc", r.train_acc);
    snn_json_num(j, "train_loss", r.train_loss);
    snn_json_num(j, "train_images_per_s", r.train_images_per_s);
    snn_json_int(j, "epochs", r.epochs);
    snn_json_num(j, "seconds", r.seconds);
    snn_json_str(j, "out", o.out);
    const char *s = snn_json_finish(j);
    if (s) puts(s);
    snn_json_free(j);
    return s ? 0 : 1;
}
