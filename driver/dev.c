/*
 * dev.c - the device registry and the backend-independent run loop.
 *
 * snn_dev_run() cuts the images into batches and keeps two buffer sets:
 *
 *     write batch k+1 -> bo[(k+1)%2]   while   kernel runs batch k on bo[k%2]
 *     wait(k), read results of k, start(k+1), ...
 *
 * A backend that accepts several runs in flight (iface.max_inflight = D,
 * the card; or snn_dev.inflight set at open: the card with two per compute
 * unit of every card) gets D buffer sets and start(k+1) .. start(k+D-1)
 * before wait(k), so the kernel is busy while the host reads results, and
 * with several compute units the runs execute at once.
 * On a synchronous backend (ref, csim) start() already finishes the run, so
 * the overlap is nil but the call sequence, and therefore the code that the
 * card executes, is the same.
 */
#include <stdlib.h>
#include <string.h>

#include "snn-dev-impl.h"

/* ---- registry ------------------------------------------------------------
 * Every backend is always compiled in. The ones that need something this
 * machine may lack load it at open() and say what is missing: sim dlopen()s
 * the Verilator model built by `make sim`, xrt dlopen()s XRT. */
extern const snn_dev_iface snn_dev_ref, snn_dev_csim, snn_dev_sim, snn_dev_xrt;

static const struct {
    const char *name;
    const snn_dev_iface *iface;
} registry[] = {
    {"ref", &snn_dev_ref},
    {"csim", &snn_dev_csim},
    {"sim", &snn_dev_sim},
    {"xrt", &snn_dev_xrt},
};
#define N_REGISTRY (sizeof registry / sizeof registry[0])

const char *snn_dev_names(void)
{
    static char buf[64];
    if (!buf[0]) {
        for (size_t i = 0; i < N_REGISTRY; i++) {
            if (buf[0]) strcat(buf, ",");
            strcat(buf, registry[i].name);
        }
    }
    return buf;
}

void snn_dev_opts_init(snn_dev_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = 60000;
    o->batch = 256;
    o->seed = 1;
}

snn_status snn_dev_open(const char *name, const snn_dev_opts *opts, snn_dev_t **out)
{
    *out = NULL;
    for (size_t i = 0; i < N_REGISTRY; i++) {
        if (strcmp(name, registry[i].name) != 0) continue;
        snn_dev_t *d = snn_calloc(1, sizeof *d);
        if (!d) return SNN_ERR_NOMEM;
        d->iface = registry[i].iface;
        if (opts)
            d->opts = *opts;
        else
            snn_dev_opts_init(&d->opts);
        if (!d->opts.timeout_ms) d->opts.timeout_ms = 60000;
        if (!d->opts.batch) d->opts.batch = 256;
        snn_status st = d->iface->open(d);
        if (st != SNN_OK) {
            free(d);
            return snn_fail_context(st, "opening device '%s'", name);
        }
        *out = d;
        return SNN_OK;
    }
    return snn_fail(SNN_ERR_ARG, "unknown device '%s' (this build has: %s)", name, snn_dev_names());
}

const char *snn_dev_name(const snn_dev_t *dev)
{
    return dev->iface->name;
}

snn_status snn_bo_range_check(const snn_dev_t *dev, const char *what, size_t off, size_t n,
                              size_t size)
{
    if (off > size || n > size - off)
        return snn_fail(SNN_ERR_ARG, "%s: %s of %zu bytes at %zu outside a %zu-byte buffer",
                        dev->iface->name, what, n, off, size);
    return SNN_OK;
}

const snn_net *snn_dev_net(const snn_dev_t *dev)
{
    return dev->loaded ? &dev->net : NULL;
}

void snn_dev_get_stats(const snn_dev_t *dev, snn_dev_stats *st)
{
    *st = dev->stats;
}

int snn_dev_card_stats_get(const snn_dev_t *dev, snn_dev_card_stats *out, int max)
{
    return dev->iface->cards ? dev->iface->cards(dev, out, max) : 0;
}

/* --cards all|LIST (include/snn-dev.h). */
snn_status snn_dev_cards_parse(const char *value, void *field)
{
    snn_dev_cards c;
    memset(&c, 0, sizeof c);
    if (!strcmp(value, "all")) {
        c.all = 1;
        *(snn_dev_cards *)field = c;
        return SNN_OK;
    }
    const char *p = value;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0)
            return snn_fail(SNN_ERR_ARG,
                            "'%.64s': an empty card index (all, or card indices separated by "
                            "commas such as 0,2)",
                            value);
        char tok[16];
        uint32_t idx = 0;
        int ok = len < sizeof tok;
        if (ok) {
            memcpy(tok, p, len);
            tok[len] = 0;
            for (size_t i = 0; i < len && ok; i++)
                ok = tok[i] >= '0' && tok[i] <= '9';
            if (ok) idx = (uint32_t)strtoul(tok, NULL, 10);
        }
        if (!ok || idx > SNN_DEV_MAX_CARD_INDEX)
            return snn_fail(SNN_ERR_ARG,
                            "'%.*s' is not a card index (0..%d; all, or indices separated by "
                            "commas such as 0,2)",
                            (int)(len < 32 ? len : 32), p, SNN_DEV_MAX_CARD_INDEX);
        for (uint32_t i = 0; i < c.n; i++)
            if (c.list[i] == (int32_t)idx)
                return snn_fail(SNN_ERR_ARG, "card %u is listed twice in '%.64s'", idx, value);
        if (c.n == SNN_DEV_MAX_CARDS)
            return snn_fail(SNN_ERR_ARG, "'%.64s' lists more than %d cards", value,
                            SNN_DEV_MAX_CARDS);
        c.list[c.n++] = (int32_t)idx;
        if (!p[len]) break;
        p += len + 1;
    }
    *(snn_dev_cards *)field = c;
    return SNN_OK;
}

/* Runs kept in flight and buffer sets used by the run loop. */
static int run_depth(const snn_dev_t *d)
{
    uint32_t m = d->inflight ? d->inflight : d->iface->max_inflight;
    return m < 2 ? 1 : m > SNN_DEV_MAX_INFLIGHT ? SNN_DEV_MAX_INFLIGHT : (int)m;
}

static void free_run_buffers(snn_dev_t *d)
{
    for (int k = 0; k < SNN_DEV_MAX_INFLIGHT; k++) {
        if (d->img_bo[k]) d->iface->bo_free(d, d->img_bo[k]);
        if (d->res_bo[k]) d->iface->bo_free(d, d->res_bo[k]);
        if (d->trace_bo[k]) d->iface->bo_free(d, d->trace_bo[k]);
        d->img_bo[k] = d->res_bo[k] = d->trace_bo[k] = NULL;
    }
    d->bo_images = 0;
    d->bo_trace = 0;
    d->n_sets = 0;
    d->next_set = 0;
}

static void unload(snn_dev_t *d)
{
    free_run_buffers(d);
    if (d->model_bo) d->iface->bo_free(d, d->model_bo);
    d->model_bo = NULL;
    free(d->image);
    d->image = NULL;
    d->loaded = 0;
}

void snn_dev_close(snn_dev_t *dev)
{
    if (!dev) return;
    unload(dev);
    dev->iface->close(dev);
    free(dev);
}

snn_status snn_dev_load(snn_dev_t *d, const uint8_t *image, size_t size)
{
    unload(d);
    /* Own, aligned copy: the parsed view aliases it for the device's lifetime. */
    d->image = aligned_alloc(64, (size + 63) & ~(size_t)63);
    if (!d->image) return snn_fail(SNN_ERR_NOMEM, "out of memory copying the deploy image");
    memcpy(d->image, image, size);
    snn_status st = snn_deploy_parse(d->image, size, &d->net);
    if (st == SNN_OK) st = d->iface->bo_alloc(d, size, &d->model_bo);
    if (st == SNN_OK) st = d->iface->bo_write(d, d->model_bo, 0, d->image, size);
    if (st != SNN_OK) {
        unload(d);
        return st;
    }
    d->loaded = 1;
    return SNN_OK;
}

static snn_status ensure_run_buffers(snn_dev_t *d, uint32_t batch, int trace)
{
    if (d->bo_images >= batch && (!trace || d->bo_trace)) return SNN_OK;
    free_run_buffers(d);
    const snn_deploy_hdr *h = d->net.hdr;
    size_t img = (size_t)h->in_c * h->in_h * h->in_w;
    size_t res = snn_result_stride(h->n_classes, d->net.n_layers);
    size_t trw = (size_t)snn_trace_words(&d->net) * 4;
    snn_status st = SNN_OK;
    int sets = run_depth(d) < 2 ? 2 : run_depth(d);
    uint64_t need = (uint64_t)sets * batch * (img + res + (trace ? trw : 0));
    if (need > SNN_WORKSPACE_MAX_BYTES)
        return snn_fail(SNN_ERR_ARG,
                        "a batch of %u images needs %.1f GiB of device buffers (%d sets of "
                        "images, results%s), more than the %llu GiB limit: use a smaller --batch",
                        batch, (double)need / (1u << 30), sets, trace ? ", traces" : "",
                        (unsigned long long)(SNN_WORKSPACE_MAX_BYTES >> 30));
    for (int k = 0; k < sets && st == SNN_OK; k++) {
        st = d->iface->bo_alloc(d, img * batch, &d->img_bo[k]);
        if (st == SNN_OK) st = d->iface->bo_alloc(d, res * batch, &d->res_bo[k]);
        if (st == SNN_OK && trace) st = d->iface->bo_alloc(d, trw * batch, &d->trace_bo[k]);
    }
    if (st != SNN_OK) {
        free_run_buffers(d);
        return st;
    }
    d->bo_images = batch;
    d->bo_trace = trace;
    d->n_sets = sets;
    return SNN_OK;
}

/* Copy the outputs of a finished batch from device to the caller. */
static snn_status collect(snn_dev_t *d, int k, uint32_t first, uint32_t count, int32_t *preds,
                          uint8_t *results, uint32_t *trace, uint8_t *scratch)
{
    const snn_deploy_hdr *h = d->net.hdr;
    size_t stride = snn_result_stride(h->n_classes, d->net.n_layers);
    uint8_t *dst = results ? results + (size_t)first * stride : scratch;
    snn_status st = d->iface->bo_read(d, d->res_bo[k], 0, dst, stride * count);
    if (st != SNN_OK) return st;
    if (preds)
        for (uint32_t i = 0; i < count; i++)
            memcpy(&preds[first + i], dst + i * stride + 4u * h->n_classes, 4);
    if (trace) {
        size_t tw = snn_trace_words(&d->net);
        st = d->iface->bo_read(d, d->trace_bo[k], 0, trace + (size_t)first * tw, tw * 4 * count);
    }
    return st;
}

/* Wait for the oldest run in flight, batch b, account its time, power and
 * cycles, and copy its outputs out of buffer set (base + b) % n_sets. */
static snn_status finish(snn_dev_t *d, uint32_t base, uint32_t b, uint32_t batch, uint32_t n,
                         int32_t *preds, uint8_t *results, uint32_t *trace, uint8_t *scratch,
                         double *t_prev, uint32_t *inflight)
{
    uint64_t cycles = 0;
    uint32_t first = b * batch;
    uint32_t count = n - first < batch ? n - first : batch;
    snn_status st = d->iface->wait(d, d->opts.timeout_ms, &cycles);
    if (st == SNN_ERR_TIMEOUT) return st; /* still running */
    (*inflight)--;                        /* ended, well or badly: no longer in flight */
    if (st != SNN_OK) return st;
    double t = snn_now();
    d->stats.cycles += cycles;
    d->stats.runs++;
    d->stats.images += count;
    double w = 0;
    if (d->iface->power && d->iface->power(d, &w) == SNN_OK && w > 0) {
        /* mean power since the previous completion, over the time since then */
        d->stats.joules += w * (t - *t_prev);
        d->power_seconds += t - *t_prev;
        d->stats.watts = d->stats.joules / d->power_seconds;
    }
    *t_prev = t;
    return collect(d, (int)((base + b) % (uint32_t)d->n_sets), first, count, preds, results, trace,
                   scratch);
}

snn_status snn_dev_run(snn_dev_t *d, const uint8_t *pixels, uint32_t n, int32_t *preds,
                       uint8_t *results, uint32_t *trace)
{
    if (!d->loaded)
        return snn_fail(SNN_ERR_ARG, "no deploy image loaded on device '%s'", d->iface->name);
    if (n == 0) return SNN_OK;
    double t0 = snn_now(), t_prev = t0;
    const snn_deploy_hdr *h = d->net.hdr;
    size_t img = (size_t)h->in_c * h->in_h * h->in_w;
    size_t stride = snn_result_stride(h->n_classes, d->net.n_layers);
    uint32_t batch = d->opts.batch < n ? d->opts.batch : n;
    snn_status st = ensure_run_buffers(d, batch, trace != NULL);
    if (st != SNN_OK) return st;
    uint8_t *scratch = results ? NULL : snn_malloc(stride * batch);
    if (!results && !scratch) return SNN_ERR_NOMEM;

    /* Buffer set (base + b) % S is free when batch b is written: batch b - S
     * has been finished by then (S = max(2, D) sets, D = runs kept in flight;
     * every run of the previous call has finished). base goes on from call to
     * call, so that calls of a single batch use the sets, and on the card
     * their compute units, in turn.
     *   D = 1:  write b | finish b-1 | start b          (copy overlaps the run)
     *   D >= 2: write b | start b | finish b-D+1 once D are in flight */
    int depth = run_depth(d);
    uint32_t sets = (uint32_t)d->n_sets;
    uint32_t n_batches = (n + batch - 1) / batch;
    uint32_t base = d->next_set % sets;
    d->next_set = (uint32_t)((base + (uint64_t)n_batches) % sets);
    uint32_t oldest = 0, inflight = 0;
    for (uint32_t b = 0; b < n_batches && st == SNN_OK; b++) {
        int k = (int)((base + b) % sets);
        uint32_t first = b * batch;
        uint32_t count = n - first < batch ? n - first : batch;
        st = d->iface->bo_write(d, d->img_bo[k], 0, pixels + (size_t)first * img, img * count);
        if (st == SNN_OK && depth == 1 && inflight)
            st = finish(d, base, oldest++, batch, n, preds, results, trace, scratch, &t_prev,
                        &inflight);
        if (st == SNN_OK) {
            snn_kernel_args a = {d->model_bo, d->img_bo[k], d->res_bo[k],
                                 trace ? d->trace_bo[k] : NULL, count};
            st = d->iface->start(d, &a);
            if (st == SNN_OK) inflight++;
        }
        if (st == SNN_OK && depth >= 2 && inflight == (uint32_t)depth)
            st = finish(d, base, oldest++, batch, n, preds, results, trace, scratch, &t_prev,
                        &inflight);
    }
    while (st == SNN_OK && inflight)
        st =
            finish(d, base, oldest++, batch, n, preds, results, trace, scratch, &t_prev, &inflight);
    if (st != SNN_OK && inflight) {
        /* Let runs still in flight end before their buffers can be freed;
         * keep the first error's message. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", snn_last_error());
        for (uint64_t c; inflight && st != SNN_ERR_TIMEOUT; inflight--)
            (void)d->iface->wait(d, d->opts.timeout_ms, &c);
        snn_fail(st, "%s", msg);
    }
    free(scratch);
    d->stats.seconds += snn_now() - t0;
    if (st != SNN_OK) return snn_fail_context(st, "device '%s'", d->iface->name);
    return SNN_OK;
}
