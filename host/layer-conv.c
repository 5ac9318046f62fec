/*
 * layer-conv.c - 3x3 convolution as im2col + sgemm over the channel-major
 * multi-step batch, and the per-image gather/scatter of fc inputs.
 *
 * Layout [C][N][H][W] (train-impl.h). For a chunk of images n0..n0+cn-1 the
 * column matrix is col[Cin*9][cn*H*W], so the GEMM
 *
 *     out[Cout][n0*HW ...] = W[Cout][Cin*9] x col            (ldc = N*HW)
 *
 * writes the chunk's outputs in place. Chunks keep col a few MiB (cache
 * friendly) while the GEMM stays large (N dimension = cn*H*W >= ~10k).
 * Backward reuses the same chunks: dW += dout_chunk x col^T, and
 * dcol = W^T x dout_chunk followed by col2im.
 */
#include <cblas.h>
#include <string.h>

#include "train-impl.h"

uint32_t snn_conv_chunk(uint32_t cin, uint32_t hw)
{
    size_t per = (size_t)cin * 9 * hw; /* floats of col per image */
    size_t target = (size_t)1 << 20;   /* 4 MiB of floats */
    size_t c = target / per;
    if (c < 1) c = 1;
    if (c > 4096) c = 4096;
    return (uint32_t)c;
}

static void im2col(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h,
                   uint32_t w, float pad, float *col)
{
    const size_t hw = (size_t)h * w, cols = (size_t)cn * hw;
    for (uint32_t ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
                float *dst = col + ((size_t)ci * 9 + (size_t)ky * 3 + (size_t)kx) * cols;
                const int dy = ky - 1, dx = kx - 1;
                for (uint32_t n = 0; n < cn; n++) {
                    const float *src = in + ((size_t)ci * N + n0 + n) * hw;
                    float *d = dst + (size_t)n * hw;
                    for (uint32_t y = 0; y < h; y++) {
                        float *dr = d + (size_t)y * w;
                        int sy = (int)y + dy;
                        if (sy < 0 || sy >= (int)h) {
                            for (uint32_t x = 0; x < w; x++) dr[x] = pad;
                            continue;
                        }
                        const float *sr = src + (size_t)sy * w;
                        if (dx == 0) {
                            memcpy(dr, sr, w * sizeof(float));
                        } else if (dx < 0) {
                            dr[0] = pad;
                            memcpy(dr + 1, sr, (w - 1) * sizeof(float));
                        } else {
                            memcpy(dr, sr + 1, (w - 1) * sizeof(float));
                            dr[w - 1] = pad;
                        }
                    }
                }
            }
        }
    }
}

/* din[ci][n0..][..] += col2im(col); the caller zeroes the chunk first. */
static void col2im_add(const float *col, uint32_t cin, size_t N, size_t n0, uint32_t cn,
                       uint32_t h, uint32_t w, float *din)
{
    const size_t hw = (size_t)h * w, cols = (size_t)cn * hw;
    for (uint32_t ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
                const float *src = col + ((size_t)ci * 9 + (size_t)ky * 3 + (size_t)kx) * cols;
                const int dy = ky - 1, dx = kx - 1;
                for (uint32_t n = 0; n < cn; n++) {
                    float *d = din + ((size_t)ci * N + n0 + n) * hw;
                    const float *s = src + (size_t)n * hw;
                    for (uint32_t y = 0; y < h; y++) {
                        int sy = (int)y + dy;
                        if (sy < 0 || sy >= (int)h) continue;
                        const float *sr = s + (size_t)y * w;
                        float *dr = d + (size_t)sy * w;
                        if (dx == 0) {
                            for (uint32_t x = 0; x < w; x++) dr[x] += sr[x];
                        } else if (dx < 0) {
                            for (uint32_t x = 1; x < w; x++) dr[x - 1] += sr[x];
                        } else {
                            for (uint32_t x = 0; x + 1 < w; x++) dr[x + 1] += sr[x];
                        }
                    }
                }
            }
        }
    }
}

void snn_conv_forward(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                      const float *wt, uint32_t cout, float *out, float *col, uint32_t chunk)
{
    const size_t hw = (size_t)h * w, K = (size_t)cin * 9;
    for (uint32_t n0 = 0; n0 < n; n0 += chunk) {
        uint32_t cn = n - n0 < chunk ? n - n0 : chunk;
        im2col(in, cin, n, n0, cn, h, w, pad, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cout, (int)(cn * hw), (int)K,
                    1.0f, wt, (int)K, col, (int)(cn * hw), 0.0f, out + (size_t)n0 * hw,
                    (int)((size_t)n * hw));
    }
}

void snn_conv_backward(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                       const float *wt, uint32_t cout, const float *dout, float *dw, float *din,
                       float *col, uint32_t chunk)
{
    const size_t hw = (size_t)h * w, K = (size_t)cin * 9;
    for (uint32_t n0 = 0; n0 < n; n0 += chunk) {
        uint32_t cn = n - n0 < chunk ? n - n0 : chunk;
        im2col(in, cin, n, n0, cn, h, w, pad, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cout, (int)K, (int)(cn * hw),
                    1.0f, dout + (size_t)n0 * hw, (int)((size_t)n * hw), col, (int)(cn * hw),
                    n0 ? 1.0f : 0.0f, dw, (int)K);
        if (!din) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)(cn * hw), (int)cout,
                    1.0f, wt, (int)K, dout + (size_t)n0 * hw, (int)((size_t)n * hw), 0.0f, col,
                    (int)(cn * hw));
        for (uint32_t ci = 0; ci < cin; ci++)
            memset(din + ((size_t)ci * n + n0) * hw, 0, (size_t)cn * hw * sizeof(float));
        col2im_add(col, cin, n, n0, cn, h, w, din);
    }
}

void snn_gather_images(const float *in, uint32_t c, uint32_t n, uint32_t hw, float *xt)
{
    const size_t in_n = (size_t)c * hw;
    for (uint32_t ch = 0; ch < c; ch++)
        for (uint32_t i = 0; i < n; i++)
            memcpy(xt + (size_t)i * in_n + (size_t)ch * hw, in + ((size_t)ch * n + i) * hw,
                   hw * sizeof(float));
}

void snn_scatter_images(const float *xt, uint32_t c, uint32_t n, uint32_t hw, float *out)
{
    const size_t in_n = (size_t)c * hw;
    for (uint32_t ch = 0; ch < c; ch++)
        for (uint32_t i = 0; i < n; i++)
            memcpy(out + ((size_t)ch * n + i) * hw, xt + (size_t)i * in_n + (size_t)ch * hw,
                   hw * sizeof(float));
}
