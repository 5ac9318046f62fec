/*
 * cmd-compare.c - `mpbn compare`: run the same images through several devices
 * and demand identical results, image by image.
 *
 *   mpbn compare MODEL.snn [--devices ref,csim[,sim,xrt]] [--split NAME] [--random N]
 *                [data and device options]
 *   mpbn compare --random-net ARCH [--shape CxHxW] [--T N] [--classes K] [--extreme]
 *                [--random N] [--seed S] [--devices ...]
 *
 * The data and device options (--data, --limit, --batch, --config, --seed, ...)
 * are the fragment compare shares with eval and bench (host/cli/opts.h).
 *
 * --random-net runs a random lively network (host/deploy/randnet.c) instead of a
 * deploy image file: cross-backend checks without a trained model.
 *
 * Every device runs with trace buffers (docs/deploy-image.md): for every
 * image, every layer's spike bitmap at every step and the output sums. Each
 * device is compared with the first one on
 *   - the trace (spikes of every layer and step, then the sums),
 *   - the result record: sums, pred, and the spikes / synops / events
 *     counters (counter disagreements are reported separately, and count as
 *     a mismatch).
 * Images are processed in chunks of --batch so that traces of a whole test
 * set never sit in memory at once. --no-trace runs the devices without
 * trace buffers and compares the result records only (sums, pred, every
 * counter): for long runs on a kernel whose trace mode is slow (the RTL
 * kernel streams its trace one bit per cycle, docs/simulation.md).
 *
 * A device that fails to open, or fails on a chunk, drops out with its error
 * and the others go on, compared with the first device still running, as
 * long as two remain; what was compared is reported, and the exit status is
 * 1. A run estimated to take more than a few minutes is announced first
 * (host/cli/estimate.h).
 *
 * stderr: progress, and the first differing image, device, layer, step,
 * neuron (with its coordinates) and both values. Last stdout line: JSON with
 * images, images_compared, spikes_compared (0 with --no-trace), devices (as
 * listed), mismatches (images that
 * differ in anything), the per-category counts, first_mismatch (object or
 * null), per-device images, accuracy, throughput and error, and failed
 * ([{"device","error"}]). Exit 0 if all agree, 1 on any mismatch or error,
 * 2 on a usage error.
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
#include "io/snn-data.h"
#include "opts.h"
#include "snn-dev.h"

#define MAX_DEVICES 8

/* --shape CxHxW */
static snn_status parse_shape(const char *v, void *field)
{
    uint32_t *shape = field, d[3];
    const char *p = v;
    for (int i = 0; i < 3; i++) {
        const char *x = i < 2 ? strchr(p, 'x') : p + strlen(p);
        char part[16];
        size_t n = x ? (size_t)(x - p) : 0;
        if (!x || n == 0 || n >= sizeof part) goto bad;
        memcpy(part, p, n);
        part[n] = 0;
        if (snn_parse_u32(part, 1, 65535, &d[i]) != SNN_OK) goto bad;
        p = x + (i < 2);
    }
    memcpy(shape, d, sizeof d);
    return SNN_OK;
bad:
    return snn_fail(SNN_ERR_ARG, "bad shape '%.64s' (expected CxHxW, each 1..65535, e.g. 1x28x28)",
                    v);
}

/* ---- what differs ---------------------------------------------------------------- */

typedef enum {
    DIFF_SPIKE,  /* a spike bit of some layer at some step */
    DIFF_SUM,    /* an output sum (trace or record) */
    DIFF_PRED,   /* the predicted class */
    DIFF_SPIKES, /* the spikes counter of a layer */
    DIFF_SYNOPS, /* the synops counter of a layer */
    DIFF_EVENTS, /* the events counter of a layer */
    DIFF_PAD,    /* nonzero record padding */
} diff_kind;

static const char *diff_name[] = {"spike",          "sum",           "pred", "spikes_counter",
                                  "synops_counter", "events_counter", "padding"};

typedef struct diff {
    diff_kind kind;
    uint32_t image;
    int device; /* index into the device list */
    int ref;    /* the device it was compared with: the first one still running */
    int32_t layer, step, neuron, c, y, x;
    int64_t expected, got;
} diff;

typedef struct compare_state {
    const snn_net *net;
    uint32_t tw;          /* trace words per image */
    size_t stride;        /* result record bytes */
    uint64_t mismatches;  /* images that differ on any device */
    uint64_t n_spike, n_sum, n_pred, n_counter; /* images per category */
    int have_first;
    diff first;
} compare_state;

static void neuron_coords(const snn_net *net, uint32_t l, uint32_t n, diff *d)
{
    const snn_layer_desc *ld = net->layers[l].desc;
    uint32_t hw = ld->out_h * ld->out_w;
    d->neuron = (int32_t)n;
    d->c = (int32_t)(n / hw);
    d->y = (int32_t)(n % hw / ld->out_w);
    d->x = (int32_t)(n % ld->out_w);
}

/* Compare one image of device dv with device 0; fills *d with the first
 * difference in the order spikes, sums, pred, counters. Returns a bit set of
 * the categories that differ (1 spike, 2 sum, 4 pred, 8 counter). */
static unsigned compare_image(const compare_state *cs, const uint32_t *ta, const uint32_t *tb,
                              const uint8_t *ra, const uint8_t *rb, diff *d)
{
    const snn_net *net = cs->net;
    uint32_t K = net->hdr->n_classes, L = net->n_layers, T = net->hdr->timesteps;
    unsigned cats = 0;
    int have = 0;
    /* trace: spikes, step by step, layer by layer, then the sums (none
     * with --no-trace) */
    snn_trace_mismatch m;
    snn_trace_counts tc;
    memset(&m, 0, sizeof m);
    memset(&tc, 0, sizeof tc);
    if (ta && tb) snn_trace_diff(net, ta, tb, 1, &m, &tc);
    if (tc.spike_bits) {
        cats |= 1;
        d->kind = DIFF_SPIKE;
        d->layer = m.layer;
        d->step = (int32_t)m.step;
        neuron_coords(net, (uint32_t)m.layer, m.neuron, d);
        d->expected = m.a;
        d->got = m.b;
        have = 1;
    }
    /* sums: trace tail and record head; the first class where either differs */
    uint32_t kr = K; /* first class whose record sums differ */
    int32_t xr = 0, yr = 0;
    for (uint32_t k = 0; k < K && kr == K; k++) {
        memcpy(&xr, ra + 4 * k, 4);
        memcpy(&yr, rb + 4 * k, 4);
        if (xr != yr) kr = k;
    }
    if (tc.sums || kr < K) {
        cats |= 2;
        if (!have) {
            int trace_first = tc.sums && m.neuron <= kr;
            d->kind = DIFF_SUM;
            d->layer = (int32_t)L - 1;
            d->step = (int32_t)T - 1;
            d->neuron = d->c = (int32_t)(trace_first ? m.neuron : kr);
            d->y = d->x = 0;
            d->expected = trace_first ? m.a : xr;
            d->got = trace_first ? m.b : yr;
            have = 1;
        }
    }
    int32_t pa, pb;
    memcpy(&pa, ra + 4 * K, 4);
    memcpy(&pb, rb + 4 * K, 4);
    if (pa != pb) {
        cats |= 4;
        if (!have) {
            memset(d, 0, sizeof *d);
            d->kind = DIFF_PRED;
            d->layer = d->step = d->neuron = d->c = d->y = d->x = -1;
            d->expected = pa;
            d->got = pb;
            have = 1;
        }
    }
    /* counters, then the zero padding of the record */
    for (uint32_t k = K + 1; k < cs->stride / 4; k++) {
        uint32_t x, y;
        memcpy(&x, ra + 4 * k, 4);
        memcpy(&y, rb + 4 * k, 4);
        if (x == y) continue;
        cats |= 8;
        if (!have) {
            uint32_t i = k - K - 1;
            d->kind = i < L       ? DIFF_SPIKES
                      : i < 2 * L ? DIFF_SYNOPS
                      : i < 3 * L ? DIFF_EVENTS
                                  : DIFF_PAD;
            d->layer = (int32_t)(i < L ? i : i < 2 * L ? i - L : i < 3 * L ? i - 2 * L : 0);
            d->step = d->neuron = d->c = d->y = d->x = -1;
            d->expected = x;
            d->got = y;
            have = 1;
        }
    }
    return cats;
}

static void print_diff(const diff *d, const char *const *names, const snn_net *net)
{
    switch (d->kind) {
    case DIFF_SPIKE:
        fprintf(stderr,
                "mpbn compare: MISMATCH image %u: %s differs from %s at layer %d (%s), step %d, "
                "neuron %d (c %d, y %d, x %d): %s spike %lld, %s spike %lld\n",
                d->image, names[d->device], names[d->ref], d->layer,
                snn_layer_kind_str(net->layers[d->layer].kind), d->step, d->neuron, d->c, d->y,
                d->x, names[d->ref], (long long)d->expected, names[d->device], (long long)d->got);
        break;
    case DIFF_SUM:
        fprintf(stderr,
                "mpbn compare: MISMATCH image %u: %s differs from %s in the output sum of class "
                "%d: %s %lld, %s %lld\n",
                d->image, names[d->device], names[d->ref], d->neuron, names[d->ref],
                (long long)d->expected, names[d->device], (long long)d->got);
        break;
    case DIFF_PRED:
        fprintf(stderr,
                "mpbn compare: MISMATCH image %u: %s differs from %s in the prediction: %s %lld, "
                "%s %lld\n",
                d->image, names[d->device], names[d->ref], names[d->ref], (long long)d->expected,
                names[d->device], (long long)d->got);
        break;
    default:
        fprintf(stderr,
                "mpbn compare: MISMATCH image %u: %s differs from %s in the %s of layer %d: "
                "%s %lld, %s %lld\n",
                d->image, names[d->device], names[d->ref], diff_name[d->kind], d->layer,
                names[d->ref], (long long)d->expected, names[d->device], (long long)d->got);
        break;
    }
}

static void diff_json(snn_json *j, const diff *d, const char *const *names)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"image\":%u,\"device\":\"%s\",\"reference\":\"%s\",\"what\":\"%s\",\"layer\":%d,"
             "\"step\":%d,\"neuron\":%d,\"c\":%d,\"y\":%d,\"x\":%d,\"expected\":%lld,\"got\":%lld}",
             d->image, names[d->device], names[d->ref], diff_name[d->kind], d->layer, d->step,
             d->neuron, d->c, d->y, d->x, (long long)d->expected, (long long)d->got);
    snn_json_raw(j, "first_mismatch", buf);
}

/* Append raw text, then (if str is not NULL) str as an escaped JSON string,
 * to buf; *k is the length so far. Never writes past size: what does not
 * fit is cut (the buffers are sized so that it does not happen). */
static void cat(char *buf, size_t size, size_t *k, const char *raw, const char *str)
{
    if (*k >= size - 1) return;
    *k += (size_t)snprintf(buf + *k, size - *k, "%s", raw);
    if (*k >= size - 1) {
        *k = size - 1;
        return;
    }
    if (str) *k += snn_json_escape(buf + *k, size - *k, str);
    if (*k >= size - 1) *k = size - 1;
}

/* ---- the command ------------------------------------------------------------------ */

int snn_cmd_compare(int argc, char **argv)
{
    const char *model_path = NULL, *devices = "ref,csim", *data_dir = NULL, *split = "t10k";
    const char *random_net = NULL;
    uint32_t limit = 0, n_random = 0, rn_c = 1, rn_h = 28, rn_w = 28, rn_T = 4, rn_K = 10;
    uint32_t rn_flags = 0, shape[3] = {1, 28, 28};
    uint64_t seed = 1;
    int extreme = 0, no_trace = 0;
    snn_dev_opts opts;
    snn_dev_opts_init(&opts);
    char devices_help[256];
    snprintf(devices_help, sizeof devices_help,
             "comma-separated devices, each compared with the first (this build has %s)",
             snn_dev_names());
    snn_opt tab[] = {
        SNN_O_STR("--devices", "LIST", &devices, devices_help),
        SNN_O_STR("--split", "NAME", &split, "which split of the data set"),
        SNN_O_RANDOM(&n_random),
        SNN_O_FLAG("--no-trace", &no_trace,
                   "compare the result records only (sums, prediction, every layer's counters), "
                   "not every spike: for long runs on the RTL kernel, whose trace mode is slow"),
        SNN_OPTS_DEVICE(&opts, &data_dir, &limit),
        SNN_O_GROUP("a random network instead of MODEL.snn (host/deploy/randnet.c)"),
        SNN_O_STR("--random-net", "ARCH", &random_net,
                  "a random lively network of this architecture, e.g. c4,p,c8,f16"),
        SNN_O_FUNC("--shape", "CxHxW", shape, parse_shape, "its input shape", .def = "1x28x28"),
        SNN_O_U32("--T", "N", &rn_T, 1, SNN_MAX_T, "its time steps"),
        SNN_O_U32("--classes", "K", &rn_K, 2, SNN_MAX_CLASSES, "its classes"),
        SNN_O_FLAG("--extreme", &extreme, "weights +-127 and biases at the bound"),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "compare",
        .synopsis = "MODEL.snn [options]\n       mpbn compare --random-net ARCH [options]",
        .about = "Run the same images on several devices and demand identical spikes of every "
                 "layer at every step, sums, predictions and counters, image by image. Exit 0 if "
                 "all agree, 1 on a mismatch or an error.",
        .opts = tab,
        .pos_name = "model",
        .pos = &model_path,
        .max_pos = 1,
    };
    int prc = snn_opts_run(&spec, argc, argv);
    if (prc != SNN_OPTS_GO) return prc;
    if (!model_path == !random_net)
        return snn_opts_usage_error(&spec, "give either MODEL.snn or --random-net ARCH");
    seed = opts.seed;
    if (extreme) rn_flags |= SNN_RAND_EXTREME;
    rn_c = shape[0], rn_h = shape[1], rn_w = shape[2];

    /* device list */
    char dev_buf[256];
    const char *names[MAX_DEVICES];
    int n_dev = 0;
    if (strlen(devices) >= sizeof dev_buf) {
        fprintf(stderr, "mpbn compare: --devices list too long\n");
        return 2;
    }
    strcpy(dev_buf, devices);
    for (char *save = NULL, *tok = strtok_r(dev_buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n_dev == MAX_DEVICES) {
            fprintf(stderr, "mpbn compare: at most %d devices\n", MAX_DEVICES);
            return 2;
        }
        names[n_dev++] = tok;
    }
    if (n_dev < 2) {
        fprintf(stderr, "mpbn compare: --devices needs at least two devices (got '%s')\n", devices);
        return 2;
    }

    int rc = 1;
    uint8_t *model = NULL, *px = NULL, *results[MAX_DEVICES] = {0};
    uint32_t *trace[MAX_DEVICES] = {0};
    int32_t *preds[MAX_DEVICES] = {0};
    uint64_t correct[MAX_DEVICES] = {0};
    uint32_t ran[MAX_DEVICES] = {0}; /* images each device ran */
    snn_dev_t *dev[MAX_DEVICES] = {0};
    /* A device that fails to open or to run drops out with its error; the
     * others go on (the first one left is the reference) while two remain. */
    int alive[MAX_DEVICES] = {0}, n_alive = 0, n_failed = 0;
    char dev_err[MAX_DEVICES][1100] = {{0}}; /* "" = no error */
    snn_dataset ds;
    memset(&ds, 0, sizeof ds);
    size_t model_size;
    snn_net net;

    char net_name[300];
    if (random_net) {
        snprintf(net_name, sizeof net_name, "random-net %s %ux%ux%u T %u seed %llu", random_net,
                 rn_c, rn_h, rn_w, rn_T, (unsigned long long)seed);
        model_path = net_name;
        if (snn_deploy_random(seed, random_net, rn_c, rn_h, rn_w, rn_T, rn_K, rn_flags, &model,
                             &model_size) != SNN_OK) {
            fprintf(stderr, "mpbn compare: %s: %s\n", net_name, snn_last_error());
            goto out;
        }
    } else if (snn_file_read(model_path, SNN_DEPLOY_MAX_BYTES, &model, &model_size) !=
               SNN_OK) {
        fprintf(stderr, "mpbn compare: %s\n", snn_last_error()); /* names the file */
        goto out;
    }
    if (snn_deploy_parse(model, model_size, &net) != SNN_OK) {
        fprintf(stderr, "mpbn compare: %s: %s\n", model_path, snn_last_error());
        goto out;
    }
    const snn_deploy_hdr *h = net.hdr;
    size_t n_px = (size_t)h->in_c * h->in_h * h->in_w;
    uint32_t n_img;
    const char *source;
    char source_buf[300];
    if (n_random) {
        n_img = limit && limit < n_random ? limit : n_random;
        px = snn_malloc(n_px * n_img);
        if (!px) {
            fprintf(stderr, "mpbn compare: out of memory for %u random images\n", n_img);
            goto out;
        }
        snn_pixels_random(seed, n_img, h->in_c, h->in_h, h->in_w, px);
        snprintf(source_buf, sizeof source_buf, "random (seed %llu)", (unsigned long long)seed);
        source = source_buf;
    } else {
        if (snn_dataset_load(data_dir, split, limit, &ds) != SNN_OK) {
            fprintf(stderr, "mpbn compare: %s\n", snn_last_error());
            goto out;
        }
        if (ds.c != h->in_c || ds.h != h->in_h || ds.w != h->in_w) {
            fprintf(stderr,
                    "mpbn compare: the data set's images are %ux%ux%u but %s expects %ux%ux%u\n",
                    ds.c, ds.h, ds.w, model_path, h->in_c, h->in_h, h->in_w);
            goto out;
        }
        n_img = ds.n;
        px = ds.pixels;
        snprintf(source_buf, sizeof source_buf, "%s/%s", data_dir ? data_dir : SNN_DATA_DEFAULT_DIR,
                 split);
        source = source_buf;
    }

    double per_image = 0;
    for (int d = 0; d < n_dev; d++) {
        if (snn_dev_open(names[d], &opts, &dev[d]) != SNN_OK ||
            snn_dev_load(dev[d], model, model_size) != SNN_OK) {
            snprintf(dev_err[d], sizeof dev_err[d], "%s", snn_last_error());
            fprintf(stderr, "mpbn compare: device '%s': %s\n", names[d], dev_err[d]);
            n_failed++;
            continue;
        }
        alive[d] = 1;
        n_alive++;
        per_image += snn_est_device_image_seconds(&net, names[d], &opts);
        if (!no_trace) per_image += snn_est_trace_image_seconds(&net, names[d], &opts);
    }
    if (n_alive < 2) {
        fprintf(stderr, "mpbn compare: %s: nothing to compare\n",
                n_alive ? "only one device opened" : "no device opened");
        goto out;
    }
    snn_warn_long_run("compare", devices, n_img, per_image,
                      n_random ? "a smaller --random N (or --limit N) compares fewer images"
                               : "--limit N compares the first N images only");

    compare_state cs;
    memset(&cs, 0, sizeof cs);
    cs.net = &net;
    cs.tw = no_trace ? 0 : snn_trace_words(&net);
    cs.stride = snn_result_stride(h->n_classes, net.n_layers);
    uint32_t chunk = opts.batch ? opts.batch : 256;
    if (chunk > n_img) chunk = n_img;
    /* Results and traces of one chunk, for every device. */
    uint64_t chunk_bytes = (uint64_t)n_dev * chunk * (cs.stride + (uint64_t)cs.tw * 4 + 4);
    if (chunk_bytes > SNN_WORKSPACE_MAX_BYTES) {
        fprintf(stderr,
                "mpbn compare: --batch %u needs %.1f GiB of traces and results for %d devices, "
                "more than the %llu GiB limit: use a smaller --batch\n",
                chunk, (double)chunk_bytes / (1u << 30), n_dev,
                (unsigned long long)(SNN_WORKSPACE_MAX_BYTES >> 30));
        goto out;
    }
    for (int d = 0; d < n_dev; d++) {
        results[d] = snn_malloc(cs.stride * chunk);
        trace[d] = no_trace ? NULL : snn_malloc((size_t)cs.tw * 4 * chunk);
        preds[d] = snn_malloc(4u * chunk);
        if (!results[d] || (!no_trace && !trace[d]) || !preds[d]) {
            fprintf(stderr, "mpbn compare: out of memory for %u-image chunks\n", chunk);
            goto out;
        }
    }

    fprintf(stderr, "mpbn compare: %s, %u images from %s, devices %s%s\n", model_path, n_img,
            source, devices, no_trace ? " (records only: --no-trace)" : "");
    snn_progress prog;
    snn_progress_begin(&prog, "compare", n_img, "img");
    char extra[64] = "";
    uint32_t compared = 0; /* images compared on at least two devices */
    for (uint32_t first = 0; first < n_img; first += chunk) {
        uint32_t count = n_img - first < chunk ? n_img - first : chunk;
        const uint8_t *cpx = px + (size_t)first * n_px;
        for (int d = 0; d < n_dev; d++) {
            if (!alive[d]) continue;
            if (snn_dev_run(dev[d], cpx, count, preds[d], results[d], trace[d]) != SNN_OK) {
                snprintf(dev_err[d], sizeof dev_err[d], "images %u..%u: %s", first,
                         first + count - 1, snn_last_error());
                snn_progress_break(&prog);
                fprintf(stderr, "mpbn compare: %s\n", dev_err[d]);
                alive[d] = 0;
                n_alive--;
                n_failed++;
                continue;
            }
            ran[d] += count;
            if (ds.labels)
                for (uint32_t i = 0; i < count; i++)
                    correct[d] += preds[d][i] == (int32_t)ds.labels[first + i];
        }
        if (n_alive < 2) {
            fprintf(stderr, "mpbn compare: fewer than two devices left: stopping after %u of %u "
                            "images\n",
                    compared, n_img);
            break;
        }
        int ref = 0;
        while (!alive[ref]) ref++;
        for (uint32_t i = 0; i < count; i++) {
            unsigned cats_img = 0;
            for (int d = ref + 1; d < n_dev; d++) {
                if (!alive[d]) continue;
                diff df;
                memset(&df, 0, sizeof df);
                unsigned cats = compare_image(&cs, no_trace ? NULL : trace[ref] + (size_t)i * cs.tw,
                                              no_trace ? NULL : trace[d] + (size_t)i * cs.tw,
                                              results[ref] + i * cs.stride,
                                              results[d] + i * cs.stride, &df);
                if (cats && !cs.have_first) {
                    df.image = first + i;
                    df.device = d;
                    df.ref = ref;
                    cs.first = df;
                    cs.have_first = 1;
                    print_diff(&df, names, &net);
                }
                cats_img |= cats;
            }
            if (cats_img) cs.mismatches++;
            cs.n_spike += (cats_img & 1) != 0;
            cs.n_sum += (cats_img & 2) != 0;
            cs.n_pred += (cats_img & 4) != 0;
            cs.n_counter += (cats_img & 8) != 0;
        }
        compared += count;
        snprintf(extra, sizeof extra, "mismatches %llu", (unsigned long long)cs.mismatches);
        snn_progress_update(&prog, first + count, extra);
    }
    snn_progress_end(&prog, extra);

    char ran_list[256] = "", failed_list[256] = "";
    for (int d = 0; d < n_dev; d++) {
        size_t len = strlen(ran_list);
        if (ran[d])
            snprintf(ran_list + len, sizeof ran_list - len, "%s%s", len ? "," : "", names[d]);
        len = strlen(failed_list);
        if (dev_err[d][0])
            snprintf(failed_list + len, sizeof failed_list - len, "%s%s", len ? ", " : "",
                     names[d]);
    }
    if (cs.mismatches)
        fprintf(stderr,
                "mpbn compare: %llu of %u images differ (spikes %llu, sums %llu, preds %llu, "
                "counters %llu)\n",
                (unsigned long long)cs.mismatches, compared, (unsigned long long)cs.n_spike,
                (unsigned long long)cs.n_sum, (unsigned long long)cs.n_pred,
                (unsigned long long)cs.n_counter);
    else if (compared)
        fprintf(stderr, "mpbn compare: all %u images identical on %s (%s)\n", compared,
                n_failed ? ran_list : devices,
                no_trace ? "records: sums, preds, counters; spikes not compared (--no-trace)"
                         : "spikes of every layer and step, sums, preds, counters");
    if (n_failed)
        fprintf(stderr,
                "mpbn compare: %d of %d devices failed (%s); the figures are those of the "
                "images and devices that ran\n",
                n_failed, n_dev, failed_list);

    snn_json *j = snn_json_new();
    snn_json_str(j, "command", "compare");
    snn_json_str(j, "model", model_path);
    snn_json_str(j, "source", source);
    snn_json_int(j, "images", n_img);
    snn_json_int(j, "images_compared", compared);
    snn_json_bool(j, "spikes_compared", !no_trace);
    /* every name and error escaped: --devices is user text */
    char list[2048], per_dev[MAX_DEVICES * 8192], failed[MAX_DEVICES * 8192];
    size_t kl = 0, kp = 0, kf = 0;
    cat(list, sizeof list, &kl, "[", NULL);
    cat(per_dev, sizeof per_dev, &kp, "{", NULL);
    cat(failed, sizeof failed, &kf, "[", NULL);
    for (int d = 0; d < n_dev; d++) {
        cat(list, sizeof list, &kl, d ? "," : "", names[d]);
        snn_dev_stats st;
        memset(&st, 0, sizeof st);
        if (dev[d]) snn_dev_get_stats(dev[d], &st);
        snn_json *pj = snn_json_new();
        snn_json_int(pj, "images", ran[d]);
        snn_json_num(pj, "seconds", st.seconds);
        snn_json_num(pj, "images_per_s", st.seconds > 0 ? ran[d] / st.seconds : 0.0);
        snn_json_int(pj, "cycles", (int64_t)st.cycles);
        if (ds.labels && ran[d])
            snn_json_num(pj, "accuracy", (double)correct[d] / ran[d]);
        else
            snn_json_raw(pj, "accuracy", "null");
        if (dev_err[d][0]) snn_json_str(pj, "error", dev_err[d]);
        const char *ps = snn_json_finish(pj);
        cat(per_dev, sizeof per_dev, &kp, d ? "," : "", names[d]);
        cat(per_dev, sizeof per_dev, &kp, ":", NULL);
        cat(per_dev, sizeof per_dev, &kp, ps ? ps : "null", NULL);
        snn_json_free(pj);
        if (dev_err[d][0]) {
            cat(failed, sizeof failed, &kf, kf > 1 ? ",{\"device\":" : "{\"device\":", names[d]);
            cat(failed, sizeof failed, &kf, ",\"error\":", dev_err[d]);
            cat(failed, sizeof failed, &kf, "}", NULL);
        }
    }
    cat(list, sizeof list, &kl, "]", NULL);
    cat(per_dev, sizeof per_dev, &kp, "}", NULL);
    cat(failed, sizeof failed, &kf, "]", NULL);
    snn_json_raw(j, "devices", list);
    snn_json_int(j, "mismatches", (int64_t)cs.mismatches);
    snn_json_int(j, "spike_mismatches", (int64_t)cs.n_spike);
    snn_json_int(j, "sum_mismatches", (int64_t)cs.n_sum);
    snn_json_int(j, "pred_mismatches", (int64_t)cs.n_pred);
    snn_json_int(j, "counter_mismatches", (int64_t)cs.n_counter);
    if (cs.have_first)
        diff_json(j, &cs.first, names);
    else
        snn_json_raw(j, "first_mismatch", "null");
    snn_json_raw(j, "per_device", per_dev);
    snn_json_raw(j, "failed", failed);
    const char *line = snn_json_finish(j);
    if (line) puts(line);
    snn_json_free(j);
    rc = cs.mismatches || n_failed ? 1 : 0;

out:
    for (int d = 0; d < n_dev; d++) {
        snn_dev_close(dev[d]);
        free(results[d]);
        free(trace[d]);
        free(preds[d]);
    }
    if (ds.pixels)
        snn_dataset_free(&ds);
    else
        free(px);
    free(model);
    return rc;
}
