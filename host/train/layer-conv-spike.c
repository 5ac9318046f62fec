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
 * 2. Per image, every padded pixel's set bits become a list of its spiking
 *    channels (AVX-512: vpcompressd, 16 bits at a time, no branch per bit;
 *    otherwise count-trailing-zeros), once per input pixel.
 * 3. For each output pixel the nine lists of its 3x3 neighbourhood are
 *    concatenated, each shifted by its tap k, into one list of weight rows
 *    k*cin + ci (a few fixed-size vector copies per tap, no branch).
 * 4. The pixel's outputs are the sum of those rows of the weights laid out
 *    as Wk[k*cin + ci][co] (co contiguous, padded to a multiple of 16
 *    floats; stored as blocks of 32 outputs, each contiguous), 32 outputs
 *    at a time so that block of Wk stays in L1, in
 *    registers with four independent accumulators. 16 pixels at a time are
 *    transposed (16x16 blocks) into the channel-major output.
 * The lists hold float offsets (row * row stride), not row numbers, so the
 * inner loops do no multiplication.
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

/* The forward's weights: blocks of 32 outputs, each block's rows k*cin + ci
 * of 32 floats contiguous (one 36 KiB run for 32 inputs, read over and over
 * for 16 pixels; against rows of the whole width, the forward of the
 * 64-input layers measured 3-8% faster). A last block of 16 outputs keeps
 * the 32-float row stride. */
enum { WB = 32 };

size_t snn_sconv_wk_floats(uint32_t cin, uint32_t cout)
{
    return (size_t)9 * cin * ((snn_sconv_ld(cout) + WB - 1) / WB * WB);
}

/* The forward's row lists hold 32-bit offsets (k*cin + ci) * WB: enough for
 * any layer width the trainer accepts. */
_Static_assert(9ull * SNN_ARCH_MAX_WIDTH * WB <= UINT32_MAX, "row offsets need more than 32 bits");

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Where the buffers lie in a worker's column buffer (offsets in floats).
 * The forward and the weight gradient use the space one after the other. */
typedef struct sconv_layout {
    /* forward: bit words at 0, pixel lists, row lists, tile */
    size_t plist, pcnt, list, tile, fwd_end;
    size_t pstride;                     /* entries per pixel list */
    size_t counts, dT, dWk, bwd_end;    /* weight gradient: spike lists at 0, ... */
    size_t lstride;                     /* entries per spike list */
} sconv_layout;

static sconv_layout layout(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t chunk)
{
    const size_t P = (size_t)(h + 2) * (w + 2), ld = snn_sconv_ld(cout), hw = (size_t)h * w;
    sconv_layout L;
    L.pstride = up16(cin);                                 /* room for a whole vector copy */
    L.plist = up16((size_t)chunk * P * words_of(cin) * 2); /* bit words, 2 floats each */
    L.pcnt = L.plist + P * L.pstride;                      /* one image's pixel lists */
    L.list = up16(L.pcnt + P);
    L.tile = L.list + up16((size_t)16 * 9 * cin + L.pstride); /* 16 row lists + copy slack */
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
    memset(bits, 0, (size_t)cn * nw * P * sizeof *bits); /* the border stays 0 */
    size_t ones = 0;
    uint32_t bad = 0;
    /* 8 pixels' words at a time are built in a register over the word's
     * channels and stored once */
    for (uint32_t n = 0; n < cn; n++)
        for (uint32_t j = 0; j < nw; j++) {
            const uint32_t c0 = 64 * j, c1 = cin - c0 < 64 ? cin : c0 + 64;
            const float *src = in + ((size_t)c0 * N + n0 + n) * hw;
            const size_t cstride = N * hw;
            uint64_t *plane = bits + ((size_t)n * nw + j) * P;
            for (uint32_t y = 0; y < h; y++) {
                uint64_t *d = plane + (size_t)(y + 1) * pw + 1;
                for (uint32_t x = 0; x < w; x += 8) {
                    const uint32_t nx = w - x < 8 ? w - x : 8;
                    const float *s = src + (size_t)y * w + x;
#if defined(__AVX512F__)
                    const __mmask8 lanes = (__mmask8)((1u << nx) - 1);
                    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
                    __m512i acc = _mm512_setzero_si512();
                    for (uint32_t ci = c0; ci < c1; ci++, s += cstride) {
                        const __m256 v = _mm256_maskz_loadu_ps(lanes, s);
                        const __mmask8 nz = _mm256_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
                        bad |= (_mm256_cmp_ps_mask(v, one, _CMP_NEQ_UQ) & nz) != 0;
                        ones += (uint32_t)__builtin_popcount(nz);
                        acc = _mm512_mask_or_epi64(
                            acc, nz, acc, _mm512_set1_epi64((long long)((uint64_t)1 << (ci - c0))));
                    }
                    _mm512_mask_storeu_epi64((void *)(d + x), lanes, acc);
#else
                    uint64_t acc[8] = {0};
                    for (uint32_t ci = c0; ci < c1; ci++, s += cstride)
                        for (uint32_t i = 0; i < nx; i++) {
                            const uint32_t nz = s[i] != 0.0f;
                            bad |= nz & (s[i] != 1.0f);
                            ones += nz;
                            acc[i] |= (uint64_t)nz << (ci - c0);
                        }
                    memcpy(d + x, acc, nx * sizeof *acc);
#endif
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

typedef uint32_t v16u __attribute__((vector_size(64)));

/* list[cnt ..] = (base + i) * ld for the set bits i of the low 16 bits of m
 * (16 entries stored, the new count returned): one vpcompressd, no branch
 * per bit. */
static inline uint32_t append_set16(uint32_t *list, uint32_t cnt, uint32_t m, uint32_t base,
                                    uint32_t ld)
{
#if defined(__AVX512F__)
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i idx = _mm512_mullo_epi32(_mm512_add_epi32(iota, _mm512_set1_epi32((int)base)),
                                           _mm512_set1_epi32((int)ld));
    _mm512_storeu_si512((void *)(list + cnt), _mm512_maskz_compress_epi32((__mmask16)m, idx));
    return cnt + (uint32_t)__builtin_popcount(m & 0xffffu);
#else
    for (m &= 0xffffu; m; m &= m - 1)
        list[cnt++] = (base + (uint32_t)__builtin_ctz(m)) * ld;
    return cnt;
#endif
}

/* For every padded pixel q of one image's bit words: its set channels as
 * offsets ci * ld (ld: the weight row stride) at plist + q * pstride, their
 * count at pcnt[q]. */
static void pixel_lists(const uint64_t *img, uint32_t nw, size_t P, uint32_t cin, uint32_t ld,
                        size_t pstride, uint32_t *plist, uint32_t *pcnt)
{
    for (size_t q = 0; q < P; q++) {
        uint32_t *l = plist + q * pstride, cnt = 0;
        for (uint32_t j = 0; j < nw; j++) {
            const uint64_t m = img[j * P + q];
            const uint32_t bits = cin - 64 * j < 64 ? cin - 64 * j : 64;
            for (uint32_t b = 0; b < bits; b += 16)
                cnt = append_set16(l, cnt, (uint32_t)(m >> b), 64 * j + b, ld);
        }
        pcnt[q] = cnt;
    }
}

/* The weight rows (as offsets (k*cin + ci) * WB) of the set bits around the
 * padded pixel q: the nine pixel lists, each shifted by its tap's koff[k]
 * = k*cin*WB, copied a whole number of vectors at a time (pstride entries:
 * the copy of one tap may run past its count; the next tap overwrites it). */
static inline uint32_t row_list(const uint32_t *plist, const uint32_t *pcnt, size_t pstride,
                                size_t q, const ptrdiff_t off[9], const uint32_t koff[9],
                                uint32_t *list)
{
    uint32_t cnt = 0;
    for (uint32_t k = 0; k < 9; k++) {
        const size_t qk = (size_t)((ptrdiff_t)q + off[k]);
        const uint32_t *src = plist + qk * pstride;
        for (size_t v = 0; v < pstride; v += 16) {
            v16u e;
            memcpy(&e, src + v, sizeof e);
            e += koff[k];
            memcpy(list + cnt + v, &e, sizeof e);
        }
        cnt += pcnt[qk];
    }
    return cnt;
}

/* dst[0 .. 16*NV) = sum of the rows of W at the offsets list[0..cnt), four
 * accumulators per vector so the adds do not wait on each other. */
static inline __attribute__((always_inline)) void
sum_rows(const uint32_t *list, uint32_t cnt, const float *W, float *dst, const uint32_t NV)
{
    v16f a0[2] = {0}, a1[2] = {0}, a2[2] = {0}, a3[2] = {0};
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        const float *r0 = W + list[i], *r1 = W + list[i + 1];
        const float *r2 = W + list[i + 2], *r3 = W + list[i + 3];
        for (uint32_t v = 0; v < NV; v++) {
            a0[v] += ld16(r0 + 16 * v);
            a1[v] += ld16(r1 + 16 * v);
            a2[v] += ld16(r2 + 16 * v);
            a3[v] += ld16(r3 + 16 * v);
        }
    }
    for (; i < cnt; i++) {
        const float *r = W + list[i];
        for (uint32_t v = 0; v < NV; v++) a0[v] += ld16(r + 16 * v);
    }
    for (uint32_t v = 0; v < NV; v++) st16(dst + 16 * v, (a0[v] + a1[v]) + (a2[v] + a3[v]));
}

void snn_sconv_weights(const float *wt, uint32_t cin, uint32_t cout, float *wk)
{
    memset(wk, 0, snn_sconv_wk_floats(cin, cout) * sizeof *wk);
    const size_t rows = (size_t)9 * cin;
    for (uint32_t co = 0; co < cout; co++) {
        float *blk = wk + (size_t)(co / WB) * rows * WB + co % WB;
        for (uint32_t ci = 0; ci < cin; ci++)
            for (uint32_t k = 0; k < 9; k++)
                blk[((size_t)k * cin + ci) * WB] = wt[((size_t)co * cin + ci) * 9 + k];
    }
}

void snn_sconv_forward_chunk(uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                             const float *wk, uint32_t cout, float *out, float *col)
{
    SNN_ASSERT(cin <= SNN_ARCH_MAX_WIDTH);
    const sconv_layout L = layout(cin, cout, h, w, cn);
    const uint64_t *bits = (const uint64_t *)(void *)col;
    uint32_t *plist = (uint32_t *)(void *)(col + L.plist),
             *pcnt = (uint32_t *)(void *)(col + L.pcnt);
    uint32_t *list = (uint32_t *)(void *)(col + L.list);
    float *tile = col + L.tile;
    const uint32_t nw = words_of(cin), pw = w + 2, ld = snn_sconv_ld(cout);
    const size_t P = (size_t)(h + 2) * pw, hw = (size_t)h * w;
    ptrdiff_t off[9];
    uint32_t koff[9];
    for (uint32_t k = 0; k < 9; k++) {
        off[k] = ((ptrdiff_t)(k / 3) - 1) * (ptrdiff_t)pw + (ptrdiff_t)(k % 3) - 1;
        koff[k] = k * cin * WB;
    }
    for (uint32_t n = 0; n < cn; n++) {
        pixel_lists(bits + (size_t)n * nw * P, nw, P, cin, WB, L.pstride, plist, pcnt);
        for (size_t p0 = 0; p0 < hw; p0 += 16) {
            const uint32_t np = hw - p0 < 16 ? (uint32_t)(hw - p0) : 16;
            uint32_t start[17];
            start[0] = 0;
            for (uint32_t px = 0, y = (uint32_t)(p0 / w), x = (uint32_t)(p0 % w); px < np; px++) {
                const size_t q = (size_t)(y + 1) * pw + x + 1;
                start[px + 1] =
                    start[px] + row_list(plist, pcnt, L.pstride, q, off, koff, list + start[px]);
                if (++x == w) {
                    x = 0;
                    y++;
                }
            }
            /* 32 outputs at a time: that block of the weights stays in L1 over the 16 pixels */
            for (size_t c0 = 0; c0 < ld; c0 += WB) {
                const float *blk = wk + c0 * 9 * cin;
                for (uint32_t px = 0; px < np; px++) {
                    const uint32_t *l = list + start[px], cnt = start[px + 1] - start[px];
                    if (ld - c0 >= 32)
                        sum_rows(l, cnt, blk, tile + px * ld + c0, 2);
                    else
                        sum_rows(l, cnt, blk, tile + px * ld + c0, 1);
                }
            }
            for (uint32_t c0 = 0; c0 < cout; c0 += 16)
                transpose16(tile + c0, ld, out + ((size_t)c0 * N + n0 + n) * hw + p0, N * hw, np,
                            cout - c0 < 16 ? cout - c0 : 16);
        }
    }
}

/* The positions (padded map) of the ones of one image's channel. */
static uint32_t spike_list(const float *src, uint32_t h, uint32_t w, uint32_t *list)
{
    const uint32_t pw = w + 2;
    uint32_t cnt = 0;
    for (uint32_t y = 0; y < h; y++) {
        const float *s = src + (size_t)y * w;
        const uint32_t row = (y + 1) * pw + 1;
        uint32_t x = 0;
#if defined(__AVX512F__)
        for (; x < w; x += 16) { /* the row's last vector masked (a 14-wide row is one) */
            const __mmask16 lanes = (__mmask16)(w - x >= 16 ? 0xffffu : (1u << (w - x)) - 1);
            cnt = append_set16(list, cnt,
                               _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(lanes, s + x),
                                                  _mm512_setzero_ps(), _CMP_NEQ_UQ),
                               row + x, 1);
        }
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
