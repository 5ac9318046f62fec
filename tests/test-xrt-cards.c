/*
 * test-xrt-cards.c - what the xrt backend's several cards (--cards) rest on,
 * without XRT: the parser of --cards (snn_dev_cards_parse: all, a list,
 * every malformed list refused with a message naming the bad part), and the
 * run loop of driver/dev.c keeping as many runs in flight and buffer sets as
 * a backend asks for at open (snn_dev.inflight: the xrt backend asks two per
 * compute unit of every card), so that every compute unit gets work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "deploy/snn-deploy.h"
#include "driver/snn-dev-impl.h"
#include "fold/snn-fold.h"

static void test_parse_ok(void **state)
{
    (void)state;
    snn_dev_cards c;
    memset(&c, 0x55, sizeof c);
    assert_int_equal(snn_dev_cards_parse("all", &c), SNN_OK);
    assert_true(c.all);
    assert_int_equal(c.n, 0);
    assert_int_equal(snn_dev_cards_parse("0", &c), SNN_OK);
    assert_false(c.all);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.list[0], 0);
    assert_int_equal(snn_dev_cards_parse("2,0,1024", &c), SNN_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.list[0], 2);
    assert_int_equal(c.list[1], 0);
    assert_int_equal(c.list[2], 1024);
    assert_int_equal(snn_dev_cards_parse("0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", &c), SNN_OK);
    assert_int_equal(c.n, SNN_DEV_MAX_CARDS);
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const struct {
        const char *value, *why;
    } bad[] = {
        {"", "an empty card index"},
        {",", "an empty card index"},
        {"0,", "an empty card index"},
        {",1", "an empty card index"},
        {"0,,1", "an empty card index"},
        {"1,0,1", "card 1 is listed twice"},
        {"007,7", "card 7 is listed twice"},
        {"1025", "'1025' is not a card index (0..1024"},
        {"99999999999999999999", "is not a card index"},
        {"-1", "'-1' is not a card index"},
        {"+1", "'+1' is not a card index"},
        {" 1", "' 1' is not a card index"},
        {"0x1", "'0x1' is not a card index"},
        {"all,1", "'all' is not a card index"},
        {"ALL", "'ALL' is not a card index"},
        {"0;1", "'0;1' is not a card index"},
        {"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "lists more than 16 cards"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snn_dev_cards c = {.all = 7, .n = 3};
        snn_clear_error();
        assert_int_equal(snn_dev_cards_parse(bad[i].value, &c), SNN_ERR_ARG);
        if (!strstr(snn_last_error(), bad[i].why))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].value, snn_last_error(), bad[i].why);
        assert_int_equal(c.all, 7); /* untouched on error */
        assert_int_equal(c.n, 3);
    }
}

/* ---- run loop: a backend asking for D runs in flight at open --------------- */

struct snn_bo {
    size_t size;
    uint8_t *data;
};

#define QMAX 64
static struct {
    snn_kernel_args q[QMAX];
    int head, count, max_count;
    const snn_bo *images_seen[QMAX];
    int n_seen;
    uint32_t want_inflight;
} tb;

static snn_status t_open(snn_dev_t *d)
{
    memset(&tb.q, 0, sizeof tb.q);
    tb.head = tb.count = tb.max_count = tb.n_seen = 0;
    d->inflight = tb.want_inflight; /* as the xrt backend: two per compute unit */
    return SNN_OK;
}
static void t_close(snn_dev_t *d)
{
    (void)d;
}
static snn_status t_alloc(snn_dev_t *d, size_t bytes, snn_bo **out)
{
    (void)d;
    snn_bo *b = calloc(1, sizeof *b);
    b->size = bytes;
    b->data = calloc(1, bytes ? bytes : 1);
    *out = b;
    return SNN_OK;
}
static void t_free(snn_dev_t *d, snn_bo *b)
{
    (void)d;
    free(b->data);
    free(b);
}
static snn_status t_write(snn_dev_t *d, snn_bo *b, size_t off, const void *src, size_t n)
{
    (void)d;
    memcpy(b->data + off, src, n);
    return SNN_OK;
}
static snn_status t_read(snn_dev_t *d, snn_bo *b, size_t off, void *dst, size_t n)
{
    (void)d;
    memcpy(dst, b->data + off, n);
    return SNN_OK;
}
static snn_status t_start(snn_dev_t *d, const snn_kernel_args *a)
{
    (void)d;
    assert_true(tb.count < QMAX);
    tb.q[(tb.head + tb.count++) % QMAX] = *a;
    if (tb.count > tb.max_count) tb.max_count = tb.count;
    int seen = 0;
    for (int i = 0; i < tb.n_seen; i++)
        seen |= tb.images_seen[i] == a->images;
    if (!seen && tb.n_seen < QMAX) tb.images_seen[tb.n_seen++] = a->images;
    return SNN_OK;
}
static snn_status t_wait(snn_dev_t *d, uint32_t timeout_ms, uint64_t *cycles)
{
    (void)timeout_ms;
    *cycles = 0;
    assert_true(tb.count > 0);
    snn_kernel_args a = tb.q[tb.head];
    tb.head = (tb.head + 1) % QMAX;
    tb.count--;
    snn_ref_run(&d->net, a.images->data, a.n_images, a.results->data, NULL);
    return SNN_OK;
}

static const snn_dev_iface iface = {
    .name = "cards",
    .desc = "test",
    .open = t_open,
    .close = t_close,
    .bo_alloc = t_alloc,
    .bo_free = t_free,
    .bo_write = t_write,
    .bo_read = t_read,
    .start = t_start,
    .wait = t_wait,
    .max_inflight = 4,
};

static void test_inflight_per_device(void **state)
{
    (void)state;
    uint8_t *img;
    size_t size;
    assert_int_equal(snn_deploy_random(3, "c4,p,f16", 1, 12, 12, 2, 10, 0, &img, &size), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    const uint32_t n = 1000, batch = 8;
    size_t stride = snn_result_stride(net.hdr->n_classes, net.n_layers);
    uint8_t *pixels = malloc(144 * n), *want = malloc(stride * n), *got = malloc(stride * n);
    snn_pixels_random(9, n, 1, 12, 12, pixels);
    snn_ref_run(&net, pixels, n, want, NULL);
    /* 0: the interface's 4; 24: 3 cards x 4 CUs x 2 */
    static const uint32_t asks[] = {0, 6, 16, 24};
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        tb.want_inflight = asks[i];
        snn_dev_t *d = calloc(1, sizeof *d);
        d->iface = &iface;
        snn_dev_opts_init(&d->opts);
        d->opts.batch = batch;
        assert_int_equal(iface.open(d), SNN_OK);
        assert_int_equal(snn_dev_load(d, img, size), SNN_OK);
        memset(got, 0, stride * n);
        assert_int_equal(snn_dev_run(d, pixels, n, NULL, got, NULL), SNN_OK);
        assert_memory_equal(got, want, stride * n);
        int depth = asks[i] ? (int)asks[i] : 4;
        assert_int_equal(tb.max_count, depth);
        assert_int_equal(tb.n_seen, depth); /* one buffer set per run in flight */
        snn_dev_close(d);
    }
    free(img);
    free(pixels);
    free(want);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_inflight_per_device),
    };
    return cmocka_run_group_tests_name("xrt-cards", tests, NULL, NULL);
}
