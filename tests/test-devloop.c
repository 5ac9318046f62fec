/*
 * test-devloop.c - the backend-independent run loop of driver/dev.c with
 * several runs in flight (iface.max_inflight), as the card backend uses it.
 *
 * A test backend queues started runs and executes one (with the golden
 * model) only when wait() is called for it, so every ordering mistake shows:
 * it fails the test if the loop writes a buffer that a queued run still has
 * to read, reads results before their run finished, keeps more runs in
 * flight than allowed, or waits with nothing in flight. The results must
 * equal snn_ref_run on the same images, for every depth, batch size and
 * image count (batches that do not divide the set, a set smaller than one
 * batch), with and without the trace.
 *
 * Also the buffer range check every backend's bo_write/bo_read goes through
 * (snn_bo_range_check), directly and through the host-memory backends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deploy/snn-deploy.h"
#include "driver/snn-dev-impl.h"
#include "fold/snn-fold.h"

struct snn_bo {
    size_t size;
    uint8_t *data;
    int busy; /* referenced by a queued run (images, results, trace) */
};

#define QMAX 16
static struct {
    snn_kernel_args q[QMAX];
    int head, count;
    int max_count;
    int hazards;
} tb;

static snn_status t_open(snn_dev_t *d)
{
    (void)d;
    memset(&tb, 0, sizeof tb);
    return SNN_OK;
}
static void t_close(snn_dev_t *d)
{
    (void)d;
}
static snn_status t_alloc(snn_dev_t *d, size_t n, snn_bo **out)
{
    (void)d;
    snn_bo *b = calloc(1, sizeof *b);
    b->size = n;
    b->data = aligned_alloc(64, (n + 63) & ~(size_t)63);
    memset(b->data, 0xee, n);
    *out = b;
    return SNN_OK;
}
static void t_free(snn_dev_t *d, snn_bo *b)
{
    (void)d;
    if (b && b->busy) tb.hazards++;
    if (b) free(b->data);
    free(b);
}
static snn_status t_write(snn_dev_t *d, snn_bo *b, size_t off, const void *src, size_t n)
{
    (void)d;
    if (b->busy) tb.hazards++;
    assert_true(off + n <= b->size);
    memcpy(b->data + off, src, n);
    return SNN_OK;
}
static snn_status t_read(snn_dev_t *d, snn_bo *b, size_t off, void *dst, size_t n)
{
    (void)d;
    if (b->busy) tb.hazards++;
    assert_true(off + n <= b->size);
    memcpy(dst, b->data + off, n);
    return SNN_OK;
}
static snn_status t_start(snn_dev_t *d, const snn_kernel_args *a)
{
    uint32_t depth = d->iface->max_inflight < 2 ? 1 : d->iface->max_inflight;
    if (a->images->busy || a->results->busy || (a->trace && a->trace->busy)) tb.hazards++;
    assert_true(tb.count < QMAX);
    tb.q[(tb.head + tb.count) % QMAX] = *a;
    tb.count++;
    if ((uint32_t)tb.count > depth) tb.hazards++;
    if (tb.count > tb.max_count) tb.max_count = tb.count;
    a->images->busy = a->results->busy = 1;
    if (a->trace) a->trace->busy = 1;
    return SNN_OK;
}
static snn_status t_wait(snn_dev_t *d, uint32_t timeout_ms, uint64_t *cycles)
{
    (void)timeout_ms;
    *cycles = 7;
    if (tb.count == 0) {
        tb.hazards++;
        return snn_fail(SNN_ERR_DEVICE, "wait with nothing in flight");
    }
    snn_kernel_args a = tb.q[tb.head];
    tb.head = (tb.head + 1) % QMAX;
    tb.count--;
    snn_ref_run(&d->net, a.images->data, a.n_images, a.results->data,
                a.trace ? (uint32_t *)a.trace->data : NULL);
    a.images->busy = a.results->busy = 0;
    if (a.trace) a.trace->busy = 0;
    return SNN_OK;
}

#define IFACE(depth)                                                                               \
    {                                                                                              \
        .name = "loop", .desc = "test", .open = t_open, .close = t_close, .bo_alloc = t_alloc,     \
        .bo_free = t_free, .bo_write = t_write, .bo_read = t_read, .start = t_start,               \
        .wait = t_wait, .max_inflight = (depth)                                                    \
    }
static const snn_dev_iface ifaces[] = {IFACE(0), IFACE(2), IFACE(3), IFACE(4), IFACE(9)};

static void run_case(const snn_dev_iface *iface, uint32_t batch, uint32_t n, int with_trace)
{
    uint8_t *img;
    size_t size;
    assert_int_equal(snn_deploy_random(11, "c4,p,c8,f16", 1, 12, 12, 3, 10, 0, &img, &size), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    size_t px = 144, stride = snn_result_stride(net.hdr->n_classes, net.n_layers);
    size_t tw = snn_trace_words(&net);
    uint8_t *pixels = malloc(px * n);
    snn_pixels_random(5, n, 1, 12, 12, pixels);
    uint8_t *want = malloc(stride * n), *got = malloc(stride * n);
    uint32_t *want_tr = malloc(tw * 4 * n), *got_tr = malloc(tw * 4 * n);
    snn_ref_run(&net, pixels, n, want, want_tr);

    snn_dev_t *d = calloc(1, sizeof *d);
    d->iface = iface;
    snn_dev_opts_init(&d->opts);
    d->opts.batch = batch;
    assert_int_equal(iface->open(d), SNN_OK);
    assert_int_equal(snn_dev_load(d, img, size), SNN_OK);
    int32_t *preds = malloc(sizeof *preds * n);
    /* twice: buffers are reused across calls */
    for (int rep = 0; rep < 2; rep++) {
        memset(got, 0, stride * n);
        assert_int_equal(snn_dev_run(d, pixels, n, preds, got, with_trace ? got_tr : NULL), SNN_OK);
        assert_int_equal(tb.hazards, 0);
        assert_int_equal(tb.count, 0);
        assert_memory_equal(got, want, stride * n);
        if (with_trace) assert_memory_equal(got_tr, want_tr, tw * 4 * n);
        for (uint32_t i = 0; i < n; i++) {
            int32_t p;
            memcpy(&p, want + i * stride + 4u * net.hdr->n_classes, 4);
            assert_int_equal(preds[i], p);
        }
    }
    uint32_t depth = iface->max_inflight < 2                      ? 1
                     : iface->max_inflight > SNN_DEV_MAX_INFLIGHT ? SNN_DEV_MAX_INFLIGHT
                                                                  : iface->max_inflight;
    uint32_t runs = (n + batch - 1) / batch;
    assert_int_equal(tb.max_count, runs < depth ? runs : depth);
    snn_dev_stats st;
    snn_dev_get_stats(d, &st);
    assert_int_equal(st.images, 2u * n);
    assert_int_equal(st.runs, 2u * runs);
    assert_int_equal(st.cycles, 7u * 2u * runs);
    snn_dev_close(d);
    free(preds);
    free(img);
    free(pixels);
    free(want);
    free(got);
    free(want_tr);
    free(got_tr);
}

static void test_depths(void **state)
{
    (void)state;
    static const uint32_t cases[][2] = {{16, 100}, {16, 16}, {16, 5}, {7, 64}, {1, 9}, {32, 33}};
    for (size_t i = 0; i < sizeof ifaces / sizeof ifaces[0]; i++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int tr = 0; tr < 2; tr++)
                run_case(&ifaces[i], cases[c][0], cases[c][1], tr);
}

static void test_bo_range(void **state)
{
    (void)state;
    snn_dev_t d = {.iface = &ifaces[0]};
    assert_int_equal(snn_bo_range_check(&d, "write", 0, 100, 100), SNN_OK);
    assert_int_equal(snn_bo_range_check(&d, "write", 100, 0, 100), SNN_OK);
    assert_int_equal(snn_bo_range_check(&d, "read", 0, 0, 0), SNN_OK);
    assert_int_equal(snn_bo_range_check(&d, "write", 1, 100, 100), SNN_ERR_ARG);
    assert_non_null(strstr(snn_last_error(), "loop: write of 100 bytes at 1 outside a 100-byte buffer"));
    assert_int_equal(snn_bo_range_check(&d, "read", 101, 0, 100), SNN_ERR_ARG);
    assert_int_equal(snn_bo_range_check(&d, "read", 1, SIZE_MAX, 100), SNN_ERR_ARG); /* no wrap */
    assert_non_null(strstr(snn_last_error(), "loop: read of"));

    /* the host-memory backends refuse a copy past their buffer, naming themselves */
    static const char *names[] = {"ref", "csim"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snn_dev_opts o;
        snn_dev_opts_init(&o);
        snn_dev_t *dev = NULL;
        assert_int_equal(snn_dev_open(names[i], &o, &dev), SNN_OK);
        snn_bo *bo = NULL;
        assert_int_equal(dev->iface->bo_alloc(dev, 64, &bo), SNN_OK);
        uint8_t buf[65] = {0};
        assert_int_equal(dev->iface->bo_write(dev, bo, 0, buf, 64), SNN_OK);
        assert_int_equal(dev->iface->bo_write(dev, bo, 0, buf, 65), SNN_ERR_ARG);
        char want[64];
        snprintf(want, sizeof want, "%s: write of 65 bytes", names[i]);
        assert_non_null(strstr(snn_last_error(), want));
        assert_int_equal(dev->iface->bo_read(dev, bo, 60, buf, 5), SNN_ERR_ARG);
        snprintf(want, sizeof want, "%s: read of 5 bytes at 60", names[i]);
        assert_non_null(strstr(snn_last_error(), want));
        dev->iface->bo_free(dev, bo);
        snn_dev_close(dev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depths),
        cmocka_unit_test(test_bo_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
