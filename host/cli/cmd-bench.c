/*
 * cmd-bench.c - `mpbn bench`: throughput, latency, spikes, synaptic
 * operations and energy of a deploy image on every device.
 *
 *   mpbn bench MODEL.snn|CKPT.safetensors [--devices ref,csim,sim,xrt] [--random N] [--clock-mhz F]
 *              [--csv FILE] [--force] [data and device options]
 *
 * The data and device options (--data, --limit, --batch, --config, --xclbin,
 * --timeout-ms, ...) are the fragment bench shares with eval and compare
 * (host/cli/opts.h).
 *
 * Per device: one timed run over all images (images/s = images / wall time
 * inside snn_dev_run, host copies included), a latency measurement (runs of a
 * single image, median), the kernel's own counters averaged per image
 * (synaptic operations, events and spikes per layer -> spike rate = spikes /
 * (neurons * T); docs/numerics.md, "Counters"), accuracy when labels exist,
 * and the images whose output sums or prediction differ from the first
 * device's (must be 0: the backends are bit-exact).
 *
 *   cycle-counting devices (sim: RTL cycles; csim: kernel loop iterations)
 *        cycles per image, projected images/s and GSOP/s at --clock-mhz,
 *        latency_cycles (one image alone, the model loaded); both: the
 *        configuration of the layer pipeline; csim: its cycle model's
 *        per-stage cycles per image, the slowest stage (interval_cycles) and
 *        each stage's busy fraction of it; sim: the pipelines per card and
 *        the card's projection
 *   xrt  measured wall time and mean board power during the runs -> J/image
 *
 * Energy model (docs/energy.md, host/cli/energy.h): accumulate (AC),
 * multiply-accumulate (MAC) and SRAM access energies from Horowitz, ISSCC
 * 2014 (45 nm); the spiking
 * network's ACs and MACs against the dense MACs of the same architecture run
 * as a non-spiking network, as SNN papers compare them.
 *
 * Without --devices every backend in the build is tried (sim on the first
 * 64 images only) and one that cannot open (no card, no xclbin) is skipped
 * with a note ("skipped" in the JSON). A device named in --devices that
 * fails, or any device that fails after opening, does not stop the others:
 * the table, CSV and JSON report every device that ran, the table and the
 * JSON's "failed" list ({"device","error"}) those that failed, and the exit
 * status is 1. A device estimated to need more than a few minutes is
 * announced first (host/cli/estimate.h). Table on stdout, then the JSON line;
 * progress and notes on stderr. --csv writes one row per device and layer
 * (plots: scripts/plot-spike-rate.gp).
 *
 * Under mpirun (`mpirun -n N mpbn bench ...`, a build with MPI) every rank
 * runs every device on its contiguous share of the images (snn_rank_share;
 * xrt: card `local rank` of its host unless --cards or --device-index is
 * given) and the figures are summed over the ranks: accuracy, mismatches and
 * the counters per image are those of one process; images_per_s is all
 * images over the slowest rank's timed run, images_per_s_sum the sum of the
 * ranks' own rates, latency_ms the slowest rank's median; board power is
 * summed over the ranks' cards and joules_per_image is all ranks' energy over
 * all images. A device that fails on any rank fails (its error names the
 * rank). Rank 0 alone prints the table, the JSON and the CSV.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "common/snn-mpi.h"
#include "deploy/snn-deploy.h"
#include "energy.h"
#include "snn-pipe.h"
#include "estimate.h"
#include "fold/snn-fold.h"
#include "io/safetensors.h"
#include "io/snn-data.h"
#include "opts.h"
#include "snn-dev.h"

/* The RTL kernel's clock target (docs/rtl.md, constraints/snn_kernel.xdc). */
#define BENCH_CLOCK_MHZ 300.0
#define BENCH_MAX_DEVICES 8
#define BENCH_DEFAULT_LIMIT 1000u
#define BENCH_LATENCY_RUNS 32
#define BENCH_LATENCY_SECONDS 1.0
/* sim without --devices: a batch of 64 images, so that cycles_per_image is the
 * layer pipeline's steady state (issue: batches of >= 64) */
#define BENCH_SIM_DEFAULT_IMAGES 64

/* One rank's share of a device's timed run (rank 0 gathers every rank's). */
typedef struct bench_rank {
    double images, seconds;
    int32_t n_cards;
    snn_dev_card_stats cards[SNN_DEV_MAX_CARDS];
} bench_rank;

typedef struct bench_dev {
    char name[16];
    int ran;
    int failed;     /* named in --devices, or opened, and then failed: note = error */
    char note[768]; /* why it was skipped or failed */
    uint32_t images;
    double seconds, images_per_s, latency_s;
    double accuracy;               /* < 0: no labels */
    double synops[SNN_MAX_LAYERS]; /* per image */
    double spikes[SNN_MAX_LAYERS]; /* per image */
    double events[SNN_MAX_LAYERS]; /* per image: firing input neurons x fan-out */
    double synops_total, spikes_total, events_total;
    double cycles_per_image; /* 0: device counts no cycles */
    double latency_cycles;   /* one image alone, the model already loaded; 0: no cycles */
    double stage_cycles[SNN_DEV_STAGES]; /* csim: per image, per layer-pipeline stage */
    double interval_cycles;  /* csim: the slowest stage's cycles per image; 0: none */
    double watts, joules_per_image;
    double images_per_s_sum; /* several ranks: the sum of their own rates */
    double correct, cycles, joules; /* sums before finish_device (this rank's, then all) */
    int64_t mismatches; /* vs the first device that ran; -1: reference itself */
    bench_rank *per_rank; /* after finish_device, rank 0: every rank's share (ranks entries) */
    int n_cards;        /* xrt: cards it ran on; per card, what the timed run did there */
    snn_dev_card_stats cards[SNN_DEV_MAX_CARDS];
} bench_dev;

typedef struct bench_opts {
    const char *model, *data, *csv, *xclbin;
    char devices[128];
    int explicit_devices;
    uint32_t limit, random, batch, timeout_ms;
    int32_t device_index;
    int index_given; /* --device-index given (else, under mpirun, card = local rank) */
    double clock_mhz;
    snn_dev_opts dev; /* every device option as given (the fields above are copies) */
    int force;
} bench_opts;

/* Returns 0 to go on, else 1 with the exit status in *exit_code (0 for --help). */
static int parse_args(int argc, char **argv, bench_opts *o, int *exit_code)
{
    memset(o, 0, sizeof *o);
    o->limit = BENCH_DEFAULT_LIMIT;
    o->clock_mhz = BENCH_CLOCK_MHZ;
    snn_dev_opts_init(&o->dev);
    const char *devices = NULL;
    char devices_help[256];
    snprintf(devices_help, sizeof devices_help,
             "comma-separated devices to run; without it every device of this build (%s) is "
             "tried, sim on the first %u images, and one that cannot open is skipped with a note",
             snn_dev_names(), BENCH_SIM_DEFAULT_IMAGES);
    snn_opt tab[] = {
        SNN_O_STR("--devices", "LIST", &devices, devices_help, .def = "all"),
        SNN_O_RANDOM(&o->random),
        SNN_O_DOUBLE("--clock-mhz", "F", &o->clock_mhz, 0.001, 1e6,
                     "clock of the projected figures of the cycle-counting devices (the RTL "
                     "target by default)"),
        SNN_O_STR("--csv", "FILE", &o->csv,
                  "one row per device and layer: spikes, rate, synops, events"),
        SNN_O_FORCE(&o->force),
        SNN_OPTS_DEVICE(&o->dev, &o->data, &o->limit),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "bench",
        .synopsis = "MODEL.snn|CKPT.safetensors [options]",
        .about = "Throughput, latency, spikes, synaptic operations and energy of a deploy image on "
                 "every device (docs/energy.md); for the kernels (csim, sim) their cycles per image "
                 "in configuration --config, csim's per stage; for the card (xrt) measured "
                 "images/s, latency, board power and uJ/image, per card with --cards. A "
                 ".safetensors checkpoint is folded in memory first (as `mpbn fold` would). Table "
                 "on stdout, then the JSON line.",
        .opts = tab,
        .pos_name = "model file",
        .pos = &o->model,
        .min_pos = 1,
        .max_pos = 1,
    };
    int rc = snn_opts_run(&spec, argc, argv);
    if (rc != SNN_OPTS_GO) {
        *exit_code = rc;
        return 1;
    }
    if (devices) {
        if (strlen(devices) >= sizeof o->devices) {
            *exit_code = snn_opts_usage_error(&spec, "bad --devices '%.64s...' (too long)", devices);
            return 1;
        }
        snprintf(o->devices, sizeof o->devices, "%s", devices);
        o->explicit_devices = 1;
    } else {
        snprintf(o->devices, sizeof o->devices, "%s", snn_dev_names());
    }
    o->xclbin = o->dev.xclbin;
    o->batch = o->dev.batch;
    o->timeout_ms = o->dev.timeout_ms;
    o->index_given = snn_opts_given(&spec, "--device-index");
    o->device_index = o->dev.device_index;
    if (o->force) snn_io_allow_replace(1);
    return 0;
}

/* ---- one device ----------------------------------------------------------- */

static snn_status run_device(const bench_opts *o, const uint8_t *image, size_t image_size,
                             const snn_net *net, const uint8_t *pixels, const uint8_t *labels,
                             uint32_t n, bench_dev *r, uint8_t *results, const uint8_t *ref_results,
                             int32_t *preds, int *opened)
{
    snn_dev_opts d = o->dev;
    snn_dev_t *dev = NULL;
    *opened = 0;
    snn_status st = snn_dev_open(r->name, &d, &dev);
    if (st == SNN_OK) st = snn_dev_load(dev, image, image_size);
    if (st != SNN_OK) {
        snn_dev_close(dev);
        return st;
    }
    *opened = 1;
    const snn_deploy_hdr *h = net->hdr;
    size_t img = (size_t)h->in_c * h->in_h * h->in_w;
    size_t stride = snn_result_stride(h->n_classes, net->n_layers);

    /* Latency: single-image runs, median. Consecutive runs take the buffer
     * sets (on the card: the compute units of every card) in turn; a
     * set's first run places its buffers and, on a CU new to the model,
     * copies the model there: untimed runs first, one per set. */
    snn_dev_card_stats cw[SNN_DEV_MAX_CARDS];
    int ncw = snn_dev_card_stats_get(dev, cw, SNN_DEV_MAX_CARDS);
    uint32_t warm = 0;
    for (int i = 0; i < ncw && i < SNN_DEV_MAX_CARDS; i++) warm += 2 * cw[i].cus;
    if (ncw > 0 && warm < 4) warm = 4;
    for (uint32_t i = 0; i < warm && st == SNN_OK; i++) {
        int32_t p;
        st = snn_dev_run(dev, pixels + (size_t)(i % n) * img, 1, &p, NULL, NULL);
    }
    double lat[BENCH_LATENCY_RUNS];
    int n_lat = 0;
    double t_end = snn_now() + BENCH_LATENCY_SECONDS;
    while (st == SNN_OK && n_lat < BENCH_LATENCY_RUNS && (n_lat < 3 || snn_now() < t_end)) {
        double t0 = snn_now();
        int32_t p;
        snn_dev_stats a, b;
        snn_dev_get_stats(dev, &a);
        st = snn_dev_run(dev, pixels + (size_t)(n_lat % n) * img, 1, &p, NULL, NULL);
        if (st != SNN_OK) break;
        snn_dev_get_stats(dev, &b);
        lat[n_lat++] = snn_now() - t0;
        /* the first run loads the model; the later ones are one image alone */
        if (n_lat > 1) r->latency_cycles = (double)(b.cycles - a.cycles);
    }
    if (st == SNN_OK) {
        for (int i = 1; i < n_lat; i++) /* insertion sort, tiny */
            for (int j = i; j > 0 && lat[j] < lat[j - 1]; j--) {
                double t = lat[j];
                lat[j] = lat[j - 1];
                lat[j - 1] = t;
            }
        r->latency_s = lat[n_lat / 2];
    }

    /* Throughput: every image in one call (batched, double-buffered; on
     * several cards spread over all their compute units). */
    snn_dev_stats s0, s1;
    snn_dev_card_stats c0[SNN_DEV_MAX_CARDS];
    snn_dev_get_stats(dev, &s0);
    int nc = snn_dev_card_stats_get(dev, c0, SNN_DEV_MAX_CARDS);
    if (nc > SNN_DEV_MAX_CARDS) nc = SNN_DEV_MAX_CARDS;
    if (st == SNN_OK) {
        uint32_t cus = 0;
        for (int i = 0; i < nc; i++) cus += c0[i].cus;
        char per[48] = "";
        if (snn_mpi_size() > 1) snprintf(per, sizeof per, " (rank 0 of %u)", snn_mpi_size());
        if (snn_mpi_rank() != 0)
            ; /* rank 0 tells */
        else if (nc)
            fprintf(stderr, "mpbn bench: %s: %u images%s on %d card%s, %u compute unit%s...\n",
                    r->name, n, per, nc, nc == 1 ? "" : "s", cus, cus == 1 ? "" : "s");
        else
            fprintf(stderr, "mpbn bench: %s: %u images%s...\n", r->name, n, per);
        st = snn_dev_run(dev, pixels, n, preds, results, NULL);
    }
    snn_dev_get_stats(dev, &s1);
    r->n_cards = snn_dev_card_stats_get(dev, r->cards, SNN_DEV_MAX_CARDS);
    if (r->n_cards > nc) r->n_cards = nc;
    for (int i = 0; i < r->n_cards; i++) { /* the timed run's share */
        r->cards[i].images -= c0[i].images;
        r->cards[i].runs -= c0[i].runs;
        r->cards[i].joules -= c0[i].joules;
        r->cards[i].power_seconds -= c0[i].power_seconds;
    }
    snn_dev_close(dev);
    if (st != SNN_OK) return st;

    /* this rank's sums; finish_device adds the ranks' and divides */
    r->ran = 1;
    r->images = n;
    r->seconds = s1.seconds - s0.seconds;
    r->cycles = (double)(s1.cycles - s0.cycles);
    for (int s = 0; s < SNN_DEV_STAGES; s++)
        r->stage_cycles[s] = (double)(s1.stage_cycles[s] - s0.stage_cycles[s]);
    r->joules = s1.joules - s0.joules;
    r->watts = s1.watts; /* mean board power over the device's runs (sampled while they ran) */

    uint32_t L = net->n_layers, C = h->n_classes;
    uint32_t correct = 0;
    r->mismatches = ref_results ? 0 : -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *rec = results + (size_t)i * stride;
        uint32_t w[SNN_MAX_CLASSES + 1 + 3 * SNN_MAX_LAYERS];
        memcpy(w, rec, 4u * snn_result_words(C, L));
        for (uint32_t l = 0; l < L; l++) {
            r->spikes[l] += w[snn_result_spikes_word(C, L) + l];
            r->synops[l] += w[snn_result_synops_word(C, L) + l];
            r->events[l] += w[snn_result_events_word(C, L) + l];
        }
        if (labels && (int32_t)w[C] == (int32_t)labels[i]) correct++;
        if (ref_results && memcmp(rec, ref_results + (size_t)i * stride, 4u * (C + 1)) != 0)
            r->mismatches++;
    }
    r->correct = correct;
    r->accuracy = labels ? 0 : -1;
    return SNN_OK;
}

/* The device ran on every rank: sum the ranks' counts (every rank gets the
 * sums, so all exit with the same status), the slowest rank's time and
 * latency, gather each rank's share onto rank 0; then the per-image figures. */
static snn_status finish_device(bench_dev *r, uint32_t L)
{
    const uint32_t ranks = snn_mpi_size();
    const double rate = r->seconds > 0 ? r->images / r->seconds : 0;
    bench_rank mine;
    memset(&mine, 0, sizeof mine);
    mine.images = r->images, mine.seconds = r->seconds;
    mine.n_cards = r->n_cards < 0 ? 0 : r->n_cards > SNN_DEV_MAX_CARDS ? SNN_DEV_MAX_CARDS
                                                                        : r->n_cards;
    memcpy(mine.cards, r->cards, sizeof mine.cards);
    /* integers below 2^53 (counts, cycles): exact in doubles, in any order */
    enum { N_FIX = 7 + SNN_DEV_STAGES };
    double sum[N_FIX + 3 * SNN_MAX_LAYERS];
    sum[0] = r->images, sum[1] = r->correct, sum[2] = r->cycles, sum[3] = r->joules;
    sum[4] = r->watts, sum[5] = rate, sum[6] = r->mismatches > 0 ? (double)r->mismatches : 0;
    for (int s = 0; s < SNN_DEV_STAGES; s++) sum[7 + s] = r->stage_cycles[s];
    for (uint32_t l = 0; l < L; l++)
        sum[N_FIX + l] = r->spikes[l], sum[N_FIX + L + l] = r->synops[l],
        sum[N_FIX + 2 * L + l] = r->events[l];
    double mx[3] = {r->seconds, r->latency_s, r->latency_cycles};
    r->per_rank = snn_mpi_rank() == 0 ? calloc(ranks, sizeof *r->per_rank) : NULL;
    if (snn_mpi_rank() == 0 && !r->per_rank) snn_mpi_abort(1); /* out of memory: a few KB */
    snn_status st = snn_mpi_allreduce_f64(sum, N_FIX + 3 * L);
    if (st == SNN_OK) st = snn_mpi_allreduce_max_f64(mx, 3);
    if (st == SNN_OK) st = snn_mpi_gather(&mine, sizeof mine, r->per_rank, 0);
    if (st != SNN_OK) return st;
    const double n = sum[0];
    r->images = (uint32_t)n;
    r->correct = sum[1], r->cycles = sum[2], r->joules = sum[3], r->watts = sum[4];
    r->images_per_s_sum = sum[5];
    if (r->mismatches >= 0) r->mismatches = (int64_t)sum[6];
    r->seconds = mx[0], r->latency_s = mx[1], r->latency_cycles = mx[2];
    r->images_per_s = r->seconds > 0 ? n / r->seconds : 0;
    r->cycles_per_image = n > 0 ? r->cycles / n : 0;
    r->interval_cycles = 0;
    for (int s = 0; s < SNN_DEV_STAGES; s++) {
        r->stage_cycles[s] = n > 0 ? sum[7 + s] / n : 0;
        if (r->stage_cycles[s] > r->interval_cycles) r->interval_cycles = r->stage_cycles[s];
    }
    r->joules_per_image = r->joules > 0 && n > 0 ? r->joules / n : 0;
    r->spikes_total = r->synops_total = r->events_total = 0;
    for (uint32_t l = 0; l < L; l++) {
        r->spikes[l] = n > 0 ? sum[N_FIX + l] / n : 0;
        r->synops[l] = n > 0 ? sum[N_FIX + L + l] / n : 0;
        r->events[l] = n > 0 ? sum[N_FIX + 2 * L + l] / n : 0;
        r->spikes_total += r->spikes[l];
        r->synops_total += r->synops[l];
        r->events_total += r->events[l];
    }
    if (r->accuracy >= 0) r->accuracy = n > 0 ? r->correct / n : 0;
    return SNN_OK;
}

/* ---- output ------------------------------------------------------------------ */

/* The energy model (host/cli/energy.h) applied to one device's counters. */
static void estimate_energy(const snn_net *net, const bench_dev *r, snn_energy_est *e)
{
    snn_energy_estimate(net, r->synops, r->events, e);
}

static char *json_array(const double *v, uint32_t n, const int *valid)
{
    size_t cap = 32 + (size_t)n * 24;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t k = (size_t)snprintf(s, cap, "[");
    for (uint32_t i = 0; i < n; i++) {
        if (valid && !valid[i])
            k += (size_t)snprintf(s + k, cap - k, "%snull", i ? "," : "");
        else
            k += (size_t)snprintf(s + k, cap - k, "%s%.6g", i ? "," : "", v[i]);
    }
    snprintf(s + k, cap - k, "]");
    return s;
}

static void put_num_or_null(snn_json *j, const char *key, double v, int valid)
{
    if (valid)
        snn_json_num(j, key, v);
    else
        snn_json_raw(j, key, "null");
}

static char *device_json(const bench_opts *o, const snn_net *net, const bench_dev *r)
{
    snn_json *j = snn_json_new();
    if (!j) return NULL;
    uint32_t L = net->n_layers, T = net->hdr->timesteps;
    snn_json_str(j, "device", r->name);
    if (!strcmp(r->name, "sim") || !strcmp(r->name, "csim")) /* the configuration, default too */
        snn_json_str(j, "config", o->dev.config ? o->dev.config : SNN_PIPE_DEFAULT_CONFIG);
    snn_json_int(j, "images", r->images);
    snn_json_num(j, "seconds", r->seconds);
    snn_json_num(j, "images_per_s", r->images_per_s);
    snn_json_num(j, "latency_ms", r->latency_s * 1e3);
    put_num_or_null(j, "accuracy", r->accuracy, r->accuracy >= 0);
    if (r->mismatches >= 0) snn_json_int(j, "mismatches", r->mismatches);
    snn_json_num(j, "synops_per_image", r->synops_total);
    snn_json_num(j, "spikes_per_image", r->spikes_total);
    snn_json_num(j, "events_per_image", r->events_total);
    double rate[SNN_MAX_LAYERS];
    int valid[SNN_MAX_LAYERS];
    for (uint32_t l = 0; l < L; l++) {
        const snn_layer *ly = &net->layers[l];
        valid[l] = ly->kind != SNN_LAYER_OUT;
        rate[l] = valid[l] ? r->spikes[l] / ((double)ly->n_out * T) : 0;
    }
    char *a;
    if ((a = json_array(rate, L, valid))) snn_json_raw(j, "spike_rate", a), free(a);
    if ((a = json_array(r->spikes, L, NULL))) snn_json_raw(j, "spikes_per_layer", a), free(a);
    if ((a = json_array(r->synops, L, NULL))) snn_json_raw(j, "synops_per_layer", a), free(a);
    if ((a = json_array(r->events, L, NULL))) snn_json_raw(j, "events_per_layer", a), free(a);
    if (r->cycles_per_image > 0) {
        double ips = o->clock_mhz * 1e6 / r->cycles_per_image;
        snn_json_num(j, "cycles_per_image", r->cycles_per_image);
        snn_json_num(j, "clock_mhz", o->clock_mhz);
        snn_json_num(j, "projected_images_per_s", ips);
        snn_json_num(j, "projected_gsop_per_s", r->synops_total * ips / 1e9);
        put_num_or_null(j, "latency_cycles", r->latency_cycles, r->latency_cycles > 0);
        if (!strcmp(r->name, "sim")) {
            /* the layer pipeline: pipelines of this configuration per card
             * (Yosys budget, docs/rtl-pipeline.md), each a compute unit */
            const snn_pipe_config *pc =
                snn_pipe_config_find(o->dev.config ? o->dev.config : SNN_PIPE_DEFAULT_CONFIG);
            if (pc && pc->card_pipelines) {
                snn_json_str(j, "card", SNN_PIPE_CARD);
                snn_json_int(j, "pipelines", pc->card_pipelines);
                snn_json_num(j, "projected_images_per_s_card", ips * pc->card_pipelines);
            }
        } else if (r->interval_cycles > 0) {
            /* csim: the cycle model per stage (docs/hls-kernel.md) */
            double busy[SNN_DEV_STAGES];
            for (int s = 0; s < SNN_DEV_STAGES; s++) busy[s] = r->stage_cycles[s] / r->interval_cycles;
            snn_json_num(j, "interval_cycles", r->interval_cycles);
            if ((a = json_array(r->stage_cycles, SNN_DEV_STAGES, NULL)))
                snn_json_raw(j, "stage_cycles_per_image", a), free(a);
            if ((a = json_array(busy, SNN_DEV_STAGES, NULL)))
                snn_json_raw(j, "stage_busy", a), free(a);
        }
    }
    if (!strcmp(r->name, "xrt")) {
        snn_json_num(j, "wall_seconds", r->seconds);
        put_num_or_null(j, "board_watts", r->watts, r->watts > 0);
        put_num_or_null(j, "joules_per_image", r->joules_per_image, r->joules_per_image > 0);
        put_num_or_null(j, "uj_per_image", r->joules_per_image * 1e6, r->joules_per_image > 0);
    }
    const uint32_t ranks = snn_mpi_size();
    int n_cards = 0;
    for (uint32_t q = 0; q < ranks && r->per_rank; q++) n_cards += r->per_rank[q].n_cards;
    if (n_cards > 0) {
        /* per card (of every rank): its share of the images of the timed
         * run, its rate over its rank's run wall time (the cards run at
         * once), its board power */
        size_t cap = 64 + (size_t)n_cards * 340;
        char *a2 = malloc(cap);
        uint32_t cus = 0;
        if (a2) {
            size_t k = (size_t)sprintf(a2, "[");
            for (uint32_t q = 0, i = 0; q < ranks; q++)
                for (int ci = 0; ci < r->per_rank[q].n_cards; ci++, i++) {
                    const snn_dev_card_stats *c = &r->per_rank[q].cards[ci];
                    const double secs = r->per_rank[q].seconds;
                    char w[32] = "null", jpi[32] = "null", rk[24] = "";
                    if (c->power_seconds > 0 && c->joules > 0) {
                        snprintf(w, sizeof w, "%.6g", c->joules / c->power_seconds);
                        if (c->images) snprintf(jpi, sizeof jpi, "%.6g", c->joules / c->images);
                    }
                    if (ranks > 1) snprintf(rk, sizeof rk, ",\"rank\":%u", q);
                    char bdf[80];
                    snn_json_escape(bdf, sizeof bdf, c->bdf);
                    cus += c->cus;
                    k += (size_t)snprintf(a2 + k, cap - k,
                                          "%s{\"card\":%d,\"bdf\":%s,\"cus\":%u,\"images\":%llu,"
                                          "\"runs\":%llu,\"images_per_s\":%.6g,\"board_watts\":%s,"
                                          "\"joules_per_image\":%s%s}",
                                          i ? "," : "", (int)c->index, bdf, c->cus,
                                          (unsigned long long)c->images,
                                          (unsigned long long)c->runs,
                                          secs > 0 ? (double)c->images / secs : 0.0, w, jpi, rk);
                }
            snprintf(a2 + k, cap - k, "]");
            snn_json_raw(j, "cards", a2);
            free(a2);
        }
        snn_json_int(j, "n_cards", n_cards);
        snn_json_int(j, "cus", cus);
    }
    if (ranks > 1 && r->per_rank) {
        /* the ranks' own rates summed, and per rank its share */
        snn_json_num(j, "images_per_s_sum", r->images_per_s_sum);
        size_t cap = 8 + (size_t)ranks * 96;
        char *a3 = malloc(cap);
        if (a3) {
            size_t k = (size_t)snprintf(a3, cap, "[");
            for (uint32_t q = 0; q < ranks && k < cap; q++) {
                const bench_rank *br = &r->per_rank[q];
                k += (size_t)snprintf(a3 + k, cap - k,
                                      "%s{\"rank\":%u,\"images\":%.0f,\"seconds\":%.6g,"
                                      "\"images_per_s\":%.6g}",
                                      q ? "," : "", q, br->images, br->seconds,
                                      br->seconds > 0 ? br->images / br->seconds : 0.0);
            }
            if (k < cap - 1) {
                snprintf(a3 + k, cap - k, "]");
                snn_json_raw(j, "per_rank", a3);
            }
            free(a3);
        }
    }
    snn_energy_est e;
    estimate_energy(net, r, &e);
    snn_json_num(j, "snn_macs_per_image", e.snn_macs);
    snn_json_num(j, "snn_acs_per_image", e.snn_acs);
    snn_json_num(j, "est_uj_fp32", e.snn_fp32_pj * 1e-6);
    snn_json_num(j, "est_uj_int", e.snn_int_pj * 1e-6);
    snn_json_num(j, "est_uj_int_sram", (e.snn_int_pj + e.snn_sram_pj) * 1e-6);
    const char *s = snn_json_finish(j);
    char *out = s ? strdup(s) : NULL;
    snn_json_free(j);
    return out;
}

/* [{"device":"xrt","error":"..."},...] of the devices that failed; malloc'ed
 * (NULL if out of memory). */
static char *failed_json(const bench_dev *devs, int n_dev)
{
    size_t cap = 8, k;
    for (int i = 0; i < n_dev; i++) cap += 160 + 6 * strlen(devs[i].note);
    char *s = malloc(cap);
    if (!s) return NULL;
    k = (size_t)snprintf(s, cap, "[");
    for (int i = 0, first = 1; i < n_dev; i++) {
        if (!devs[i].failed) continue;
        k += (size_t)snprintf(s + k, cap - k, "%s{\"device\":", first ? "" : ",");
        k += snn_json_escape(s + k, cap - k, devs[i].name);
        k += (size_t)snprintf(s + k, cap - k, ",\"error\":");
        k += snn_json_escape(s + k, cap - k, devs[i].note);
        k += (size_t)snprintf(s + k, cap - k, "}");
        first = 0;
    }
    snprintf(s + k, cap - k, "]");
    return s;
}

static void print_table(const bench_opts *o, const snn_net *net, bench_dev *devs, int n_dev)
{
    uint32_t L = net->n_layers, T = net->hdr->timesteps;
    printf("%-6s %8s %10s %10s %8s %12s %12s %10s %8s\n", "device", "images", "images/s",
           "latency", "acc", "synops/img", "events/img", "spikes/img", "mismatch");
    for (int i = 0; i < n_dev; i++) {
        bench_dev *r = &devs[i];
        if (!r->ran) {
            printf("%-6s %s: %s\n", r->name, r->failed ? "FAILED" : "skipped", r->note);
            continue;
        }
        char acc[16] = "-", mm[24] = "-";
        if (r->accuracy >= 0) snprintf(acc, sizeof acc, "%.4f", r->accuracy);
        if (r->mismatches >= 0) snprintf(mm, sizeof mm, "%lld", (long long)r->mismatches);
        printf("%-6s %8u %10.1f %8.3fms %8s %12.0f %12.0f %10.1f %8s\n", r->name, r->images,
               r->images_per_s, r->latency_s * 1e3, acc, r->synops_total, r->events_total,
               r->spikes_total, mm);
    }
    int first = -1;
    for (int i = 0; i < n_dev; i++)
        if (devs[i].ran) {
            first = i;
            break;
        }
    if (first < 0) return;
    const bench_dev *r0 = &devs[first];
    printf("\nper layer (%s, T=%u)\n%-3s %-5s %8s %12s %10s %12s %12s %12s\n", r0->name, T, "l",
           "kind", "neurons", "spikes/img", "rate", "synops/img", "events/img", "dense MACs");
    for (uint32_t l = 0; l < L; l++) {
        const snn_layer *ly = &net->layers[l];
        char rate[16] = "-";
        if (ly->kind != SNN_LAYER_OUT)
            snprintf(rate, sizeof rate, "%.4f", r0->spikes[l] / ((double)ly->n_out * T));
        printf("%-3u %-5s %8u %12.1f %10s %12.0f %12.0f %12.0f\n", l, snn_layer_kind_str(ly->kind),
               ly->n_out, r0->spikes[l], rate, r0->synops[l], r0->events[l],
               snn_energy_dense_macs(ly));
    }
    for (int i = 0; i < n_dev; i++) {
        const bench_dev *r = &devs[i];
        if (!r->ran) continue;
        if (r->cycles_per_image > 0) {
            double ips = o->clock_mhz * 1e6 / r->cycles_per_image;
            printf("\n%s: %.0f cycles/image -> %.1f images/s, %.3f GSOP/s at %.0f MHz", r->name,
                   r->cycles_per_image, ips, r->synops_total * ips / 1e9, o->clock_mhz);
            printf("\n");
            if (r->interval_cycles > 0)
                printf("%s: cycles/image per stage (conv0 conv1 conv2 fc out): %.0f %.0f %.0f %.0f "
                       "%.0f; slowest stage %.0f\n",
                       r->name, r->stage_cycles[0], r->stage_cycles[1], r->stage_cycles[2],
                       r->stage_cycles[3], r->stage_cycles[4], r->interval_cycles);
        }
        if (!strcmp(r->name, "xrt")) {
            if (r->watts > 0)
                printf("\nxrt: %.3f s wall, %.1f W board power, %.3g J/image (%.1f uJ/image)\n",
                       r->seconds, r->watts, r->joules_per_image, r->joules_per_image * 1e6);
            else
                printf("\nxrt: %.3f s wall; no board power sensor found (docs/energy.md)\n",
                       r->seconds);
            const uint32_t ranks = snn_mpi_size();
            for (uint32_t q = 0; q < ranks && r->per_rank; q++)
                for (int c = 0; c < r->per_rank[q].n_cards; c++) {
                    const snn_dev_card_stats *k = &r->per_rank[q].cards[c];
                    const double secs = r->per_rank[q].seconds;
                    char pw[64] = "no power sensor", rk[24] = "";
                    if (k->power_seconds > 0 && k->joules > 0)
                        snprintf(pw, sizeof pw, "%.1f W, %.1f uJ/image",
                                 k->joules / k->power_seconds,
                                 k->images ? k->joules / k->images * 1e6 : 0.0);
                    if (ranks > 1) snprintf(rk, sizeof rk, "rank %u, ", q);
                    printf("xrt: %scard %d%s%s%s: %u CU%s, %llu images in %llu runs, %.1f "
                           "images/s, %s\n",
                           rk, (int)k->index, k->bdf[0] ? " (" : "", k->bdf,
                           k->bdf[0] ? ")" : "", k->cus, k->cus == 1 ? "" : "s",
                           (unsigned long long)k->images, (unsigned long long)k->runs,
                           secs > 0 ? (double)k->images / secs : 0.0, pw);
                }
        }
    }
    snn_energy_est e;
    estimate_energy(net, r0, &e);
    printf("\nenergy model (Horowitz ISSCC 2014, 45 nm; docs/energy.md), per image:\n");
    printf("  SNN: %.0f MACs (encoding layer) + %.0f ACs; non-spiking net of the same shape: "
           "%.0f MACs (%.1fx the SNN's operations)\n",
           e.snn_macs, e.snn_acs, e.ann_macs, e.ann_macs / (e.snn_macs + e.snn_acs + 1e-30));
    printf("  fp32 convention (MAC %.1f pJ, AC %.1f pJ): SNN %.3f uJ, non-spiking %.3f uJ "
           "(%.1fx)\n",
           SNN_E_MAC_FP32_PJ, SNN_E_AC_FP32_PJ, e.snn_fp32_pj * 1e-6, e.ann_fp32_pj * 1e-6,
           e.ann_fp32_pj / (e.snn_fp32_pj + 1e-30));
    printf("  int8/int32 as built (MAC %.1f pJ, AC %.1f pJ) + SRAM (%.0f pJ per 64 bits): "
           "SNN %.3f uJ, non-spiking %.3f uJ (%.1fx)\n",
           SNN_E_MAC_INT_PJ, SNN_E_AC_INT_PJ, SNN_E_SRAM_64B_PJ,
           (e.snn_int_pj + e.snn_sram_pj) * 1e-6, (e.ann_int_pj + e.ann_sram_pj) * 1e-6,
           (e.ann_int_pj + e.ann_sram_pj) / (e.snn_int_pj + e.snn_sram_pj + 1e-30));
    printf("  SNN SRAM bits (layer pipeline): weights %.0f (%.0f events x 8), thresholds and "
           "biases %.0f, spike maps %.0f\n",
           e.snn_weight_bits, e.snn_events, e.snn_param_bits, e.snn_map_bits);
}

static snn_status write_csv(const bench_opts *o, const snn_net *net, const bench_dev *devs,
                            int n_dev)
{
    const char *path = o->csv;
    snn_afile af;
    snn_status st = snn_afile_open(&af, path, SNN_KIND_CSV);
    if (st != SNN_OK) return st;
    char line[512];
    snprintf(line, sizeof line,
             "device,layer,kind,neurons,timesteps,spikes_per_image,spike_rate,synops_per_image,"
             "dense_macs,config,images_per_s,cycles_per_image,projected_images_per_s,"
             "interval_cycles,events_per_image\n");
    st = snn_afile_write(&af, line, strlen(line));
    uint32_t T = net->hdr->timesteps;
    for (int i = 0; i < n_dev && st == SNN_OK; i++) {
        const bench_dev *r = &devs[i];
        if (!r->ran) continue;
        for (uint32_t l = 0; l < net->n_layers && st == SNN_OK; l++) {
            const snn_layer *ly = &net->layers[l];
            char rate[32] = "";
            if (ly->kind != SNN_LAYER_OUT)
                snprintf(rate, sizeof rate, "%.6g", r->spikes[l] / ((double)ly->n_out * T));
            /* device-level figures repeated on every row (a sweep: take layer 0) */
            char cyc[96] = ",", ivl[32] = "";
            if (r->cycles_per_image > 0)
                snprintf(cyc, sizeof cyc, "%.6g,%.6g", r->cycles_per_image,
                         o->clock_mhz * 1e6 / r->cycles_per_image);
            if (r->interval_cycles > 0) snprintf(ivl, sizeof ivl, "%.6g", r->interval_cycles);
            const char *cfg = !strcmp(r->name, "sim") || !strcmp(r->name, "csim")
                                  ? (o->dev.config ? o->dev.config : SNN_PIPE_DEFAULT_CONFIG)
                                  : "";
            snprintf(line, sizeof line,
                     "%.15s,%u,%.8s,%u,%u,%.6g,%.31s,%.6g,%.0f,%.31s,%.6g,%.95s,%.31s,%.6g\n",
                     r->name, l, snn_layer_kind_str(ly->kind), ly->n_out, T, r->spikes[l], rate,
                     r->synops[l], snn_energy_dense_macs(ly), cfg, r->images_per_s, cyc, ivl,
                     r->events[l]);
            st = snn_afile_write(&af, line, strlen(line));
        }
    }
    if (st != SNN_OK) {
        snn_afile_abort(&af);
        return st;
    }
    return snn_afile_commit(&af);
}

/* ---- main --------------------------------------------------------------------- */

int snn_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    int code = 0;
    if (parse_args(argc, argv, &o, &code)) return code;
    /* MPI only under a launcher: the ranks split the images */
    if (snn_mpi_init() != SNN_OK) {
        if (snn_mpi_launched_rank() == 0) fprintf(stderr, "mpbn bench: %s\n", snn_last_error());
        return 1;
    }
    const uint32_t rank = snn_mpi_rank(), ranks = snn_mpi_size();
    snn_rank_card("xrt", &o.dev, o.index_given);
    o.device_index = o.dev.device_index;
    char who[96], err[1536] = "";
    snn_rank_who(who, sizeof who, "xrt", &o.dev);
    int failed = 0;

    uint8_t *raw = NULL, *image = NULL;
    size_t size = 0;
    snn_net net;
    snn_dataset ds = {0};
    uint8_t *pixels = NULL, *results = NULL, *ref_results = NULL;
    int32_t *preds = NULL;
    bench_dev devs[BENCH_MAX_DEVICES];
    int n_dev = 0, rc = 1;
    memset(devs, 0, sizeof devs);
    const snn_deploy_hdr *h = NULL;
    size_t img = 0, stride = 0;
    uint32_t n = 0;
    const uint8_t *labels = NULL;
    char rank_who[32] = ""; /* an error of setup: the rank, when several */
    if (ranks > 1) snprintf(rank_who, sizeof rank_who, "rank %u: ", rank);
#define SETUP_FAIL(...)                                                                            \
    do {                                                                                           \
        snprintf(err, sizeof err, __VA_ARGS__);                                                    \
        failed = 1;                                                                                \
        goto setup_agree;                                                                          \
    } while (0)

    snn_io_note_input(o.model);
    snn_dataset_note_inputs(o.data);
    /* rank 0 alone writes the CSV */
    failed = rank == 0 && o.csv && snn_output_claim(o.csv, SNN_KIND_CSV) != SNN_OK;
    if (failed) snprintf(err, sizeof err, "--csv %s", snn_last_error());
    if (snn_rank_agree("bench", failed, "", err)) return 1;
    snn_status st;
    int folded = snn_file_kind_of(o.model) == SNN_KIND_CHECKPOINT;
    if (folded) {
        /* A checkpoint: folded and quantised in memory, exactly as `mpbn fold`
         * writes it (nothing is written), so one command goes from training
         * to the card's figures. */
        snn_st_file *stf = NULL;
        snn_fold_net *f = NULL;
        st = snn_st_read(o.model, &stf);
        if (st == SNN_OK) st = snn_fold_from_st(stf, &f);
        if (st == SNN_OK && snn_fold_quantize(f, &raw, &size, NULL) != SNN_OK)
            st = snn_fail_context(SNN_ERR_FORMAT, "%s: quantising", o.model);
        if (st == SNN_OK && rank == 0)
            fprintf(stderr, "mpbn bench: %s: checkpoint folded in memory (%u layers, mpbn %s, "
                            "%zu-byte deploy image; `mpbn fold` writes the same image)\n",
                    o.model, f->n_layers, f->mpbn, size);
        snn_fold_free(f);
        snn_st_free(stf);
    } else {
        st = snn_file_read(o.model, SNN_DEPLOY_MAX_BYTES, &raw, &size);
    }
    if (st != SNN_OK) SETUP_FAIL("%s", snn_last_error()); /* names the file */
    if (st == SNN_OK) {
        /* The parsed view aliases the bytes, which must be 4-byte aligned. */
        image = aligned_alloc(64, (size + 63) & ~(size_t)63);
        if (!image)
            st = snn_fail(SNN_ERR_NOMEM, "out of memory");
        else
            memcpy(image, raw, size);
    }
    if (st == SNN_OK) st = snn_deploy_parse(image, size, &net);
    if (st != SNN_OK) SETUP_FAIL("%s: %s", o.model, snn_last_error());
    h = net.hdr;
    img = (size_t)h->in_c * h->in_h * h->in_w;
    if (o.random) {
        n = o.random;
        pixels = snn_malloc(img * n);
        if (!pixels) SETUP_FAIL("out of memory");
        snn_pixels_random(o.dev.seed, n, h->in_c, h->in_h, h->in_w, pixels);
    } else {
        st = snn_dataset_load(o.data, "t10k", o.limit, &ds);
        if (st != SNN_OK)
            SETUP_FAIL("%s (or use --random N for random images)", snn_last_error());
        if (ds.c != h->in_c || ds.h != h->in_h || ds.w != h->in_w)
            SETUP_FAIL("the data set's images are %ux%ux%u, the model expects %ux%ux%u", ds.c,
                       ds.h, ds.w, h->in_c, h->in_h, h->in_w);
        n = ds.n;
        pixels = ds.pixels;
        labels = ds.labels;
    }
    if (n == 0) SETUP_FAIL("no images");
    if (n < ranks)
        SETUP_FAIL("%u images for %u ranks: every rank needs at least one (a larger --limit or "
                   "--random, or fewer ranks)",
                   n, ranks);
    stride = snn_result_stride(h->n_classes, net.n_layers);
    results = snn_malloc(stride * n);
    ref_results = snn_malloc(stride * n);
    preds = snn_malloc(sizeof *preds * n);
    if (!results || !ref_results || !preds) SETUP_FAIL("out of memory");
setup_agree:
    /* every rank has the model and the images, or none goes on (an error
     * every rank has is printed once, by rank 0) */
    if (snn_rank_agree("bench", failed, rank_who, err)) goto out;

    /* Devices, in --devices order. */
    char list[128];
    snprintf(list, sizeof list, "%s", o.devices);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n_dev == BENCH_MAX_DEVICES) {
            if (rank == 0) fprintf(stderr, "mpbn bench: at most %d devices\n", BENCH_MAX_DEVICES);
            rc = 2;
            goto out;
        }
        snprintf(devs[n_dev++].name, sizeof devs[0].name, "%s", tok);
    }
    /* Every device runs whatever happens to the others: one that fails is
     * reported with its error beside the results of those that ran. */
    int have_ref = 0, n_failed = 0;
    for (int i = 0; i < n_dev; i++) {
        bench_dev *r = &devs[i];
        /* Verilator runs about a million cycles per second: without an explicit
         * --devices, sim gets the first few images only (compared on those). */
        uint32_t nd = n;
        if (!o.explicit_devices && !strcmp(r->name, "sim") && n > BENCH_SIM_DEFAULT_IMAGES) {
            nd = BENCH_SIM_DEFAULT_IMAGES;
            if (rank == 0)
                fprintf(stderr,
                        "mpbn bench: sim runs the first %u of %u images (it simulates every "
                        "clock cycle); `--devices sim` runs all\n",
                        nd, n);
        }
        if (nd < ranks) nd = ranks; /* n >= ranks: one image per rank at least */
        /* this rank's share of the nd images (all of them in one process) */
        uint32_t first, share;
        snn_rank_share(nd, &first, &share);
        if (rank == 0)
            snn_warn_long_run("bench", r->name, share,
                              snn_est_device_image_seconds(&net, r->name, &o.dev),
                              o.random ? "a smaller --random N benchmarks fewer images"
                                       : "--limit N benchmarks the first N test images only");
        int opened;
        snn_mpi_barrier(); /* the ranks start each device together */
        st = run_device(&o, image, size, &net, pixels + (size_t)first * img,
                        labels ? labels + first : NULL, share, r, results,
                        have_ref ? ref_results : NULL, preds, &opened);
        /* A device that fails on any rank fails: the lowest failing rank's
         * error (naming it) and whether it had opened go to every rank. */
        struct {
            int32_t opened;
            char note[sizeof r->note];
        } why;
        memset(&why, 0, sizeof why);
        if (st != SNN_OK) {
            why.opened = opened;
            const char *hint = !opened && !strcmp(r->name, "xrt") ? snn_rank_card_hint() : "";
            snprintf(why.note, sizeof why.note, "%s%s%s", !strcmp(r->name, "xrt") ? who : "",
                     snn_last_error(), hint);
            if (ranks > 1 && strcmp(r->name, "xrt"))
                snprintf(why.note, sizeof why.note, "rank %u: %s%s", rank, snn_last_error(), hint);
        }
        const int bad = snn_mpi_agree(st != SNN_OK);
        if (bad >= 0 && snn_mpi_bcast(&why, sizeof why, (uint32_t)bad) != SNN_OK)
            snn_mpi_abort(1);
        if (bad < 0 && finish_device(r, net.n_layers) != SNN_OK) {
            fprintf(stderr, "mpbn bench: %s\n", snn_last_error());
            snn_mpi_abort(1);
        }
        if (bad >= 0) {
            r->ran = 0;
            snprintf(r->note, sizeof r->note, "%s", why.note);
            /* Without --devices a device that cannot open (or take this
             * model) is skipped; one that was asked for, or failed while
             * running, is a failure. */
            if (o.explicit_devices || why.opened) {
                if (rank == 0) fprintf(stderr, "mpbn bench: %s failed: %s\n", r->name, r->note);
                r->failed = 1;
                n_failed++;
            } else if (rank == 0) {
                fprintf(stderr, "mpbn bench: skipping %s: %s\n", r->name, r->note);
            }
            continue;
        }
        if (!have_ref) {
            memcpy(ref_results, results, stride * n);
            have_ref = 1;
        }
    }
    if (!have_ref) {
        if (rank == 0) fprintf(stderr, "mpbn bench: no device could run\n");
        goto out;
    }
    if (rank != 0) {
        /* rank 0 reports; the status is every rank's (the sums are) */
        int64_t mism = 0;
        for (int i = 0; i < n_dev; i++)
            if (devs[i].ran && devs[i].mismatches > 0) mism += devs[i].mismatches;
        rc = mism || n_failed ? 1 : 0;
        goto out;
    }

    print_table(&o, &net, devs, n_dev);
    if (o.csv) {
        st = write_csv(&o, &net, devs, n_dev);
        if (st != SNN_OK) {
            fprintf(stderr, "mpbn bench: %s\n", snn_last_error());
            goto out;
        }
    }

    /* JSON line. */
    {
        snn_json *j = snn_json_new();
        snn_json_str(j, "command", "bench");
        snn_json_str(j, "model", o.model);
        if (folded) snn_json_str(j, "folded", "in memory");
        snn_json_int(j, "images", n);
        snn_json_str(j, "data", o.random ? "random" : (o.data ? o.data : SNN_DATA_DEFAULT_DIR));
        snn_json_int(j, "timesteps", h->timesteps);
        snn_json_num(j, "clock_mhz", o.clock_mhz);
        char *arr = malloc(64 + (size_t)n_dev * 4096);
        if (arr) {
            size_t k = (size_t)sprintf(arr, "[");
            int first = 1;
            for (int i = 0; i < n_dev; i++) {
                if (!devs[i].ran) continue;
                char *dj = device_json(&o, &net, &devs[i]);
                if (!dj) continue;
                k += (size_t)snprintf(arr + k, 64 + (size_t)n_dev * 4096 - k, "%s%s",
                                      first ? "" : ",", dj);
                first = 0;
                free(dj);
            }
            snprintf(arr + k, 64 + (size_t)n_dev * 4096 - k, "]");
            snn_json_raw(j, "devices", arr);
            free(arr);
        }
        char skipped[1024];
        size_t k = (size_t)snprintf(skipped, sizeof skipped, "[");
        for (int i = 0, first = 1; i < n_dev; i++)
            if (!devs[i].ran && !devs[i].failed && k < sizeof skipped) {
                k += (size_t)snprintf(skipped + k, sizeof skipped - k, "%s", first ? "" : ",");
                if (k < sizeof skipped)
                    k += snn_json_escape(skipped + k, sizeof skipped - k, devs[i].name);
                first = 0;
            }
        if (k < sizeof skipped - 2) {
            snprintf(skipped + k, sizeof skipped - k, "]");
            snn_json_raw(j, "skipped", skipped);
        }
        /* failed: [{"device":..,"error":..}] in --devices order */
        char *fl = failed_json(devs, n_dev);
        if (fl) snn_json_raw(j, "failed", fl);
        free(fl);
        int64_t mism = 0;
        for (int i = 0; i < n_dev; i++)
            if (devs[i].ran && devs[i].mismatches > 0) mism += devs[i].mismatches;
        snn_json_int(j, "mismatches", mism);
        const bench_dev *r0 = NULL;
        for (int i = 0; i < n_dev && !r0; i++)
            if (devs[i].ran) r0 = &devs[i];
        snn_energy_est e;
        estimate_energy(&net, r0, &e);
        snn_json_num(j, "ann_macs_per_image", e.ann_macs);
        snn_json_num(j, "ann_est_uj_fp32", e.ann_fp32_pj * 1e-6);
        snn_json_num(j, "ann_est_uj_int_sram", (e.ann_int_pj + e.ann_sram_pj) * 1e-6);
        char em[512];
        snprintf(em, sizeof em,
                 "{\"source\":\"Horowitz ISSCC 2014, 45 nm\",\"e_ac_fp32_pj\":%g,"
                 "\"e_mac_fp32_pj\":%g,\"e_ac_int_pj\":%g,\"e_mac_int_pj\":%g,"
                 "\"e_sram_64bit_pj\":%g}",
                 SNN_E_AC_FP32_PJ, SNN_E_MAC_FP32_PJ, SNN_E_AC_INT_PJ, SNN_E_MAC_INT_PJ,
                 SNN_E_SRAM_64B_PJ);
        snn_json_raw(j, "energy_model", em);
        snn_json_int(j, "ranks", ranks);
        const char *s = snn_json_finish(j);
        if (s) puts(s);
        snn_json_free(j);
        rc = mism || n_failed ? 1 : 0;
        if (mism)
            fprintf(stderr, "mpbn bench: devices disagree on %lld image(s)\n", (long long)mism);
        if (n_failed) {
            char names[BENCH_MAX_DEVICES * 18] = "";
            for (int i = 0; i < n_dev; i++)
                if (devs[i].failed) {
                    size_t len = strlen(names);
                    snprintf(names + len, sizeof names - len, "%s%.15s", len ? ", " : "",
                             devs[i].name);
                }
            fprintf(stderr,
                    "mpbn bench: %d of %d devices failed (%s); the results above are those of "
                    "the others\n",
                    n_failed, n_dev, names);
        }
    }
out:
    for (int i = 0; i < n_dev; i++) free(devs[i].per_rank);
    if (pixels != ds.pixels) free(pixels);
    snn_dataset_free(&ds);
    free(results);
    free(ref_results);
    free(preds);
    free(raw);
    free(image);
    return rc;
}
