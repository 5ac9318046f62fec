/*
 * xbackend.h - the cross-backend harness shared by tests/test-csim.c (csim)
 * and tests/test-pipe.c (sim, the RTL kernel under Verilator), after ggml's
 * test-backend-ops: a device given by name and options runs a deploy image on
 * a set of images, the golden model (snn_ref_run) runs the same, and every
 * word of every result record (sums, prediction, per-layer spike / synop /
 * event counters) and, for the traced images, every spike of the trace
 * (snn_trace_diff) must be identical; the first difference fails the test,
 * named by image, layer and word. xb_run_cases runs a table of network shapes
 * under every weight regime (lively, saturated, plain, channel-shared
 * thresholds) through it; xb_pair is the two-model fixture of both suites'
 * model-kept-on-chip tests. Static functions only, for cmocka test files.
 */
#ifndef XBACKEND_H
#define XBACKEND_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"
#include "snn-dev.h"
#include "snn-pipe.h"

/* A device under test and how its runs are split. */
typedef struct xb_target {
    const char *dev;      /* device name (snn_dev_open) */
    snn_dev_opts opts;    /* its options */
    uint32_t n_trace;     /* the first n_trace images run with the trace (UINT32_MAX: all),
                             the rest in a second run on the same device, records only */
    uint32_t rerun_batch; /* > 0: every image again on a fresh device in batches of this
                             many, records only */
} xb_target;

/* What record word k is (K classes, L layers): "sum of class 3", "pred",
 * "spikes of layer 1", "synops of layer 0", "events of layer 2", "padding". */
static void xb_word_name(uint32_t K, uint32_t L, uint32_t k, char *buf, size_t size)
{
    static const char *const counters[3] = {"spikes", "synops", "events"};
    if (k < K)
        snprintf(buf, size, "sum of class %u", k);
    else if (k == K)
        snprintf(buf, size, "pred");
    else if (k - K - 1 < 3 * L)
        snprintf(buf, size, "%s of layer %u", counters[(k - K - 1) / L], (k - K - 1) % L);
    else
        snprintf(buf, size, "padding");
}

/* Record words that differ among n records; the first one described in msg. */
static uint32_t xb_diff_records(const snn_net *net, const uint8_t *ref, const uint8_t *got,
                                uint32_t n, char *msg, size_t msg_size)
{
    uint32_t K = net->hdr->n_classes, L = net->n_layers, bad = 0;
    size_t stride = snn_result_stride(K, L);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < stride / 4; k++) {
            uint32_t x, y;
            memcpy(&x, ref + i * stride + 4 * k, 4);
            memcpy(&y, got + i * stride + 4 * k, 4);
            if (x == y) continue;
            if (!bad++) {
                char name[48];
                xb_word_name(K, L, k, name, sizeof name);
                snprintf(msg, msg_size, "image %u record word %u (%s): ref %d, got %d", i, k, name,
                         (int32_t)x, (int32_t)y);
            }
        }
    return bad;
}

/* Trace words that differ among n traces (snn_trace_diff); the first in msg. */
static uint64_t xb_diff_trace(const snn_net *net, const uint32_t *ref, const uint32_t *got,
                              uint32_t n, char *msg, size_t msg_size)
{
    snn_trace_mismatch m;
    uint64_t bad = snn_trace_diff(net, ref, got, n, &m, NULL);
    if (!bad) return 0;
    if (m.layer >= 0)
        snprintf(msg, msg_size, "image %u trace word %u: step %u layer %d neuron %u: ref %d, got %d",
                 m.image, m.word, m.step, m.layer, m.neuron, m.a, m.b);
    else
        snprintf(msg, msg_size, "image %u trace word %u: sum %u: ref %d, got %d", m.image, m.word,
                 m.neuron, m.a, m.b);
    return bad;
}

/* Records (and traces, if both are given) of n images equal ref's, and the
 * predictions (if given) the records'; fails the test at the first difference. */
static void xb_expect_equal(const char *what, const snn_net *net, const uint8_t *ref,
                            const uint8_t *got, const uint32_t *ref_trace, const uint32_t *trace,
                            const int32_t *preds, uint32_t n)
{
    char msg[256];
    if (ref_trace && trace) {
        uint64_t bad = xb_diff_trace(net, ref_trace, trace, n, msg, sizeof msg);
        if (bad) fail_msg("%s: %s (%llu trace bits and sums differ)", what, msg,
                          (unsigned long long)bad);
    }
    uint32_t bad = xb_diff_records(net, ref, got, n, msg, sizeof msg);
    if (bad) fail_msg("%s: %s (%u record words differ)", what, msg, bad);
    uint32_t K = net->hdr->n_classes;
    size_t stride = snn_result_stride(K, net->n_layers);
    for (uint32_t i = 0; preds && i < n; i++) {
        int32_t p;
        memcpy(&p, got + i * stride + 4u * K, 4);
        if (preds[i] != p) fail_msg("%s: image %u: pred %d, its record says %d", what, i, preds[i], p);
    }
}

/* n images on a fresh device: the first n_trace with the trace, the rest in
 * a second run on the same device. Returns the device's cycles (stats). */
static uint64_t xb_run_device(const char *what, const char *name, const snn_dev_opts *opts,
                              const uint8_t *img, size_t size, const snn_net *net,
                              const uint8_t *px, uint32_t n, uint32_t n_trace, int32_t *preds,
                              uint8_t *results, uint32_t *trace)
{
    size_t pxb = (size_t)net->hdr->in_c * net->hdr->in_h * net->hdr->in_w;
    size_t stride = snn_result_stride(net->hdr->n_classes, net->n_layers);
    const char *cfg = opts->config ? opts->config : "default";
    snn_dev_t *dev;
    if (snn_dev_open(name, opts, &dev) != SNN_OK)
        fail_msg("%s: open %s (config %s): %s", what, name, cfg, snn_last_error());
    if (snn_dev_load(dev, img, size) != SNN_OK)
        fail_msg("%s: load %s: %s", what, name, snn_last_error());
    snn_dev_stats s0, s1;
    snn_dev_get_stats(dev, &s0);
    if (n_trace > n) n_trace = n;
    if (n_trace && snn_dev_run(dev, px, n_trace, preds, results, trace) != SNN_OK)
        fail_msg("%s: traced run on %s (config %s): %s", what, name, cfg, snn_last_error());
    if (n > n_trace && snn_dev_run(dev, px + n_trace * pxb, n - n_trace, preds + n_trace,
                                   results + n_trace * stride, NULL) != SNN_OK)
        fail_msg("%s: run on %s (config %s): %s", what, name, cfg, snn_last_error());
    snn_dev_get_stats(dev, &s1);
    snn_dev_close(dev);
    return s1.cycles - s0.cycles;
}

/* A lively network on these records: the first layer spikes and the last
 * layer is reached. */
static void xb_expect_lively(const char *what, const snn_net *net, const uint8_t *rec, uint32_t n)
{
    const uint32_t K = net->hdr->n_classes, L = net->n_layers;
    size_t stride = snn_result_stride(K, L);
    uint64_t spikes0 = 0, events_last = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s, e;
        memcpy(&s, rec + i * stride + 4u * snn_result_spikes_word(K, L), 4);
        memcpy(&e, rec + i * stride + 4u * (snn_result_events_word(K, L) + L - 1), 4);
        spikes0 += s, events_last += e;
    }
    if (!spikes0 || !events_last)
        fail_msg("%s: not lively (%llu spikes in layer 0, %llu events in the last)", what,
                 (unsigned long long)spikes0, (unsigned long long)events_last);
}

/* The target against the golden model on n images of one deploy image:
 * records, predictions and the traced images' spikes; lively: the check
 * above on ref's records. Returns the device's cycles of the first pass. */
static uint64_t xb_check(const xb_target *t, const char *what, const uint8_t *img, size_t size,
                         const uint8_t *px, uint32_t n, int lively)
{
    snn_net net;
    if (snn_deploy_parse(img, size, &net) != SNN_OK) fail_msg("%s: %s", what, snn_last_error());
    size_t stride = snn_result_stride(net.hdr->n_classes, net.n_layers);
    size_t tw = snn_trace_words(&net);
    uint32_t n_tr = t->n_trace < n ? t->n_trace : n;
    uint8_t *ref = calloc(n, stride), *got = calloc(n, stride);
    uint32_t *rtr = calloc(tw * n + 1, 4), *gtr = calloc(tw * n + 1, 4);
    int32_t *preds = calloc(n, 4);
    assert_true(ref && got && rtr && gtr && preds);
    snn_ref_run(&net, px, n, ref, rtr);
    char w[256];
    snprintf(w, sizeof w, "%s on %s (config %s)", what, t->dev,
             t->opts.config ? t->opts.config : "default");
    uint64_t cycles = xb_run_device(w, t->dev, &t->opts, img, size, &net, px, n, n_tr, preds, got,
                                    gtr);
    xb_expect_equal(w, &net, ref, got, rtr, n_tr ? gtr : NULL, preds, n_tr);
    xb_expect_equal(w, &net, ref + n_tr * stride, got + n_tr * stride, NULL, NULL, preds + n_tr,
                    n - n_tr);
    if (t->rerun_batch) {
        snn_dev_opts o = t->opts;
        o.batch = t->rerun_batch;
        snprintf(w, sizeof w, "%s on %s (config %s, batches of %u)", what, t->dev,
                 o.config ? o.config : "default", o.batch);
        memset(got, 0, n * stride);
        xb_run_device(w, t->dev, &o, img, size, &net, px, n, 0, preds, got, NULL);
        xb_expect_equal(w, &net, ref, got, NULL, NULL, preds, n);
    }
    if (lively) xb_expect_lively(what, &net, ref, n);
    free(ref);
    free(got);
    free(rtr);
    free(gtr);
    free(preds);
    return cycles;
}

/* The extremes of the encoding layer through xb_check, every image traced
 * by the target: a saturated network (c6,p,c10,f12 on c x 8 x 8, T steps;
 * 2 and 5 where the target holds them) on images of all 255 (the largest
 * accumulation), all 0 (no events at all, a silent network), stripes of 255
 * and 0, and a ramp. */
static void xb_check_extreme_images(const xb_target *t, uint32_t c, uint32_t T)
{
    uint8_t *img;
    size_t size;
    if (snn_deploy_random(77, "c6,p,c10,f12", c, 8, 8, T, 7, SNN_RAND_EXTREME, &img, &size) !=
        SNN_OK)
        fail_msg("%s", snn_last_error());
    enum { N = 4, PXMAX = 2 * 8 * 8 };
    assert_true(c >= 1 && c <= 2);
    const int PX = (int)c * 8 * 8;
    uint8_t px[N * PXMAX];
    memset(px, 255, PX);
    memset(px + PX, 0, PX);
    for (int i = 0; i < PX; i++) px[2 * PX + i] = (i & 1) ? 255 : 0;
    for (int i = 0; i < PX; i++) px[3 * PX + i] = (uint8_t)(i * 37);
    xb_check(t, "extreme images", img, size, px, N, 0);
    free(img);
}

/* Channel-wise MPBN form: every neuron of a conv channel gets the threshold
 * (and polarity) of the channel's first neuron. Edits the image in place. */
static void xb_make_channelwise(uint8_t *img, size_t size)
{
    snn_net net;
    if (snn_deploy_parse(img, size, &net) != SNN_OK) fail_msg("%s", snn_last_error());
    for (uint32_t l = 0; l < net.n_layers; l++) {
        const snn_layer *L = &net.layers[l];
        if (L->kind != SNN_LAYER_CONV) continue;
        uint32_t hw = L->desc->out_h * L->desc->out_w;
        int32_t *th = (int32_t *)(img + L->desc->th_off);
        uint8_t *pol = img + L->desc->pol_off;
        for (uint32_t c = 0; c < L->desc->out_c; c++)
            for (uint32_t p = 1; p < hw; p++) {
                uint32_t n = c * hw + p, n0 = c * hw;
                th[n] = th[n0];
                uint8_t b = (pol[n0 >> 3] >> (n0 & 7)) & 1;
                pol[n >> 3] = (uint8_t)((pol[n >> 3] & ~(1u << (n & 7))) | (b << (n & 7)));
            }
    }
    snn_deploy_fix_crc(img, size);
}

/* ---- the model kept on chip ---------------------------------------------------- */

/* Two models of one shape (c4,p,c8,f16 on 1x12x12, T = 4, 10 classes),
 * XB_PAIR_N images and ref's records of each, which differ: what the
 * reload tests write over each other at one address. */
enum { XB_PAIR_N = 4 };
typedef struct xb_pair {
    uint8_t *img[2];
    size_t size;
    snn_net net[2];
    uint8_t px[XB_PAIR_N * 144];
    uint8_t *ref[2]; /* XB_PAIR_N records each */
    size_t stride;
} xb_pair;

static void xb_pair_make(xb_pair *p)
{
    size_t size[2];
    for (int m = 0; m < 2; m++) {
        assert_int_equal(snn_deploy_random(11 + (uint64_t)m, "c4,p,c8,f16", 1, 12, 12, 4, 10, 0,
                                           &p->img[m], &size[m]),
                         SNN_OK);
        assert_int_equal(snn_deploy_parse(p->img[m], size[m], &p->net[m]), SNN_OK);
    }
    assert_int_equal(size[0], size[1]);
    p->size = size[0];
    p->stride = snn_result_stride(10, p->net[0].n_layers);
    snn_pixels_random(11, XB_PAIR_N, 1, 12, 12, p->px);
    for (int m = 0; m < 2; m++) {
        p->ref[m] = calloc(XB_PAIR_N, p->stride);
        assert_non_null(p->ref[m]);
        snn_ref_run(&p->net[m], p->px, XB_PAIR_N, p->ref[m], NULL);
    }
    assert_memory_not_equal(p->ref[0], p->ref[1], XB_PAIR_N * p->stride);
}

static void xb_pair_free(xb_pair *p)
{
    for (int m = 0; m < 2; m++) free(p->img[m]), free(p->ref[m]);
    memset(p, 0, sizeof *p);
}

/* ---- the table-driven loop ------------------------------------------------------ */

/* A network shape (host/deploy/randnet.c) and the configuration it runs on. */
typedef struct xb_case {
    const char *cfg; /* opts.config; NULL: the target's */
    const char *arch;
    uint32_t c, h, w, T, K;
} xb_case;

/* The weight regimes every shape runs under: randnet's lively default, the
 * saturation corner (weights +-127, biases at the bound), plain, and the
 * default network again with channel-shared thresholds (the channel-wise
 * MPBN form; the same seed and images). */
typedef struct xb_regime {
    uint32_t flags; /* SNN_RAND_* */
    int channelwise;
    int lively; /* the network is expected lively */
    const char *name;
} xb_regime;

static const xb_regime xb_regimes[] = {
    {0, 0, 1, ""},
    {SNN_RAND_EXTREME, 0, 0, ""},
    {SNN_RAND_PLAIN, 0, 1, ""},
    {0, 1, 0, " channelwise"},
};

typedef struct xb_suite {
    xb_target target;      /* opts.config, and per network opts.seed, are set per case */
    const xb_case *cases;
    size_t n_cases;
    uint64_t seed_step;    /* network k, regime f: seed seed_step * (k + 1) + flags' index */
    uint32_t n_images;     /* images per network */
    uint32_t n_images_big; /* ... for images of more than 400 pixels */
    int channelwise;       /* also the channel-wise regime */
    int lively;            /* check liveness where the regime expects it */
    /* the configuration a case must fit (snn_pipe_fit) before it runs; NULL: no check */
    const snn_pipe_config *(*fit_config)(const char *name);
    /* per network: the options (e.g. memory latency by seed); NULL: none */
    void (*setup)(snn_dev_opts *o, const xb_case *c, uint64_t seed);
    int verbose;           /* a line per network with the device's cycles per image */
} xb_suite;

/* Every case under every regime through xb_check. */
static void xb_run_cases(const xb_suite *s)
{
    uint64_t total_cycles = 0, total_images = 0;
    for (size_t k = 0; k < s->n_cases; k++) {
        const xb_case *c = &s->cases[k];
        uint32_t n = c->h * c->w > 400 ? s->n_images_big : s->n_images;
        uint8_t *px = malloc((size_t)n * c->c * c->h * c->w);
        assert_non_null(px);
        for (size_t f = 0; f < sizeof xb_regimes / sizeof xb_regimes[0]; f++) {
            const xb_regime *r = &xb_regimes[f];
            if (r->channelwise && !s->channelwise) continue;
            uint64_t seed = s->seed_step * (k + 1) + (r->channelwise ? 0 : f);
            xb_target t = s->target;
            if (c->cfg) t.opts.config = c->cfg;
            if (s->setup) s->setup(&t.opts, c, seed);
            uint8_t *img;
            size_t size;
            if (snn_deploy_random(seed, c->arch, c->c, c->h, c->w, c->T, c->K, r->flags, &img,
                                  &size) != SNN_OK)
                fail_msg("random net %s: %s", c->arch, snn_last_error());
            if (r->channelwise) xb_make_channelwise(img, size);
            if (s->fit_config) {
                snn_net net;
                const snn_pipe_config *pc = s->fit_config(t.opts.config);
                assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
                if (snn_pipe_fit(&net, pc, NULL) != SNN_OK)
                    fail_msg("case %s on %s does not fit: %s", c->arch, t.opts.config,
                             snn_last_error());
            }
            snn_pixels_random(seed, n, c->c, c->h, c->w, px);
            char what[128];
            snprintf(what, sizeof what, "%s %ux%ux%u T=%u seed %llu flags %u%s", c->arch, c->c,
                     c->h, c->w, c->T, (unsigned long long)seed, r->flags, r->name);
            uint64_t cyc = xb_check(&t, what, img, size, px, n, s->lively && r->lively);
            total_cycles += cyc, total_images += n;
            if (s->verbose)
                printf("  ok %-56s %8.0f cycles/image (%u traced, %u not; load included)\n", what,
                       (double)cyc / n, t.n_trace < n ? t.n_trace : n,
                       t.n_trace < n ? n - t.n_trace : 0);
            free(img);
        }
        free(px);
    }
    if (s->verbose && total_images)
        printf("  %llu images, %.0f cycles per image on average\n",
               (unsigned long long)total_images, (double)total_cycles / (double)total_images);
}

#endif
