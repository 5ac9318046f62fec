/*
 * dev-ref.c - the `ref` backend: the golden model (host/deploy/ref-model.c) behind
 * the device interface. Buffers are host memory; start() parses the model
 * buffer the way a kernel reads its `model` argument and runs the batch to
 * completion, so wait() has nothing left to do (and counts no cycles).
 *
 * snn_ref_run() is a pure function of its inputs, so start() may split a
 * batch over threads (one slice of images each, results written to disjoint
 * records): the online cores, or MPBN_REF_THREADS.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "snn-dev-impl.h"

struct snn_bo {
    size_t size;
    uint8_t *data; /* 64-byte aligned, like a device buffer */
};

static snn_status ref_open(snn_dev_t *dev)
{
    dev->ctx = NULL;
    return SNN_OK;
}

static void ref_close(snn_dev_t *dev)
{
    (void)dev;
}

static snn_status ref_bo_alloc(snn_dev_t *dev, size_t bytes, snn_bo **out)
{
    (void)dev;
    snn_bo *bo = snn_calloc(1, sizeof *bo);
    if (!bo) return SNN_ERR_NOMEM;
    bo->size = bytes;
    size_t cap = (bytes + 63) & ~(size_t)63;
    bo->data = aligned_alloc(64, cap ? cap : 64);
    if (!bo->data) {
        free(bo);
        return snn_fail(SNN_ERR_NOMEM, "ref: out of memory allocating a %zu-byte buffer", bytes);
    }
    memset(bo->data, 0, bytes);
    *out = bo;
    return SNN_OK;
}

static void ref_bo_free(snn_dev_t *dev, snn_bo *bo)
{
    (void)dev;
    if (!bo) return;
    free(bo->data);
    free(bo);
}

static snn_status ref_bo_write(snn_dev_t *dev, snn_bo *bo, size_t off, const void *src, size_t n)
{
    snn_status st = snn_bo_range_check(dev, "write", off, n, bo->size);
    if (st != SNN_OK) return st;
    memcpy(bo->data + off, src, n);
    return SNN_OK;
}

static snn_status ref_bo_read(snn_dev_t *dev, snn_bo *bo, size_t off, void *dst, size_t n)
{
    snn_status st = snn_bo_range_check(dev, "read", off, n, bo->size);
    if (st != SNN_OK) return st;
    memcpy(dst, bo->data + off, n);
    return SNN_OK;
}

typedef struct ref_slice {
    const snn_net *net;
    const uint8_t *px;
    uint32_t n;
    uint8_t *res;
    uint32_t *trace;
} ref_slice;

static void *ref_slice_run(void *arg)
{
    ref_slice *s = arg;
    snn_ref_run(s->net, s->px, s->n, s->res, s->trace);
    return NULL;
}

static uint32_t ref_threads(uint32_t n_images)
{
    const char *e = getenv("MPBN_REF_THREADS");
    long k = e && *e ? atol(e) : sysconf(_SC_NPROCESSORS_ONLN);
    if (k < 1) k = 1;
    if (k > 64) k = 64;
    /* a slice below a few images is not worth a thread */
    if ((uint32_t)k > n_images / 4) k = n_images / 4 ? n_images / 4 : 1;
    return (uint32_t)k;
}

static snn_status ref_start(snn_dev_t *dev, const snn_kernel_args *a)
{
    (void)dev;
    snn_net net;
    snn_status st = snn_deploy_parse(a->model->data, a->model->size, &net);
    if (st != SNN_OK) return snn_fail_context(st, "ref: model buffer");
    const snn_deploy_hdr *h = net.hdr;
    size_t px = (size_t)h->in_c * h->in_h * h->in_w;
    size_t stride = snn_result_stride(h->n_classes, net.n_layers);
    size_t tw = (size_t)snn_trace_words(&net) * 4;
    if (a->images->size < px * a->n_images || a->results->size < stride * a->n_images ||
        (a->trace && a->trace->size < tw * a->n_images))
        return snn_fail(SNN_ERR_ARG, "ref: buffers too small for %u images", a->n_images);
    uint32_t k = ref_threads(a->n_images), per = (a->n_images + k - 1) / k;
    ref_slice sl[64];
    pthread_t th[64];
    int threaded[64] = {0};
    uint32_t n_sl = 0;
    for (uint32_t first = 0; first < a->n_images; first += per, n_sl++) {
        uint32_t cnt = a->n_images - first < per ? a->n_images - first : per;
        sl[n_sl] = (ref_slice){&net, a->images->data + first * px, cnt,
                               a->results->data + first * stride,
                               a->trace ? (uint32_t *)(a->trace->data + first * tw) : NULL};
    }
    /* slice 0 runs on this thread, as does any slice whose thread cannot start */
    for (uint32_t i = 1; i < n_sl; i++)
        threaded[i] = pthread_create(&th[i], NULL, ref_slice_run, &sl[i]) == 0;
    for (uint32_t i = 0; i < n_sl; i++)
        if (!threaded[i]) ref_slice_run(&sl[i]);
    for (uint32_t i = 1; i < n_sl; i++)
        if (threaded[i]) pthread_join(th[i], NULL);
    return SNN_OK;
}

static snn_status ref_wait(snn_dev_t *dev, uint32_t timeout_ms, uint64_t *cycles)
{
    (void)dev;
    (void)timeout_ms;
    *cycles = 0;
    return SNN_OK;
}

const snn_dev_iface snn_dev_ref = {
    .name = "ref",
    .desc = "golden fixed-point model in plain C (docs/numerics.md)",
    .open = ref_open,
    .close = ref_close,
    .bo_alloc = ref_bo_alloc,
    .bo_free = ref_bo_free,
    .bo_write = ref_bo_write,
    .bo_read = ref_bo_read,
    .start = ref_start,
    .wait = ref_wait,
    .power = NULL,
};
