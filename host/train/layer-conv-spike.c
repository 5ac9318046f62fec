/*
 * layer-conv-spike.c - the 3x3 convolution of a spike input (every value 0
 * or 1), event by event.
 *
 * Past the first layer a conv's input is spikes at rates of 10-40%, so most
 * of the dense im2col + GEMM multiplies zeros. Here the forward
 *
 *     out[co][p] = sum over (k, ci) with in[ci][p + off_k] = 1 of W[co][ci][k]
 *
 * and the weight gradient
 *
 *     dW[co][ci][k] = sum over p with in[ci][p + off_k] = 1 of dout[co][p]
 *
 * touch only the weights (rows of dW) of the inputs that spiked.
 *
 * Forward, output pixel by output pixel (gather):
 * 1. The chunk's input is packed into bit planes: one bit per input channel,
 *    a word of 64 channels per pixel, on a map padded by one zero pixel on
 *    every side (padding is a 0, a missing spike).
 * 2. For each output pixel, the set bits of its 3x3 neighbourhood become a
 *    list of weight rows k*cin + ci (AVX-512: vpcompressd, 16 bits at a
 *    time, no branch per bit; otherwise count-trailing-zeros).
 * 3. The pixel's outputs are the sum of those rows of the weights laid out
 *    as Wk[k*cin + ci][co] (co contiguous, padded to a multiple of 16
 *    floats), 32 outputs at a time so that block of Wk stays in L1, in
 *    registers with four independent accumulators. 16 pixels at a time are
 *    transposed (16x16 blocks) into the channel-major output.
 *
 * Weight gradient, input spike by input spike (gather too, no scatter):
 * dout is transposed to pixel-major rows on a zero-padded map; for each
 * input channel the positions of its ones are listed, and for each one q
 * the nine rows q - off_k are added to nine register accumulators, which
 * go to dW[k][ci] once per channel and image. A spike is read once and
 * nothing but the accumulators is written in the inner loop.
 *
 * The input gradient stays a dense GEMM (layer-conv.c): dout is not sparse.
 * The sums are the GEMM's sums in another order, so results agree with it
 * to float rounding (tests/test-grad.c compares both with a direct
 * convolution). layer-conv.c takes this path when the chunk's spike rate is
 * low enough for it to be faster than the dense GEMM.
 */
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "train-impl.h"
#include "vec16.h"

static inline uint32_t words_of(uint32_t cin) { return (cin + 63) / 64; }

uint32_t snn_sconv_ld(uint32_t cout) { return (cout + 15) & ~15u; }

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Where the buffers lie in a worker's column buffer (offsets in floats).
 * The forward and the weight gradient use the space one after the other. */
typedef struct sconv_layout {
    size_t list, tile, fwd_end;         /* forward: bit words at 0, row lists, tile */
    size_t counts, dT, dWk, bwd_end;    /* weight gradient: spike lists at 0, ... */
    size_t lstride;                     /* entries per spike list */
} sconv_layout;

static sconv_layout layout(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t chunk)
{
    const size_t P = (size_t)(h + 2) * (w + 2), ld = snn_sconv_ld(cout), hw = (size_t)h * w;
    sconv_layout L;
    L.list = up16((size_t)chunk * P * words_of(cin) * 2); /* bit words, 2 floats each */
    L.tile = L.list + up16((size_t)16 * 9 * cin + 16);     /* 16 row lists + vpcompressd slack */
    L.fwd_end = L.tile + up16(16 * ld);                    /* 16 pixels' outputs */
    L.lstride = hw + 16;                                   /* + one vpcompressd of slack */
    L.counts = (size_t)cin * L.lstride;
    L.dT = up16(L.counts + cin);                           /* dout, transposed and padded */
    L.dWk = L.dT + up16(P * ld);
    L.bwd_end = L.dWk + up16((size_t)9 * cin * ld);
    return L;
}

size_t snn_sconv_ws_floats(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t chunk)
{
    const sconv_layout L = layout(cin, cout, h, w, chunk);
    return L.fwd_end > L.bwd_end ? L.fwd_end : L.bwd_end;
}

size_t snn_sconv_pack(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h,
                      uint32_t w, float *col)
{
    const uint32_t nw = words_of(cin), pw = w + 2;
    const size_t P = (size_t)(h + 2) * pw, hw = (size_t)h * w;
    uint64_t *bits = (uint64_t *)(void *)col;
    memset(bits, 0, (size_t)cn * nw * P * sizeof *bits);
    size_t ones = 0;
    uint32_t bad = 0;
    for (uint32_t n = 0; n < cn; n++) {
        for (uint32_t ci = 0; ci < cin; ci++) {
            const float *src = in + ((size_t)ci * N + n0 + n) * hw;
            const uint64_t bit = (uint64_t)1 << (ci % 64);
            uint64_t *plane = bits + ((size_t)n * nw + ci / 64) * P;
            for (uint32_t y = 0; y < h; y++) {
                const float *s = src + (size_t)y * w;
                uint64_t *d = plane + (size_t)(y + 1) * pw + 1;
                uint32_t x = 0;
#if defined(__AVX512F__)
                const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
                const __m512i vbit = _mm512_set1_epi64((long long)bit);
                for (; x + 8 <= w; x += 8) {
                    const __m256 v = _mm256_loadu_ps(s + x);
                    const __mmask8 nz = _mm256_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
                    bad |= (_mm256_cmp_ps_mask(v, one, _CMP_NEQ_UQ) & nz) != 0;
                    ones += (uint32_t)__builtin_popcount(nz);
                    const __m512i o = _mm512_loadu_si512((const void *)(d + x));
                    _mm512_storeu_si512((void *)(d + x), _mm512_mask_or_epi64(o, nz, o, vbit));
                }
#endif
                for (; x < w; x++) {
                    const uint32_t nz = s[x] != 0.0f;
                    bad |= nz & (s[x] != 1.0f);
                    ones += nz;
                    d[x] |= nz ? bit : 0;
                }
            }
        }
    }
    SNN_ASSERT(!bad && "spike conv input must be 0 or 1");
    return ones;
}

size_t snn_sconv_count(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, size_t hw)
{
    size_t ones = 0;
    for (uint32_t ci = 0; ci < cin; ci++) {
        const float *s = in + ((size_t)ci * N + n0) * hw;
        const size_t m = (size_t)cn * hw;
        size_t i = 0;
#if defined(__AVX512F__)
        for (; i + 16 <= m; i += 16)
            ones += (uint32_t)__builtin_popcount(
                _mm512_cmp_ps_mask(_mm512_loadu_ps(s + i), _mm512_setzero_ps(), _CMP_NEQ_UQ));
#endif
        for (; i < m; i++) ones += s[i] != 0.0f;
    }
    return ones;
}

#if defined(__AVX512F__)
/* list[cnt ..] = base + i for the set bits i of mask (16 entries stored, the
 * new count returned): one vpcompressd, no branch per bit. */
static inline uint32_t append_set16(uint32_t *list, uint32_t cnt, __mmask16 mask, uint32_t base)
{
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i idx = _mm512_add_epi32(iota, _mm512_set1_epi32((int)base));
    _mm512_storeu_si512((void *)(list + cnt), _mm512_maskz_compress_epi32(mask, idx));
    return cnt + (uint32_t)__builtin_popcount((unsigned)mask);
}
#endif

/* The weight rows k*cin + ci of the set bits around output pixel (y, x). */
static inline uint32_t row_list(const uint64_t *img, uint32_t nw, size_t P, uint32_t cin,
                                uint32_t pw, uint32_t y, uint32_t x, uint32_t *list)
{
    uint32_t cnt = 0;
    for (uint32_t ky = 0; ky < 3; ky++) {
        for (uint32_t kx = 0; kx < 3; kx++) {
            const uint64_t *wd = img + (size_t)(y + ky) * pw + x + kx;
            const uint32_t k = ky * 3 + kx;
            for (uint32_t j = 0; j < nw; j++) {
                uint64_t m = wd[j * P];
                const uint32_t base = k * cin + 64 * j;
#if defined(__AVX512F__)
                const uint32_t bits = cin - 64 * j < 64 ? cin - 64 * j : 64;
                for (uint32_t q = 0; q < bits; q += 16)
                    cnt = append_set16(list, cnt, (__mmask16)(m >> q), base + q);
#else
                while (m) {
                    list[cnt++] = base + (uint32_t)__builtin_ctzll(m);
                    m &= m - 1;
                }
#endif
            }
        }
    }
    return cnt;
}

/* dst[0 .. 16*NV) = sum of the rows list[0..cnt) of W (row stride ld),
 * four accumulators per vector so the adds do not wait on each other. */
static inline __attribute__((always_inline)) void sum_rows(const uint32_t *list, uint32_t cnt,
                                                           const float *W, size_t ld, float *dst,
                                                           const uint32_t NV)
{
    v16f a0[2] = {0}, a1[2] = {0}, a2[2] = {0}, a3[2] = {0};
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        const float *r0 = W + (size_t)list[i] * ld, *r1 = W + (size_t)list[i + 1] * ld;
        const float *r2 = W + (size_t)list[i + 2] * ld, *r3 = W + (size_t)list[i + 3] * ld;
        for (uint32_t v = 0; v < NV; v++) {
            a0[v] += ld16(r0 + 16 * v);
            a1[v] += ld16(r1 + 16 * v);
            a2[v] += ld16(r2 + 16 * v);
            a3[v] += ld16(r3 + 16 * v);
        }
    }
    for (; i < cnt; i++) {
        const float *r = W + (size_t)list[i] * ld;
        for (uint32_t v = 0; v < NV; v++) a0[v] += ld16(r + 16 * v);
    }
    for (uint32_t v = 0; v < NV; v++) st16(dst + 16 * v, (a0[v] + a1[v]) + (a2[v] + a3[v]));
}

void snn_sconv_weights(const float *wt, uint32_t cin, uint32_t cout, float *wk)
{
    const size_t ld = snn_sconv_ld(cout);
    memset(wk, 0, (size_t)9 * cin * ld * sizeof *wk);
    for (uint32_t co = 0; co < cout; co++)
        for (uint32_t ci = 0; ci < cin; ci++)
            for (uint32_t k = 0; k < 9; k++)
                wk[((size_t)k * cin + ci) * ld + co] = wt[((size_t)co * cin + ci) * 9 + k];
}

/* dst[j * dld + i] = src[i * sld + j] for i < rows, j < cols (both <= 16):
 * one block of a transpose between the channel-major layout of the layers
 * and the pixel-major rows of this file. */
static inline void transpose16(const float *src, size_t sld, float *dst, size_t dld, uint32_t rows,
                               uint32_t cols)
{
#if defined(__AVX512F__)
    const __mmask16 cm = (__mmask16)((1u << cols) - 1), rm = (__mmask16)((1u << rows) - 1);
    __m512 r[16], t[16];
    for (uint32_t i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * sld) : _mm512_setzero_ps();
    for (uint32_t i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (uint32_t i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (uint32_t i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (uint32_t i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
    for (uint32_t j = 0; j < cols; j++) _mm512_mask_storeu_ps(dst + j * dld, rm, r[j]);
#else
    for (uint32_t j = 0; j < cols; j++)
        for (uint32_t i = 0; i < rows; i++) dst[j * dld + i] = src[i * sld + j];
#endif
}

void snn_sconv_forward_chunk(uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                             const float *wk, uint32_t cout, float *out, float *col)
{
    const sconv_layout L = layout(cin, cout, h, w, cn);
    const uint64_t *bits = (const uint64_t *)(void *)col;
    uint32_t *list = (uint32_t *)(void *)(col + L.list);
    float *tile = col + L.tile;
    const uint32_t nw = words_of(cin), pw = w + 2;
    const size_t P = (size_t)(h + 2) * pw, hw = (size_t)h * w, ld = snn_sconv_ld(cout);
    for (uint32_t n = 0; n < cn; n++) {
        const uint64_t *img = bits + (size_t)n * nw * P;
        for (size_t p0 = 0; p0 < hw; p0 += 16) {
            const uint32_t np = hw - p0 < 16 ? (uint32_t)(hw - p0) : 16;
            uint32_t start[17];
            start[0] = 0;
            for (uint32_t px = 0; px < np; px++) {
                const uint32_t p = (uint32_t)p0 + px;
                start[px + 1] = start[px] + row_list(img, nw, P, cin, pw, p / w, p % w, list + start[px]);
            }
            /* 32 outputs at a time: that block of the weights stays in L1 over the 16 pixels */
            for (size_t c0 = 0; c0 < ld; c0 += 32)
                for (uint32_t px = 0; px < np; px++) {
                    const uint32_t *l = list + start[px], cnt = start[px + 1] - start[px];
                    if (ld - c0 >= 32)
                        sum_rows(l, cnt, wk + c0, ld, tile + px * ld + c0, 2);
                    else
                        sum_rows(l, cnt, wk + c0, ld, tile + px * ld + c0, 1);
                }
            for (uint32_t c0 = 0; c0 < cout; c0 += 16)
                transpose16(tile + c0, ld, out + ((size_t)c0 * N + n0 + n) * hw + p0, N * hw, np,
                            cout - c0 < 16 ? cout - c0 : 16);
        }
    }
}

/* The positions (padded map) of the ones of one image's channel row. */
static uint32_t spike_list(const float *src, uint32_t h, uint32_t w, uint32_t *list)
{
    const uint32_t pw = w + 2;
    uint32_t cnt = 0;
    for (uint32_t y = 0; y < h; y++) {
        const float *s = src + (size_t)y * w;
        const uint32_t row = (y + 1) * pw + 1;
        uint32_t x = 0;
#if defined(__AVX512F__)
        for (; x + 16 <= w; x += 16)
            cnt = append_set16(list, cnt,
                               _mm512_cmp_ps_mask(_mm512_loadu_ps(s + x), _mm512_setzero_ps(), _CMP_NEQ_UQ),
                               row + x);
#endif
        for (; x < w; x++) {
            list[cnt] = row + x;
            cnt += s[x] != 0.0f;
        }
    }
    return cnt;
}

/* dst[k * dstride + 0 .. 16*NV) += sum over i of row list[i] - off_k of D,
 * for the nine offsets off_k = (k/3 - 1) * pw + k%3 - 1 at once: the nine
 * rows around a spike are three runs of three neighbouring rows, and every
 * spike is read once. */
static inline __attribute__((always_inline)) void sum_nine(const uint32_t *list, uint32_t cnt,
                                                           const float *D, size_t ld, size_t pw,
                                                           float *dst, size_t dstride,
                                                           const uint32_t NV)
{
    v16f a[9][2];
    memset(a, 0, sizeof a);
    const ptrdiff_t row = (ptrdiff_t)(pw * ld), L = (ptrdiff_t)ld;
    for (uint32_t i = 0; i < cnt; i++) {
        const float *c = D + (size_t)list[i] * ld;
        for (uint32_t k = 0; k < 9; k++) {
            const float *r = c - ((ptrdiff_t)(k / 3) - 1) * row - ((ptrdiff_t)(k % 3) - 1) * L;
            for (uint32_t v = 0; v < NV; v++) a[k][v] += ld16(r + 16 * v);
        }
    }
    for (uint32_t k = 0; k < 9; k++)
        for (uint32_t v = 0; v < NV; v++) {
            float *d = dst + k * dstride + 16 * v;
            st16(d, ld16(d) + a[k][v]);
        }
}

size_t snn_sconv_dw_chunk(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h,
                          uint32_t w, uint32_t cout, const float *dout, float *dw, float *col)
{
    const uint32_t pw = w + 2;
    const size_t P = (size_t)(h + 2) * pw, hw = (size_t)h * w, ld = snn_sconv_ld(cout);
    const sconv_layout L = layout(cin, cout, h, w, cn);
    const size_t lstride = L.lstride;
    uint32_t *lists = (uint32_t *)(void *)col, *cnt = lists + L.counts;
    float *dTp = col + L.dT, *dWk = col + L.dWk;
    memset(dWk, 0, (size_t)9 * cin * ld * sizeof(float));
    memset(dTp, 0, P * ld * sizeof(float)); /* the border and the padding columns stay 0 */
    size_t ones = 0;
    for (uint32_t n = 0; n < cn; n++) {
        for (uint32_t ci = 0; ci < cin; ci++) {
            cnt[ci] = spike_list(in + ((size_t)ci * N + n0 + n) * hw, h, w, lists + ci * lstride);
            ones += cnt[ci];
        }
        for (uint32_t c0 = 0; c0 < cout; c0 += 16)
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x0 = 0; x0 < w; x0 += 16)
                    transpose16(dout + ((size_t)c0 * N + n0 + n) * hw + (size_t)y * w + x0, N * hw,
                                dTp + ((size_t)(y + 1) * pw + 1 + x0) * ld + c0, ld,
                                cout - c0 < 16 ? cout - c0 : 16, w - x0 < 16 ? w - x0 : 16);
        /* dW[k][ci] += sum over the ones q of channel ci of dout at q - off_k */
        for (uint32_t ci = 0; ci < cin; ci++) {
            if (!cnt[ci]) continue;
            for (size_t c0 = 0; c0 < ld; c0 += 32) {
                float *dst = dWk + (size_t)ci * ld + c0;
                if (ld - c0 >= 32)
                    sum_nine(lists + ci * lstride, cnt[ci], dTp + c0, ld, pw, dst, (size_t)cin * ld, 2);
                else
                    sum_nine(lists + ci * lstride, cnt[ci], dTp + c0, ld, pw, dst, (size_t)cin * ld, 1);
            }
        }
    }
    for (uint32_t co = 0; co < cout; co++)
        for (uint32_t ci = 0; ci < cin; ci++)
            for (uint32_t k = 0; k < 9; k++)
                dw[((size_t)co * cin + ci) * 9 + k] = dWk[((size_t)k * cin + ci) * ld + co];
    return ones;
}
