/*
 * eval-device.c - `mpbn eval MODEL.snn --device ref|csim|sim|xrt`: accuracy of
 * a deploy image on any backend of the device API (include/snn-dev.h).
 *
 *   mpbn eval MODEL.snn [--device D] [--data DIR] [--limit N] [--batch N]
 *                       [--config NAME] [--xclbin F] [--device-index N | --cards all|LIST]
 *                       [--timeout-ms N] [--mem-latency N] [--backpressure P] [--seed N]
 *                       [--waveform F]
 *
 * (parsed by host/cli/cmd-eval.c: the device fragment of host/cli/opts.h)
 *
 * The code is the same for every device: open, load, run the test images in
 * chunks (progress line with rate and ETA), read the result records. Chunks
 * are sized from the device's estimated speed (host/cli/estimate.h) to about a
 * second each: on sim that is one image per kernel run unless --batch N is
 * given (each run then also reads the deploy image: ~0.2M cycles). A run
 * that will take more than a few minutes at the pace of its second chunk is
 * announced then, with --limit as the way to shorten it (the a priori
 * estimate, from a typical spike rate, can be 10x off either way on ref). Last stdout line:
 * {"accuracy":..,"images":..,"images_per_s":..,"device":..,"spikes_per_image":..,
 *  "synops_per_image":..,"events_per_image":..,"spikes_per_layer":[..],
 *  "synops_per_layer":[..],"events_per_layer":[..],"cycles":.. (sim),
 *  "config":.. (sim, csim: the configuration), "cards":[{"card","bdf","cus","images",
 *  "images_per_s"}], "n_cards", "cus" (xrt), "ranks"}; the counters per image of the
 * records (docs/numerics.md, "Counters").
 *
 * Under mpirun (`mpirun -n N mpbn eval ...`, a build with MPI) the N ranks
 * split the images (snn_rank_share: contiguous blocks), each runs its share
 * on its own device (xrt: card `local rank` unless --cards/--device-index
 * say otherwise, snn_rank_card), and rank 0 sums the correct counts and the
 * counters, so accuracy and the per-image counters are those of one process;
 * images_per_s is all images over the slowest rank's time, images_per_s_sum
 * the sum of the ranks' own rates, "per_rank" each rank's images, seconds and
 * rate. Rank 0 alone prints progress and the JSON; an error on any rank ends
 * every rank with status 1, the lowest failing rank naming itself (and its
 * card). docs/running-on-alveo.md, "Several processes (MPI)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "common/snn-mpi.h"
#include "deploy/snn-deploy.h"
#include "estimate.h"
#include "io/snn-data.h"
#include "snn-dev.h"
#include "snn-pipe.h"

/* ---- several MPI ranks: the split and the card of each ------------------------ */

void snn_rank_share(uint32_t n, uint32_t *first, uint32_t *count)
{
    const uint64_t r = snn_mpi_rank(), k = snn_mpi_size();
    const uint64_t a = n * r / k, b = n * (r + 1) / k;
    *first = (uint32_t)a;
    *count = (uint32_t)(b - a);
}

/* snn_rank_card chose this process's card (for the hint of an open error) */
static int g_rank_card_applied;

void snn_rank_card(const char *device, snn_dev_opts *o, int index_given)
{
    if (snn_mpi_size() > 1 && !strcmp(device, "xrt") && !index_given && !o->cards.all &&
        o->cards.n == 0) {
        o->device_index = (int32_t)snn_mpi_local_rank();
        g_rank_card_applied = 1;
    }
}

const char *snn_rank_card_hint(void)
{
    return g_rank_card_applied
               ? " (under mpirun each rank takes card <its local rank> of its host: run at most "
                 "as many ranks per host as it has cards, or name the cards with --device-index "
                 "or --cards)"
               : "";
}

void snn_rank_who(char *buf, size_t cap, const char *device, const snn_dev_opts *o)
{
    buf[0] = 0;
    if (snn_mpi_size() <= 1 || !cap) return;
    size_t k = (size_t)snprintf(buf, cap, "rank %u", snn_mpi_rank());
    if (!strcmp(device, "xrt") && k < cap) {
        if (o->cards.all)
            k += (size_t)snprintf(buf + k, cap - k, " (all cards)");
        else if (o->cards.n == 0)
            k += (size_t)snprintf(buf + k, cap - k, " (card %d)", (int)o->device_index);
        else
            for (uint32_t i = 0; i < o->cards.n && k < cap; i++)
                k += (size_t)snprintf(buf + k, cap - k, "%s%d%s", i ? "," : " (cards ",
                                      (int)o->cards.list[i], i + 1 == o->cards.n ? ")" : "");
    }
    if (k < cap) snprintf(buf + k, cap - k, ": ");
}

int snn_rank_agree(const char *cmd, int failed, const char *who, const char *err)
{
    const int first = snn_mpi_agree(failed);
    if (first < 0) return 0;
    uint64_t nfail = failed != 0;
    snn_mpi_allreduce_u64(&nfail, 1);
    if (first == (int)snn_mpi_rank()) {
        char more[64] = "";
        if (nfail > 1)
            snprintf(more, sizeof more, " (%llu ranks of %u failed)", (unsigned long long)nfail,
                     snn_mpi_size());
        fprintf(stderr, "mpbn %s: %s%s%s\n", cmd, who, err, more);
    }
    return 1;
}

/* ---- eval --------------------------------------------------------------------- */

/* What rank 0 gathers of every rank (per_rank, cards). */
typedef struct rank_report {
    double images, seconds;
    int32_t n_cards;
    snn_dev_card_stats cards[SNN_DEV_MAX_CARDS];
} rank_report;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, sizeof err, __VA_ARGS__);                                                    \
        failed = 1;                                                                                \
        goto agree_setup;                                                                          \
    } while (0)

int snn_eval_device(const char *model_path, const char *device, const char *data, uint32_t limit,
                    const snn_dev_opts *opts, int batch_given)
{
    snn_dev_opts o = *opts;
    const uint32_t rank = snn_mpi_rank(), ranks = snn_mpi_size();
    char who[96], err[1536] = "";
    snn_rank_who(who, sizeof who, device, &o);

    uint8_t *image = NULL;
    size_t size = 0;
    snn_dataset ds = {0};
    snn_dev_t *dev = NULL;
    uint8_t *rec = NULL;
    rank_report *all = NULL;
    int rc = 1, failed = 0;
    uint32_t first = 0, share = 0, K = 0, L = 0;
    snn_net check;
    const snn_net *net = NULL;
    if (snn_file_read(model_path, SNN_DEPLOY_MAX_BYTES, &image, &size) != SNN_OK)
        FAIL("%s", snn_last_error());
    if (snn_deploy_parse(image, size, &check) != SNN_OK)
        FAIL("%s: %s", model_path, snn_last_error());
    const snn_deploy_hdr *h = check.hdr;
    if (snn_dataset_load(data, "t10k", (uint32_t)limit, &ds) != SNN_OK)
        FAIL("%s", snn_last_error());
    if (ds.c != h->in_c || ds.h != h->in_h || ds.w != h->in_w)
        FAIL("%s expects %ux%ux%u images, the data set has %ux%ux%u", model_path, h->in_c,
             h->in_h, h->in_w, ds.c, ds.h, ds.w);
    if (ds.n_classes > h->n_classes)
        FAIL("the data set has %u classes, %s only %u", ds.n_classes, model_path, h->n_classes);
    /* this rank's share of the images (all of them in one process) */
    snn_rank_share(ds.n, &first, &share);
    if (snn_dev_open(device, &o, &dev) != SNN_OK)
        FAIL("%s%s", snn_last_error(), snn_rank_card_hint());
    if (snn_dev_load(dev, image, size) != SNN_OK) FAIL("%s", snn_last_error());
    net = snn_dev_net(dev);
    K = h->n_classes, L = net->n_layers;
agree_setup:
    /* every rank opened its device, or none goes on */
    if (snn_rank_agree("eval", failed, who, err)) goto done;
    failed = 0;

    size_t stride = snn_result_stride(K, L), px = (size_t)ds.c * ds.h * ds.w;
    /* chunks of a few device batches: progress without slowing the device */
    uint32_t per_chunk = 4;
    {
        /* xrt: two batches per compute unit of every card, so all of them work */
        snn_dev_card_stats cs0[SNN_DEV_MAX_CARDS];
        int nc0 = snn_dev_card_stats_get(dev, cs0, SNN_DEV_MAX_CARDS);
        uint32_t cus0 = 0;
        for (int i = 0; i < nc0 && i < SNN_DEV_MAX_CARDS; i++) cus0 += cs0[i].cus;
        if (2 * cus0 > per_chunk) per_chunk = 2 * cus0;
    }
    uint32_t chunk = o.batch * per_chunk;
    if (chunk / per_chunk != o.batch) chunk = UINT32_MAX / o.batch * o.batch;
    /* A slow device (sim: seconds per image) gets chunks of about a second,
     * down to one image, so that the progress line and its ETA move; an
     * explicit --batch N keeps N images per kernel run. */
    double per_image = snn_est_device_image_seconds(net, device, &o);
    if (per_image > 0) {
        double fit = 1.0 / per_image;
        uint32_t c = fit < 1 ? 1 : fit > chunk ? chunk : (uint32_t)fit;
        if (batch_given) c = (c + o.batch - 1) / o.batch * o.batch;
        if (c < chunk) chunk = c;
    }
    /* A long run is announced once its pace is measured (below); a first
     * chunk that alone looks long (--batch N on sim) is announced now, by
     * the estimate. */
    const char *hint = "--limit N evaluates the first N test images only";
    int warned = 0;
    if (rank == 0 && per_image * (chunk < share ? chunk : share) > snn_long_run_seconds())
        warned = snn_warn_long_run("eval", device, share, per_image, hint);
    rec = malloc(stride * (chunk < share ? chunk : (share ? share : 1)));
    all = rank == 0 ? calloc(ranks, sizeof *all) : NULL;
    if (!rec || (rank == 0 && !all)) failed = 1, snprintf(err, sizeof err, "out of memory");
    if (snn_rank_agree("eval", failed, who, err)) goto done;
    /* the ranks start their timed runs together */
    snn_mpi_barrier();
    uint64_t correct = 0, spikes[SNN_MAX_LAYERS] = {0}, synops[SNN_MAX_LAYERS] = {0};
    uint64_t events[SNN_MAX_LAYERS] = {0};
    char label[96], extra[64] = "";
    if (ranks > 1)
        snprintf(label, sizeof label, "eval %s (rank 0 of %u)", device, ranks);
    else
        snprintf(label, sizeof label, "eval %s", device);
    snn_progress p;
    snn_progress_begin(&p, label, share, "img");
    if (rank != 0) p.mode = SNN_PROGRESS_OFF; /* rank 0 alone shows its share's progress */
    const uint8_t *pix = ds.pixels + (size_t)first * px, *lab = ds.labels + first;
    double t_chunk = snn_now();
    for (uint32_t i0 = 0; i0 < share; i0 += chunk) {
        uint32_t n = share - i0 < chunk ? share - i0 : chunk;
        if (snn_dev_run(dev, pix + (size_t)i0 * px, n, NULL, rec, NULL) != SNN_OK) {
            snprintf(err, sizeof err, "%s", snn_last_error());
            failed = 1;
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *r = rec + i * stride;
            int32_t pred;
            memcpy(&pred, r + 4u * K, 4);
            correct += pred == (int32_t)lab[i0 + i];
            for (uint32_t l = 0; l < L; l++) {
                uint32_t a, b, e;
                memcpy(&a, r + 4u * (snn_result_spikes_word(K, L) + l), 4);
                memcpy(&b, r + 4u * (snn_result_synops_word(K, L) + l), 4);
                memcpy(&e, r + 4u * (snn_result_events_word(K, L) + l), 4);
                spikes[l] += a, synops[l] += b, events[l] += e;
            }
        }
        /* A long run is announced after its second chunk, at that chunk's
         * pace (the first carries the one-time costs: on sim the model's
         * construction, 5x an image's time); after the first when no third
         * will follow or the first alone took long (10 s and a tenth of the
         * limit). */
        const double t_end = snn_now(), took = t_end - t_chunk;
        const uint32_t left = share - i0 - n;
        if (rank == 0 && !warned && left &&
            (i0 == chunk ||
             (i0 == 0 && (left <= chunk || (took >= 10 && took >= 0.1 * snn_long_run_seconds()))))) {
            snn_progress_break(&p); /* not onto the progress line */
            snn_warn_long_run_measured("eval", device, i0, n, took, left, hint);
            warned = 1;
        }
        t_chunk = t_end;
        snprintf(extra, sizeof extra, "acc %.4f", (double)correct / (i0 + n));
        snn_progress_update(&p, i0 + n, extra);
    }
    snn_progress_end(&p, failed ? NULL : extra);
    if (snn_rank_agree("eval", failed, who, err)) goto done;

    /* Rank 0 sums every rank's counts: the same integers as one process. */
    snn_dev_stats ds_st;
    snn_dev_get_stats(dev, &ds_st);
    uint64_t cnt[3 + 3 * SNN_MAX_LAYERS];
    cnt[0] = correct, cnt[1] = share, cnt[2] = ds_st.cycles;
    for (uint32_t l = 0; l < L; l++)
        cnt[3 + l] = spikes[l], cnt[3 + L + l] = synops[l], cnt[3 + 2 * L + l] = events[l];
    double rank_secs = ds_st.seconds;
    double sums[3] = {ds_st.joules, ds_st.watts, rank_secs > 0 ? share / rank_secs : 0};
    double secs = rank_secs; /* the slowest rank's */
    rank_report mine;
    memset(&mine, 0, sizeof mine);
    mine.images = share, mine.seconds = rank_secs;
    int nc = snn_dev_card_stats_get(dev, mine.cards, SNN_DEV_MAX_CARDS);
    mine.n_cards = nc > SNN_DEV_MAX_CARDS ? SNN_DEV_MAX_CARDS : nc;
    if (snn_mpi_reduce_u64(cnt, 3 + 3 * L, 0) != SNN_OK ||
        snn_mpi_reduce_f64(sums, 3, 0) != SNN_OK ||
        snn_mpi_allreduce_max_f64(&secs, 1) != SNN_OK ||
        snn_mpi_gather(&mine, sizeof mine, all, 0) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s%s\n", who, snn_last_error());
        snn_mpi_abort(1);
    }
    if (rank != 0) {
        rc = 0; /* rank 0 reports */
        goto done;
    }
    correct = cnt[0];
    const uint64_t images = cnt[1], cycles = cnt[2];
    for (uint32_t l = 0; l < L; l++)
        spikes[l] = cnt[3 + l], synops[l] = cnt[3 + L + l], events[l] = cnt[3 + 2 * L + l];
    const double joules = sums[0], watts = sums[1], rate_sum = sums[2];
    double acc = images ? (double)correct / images : 0;
    uint64_t sp = 0, so = 0, ev = 0;
    for (uint32_t l = 0; l < L; l++) sp += spikes[l], so += synops[l], ev += events[l];
    char on_ranks[48] = "";
    if (ranks > 1) snprintf(on_ranks, sizeof on_ranks, ", %u ranks", ranks);
    fprintf(stderr, "mpbn eval: %s on %s: accuracy %.4f on %llu images (%.1f img/s%s)\n",
            model_path, device, acc, (unsigned long long)images, secs > 0 ? images / secs : 0,
            on_ranks);
    char arr_sp[SNN_MAX_LAYERS * 24 + 4], arr_so[SNN_MAX_LAYERS * 24 + 4];
    char arr_ev[SNN_MAX_LAYERS * 24 + 4];
    size_t a = 0, b = 0, c = 0;
    a += (size_t)snprintf(arr_sp + a, sizeof arr_sp - a, "[");
    b += (size_t)snprintf(arr_so + b, sizeof arr_so - b, "[");
    c += (size_t)snprintf(arr_ev + c, sizeof arr_ev - c, "[");
    for (uint32_t l = 0; l < L; l++) {
        a += (size_t)snprintf(arr_sp + a, sizeof arr_sp - a, "%s%.6g", l ? "," : "",
                              images ? (double)spikes[l] / images : 0.0);
        b += (size_t)snprintf(arr_so + b, sizeof arr_so - b, "%s%.6g", l ? "," : "",
                              images ? (double)synops[l] / images : 0.0);
        c += (size_t)snprintf(arr_ev + c, sizeof arr_ev - c, "%s%.6g", l ? "," : "",
                              images ? (double)events[l] / images : 0.0);
    }
    snprintf(arr_sp + a, sizeof arr_sp - a, "]");
    snprintf(arr_so + b, sizeof arr_so - b, "]");
    snprintf(arr_ev + c, sizeof arr_ev - c, "]");
    snn_json *j = snn_json_new();
    snn_json_num(j, "accuracy", acc);
    snn_json_int(j, "images", (int64_t)images);
    snn_json_num(j, "images_per_s", secs > 0 ? images / secs : 0);
    snn_json_str(j, "device", device);
    if (!strcmp(device, "sim") || !strcmp(device, "csim")) /* the configuration, default too */
        snn_json_str(j, "config", o.config ? o.config : SNN_PIPE_DEFAULT_CONFIG);
    snn_json_str(j, "model", model_path);
    snn_json_num(j, "seconds", secs);
    snn_json_num(j, "spikes_per_image", images ? (double)sp / images : 0);
    snn_json_num(j, "synops_per_image", images ? (double)so / images : 0);
    snn_json_num(j, "events_per_image", images ? (double)ev / images : 0);
    snn_json_raw(j, "spikes_per_layer", arr_sp);
    snn_json_raw(j, "synops_per_layer", arr_so);
    snn_json_raw(j, "events_per_layer", arr_ev);
    if (cycles) {
        snn_json_num(j, "cycles", images ? (double)cycles / images : 0);
        snn_json_num(j, "synops_per_cycle", (double)so / cycles);
    }
    if (watts > 0) {
        snn_json_num(j, "watts", watts);
        snn_json_num(j, "joules_per_image", images ? joules / images : 0);
    }
    /* xrt: per card (of every rank) its share of the images, rate over its
     * rank's wall time */
    int n_cards = 0;
    uint32_t cus = 0;
    for (uint32_t r = 0; r < ranks; r++) n_cards += all[r].n_cards;
    if (n_cards > 0) {
        size_t cap = 8 + (size_t)n_cards * 220;
        char *arr = malloc(cap);
        if (arr) {
            size_t k = (size_t)snprintf(arr, cap, "[");
            for (uint32_t r = 0, n = 0; r < ranks; r++)
                for (int i = 0; i < all[r].n_cards && k < cap; i++, n++) {
                    const snn_dev_card_stats *cs = &all[r].cards[i];
                    char bdf[80], rk[24] = "";
                    snn_json_escape(bdf, sizeof bdf, cs->bdf);
                    if (ranks > 1) snprintf(rk, sizeof rk, ",\"rank\":%u", r);
                    cus += cs->cus;
                    k += (size_t)snprintf(arr + k, cap - k,
                                          "%s{\"card\":%d,\"bdf\":%s,\"cus\":%u,\"images\":%llu,"
                                          "\"images_per_s\":%.6g%s}",
                                          n ? "," : "", (int)cs->index, bdf, cs->cus,
                                          (unsigned long long)cs->images,
                                          all[r].seconds > 0 ? (double)cs->images / all[r].seconds
                                                             : 0.0,
                                          rk);
                }
            if (k < cap - 1) {
                snprintf(arr + k, cap - k, "]");
                snn_json_raw(j, "cards", arr);
            }
            free(arr);
        }
        snn_json_int(j, "n_cards", n_cards);
        snn_json_int(j, "cus", cus);
    }
    snn_json_int(j, "ranks", ranks);
    if (ranks > 1) {
        /* the ranks' own rates summed (each over its own wall time), and
         * per rank its images, seconds and rate */
        snn_json_num(j, "images_per_s_sum", rate_sum);
        size_t cap = 8 + (size_t)ranks * 96;
        char *arr = malloc(cap);
        if (arr) {
            size_t k = (size_t)snprintf(arr, cap, "[");
            for (uint32_t r = 0; r < ranks && k < cap; r++)
                k += (size_t)snprintf(arr + k, cap - k,
                                      "%s{\"rank\":%u,\"images\":%.0f,\"seconds\":%.6g,"
                                      "\"images_per_s\":%.6g}",
                                      r ? "," : "", r, all[r].images, all[r].seconds,
                                      all[r].seconds > 0 ? all[r].images / all[r].seconds : 0.0);
            if (k < cap - 1) {
                snprintf(arr + k, cap - k, "]");
                snn_json_raw(j, "per_rank", arr);
            }
            free(arr);
        }
    }
    rc = snn_json_print(j);
done:
    free(all);
    free(rec);
    snn_dev_close(dev);
    snn_dataset_free(&ds);
    free(image);
    return rc;
}
