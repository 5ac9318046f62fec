/*
 * eval-device.c - `mpbn eval MODEL.snn --device ref|csim|sim|xrt`: accuracy of
 * a deploy image on any backend of the device API (driver/snn-dev.h).
 *
 *   mpbn eval MODEL.snn [--device D] [--data DIR] [--limit N] [--batch N]
 *                       [--lanes N] [--xclbin F] [--device-index N] [--timeout-ms N]
 *                       [--mem-latency N] [--backpressure P] [--seed N] [--waveform F]
 *
 * The code is the same for every device: open, load, run the test images in
 * chunks (progress line), read the result records. Last stdout line:
 * {"accuracy":..,"images":..,"images_per_s":..,"device":..,"spikes_per_image":..,
 *  "synops_per_image":..,"per_layer":{..},"cycles_per_image":.. (sim)}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "progress.h"
#include "snn-data.h"
#include "snn-deploy.h"
#include "snn-dev.h"

static int parse_u(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || x < lo || x > hi) {
        fprintf(stderr, "mpbn eval: bad value '%s' for %s (expected an integer in %llu..%llu)\n", s,
                opt, (unsigned long long)lo, (unsigned long long)hi);
        return 0;
    }
    *v = x;
    return 1;
}

int snn_eval_device(const char *model_path, const char *device, int argc, char **argv)
{
    const char *data = NULL;
    uint64_t limit = 0;
    snn_dev_opts o;
    snn_dev_opts_init(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') continue; /* the model path */
        if (i + 1 >= argc) {
            fprintf(stderr, "mpbn eval: option %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        uint64_t x = 0;
        int ok = 1;
        if (!strcmp(a, "--device")) continue;
        else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--threads")) ok = parse_u(a, v, 0, 4096, &x);
        else if (!strcmp(a, "--limit")) ok = parse_u(a, v, 0, UINT32_MAX, &limit);
        else if (!strcmp(a, "--batch")) ok = parse_u(a, v, 1, 1u << 20, &x), o.batch = (uint32_t)x;
        else if (!strcmp(a, "--lanes")) ok = parse_u(a, v, 1, 1024, &x), o.lanes = (uint32_t)x;
        else if (!strcmp(a, "--xclbin")) o.xclbin = v;
        else if (!strcmp(a, "--device-index")) ok = parse_u(a, v, 0, 1024, &x), o.device_index = (int32_t)x;
        else if (!strcmp(a, "--timeout-ms")) ok = parse_u(a, v, 1, UINT32_MAX, &x), o.timeout_ms = (uint32_t)x;
        else if (!strcmp(a, "--mem-latency")) ok = parse_u(a, v, 0, 100000, &x), o.mem_latency = (uint32_t)x;
        else if (!strcmp(a, "--backpressure")) ok = parse_u(a, v, 0, 90, &x), o.backpressure = (uint32_t)x;
        else if (!strcmp(a, "--seed")) ok = parse_u(a, v, 0, UINT64_MAX, &x), o.seed = x;
        else if (!strcmp(a, "--waveform")) o.waveform = v;
        else {
            fprintf(stderr, "mpbn eval: unknown option '%s' for device '%s'\n", a, device);
            return 2;
        }
        if (!ok) return 2;
    }

    uint8_t *image = NULL;
    size_t size = 0;
    snn_dataset ds = {0};
    snn_dev_t *dev = NULL;
    uint8_t *rec = NULL;
    int rc = 1;
    snn_net check;
    if (snn_file_read(model_path, &image, &size) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s\n", snn_last_error());
        return 1;
    }
    if (snn_image_parse(image, size, &check) != SNN_OK) {
        fprintf(stderr, "mpbn eval: %s: %s\n", model_path, snn_last_error());
        goto done;
    }
    const snn_image_hdr *h = check.hdr;
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
    rec = malloc(stride * (chunk < ds.n ? chunk : (ds.n ? ds.n : 1)));
    if (!rec) {
        fprintf(stderr, "mpbn eval: out of memory\n");
        goto done;
    }
    uint64_t correct = 0, spikes[SNN_MAX_LAYERS] = {0}, synops[SNN_MAX_LAYERS] = {0};
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
                uint32_t a, b;
                memcpy(&a, r + 4u * (K + 1 + l), 4);
                memcpy(&b, r + 4u * (K + 1 + L + l), 4);
                spikes[l] += a, synops[l] += b;
            }
        }
        snprintf(extra, sizeof extra, "acc %.4f", (double)correct / (i0 + n));
        snn_progress_update(&p, i0 + n, extra);
    }
    snn_progress_end(&p, extra);
    snn_dev_stats ds_st;
    snn_dev_get_stats(dev, &ds_st);
    double acc = ds.n ? (double)correct / ds.n : 0, secs = ds_st.seconds;
    uint64_t sp = 0, so = 0;
    for (uint32_t l = 0; l < L; l++) sp += spikes[l], so += synops[l];
    fprintf(stderr, "mpbn eval: %s on %s: accuracy %.4f on %u images (%.1f img/s)\n", model_path,
            device, acc, ds.n, secs > 0 ? ds.n / secs : 0);
    char arr_sp[SNN_MAX_LAYERS * 24 + 4], arr_so[SNN_MAX_LAYERS * 24 + 4];
    size_t a = 0, b = 0;
    a += (size_t)snprintf(arr_sp + a, sizeof arr_sp - a, "[");
    b += (size_t)snprintf(arr_so + b, sizeof arr_so - b, "[");
    for (uint32_t l = 0; l < L; l++) {
        a += (size_t)snprintf(arr_sp + a, sizeof arr_sp - a, "%s%.6g", l ? "," : "",
                              ds.n ? (double)spikes[l] / ds.n : 0.0);
        b += (size_t)snprintf(arr_so + b, sizeof arr_so - b, "%s%.6g", l ? "," : "",
                              ds.n ? (double)synops[l] / ds.n : 0.0);
    }
    snprintf(arr_sp + a, sizeof arr_sp - a, "]");
    snprintf(arr_so + b, sizeof arr_so - b, "]");
    snn_json *j = snn_json_new();
    snn_json_num(j, "accuracy", acc);
    snn_json_int(j, "images", ds.n);
    snn_json_num(j, "images_per_s", secs > 0 ? ds.n / secs : 0);
    snn_json_str(j, "device", device);
    snn_json_str(j, "model", model_path);
    snn_json_num(j, "seconds", secs);
    snn_json_num(j, "spikes_per_image", ds.n ? (double)sp / ds.n : 0);
    snn_json_num(j, "synops_per_image", ds.n ? (double)so / ds.n : 0);
    snn_json_raw(j, "spikes_per_layer", arr_sp);
    snn_json_raw(j, "synops_per_layer", arr_so);
    if (ds_st.cycles) {
        snn_json_num(j, "cycles", ds.n ? (double)ds_st.cycles / ds.n : 0);
        snn_json_num(j, "synops_per_cycle", ds_st.cycles ? (double)so / ds_st.cycles : 0);
    }
    if (ds_st.watts > 0) {
        snn_json_num(j, "watts", ds_st.watts);
        snn_json_num(j, "joules_per_image", ds.n ? ds_st.joules / ds.n : 0);
    }
    const char *line = snn_json_finish(j);
    if (line) {
        puts(line);
        rc = 0;
    }
    snn_json_free(j);
done:
    free(rec);
    snn_dev_close(dev);
    snn_dataset_free(&ds);
    free(image);
    return rc;
}
