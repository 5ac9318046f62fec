/*
 * eval-device.c - `mpbn eval MODEL.snn --device ref|csim|sim|xrt`: accuracy of
 * a deploy image on any backend of the device API (include/snn-dev.h).
 *
 *   mpbn eval MODEL.snn [--device D] [--data DIR] [--limit N] [--batch N]
 *                       [--config NAME] [--xclbin F] [--device-index N]
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
 * estimated to take more than a few minutes is announced first, with
 * --limit as the way to shorten it. Last stdout line:
 * {"accuracy":..,"images":..,"images_per_s":..,"device":..,"spikes_per_image":..,
 *  "synops_per_image":..,"events_per_image":..,"spikes_per_layer":[..],
 *  "synops_per_layer":[..],"events_per_layer":[..],"cycles":.. (sim),
 *  "config":.. (sim, csim: the configuration)}; the counters per image of the records
 * (docs/numerics.md, "Counters").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "common/progress.h"
#include "deploy/snn-deploy.h"
#include "estimate.h"
#include "io/snn-data.h"
#include "snn-dev.h"
#include "snn-pipe.h"

int snn_eval_device(const char *model_path, const char *device, const char *data, uint32_t limit,
                    const snn_dev_opts *opts, int batch_given)
{
    snn_dev_opts o = *opts;

    uint8_t *image = NULL;
    size_t size = 0;
    snn_dataset ds = {0};
    snn_dev_t *dev = NULL;
    uint8_t *rec = NULL;
    int rc = 1;
    snn_net check;
    if (snn_file_read(model_path, SNN_DEPLOY_MAX_BYTES, &image, &size) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        return 1;
    }
    if (snn_deploy_parse(image, size, &check) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s: %s\n", model_path, snn_last_error());
        goto done;
    }
    const snn_deploy_hdr *h = check.hdr;
    if (snn_dataset_load(data, "t10k", (uint32_t)limit, &ds) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        goto done;
    }
    if (ds.c != h->in_c || ds.h != h->in_h || ds.w != h->in_w) {
        fprintf(stderr, "mpbn eval: %s expects %ux%ux%u images, the data set has %ux%ux%u\n",
                model_path, h->in_c, h->in_h, h->in_w, ds.c, ds.h, ds.w);
        goto done;
    }
    if (ds.n_classes > h->n_classes) {
        fprintf(stderr, "mpbn eval: the data set has %u classes, %s only %u\n", ds.n_classes,
                model_path, h->n_classes);
        goto done;
    }
    if (snn_dev_open(device, &o, &dev) != SNN_OK || snn_dev_load(dev, image, size) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        goto done;
    }
    const snn_net *net = snn_dev_net(dev);
    uint32_t K = h->n_classes, L = net->n_layers;
    size_t stride = snn_result_stride(K, L), px = (size_t)ds.c * ds.h * ds.w;
    /* chunks of a few device batches: progress without slowing the device */
    uint32_t chunk = o.batch * 4;
    if (chunk < o.batch) chunk = o.batch;
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
    snn_warn_long_run("eval", device, ds.n, per_image,
                      "--limit N evaluates the first N test images only");
    rec = malloc(stride * (chunk < ds.n ? chunk : (ds.n ? ds.n : 1)));
    if (!rec) {
        fprintf(stderr, "mpbn eval: out of memory\n");
        goto done;
    }
    uint64_t correct = 0, spikes[SNN_MAX_LAYERS] = {0}, synops[SNN_MAX_LAYERS] = {0};
    uint64_t events[SNN_MAX_LAYERS] = {0};
    char label[96], extra[64];
    snprintf(label, sizeof label, "eval %s", device);
    snn_progress p;
    snn_progress_begin(&p, label, ds.n, "img");
    for (uint32_t i0 = 0; i0 < ds.n; i0 += chunk) {
        uint32_t n = ds.n - i0 < chunk ? ds.n - i0 : chunk;
        if (snn_dev_run(dev, ds.pixels + i0 * px, n, NULL, rec, NULL) != SNN_OK) {
            fprintf(stderr, "\nmpbn eval: %s\n", snn_last_error());
            goto done;
        }
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *r = rec + i * stride;
            int32_t pred;
            memcpy(&pred, r + 4u * K, 4);
            correct += pred == (int32_t)ds.labels[i0 + i];
            for (uint32_t l = 0; l < L; l++) {
                uint32_t a, b, e;
                memcpy(&a, r + 4u * (snn_result_spikes_word(K, L) + l), 4);
                memcpy(&b, r + 4u * (snn_result_synops_word(K, L) + l), 4);
                memcpy(&e, r + 4u * (snn_result_events_word(K, L) + l), 4);
                spikes[l] += a, synops[l] += b, events[l] += e;
            }
        }
        snprintf(extra, sizeof extra, "acc %.4f", (double)correct / (i0 + n));
        snn_progress_update(&p, i0 + n, extra);
    }
    snn_progress_end(&p, extra);
    snn_dev_stats ds_st;
    snn_dev_get_stats(dev, &ds_st);
    double acc = ds.n ? (double)correct / ds.n : 0, secs = ds_st.seconds;
    uint64_t sp = 0, so = 0, ev = 0;
    for (uint32_t l = 0; l < L; l++) sp += spikes[l], so += synops[l], ev += events[l];
    fprintf(stderr, "mpbn eval: %s on %s: accuracy %.4f on %u images (%.1f img/s)\n", model_path,
            device, acc, ds.n, secs > 0 ? ds.n / secs : 0);
    char arr_sp[SNN_MAX_LAYERS * 24 + 4], arr_so[SNN_MAX_LAYERS * 24 + 4];
    char arr_ev[SNN_MAX_LAYERS * 24 + 4];
    size_t a = 0, b = 0, c = 0;
    a += (size_t)snprintf(arr_sp + a, sizeof arr_sp - a, "[");
    b += (size_t)snprintf(arr_so + b, sizeof arr_so - b, "[");
    c += (size_t)snprintf(arr_ev + c, sizeof arr_ev - c, "[");
    for (uint32_t l = 0; l < L; l++) {
        a += (size_t)snprintf(arr_sp + a, sizeof arr_sp - a, "%s%.6g", l ? "," : "",
                              ds.n ? (double)spikes[l] / ds.n : 0.0);
        b += (size_t)snprintf(arr_so + b, sizeof arr_so - b, "%s%.6g", l ? "," : "",
                              ds.n ? (double)synops[l] / ds.n : 0.0);
        c += (size_t)snprintf(arr_ev + c, sizeof arr_ev - c, "%s%.6g", l ? "," : "",
                              ds.n ? (double)events[l] / ds.n : 0.0);
    }
    snprintf(arr_sp + a, sizeof arr_sp - a, "]");
    snprintf(arr_so + b, sizeof arr_so - b, "]");
    snprintf(arr_ev + c, sizeof arr_ev - c, "]");
    snn_json *j = snn_json_new();
    snn_json_num(j, "accuracy", acc);
    snn_json_int(j, "images", ds.n);
    snn_json_num(j, "images_per_s", secs > 0 ? ds.n / secs : 0);
    snn_json_str(j, "device", device);
    if (!strcmp(device, "sim") || !strcmp(device, "csim")) /* the configuration, default too */
        snn_json_str(j, "config", o.config ? o.config : SNN_PIPE_DEFAULT_CONFIG);
    snn_json_str(j, "model", model_path);
    snn_json_num(j, "seconds", secs);
    snn_json_num(j, "spikes_per_image", ds.n ? (double)sp / ds.n : 0);
    snn_json_num(j, "synops_per_image", ds.n ? (double)so / ds.n : 0);
    snn_json_num(j, "events_per_image", ds.n ? (double)ev / ds.n : 0);
    snn_json_raw(j, "spikes_per_layer", arr_sp);
    snn_json_raw(j, "synops_per_layer", arr_so);
    snn_json_raw(j, "events_per_layer", arr_ev);
    if (ds_st.cycles) {
        snn_json_num(j, "cycles", ds.n ? (double)ds_st.cycles / ds.n : 0);
        snn_json_num(j, "synops_per_cycle", ds_st.cycles ? (double)so / ds_st.cycles : 0);
    }
    if (ds_st.watts > 0) {
        snn_json_num(j, "watts", ds_st.watts);
        snn_json_num(j, "joules_per_image", ds.n ? ds_st.joules / ds.n : 0);
    }
    rc = snn_json_print(j);
done:
    free(rec);
    snn_dev_close(dev);
    snn_dataset_free(&ds);
    free(image);
    return rc;
}
