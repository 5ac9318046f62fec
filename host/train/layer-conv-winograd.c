/*
 * layer-conv-winograd.c - the dense 3x3 convolution (stride 1, padding 1)
 * by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", CVPR 2016): the same
 * function as the direct conv (layer-conv-direct.c),
 *
 *     out[a][i][y][x] = sum over b < nb, k < 9 of
 *                       m[a][b][k] * in[b][i][y + k/3 - 1][x + k%3 - 1],
 *
 * with 16 multiplications per 2x2 output tile and (a, b) pair instead of 36.
 * Each map is cut into 2x2 output tiles; tile (ty, tx) reads the 4x4 patch
 * of the padded map at rows 2ty.., columns 2tx.. and
 *
 *     V = Bt d B   (per input channel b, tile: 16 values xi)
 *     M[xi][a] = sum over b of U[xi][a][b] * V[xi][b]   (16 small GEMMs)
 *     Y = At M A   (per output channel a, tile: the 2x2 outputs)
 *
 * with U = G m G^t the transformed kernels (once per call, in double) and
 *
 *     Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *     G  = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     At = [1 1 1 0; 0 1 -1 -1].
 *
 * Every transform coefficient (0, +-1, +-1/2) is exact in binary and U is
 * rounded once from double: the results differ from the direct sums by
 * float rounding only (tests/test-grad.c checks both against a
 * double-precision convolution). The weight gradient at the end of the
 * file is the same algorithm transposed.
 *
 * Layout. The chunk's images lie on the direct conv's padded flat maps
 * (snn_dconv_pad_maps). The tiles are processed in groups of G whole tile
 * rows (over the chunk's maps, one after the other): the transforms go
 * 16 tiles of a tile row at a time (lane = tile column; the patch's
 * columns are the even and odd elements of two 32-float loads), the GEMMs
 * over the group's tiles numbered flat (a row's tiles follow the previous
 * row's: no lane wasted on map edges, only on the group's rounding up to
 * 32). V[xi][b][.] and M[xi][a][.] of a group stay within 512 KiB (the L2
 * cache); G is chosen to waste the fewest lanes. The GEMM's register
 * block is the direct conv's, 8 outputs x 32 tiles, each b step two
 * loads, eight broadcasts and sixteen FMAs, but with nb steps per 64
 * outputs instead of 9 nb per 32.
 *
 * Alone (`make bench-conv`, 1 thread) it computes the default net's conv 2
 * forward in 57 us per image against the direct conv's 85, the recipe's
 * conv 2 in 192 against 314.
 */
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "train-impl.h"
#include "vec16.h"

enum { OB = 8 }; /* outputs per register block */

/* V and M together in at most this many floats (512 KiB: the L2 cache) */
static const size_t GROUP_FLOATS = 131072;

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; }

size_t snn_wconv_pk_floats(uint32_t na, uint32_t nb) { return (size_t)16 * ((na + OB - 1) / OB * OB) * nb; }

/* U[xi][blk][b][j] = (G m[blk*OB + j][b] G^t)[xi], m as in snn_dconv_weights */
void snn_wconv_weights(const float *wt, uint32_t cout, uint32_t cin, int for_din, float *pk)
{
    const uint32_t na = for_din ? cin : cout, nb = for_din ? cout : cin;
    const uint32_t nblk = (na + OB - 1) / OB;
    for (uint32_t blk = 0; blk < nblk; blk++)
        for (uint32_t b = 0; b < nb; b++)
            for (uint32_t j = 0; j < OB; j++) {
                const uint32_t a = blk * OB + j;
                double g[3][3] = {{0}}, gg[4][3], u[4][4];
                for (int k = 0; k < 9 && a < na; k++)
                    g[k / 3][k % 3] = for_din ? wt[((size_t)b * cin + a) * 9 + (size_t)(8 - k)]
                                              : wt[((size_t)a * cin + b) * 9 + (size_t)k];
                for (int c = 0; c < 3; c++) {
                    gg[0][c] = g[0][c];
                    gg[1][c] = 0.5 * (g[0][c] + g[1][c] + g[2][c]);
                    gg[2][c] = 0.5 * (g[0][c] - g[1][c] + g[2][c]);
                    gg[3][c] = g[2][c];
                }
                for (int r = 0; r < 4; r++) {
                    u[r][0] = gg[r][0];
                    u[r][1] = 0.5 * (gg[r][0] + gg[r][1] + gg[r][2]);
                    u[r][2] = 0.5 * (gg[r][0] - gg[r][1] + gg[r][2]);
                    u[r][3] = gg[r][2];
                }
                for (int xi = 0; xi < 16; xi++)
                    pk[(((size_t)xi * nblk + blk) * nb + b) * OB + j] = (float)u[xi / 4][xi % 4];
            }
}

/* Where the chunk's buffers lie in the workspace (offsets in floats),
 * and the tile groups: G whole tile rows each, lanes per channel tg (a
 * multiple of 32, the GEMM's two vectors). The channel rows of V and M
 * are tg apart, their xi planes vs and ms: 16 floats more than a multiple
 * of tg, so that the input transform's 16 stores (one per plane) do not
 * all fall in one L1 set. */
typedef struct wconv_layout {
    size_t wp, hwp, guard, len; /* the padded maps (snn_dconv_pad_maps) */
    uint32_t th, tw;            /* tile rows and columns of a map */
    uint32_t G;                 /* tile rows per group */
    size_t tg, vs, ms;          /* lanes per channel row; V's and M's plane strides */
    size_t v, m, end;           /* V[16][nb][tg], M[16][na8][tg] */
} wconv_layout;

static size_t up32(size_t n) { return (n + 31) & ~(size_t)31; }

static wconv_layout layout(uint32_t nb, uint32_t na, uint32_t h, uint32_t w, uint32_t cn)
{
    wconv_layout L;
    const size_t na8 = (na + OB - 1) / OB * OB;
    L.wp = (size_t)w + 2;
    L.hwp = ((size_t)h + 2) * L.wp;
    L.guard = up16(L.wp + 1);
    L.th = (h + 1) / 2;
    L.tw = (w + 1) / 2;
    /* the last tile row's patch ends at padded row 2 th + 1 <= h + 2 (the
     * next map's top padding row); its loads run 34 floats past the start
     * of the last 16-tile step, whose start is <= w - 1 into the row */
    L.len = up16(L.guard + (size_t)cn * L.hwp + L.wp + 2 * L.wp + 34);
    /* G rows: the fewest lanes wasted to the rounding up to 32 per tile,
     * within the cache budget (one row at least), more rows on a tie */
    size_t tgmax = GROUP_FLOATS / (16 * ((size_t)nb + na8)) & ~(size_t)31;
    if (tgmax < up32(L.tw)) tgmax = up32(L.tw);
    L.G = 1;
    for (uint32_t g = 1; (size_t)g * L.tw <= tgmax && g <= (size_t)cn * L.th; g++) {
        const size_t n = (size_t)g * L.tw, cur = (size_t)L.G * L.tw;
        if ((up32(n) - n) * cur <= (up32(cur) - cur) * n) L.G = g;
    }
    L.tg = up32((size_t)L.G * L.tw);
    L.vs = (size_t)nb * L.tg + 16;
    L.ms = na8 * L.tg + 16;
    L.v = (size_t)nb * L.len;
    L.m = L.v + 16 * L.vs;
    L.end = L.m + 16 * L.ms;
    return L;
}

size_t snn_wconv_ws_floats(uint32_t nb, uint32_t na, uint32_t h, uint32_t w, uint32_t chunk)
{
    return layout(nb, na, h, w, chunk).end;
}

/* lanes of m only: loads give 0 elsewhere, stores leave memory alone
 * (the other lanes' addresses may lie outside the buffer) */
static inline v16f ld16_mask(const float *p, uint32_t m)
{
#if defined(__AVX512F__)
    return (v16f)_mm512_maskz_loadu_ps((__mmask16)m, p);
#else
    v16f v = {0};
    for (int j = 0; j < 16; j++)
        if (m >> j & 1) v[j] = p[j];
    return v;
#endif
}

static inline void st16_mask(float *p, uint32_t m, v16f v)
{
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(p, (__mmask16)m, (__m512)v);
#else
    for (int j = 0; j < 16; j++)
        if (m >> j & 1) p[j] = v[j];
#endif
}

#define EVENS 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODDS 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define ZIP_LO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define ZIP_HI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31

/* The transforms go over the group's tile rows r0..r0+nr-1 16 tiles at a
 * time (a step): tiles tx0.. of a row in the lanes of step_mask, at lane
 * (row - r0) * tw + tx0 of the group. */
static inline uint32_t step_mask(const wconv_layout *L, uint32_t tx0)
{
    return L->tw - tx0 >= 16 ? 0xffffu : (1u << (L->tw - tx0)) - 1;
}

/* V[xi][b][.] of the group's tiles, for every input channel b */
static void input_transform(const wconv_layout *L, uint32_t nb, const float *maps, size_t r0, size_t nr,
                            float *V)
{
    for (uint32_t b = 0; b < nb; b++)
        for (size_t row = r0; row < r0 + nr; row++)
            for (uint32_t tx0 = 0; tx0 < L->tw; tx0 += 16) {
                const float *p = maps + (size_t)b * L->len + L->guard + row / L->th * L->hwp +
                                 (size_t)2 * (row % L->th) * L->wp + (size_t)2 * tx0;
                v16f t[4][4];
                for (int r = 0; r < 4; r++) {
                    const float *q = p + (size_t)r * L->wp;
                    const v16f a0 = ld16(q), a1 = ld16(q + 16), b0 = ld16(q + 2), b1 = ld16(q + 18);
                    const v16f d0 = __builtin_shufflevector(a0, a1, EVENS);
                    const v16f d1 = __builtin_shufflevector(a0, a1, ODDS);
                    const v16f d2 = __builtin_shufflevector(b0, b1, EVENS);
                    const v16f d3 = __builtin_shufflevector(b0, b1, ODDS);
                    t[r][0] = d0 - d2;
                    t[r][1] = d1 + d2;
                    t[r][2] = d2 - d1;
                    t[r][3] = d1 - d3;
                }
                const uint32_t mask = step_mask(L, tx0);
                float *v = V + (size_t)b * L->tg + (row - r0) * L->tw + tx0;
                for (size_t j = 0; j < 4; j++) {
                    st16_mask(v + (0 + j) * L->vs, mask, t[0][j] - t[2][j]);
                    st16_mask(v + (4 + j) * L->vs, mask, t[1][j] + t[2][j]);
                    st16_mask(v + (8 + j) * L->vs, mask, t[2][j] - t[1][j]);
                    st16_mask(v + (12 + j) * L->vs, mask, t[1][j] - t[3][j]);
                }
            }
}

/* M[xi][a][0..gv) = sum over b of U[xi][a][b] V[xi][b][0..gv), gv a multiple of 32 */
static void gemm(const wconv_layout *L, const float *pk, uint32_t na, uint32_t nb, const float *V, size_t gv,
                 float *M)
{
    const uint32_t nblk = (na + OB - 1) / OB;
    const size_t tg = L->tg;
    for (size_t xi = 0; xi < 16; xi++) {
        const float *Vx = V + xi * L->vs;
        float *Mx = M + xi * L->ms;
        for (uint32_t blk = 0; blk < nblk; blk++)
            for (size_t tv = 0; tv < gv; tv += 32) {
                const float *wb = pk + (xi * nblk + blk) * nb * OB;
                v16f acc0[OB], acc1[OB];
                for (int j = 0; j < OB; j++) acc0[j] = acc1[j] = (v16f){0};
                for (uint32_t b = 0; b < nb; b++, wb += OB) {
                    const v16f x0 = ld16(Vx + (size_t)b * tg + tv), x1 = ld16(Vx + (size_t)b * tg + tv + 16);
#pragma GCC unroll 8
                    for (int j = 0; j < OB; j++) {
                        acc0[j] += wb[j] * x0;
                        acc1[j] += wb[j] * x1;
                    }
                }
                for (int j = 0; j < OB; j++) {
                    st16(Mx + ((size_t)blk * OB + j) * tg + tv, acc0[j]);
                    st16(Mx + ((size_t)blk * OB + j) * tg + tv + 16, acc1[j]);
                }
            }
    }
}

/* The 2x2 output tiles of the group's tile rows, every output channel a */
static void output_transform(const wconv_layout *L, uint32_t na, const float *M, size_t r0, size_t nr,
                             size_t N, size_t n0, uint32_t h, uint32_t w, float *out)
{
    const size_t hw = (size_t)h * w;
    for (uint32_t a = 0; a < na; a++)
        for (size_t row = r0; row < r0 + nr; row++)
            for (uint32_t tx0 = 0; tx0 < L->tw; tx0 += 16) {
                const uint32_t mask = step_mask(L, tx0), ty = (uint32_t)(row % L->th);
                const float *m = M + (size_t)a * L->tg + (row - r0) * L->tw + tx0;
                v16f r[4][2];
                for (size_t i = 0; i < 4; i++) {
                    const v16f m0 = ld16_mask(m + (i * 4 + 0) * L->ms, mask);
                    const v16f m1 = ld16_mask(m + (i * 4 + 1) * L->ms, mask);
                    const v16f m2 = ld16_mask(m + (i * 4 + 2) * L->ms, mask);
                    const v16f m3 = ld16_mask(m + (i * 4 + 3) * L->ms, mask);
                    r[i][0] = m0 + m1 + m2;
                    r[i][1] = m1 - m2 - m3;
                }
                /* output columns 2 tx0 + 0..31: the tiles' lane pairs, inside the map */
                const uint32_t x0 = 2 * tx0;
                const uint32_t m32 = w - x0 >= 32 ? 0xffffffffu : (1u << (w - x0)) - 1;
                float *o = out + ((size_t)a * N + n0 + row / L->th) * hw + (size_t)2 * ty * w + x0;
                for (uint32_t dy = 0; dy < 2 && 2 * ty + dy < h; dy++, o += w) {
                    v16f y0, y1;
                    if (dy == 0) {
                        y0 = r[0][0] + r[1][0] + r[2][0];
                        y1 = r[0][1] + r[1][1] + r[2][1];
                    } else {
                        y0 = r[1][0] - r[2][0] - r[3][0];
                        y1 = r[1][1] - r[2][1] - r[3][1];
                    }
                    st16_mask(o, m32 & 0xffff, __builtin_shufflevector(y0, y1, ZIP_LO));
                    st16_mask(o + 16, m32 >> 16, __builtin_shufflevector(y0, y1, ZIP_HI));
                }
            }
}

void snn_wconv_chunk(const float *in, uint32_t nb, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                     float pad, const float *pk, uint32_t na, float *out, float *ws)
{
    const wconv_layout L = layout(nb, na, h, w, cn);
    snn_dconv_pad_maps(in, nb, N, n0, cn, h, w, pad, L.guard, L.len, ws);
    float *V = ws + L.v, *M = ws + L.m;
    const size_t rows = (size_t)cn * L.th;
    for (size_t r0 = 0; r0 < rows; r0 += L.G) {
        const size_t nr = rows - r0 < L.G ? rows - r0 : L.G, gn = nr * L.tw, gv = up32(gn);
        input_transform(&L, nb, ws, r0, nr, V);
        /* The lanes past the group's last tile are computed, never stored;
         * they are zeroed once so as not to hold denormals or NaNs from the
         * workspace's earlier use (slow on some cores). A later, shorter
         * last group finds earlier groups' transformed values there. */
        if (gv > gn && r0 == 0)
            for (size_t xi = 0; xi < 16; xi++)
                for (uint32_t b = 0; b < nb; b++)
                    memset(V + xi * L.vs + (size_t)b * L.tg + gn, 0, (gv - gn) * sizeof(float));
        gemm(&L, pk, na, nb, V, gv, M);
        output_transform(&L, na, M, r0, nr, N, n0, h, w, out);
    }
}

/* ---- the weight gradient ------------------------------------------------------------ */

/*
 * The forward's gradient with respect to its kernel, by the transpose of
 * its algorithm (F(3x3, 2x2)): for W[a][b] (a = co, b = ci),
 *
 *     dW[a][b] = G^t S[a][b] G,   S[xi][b][a] = sum over tiles of
 *                (Bt d_b B)[xi] * (A dY_a At)[xi]
 *
 * with d_b a tile's 4x4 input patch, dY_a its 2x2 output gradient and
 * A = At^t. V is the forward's input transform (V[xi][b][t], vectors over
 * tiles); the output gradient goes pixel-major first (16x16 transposes),
 * so that Z[xi][t][a] = (A dY At)[xi] are vectors over a; the 16 GEMMs
 * S[xi][b][a] += sum over the group's tiles t of V[xi][b][t] Z[xi][t][a]
 * keep a block of 8 b x 32 a in registers for the whole group (a
 * broadcast of V, two loads of Z and sixteen FMAs per tile).
 */

typedef struct wdw_layout {
    wconv_layout L;  /* V over ci8 input channels, Z[16][tg][cop] where M was */
    uint32_t ci8, cop; /* cin rounded up to 8, cout to 32 */
    size_t dT, S, end; /* dout pixel-major [cn][h*w][cop]; S[16][ci8][cop] */
} wdw_layout;

static wdw_layout dw_layout(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t cn)
{
    wdw_layout D;
    D.ci8 = (cin + 7) & ~7u;
    D.cop = (cout + 31) & ~31u;
    D.L = layout(D.ci8, D.cop, h, w, cn);
    D.dT = D.L.end;
    D.S = D.dT + (size_t)cn * h * w * D.cop;
    D.end = D.S + (size_t)16 * D.ci8 * D.cop;
    return D;
}

size_t snn_wconv_dw_ws_floats(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t chunk)
{
    return dw_layout(cin, cout, h, w, chunk).end;
}

/* Z[xi][t][.] of the group's tiles from the pixel-major output gradient */
static void dout_transform(const wdw_layout *D, const float *dT, uint32_t h, uint32_t w, size_t r0, size_t nr,
                           float *Z)
{
    const wconv_layout *L = &D->L;
    const size_t hw = (size_t)h * w, cop = D->cop;
    for (size_t row = r0; row < r0 + nr; row++) {
        const uint32_t ty = (uint32_t)(row % L->th);
        const float *img = dT + row / L->th * hw * cop;
        for (uint32_t tx = 0; tx < L->tw; tx++) {
            const size_t t = (row - r0) * L->tw + tx;
            const float *p[2][2];
            for (uint32_t dy = 0; dy < 2; dy++)
                for (uint32_t dx = 0; dx < 2; dx++) {
                    const uint32_t y = 2 * ty + dy, x = 2 * tx + dx;
                    p[dy][dx] = y < h && x < w ? img + ((size_t)y * w + x) * cop : NULL;
                }
            for (size_t c = 0; c < cop; c += 16) {
                v16f y[2][2], u[2][4];
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) y[dy][dx] = p[dy][dx] ? ld16(p[dy][dx] + c) : (v16f){0};
                for (int dy = 0; dy < 2; dy++) { /* dY At along x */
                    u[dy][0] = y[dy][0];
                    u[dy][1] = y[dy][0] + y[dy][1];
                    u[dy][2] = y[dy][0] - y[dy][1];
                    u[dy][3] = -y[dy][1];
                }
                float *z = Z + t * cop + c;
                for (size_t j = 0; j < 4; j++) { /* A (.) along y */
                    st16(z + (0 + j) * L->ms, u[0][j]);
                    st16(z + (4 + j) * L->ms, u[0][j] + u[1][j]);
                    st16(z + (8 + j) * L->ms, u[0][j] - u[1][j]);
                    st16(z + (12 + j) * L->ms, -u[1][j]);
                }
            }
        }
    }
}

/* S[xi][b][a] += sum over t < gn of V[xi][b][t] Z[xi][t][a] */
static void dw_gemm(const wdw_layout *D, const float *V, const float *Z, size_t gn, float *S)
{
    const wconv_layout *L = &D->L;
    const size_t cop = D->cop, tg = L->tg;
    for (size_t xi = 0; xi < 16; xi++) {
        const float *Vx = V + xi * L->vs, *Zx = Z + xi * L->ms;
        float *Sx = S + xi * D->ci8 * cop;
        for (uint32_t b0 = 0; b0 < D->ci8; b0 += OB)
            for (size_t a0 = 0; a0 < cop; a0 += 32) {
                v16f acc0[OB], acc1[OB];
                for (int j = 0; j < OB; j++) {
                    acc0[j] = ld16(Sx + (b0 + (size_t)j) * cop + a0);
                    acc1[j] = ld16(Sx + (b0 + (size_t)j) * cop + a0 + 16);
                }
                const float *vb = Vx + (size_t)b0 * tg;
                for (size_t t = 0; t < gn; t++) {
                    const v16f z0 = ld16(Zx + t * cop + a0), z1 = ld16(Zx + t * cop + a0 + 16);
#pragma GCC unroll 8
                    for (int j = 0; j < OB; j++) {
                        const float v = vb[(size_t)j * tg + t];
                        acc0[j] += v * z0;
                        acc1[j] += v * z1;
                    }
                }
                for (int j = 0; j < OB; j++) {
                    st16(Sx + (b0 + (size_t)j) * cop + a0, acc0[j]);
                    st16(Sx + (b0 + (size_t)j) * cop + a0 + 16, acc1[j]);
                }
            }
    }
}

void snn_wconv_dw_chunk(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h, uint32_t w,
                        float pad, const float *dout, uint32_t cout, float *dw, float *ws)
{
    const wdw_layout D = dw_layout(cin, cout, h, w, cn);
    const wconv_layout *L = &D.L;
    const size_t hw = (size_t)h * w, cop = D.cop;
    snn_dconv_pad_maps(in, cin, N, n0, cn, h, w, pad, L->guard, L->len, ws);
    float *V = ws + L->v, *Z = ws + L->m, *dT = ws + D.dT, *S = ws + D.S;
    /* the output gradient pixel-major, 0 past cout */
    if (cop > cout) memset(dT, 0, (size_t)cn * hw * cop * sizeof(float));
    for (uint32_t n = 0; n < cn; n++)
        for (uint32_t c0 = 0; c0 < cout; c0 += 16)
            for (size_t p0 = 0; p0 < hw; p0 += 16)
                transpose16(dout + ((size_t)c0 * N + n0 + n) * hw + p0, N * hw, dT + ((size_t)n * hw + p0) * cop + c0,
                            cop, cout - c0 < 16 ? cout - c0 : 16, hw - p0 < 16 ? (uint32_t)(hw - p0) : 16);
    memset(S, 0, (size_t)16 * D.ci8 * cop * sizeof(float));
    /* V's rows past cin stay 0 (the input transform writes cin rows) */
    for (size_t xi = 0; xi < 16; xi++)
        memset(V + xi * L->vs + (size_t)cin * L->tg, 0, (size_t)(D.ci8 - cin) * L->tg * sizeof(float));
    const size_t rows = (size_t)cn * L->th;
    for (size_t r0 = 0; r0 < rows; r0 += L->G) {
        const size_t nr = rows - r0 < L->G ? rows - r0 : L->G;
        input_transform(L, cin, ws, r0, nr, V);
        dout_transform(&D, dT, h, w, r0, nr, Z);
        dw_gemm(&D, V, Z, nr * L->tw, S);
    }
    /* dW[a][b] = G^t S[.][b][a] G, 16 output channels a at a time */
    for (uint32_t b = 0; b < cin; b++)
        for (uint32_t a0 = 0; a0 < cout; a0 += 16) {
            v16f s[16], q[3][4], r[9];
            for (size_t xi = 0; xi < 16; xi++) s[xi] = ld16(S + (xi * D.ci8 + b) * cop + a0);
            for (int j = 0; j < 4; j++) { /* G^t along y */
                q[0][j] = s[0 + j] + 0.5f * (s[4 + j] + s[8 + j]);
                q[1][j] = 0.5f * (s[4 + j] - s[8 + j]);
                q[2][j] = 0.5f * (s[4 + j] + s[8 + j]) + s[12 + j];
            }
            for (int i = 0; i < 3; i++) { /* (.) G along x */
                r[i * 3 + 0] = q[i][0] + 0.5f * (q[i][1] + q[i][2]);
                r[i * 3 + 1] = 0.5f * (q[i][1] - q[i][2]);
                r[i * 3 + 2] = 0.5f * (q[i][1] + q[i][2]) + q[i][3];
            }
            const uint32_t na = cout - a0 < 16 ? cout - a0 : 16;
            for (uint32_t j = 0; j < na; j++)
                for (int k = 0; k < 9; k++) dw[((size_t)(a0 + j) * cin + b) * 9 + (size_t)k] = r[k][j];
        }
}
