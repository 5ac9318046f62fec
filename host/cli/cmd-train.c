/*
 * cmd-train.c - `mpbn train`: train the spiking network on an IDX data set.
 *
 *   mpbn train [options] --out FILE.safetensors   (mpbn help train lists them)
 *
 * Progress and one line per epoch go to stderr; the per-epoch figures also
 * go to <out>.csv (and <out>.png when gnuplot is installed), where <out> is
 * the output path without ".safetensors". A last stderr line names both
 * files; the last stdout line is JSON, with "csv" and (when this run drew the
 * plot) "png" among its keys.
 *
 * --resume continues the run a checkpoint holds with its stored options;
 * an option given on the command line must agree with the stored one.
 * SIGINT/SIGTERM end the run between two batches: the unfinished epoch is
 * dropped, the last checkpoint (the last finished epoch) stays, and the
 * command exits 130 (SIGINT) or 143 (SIGTERM) after saying which epoch the
 * checkpoint holds. A second signal ends the process at once (the
 * checkpoint is written atomically, so it is never half-written).
 *
 * Under mpirun (`mpirun -n N mpbn train ...`, a build with MPI) the N
 * processes train one run data-parallel: --batch is the global batch, each
 * rank takes batch/N images of it; rank 0 alone claims and writes the
 * checkpoint, the CSV and the plot, prints progress and the JSON line
 * (docs/trainer.md "Several processes (MPI)").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/snn-mpi.h"
#include "opts.h"
#include "train/snn-train.h"

/* ---- options ---------------------------------------------------------------------------- */

static snn_status parse_arch(const char *v, void *field)
{
    snn_arch arch;
    snn_status st = snn_arch_parse(v, &arch);
    if (st == SNN_OK) *(const char **)field = v;
    return st;
}

static snn_status parse_mpbn(const char *v, void *field)
{
    return snn_mpbn_mode_parse(v, (snn_mpbn_mode *)field);
}

/* --bn-stats global|local */
static const uint32_t bn_stats_values[] = {0, 1};

/* --augment none|all|LIST */
static snn_status parse_augment(const char *v, void *field)
{
    return snn_augment_parse(v, (uint32_t *)field);
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
        /* an 800x500 plot is tens of KiB; 64 MiB is far beyond any */
        if (pclose(g) == 0 && snn_file_read(tmp, (uint64_t)64 << 20, &png, &n) == SNN_OK && n > 0) {
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
                "epoch %u: train_loss %.4f train_acc %.4f test_acc %.4f train_rate %.4f lr %.5f "
                "time %s (%.0f img/s)\n",
                e->epoch, e->train_loss, e->train_acc, e->test_acc, e->train_rate, e->lr, t,
                e->images_per_s);
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

/* The epoch log has one short line per epoch; a larger file is not ours. */
#define EPOCH_CSV_MAX_BYTES ((uint64_t)16 << 20)

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
    if (resume && snn_file_read(lg->csv, EPOCH_CSV_MAX_BYTES, &old, &sz) == SNN_OK &&
        sz >= strlen(hdr)) {
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

/* ---- SIGINT / SIGTERM ------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

/* The first SIGINT/SIGTERM sets stop_signal (the trainer reads it between
 * batches); the handler is then reset, so a second one ends the process. */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
    snn_train_opts o;
    snn_train_opts_default(&o);
    int no_augment = 0, force = 0;
    uint32_t local_stats = 0;
    snn_opt tab[] = {
        SNN_O_STR("--data", "DIR", &o.data_dir, "IDX data set directory (train and t10k splits)",
                  .def = SNN_DATA_DEFAULT_DIR),
        SNN_O_FUNC("--arch", "SPEC", &o.arch, parse_arch,
                   "hidden layers, comma-separated: cN conv 3x3 with N channels, p 2x2 pooling, "
                   "fN fully connected with N outputs; the output layer is implied",
                   .def = SNN_ARCH_DEFAULT),
        SNN_O_U32("--T", "N", &o.T, 1, SNN_MAX_T, "time steps"),
        SNN_O_FUNC("--mpbn", "MODE", &o.mpbn, parse_mpbn, "membrane-potential BN",
                   .choices = "none|channel|element", .def = "channel"),
        SNN_O_U32("--epochs", "N", &o.epochs, 1, 100000, "epochs in total",
                  .def = "10, or the checkpoint's total with --resume"),
        SNN_O_U32("--batch", "N", &o.batch, 2, 65536, "training images per step"),
        SNN_O_DOUBLE("--lr", "X", &o.lr, 0, 100, "initial learning rate, cosine to 0"),
        SNN_O_DOUBLE("--wd", "X", &o.weight_decay, 0, 1, "weight decay on conv/fc weights"),
        SNN_O_U32("--limit-train", "N", &o.limit_train, 0, UINT32_MAX,
                  "first N training images (0 = all)"),
        SNN_O_U32("--limit-test", "N", &o.limit_test, 0, UINT32_MAX,
                  "first N test images (0 = all)"),
        SNN_O_U64("--seed", "N", &o.seed, 0, UINT32_MAX,
                  "seed of the initial weights, the shuffle and the augmentation"),
        SNN_O_U32("--threads", "N", &o.threads, 0, 1024,
                  "worker threads (0 = all cores; under mpirun: per rank, 0 = the host's cores "
                  "over its ranks)"),
        SNN_O_ENUM("--bn-stats", "S", &local_stats, "global|local", bn_stats_values,
                   "under mpirun (--batch is then the global batch, each rank takes "
                   "batch/ranks images of it): BN/MPBN batch statistics summed over all ranks "
                   "(global: the run equals one process with the same --batch) or each rank's "
                   "own (local: fewer messages, statistics of batch/ranks images); no effect "
                   "in one process",
                   .def = "global"),
        SNN_O_FUNC("--augment", "A", &o.augment, parse_augment,
                   "augmentation: none, or a comma-separated list of: flip = horizontal flip of "
                   "half the images (fine for clothing, wrong for digits or letters: a mirrored "
                   "digit is another symbol); crop = random shift by up to 2 pixels; erase = "
                   "random erasing (half the images get a black rectangle of 2-40% of the "
                   "image); all = crop,flip",
                   .def = "none, or the checkpoint's with --resume"),
        SNN_O_FLAG("--no-augment", &no_augment, "the same as --augment none"),
        SNN_O_DOUBLE("--rate-reg", "X", &o.rate_reg, 0, 1000,
                     "spike-count regulariser: adds X * R to the loss, R = the LIF layers' "
                     "firing rate weighted by fan-out (synaptic operations over their dense "
                     "count, 0..1); 0 = off"),
        SNN_O_DOUBLE("--label-smoothing", "E", &o.label_smoothing, 0, 0.999,
                     "label smoothing: the loss's target is 1 - E on the label and E / classes "
                     "on every class; 0 = off (the reported train loss is the plain "
                     "cross-entropy)"),
        SNN_O_U32("--max-batches", "N", &o.max_batches, 0, UINT32_MAX,
                  "batches per epoch at most (0 = all; benchmarks)"),
        SNN_O_U32("--stop-after", "N", &o.stop_after, 0, UINT32_MAX,
                  "end after N epochs of this run (0 = run to the total); --resume continues"),
        SNN_O_STR("--resume", "CKPT", &o.resume,
                  "continue the run this checkpoint holds, with its options (data, arch, T, "
                  "mpbn, epochs, batch, lr, wd, limits, seed, augment, rate-reg, label-smoothing, "
                  "max-batches): one given "
                  "again must agree with it"),
        SNN_O_STR("--out", "FILE", &o.out,
                  "checkpoint to write (.safetensors); the per-epoch figures go to <out>.csv "
                  "and <out>.png",
                  .flags = SNN_OPTF_REQUIRED),
        SNN_O_FORCE(&force),
        SNN_O_FLAG("--quiet", &o.quiet, "no progress, no epoch lines, no run summary"),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "train",
        .synopsis = "[options] --out FILE.safetensors",
        .about = "Train the spiking network with BN and MPBN on the CPU (surrogate-gradient BPTT).\n"
                 "Progress and one line per epoch on stderr; the last stdout line is JSON.",
        .opts = tab,
    };
    int prc = snn_opts_run(&spec, argc, argv);
    if (prc != SNN_OPTS_GO) return prc;
    if (no_augment) o.augment = 0;
    o.local_stats = (int)local_stats;
    if (force) snn_io_allow_replace(1);
    /* the options that shape the run, as given: --resume checks them */
    static const struct {
        const char *name;
        uint32_t bit;
    } run_opts[] = {
        {"--data", SNN_RUN_DATA},       {"--arch", SNN_RUN_ARCH},
        {"--T", SNN_RUN_T},             {"--mpbn", SNN_RUN_MPBN},
        {"--epochs", SNN_RUN_EPOCHS},   {"--batch", SNN_RUN_BATCH},
        {"--lr", SNN_RUN_LR},           {"--wd", SNN_RUN_WD},
        {"--limit-train", SNN_RUN_LIMIT_TRAIN}, {"--limit-test", SNN_RUN_LIMIT_TEST},
        {"--seed", SNN_RUN_SEED},       {"--augment", SNN_RUN_AUGMENT},
        {"--no-augment", SNN_RUN_AUGMENT}, {"--max-batches", SNN_RUN_MAX_BATCHES},
        {"--rate-reg", SNN_RUN_RATE_REG}, {"--label-smoothing", SNN_RUN_LABEL_SMOOTHING},
    };
    for (size_t i = 0; i < sizeof run_opts / sizeof run_opts[0]; i++)
        if (snn_opts_given(&spec, run_opts[i].name)) o.given |= run_opts[i].bit;
    snn_cli_prefer_avx512_blas(argv - 1);
    /* MPI only under a launcher (after the re-execution above) */
    if (snn_mpi_init() != SNN_OK) {
        if (snn_mpi_launched_rank() == 0) fprintf(stderr, "mpbn train: %s\n", snn_last_error());
        return 1;
    }
    const uint32_t rank = snn_mpi_rank();
    epoch_log lg;
    memset(&lg, 0, sizeof lg);
    if (rank == 0) log_init(&lg, o.out, o.resume != NULL, o.quiet);
    /* Claim every output before hours of training: the data set is never an
     * output, a second trainer on the same --out fails here, and a device
     * node, directory or file of another kind is refused. Under mpirun rank 0
     * alone writes (and claims). The claim's outcome is agreed on: no rank
     * trains when rank 0 may not write. */
    snn_dataset_note_inputs(o.data_dir);
    int bad = rank == 0 && (snn_output_claim(o.out, SNN_KIND_CHECKPOINT) != SNN_OK ||
                            snn_output_claim(lg.csv, SNN_KIND_CSV) != SNN_OK ||
                            (lg.have_gnuplot && snn_output_claim(lg.png, SNN_KIND_PNG) != SNN_OK));
    if (bad) fprintf(stderr, "mpbn train: %s\n", snn_last_error());
    if (snn_mpi_agree(bad) >= 0) {
        free(lg.lines);
        return 1;
    }
    snn_train_result r;
    catch_stop_signals();
    o.stop = &stop_signal;
    snn_status st = snn_train_run(&o, on_epoch, &lg, &r);
    free(lg.lines);
    if (st != SNN_OK) {
        /* several ranks: the lowest one that failed reports, the others are silent */
        if (r.failed_rank == (int32_t)rank) {
            char who[32] = "";
            if (rank) snprintf(who, sizeof who, "rank %u: ", rank);
            fprintf(stderr, "mpbn train: %s%s\n", who,
                    snn_last_error()[0] ? snn_last_error() : snn_status_str(st));
        }
        return 1;
    }
    /* several ranks: a signal one of them got stops them all */
    const int got = stop_signal ? stop_signal : r.stop_signal;
    const int sig = got > 0 && got < 64 ? got : SIGINT;
    if (rank != 0) return r.interrupted ? 128 + sig : 0; /* rank 0 reports */
    if (r.interrupted) {
        if (r.last_ckpt)
            fprintf(stderr, "mpbn train: interrupted; last checkpoint epoch %u of %u (%s); "
                            "--resume %s continues\n",
                    r.epochs, r.epochs_total, r.last_ckpt, r.last_ckpt);
        else
            fprintf(stderr, "mpbn train: interrupted; no checkpoint written (no epoch finished)\n");
        return 128 + sig;
    }
    snn_json *j = snn_json_new();
    if (r.already_complete) {
        /* nothing was trained: only what the checkpoint holds, no new figures */
        if (r.test_acc >= 0) snn_json_num(j, "test_acc", r.test_acc);
        snn_json_int(j, "epochs", r.epochs);
        snn_json_int(j, "epochs_total", r.epochs_total);
        snn_json_bool(j, "already_complete", 1);
        snn_json_num(j, "rate_reg", r.rate_reg);
        snn_json_num(j, "label_smoothing", r.label_smoothing);
    } else {
        snn_json_num(j, "test_acc", r.test_acc);
        snn_json_num(j, "train_acc", r.train_acc);
        snn_json_num(j, "train_loss", r.train_loss);
        snn_json_num(j, "train_images_per_s", r.train_images_per_s);
        snn_json_int(j, "epochs", r.epochs);
        snn_json_num(j, "seconds", r.seconds);
        snn_json_num(j, "rate_reg", r.rate_reg);
        snn_json_num(j, "label_smoothing", r.label_smoothing);
        snn_json_num(j, "train_rate", r.train_rate);
    }
    /* the processes that trained (a finished run's line has only what the
     * checkpoint holds) */
    if (!r.already_complete) snn_json_int(j, "ranks", r.ranks);
    if (r.ranks > 1 && !r.already_complete) {
        snn_json_int(j, "threads_per_rank", r.threads);
        snn_json_str(j, "bn_stats", o.local_stats ? "local" : "global");
        snn_json_int(j, "allreduce_bytes_per_step", (int64_t)(r.comm_bytes_per_step + 0.5));
        snn_json_num(j, "allreduce_calls_per_step", r.comm_calls_per_step);
        snn_json_int(j, "grad_bytes_per_step", (int64_t)(r.grad_bytes_per_step + 0.5));
        snn_json_num(j, "comm_seconds", r.comm_seconds);
    }
    snn_json_str(j, "out", o.out);
    /* Where the per-epoch figures are: the CSV (written this run or by the
     * runs it resumes) and the plot if this run drew one. */
    struct stat sb;
    int have_csv = stat(lg.csv, &sb) == 0 && S_ISREG(sb.st_mode);
    if (have_csv) snn_json_str(j, "csv", lg.csv);
    if (lg.png_written) snn_json_str(j, "png", lg.png);
    if (have_csv)
        fprintf(stderr, "mpbn train: per-epoch figures in %s%s%s%s\n", lg.csv,
                lg.png_written ? ", accuracy plot in " : "", lg.png_written ? lg.png : "",
                lg.png_written      ? ""
                : lg.have_gnuplot   ? " (no plot drawn)"
                                    : " (no plot: gnuplot not found)");
    return snn_json_print(j);
}
