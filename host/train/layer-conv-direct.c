/*
 * layer-conv-direct.c - the dense 3x3 convolution (stride 1, padding 1)
 * computed directly on a zero-padded map, without im2col: the trainer's
 * input gradient (dout is dense, nothing to skip) and its dense forward.
 *
 *     out[a][i][y][x] = sum over b < nb, k < 9 of
 *                       m[a][b][k] * in[b][i][y + k/3 - 1][x + k%3 - 1]
 *
 * with `pad` outside the map. The forward is a = co, b = ci, m = W; the
 * input gradient is a = ci, b = co, m[ci][co][k] = W[co][ci][8 - k] (the
 * kernels transposed and rotated by 180 degrees), `pad` 0.
 *
 * A chunk of images is laid out as one flat array per input channel: every
 * image on its (h+2) x (w+2) padded map, one after the other, with guard
 * space before and after. On that flat array tap k is a constant offset
 * (k/3 - 1) * (w+2) + (k%3 - 1), so 32 consecutive flat positions (two
 * vectors of 16) of 8 outputs take 8 x 2 register accumulators, and each
 * (b, k) step is two unaligned loads, eight weight broadcasts and sixteen
 * FMAs. Positions on the padding columns and rows are computed too (the
 * price of one long contiguous range: 2/(w+2) of the work for wide maps)
 * and dropped on the store: the valid lanes of a vector are consecutive
 * pixels of the channel-major output (a row ends where the next begins,
 * an image where the next begins), so they are compressed together and
 * stored as one contiguous run.
 *
 * Against im2col + sgemm it saves writing and reading the 9x larger column
 * buffer and OpenBLAS's packing of it. The sums are the GEMM's in another
 * order: results agree with it to float rounding (tests/test-grad.c
 * compares both with a direct double-precision convolution).
 */
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "train-impl.h"
#include "vec16.h"

enum { OB = 8 }; /* outputs per register block */

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t snn_dconv_pk_floats(uint32_t na, uint32_t nb) { return (size_t)(na + OB - 1) / OB * OB * nb * 9; }

void snn_dconv_weights(const float *wt, uint32_t cout, uint32_t cin, int for_din, float *pk)
{
    const uint32_t na = for_din ? cin : cout, nb = for_din ? cout : cin;
    const uint32_t nblk = (na + OB - 1) / OB;
    for (uint32_t blk = 0; blk < nblk; blk++)
        for (uint32_t b = 0; b < nb; b++)
            for (uint32_t k = 0; k < 9; k++)
                for (uint32_t j = 0; j < OB; j++) {
                    const uint32_t a = blk * OB + j;
                    float v = 0.0f;
                    if (a < na)
                        v = for_din ? wt[((size_t)b * cin + a) * 9 + (8 - k)] : wt[((size_t)a * cin + b) * 9 + k];
                    pk[(((size_t)blk * nb + b) * 9 + k) * OB + j] = v;
                }
}

/* Where the chunk's buffers lie in the workspace (offsets in floats). */
typedef struct dconv_layout {
    size_t wp, hwp;   /* padded row, padded map */
    size_t guard;     /* flat positions before image 0's padded map */
    size_t len;       /* floats per input channel */
    size_t q0, nvec;  /* first interior position, vectors of 16 from it (even) */
    size_t mask, start, end;
} dconv_layout;

static dconv_layout layout(uint32_t nb, uint32_t h, uint32_t w, uint32_t cn)
{
    dconv_layout L;
    L.wp = (size_t)w + 2;
    L.hwp = ((size_t)h + 2) * L.wp;
    L.guard = up16(L.wp + 1);
    L.q0 = L.guard + L.wp + 1;
    const size_t qend = L.guard + (size_t)cn * L.hwp - L.wp - 1; /* one past the last interior */
    L.nvec = ((qend - L.q0 + 31) / 32) * 2;
    /* the last pair of vectors reads up to q0 + 16 * nvec - 1 + wp + 1 */
    L.len = up16(L.q0 + 16 * L.nvec + L.wp + 1);
    L.mask = (size_t)nb * L.len;
    L.start = L.mask + up16(L.nvec); /* one float per vector holds its 16-bit mask */
    L.end = L.start + up16(L.nvec);  /* and one its first output index (as uint32) */
    return L;
}

size_t snn_dconv_ws_floats(uint32_t nb, uint32_t h, uint32_t w, uint32_t chunk)
{
    return layout(nb, h, w, chunk).end;
}

/* The chunk's images on the padded flat array of each input channel:
 * channel b at ws + b * len, image i's padded map at guard + i * hwp, pad
 * everywhere else up to len. Shared with the Winograd conv
 * (layer-conv-winograd.c). */
void snn_dconv_pad_maps(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h,
                        uint32_t w, float pad, size_t guard, size_t len, float *ws)
{
    const size_t hw = (size_t)h * w, wp = (size_t)w + 2, hwp = ((size_t)h + 2) * wp;
    SNN_ASSERT(guard >= wp && len >= guard + (size_t)cn * hwp);
    for (uint32_t b = 0; b < nb; b++) {
        float *p = ws + (size_t)b * len;
        for (size_t q = 0; q < guard + wp; q++) p[q] = pad;
        for (uint32_t i = 0; i < cn; i++) {
            const float *src = in + ((size_t)b * N + n0 + i) * hw;
            float *img = p + guard + (size_t)i * hwp;
            /* row 0 of image i (the padding row) is written by the previous
             * image's tail below, or above for image 0 */
            for (uint32_t y = 0; y < h; y++) {
                float *row = img + (size_t)(y + 1) * wp;
                row[0] = pad;
                memcpy(row + 1, src + (size_t)y * w, (size_t)w * sizeof(float));
                row[w + 1] = pad;
            }
            /* the bottom padding row and the next image's top one (the
             * last image's next: the fill below) */
            float *tail = img + (size_t)(h + 1) * wp;
            for (size_t q = 0; q < (i + 1 < cn ? 2 : 1) * wp; q++) tail[q] = pad;
        }
        for (size_t q = guard + (size_t)cn * hwp; q < len; q++) p[q] = pad;
    }
}

/* The padded maps, and for each vector of 16 flat positions the mask of
 * its interior pixels and the output index of the first one. */
static void pack(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                 float pad, const dconv_layout *L, float *ws)
{
    snn_dconv_pad_maps(in, nb, N, n0, cn, h, w, pad, L->guard, L->len, ws);
    /* walk the flat positions from q0 with their image, padded row and column */
    uint32_t *mask = (uint32_t *)(ws + L->mask), *start = (uint32_t *)(ws + L->start);
    size_t i = 0, r = 1, c = 1, o = 0; /* o: output index of the next interior pixel */
    for (size_t v = 0; v < L->nvec; v++) {
        uint32_t m = 0, first = UINT32_MAX;
        for (uint32_t j = 0; j < 16; j++) {
            if (i < cn && r >= 1 && r <= h && c >= 1 && c <= w) {
                if (first == UINT32_MAX) first = (uint32_t)o;
                m |= 1u << j;
                o++;
            }
            if (++c == L->wp) {
                c = 0;
                if (++r == (size_t)h + 2) {
                    r = 0;
                    i++;
                }
            }
        }
        mask[v] = m;
        start[v] = first;
    }
}

/* the lanes of m of v, in order, to dst[0..popcount(m)) */
static inline void store_lanes(float *dst, uint32_t m, v16f v)
{
#if defined(__AVX512F__)
    __m512 c = _mm512_maskz_compress_ps((__mmask16)m, (__m512)v);
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << __builtin_popcount(m)) - 1), c);
#else
    float t[16];
    st16(t, v);
    for (uint32_t j = 0, o = 0; j < 16; j++)
        if (m >> j & 1) dst[o++] = t[j];
#endif
}

void snn_dconv_chunk(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                     float pad, const float *pk, uint32_t na, float *out, float *ws)
{
    const dconv_layout L = layout(nb, h, w, cn);
    pack(in, nb, N, n0, cn, h, w, pad, &L, ws);
    const uint32_t *mask = (const uint32_t *)(ws + L.mask), *start = (const uint32_t *)(ws + L.start);
    const size_t hw = (size_t)h * w, ostride = N * hw;
    const ptrdiff_t wp = (ptrdiff_t)L.wp;
    const ptrdiff_t off[9] = {-wp - 1, -wp, -wp + 1, -1, 0, 1, wp - 1, wp, wp + 1};
    const uint32_t nblk = (na + OB - 1) / OB;
    float *o0 = out + n0 * hw;
    for (size_t v = 0; v < L.nvec; v += 2) {
        const uint32_t m0 = mask[v], m1 = mask[v + 1];
        if (!(m0 | m1)) continue;
        const float *src = ws + L.q0 + 16 * v;
        for (uint32_t blk = 0; blk < nblk; blk++) {
            const float *wb = pk + (size_t)blk * nb * 9 * OB;
            v16f acc0[OB], acc1[OB];
            for (int j = 0; j < OB; j++) acc0[j] = acc1[j] = (v16f){0};
            for (uint32_t b = 0; b < nb; b++) {
                const float *s = src + (size_t)b * L.len;
                for (int k = 0; k < 9; k++, wb += OB) {
                    const v16f x0 = ld16(s + off[k]), x1 = ld16(s + off[k] + 16);
#pragma GCC unroll 8
                    for (int j = 0; j < OB; j++) {
                        acc0[j] += wb[j] * x0;
                        acc1[j] += wb[j] * x1;
                    }
                }
            }
            const uint32_t a0 = blk * OB, an = na - a0 < OB ? na - a0 : OB;
            for (uint32_t j = 0; j < an; j++) {
                float *dst = o0 + (size_t)(a0 + j) * ostride;
                if (m0) store_lanes(dst + start[v], m0, acc0[j]);
                if (m1) store_lanes(dst + start[v + 1], m1, acc1[j]);
            }
        }
    }
}
