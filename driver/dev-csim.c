/*
 * dev-csim.c - the `csim` device: the HLS kernel (hls/snn_kernel.c, the
 * layer pipeline of the RTL kernel in C) compiled natively and called like
 * the card calls it.
 *
 * One kernel build per configuration of the layer pipeline (snn_kernel.c:
 * card, hls/csim-<config>.c: the others); opts.config picks one (`--config
 * NAME`, default SNN_PIPE_DEFAULT_CONFIG), as for the sim device. Buffers
 * (bo) are 64-byte aligned host memory standing in for card memory; start()
 * refuses a network the build's loader would not map onto its stages
 * (snn_pipe_fit with the build's parameters, the reason in the message), then
 * calls the kernel's top function synchronously with the buffers as its m_axi
 * arguments and the flags register (SNN_FLAG_RELOAD after the model buffer
 * was written: the kernel keeps the model on chip between runs), so wait()
 * has nothing to wait for. wait() reports the kernel's cycle model
 * (snn_hls_cycles, docs/hls-kernel.md) as cycles and adds its per-stage
 * iterations and load cycles to the device's stats.
 *
 * Test hook: MPBN_CSIM_FAULT="image,layer,step,neuron" flips that neuron's
 * bit in the trace written for that image (counted from the first image run
 * since the device was opened), so that tests can prove `mpbn compare`
 * catches and names a wrong spike. Unset, it costs nothing.
 */
#include <string.h>

#include "hls/snn_kernel.h"
#include "snn-dev-impl.h"
#include "snn-regmap.h"

extern const snn_hls_variant snn_hls_variant_card, snn_hls_variant_ci, snn_hls_variant_u280;

const snn_hls_variant *const snn_hls_variants[] = {
    &snn_hls_variant_card,
    &snn_hls_variant_ci,
    &snn_hls_variant_u280,
    NULL,
};

struct snn_bo {
    uint8_t *p;
    size_t n;
};

typedef struct csim_ctx {
    const snn_hls_variant *v;
    snn_hls_cycles cyc;  /* the cycle model of the last run */
    int reload;          /* the model buffer was written since the last run */
    const uint8_t *checked_image;
    uint64_t images_run; /* images run since open (for the fault hook) */
    int fault;           /* MPBN_CSIM_FAULT parsed */
    uint64_t f_image;
    uint32_t f_layer, f_step, f_neuron;
} csim_ctx;

/* Flip the traced spike named by MPBN_CSIM_FAULT if it falls in this run. */
static void inject_fault(csim_ctx *c, const snn_net *net, uint8_t *trace, uint32_t n_images)
{
    if (!c->fault || !trace || c->f_image < c->images_run ||
        c->f_image >= c->images_run + n_images || c->f_layer + 1 >= net->n_layers ||
        c->f_step >= net->hdr->timesteps || c->f_neuron >= net->layers[c->f_layer].n_out)
        return;
    size_t w = (size_t)(c->f_image - c->images_run) * snn_trace_words(net) +
               snn_trace_word(net, c->f_step, c->f_layer, c->f_neuron);
    uint32_t v;
    memcpy(&v, trace + 4 * w, 4);
    v ^= 1u << (c->f_neuron % 32);
    memcpy(trace + 4 * w, &v, 4);
}

static snn_status csim_open(snn_dev_t *dev)
{
    const char *want = dev->opts.config ? dev->opts.config : SNN_PIPE_DEFAULT_CONFIG;
    const snn_hls_variant *v = NULL;
    char have[128] = "";
    for (size_t i = 0; snn_hls_variants[i]; i++) {
        const snn_hls_variant *c = snn_hls_variants[i];
        if (!v && !strcmp(c->cfg.name, want)) v = c;
        size_t len = strlen(have);
        snprintf(have + len, sizeof have - len, "%s%s", len ? ", " : "", c->cfg.name);
    }
    if (!v)
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "csim has no kernel build of configuration '%.64s' (builds: %s; "
                        "hls/csim-<config>.c)",
                        want, have);
    /* a build's parameters are those of the configuration table (mk/sim.mk) */
    const snn_pipe_config *t = snn_pipe_config_find(v->cfg.name);
    if (t && memcmp(&t->p, &v->cfg.p, sizeof t->p))
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "csim: the kernel build of configuration %s has other parameters than "
                        "PIPE_PARAMS_%s in mk/sim.mk; update hls/ (snn_kernel.h, csim-%s.c)",
                        v->cfg.name, v->cfg.name, v->cfg.name);
    csim_ctx *c = snn_calloc(1, sizeof *c);
    if (!c) return SNN_ERR_NOMEM;
    c->v = v;
    c->reload = 1;
    const char *f = getenv("MPBN_CSIM_FAULT");
    unsigned long long fi;
    unsigned fl, fs, fn;
    if (f && sscanf(f, "%llu,%u,%u,%u", &fi, &fl, &fs, &fn) == 4) {
        c->fault = 1;
        c->f_image = fi, c->f_layer = fl, c->f_step = fs, c->f_neuron = fn;
    }
    dev->ctx = c;
    return SNN_OK;
}

static void csim_close(snn_dev_t *dev)
{
    free(dev->ctx);
    dev->ctx = NULL;
}

static snn_status csim_bo_alloc(snn_dev_t *dev, size_t bytes, snn_bo **out)
{
    (void)dev;
    *out = NULL;
    snn_bo *bo = snn_calloc(1, sizeof *bo);
    if (!bo) return SNN_ERR_NOMEM;
    size_t n = (bytes + 63) & ~(size_t)63;
    bo->p = aligned_alloc(64, n ? n : 64);
    if (!bo->p) {
        free(bo);
        return snn_fail(SNN_ERR_NOMEM, "csim: out of memory allocating a %zu-byte buffer", bytes);
    }
    memset(bo->p, 0, n ? n : 64);
    bo->n = bytes;
    *out = bo;
    return SNN_OK;
}

static void csim_bo_free(snn_dev_t *dev, snn_bo *bo)
{
    (void)dev;
    if (!bo) return;
    free(bo->p);
    free(bo);
}

static snn_status csim_bo_write(snn_dev_t *dev, snn_bo *bo, size_t off, const void *src, size_t n)
{
    csim_ctx *c = dev->ctx;
    if (bo == dev->model_bo) { /* a new model: check it again, the kernel loads it again */
        c->checked_image = NULL;
        c->reload = 1;
    }
    snn_status st = snn_bo_range_check(dev, "write", off, n, bo->n);
    if (st != SNN_OK) return st;
    memcpy(bo->p + off, src, n);
    return SNN_OK;
}

static snn_status csim_bo_read(snn_dev_t *dev, snn_bo *bo, size_t off, void *dst, size_t n)
{
    snn_status st = snn_bo_range_check(dev, "read", off, n, bo->n);
    if (st != SNN_OK) return st;
    memcpy(dst, bo->p + off, n);
    return SNN_OK;
}

/* The loader's mapping and fit check with this build's parameters: a
 * network the kernel would answer with pred = -1 records is refused with the
 * reason. */
static snn_status csim_fits(const csim_ctx *c, const snn_net *net)
{
    if (snn_pipe_fit(net, &c->v->cfg, NULL) == SNN_OK) return SNN_OK;
    char why[512];
    snprintf(why, sizeof why, "%s", snn_last_error());
    return snn_fail(SNN_ERR_UNSUPPORTED,
                    "the network does not fit the HLS layer-pipeline kernel (--config %s): %s "
                    "(docs/rtl-pipeline.md, \"Stage mapping\"; PIPE_PARAMS_%s in mk/sim.mk)",
                    c->v->cfg.name, why, c->v->cfg.name);
}

static snn_status csim_start(snn_dev_t *dev, const snn_kernel_args *a)
{
    csim_ctx *c = dev->ctx;
    if (c->checked_image != dev->image) {
        snn_status st = csim_fits(c, &dev->net);
        if (st != SNN_OK) return st;
        c->checked_image = dev->image;
    }
    const snn_net *net = &dev->net;
    size_t img = (size_t)net->hdr->in_c * net->hdr->in_h * net->hdr->in_w;
    size_t res = snn_result_stride(net->hdr->n_classes, net->n_layers);
    size_t trw = (size_t)snn_trace_words(net) * 4;
    /* The buffers must hold what the kernel writes: a short buffer would be a
     * driver bug, caught here rather than as a stray write. */
    SNN_ASSERT(a->model->n >= net->size);
    SNN_ASSERT(a->images->n >= img * a->n_images);
    SNN_ASSERT(a->results->n >= res * a->n_images);
    SNN_ASSERT(!a->trace || a->trace->n >= trw * a->n_images);
    c->v->kernel((const uint32_t *)a->model->p, a->images->p, (uint32_t *)a->results->p,
                 a->trace ? (uint32_t *)a->trace->p : NULL, a->n_images,
                 c->reload ? SNN_FLAG_RELOAD : 0u);
    c->reload = 0;
    c->v->cycles(&c->cyc);
    inject_fault(c, net, a->trace ? a->trace->p : NULL, a->n_images);
    c->images_run += a->n_images;
    return SNN_OK;
}

static snn_status csim_wait(snn_dev_t *dev, uint32_t timeout_ms, uint64_t *cycles)
{
    (void)timeout_ms;
    csim_ctx *c = dev->ctx;
    *cycles = c->cyc.cycles;
    dev->stats.load_cycles += c->cyc.load_cycles;
    for (int s = 0; s < SNN_DEV_STAGES; s++) dev->stats.stage_cycles[s] += c->cyc.unit_cycles[1 + s];
    memset(&c->cyc, 0, sizeof c->cyc);
    return SNN_OK;
}

const snn_dev_iface snn_dev_csim = {
    .name = "csim",
    .desc = "the HLS kernel (hls/, the layer pipeline in C) compiled natively",
    .open = csim_open,
    .close = csim_close,
    .bo_alloc = csim_bo_alloc,
    .bo_free = csim_bo_free,
    .bo_write = csim_bo_write,
    .bo_read = csim_bo_read,
    .start = csim_start,
    .wait = csim_wait,
    .power = NULL,
};
