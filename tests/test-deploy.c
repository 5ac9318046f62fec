/*
 * test-deploy.c - deploy image writer and parser (docs/deploy-image.md):
 * round trip, every truncation length, random byte flips (with and without a
 * repaired CRC), and one test per validation rule checking that the message
 * names the field. Also the trace diff (snn_trace_diff) of two backends.
 */
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

static uint64_t g_rng = 12345;
static uint32_t rnd(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_rng >> 33);
}

/* A small hand-specified image: conv 1->2 on 5x5, pool, fc 8->3, out 3->4. */
typedef struct small {
    int8_t w0[9 * 2], w2[2 * 2 * 2 * 3], w3[3 * 4];
    int32_t b0[2], b2[3], b3[4];
    int32_t th0[2 * 25], th2[3];
    uint8_t pol0[50], pol2[3];
    float s0[2], s2[3], s3[4];
    snn_deploy_spec spec;
} small;

static void small_init(small *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 18; i++) m->w0[i] = (int8_t)(i * 13 % 255 - 127);
    for (int i = 0; i < 24; i++) m->w2[i] = (int8_t)(i * 7 - 80);
    for (int i = 0; i < 12; i++) m->w3[i] = (int8_t)(i % 2 ? 127 : -127);
    m->b0[0] = -1000, m->b0[1] = 1000;
    m->b2[0] = -3, m->b2[1] = 0, m->b2[2] = 5;
    for (int i = 0; i < 4; i++) m->b3[i] = i * 11 - 7;
    for (int i = 0; i < 50; i++) m->th0[i] = i * 97 - 2000, m->pol0[i] = i % 7 == 3;
    m->th0[5] = INT32_MAX, m->th0[6] = INT32_MIN;
    m->th2[0] = 1, m->th2[1] = -1, m->th2[2] = 0;
    m->pol2[1] = 1;
    for (int i = 0; i < 2; i++) m->s0[i] = 0.01f * (float)(i + 1);
    for (int i = 0; i < 3; i++) m->s2[i] = 0.5f;
    for (int i = 0; i < 4; i++) m->s3[i] = 0.25f;
    snn_deploy_spec *s = &m->spec;
    s->n_layers = 4, s->T = 3, s->in_c = 1, s->in_h = 5, s->in_w = 5, s->n_classes = 4;
    s->layers[0] = (snn_layer_spec){SNN_LAYER_CONV, 2, m->w0, m->b0, m->th0, m->pol0, m->s0};
    s->layers[1] = (snn_layer_spec){.kind = SNN_LAYER_POOL};
    s->layers[2] = (snn_layer_spec){SNN_LAYER_FC, 3, m->w2, m->b2, m->th2, m->pol2, m->s2};
    s->layers[3] = (snn_layer_spec){SNN_LAYER_OUT, 4, m->w3, m->b3, NULL, NULL, m->s3};
}

static void test_round_trip(void **state)
{
    (void)state;
    small m;
    small_init(&m);
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_build(&m.spec, &img, &n), SNN_OK);
    assert_int_equal(n % 64, 4); /* sections padded to 64, then the CRC */
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    assert_int_equal(net.n_layers, 4);
    assert_int_equal(net.hdr->timesteps, 3);
    assert_int_equal(net.hdr->max_neurons, 50);
    assert_int_equal(net.layers[0].n_out, 50);
    assert_int_equal(net.layers[1].n_out, 8);
    assert_int_equal(net.layers[1].desc->out_h, 2);
    assert_int_equal(net.layers[2].n_in, 8);
    assert_int_equal(net.layers[0].desc->fan_out, 18);
    assert_int_equal(net.layers[0].desc->flags, SNN_LF_INPUT_IMAGE);
    assert_null(net.layers[1].w);
    assert_null(net.layers[3].th);
    assert_memory_equal(net.layers[0].w, m.w0, sizeof m.w0);
    assert_memory_equal(net.layers[2].w, m.w2, sizeof m.w2);
    assert_memory_equal(net.layers[3].w, m.w3, sizeof m.w3);
    assert_memory_equal(net.layers[0].bias, m.b0, sizeof m.b0);
    assert_memory_equal(net.layers[3].bias, m.b3, sizeof m.b3);
    assert_memory_equal(net.layers[0].th, m.th0, sizeof m.th0);
    assert_memory_equal(net.layers[2].th, m.th2, sizeof m.th2);
    assert_memory_equal(net.layers[0].scale, m.s0, sizeof m.s0);
    for (int i = 0; i < 50; i++)
        assert_int_equal((net.layers[0].pol[i / 8] >> (i % 8)) & 1, m.pol0[i]);
    assert_int_equal(net.layers[2].pol[0], 0x2);
    for (uint32_t l = 0; l < 4; l++) {
        const snn_layer_desc *d = net.layers[l].desc;
        uint32_t offs[] = {d->w_off, d->b_off, d->th_off, d->pol_off, d->scale_off};
        for (int k = 0; k < 5; k++) assert_int_equal(offs[k] % 64, 0);
    }
    free(img);
}

static void test_random_nets_parse(void **state)
{
    (void)state;
    const char *archs[] = {"c4,p,c8,f16", "f5", "", "c3,c3,p,p,f4", "c2,f3,f3"};
    for (uint32_t flags = 0; flags < 4; flags++)
        for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
            uint8_t *img;
            size_t n;
            snn_status st = snn_deploy_random(a + 10 * flags, archs[a], 1 + (uint32_t)a % 2, 9, 8, 1 + (uint32_t)a,
                                             3 + (uint32_t)a, flags, &img, &n);
            if (st != SNN_OK) fail_msg("%s: %s", archs[a], snn_last_error());
            snn_net net;
            assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
            free(img);
        }
    uint8_t *img = NULL;
    size_t n;
    assert_int_equal(snn_deploy_random(1, "x3", 1, 8, 8, 2, 10, 0, &img, &n), SNN_ERR_ARG);
    assert_int_equal(snn_deploy_random(1, "p,c3", 1, 8, 8, 2, 10, 0, &img, &n), SNN_ERR_ARG);
    assert_int_equal(snn_deploy_random(1, "f3,c3", 1, 8, 8, 2, 10, 0, &img, &n), SNN_ERR_ARG);
    assert_null(img);
}

/* Parse a copy in an exactly-sized heap buffer (so a read past the end is
 * caught by ASan / valgrind when the suite runs under them). */
static snn_status parse_copy(const uint8_t *src, size_t n, snn_net *net, uint8_t **keep)
{
    uint8_t *b = aligned_alloc(64, n ? (n + 63) & ~(size_t)63 : 64);
    memcpy(b, src, n);
    snn_status st = snn_deploy_parse(b, n, net);
    if (keep)
        *keep = b;
    else
        free(b);
    return st;
}

static void test_every_truncation(void **state)
{
    (void)state;
    small m;
    small_init(&m);
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_build(&m.spec, &img, &n), SNN_OK);
    for (size_t len = 0; len < n; len++) {
        snn_net net;
        snn_clear_error();
        assert_int_equal(parse_copy(img, len, &net, NULL), SNN_ERR_FORMAT);
        assert_true(strlen(snn_last_error()) > 10);
    }
    /* Harder: truncated AND header/CRC repaired, so that only the section
     * bounds can catch it. Cutting only the zero padding after the last
     * section leaves a valid image. */
    snn_net full;
    assert_int_equal(snn_deploy_parse(img, n, &full), SNN_OK);
    uint64_t data_end = 0;
    for (uint32_t l = 0; l < full.n_layers; l++) {
        const snn_layer_desc *d = full.layers[l].desc;
        uint32_t ends[] = {d->w_off + d->w_bytes, d->b_off + d->b_bytes, d->th_off + d->th_bytes,
                           d->pol_off + d->pol_bytes, d->scale_off + d->scale_bytes};
        for (int k = 0; k < 5; k++) data_end = ends[k] > data_end ? ends[k] : data_end;
    }
    assert_true(data_end + 4 < n);
    for (size_t len = 68; len < n; len++) {
        uint8_t *b = aligned_alloc(64, (len + 63) & ~(size_t)63);
        memcpy(b, img, len);
        ((snn_deploy_hdr *)b)->total_bytes = (uint32_t)len;
        snn_deploy_fix_crc(b, len);
        snn_net net;
        snn_clear_error();
        snn_status st = snn_deploy_parse(b, len, &net);
        if (len >= data_end + 4) {
            assert_int_equal(st, SNN_OK);
        } else {
            assert_int_equal(st, SNN_ERR_FORMAT);
            assert_true(strlen(snn_last_error()) > 10);
        }
        free(b);
    }
    free(img);
}

static void run_one(const snn_net *net)
{
    const snn_deploy_hdr *h = net->hdr;
    size_t px = (size_t)h->in_c * h->in_h * h->in_w;
    uint8_t *pixels = malloc(px);
    snn_pixels_random(3, 1, h->in_c, h->in_h, h->in_w, pixels);
    uint8_t *res = malloc(snn_result_stride(h->n_classes, net->n_layers));
    uint32_t *tr = malloc(4u * snn_trace_words(net));
    snn_ref_run(net, pixels, 1, res, tr);
    free(pixels), free(res), free(tr);
}

static void test_random_flips(void **state)
{
    (void)state;
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_random(5, "c2,p,f6", 1, 6, 6, 2, 3, 0, &img, &n), SNN_OK);
    uint8_t *b = aligned_alloc(64, (n + 63) & ~(size_t)63);
    uint32_t refused = 0, accepted = 0, refused_fixed = 0;
    for (int it = 0; it < 5000; it++) {
        memcpy(b, img, n);
        size_t at = rnd() % n;
        b[at] ^= (uint8_t)(1 + rnd() % 255);
        snn_net net;
        snn_clear_error();
        snn_status st = snn_deploy_parse(b, n, &net);
        if (st == SNN_OK) { /* a CRC collision: must then be a valid image */
            run_one(&net);
            accepted++;
        } else {
            assert_true(strlen(snn_last_error()) > 10);
            refused++;
        }
    }
    assert_int_equal(refused, 5000); /* one flipped byte always changes a CRC-32 */
    /* Same with the CRC repaired: the field checks alone must catch it, or the
     * image is valid (a flipped weight, threshold or scale) and runs. */
    for (int it = 0; it < 5000; it++) {
        memcpy(b, img, n);
        int flips = 1 + (int)(rnd() % 3);
        for (int k = 0; k < flips; k++) b[rnd() % (n - 4)] ^= (uint8_t)(1 + rnd() % 255);
        snn_deploy_fix_crc(b, n);
        snn_net net;
        snn_clear_error();
        snn_status st = snn_deploy_parse(b, n, &net);
        if (st == SNN_OK) {
            run_one(&net);
            accepted++;
        } else {
            assert_int_equal(st, SNN_ERR_FORMAT);
            assert_true(strlen(snn_last_error()) > 10);
            refused_fixed++;
        }
    }
    print_message("flips: %u refused by CRC; with CRC repaired %u refused by field checks, %u valid\n",
                  refused, refused_fixed, accepted);
    assert_true(refused_fixed > 100);
    free(b);
    free(img);
}

/* ---- one test per rule: corrupt one field, repair the CRC, check the name ---- */

typedef struct {
    const char *what;
    size_t off;       /* byte offset of a u32 field (or u8 for weights) */
    int width;        /* 4, 2 or 1 */
    uint32_t value;
    const char *needle; /* must appear in the message */
} corruption;

static void test_bad_fields(void **state)
{
    (void)state;
    small m;
    small_init(&m);
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_build(&m.spec, &img, &n), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    const snn_layer_desc *d0 = net.layers[0].desc;
#define D(l, field) (64 + 80 * (l) + offsetof(snn_layer_desc, field))
    corruption cs[] = {
        {"magic", 0, 4, 0x12345678, "magic"},
        {"major", 4, 2, 2, "version_major"},
        {"hdr_bytes", 8, 4, 128, "hdr_bytes"},
        {"total", 12, 4, (uint32_t)n + 64, "total_bytes"},
        {"n_layers 0", 16, 4, 0, "n_layers"},
        {"n_layers 17", 16, 4, 17, "n_layers"},
        {"n_layers 3", 16, 4, 3, "desc_bytes"},
        {"T 0", 20, 4, 0, "timesteps"},
        {"T 17", 20, 4, 17, "timesteps"},
        {"in_c", 24, 4, 0, "in_c"},
        {"in_h", 28, 4, 5000, "in_h"},
        {"in_w 6", 32, 4, 6, "in_w"},
        {"classes 1", 36, 4, 1, "n_classes"},
        {"classes 65", 36, 4, 65, "n_classes"},
        {"classes 5", 36, 4, 5, "n_classes"},
        {"desc_off", 40, 4, 128, "desc_off"},
        {"desc_bytes", 44, 4, 80, "desc_bytes"},
        {"flags", 48, 4, 1, "flags"},
        {"max_neurons", 52, 4, 49, "max_neurons"},
        {"reserved", 56, 4, 1, "reserved"},
        {"kind 0", D(0, kind), 4, 0, "kind"},
        {"kind 5", D(1, kind), 4, 5, "kind"},
        {"out not last", D(2, kind), 4, SNN_LAYER_OUT, "kind"},
        {"last not out", D(3, kind), 4, SNN_LAYER_FC, "kind"},
        {"in chain", D(2, in_c), 4, 3, "in_c"},
        {"out_c", D(0, out_c), 4, 3, "fan_out"}, /* fan_out no longer fits the shape */
        {"out_c 0", D(2, out_c), 4, 0, "out_c"},
        {"out_h", D(0, out_h), 4, 4, "out_h"},
        {"pool out_w", D(1, out_w), 4, 3, "out_w"},
        {"fc out_h", D(2, out_h), 4, 2, "out_h"},
        {"ksize", D(0, ksize), 4, 5, "ksize"},
        {"fan_out", D(2, fan_out), 4, 4, "fan_out"},
        {"layer flags 0", D(0, flags), 4, 0, "flags"},
        {"layer flags 2", D(2, flags), 4, 1, "flags"},
        {"w_bytes", D(0, w_bytes), 4, 17, "w_bytes"},
        {"w_off align", D(0, w_off), 4, d0->w_off + 4, "w_off"},
        {"w_off in desc", D(0, w_off), 4, 64, "w_off"},
        {"w_off past end", D(0, w_off), 4, (uint32_t)n & ~63u, "w section"},
        {"w_off huge", D(0, w_off), 4, 0xFFFFFFC0u, "w section"},
        {"b overlaps w", D(0, b_off), 4, d0->w_off, "overlaps"},
        {"th_bytes", D(2, th_bytes), 4, 8, "th_bytes"},
        {"pol_bytes", D(0, pol_bytes), 4, 6, "pol_bytes"},
        {"scale_bytes", D(3, scale_bytes), 4, 0, "scale_bytes"},
        {"pool w_off", D(1, w_off), 4, 64 * 9, "w_off"},
        {"out th", D(3, th_bytes), 4, 16, "th_bytes"},
        {"weight -128", d0->w_off + 3, 1, 0x80, "weight 3"},
        {"bias 2^27", d0->b_off + 4, 4, 1u << 27, "bias 1"},
        {"bias -2^27", d0->b_off, 4, (uint32_t)-(1 << 27), "bias 0"},
    };
#undef D
    uint8_t *b = aligned_alloc(64, (n + 63) & ~(size_t)63);
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        memcpy(b, img, n);
        if (cs[i].width == 4) memcpy(b + cs[i].off, &cs[i].value, 4);
        else if (cs[i].width == 2) { uint16_t v = (uint16_t)cs[i].value; memcpy(b + cs[i].off, &v, 2); }
        else b[cs[i].off] = (uint8_t)cs[i].value;
        snn_deploy_fix_crc(b, n);
        snn_clear_error();
        snn_status st = snn_deploy_parse(b, n, &net);
        if (st != SNN_ERR_FORMAT || !strstr(snn_last_error(), cs[i].needle))
            fail_msg("%s: status %d, message '%s' does not name '%s'", cs[i].what, st,
                     snn_last_error(), cs[i].needle);
    }
    /* the CRC itself */
    memcpy(b, img, n);
    b[n - 1] ^= 1;
    assert_int_equal(snn_deploy_parse(b, n, &net), SNN_ERR_FORMAT);
    assert_non_null(strstr(snn_last_error(), "CRC"));
    free(b);
    free(img);
}

/* The overflow bound of docs/numerics.md is enforced by the writer and the parser. */
static void test_overflow_bound(void **state)
{
    (void)state;
    /* fc layer 0 with 1024 pixel inputs: 1024*127*255 = 33.2M < 2^28; bias room ~235M */
    enum { NI = 1024 };
    static int8_t w0[NI * 2], w1[2 * 2];
    int32_t b0[2] = {0, 0}, b1[2] = {0, 0}, th0[2] = {0, 0};
    snn_deploy_spec s = {.n_layers = 2, .T = 16, .in_c = 1, .in_h = 32, .in_w = 32, .n_classes = 2};
    s.layers[0] = (snn_layer_spec){SNN_LAYER_FC, 2, w0, b0, th0, NULL, NULL};
    s.layers[1] = (snn_layer_spec){SNN_LAYER_OUT, 2, w1, b1, NULL, NULL, NULL};
    uint8_t *img;
    size_t n;
    b0[0] = (1 << 27) - 1;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_OK);
    free(img);
    b0[0] = 1 << 27;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_ERR_FORMAT);
    assert_non_null(strstr(snn_last_error(), "bias"));
    /* the out layer: T * A < 2^31 -> with T = 16, A < 2^27 */
    b0[0] = 0;
    b1[1] = (1 << 27) - 2 * 127;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_ERR_FORMAT);
    assert_non_null(strstr(snn_last_error(), "2^31"));
    b1[1] = (1 << 27) - 2 * 127 - 1;
    assert_int_equal(snn_deploy_build(&s, &img, &n), SNN_OK);
    free(img);
    /* a conv on the image with 1000 input channels: 9*1000*127*255 > 2^28 */
    static int8_t wc[9 * 1000];
    int32_t bc[1] = {0}, thc[1] = {0};
    snn_deploy_spec c = {.n_layers = 2, .T = 1, .in_c = 1000, .in_h = 1, .in_w = 1, .n_classes = 2};
    c.layers[0] = (snn_layer_spec){SNN_LAYER_CONV, 1, wc, bc, thc, NULL, NULL};
    c.layers[1] = (snn_layer_spec){SNN_LAYER_OUT, 2, w1, b1, NULL, NULL, NULL};
    assert_int_equal(snn_deploy_build(&c, &img, &n), SNN_ERR_FORMAT);
    assert_non_null(strstr(snn_last_error(), "overflow"));
}

static void test_misc(void **state)
{
    (void)state;
    assert_string_equal(snn_layer_kind_str(SNN_LAYER_CONV), "conv");
    assert_string_equal(snn_layer_kind_str(SNN_LAYER_OUT), "out");
    assert_string_equal(snn_layer_kind_str(99), "?");
    snn_net net;
    static uint8_t buf[128] __attribute__((aligned(64)));
    assert_int_equal(snn_deploy_parse(buf + 1, 100, &net), SNN_ERR_ARG); /* misaligned */
    assert_int_equal(snn_deploy_parse(buf, 100, &net), SNN_ERR_FORMAT);
    assert_non_null(strstr(snn_last_error(), "magic"));
}

/* snn_trace_diff: identical traces, a flipped spike, a changed sum, two images. */
static void test_trace_diff(void **state)
{
    (void)state;
    uint8_t *img;
    size_t n;
    assert_int_equal(snn_deploy_random(9, "c2,p,f6", 1, 6, 6, 2, 3, 0, &img, &n), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, n, &net), SNN_OK);
    const snn_deploy_hdr *h = net.hdr;
    size_t tw = snn_trace_words(&net), px = (size_t)h->in_c * h->in_h * h->in_w;
    uint8_t *pixels = malloc(2 * px),
            *res = malloc(2 * snn_result_stride(h->n_classes, net.n_layers));
    uint32_t *a = malloc(8 * tw), *b = malloc(8 * tw);
    snn_pixels_random(5, 2, h->in_c, h->in_h, h->in_w, pixels);
    snn_ref_run(&net, pixels, 2, res, a);

    /* identical: 0, nothing counted, *first untouched */
    memcpy(b, a, 8 * tw);
    snn_trace_mismatch m;
    memset(&m, 0xa5, sizeof m);
    snn_trace_counts c;
    assert_int_equal(snn_trace_diff(&net, a, b, 2, &m, &c), 0);
    assert_int_equal(c.spike_bits + c.sums + c.images, 0);
    assert_int_equal(m.image, 0xa5a5a5a5u);

    /* one spike of layer 1 (pool), step 1, neuron 5, image 1 */
    uint32_t w = snn_trace_word(&net, 1, 1, 5);
    b[tw + w] ^= 1u << 5;
    assert_int_equal(snn_trace_diff(&net, a, b, 2, &m, &c), 1);
    assert_int_equal(c.spike_bits, 1);
    assert_int_equal(c.sums, 0);
    assert_int_equal(c.images, 1);
    assert_int_equal(m.image, 1);
    assert_int_equal(m.word, w);
    assert_int_equal(m.step, 1);
    assert_int_equal(m.layer, 1);
    assert_int_equal(m.neuron, 5);
    assert_int_equal(m.a, (a[tw + w] >> 5) & 1u);
    assert_int_equal(m.b, !m.a);
    /* a second bit of the same word counts, the first stays the lowest neuron */
    b[tw + w] ^= 1u << 9;
    assert_int_equal(snn_trace_diff(&net, a, b, 2, &m, &c), 2);
    assert_int_equal(m.neuron, 5);
    assert_int_equal(c.images, 1);
    /* the same traces one image at a time: image 0 agrees */
    assert_int_equal(snn_trace_diff(&net, a, b, 1, NULL, NULL), 0);
    assert_int_equal(snn_trace_diff(&net, a + tw, b + tw, 1, &m, NULL), 2);
    assert_int_equal(m.image, 0);

    /* an output sum of image 0 (class 2): reported before image 1's spikes */
    b[tw - h->n_classes + 2] += 7;
    assert_int_equal(snn_trace_diff(&net, a, b, 2, &m, &c), 3);
    assert_int_equal(c.spike_bits, 2);
    assert_int_equal(c.sums, 1);
    assert_int_equal(c.images, 2);
    assert_int_equal(m.image, 0);
    assert_int_equal(m.word, tw - h->n_classes + 2);
    assert_int_equal(m.step, h->timesteps);
    assert_int_equal(m.layer, -1);
    assert_int_equal(m.neuron, 2);
    assert_int_equal(m.a, (int32_t)a[tw - h->n_classes + 2]);
    assert_int_equal(m.b, (int32_t)a[tw - h->n_classes + 2] + 7);

    /* a spike of image 0 comes before its sums */
    b[snn_trace_word(&net, 0, 0, 40)] ^= 1u << 8;
    assert_int_equal(snn_trace_diff(&net, a, b, 2, &m, &c), 4);
    assert_int_equal(m.image, 0);
    assert_int_equal(m.step, 0);
    assert_int_equal(m.layer, 0);
    assert_int_equal(m.neuron, 40);
    free(pixels), free(res), free(a), free(b), free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_random_nets_parse),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_random_flips),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_overflow_bound),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_trace_diff),
    };
    return cmocka_run_group_tests_name("deploy", tests, NULL, NULL);
}
