/*
 * deploy.c - parse, validate and write deploy images (docs/deploy-image.md).
 *
 * The parser is the only gate between a file a user hands us and the kernels
 * that index memory with its fields, so it checks every rule of the format in
 * the order the document lists them, and reads no byte before it has proved
 * that the byte lies inside the buffer: first the fixed 68 bytes (header and
 * CRC), then the descriptors (only after desc_off/desc_bytes are checked
 * against the size), then the sections (only after every offset and size is
 * checked, in 64-bit arithmetic so that nothing wraps).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fold/snn-fold.h"
#include "snn-deploy.h"

const char *snn_layer_kind_str(uint32_t kind)
{
    switch (kind) {
    case SNN_LAYER_CONV: return "conv";
    case SNN_LAYER_POOL: return "pool";
    case SNN_LAYER_FC: return "fc";
    case SNN_LAYER_OUT: return "out";
    }
    return "?";
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void snn_deploy_fix_crc(uint8_t *bytes, size_t size)
{
    SNN_ASSERT(size >= SNN_DEPLOY_HDR_BYTES + 4);
    wr32(bytes + size - 4, crc_of(bytes, size - 4));
}

/* ---- parser ------------------------------------------------------------------ */

#define BAD(...) snn_fail(SNN_ERR_FORMAT, "deploy image: " __VA_ARGS__)

static int dim_ok(uint32_t v)
{
    return v >= 1 && v <= 4096;
}

typedef struct {
    uint64_t off, end;
    uint32_t layer;
    const char *name;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Check one section of layer l: size must equal `want` (0 = unused, offset 0). */
static snn_status check_section(uint32_t l, const char *kind, const char *name, uint32_t off,
                                uint32_t bytes, uint64_t want, uint64_t lo, uint64_t hi,
                                span *spans, uint32_t *n_spans)
{
    if (bytes != want)
        return BAD("layer %u (%s): %s_bytes is %u, expected %llu", l, kind, name, bytes,
                   (unsigned long long)want);
    if (want == 0) {
        if (off != 0) return BAD("layer %u (%s): %s_off is %u for an unused section, expected 0", l, kind, name, off);
        return SNN_OK;
    }
    if (off % SNN_DEPLOY_ALIGN)
        return BAD("layer %u (%s): %s_off %u is not a multiple of %u", l, kind, name, off,
                   SNN_DEPLOY_ALIGN);
    if (off < lo)
        return BAD("layer %u (%s): %s_off %u lies before the end of the descriptors (%llu)", l,
                   kind, name, off, (unsigned long long)lo);
    if ((uint64_t)off + bytes > hi)
        return BAD("layer %u (%s): %s section [%u, %llu) runs past the data end %llu", l, kind,
                   name, off, (unsigned long long)off + bytes, (unsigned long long)hi);
    spans[*n_spans] = (span){off, (uint64_t)off + bytes, l, name};
    (*n_spans)++;
    return SNN_OK;
}

snn_status snn_deploy_parse(const uint8_t *bytes, size_t size, snn_net *net)
{
    memset(net, 0, sizeof *net);
    if (!bytes) return snn_fail(SNN_ERR_ARG, "deploy image: NULL buffer");
    if ((uintptr_t)bytes & 3u)
        return snn_fail(SNN_ERR_ARG, "deploy image: buffer is not 4-byte aligned");
    if (size < SNN_DEPLOY_HDR_BYTES + 4)
        return BAD("file is %zu bytes, smaller than the %u-byte header plus CRC (truncated?)", size,
                   SNN_DEPLOY_HDR_BYTES);
    const snn_deploy_hdr *h = (const snn_deploy_hdr *)bytes;
    if (h->magic != SNN_DEPLOY_MAGIC)
        return BAD("magic is 0x%08x, expected 0x%08x (\"MPBN\"): not a deploy image", h->magic,
                   SNN_DEPLOY_MAGIC);
    if (h->version_major != SNN_DEPLOY_VERSION_MAJOR)
        return BAD("version_major is %u, this build reads %u", h->version_major,
                   SNN_DEPLOY_VERSION_MAJOR);
    if (h->hdr_bytes != SNN_DEPLOY_HDR_BYTES)
        return BAD("hdr_bytes is %u, expected %u", h->hdr_bytes, SNN_DEPLOY_HDR_BYTES);
    if (size > UINT32_MAX || h->total_bytes != size)
        return BAD("total_bytes is %u but the file is %zu bytes (truncated or padded?)",
                   h->total_bytes, size);
    uint32_t crc = rd32(bytes + size - 4), want_crc = crc_of(bytes, size - 4);
    if (crc != want_crc)
        return BAD("CRC-32 is 0x%08x, the bytes give 0x%08x (corrupted file)", crc, want_crc);
    if (h->desc_off != SNN_DEPLOY_HDR_BYTES)
        return BAD("desc_off is %u, expected %u", h->desc_off, SNN_DEPLOY_HDR_BYTES);
    if (h->n_layers < 1 || h->n_layers > SNN_MAX_LAYERS)
        return BAD("n_layers is %u, expected 1..%u", h->n_layers, SNN_MAX_LAYERS);
    if (h->desc_bytes != h->n_layers * SNN_DEPLOY_DESC_BYTES)
        return BAD("desc_bytes is %u, expected n_layers * %u = %u", h->desc_bytes,
                   SNN_DEPLOY_DESC_BYTES, h->n_layers * SNN_DEPLOY_DESC_BYTES);
    uint64_t desc_end = (uint64_t)h->desc_off + h->desc_bytes, data_end = size - 4;
    if (desc_end > data_end)
        return BAD("descriptors [%u, %llu) run past the data end %llu (truncated?)", h->desc_off,
                   (unsigned long long)desc_end, (unsigned long long)data_end);
    if (h->timesteps < 1 || h->timesteps > SNN_MAX_T)
        return BAD("timesteps is %u, expected 1..%u", h->timesteps, SNN_MAX_T);
    if (h->n_classes < 2 || h->n_classes > SNN_MAX_CLASSES)
        return BAD("n_classes is %u, expected 2..%u", h->n_classes, SNN_MAX_CLASSES);
    if (!dim_ok(h->in_c)) return BAD("in_c is %u, expected 1..4096", h->in_c);
    if (!dim_ok(h->in_h)) return BAD("in_h is %u, expected 1..4096", h->in_h);
    if (!dim_ok(h->in_w)) return BAD("in_w is %u, expected 1..4096", h->in_w);
    if ((uint64_t)h->in_c * h->in_h * h->in_w > (1u << 24))
        return BAD("input shape %ux%ux%u has more than 2^24 pixels", h->in_c, h->in_h, h->in_w);
    if (h->flags != 0) return BAD("header flags is 0x%x, expected 0", h->flags);
    if (h->reserved[0] || h->reserved[1]) return BAD("header reserved words are not 0");

    net->hdr = h;
    net->bytes = bytes;
    net->size = (uint32_t)size;
    net->n_layers = h->n_layers;

    /* ---- descriptors: kinds, shapes, section sizes and places ---- */
    span spans[SNN_MAX_LAYERS * 5];
    uint32_t n_spans = 0;
    uint32_t c = h->in_c, hh = h->in_h, ww = h->in_w, max_neurons = 0;
    snn_status st;
    for (uint32_t l = 0; l < h->n_layers; l++) {
        const snn_layer_desc *d =
            (const snn_layer_desc *)(bytes + h->desc_off + (size_t)l * SNN_DEPLOY_DESC_BYTES);
        uint32_t last = l + 1 == h->n_layers;
        if (d->kind < SNN_LAYER_CONV || d->kind > SNN_LAYER_OUT)
            return BAD("layer %u: kind is %u, expected 1 (conv), 2 (pool), 3 (fc) or 4 (out)", l,
                       d->kind);
        const char *ks = snn_layer_kind_str(d->kind);
        if (last && d->kind != SNN_LAYER_OUT)
            return BAD("layer %u: kind is %s, the last layer must be out", l, ks);
        if (!last && d->kind == SNN_LAYER_OUT)
            return BAD("layer %u: kind is out but it is not the last layer", l);
        if (l == 0 && d->kind == SNN_LAYER_POOL)
            return BAD("layer 0: kind is pool, the first layer must read the image (conv, fc or out)");
        if (d->in_c != c || d->in_h != hh || d->in_w != ww)
            return BAD("layer %u (%s): input shape in_c,in_h,in_w is %ux%ux%u, the %s gives %ux%ux%u",
                       l, ks, d->in_c, d->in_h, d->in_w, l ? "previous layer" : "image", c, hh, ww);
        uint32_t oc = 0, oh = 0, ow = 0, ksize = 0, fan_out = 0;
        switch (d->kind) {
        case SNN_LAYER_CONV:
            oc = d->out_c, oh = hh, ow = ww, ksize = 3;
            break;
        case SNN_LAYER_POOL:
            oc = c, oh = hh / 2, ow = ww / 2, ksize = 2;
            break;
        default:
            oc = d->out_c, oh = 1, ow = 1, ksize = 0;
            break;
        }
        if (d->kind == SNN_LAYER_POOL && (oh < 1 || ow < 1))
            return BAD("layer %u (pool): input %ux%u is too small to pool 2x2", l, hh, ww);
        if (!dim_ok(d->out_c)) return BAD("layer %u (%s): out_c is %u, expected 1..4096", l, ks, d->out_c);
        if (d->out_c != oc) return BAD("layer %u (%s): out_c is %u, expected %u", l, ks, d->out_c, oc);
        if (d->out_h != oh) return BAD("layer %u (%s): out_h is %u, expected %u", l, ks, d->out_h, oh);
        if (d->out_w != ow) return BAD("layer %u (%s): out_w is %u, expected %u", l, ks, d->out_w, ow);
        uint64_t n_out = (uint64_t)oc * oh * ow, n_in = (uint64_t)c * hh * ww;
        if (n_out > (1u << 24))
            return BAD("layer %u (%s): %llu output neurons, more than 2^24", l, ks,
                       (unsigned long long)n_out);
        if (last && d->out_c != h->n_classes)
            return BAD("layer %u (out): out_c is %u but n_classes is %u", l, d->out_c, h->n_classes);
        if (d->ksize != ksize) return BAD("layer %u (%s): ksize is %u, expected %u", l, ks, d->ksize, ksize);
        fan_out = d->kind == SNN_LAYER_CONV ? 9 * oc : d->kind == SNN_LAYER_POOL ? 1 : oc;
        if (d->fan_out != fan_out)
            return BAD("layer %u (%s): fan_out is %u, expected %u", l, ks, d->fan_out, fan_out);
        uint32_t want_flags = l == 0 ? SNN_LF_INPUT_IMAGE : 0;
        if (d->flags != want_flags)
            return BAD("layer %u (%s): flags is 0x%x, expected 0x%x (INPUT_IMAGE on layer 0 only)",
                       l, ks, d->flags, want_flags);

        uint64_t w_want = 0, b_want = 0, th_want = 0, pol_want = 0, sc_want = 0;
        if (d->kind != SNN_LAYER_POOL) {
            w_want = d->kind == SNN_LAYER_CONV ? 9ull * c * oc : n_in * oc;
            b_want = 4ull * oc;
            sc_want = 4ull * oc;
        }
        if (d->kind == SNN_LAYER_CONV || d->kind == SNN_LAYER_FC) {
            th_want = 4 * n_out;
            pol_want = (n_out + 7) / 8;
        }
        if ((st = check_section(l, ks, "w", d->w_off, d->w_bytes, w_want, desc_end, data_end, spans, &n_spans)) ||
            (st = check_section(l, ks, "b", d->b_off, d->b_bytes, b_want, desc_end, data_end, spans, &n_spans)) ||
            (st = check_section(l, ks, "th", d->th_off, d->th_bytes, th_want, desc_end, data_end, spans, &n_spans)) ||
            (st = check_section(l, ks, "pol", d->pol_off, d->pol_bytes, pol_want, desc_end, data_end, spans, &n_spans)) ||
            (st = check_section(l, ks, "scale", d->scale_off, d->scale_bytes, sc_want, desc_end, data_end, spans, &n_spans)))
            return st;

        snn_layer *L = &net->layers[l];
        L->kind = (snn_layer_kind)d->kind;
        L->desc = d;
        L->n_in = (uint32_t)n_in;
        L->n_out = (uint32_t)n_out;
        if (n_out > max_neurons) max_neurons = (uint32_t)n_out;
        c = oc, hh = oh, ww = ow;
    }
    if (h->max_neurons != max_neurons)
        return BAD("max_neurons is %u, the layers give %u", h->max_neurons, max_neurons);

    qsort(spans, n_spans, sizeof spans[0], span_cmp);
    for (uint32_t i = 1; i < n_spans; i++)
        if (spans[i].off < spans[i - 1].end)
            return BAD("layer %u %s section overlaps layer %u %s section", spans[i].layer,
                       spans[i].name, spans[i - 1].layer, spans[i - 1].name);

    /* ---- contents: every section is now known to be in bounds ---- */
    for (uint32_t l = 0; l < h->n_layers; l++) {
        snn_layer *L = &net->layers[l];
        const snn_layer_desc *d = L->desc;
        const char *ks = snn_layer_kind_str(d->kind);
        if (L->kind == SNN_LAYER_POOL) continue;
        L->w = (const int8_t *)(bytes + d->w_off);
        L->bias = (const int32_t *)(bytes + d->b_off);
        L->scale = (const float *)(bytes + d->scale_off);
        if (L->kind != SNN_LAYER_OUT) {
            L->th = (const int32_t *)(bytes + d->th_off);
            L->pol = bytes + d->pol_off;
        }
        for (uint32_t i = 0; i < d->w_bytes; i++)
            if (L->w[i] < -SNN_WEIGHT_MAX)
                return BAD("layer %u (%s): weight %u is %d, outside -127..127", l, ks, i, L->w[i]);
        uint64_t max_b = 0;
        for (uint32_t o = 0; o < d->out_c; o++) {
            int64_t b = L->bias[o];
            uint64_t ab = (uint64_t)(b < 0 ? -b : b);
            if (ab >= (1u << 27))
                return BAD("layer %u (%s): bias %u is %d, |bias| must be below 2^27", l, ks, o,
                           L->bias[o]);
            if (ab > max_b) max_b = ab;
        }
        uint64_t fan_in = L->kind == SNN_LAYER_CONV ? 9ull * d->in_c : L->n_in;
        uint64_t x_max = l == 0 ? 255 : 1;
        uint64_t A = fan_in * SNN_WEIGHT_MAX * x_max + max_b;
        if (A >= (uint64_t)SNN_ACC_BOUND)
            return BAD("layer %u (%s): overflow bound fan_in*127*x_max + max|bias| = %llu is not "
                       "below 2^28 (docs/numerics.md)", l, ks, (unsigned long long)A);
        if (L->kind == SNN_LAYER_OUT && (uint64_t)h->timesteps * A >= (1ull << 31))
            return BAD("layer %u (out): T * (fan_in*127*x_max + max|bias|) = %llu is not below "
                       "2^31 (output sums could overflow)", l,
                       (unsigned long long)(h->timesteps * A));
    }
    return SNN_OK;
}

/* ---- writer ------------------------------------------------------------------ */

static uint64_t align_up(uint64_t v)
{
    return (v + SNN_DEPLOY_ALIGN - 1) & ~(uint64_t)(SNN_DEPLOY_ALIGN - 1);
}

snn_status snn_deploy_build(const snn_deploy_spec *s, uint8_t **bytes, size_t *size)
{
    *bytes = NULL;
    *size = 0;
    if (s->n_layers < 1 || s->n_layers > SNN_MAX_LAYERS)
        return snn_fail(SNN_ERR_ARG, "image build: n_layers is %u, expected 1..%u", s->n_layers,
                        SNN_MAX_LAYERS);
    if (!dim_ok(s->in_c) || !dim_ok(s->in_h) || !dim_ok(s->in_w))
        return snn_fail(SNN_ERR_ARG, "image build: input shape %ux%ux%u out of range", s->in_c,
                        s->in_h, s->in_w);
    snn_layer_desc desc[SNN_MAX_LAYERS];
    memset(desc, 0, sizeof desc);
    uint32_t c = s->in_c, hh = s->in_h, ww = s->in_w, max_neurons = 0;
    uint64_t off = align_up(SNN_DEPLOY_HDR_BYTES + (uint64_t)s->n_layers * SNN_DEPLOY_DESC_BYTES);
    for (uint32_t l = 0; l < s->n_layers; l++) {
        const snn_layer_spec *ls = &s->layers[l];
        snn_layer_desc *d = &desc[l];
        d->kind = ls->kind;
        d->in_c = c, d->in_h = hh, d->in_w = ww;
        uint64_t n_in = (uint64_t)c * hh * ww;
        switch (ls->kind) {
        case SNN_LAYER_CONV:
            d->out_c = ls->out_c, d->out_h = hh, d->out_w = ww, d->ksize = 3;
            d->fan_out = 9 * ls->out_c;
            break;
        case SNN_LAYER_POOL:
            d->out_c = c, d->out_h = hh / 2, d->out_w = ww / 2, d->ksize = 2, d->fan_out = 1;
            break;
        case SNN_LAYER_FC:
        case SNN_LAYER_OUT:
            d->out_c = ls->out_c, d->out_h = 1, d->out_w = 1, d->fan_out = ls->out_c;
            break;
        default:
            return snn_fail(SNN_ERR_ARG, "image build: layer %u has kind %u", l, (unsigned)ls->kind);
        }
        if (!dim_ok(d->out_c) || !d->out_h || !d->out_w)
            return snn_fail(SNN_ERR_ARG, "image build: layer %u (%s) output %ux%ux%u out of range",
                            l, snn_layer_kind_str(ls->kind), d->out_c, d->out_h, d->out_w);
        d->flags = l == 0 ? SNN_LF_INPUT_IMAGE : 0;
        uint64_t n_out = (uint64_t)d->out_c * d->out_h * d->out_w;
        if (n_out > (1u << 24))
            return snn_fail(SNN_ERR_ARG, "image build: layer %u has too many neurons", l);
        if (n_out > max_neurons) max_neurons = (uint32_t)n_out;
        if (ls->kind != SNN_LAYER_POOL) {
            if (!ls->w || !ls->bias)
                return snn_fail(SNN_ERR_ARG, "image build: layer %u (%s) needs weights and bias",
                                l, snn_layer_kind_str(ls->kind));
            uint64_t wb = ls->kind == SNN_LAYER_CONV ? 9ull * c * d->out_c : n_in * d->out_c;
            if (wb > UINT32_MAX) return snn_fail(SNN_ERR_ARG, "image build: layer %u weights too large", l);
            d->w_off = (uint32_t)off, d->w_bytes = (uint32_t)wb, off = align_up(off + wb);
            d->b_off = (uint32_t)off, d->b_bytes = 4 * d->out_c, off = align_up(off + d->b_bytes);
            if (ls->kind != SNN_LAYER_OUT) {
                if (!ls->th)
                    return snn_fail(SNN_ERR_ARG, "image build: layer %u (%s) needs thresholds", l,
                                    snn_layer_kind_str(ls->kind));
                d->th_off = (uint32_t)off, d->th_bytes = (uint32_t)(4 * n_out);
                off = align_up(off + d->th_bytes);
                d->pol_off = (uint32_t)off, d->pol_bytes = (uint32_t)((n_out + 7) / 8);
                off = align_up(off + d->pol_bytes);
            }
            d->scale_off = (uint32_t)off, d->scale_bytes = 4 * d->out_c;
            off = align_up(off + d->scale_bytes);
        }
        if (off > UINT32_MAX - 64) return snn_fail(SNN_ERR_ARG, "image build: image exceeds 4 GiB");
        c = d->out_c, hh = d->out_h, ww = d->out_w;
    }
    size_t total = (size_t)off + 4;
    uint8_t *b = aligned_alloc(64, (total + 63) & ~(size_t)63);
    if (!b) return snn_fail(SNN_ERR_NOMEM, "image build: out of memory (%zu bytes)", total);
    memset(b, 0, total);
    snn_deploy_hdr *h = (snn_deploy_hdr *)b;
    h->magic = SNN_DEPLOY_MAGIC;
    h->version_major = SNN_DEPLOY_VERSION_MAJOR;
    h->version_minor = SNN_DEPLOY_VERSION_MINOR;
    h->hdr_bytes = SNN_DEPLOY_HDR_BYTES;
    h->total_bytes = (uint32_t)total;
    h->n_layers = s->n_layers;
    h->timesteps = s->T;
    h->in_c = s->in_c, h->in_h = s->in_h, h->in_w = s->in_w;
    h->n_classes = s->n_classes;
    h->desc_off = SNN_DEPLOY_HDR_BYTES;
    h->desc_bytes = s->n_layers * SNN_DEPLOY_DESC_BYTES;
    h->max_neurons = max_neurons;
    memcpy(b + SNN_DEPLOY_HDR_BYTES, desc, (size_t)s->n_layers * SNN_DEPLOY_DESC_BYTES);
    for (uint32_t l = 0; l < s->n_layers; l++) {
        const snn_layer_spec *ls = &s->layers[l];
        const snn_layer_desc *d = &desc[l];
        if (ls->kind == SNN_LAYER_POOL) continue;
        memcpy(b + d->w_off, ls->w, d->w_bytes);
        memcpy(b + d->b_off, ls->bias, d->b_bytes);
        float *sc = (float *)(b + d->scale_off);
        for (uint32_t o = 0; o < d->out_c; o++) sc[o] = ls->scale ? ls->scale[o] : 1.0f;
        if (ls->kind == SNN_LAYER_OUT) continue;
        memcpy(b + d->th_off, ls->th, d->th_bytes);
        uint32_t n_out = d->out_c * d->out_h * d->out_w;
        if (ls->pol)
            for (uint32_t n = 0; n < n_out; n++)
                if (ls->pol[n]) b[d->pol_off + n / 8] |= (uint8_t)(1u << (n % 8));
    }
    snn_deploy_fix_crc(b, total);
    snn_net net;
    snn_status st = snn_deploy_parse(b, total, &net);
    if (st != SNN_OK) {
        free(b);
        return snn_fail_context(st, "image build");
    }
    *bytes = b;
    *size = total;
    return SNN_OK;
}
