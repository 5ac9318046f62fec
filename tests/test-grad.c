/*
 * test-grad.c - analytic gradients of the trainer's layers against
 * independent references.
 *
 * Smooth parts (conv, BN, pool with distinct inputs, the MPBN normalisation,
 * the output fc + cross-entropy) are checked against central finite
 * differences of the float kernels. The losses are linear functionals
 * L = sum(r * y) of a layer's output, so dL/dy = r exactly; with inputs of
 * order 1, a step h = 1e-2 and float32 arithmetic the FD error is about
 * eps_f32 * |L| / h + O(h^2) ~ 1e-4 relative, so 2e-2 relative (plus a small
 * absolute floor) is a safe yet meaningful bound: a wrong term is O(1).
 *
 * The spike function is a step, so finite differences of the LIF recurrence
 * measure the true (zero almost everywhere) derivative, not the surrogate
 * one. The BPTT backward is therefore checked against forward-mode
 * differentiation (a Jacobian-vector product) of a separate double-precision
 * reimplementation of the forward pass in which the step's derivative is
 * replaced by the rectangular surrogate: for random directions v,
 * <grad_BPTT, v> must equal the JVP. The two codes share no structure
 * (reverse vs forward mode), so an error in either the reset path, the leak,
 * the MPBN batch-statistics terms or the surrogate window shows up.
 *
 * The spike-count regulariser (--rate-reg X, loss CE + X R with R the
 * fan-out-weighted firing rate) is checked the same way on a whole small
 * network: the smooth part of each layer (fc + BN) by central finite
 * differences of the trainer's own forward, the LIF layers by the
 * surrogate forward-mode reference, chained layer by layer; the result must
 * equal <dR/dW, V> from snn_model_backward for random weight directions V.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "train/train-impl.h"

static uint64_t rng_state = 12345;
static float frand(void) { return (float)(2.0 * snn_rng_uniform(&rng_state) - 1.0); }
static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) x[i] = scale * frand();
}
static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static void check_close(double analytic, double fd, double rel, double abs_tol, const char *what,
                        size_t i)
{
    double err = fabs(analytic - fd), tol = abs_tol + rel * fmax(fabs(analytic), fabs(fd));
    if (!(err <= tol)) /* a NaN fails too */
        fail_msg("%s[%zu]: analytic %.6g vs reference %.6g (tol %.3g)", what, i, analytic, fd, tol);
}

/* ---- conv --------------------------------------------------------------------------- */

/* The forward 3x3 conv in double, `pad` outside the map. */
static void conv_fwd_ref(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                         const float *wt, uint32_t cout, double *out)
{
    for (uint32_t co = 0; co < cout; co++)
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++) {
                    double s = 0;
                    for (uint32_t ci = 0; ci < cin; ci++)
                        for (int k = 0; k < 9; k++) {
                            const int yy = (int)y + k / 3 - 1, xx = (int)x + k % 3 - 1;
                            const double v = yy < 0 || yy >= (int)h || xx < 0 || xx >= (int)w
                                                 ? pad
                                                 : in[(((size_t)ci * n + i) * h + (size_t)yy) * w + (size_t)xx];
                            s += v * wt[((size_t)co * cin + ci) * 9 + (size_t)k];
                        }
                    out[(((size_t)co * n + i) * h + y) * w + x] = s;
                }
}

static void test_conv(void **state)
{
    (void)state;
    const uint32_t cin = 2, cout = 3, n = 3, h = 5, w = 4;
    const float pad = 0.3f;
    const size_t nin = (size_t)cin * n * h * w, nout = (size_t)cout * n * h * w, nw = (size_t)cout * cin * 9;
    uint32_t chunk, tasks;
    size_t colf;
    snn_conv_plan(cin, cout, h, w, n, &chunk, &tasks, &colf);
    float *in = malloc(nin * 4), *out = malloc(nout * 4), *r = malloc(nout * 4), *wt = malloc(nw * 4);
    float *dw = malloc(nw * 4), *din = malloc(nin * 4), *col = malloc(colf * snn_par_threads() * 4);
    float *dwp = malloc((size_t)tasks * nw * 4);
    fill(in, nin, 1);
    fill(wt, nw, 1);
    fill(r, nout, 1);
    snn_conv_forward(in, cin, n, h, w, pad, 0, wt, cout, out, col);
    /* direct convolution as reference for the forward */
    double *ro = malloc(nout * 8);
    conv_fwd_ref(in, cin, n, h, w, pad, wt, cout, ro);
    for (size_t i = 0; i < nout; i++) check_close(out[i], ro[i], 1e-5, 1e-5, "conv fwd", i);
    free(ro);
    snn_conv_backward(in, cin, n, h, w, pad, 0, wt, cout, r, dw, dwp, din, col);
    const float eps = 1e-2f;
    for (size_t i = 0; i < nw; i++) {
        float k = wt[i];
        wt[i] = k + eps;
        snn_conv_forward(in, cin, n, h, w, pad, 0, wt, cout, out, col);
        double lp = dot(out, r, nout);
        wt[i] = k - eps;
        snn_conv_forward(in, cin, n, h, w, pad, 0, wt, cout, out, col);
        double lm = dot(out, r, nout);
        wt[i] = k;
        check_close(dw[i], (lp - lm) / (2 * eps), 2e-2, 1e-3, "conv dW", i);
    }
    for (size_t i = 0; i < nin; i++) {
        float k = in[i];
        in[i] = k + eps;
        snn_conv_forward(in, cin, n, h, w, pad, 0, wt, cout, out, col);
        double lp = dot(out, r, nout);
        in[i] = k - eps;
        snn_conv_forward(in, cin, n, h, w, pad, 0, wt, cout, out, col);
        double lm = dot(out, r, nout);
        in[i] = k;
        check_close(din[i], (lp - lm) / (2 * eps), 2e-2, 1e-3, "conv dX", i);
    }
    free(in); free(out); free(r); free(wt); free(dw); free(din); free(col); free(dwp);
}

/* ---- conv of a spike input (the event-driven path, layer-conv-spike.c) --------------- */

/* Direct convolution in double with zero padding: forward, dW and dX. */
static void conv_ref(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w,
                     const float *wt, uint32_t cout, const float *r, double *out, double *dw, double *din)
{
    const size_t nw = (size_t)cout * cin * 9;
    memset(dw, 0, nw * sizeof *dw);
    memset(din, 0, (size_t)cin * n * h * w * sizeof *din);
    for (uint32_t co = 0; co < cout; co++)
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++) {
                    const size_t o = (((size_t)co * n + i) * h + y) * w + x;
                    double s = 0;
                    for (uint32_t ci = 0; ci < cin; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                const int yy = (int)y + ky - 1, xx = (int)x + kx - 1;
                                if (yy < 0 || yy >= (int)h || xx < 0 || xx >= (int)w) continue;
                                const size_t ii = (((size_t)ci * n + i) * h + (size_t)yy) * w + (size_t)xx;
                                const size_t wi = ((size_t)co * cin + ci) * 9 + (size_t)(ky * 3 + kx);
                                s += (double)in[ii] * wt[wi];
                                dw[wi] += (double)r[o] * in[ii];
                                din[ii] += (double)r[o] * wt[wi];
                            }
                    out[o] = s;
                }
}

/* dW of the conv over images first..n-1 only, in double */
static void dw_ref(const float *in, uint32_t cin, uint32_t n, uint32_t first, uint32_t h, uint32_t w,
                   const float *r, uint32_t cout, double *dw)
{
    memset(dw, 0, (size_t)cout * cin * 9 * sizeof *dw);
    for (uint32_t co = 0; co < cout; co++)
        for (uint32_t ci = 0; ci < cin; ci++)
            for (int k = 0; k < 9; k++)
                for (uint32_t i = first; i < n; i++)
                    for (uint32_t y = 0; y < h; y++)
                        for (uint32_t x = 0; x < w; x++) {
                            const int yy = (int)y + k / 3 - 1, xx = (int)x + k % 3 - 1;
                            if (yy < 0 || yy >= (int)h || xx < 0 || xx >= (int)w) continue;
                            dw[((size_t)co * cin + ci) * 9 + (size_t)k] +=
                                (double)r[(((size_t)co * n + i) * h + y) * w + x] *
                                in[(((size_t)ci * n + i) * h + (size_t)yy) * w + (size_t)xx];
                        }
}

/* Shapes that cover: one and two 64-channel words (a partial last word),
 * output rows padded to 16 floats, more than 64 outputs (two register
 * blocks), a 1x1 map (all neighbours padding), no spike at all, and the
 * default network's conv 2 at a realistic rate. Each shape runs the chunk
 * functions directly (so the spike path is certainly taken) and the layer
 * entry points with spikes = 1 (the path taken by the trainer: dense above
 * the rate limit, so the 0.9 case goes through the GEMM). */
static void test_conv_spikes(void **state)
{
    (void)state;
    static const struct { uint32_t cin, cout, n, h, w; double rate; } shp[] = {
        {3, 5, 3, 5, 4, 0.3},  {70, 20, 2, 6, 7, 0.25}, {64, 80, 2, 3, 3, 0.2}, {1, 1, 2, 1, 1, 0.5},
        {5, 17, 2, 4, 3, 0.0}, {32, 32, 3, 28, 28, 0.15}, {9, 7, 2, 5, 5, 0.9},
    };
    for (size_t sI = 0; sI < sizeof shp / sizeof shp[0]; sI++) {
        const uint32_t cin = shp[sI].cin, cout = shp[sI].cout, n = shp[sI].n, h = shp[sI].h, w = shp[sI].w;
        const size_t nin = (size_t)cin * n * h * w, nout = (size_t)cout * n * h * w, nw = (size_t)cout * cin * 9;
        uint32_t chunk, tasks;
        size_t colf;
        snn_conv_plan(cin, cout, h, w, n, &chunk, &tasks, &colf);
        assert_true(colf >= snn_sconv_ws_floats(cin, cout, h, w, chunk) && colf % 16 == 0);
        float *in = malloc(nin * 4), *out = malloc(nout * 4), *r = malloc(nout * 4), *wt = malloc(nw * 4);
        float *dw = malloc(nw * 4), *din = malloc(nin * 4), *dwp = malloc((size_t)(tasks + 1) * nw * 4);
        float *col = NULL, *wk = malloc(snn_sconv_wk_floats(cin, cout) * 4);
        size_t colall = snn_sconv_ws_floats(cin, cout, h, w, n);
        if (colall < colf * snn_par_threads()) colall = colf * snn_par_threads();
        assert_int_equal(posix_memalign((void **)&col, 64, colall * 4), 0);
        double *ro = malloc(nout * 8), *rdw = malloc(nw * 8), *rdin = malloc(nin * 8);
        size_t ones = 0;
        for (size_t i = 0; i < nin; i++) {
            in[i] = snn_rng_uniform(&rng_state) < shp[sI].rate ? 1.0f : 0.0f;
            ones += in[i] != 0.0f;
        }
        fill(wt, nw, 1);
        fill(r, nout, 1);
        conv_ref(in, cin, n, h, w, wt, cout, r, ro, rdw, rdin);

        /* the chunk functions on all n images at once */
        assert_int_equal(snn_sconv_pack(in, cin, n, 0, n, h, w, col), ones);
        snn_sconv_weights(wt, cin, cout, wk);
        for (size_t i = 0; i < nout; i++) out[i] = NAN;
        snn_sconv_forward_chunk(cin, n, 0, n, h, w, wk, cout, out, col);
        for (size_t i = 0; i < nout; i++) check_close(out[i], ro[i], 1e-5, 1e-5, "spike conv fwd", i);
        assert_int_equal(snn_sconv_count(in, cin, n, 0, n, (size_t)h * w), ones);
        assert_int_equal(snn_sconv_dw_chunk(in, cin, n, 0, n, h, w, cout, r, dw, col), ones);
        for (size_t i = 0; i < nw; i++) check_close(dw[i], rdw[i], 1e-5, 1e-4, "spike conv dW", i);
        /* a chunk inside the batch: images 1..n-1 only */
        if (n > 1) {
            for (size_t i = 0; i < nout; i++) out[i] = NAN;
            assert_true(snn_sconv_pack(in, cin, n, 1, n - 1, h, w, col) <= ones);
            snn_sconv_forward_chunk(cin, n, 1, n - 1, h, w, wk, cout, out, col);
            for (uint32_t co = 0; co < cout; co++)
                for (size_t j = 0; j < (size_t)h * w; j++) {
                    const size_t o0 = ((size_t)co * n) * h * w + j;
                    assert_true(isnan(out[o0]));
                    for (uint32_t i = 1; i < n; i++) {
                        const size_t o = o0 + (size_t)i * h * w;
                        check_close(out[o], ro[o], 1e-5, 1e-5, "spike conv fwd, chunk", o);
                    }
                }
        }

        /* the layer entry points */
        snn_conv_forward(in, cin, n, h, w, 0.0f, 1, wt, cout, out, col);
        for (size_t i = 0; i < nout; i++) check_close(out[i], ro[i], 1e-5, 1e-5, "conv fwd, spikes", i);
        snn_conv_backward(in, cin, n, h, w, 0.0f, 1, wt, cout, r, dw, dwp, din, col);
        for (size_t i = 0; i < nw; i++) check_close(dw[i], rdw[i], 1e-5, 1e-4, "conv dW, spikes", i);
        for (size_t i = 0; i < nin; i++) check_close(din[i], rdin[i], 1e-5, 1e-4, "conv dX, spikes", i);
        free(in); free(out); free(r); free(wt); free(dw); free(din); free(dwp); free(col); free(wk);
        free(ro); free(rdw); free(rdin);
    }
}

/* The dense convs of layer-conv-direct.c and layer-conv-winograd.c */
static const int dense_modes[] = {SNN_DENSE_DIRECT, SNN_DENSE_WINOGRAD};

/* One dense conv of images first..n-1 from `in` (nb channels) into `out`
 * (na channels): the forward (for_din 0: W is na x nb) or the input
 * gradient (1: W is nb x na); the images before `first` stay NaN, the
 * others match the reference. */
static void direct_case(const snn_dense_kernel *dc, const float *in, uint32_t nb, const float *wt, uint32_t na,
                        uint32_t n, uint32_t h, uint32_t w, uint32_t first, int for_din, float *pk, float *ws,
                        float *out, const double *ref, const char *what)
{
    const size_t hw = (size_t)h * w, nout = (size_t)na * n * hw;
    if (for_din) dc->weights(wt, nb, na, 1, pk);
    else dc->weights(wt, na, nb, 0, pk);
    for (size_t i = 0; i < nout; i++) out[i] = NAN;
    dc->chunk(in, nb, n, first, n - first, h, w, 0.0f, pk, na, out, ws);
    char msg[96];
    snprintf(msg, sizeof msg, "%s: %s", dc->name, what);
    /* float rounding grows with the 9 nb terms of a sum (~0.25 each here) */
    const double tol = fmax(1e-5, 3e-8 * 9 * nb);
    for (uint32_t a = 0; a < na; a++)
        for (uint32_t i = 0; i < n; i++)
            for (size_t j = 0; j < hw; j++) {
                const size_t o = ((size_t)a * n + i) * hw + j;
                if (i < first) assert_true(isnan(out[o]));
                else check_close(out[o], ref[o], 1e-5, for_din ? fmax(tol, 1e-4) : tol, msg, o);
            }
}

/* The dense convs, direct (layer-conv-direct.c) and Winograd
 * (layer-conv-winograd.c): the forward with zero and non-zero padding, the
 * input gradient and (Winograd) the weight gradient, against the
 * double-precision convolution, on all images and on a chunk inside the
 * batch (the other images' outputs untouched). Shapes: output counts not a
 * multiple of the 8-output block, maps narrower and wider than a vector
 * (Winograd: more than 16 tiles a row, several groups of tile rows per
 * chunk), odd sides (a half tile), a 1x1 map, a single input channel (the
 * first layer), the default net's conv 2 and conv 3 input gradient, 260
 * input channels (a group budget below one tile row: clamped to a row). */
static void test_conv_direct(void **state)
{
    (void)state;
    static const struct { uint32_t cin, cout, n, h, w; } shp[] = {
        {3, 5, 3, 5, 4}, {20, 13, 2, 6, 7}, {1, 32, 3, 28, 28}, {2, 3, 2, 1, 1},
        {4, 9, 2, 3, 19}, {32, 32, 3, 28, 28}, {7, 16, 3, 14, 14}, {9, 10, 2, 9, 37},
        {32, 64, 3, 14, 14}, {5, 6, 3, 2, 66}, {3, 17, 2, 17, 1}, {260, 12, 2, 5, 9},
    };
    for (size_t sI = 0; sI < sizeof shp / sizeof shp[0]; sI++)
        for (size_t di = 0; di < sizeof dense_modes / sizeof dense_modes[0]; di++) {
            const snn_dense_kernel *dc = snn_dense_kernel_of(dense_modes[di]);
            const uint32_t cin = shp[sI].cin, cout = shp[sI].cout, n = shp[sI].n, h = shp[sI].h, w = shp[sI].w;
            const uint32_t cmax = cout > cin ? cout : cin;
            const size_t hw = (size_t)h * w, nin = (size_t)cin * n * hw, nout = (size_t)cout * n * hw;
            const size_t nw = (size_t)cout * cin * 9;
            float *in = malloc(nin * 4), *out = malloc(nout * 4), *r = malloc(nout * 4), *wt = malloc(nw * 4);
            float *din = malloc(nin * 4);
            const size_t np = dc->pk_floats(cmax, cmax);
            float *pk = malloc(np * 4);
            size_t nws = dc->ws_floats(cmax, cmax, h, w, n);
            if (snn_wconv_dw_ws_floats(cin, cout, h, w, n) > nws) nws = snn_wconv_dw_ws_floats(cin, cout, h, w, n);
            float *ws = malloc(nws * 4);
            double *ro = malloc(nout * 8), *rdw = malloc(nw * 8), *rdin = malloc(nin * 8);
            fill(in, nin, 1);
            fill(wt, nw, 1);
            fill(r, nout, 1);
            conv_ref(in, cin, n, h, w, wt, cout, r, ro, rdw, rdin);
            assert_true(dc->pk_floats(cout, cin) <= np && dc->pk_floats(cin, cout) <= np);
            assert_true(dc->ws_floats(cin, cout, h, w, n) <= nws && dc->ws_floats(cout, cin, h, w, n) <= nws);
            for (uint32_t first = 0; first < 2; first++) {
                /* forward, then input gradient: all images, then images 1..n-1 */
                direct_case(dc, in, cin, wt, cout, n, h, w, first, 0, pk, ws, out, ro, "dense conv fwd");
                direct_case(dc, r, cout, wt, cin, n, h, w, first, 1, pk, ws, din, rdin, "dense conv dX");
            }
            if (di == 1) { /* the Winograd weight gradient: all images, then images 1..n-1 */
                float *dw = malloc(nw * 4);
                double *rw = malloc(nw * 8);
                for (uint32_t first = 0; first < 2; first++) {
                    for (size_t i = 0; i < nw; i++) dw[i] = NAN;
                    snn_wconv_dw_chunk(in, cin, n, first, n - first, h, w, 0.0f, r, cout, dw, ws);
                    dw_ref(in, cin, n, first, h, w, r, cout, rw);
                    for (size_t i = 0; i < nw; i++)
                        check_close(dw[i], rw[i], 1e-5, fmax(1e-4, 3e-8 * 9 * hw * n), "winograd dW", i);
                }
                free(dw);
                free(rw);
            }
            /* padding with a value: the same as the input surrounded by it */
            const float pv = 0.75f;
            dc->weights(wt, cout, cin, 0, pk);
            dc->chunk(in, cin, n, 0, n, h, w, pv, pk, cout, out, ws);
            conv_fwd_ref(in, cin, n, h, w, pv, wt, cout, ro);
            for (size_t i = 0; i < nout; i++)
                check_close(out[i], ro[i], 1e-5, fmax(1e-5, 3e-8 * 9 * cin), dc->name, i);
            free(in); free(out); free(r); free(wt); free(din); free(pk); free(ws);
            free(ro); free(rdw); free(rdin);
        }
}

/* ---- BN ------------------------------------------------------------------------------ */

/* L = sum_rep sum r * (gamma * (z - mean) * istd + beta) with batch stats. */
static double bn_loss(const float *z, uint32_t c, uint32_t nz, uint32_t reps, uint32_t hw,
                      const float *g, const float *b, const float *r)
{
    const size_t per = (size_t)nz * hw;
    float mean[8], istd[8], rm[8] = {0}, rv[8] = {0};
    snn_bn_forward_stats(z, c, per, 1, per * reps, 0.1f, 1e-5f, rm, rv, mean, istd);
    double L = 0;
    for (uint32_t ch = 0; ch < c; ch++)
        for (uint32_t rep = 0; rep < reps; rep++)
            for (size_t i = 0; i < per; i++)
                L += (double)r[((size_t)ch * reps + rep) * per + i] *
                     (g[ch] * (z[ch * per + i] - mean[ch]) * istd[ch] + b[ch]);
    return L;
}

static void bn_case(uint32_t reps)
{
    const uint32_t c = 3, nz = 4, hw = 5;
    const size_t per = (size_t)nz * hw, nzt = c * per, ny = nzt * reps;
    float *z = malloc(nzt * 4), *r = malloc(ny * 4), *dz = malloc(nzt * 4), *dy = malloc(ny * 4);
    float g[3], b[3], mean[3], istd[3], rm[3] = {0}, rv[3] = {0}, dg[3] = {0}, db[3] = {0};
    fill(z, nzt, 1.5f);
    for (size_t i = 0; i < nzt; i++) z[i] += 0.7f; /* non-zero mean */
    fill(r, ny, 1);
    fill(g, c, 1);
    fill(b, c, 1);
    snn_bn_forward_stats(z, c, per, 1, per * reps, 0.1f, 1e-5f, rm, rv, mean, istd);
    memcpy(dy, r, ny * 4);
    snn_bn_backward(z, dy, c, nz, reps, hw, g, mean, istd, reps == 1 ? dy : dz, dg, db);
    if (reps == 1) memcpy(dz, dy, nzt * 4);
    const float eps = 1e-2f;
    for (size_t i = 0; i < nzt; i++) {
        float k = z[i];
        z[i] = k + eps;
        double lp = bn_loss(z, c, nz, reps, hw, g, b, r);
        z[i] = k - eps;
        double lm = bn_loss(z, c, nz, reps, hw, g, b, r);
        z[i] = k;
        check_close(dz[i], (lp - lm) / (2 * eps), 2e-2, 2e-3, "bn dz", i);
    }
    for (uint32_t ch = 0; ch < c; ch++) {
        float k = g[ch];
        g[ch] = k + eps;
        double lp = bn_loss(z, c, nz, reps, hw, g, b, r);
        g[ch] = k - eps;
        double lm = bn_loss(z, c, nz, reps, hw, g, b, r);
        g[ch] = k;
        check_close(dg[ch], (lp - lm) / (2 * eps), 2e-2, 2e-3, "bn dgamma", ch);
        k = b[ch];
        b[ch] = k + eps;
        lp = bn_loss(z, c, nz, reps, hw, g, b, r);
        b[ch] = k - eps;
        lm = bn_loss(z, c, nz, reps, hw, g, b, r);
        b[ch] = k;
        check_close(db[ch], (lp - lm) / (2 * eps), 2e-2, 2e-3, "bn dbeta", ch);
    }
    /* running statistics: PyTorch conventions (momentum 0.1, unbiased variance) */
    for (uint32_t ch = 0; ch < c; ch++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < per; i++) s += z[ch * per + i];
        double mu = s / per;
        for (size_t i = 0; i < per; i++) ss += (z[ch * per + i] - mu) * (z[ch * per + i] - mu);
        size_t cnt = per * reps;
        double var_unb = ss * reps / (double)(cnt - 1);
        check_close(rm[ch], 0.1 * mu, 1e-5, 1e-6, "bn running_mean", ch);
        check_close(rv[ch], 0.1 * var_unb, 1e-4, 1e-6, "bn running_var", ch);
    }
    free(z); free(r); free(dz); free(dy);
}

static void test_bn(void **state) { (void)state; bn_case(1); }
static void test_bn_shared_over_time(void **state) { (void)state; bn_case(3); }

/* ---- max-pool ------------------------------------------------------------------------------ */

static void test_pool(void **state)
{
    (void)state;
    const uint32_t c = 2, n = 3, h = 5, w = 6; /* odd h: floor drops the last row */
    const size_t nin = (size_t)c * n * h * w, nout = (size_t)c * n * (h / 2) * (w / 2);
    float *in = malloc(nin * 4), *out = malloc(nout * 4), *r = malloc(nout * 4), *din = malloc(nin * 4);
    uint8_t *arg = malloc(nout);
    for (size_t i = 0; i < nin; i++) in[i] = (float)((i * 7919) % 1000) / 100.0f; /* distinct */
    fill(r, nout, 1);
    snn_pool_forward(in, c, n, h, w, out, arg);
    snn_pool_backward(r, arg, c, n, h, w, din);
    const float eps = 1e-3f;
    for (size_t i = 0; i < nin; i++) {
        float k = in[i];
        in[i] = k + eps;
        snn_pool_forward(in, c, n, h, w, out, arg);
        double lp = dot(out, r, nout);
        in[i] = k - eps;
        snn_pool_forward(in, c, n, h, w, out, arg);
        double lm = dot(out, r, nout);
        in[i] = k;
        check_close(din[i], (lp - lm) / (2 * eps), 2e-2, 1e-3, "pool dX", i);
    }
    /* ties between spikes: the gradient goes to the first maximum only */
    float sp[4] = {0, 1, 1, 0}, o1, g1 = 1.0f, d4[4];
    uint8_t a1;
    snn_pool_forward(sp, 1, 1, 2, 2, &o1, &a1);
    snn_pool_backward(&g1, &a1, 1, 1, 2, 2, d4);
    assert_true(o1 == 1.0f && d4[0] == 0 && d4[1] == 1 && d4[2] == 0 && d4[3] == 0);
    /* every window of spikes: the maximum, and the first position that holds it */
    for (uint32_t bits = 0; bits < 16; bits++) {
        for (int k = 0; k < 4; k++) sp[k] = (float)(bits >> k & 1);
        snn_pool_forward(sp, 1, 1, 2, 2, &o1, &a1);
        const int want = bits ? __builtin_ctz(bits) : 0;
        assert_true(o1 == (bits ? 1.0f : 0.0f));
        assert_int_equal(a1, want);
    }
    free(in); free(out); free(r); free(din); free(arg);
}

/* The pooling kernels against a plain loop, on shapes with more than 16
 * windows a row (two vector blocks), odd sides (a row and column outside
 * every window) and maps smaller than a window; spikes (ties everywhere)
 * and floats with repeated values. din starts as NaN: every position must
 * be written (the gradient, or 0). */
static void test_pool_shapes(void **state)
{
    (void)state;
    static const uint32_t shp[][2] = {{28, 28}, {14, 14}, {7, 7}, {5, 35}, {3, 34},
                                      {1, 1},   {2, 1},   {1, 3}, {4, 66}};
    const uint32_t c = 2, n = 3;
    for (size_t si = 0; si < sizeof shp / sizeof shp[0]; si++)
        for (int spikes = 0; spikes < 2; spikes++) {
            const uint32_t h = shp[si][0], w = shp[si][1], oh = h / 2, ow = w / 2;
            const size_t nin = (size_t)c * n * h * w, nout = (size_t)c * n * oh * ow;
            float *in = malloc(nin * 4 + 4), *out = malloc(nout * 4 + 4), *g = malloc(nout * 4 + 4);
            float *din = malloc(nin * 4 + 4);
            uint8_t *arg = malloc(nout + 1);
            for (size_t i = 0; i < nin; i++)
                in[i] = spikes ? (float)(snn_rng_uniform(&rng_state) < 0.3)
                               : (float)(int)(4 * snn_rng_uniform(&rng_state)) - 1.5f;
            fill(g, nout, 1);
            for (size_t i = 0; i < nin; i++)
                din[i] = NAN;
            snn_pool_forward(in, c, n, h, w, out, arg);
            snn_pool_backward(g, arg, c, n, h, w, din);
            for (size_t cn = 0; cn < (size_t)c * n; cn++) {
                const float *src = in + cn * h * w, *gi = g + cn * oh * ow;
                const float *o = out + cn * oh * ow, *d = din + cn * h * w;
                const uint8_t *a = arg + cn * oh * ow;
                for (uint32_t y = 0; y < h; y++)
                    for (uint32_t x = 0; x < w; x++) {
                        const uint32_t wy = y / 2, wx = x / 2;
                        float want = 0.0f;
                        if (wy < oh && wx < ow) {
                            const float *r0 = src + (size_t)(2 * wy) * w + 2 * wx, *r1 = r0 + w;
                            const float win[4] = {r0[0], r0[1], r1[0], r1[1]};
                            int k = 0;
                            for (int j = 1; j < 4; j++)
                                if (win[j] > win[k]) k = j;
                            assert_true(o[wy * ow + wx] == win[k]);
                            assert_int_equal(a[wy * ow + wx], k);
                            if ((int)((y & 1) * 2 + (x & 1)) == k) want = gi[wy * ow + wx];
                        }
                        if (!(d[(size_t)y * w + x] == want)) {
                            print_error("pool din (%u,%u) of %ux%u: %g, want %g\n", y, x, h, w,
                                        (double)d[(size_t)y * w + x], (double)want);
                            fail();
                        }
                    }
            }
            free(in);
            free(out);
            free(g);
            free(din);
            free(arg);
        }
}

/* ---- MPBN normalisation (smooth part of the LIF layer) -------------------------------- */

/* With T = 1 the LIF layer's backward is dz = MPBN'(g * surrogate(m)). Choosing
 * vth = 0 and a small lambda keeps every |m - vth| <= 0.5, so the surrogate is
 * 1 everywhere and dz must be the gradient of L = sum(g * m(z)), a smooth
 * function we can difference (m recomputed from the kernel's batch stats). */
static double mpbn_loss(snn_lif_args *a, const float *g)
{
    snn_lif_forward(a);
    const size_t hw = a->hw, B = a->B;
    double L = 0;
    for (uint32_t ch = 0; ch < a->c; ch++)
        for (size_t b = 0; b < B; b++)
            for (size_t j = 0; j < hw; j++) {
                size_t e = a->mode == SNN_MPBN_ELEMENT ? ch * hw + j : ch;
                size_t i = (ch * B + b) * hw + j;
                double m = (a->upre[i] - a->mp_mean[e]) * a->mp_istd[e] * a->mp_g[e] + a->mp_b[e];
                L += g[i] * m;
            }
    return L;
}

/* constant: positions 0 and 2 of every channel see the same value in every
 * image of the batch (background pixels: batch variance 0). */
static void mpbn_case_eps(snn_mpbn_mode mode, float mp_eps, int constant)
{
    const uint32_t c = 2, B = 6, hw = 4;
    const size_t n = (size_t)c * B * hw, mp = mode == SNN_MPBN_ELEMENT ? c * hw : c;
    float *z = malloc(n * 4), *up = malloc(n * 4), *o = malloc(n * 4), *g = malloc(n * 4), *gb = malloc(n * 4);
    float bg[2] = {1, 1}, bb[2] = {0, 0}, bm[2] = {0, 0}, bi[2] = {1, 1};
    float mg[8], mb[8], rm[8] = {0}, rv[8] = {0}, mm[8], mi[8], dmg[8] = {0}, dmb[8] = {0};
    fill(z, n, 1.0f);
    fill(g, n, 1.0f);
    if (constant)
        for (uint32_t ch = 0; ch < c; ch++)
            for (uint32_t b = 1; b < B; b++)
                for (uint32_t j = 0; j < hw; j += 2) z[(ch * B + b) * hw + j] = z[ch * B * hw + j];
    for (size_t i = 0; i < mp; i++) {
        mg[i] = 0.15f + 0.05f * frand();
        mb[i] = 0.05f * frand();
    }
    snn_lif_args a = {.c = c, .hw = hw, .B = B, .T = 1, .shared_z = 0, .z = z, .bn_g = bg, .bn_b = bb,
                      .bn_mean = bm, .bn_istd = bi, .mode = mode, .mp_g = mg, .mp_b = mb, .mp_rm = rm,
                      .mp_rv = rv, .mp_mean = mm, .mp_istd = mi, .tau = 0.25f, .vth = 0.0f,
                      .eps = mp_eps, .momentum = 0.1f, .train = 1, .upre = up, .out = o,
                      .dmp_g = dmg, .dmp_b = dmb};
    snn_lif_forward(&a);
    /* the epsilon bounds the gain: 1/sqrt(var + eps) <= 1/sqrt(eps), reached
     * by the constant neurons */
    for (size_t e = 0; e < mp; e++) assert_true(mi[e] <= 1.0f / sqrtf(mp_eps) * (1 + 1e-6f));
    if (constant && mode == SNN_MPBN_ELEMENT)
        check_close(mi[0], 1.0 / sqrt(mp_eps), 1e-5, 0, "constant neuron istd", 0);
    memcpy(gb, g, n * 4);
    snn_lif_backward(&a, gb); /* gb = dL/dz */
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float k = z[i];
        z[i] = k + eps;
        double lp = mpbn_loss(&a, g);
        z[i] = k - eps;
        double lm = mpbn_loss(&a, g);
        z[i] = k;
        check_close(gb[i], (lp - lm) / (2 * eps), 3e-2, 2e-3, "mpbn dz", i);
    }
    for (size_t e = 0; e < mp; e++) {
        float k = mg[e];
        mg[e] = k + eps;
        double lp = mpbn_loss(&a, g);
        mg[e] = k - eps;
        double lm = mpbn_loss(&a, g);
        mg[e] = k;
        check_close(dmg[e], (lp - lm) / (2 * eps), 2e-2, 2e-3, "mpbn dlambda", e);
        k = mb[e];
        mb[e] = k + eps;
        lp = mpbn_loss(&a, g);
        mb[e] = k - eps;
        lm = mpbn_loss(&a, g);
        mb[e] = k;
        check_close(dmb[e], (lp - lm) / (2 * eps), 2e-2, 2e-3, "mpbn dbeta", e);
    }
    free(z); free(up); free(o); free(g); free(gb);
}

static void mpbn_case(snn_mpbn_mode mode) { mpbn_case_eps(mode, 1e-5f, 0); }

static void test_mpbn_channel(void **state) { (void)state; mpbn_case(SNN_MPBN_CHANNEL); }
static void test_mpbn_element(void **state) { (void)state; mpbn_case(SNN_MPBN_ELEMENT); }
/* Element-wise MPBN with neurons that are constant over the batch, at the
 * epsilon (variance floor) of a new element-wise run: the normalisation is
 * smooth there, so its gradient must match finite differences like any
 * other (with eps 1e-5 a step of 1e-2 would change the variance of such a
 * neuron by more than eps and the function is far from linear). */
static void test_mpbn_element_constant(void **state)
{
    (void)state;
    mpbn_case_eps(SNN_MPBN_ELEMENT, SNN_MPBN_ELEMENT_EPS, 1);
}

/* ---- LIF recurrence over T steps: BPTT vs forward-mode JVP ----------------------------- */

/* Reference forward in double with tangents: y (BN output, here = z) carries
 * tangent v; returns the JVP of L = sum_t sum_i g_t,i * o_t,i where do/dm is
 * the surrogate. */
static double lif_jvp(const snn_lif_args *a, const float *z, const float *v, const float *gs,
                      int check_spikes, const float *out_kernel, double *dout)
{
    const uint32_t c = a->c, B = a->B, T = a->T, hw = a->hw;
    const size_t BH = (size_t)B * hw, N = (size_t)T * B;
    double jvp = 0;
    double *u = calloc(BH, sizeof(double)), *du = calloc(BH, sizeof(double));
    double *up = malloc(BH * sizeof(double)), *dup = malloc(BH * sizeof(double));
    for (uint32_t ch = 0; ch < c; ch++) {
        memset(u, 0, BH * sizeof(double));
        memset(du, 0, BH * sizeof(double));
        for (uint32_t t = 0; t < T; t++) {
            const size_t base = ((size_t)ch * N + (size_t)t * B) * hw;
            const size_t zb = a->shared_z ? (size_t)ch * B * hw : base;
            for (size_t i = 0; i < BH; i++) {
                up[i] = a->tau * u[i] + z[zb + i];
                dup[i] = a->tau * du[i] + v[zb + i];
            }
            for (uint32_t j = 0; j < (a->mode == SNN_MPBN_ELEMENT ? hw : 1); j++) {
                /* statistics group: channel (all BH) or element (hw j over b) */
                size_t cnt = 0;
                double s = 0, ds = 0;
                for (size_t i = 0; i < BH; i++) {
                    if (a->mode == SNN_MPBN_ELEMENT && i % hw != j) continue;
                    s += up[i];
                    ds += dup[i];
                    cnt++;
                }
                double mu = s / cnt, dmu = ds / cnt, var = 0, dvar = 0;
                for (size_t i = 0; i < BH; i++) {
                    if (a->mode == SNN_MPBN_ELEMENT && i % hw != j) continue;
                    var += (up[i] - mu) * (up[i] - mu);
                    dvar += 2 * (up[i] - mu) * (dup[i] - dmu);
                }
                var /= cnt;
                dvar /= cnt;
                double is = 1 / sqrt(var + a->eps), dis = -0.5 * is * is * is * dvar;
                size_t e = a->mode == SNN_MPBN_ELEMENT ? ch * hw + j : ch;
                double lam = a->mode == SNN_MPBN_NONE ? 1 : a->mp_g[e];
                double bet = a->mode == SNN_MPBN_NONE ? 0 : a->mp_b[e];
                for (size_t i = 0; i < BH; i++) {
                    if (a->mode == SNN_MPBN_ELEMENT && i % hw != j) continue;
                    double m, dm;
                    if (a->mode == SNN_MPBN_NONE) {
                        m = up[i];
                        dm = dup[i];
                    } else {
                        m = lam * (up[i] - mu) * is + bet;
                        dm = lam * ((dup[i] - dmu) * is + (up[i] - mu) * dis);
                    }
                    double o = m > a->vth ? 1.0 : 0.0;
                    double d_o = fabs(m - a->vth) <= 0.5 ? dm : 0.0; /* surrogate */
                    if (check_spikes && fabs(m - a->vth) > 1e-4)
                        assert_true(o == out_kernel[base + i]);
                    jvp += gs[base + i] * d_o;
                    if (dout) dout[base + i] = d_o; /* tangent of the spike */
                    u[i] = up[i] * (1 - o);
                    du[i] = dup[i] * (1 - o) - up[i] * d_o; /* reset is differentiated */
                }
            }
        }
    }
    free(u); free(du); free(up); free(dup);
    return jvp;
}

static void lif_case_eps(snn_mpbn_mode mode, int shared, float eps, int constant)
{
    const uint32_t c = 3, B = 8, hw = 5, T = 4;
    const size_t N = (size_t)T * B, n = (size_t)c * N * hw, nz = (size_t)c * (shared ? B : N) * hw;
    const size_t mp = mode == SNN_MPBN_ELEMENT ? (size_t)c * hw : c;
    float *z = malloc(nz * 4), *up = malloc(n * 4), *o = malloc(n * 4), *g = malloc(n * 4), *gb = malloc(n * 4);
    float *v = malloc(nz * 4), *dz = malloc(nz * 4);
    float bg[3] = {1, 1, 1}, bb[3] = {0, 0, 0}, bm[3] = {0, 0, 0}, bi[3] = {1, 1, 1};
    float mg[16], mb[16], rm[16] = {0}, rv[16], mm[64], mi[64], dmg[16] = {0}, dmb[16] = {0};
    for (size_t i = 0; i < nz; i++) z[i] = 0.6f * frand() + 0.35f;
    if (constant) { /* positions 1 and 3: the same input in every image of a step */
        const size_t nimg = shared ? B : N;
        for (uint32_t ch = 0; ch < c; ch++)
            for (size_t k = 0; k < nimg; k++)
                for (uint32_t j = 1; j < hw; j += 2)
                    z[(ch * nimg + k) * hw + j] = z[(ch * nimg + k / B * B) * hw + j];
    }
    fill(g, n, 1);
    for (size_t i = 0; i < mp; i++) {
        mg[i] = 0.8f + 0.3f * frand();
        mb[i] = 0.4f + 0.2f * frand();
        rv[i] = 1;
    }
    snn_lif_args a = {.c = c, .hw = hw, .B = B, .T = T, .shared_z = shared, .z = z, .bn_g = bg,
                      .bn_b = bb, .bn_mean = bm, .bn_istd = bi, .mode = mode, .mp_g = mg, .mp_b = mb,
                      .mp_rm = rm, .mp_rv = rv, .mp_mean = mm, .mp_istd = mi, .tau = 0.25f,
                      .vth = 0.5f, .eps = eps, .momentum = 0.1f, .train = 1, .upre = up, .out = o,
                      .dmp_g = dmg, .dmp_b = dmb};
    snn_lif_forward(&a);
    double rate = 0;
    for (size_t i = 0; i < n; i++) rate += o[i];
    rate /= n;
    assert_true(rate > 0.05 && rate < 0.95); /* both resets and sub-threshold steps occur */
    memcpy(gb, g, n * 4);
    snn_lif_backward(&a, gb); /* gb = dL/dy per step */
    /* fold the per-step gradient onto z (shared: summed over steps) */
    memset(dz, 0, nz * 4);
    for (uint32_t ch = 0; ch < c; ch++)
        for (size_t k = 0; k < N * hw; k++) {
            size_t zi = shared ? ((size_t)ch * B * hw + k % ((size_t)B * hw)) : ((size_t)ch * N * hw + k);
            dz[zi] += gb[(size_t)ch * N * hw + k];
        }
    for (int rep = 0; rep < 4; rep++) {
        fill(v, nz, 1);
        double ana = dot(dz, v, nz);
        double ref = lif_jvp(&a, z, v, g, rep == 0, o, NULL);
        check_close(ana, ref, 1e-3, 1e-3, "LIF BPTT <grad, v>", (size_t)rep);
    }
    free(z); free(up); free(o); free(g); free(gb); free(v); free(dz);
}

static void lif_case(snn_mpbn_mode mode, int shared) { lif_case_eps(mode, shared, 1e-5f, 0); }

static void test_lif_bptt_none(void **state) { (void)state; lif_case(SNN_MPBN_NONE, 0); }
static void test_lif_bptt_channel(void **state) { (void)state; lif_case(SNN_MPBN_CHANNEL, 0); }
static void test_lif_bptt_element(void **state) { (void)state; lif_case(SNN_MPBN_ELEMENT, 0); }
static void test_lif_bptt_shared(void **state) { (void)state; lif_case(SNN_MPBN_CHANNEL, 1); }
/* constant neurons (zero batch variance) at the element-wise variance floor,
 * per step and with the first layer's shared input */
static void test_lif_bptt_element_constant(void **state)
{
    (void)state;
    lif_case_eps(SNN_MPBN_ELEMENT, 0, SNN_MPBN_ELEMENT_EPS, 1);
    lif_case_eps(SNN_MPBN_ELEMENT, 1, SNN_MPBN_ELEMENT_EPS, 1);
}

/* ---- fc: output layer + cross-entropy through the whole model ---------------------------- */

/* The output layer's inputs are spikes that do not depend on its own
 * parameters, so the loss is smooth in them and FD is exact up to rounding.
 * A hidden fc layer exercises the same gather/sgemm code on the forward. */
static void test_fc_output(void **state)
{
    (void)state;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "c4,p,f6");
    cfg.T = 3;
    cfg.in_h = cfg.in_w = 6;
    cfg.n_classes = 4;
    cfg.norm_mean = 0.3f;
    cfg.norm_std = 0.3f;
    snn_model *m;
    assert_int_equal(snn_model_create(&cfg, 7, &m), SNN_OK);
    assert_int_equal(snn_model_alloc_grads(m), SNN_OK);
    const uint32_t B = 5;
    assert_int_equal(snn_model_workspace(m, B), SNN_OK);
    uint8_t px[5 * 36], lab[5] = {0, 1, 2, 3, 1};
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)((i * 37 + 11) % 256);
    snn_model_load_input(m, px, NULL, B, NULL);
    snn_model_forward(m, B, 1);
    snn_model_loss(m, B, lab, NULL);
    snn_model_backward(m, B);
    const snn_param *w = snn_model_find_param(m, "layers.3.weight");
    const snn_param *b = snn_model_find_param(m, "layers.3.bias");
    assert_non_null(w);
    assert_non_null(b);
    const float eps = 1e-2f;
    const snn_param *ps[2] = {w, b};
    for (int pi = 0; pi < 2; pi++)
        for (size_t i = 0; i < ps[pi]->n; i++) {
            float *x = &ps[pi]->data[i], k = *x;
            *x = k + eps;
            snn_model_forward(m, B, 1);
            double lp = snn_model_loss(m, B, lab, NULL);
            *x = k - eps;
            snn_model_forward(m, B, 1);
            double lm = snn_model_loss(m, B, lab, NULL);
            *x = k;
            check_close(ps[pi]->grad[i], (lp - lm) / (2 * eps), 2e-2, 1e-4, pi ? "out db" : "out dW", i);
        }
    snn_model_free(m);
}

/* ---- the loss, with and without label smoothing ---------------------------------------- */

/* mean over the batch of the cross-entropy against the target 1 - e + e/K
 * on the label and e/K elsewhere, in double */
static double smoothed_ce(const double *z, uint32_t B, uint32_t K, const uint8_t *lab, double e)
{
    double L = 0;
    for (uint32_t b = 0; b < B; b++) {
        double mx = z[b * K], s = 0;
        for (uint32_t k = 1; k < K; k++) mx = fmax(mx, z[b * K + k]);
        for (uint32_t k = 0; k < K; k++) s += exp(z[b * K + k] - mx);
        const double lse = log(s) + mx;
        for (uint32_t k = 0; k < K; k++) L += ((k == lab[b] ? 1 - e : 0) + e / K) * (lse - z[b * K + k]);
    }
    return L / B;
}

/* snn_model_loss returns the plain cross-entropy and leaves in dlogits the
 * gradient of the smoothed one (finite differences in double) */
static void test_label_smoothing(void **state)
{
    (void)state;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "f6");
    cfg.T = 2;
    cfg.in_h = cfg.in_w = 3;
    cfg.n_classes = 5;
    cfg.norm_mean = 0.3f;
    cfg.norm_std = 0.3f;
    snn_model *m;
    assert_int_equal(snn_model_create(&cfg, 7, &m), SNN_OK);
    const uint32_t B = 4, K = 5;
    assert_int_equal(snn_model_workspace(m, B), SNN_OK);
    const uint8_t lab[4] = {0, 4, 2, 2};
    double z[20];
    static const double es[] = {0, 0.1, 0.3};
    for (size_t ei = 0; ei < sizeof es / sizeof es[0]; ei++) {
        m->label_smoothing = es[ei];
        for (uint32_t i = 0; i < B * K; i++) m->logits[i] = (float)(z[i] = 3 * snn_rng_uniform(&rng_state) - 1.5);
        uint32_t ok;
        const double loss = snn_model_loss(m, B, lab, &ok);
        check_close(loss, smoothed_ce(z, B, K, lab, 0), 1e-6, 1e-6, "loss is the plain cross-entropy", ei);
        for (uint32_t i = 0; i < B * K; i++) {
            const double h = 1e-4, k = z[i];
            z[i] = k + h;
            const double lp = smoothed_ce(z, B, K, lab, es[ei]);
            z[i] = k - h;
            const double lm = smoothed_ce(z, B, K, lab, es[ei]);
            z[i] = k;
            check_close(m->dlogits[i], (lp - lm) / (2 * h), 1e-4, 1e-6, "smoothed dlogits", i);
        }
    }
    snn_model_free(m);
}

/* ---- hidden fc: the same network as a conv on 1x1 images -------------------------------- */

/* On a 1x1 image a 3x3 conv with padding 1 only uses its centre tap, so
 * "c4,c6" and "c4,f6" (fc weights = centre taps) compute the same function.
 * The conv path is checked against finite differences above; equal
 * gradients here check the hidden fc's backward (weight gradient and the
 * input gradient it sends into the LIF/BN/conv of layer 0). */
static void test_fc_hidden_equals_conv(void **state)
{
    (void)state;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    cfg.T = 3;
    cfg.in_c = 3;
    cfg.in_h = cfg.in_w = 1;
    cfg.n_classes = 5;
    cfg.norm_mean = 0.5f;
    cfg.norm_std = 0.25f;
    snn_model *mc, *mf;
    snprintf(cfg.arch, sizeof cfg.arch, "c4,c6");
    assert_int_equal(snn_model_create(&cfg, 11, &mc), SNN_OK);
    snprintf(cfg.arch, sizeof cfg.arch, "c4,f6");
    assert_int_equal(snn_model_create(&cfg, 11, &mf), SNN_OK);
    uint32_t n;
    float *wc = snn_model_param(mc, "layers.1.weight", &n), *wf = snn_model_param(mf, "layers.1.weight", &n);
    assert_int_equal(n, 24);
    for (uint32_t i = 0; i < 24; i++) wc[i * 9 + 4] *= 3.0f; /* stronger drive: more spikes */
    for (uint32_t i = 0; i < 24; i++) wf[i] = wc[i * 9 + 4];
    const char *same[] = {"layers.0.weight", "layers.2.weight", "layers.2.bias"};
    for (int k = 0; k < 3; k++) {
        uint32_t na, nb;
        float *a = snn_model_param(mc, same[k], &na), *b = snn_model_param(mf, same[k], &nb);
        assert_int_equal(na, nb);
        memcpy(b, a, na * sizeof(float));
    }
    const uint32_t B = 6;
    uint8_t px[6 * 3], lab[6] = {0, 1, 2, 3, 4, 0};
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)((i * 97 + 13) % 256);
    snn_model *ms[2] = {mc, mf};
    double loss[2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(snn_model_alloc_grads(ms[k]), SNN_OK);
        assert_int_equal(snn_model_workspace(ms[k], B), SNN_OK);
        snn_model_load_input(ms[k], px, NULL, B, NULL);
        snn_model_forward(ms[k], B, 1);
        loss[k] = snn_model_loss(ms[k], B, lab, NULL);
        snn_model_backward(ms[k], B);
    }
    check_close(loss[0], loss[1], 1e-5, 1e-6, "loss", 0);
    double spikes = 0;
    for (size_t i = 0; i < (size_t)3 * B * 6; i++) spikes += mc->layers[1].out[i];
    assert_true(spikes > 0); /* the fc's spikes reach the output layer */
    const char *names[] = {"layers.0.weight", "layers.0.bn.weight", "layers.0.bn.bias",
                           "layers.0.mpbn.weight", "layers.0.mpbn.bias", "layers.1.bn.weight",
                           "layers.1.bn.bias", "layers.1.mpbn.weight", "layers.2.weight"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const snn_param *a = snn_model_find_param(mc, names[k]), *b = snn_model_find_param(mf, names[k]);
        assert_non_null(a);
        assert_non_null(b);
        double mx = 0;
        for (size_t i = 0; i < a->n; i++) mx = fmax(mx, fabs(a->grad[i]));
        assert_true(mx > 0 || k == 2); /* gradients actually flow */
        for (size_t i = 0; i < a->n; i++) check_close(a->grad[i], b->grad[i], 1e-3, 1e-5 * (mx + 1e-3), names[k], i);
    }
    const snn_param *gc = snn_model_find_param(mc, "layers.1.weight"), *gf = snn_model_find_param(mf, "layers.1.weight");
    for (uint32_t i = 0; i < 24; i++) check_close(gc->grad[i * 9 + 4], gf->grad[i], 1e-3, 1e-6, "fc dW", i);
    snn_model_free(mc);
    snn_model_free(mf);
}

/* ---- the spike-count regulariser through a whole network ---------------------------------- */

/* A network of two fc LIF layers ("f6,f5", channel MPBN, T 3) and the
 * output layer. R = (F0 S0 + F1 S1) / ((n0 F0 + n1 F1) T B) with S_l the
 * spike counts, n_l the neurons and F_l the fan-outs: F0 = 5 (the fc5 after
 * it), F1 = 4 (the classes) - written out here, independently of
 * snn_model_rate_weight. With dlogits set to 0 the backward is the
 * regulariser's gradient alone; its directional derivative along random
 * directions (V0 on layer 0's weights, V1 on layer 1's) must equal the
 * chained reference:
 *   y0 tangent = central FD of layer 0's BN output (the kernel's forward),
 *   o0 tangent = surrogate JVP of LIF 0 (lif_jvp, shared input over T),
 *   z1 tangent = W1 do0 + V1 o0, y1 tangent = BN JVP (batch statistics),
 *   o1 tangent = surrogate JVP of LIF 1,
 *   X (F0 sum do0 + F1 sum do1) / (S T B). */
static void bn_out(const snn_tlayer *L, size_t per, double *y)
{
    for (uint32_t c = 0; c < L->oc; c++)
        for (size_t i = 0; i < per; i++)
            y[c * per + i] = L->bn_g->data[c] * (L->z[c * per + i] - L->bn_mean[c]) * L->bn_istd[c] +
                             L->bn_b->data[c];
}

static snn_lif_args ref_lif_args(const snn_model *m, const snn_tlayer *L, uint32_t B, int shared)
{
    snn_lif_args a = {.c = L->oc, .hw = 1, .B = B, .T = m->cfg.T, .shared_z = shared,
                      .mode = m->cfg.mpbn, .mp_g = L->mp_g->data, .mp_b = L->mp_b->data,
                      .tau = m->cfg.tau, .vth = m->cfg.vth, .eps = m->cfg.mpbn_eps};
    return a;
}

static void test_rate_reg_grad(void **state)
{
    (void)state;
    snn_model_config cfg;
    snn_model_config_default(&cfg);
    snprintf(cfg.arch, sizeof cfg.arch, "f6,f5");
    cfg.T = 3;
    cfg.in_h = cfg.in_w = 3;
    cfg.n_classes = 4;
    cfg.norm_mean = 0.4f;
    cfg.norm_std = 0.3f;
    snn_model *m;
    assert_int_equal(snn_model_create(&cfg, 21, &m), SNN_OK);
    assert_int_equal(snn_model_alloc_grads(m), SNN_OK);
    const uint32_t B = 8, T = cfg.T, N = T * B, K = cfg.n_classes;
    assert_int_equal(snn_model_workspace(m, B), SNN_OK);
    uint8_t px[8 * 9], lab[8] = {0, 1, 2, 3, 0, 1, 2, 3};
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)((i * 53 + 7) % 256);
    snn_model_load_input(m, px, NULL, B, NULL);
    const double X = 0.7, F0 = 5, F1 = K, S = 6 * F0 + 5 * F1;
    snn_tlayer *L0 = &m->layers[0], *L1 = &m->layers[1];
    snn_param *w0 = snn_model_find_param(m, "layers.0.weight"), *w1 = snn_model_find_param(m, "layers.1.weight");
    snn_param *w2 = snn_model_find_param(m, "layers.2.weight"), *b2 = snn_model_find_param(m, "layers.2.bias");
    const size_t n0 = w0->n, n1 = w1->n, n2 = w2->n;

    /* the cross-entropy's gradient alone (rate_reg 0) */
    snn_model_forward(m, B, 1);
    snn_model_loss(m, B, lab, NULL);
    m->rate_reg = 0;
    snn_model_backward(m, B);
    float *ce0 = malloc(n0 * 4), *ce1 = malloc(n1 * 4), *ce2 = malloc(n2 * 4);
    memcpy(ce0, w0->grad, n0 * 4);
    memcpy(ce1, w1->grad, n1 * 4);
    memcpy(ce2, w2->grad, n2 * 4);

    /* the regulariser's gradient alone: dlogits = 0 (the backward uses the
     * forward's gathered inputs as scratch: a forward before every backward) */
    snn_model_forward(m, B, 1);
    memset(m->dlogits, 0, (size_t)B * K * sizeof(float));
    m->rate_reg = X;
    snn_model_backward(m, B);
    float *g0 = malloc(n0 * 4), *g1 = malloc(n1 * 4);
    memcpy(g0, w0->grad, n0 * 4);
    memcpy(g1, w1->grad, n1 * 4);
    for (size_t i = 0; i < n2; i++) assert_true(w2->grad[i] == 0); /* no spikes of its own */
    for (size_t i = 0; i < b2->n; i++) assert_true(b2->grad[i] == 0);

    /* R as the forward counts it */
    double s0 = 0, s1 = 0;
    for (size_t i = 0; i < (size_t)6 * N; i++) s0 += L0->out[i];
    for (size_t i = 0; i < (size_t)5 * N; i++) s1 += L1->out[i];
    assert_true(s0 > 0.05 * 6 * N && s0 < 0.95 * 6 * N); /* both layers fire and rest */
    assert_true(s1 > 0.05 * 5 * N && s1 < 0.95 * 5 * N);
    check_close(snn_model_spike_rate(m, B), (F0 * s0 + F1 * s1) / (S * N), 1e-9, 0, "R", 0);

    /* both together: the sum of the two */
    snn_model_forward(m, B, 1);
    snn_model_loss(m, B, lab, NULL);
    snn_model_backward(m, B);
    for (size_t i = 0; i < n0; i++) check_close(w0->grad[i], ce0[i] + g0[i], 1e-4, 1e-7, "CE+R dW0", i);
    for (size_t i = 0; i < n1; i++) check_close(w1->grad[i], ce1[i] + g1[i], 1e-4, 1e-7, "CE+R dW1", i);
    for (size_t i = 0; i < n2; i++) assert_true(w2->grad[i] == ce2[i]);

    /* the reference, per direction */
    float *V0 = malloc(n0 * 4), *V1 = malloc(n1 * 4), *y0f = malloc((size_t)6 * B * 4);
    float *v0f = malloc((size_t)6 * B * 4), *y1f = malloc((size_t)5 * N * 4), *v1f = malloc((size_t)5 * N * 4);
    float *gs0 = malloc((size_t)6 * N * 4), *gs1 = malloc((size_t)5 * N * 4);
    double *yp = malloc((size_t)6 * B * 8), *ym = malloc((size_t)6 * B * 8), *do0 = malloc((size_t)6 * N * 8);
    double *y1 = malloc((size_t)5 * N * 8);
    for (size_t i = 0; i < (size_t)6 * N; i++) gs0[i] = (float)(X * F0 / (S * N));
    for (size_t i = 0; i < (size_t)5 * N; i++) gs1[i] = (float)(X * F1 / (S * N));
    double max_part = 0;
    for (int rep = 0; rep < 4; rep++) {
        fill(V0, n0, 1);
        fill(V1, n1, 1);
        /* y0 tangent: (y0(W0 + hV0) - y0(W0 - hV0)) / 2h, the kernel's forward */
        const float h = 1e-3f;
        float *wc = malloc(n0 * 4);
        memcpy(wc, w0->data, n0 * 4);
        for (size_t i = 0; i < n0; i++) w0->data[i] = wc[i] + h * V0[i];
        snn_model_forward(m, B, 1);
        bn_out(L0, B, yp);
        for (size_t i = 0; i < n0; i++) w0->data[i] = wc[i] - h * V0[i];
        snn_model_forward(m, B, 1);
        bn_out(L0, B, ym);
        for (size_t i = 0; i < (size_t)6 * B; i++) v0f[i] = (float)((yp[i] - ym[i]) / (2.0 * h));
        memcpy(w0->data, wc, n0 * 4);
        free(wc);
        snn_model_forward(m, B, 1); /* the unperturbed network again */
        bn_out(L0, B, ym);
        for (size_t i = 0; i < (size_t)6 * B; i++) y0f[i] = (float)ym[i];
        snn_lif_args a0 = ref_lif_args(m, L0, B, 1);
        double jvp = lif_jvp(&a0, y0f, v0f, gs0, rep == 0, L0->out, do0);
        /* layer 1: z1 = W1 o0 (the kernel's spikes), tangent W1 do0 + V1 o0 */
        double *dz1 = calloc((size_t)5 * N, 8);
        for (uint32_t c = 0; c < 5; c++)
            for (uint32_t n = 0; n < N; n++) {
                double acc = 0;
                for (uint32_t k = 0; k < 6; k++)
                    acc += (double)w1->data[c * 6 + k] * do0[(size_t)k * N + n] +
                           (double)V1[c * 6 + k] * L0->out[(size_t)k * N + n];
                dz1[(size_t)c * N + n] = acc;
            }
        /* BN of layer 1: statistics over the N values of a channel */
        for (uint32_t c = 0; c < 5; c++) {
            const float *z = L1->z + (size_t)c * N;
            const double *dz = dz1 + (size_t)c * N;
            double mu = 0, dmu = 0, var = 0, dvar = 0;
            for (uint32_t n = 0; n < N; n++) mu += z[n], dmu += dz[n];
            mu /= N;
            dmu /= N;
            for (uint32_t n = 0; n < N; n++) {
                var += (z[n] - mu) * (z[n] - mu);
                dvar += 2 * (z[n] - mu) * (dz[n] - dmu);
            }
            var /= N;
            dvar /= N;
            const double is = 1 / sqrt(var + m->cfg.bn_eps), dis = -0.5 * is * is * is * dvar;
            const double g = L1->bn_g->data[c], b = L1->bn_b->data[c];
            for (uint32_t n = 0; n < N; n++) {
                y1[(size_t)c * N + n] = g * (z[n] - mu) * is + b;
                y1f[(size_t)c * N + n] = (float)y1[(size_t)c * N + n];
                v1f[(size_t)c * N + n] = (float)(g * ((dz[n] - dmu) * is + (z[n] - mu) * dis));
            }
        }
        free(dz1);
        snn_lif_args a1 = ref_lif_args(m, L1, B, 0);
        jvp += lif_jvp(&a1, y1f, v1f, gs1, rep == 0, L1->out, NULL);
        const double ana = dot(g0, V0, n0) + dot(g1, V1, n1);
        max_part = fmax(max_part, fabs(ana));
        check_close(ana, jvp, 1e-2, 1e-5, "rate-reg <dR/dW, V>", (size_t)rep);
    }
    assert_true(max_part > 1e-3); /* the regulariser's gradient is not vacuous */
    free(ce0); free(ce1); free(ce2); free(g0); free(g1); free(V0); free(V1); free(y0f); free(v0f);
    free(y1f); free(v1f); free(gs0); free(gs1); free(yp); free(ym); free(do0); free(y1);
    snn_model_free(m);
}

static void test_gather_scatter(void **state)
{
    (void)state;
    float in[2 * 3 * 4], xt[24], back[24];
    for (int i = 0; i < 24; i++) in[i] = (float)i;
    snn_gather_images(in, 2, 3, 4, xt);
    /* image 1, channel 1, pixel 2 = in[(1*3+1)*4+2] at xt[1*8 + 1*4 + 2] */
    assert_true(xt[1 * 8 + 4 + 2] == in[(1 * 3 + 1) * 4 + 2]);
    snn_scatter_images(xt, 2, 3, 4, back);
    assert_memory_equal(in, back, sizeof in);
}

static int setup(void **state)
{
    (void)state;
    snn_par_set_threads(2);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_spikes),
        cmocka_unit_test(test_conv_direct),
        cmocka_unit_test(test_bn),
        cmocka_unit_test(test_bn_shared_over_time),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_pool_shapes),
        cmocka_unit_test(test_mpbn_channel),
        cmocka_unit_test(test_mpbn_element),
        cmocka_unit_test(test_mpbn_element_constant),
        cmocka_unit_test(test_lif_bptt_none),
        cmocka_unit_test(test_lif_bptt_channel),
        cmocka_unit_test(test_lif_bptt_element),
        cmocka_unit_test(test_lif_bptt_shared),
        cmocka_unit_test(test_lif_bptt_element_constant),
        cmocka_unit_test(test_fc_output),
        cmocka_unit_test(test_label_smoothing),
        cmocka_unit_test(test_fc_hidden_equals_conv),
        cmocka_unit_test(test_rate_reg_grad),
        cmocka_unit_test(test_gather_scatter),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
