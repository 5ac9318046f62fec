/*
 * cmd-info.c - `mpbn info`: what a deploy image or a checkpoint holds.
 *
 *   mpbn info MODEL.snn|CKPT.safetensors [--json]
 *
 * A checkpoint (told apart by its first bytes) gets its metadata, layers and
 * parameter counts and the verdict of snn_ckpt_validate(), the check every
 * checkpoint consumer runs; an invalid one exits 1. For a deploy image, per
 * layer: kind, shapes, neurons, fan-out, synapses, threshold statistics
 * in float units (threshold x scale of the neuron's channel, over neurons
 * that are not constant), negative-polarity and constant neurons; then the
 * memory footprint per section. Without --json a table goes to stdout before
 * the JSON line; with --json only the JSON line is printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/json.h"
#include "deploy/snn-deploy.h"
#include "io/safetensors.h"
#include "opts.h"
#include "train/snn-train.h"

typedef struct layer_stats {
    double th_min, th_max, th_mean, th_std;
    uint32_t th_n;     /* neurons in the statistics */
    uint32_t negative; /* polarity 1 */
    uint32_t always, never;
    uint64_t synapses;
} layer_stats;

static int is_const(int32_t th, int pol, int *always)
{
    /* |v| < 2^30 (docs/numerics.md): beyond that the comparison is decided */
    if (th >= (1 << 30) || th <= -(1 << 30)) {
        *always = pol ? th > 0 : th < 0;
        return 1;
    }
    return 0;
}

static void stats_of(const snn_layer *L, layer_stats *s)
{
    memset(s, 0, sizeof *s);
    const snn_layer_desc *d = L->desc;
    if (L->kind != SNN_LAYER_POOL) s->synapses = d->w_bytes;
    if (!L->th) return;
    uint32_t hw = d->out_h * d->out_w;
    double sum = 0, sum2 = 0;
    s->th_min = INFINITY, s->th_max = -INFINITY;
    for (uint32_t n = 0; n < L->n_out; n++) {
        int pol = (L->pol[n / 8] >> (n % 8)) & 1, always;
        if (is_const(L->th[n], pol, &always)) {
            if (always) s->always++;
            else s->never++;
            continue;
        }
        s->negative += (uint32_t)pol;
        double v = (double)L->th[n] * L->scale[n / hw];
        s->th_min = fmin(s->th_min, v), s->th_max = fmax(s->th_max, v);
        sum += v, sum2 += v * v;
        s->th_n++;
    }
    if (s->th_n) {
        s->th_mean = sum / s->th_n;
        double var = sum2 / s->th_n - s->th_mean * s->th_mean;
        s->th_std = var > 0 ? sqrt(var) : 0;
    } else {
        s->th_min = s->th_max = 0;
    }
}

/* ---- checkpoints ---------------------------------------------------------------- */

/* Floats of layer L's tensors (weights, BN, MPBN, output bias). */
static uint64_t layer_params(const snn_ckpt_info *ci, const snn_layer_info *L)
{
    if (L->kind == SNN_LAYER_POOL) return 0;
    uint64_t oc = L->out_c, fan = L->kind == SNN_LAYER_CONV ? 9ull * L->in_c : L->in_c;
    uint64_t n = oc * fan;
    if (L->kind == SNN_LAYER_OUT) return n + oc;
    n += 4 * oc;
    if (L->has_mpbn) n += 4 * (ci->mpbn == SNN_MPBN_ELEMENT ? oc * L->out_h * L->out_w : oc);
    return n;
}

/* A checkpoint: its metadata and layers and the result of snn_ckpt_validate
 * (the check every consumer runs). An invalid one exits 1 with the message
 * on stderr and "valid":false in the JSON line. */
static int ckpt_info(const char *path, int json_only)
{
    snn_st_file *st = NULL;
    snn_ckpt_info ci;
    snn_status s = snn_st_read(path, &st);
    if (s == SNN_OK) s = snn_ckpt_validate(st, &ci);
    snn_json *j = snn_json_new();
    snn_json_str(j, "model", path);
    snn_json_str(j, "kind", "checkpoint");
    snn_json_bool(j, "valid", s == SNN_OK);
    if (s != SNN_OK) {
        fprintf(stderr, "mpbn info: %s\n", snn_last_error());
        snn_json_str(j, "error", snn_last_error());
        snn_json_print(j);
        snn_st_free(st);
        return 1;
    }
    const char *ver = snn_st_meta(st, "version");
    uint64_t neurons = 0;
    for (uint32_t l = 0; l < ci.n_layers; l++)
        if (ci.layers[l].kind != SNN_LAYER_POOL)
            neurons += (uint64_t)ci.layers[l].out_c * ci.layers[l].out_h * ci.layers[l].out_w;
    if (!json_only) {
        printf("%s: checkpoint v%s, valid: arch %s, T=%u, mpbn %s, input %ux%ux%u, %u classes\n",
               path, ver, ci.arch, ci.T, snn_mpbn_mode_str(ci.mpbn), ci.in_c, ci.in_h, ci.in_w,
               ci.n_classes);
        printf("tau %g, vth %g, bn_eps %g, mpbn_eps %g, input normalisation mean %g std %g\n", ci.tau,
               ci.vth, ci.bn_eps, ci.mpbn_eps, ci.norm_mean, ci.norm_std);
        printf("%-3s %-5s %-12s %-12s %8s %10s\n", "#", "kind", "in", "out", "neurons", "parameters");
        for (uint32_t l = 0; l < ci.n_layers; l++) {
            const snn_layer_info *L = &ci.layers[l];
            char in[32], out[32];
            snprintf(in, sizeof in, "%ux%ux%u", L->in_c, L->in_h, L->in_w);
            snprintf(out, sizeof out, "%ux%ux%u", L->out_c, L->out_h, L->out_w);
            printf("%-3u %-5s %-12s %-12s %8u %10llu\n", l, snn_layer_kind_str(L->kind), in, out,
                   L->kind == SNN_LAYER_POOL ? 0 : L->out_c * L->out_h * L->out_w,
                   (unsigned long long)layer_params(&ci, L));
        }
        printf("%u tensors, %llu parameters; %u momentum buffers, %s\n", ci.n_tensors,
               (unsigned long long)ci.n_values, ci.n_momentum,
               ci.resumable ? "resumable" : "not resumable (train --resume needs the momentum "
                                            "buffers and rng_state)");
        if (ci.test_acc >= 0)
            printf("trained %u of %u epochs, test accuracy %.4f\n", ci.epochs_done, ci.epochs_total,
                   ci.test_acc);
    }
    size_t cap = 64 + (size_t)ci.n_layers * 160, len = 0;
    char *arr = malloc(cap);
    if (!arr) {
        fprintf(stderr, "mpbn info: out of memory\n");
        snn_json_free(j);
        snn_st_free(st);
        return 1;
    }
    len += (size_t)snprintf(arr + len, cap - len, "[");
    for (uint32_t l = 0; l < ci.n_layers; l++) {
        const snn_layer_info *L = &ci.layers[l];
        len += (size_t)snprintf(arr + len, cap - len,
                                "%s{\"kind\":\"%s\",\"in\":[%u,%u,%u],\"out\":[%u,%u,%u],"
                                "\"neurons\":%u,\"parameters\":%llu}",
                                l ? "," : "", snn_layer_kind_str(L->kind), L->in_c, L->in_h, L->in_w,
                                L->out_c, L->out_h, L->out_w,
                                L->kind == SNN_LAYER_POOL ? 0 : L->out_c * L->out_h * L->out_w,
                                (unsigned long long)layer_params(&ci, L));
    }
    snprintf(arr + len, cap - len, "]");
    char shape[64];
    snprintf(shape, sizeof shape, "[%u,%u,%u]", ci.in_c, ci.in_h, ci.in_w);
    snn_json_str(j, "version", ver);
    snn_json_str(j, "arch", ci.arch);
    snn_json_int(j, "T", ci.T);
    snn_json_str(j, "mpbn", snn_mpbn_mode_str(ci.mpbn));
    snn_json_raw(j, "input", shape);
    snn_json_int(j, "n_classes", ci.n_classes);
    snn_json_num(j, "norm_mean", ci.norm_mean);
    snn_json_num(j, "norm_std", ci.norm_std);
    snn_json_num(j, "tau", ci.tau);
    snn_json_num(j, "vth", ci.vth);
    snn_json_num(j, "bn_eps", ci.bn_eps);
    snn_json_num(j, "mpbn_eps", ci.mpbn_eps);
    snn_json_int(j, "n_layers", ci.n_layers);
    snn_json_int(j, "neurons", (int64_t)neurons);
    snn_json_int(j, "parameters", (int64_t)ci.n_values);
    snn_json_int(j, "tensors", ci.n_tensors);
    snn_json_int(j, "momentum_buffers", ci.n_momentum);
    snn_json_bool(j, "resumable", ci.resumable);
    snn_json_int(j, "epochs_done", ci.epochs_done);
    snn_json_int(j, "epochs_total", ci.epochs_total);
    if (ci.test_acc >= 0) snn_json_num(j, "test_acc", ci.test_acc);
    else snn_json_raw(j, "test_acc", "null");
    snn_json_raw(j, "layers", arr);
    int rc = snn_json_print(j);
    free(arr);
    snn_st_free(st);
    return rc;
}

int snn_cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int json_only = 0;
    snn_opt tab[] = {
        SNN_O_FLAG("--json", &json_only, "print only the JSON line (no table)"),
        SNN_O_END,
    };
    snn_opt_spec spec = {
        .cmd = "info",
        .synopsis = "MODEL.snn|CKPT.safetensors [--json]",
        .about = "What a deploy image holds (per layer: kind, shapes, neurons, synapses, threshold "
                 "statistics; memory per section) or a checkpoint (metadata, layers, parameters, "
                 "validity).",
        .opts = tab,
        .pos_name = "model file",
        .pos = &path,
        .min_pos = 1,
        .max_pos = 1,
    };
    int prc = snn_opts_run(&spec, argc, argv);
    if (prc != SNN_OPTS_GO) return prc;
    if (snn_file_kind_of(path) == SNN_KIND_CHECKPOINT) return ckpt_info(path, json_only);
    if (snn_file_expect_kind(path, SNN_KIND_BIT(SNN_KIND_DEPLOY) | SNN_KIND_BIT(SNN_KIND_CHECKPOINT),
                             "info") != SNN_OK) {
        fprintf(stderr, "mpbn info: %s\n", snn_last_error());
        return 1;
    }
    uint8_t *bytes;
    size_t size;
    snn_net net;
    if (snn_file_read(path, SNN_DEPLOY_MAX_BYTES, &bytes, &size) != SNN_OK) {
        fprintf(stderr, "mpbn info: %s\n", snn_last_error());
        return 1;
    }
    if (snn_deploy_parse(bytes, size, &net) != SNN_OK) {
        fprintf(stderr, "mpbn info: %s: %s\n", path, snn_last_error());
        free(bytes);
        return 1;
    }
    const snn_deploy_hdr *h = net.hdr;
    uint64_t sec[5] = {0}, neurons = 0, synapses = 0;
    layer_stats st[SNN_MAX_LAYERS];
    for (uint32_t l = 0; l < net.n_layers; l++) {
        const snn_layer_desc *d = net.layers[l].desc;
        stats_of(&net.layers[l], &st[l]);
        sec[0] += d->w_bytes, sec[1] += d->b_bytes, sec[2] += d->th_bytes;
        sec[3] += d->pol_bytes, sec[4] += d->scale_bytes;
        neurons += net.layers[l].kind == SNN_LAYER_POOL ? 0 : net.layers[l].n_out;
        synapses += st[l].synapses;
    }
    if (!json_only) {
        printf("%s: deploy image v%u.%u, %u bytes, T=%u, input %ux%ux%u, %u classes\n", path,
               h->version_major, h->version_minor, h->total_bytes, h->timesteps, h->in_c, h->in_h,
               h->in_w, h->n_classes);
        printf("%-3s %-5s %-12s %-12s %8s %7s %9s  %-40s %5s %5s %5s\n", "#", "kind", "in", "out",
               "neurons", "fanout", "synapses", "threshold (float units) min/max mean+-std", "neg",
               "on", "off");
        for (uint32_t l = 0; l < net.n_layers; l++) {
            const snn_layer_desc *d = net.layers[l].desc;
            char in[32], out[32], th[64] = "-";
            snprintf(in, sizeof in, "%ux%ux%u", d->in_c, d->in_h, d->in_w);
            snprintf(out, sizeof out, "%ux%ux%u", d->out_c, d->out_h, d->out_w);
            if (net.layers[l].th)
                snprintf(th, sizeof th, "%.4g/%.4g %.4g+-%.3g", st[l].th_min, st[l].th_max,
                         st[l].th_mean, st[l].th_std);
            printf("%-3u %-5s %-12s %-12s %8u %7u %9llu  %-40s %5u %5u %5u\n", l,
                   snn_layer_kind_str(d->kind), in, out, net.layers[l].n_out, d->fan_out,
                   (unsigned long long)st[l].synapses, th, st[l].negative, st[l].always, st[l].never);
        }
        printf("memory: header+descriptors %u, weights %llu, bias %llu, thresholds %llu, polarity "
               "%llu, scales %llu, total %u bytes\n",
               h->hdr_bytes + h->desc_bytes, (unsigned long long)sec[0], (unsigned long long)sec[1],
               (unsigned long long)sec[2], (unsigned long long)sec[3], (unsigned long long)sec[4],
               h->total_bytes);
    }
    /* JSON: layers as a pre-rendered array */
    size_t cap = 512 + (size_t)net.n_layers * 640, len = 0;
    char *arr = malloc(cap);
    if (!arr) {
        free(bytes);
        fprintf(stderr, "mpbn info: out of memory\n");
        return 1;
    }
    len += (size_t)snprintf(arr + len, cap - len, "[");
    for (uint32_t l = 0; l < net.n_layers; l++) {
        const snn_layer_desc *d = net.layers[l].desc;
        len += (size_t)snprintf(
            arr + len, cap - len,
            "%s{\"kind\":\"%s\",\"in\":[%u,%u,%u],\"out\":[%u,%u,%u],\"neurons\":%u,\"fan_out\":%u,"
            "\"synapses\":%llu,\"bytes\":{\"weights\":%u,\"bias\":%u,\"thresholds\":%u,"
            "\"polarity\":%u,\"scales\":%u}",
            l ? "," : "", snn_layer_kind_str(d->kind), d->in_c, d->in_h, d->in_w, d->out_c,
            d->out_h, d->out_w, net.layers[l].n_out, d->fan_out, (unsigned long long)st[l].synapses,
            d->w_bytes, d->b_bytes, d->th_bytes, d->pol_bytes, d->scale_bytes);
        if (net.layers[l].th)
            len += (size_t)snprintf(arr + len, cap - len,
                                    ",\"threshold\":{\"min\":%.6g,\"max\":%.6g,\"mean\":%.6g,"
                                    "\"std\":%.6g,\"neurons\":%u},\"negative\":%u,\"always\":%u,"
                                    "\"never\":%u",
                                    st[l].th_min, st[l].th_max, st[l].th_mean, st[l].th_std,
                                    st[l].th_n, st[l].negative, st[l].always, st[l].never);
        len += (size_t)snprintf(arr + len, cap - len, "}");
    }
    snprintf(arr + len, cap - len, "]");
    char shape[64], mem[256];
    snprintf(shape, sizeof shape, "[%u,%u,%u]", h->in_c, h->in_h, h->in_w);
    snprintf(mem, sizeof mem,
             "{\"header\":%u,\"weights\":%llu,\"bias\":%llu,\"thresholds\":%llu,\"polarity\":%llu,"
             "\"scales\":%llu,\"total\":%u}",
             h->hdr_bytes + h->desc_bytes, (unsigned long long)sec[0], (unsigned long long)sec[1],
             (unsigned long long)sec[2], (unsigned long long)sec[3], (unsigned long long)sec[4],
             h->total_bytes);
    char ver[16];
    snprintf(ver, sizeof ver, "%u.%u", h->version_major, h->version_minor);
    snn_json *j = snn_json_new();
    snn_json_str(j, "model", path);
    snn_json_str(j, "kind", "deploy");
    snn_json_str(j, "version", ver);
    snn_json_int(j, "bytes", h->total_bytes);
    snn_json_int(j, "T", h->timesteps);
    snn_json_raw(j, "input", shape);
    snn_json_int(j, "n_classes", h->n_classes);
    snn_json_int(j, "n_layers", net.n_layers);
    snn_json_int(j, "neurons", (int64_t)neurons);
    snn_json_int(j, "synapses", (int64_t)synapses);
    snn_json_raw(j, "layers", arr);
    snn_json_raw(j, "memory", mem);
    int rc = snn_json_print(j);
    free(arr);
    free(bytes);
    return rc;
}
