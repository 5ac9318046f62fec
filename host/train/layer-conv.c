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
 * friendly) and are the tasks of the thread pool (each worker has its own
 * col buffer; OpenBLAS is single-threaded inside a task).
 * Backward reuses the same chunks: dW_chunk = dout_chunk x col^T, and
 * din = Wrot x im2col(dout_chunk) (the transposed conv as a conv with the
 * kernels rotated by 180 degrees and Cin/Cout swapped).
 *
 * Faster paths share the chunks and the column buffer: a spike input goes
 * event by event (layer-conv-spike.c) below a spike-rate limit, and the
 * dense forward and the input gradient go on a padded map without im2col,
 * by Winograd's F(2x2, 3x3) (layer-conv-winograd.c) where the build has
 * AVX-512, or directly (layer-conv-direct.c) when asked.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "train-impl.h"

void snn_conv_plan(uint32_t cin, uint32_t cout, uint32_t h, uint32_t w, uint32_t n, uint32_t *chunk,
                   uint32_t *n_tasks, size_t *col_floats)
{
    const uint32_t hw = h * w;
    /* the buffer holds im2col(in) (cin*9 rows), then im2col(dout) (cout*9) */
    size_t per = (size_t)(cin > cout ? cin : cout) * 9 * hw; /* floats per image */
    size_t c = ((size_t)1 << 20) / per;     /* <= 4 MiB of col */
    const uint32_t nw = SNN_PLAN_WORKERS;
    size_t fair = ((size_t)n + 4 * nw - 1) / (4 * nw); /* >= 4 tasks per worker */
    if (c > fair) c = fair;
    if (c < 1) c = 1;
    *chunk = (uint32_t)c;
    *n_tasks = (uint32_t)(((size_t)n + c - 1) / c);
    /* the spike path (layer-conv-spike.c) carves its buffers from the same
     * space; 16 floats keep every worker's buffer 64-byte aligned */
    size_t need = c * per, sp = snn_sconv_ws_floats(cin, cout, h, w, (uint32_t)c);
    if (sp > need) need = sp;
    /* and the dense convs (direct, Winograd): the forward's and the input
     * gradient's, and the Winograd weight gradient's */
    const int modes[2] = {SNN_DENSE_DIRECT, SNN_DENSE_WINOGRAD};
    for (int i = 0; i < 2; i++) {
        const snn_dense_kernel *k = snn_dense_kernel_of(modes[i]);
        const size_t f = k->ws_floats(cin, cout, h, w, (uint32_t)c), b = k->ws_floats(cout, cin, h, w, (uint32_t)c);
        if (f > need) need = f;
        if (b > need) need = b;
    }
    const size_t dw = snn_wconv_dw_ws_floats(cin, cout, h, w, (uint32_t)c);
    if (dw > need) need = dw;
    *col_floats = (need + 15) & ~(size_t)15;
}

/* The event-driven path is taken for a chunk whose first image's input
 * spike rate is at most a limit; above it the dense GEMM is faster. Where
 * the two break even depends on OpenBLAS's kernels. `make bench-conv`
 * (each path alone, warm caches) puts the forward's break-even at rates
 * 0.2-0.35 against the AVX-512 sgemm and 0.4-0.5 against the AVX2 one, the
 * weight gradient's at 0.35-0.5 and above 0.5; inside a training step the
 * event-driven path does better than that (the GEMM's im2col buffer and
 * packing compete for the caches with the rest of the step): training the
 * default network at its early rates (~0.38) was fastest with every conv
 * event-driven, and these limits are set from that end-to-end figure
 * (docs/trainer.md "Speed design"). The backward's limit applies to the
 * weight gradient only (the input gradient is dense: never event-driven).
 * With the direct conv (below) the forward's dense rival no longer depends
 * on OpenBLAS: its limit is then the one set against the faster rival,
 * 0.45, whatever the kernels. The Winograd conv is 1.3-1.6x faster than
 * the direct one (`make bench-conv`), so its break-even lies lower: alone
 * at rates 0.1-0.2; in a step of the default net (60-80 batches from
 * initialisation, alternating runs) 0.15, 0.2 and 0.3 were level within
 * the noise and 0.45 was 10% slower, 0.1 as fast at one thread: 0.2. */
static double max_rate_fwd = 0.6, max_rate_bwd = 0.7;
static const double max_rate_fwd_direct = 0.45, max_rate_fwd_winograd = 0.2;
/* With the Winograd weight gradient as the dense rival (layer-conv-winograd.c),
 * the backward's limit: alone (`make bench-conv`, weight + input gradient)
 * the two break even at rates 0.3-0.4 (default conv 2: 104.6 us per image
 * dense, 95.1 event-driven at 0.2, 104.4 at 0.3, 112.0 at 0.4); in steps of
 * the default net from initialisation (60 batches, one thread, three
 * alternating runs) 0.2 and 0.3 measured 594-622 img/s, event-driven only
 * 566-606: 0.25. */
static const double max_rate_bwd_winograd = 0.25;

char *openblas_get_corename(void); /* OpenBLAS's own API (not in every cblas.h) */

static void choose_max_rates(void)
{
    const char *core = openblas_get_corename();
    static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (size_t i = 0; core && i < sizeof avx512 / sizeof avx512[0]; i++)
        if (!strcasecmp(core, avx512[i])) { /* AVX-512 sgemm: the GEMM is the stronger rival */
            max_rate_fwd = 0.45;
            max_rate_bwd = 0.6;
        }
}

/* -1: not chosen yet (MPBN_SPIKE_CONV from the environment, else auto) */
static int spike_mode = -1;

void snn_conv_set_spike_path(int mode)
{
    choose_max_rates();
    spike_mode = mode;
}

static int spike_path_mode(void)
{
    if (spike_mode < 0) {
        const char *e = getenv("MPBN_SPIKE_CONV");
        choose_max_rates();
        spike_mode = e && (e[0] == '0' || e[0] == '2') && e[1] == 0 ? e[0] - '0' : SNN_SPIKE_PATH_AUTO;
    }
    return spike_mode;
}

/* -1: not chosen yet (MPBN_DENSE_CONV from the environment, else Winograd
 * where the kernels have AVX-512 registers to hold their 16 accumulators,
 * the GEMM elsewhere) */
static int dense_mode = -1;

/* Below 8 input channels (the first layer's image) the direct conv's
 * per-vector costs (packing, compressed stores) outweigh its 9*nb steps of
 * FMAs, and the GEMM with its short K is faster (`make bench-conv`). */
enum { DIRECT_MIN_IN = 8 };

void snn_conv_set_dense(int mode)
{

    SNN_ASSERT(mode == SNN_DENSE_GEMM || mode == SNN_DENSE_DIRECT || mode == SNN_DENSE_WINOGRAD);
    dense_mode = mode;
}

static int dense_conv_mode(void)
{
    if (dense_mode < 0) {
        const char *e = getenv("MPBN_DENSE_CONV");
#if defined(__AVX512F__)
        dense_mode = SNN_DENSE_WINOGRAD;
#else
        dense_mode = SNN_DENSE_GEMM;
#endif
        if (e && !strcmp(e, "gemm")) dense_mode = SNN_DENSE_GEMM;
        else if (e && !strcmp(e, "direct")) dense_mode = SNN_DENSE_DIRECT;
        else if (e && !strcmp(e, "winograd")) dense_mode = SNN_DENSE_WINOGRAD;
        else if (e && *e)
            fprintf(stderr, "mpbn: MPBN_DENSE_CONV=%s is none of gemm, direct, winograd: ignored\n", e);
        if (getenv("MPBN_DIRECT_CONV"))
            fprintf(stderr, "mpbn: MPBN_DIRECT_CONV is no longer read: MPBN_DENSE_CONV=gemm|direct|winograd\n");
    }
    return dense_mode;
}

static size_t dconv_ws(uint32_t nb, uint32_t na, uint32_t h, uint32_t w, uint32_t chunk)
{
    (void)na;
    return snn_dconv_ws_floats(nb, h, w, chunk);
}

const snn_dense_kernel *snn_dense_kernel_of(int mode)
{
    static const snn_dense_kernel direct = {"direct", snn_dconv_pk_floats, snn_dconv_weights, dconv_ws,
                                            snn_dconv_chunk};
    static const snn_dense_kernel winograd = {"winograd", snn_wconv_pk_floats, snn_wconv_weights,
                                              snn_wconv_ws_floats, snn_wconv_chunk};
    return mode == SNN_DENSE_DIRECT ? &direct : mode == SNN_DENSE_WINOGRAD ? &winograd : NULL;
}

/* The dense kernel for nb input channels (NULL: im2col + GEMM), and its
 * weights for a = cout (for_din 0) or cin (1), freed by the caller */
static const snn_dense_kernel *dense_pick(const float *wt, uint32_t cout, uint32_t cin, int for_din, float **pk)
{
    const int mode = dense_conv_mode();
    *pk = NULL;
    if (mode == SNN_DENSE_GEMM || (for_din ? cout : cin) < DIRECT_MIN_IN) return NULL;
    const snn_dense_kernel *k = snn_dense_kernel_of(mode);
    const uint32_t na = for_din ? cin : cout, nb = for_din ? cout : cin;
    *pk = malloc(k->pk_floats(na, nb) * sizeof(float));
    SNN_ASSERT(*pk);
    k->weights(wt, cout, cin, for_din, *pk);
    return k;
}

static int take_spike_path(size_t ones, uint32_t cin, uint32_t cn, size_t hw, double max_rate)
{
    return spike_mode == SNN_SPIKE_PATH_ALWAYS || (double)ones <= max_rate * (double)cin * cn * (double)hw;
}

/* One (ci, ky, kx) row of col for one image is the image shifted by
 * (ky-1, kx-1): a single block copy of the valid rows, shifted by dx in flat
 * memory (the element that wraps into the next row is a padding position
 * and is overwritten), then the padding column / row. */
static void im2col(const float *in, uint32_t cin, size_t N, size_t n0, uint32_t cn, uint32_t h,
                   uint32_t w, float pad, float *col)
{
    const size_t hw = (size_t)h * w, cols = (size_t)cn * hw;
    for (uint32_t ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < 3; ky++) {
            for (int kx = 0; kx < 3; kx++) {
                float *dst = col + ((size_t)ci * 9 + (size_t)ky * 3 + (size_t)kx) * cols;
                const int dy = ky - 1, dx = kx - 1;
                const uint32_t y0 = dy < 0 ? 1 : 0, y1 = dy > 0 ? h - 1 : h;
                const size_t cnt = (size_t)(y1 - y0) * w;
                for (uint32_t n = 0; n < cn; n++) {
                    const float *src = in + ((size_t)ci * N + n0 + n) * hw + (size_t)((int)y0 + dy) * w;
                    float *d = dst + (size_t)n * hw;
                    float *db = d + (size_t)y0 * w;
                    if (dy < 0)
                        for (uint32_t x = 0; x < w; x++) d[x] = pad;
                    if (dy > 0)
                        for (uint32_t x = 0; x < w; x++) d[(size_t)(h - 1) * w + x] = pad;
                    if (cnt == 0) continue;
                    if (dx == 0) {
                        memcpy(db, src, cnt * sizeof(float));
                    } else if (dx < 0) {
                        memcpy(db + 1, src, (cnt - 1) * sizeof(float));
                        for (uint32_t y = y0; y < y1; y++) d[(size_t)y * w] = pad;
                    } else {
                        memcpy(db, src + 1, (cnt - 1) * sizeof(float));
                        for (uint32_t y = y0; y < y1; y++) d[(size_t)y * w + w - 1] = pad;
                    }
                }
            }
        }
    }
}

typedef struct conv_ctx {
    const float *in;
    uint32_t cin, n, h, w, cout, chunk;
    float pad;
    int spikes; /* the input is 0/1: the spike path may be taken */
    double max_rate; /* the forward's spike-rate limit of the spike path */
    const float *wt;
    const float *wk; /* spike path: the weights as Wk[k*cin + ci][co] */
    const float *wflip; /* [cin][cout*9]: W transposed and rotated by 180 degrees */
    const snn_dense_kernel *dk_fwd, *dk_din; /* the dense convs (NULL: im2col + GEMM) */
    int wino_dw;                         /* the dense weight gradient by Winograd */
    const float *pk_fwd, *pk_din;        /* and their packed weights */
    float *out;
    const float *dout;
    float *dwp, *din, *col;
    size_t col_n;
} conv_ctx;

static void conv_fwd_task(void *vc, uint32_t task, uint32_t worker)
{
    const conv_ctx *c = vc;
    const size_t hw = (size_t)c->h * c->w, K = (size_t)c->cin * 9;
    const uint32_t n0 = task * c->chunk, cn = c->n - n0 < c->chunk ? c->n - n0 : c->chunk;
    float *col = c->col + worker * c->col_n;
    /* the rate of the chunk's first image decides (packing first would cost
     * a pass over the spikes even where the GEMM is taken) */
    if (c->spikes && take_spike_path(snn_sconv_count(c->in, c->cin, c->n, n0, 1, hw), c->cin, 1, hw,
                                     c->max_rate)) {
        snn_sconv_pack(c->in, c->cin, c->n, n0, cn, c->h, c->w, col);
        snn_sconv_forward_chunk(c->cin, c->n, n0, cn, c->h, c->w, c->wk, c->cout, c->out, col);
        return;
    }
    if (c->dk_fwd) {
        c->dk_fwd->chunk(c->in, c->cin, c->n, n0, cn, c->h, c->w, c->pad, c->pk_fwd, c->cout, c->out, col);
        return;
    }
    im2col(c->in, c->cin, c->n, n0, cn, c->h, c->w, c->pad, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cout, (int)(cn * hw), (int)K,
                1.0f, c->wt, (int)K, col, (int)(cn * hw), 0.0f, c->out + (size_t)n0 * hw,
                (int)((size_t)c->n * hw));
}

static void conv_bwd_task(void *vc, uint32_t task, uint32_t worker)
{
    const conv_ctx *c = vc;
    const size_t hw = (size_t)c->h * c->w, K = (size_t)c->cin * 9;
    const uint32_t n0 = task * c->chunk, cn = c->n - n0 < c->chunk ? c->n - n0 : c->chunk;
    float *col = c->col + worker * c->col_n;
    const float *dout = c->dout + (size_t)n0 * hw;
    float *dwp = c->dwp + (size_t)task * c->cout * K;
    /* as in the forward, the chunk's first image decides */
    if (c->spikes && take_spike_path(snn_sconv_count(c->in, c->cin, c->n, n0, 1, hw), c->cin, 1, hw,
                                     c->wino_dw ? max_rate_bwd_winograd : max_rate_bwd)) {
        snn_sconv_dw_chunk(c->in, c->cin, c->n, n0, cn, c->h, c->w, c->cout, c->dout, dwp, col);
    } else if (c->wino_dw) {
        snn_wconv_dw_chunk(c->in, c->cin, c->n, n0, cn, c->h, c->w, c->pad, c->dout, c->cout, dwp, col);
    } else {
        im2col(c->in, c->cin, c->n, n0, cn, c->h, c->w, c->pad, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->cout, (int)K, (int)(cn * hw),
                    1.0f, dout, (int)((size_t)c->n * hw), col, (int)(cn * hw), 0.0f, dwp, (int)K);
    }
    if (!c->din) return;
    if (c->dk_din) {
        c->dk_din->chunk(c->dout, c->cout, c->n, n0, cn, c->h, c->w, 0.0f, c->pk_din, c->cin, c->din, col);
        return;
    }
    /* din = full correlation of dout with the rotated, transposed kernels: a
     * conv with zero padding, so im2col + one GEMM with K = cout*9 (instead
     * of a K = cout GEMM into a column buffer and a col2im scatter) */
    const size_t K2 = (size_t)c->cout * 9;
    im2col(c->dout, c->cout, c->n, n0, cn, c->h, c->w, 0.0f, col);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->cin, (int)(cn * hw), (int)K2,
                1.0f, c->wflip, (int)K2, col, (int)(cn * hw), 0.0f, c->din + (size_t)n0 * hw,
                (int)((size_t)c->n * hw));
}

void snn_conv_forward(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                      int spikes, const float *wt, uint32_t cout, float *out, float *col)
{
    spikes = spikes && spike_path_mode() != SNN_SPIKE_PATH_OFF;
    SNN_ASSERT(!spikes || pad == 0.0f);
    conv_ctx c = {.in = in, .cin = cin, .n = n, .h = h, .w = w, .cout = cout, .pad = pad, .spikes = spikes,
                  .wt = wt, .out = out, .col = col};
    uint32_t tasks;
    snn_conv_plan(cin, cout, h, w, n, &c.chunk, &tasks, &c.col_n);
    float *wk = NULL, *pk = NULL;
    c.dk_fwd = dense_pick(wt, cout, cin, 0, &pk);
    c.pk_fwd = pk;
    c.max_rate = c.dk_fwd == snn_dense_kernel_of(SNN_DENSE_WINOGRAD) ? max_rate_fwd_winograd
                 : c.dk_fwd                  ? max_rate_fwd_direct
                                             : max_rate_fwd;
    if (spikes) {
        wk = malloc(snn_sconv_wk_floats(cin, cout) * sizeof(float));
        SNN_ASSERT(wk);
        snn_sconv_weights(wt, cin, cout, wk);
        c.wk = wk;
    }
    snn_par_run(tasks, conv_fwd_task, &c);
    free(wk);
    free(pk);
}

void snn_conv_backward(const float *in, uint32_t cin, uint32_t n, uint32_t h, uint32_t w, float pad,
                       int spikes, const float *wt, uint32_t cout, const float *dout, float *dw,
                       float *dwp, float *din, float *col)
{
    spikes = spikes && spike_path_mode() != SNN_SPIKE_PATH_OFF;
    SNN_ASSERT(!spikes || pad == 0.0f);
    conv_ctx c = {.in = in, .cin = cin, .n = n, .h = h, .w = w, .cout = cout, .pad = pad, .spikes = spikes,
                  .wt = wt, .dout = dout, .dwp = dwp, .din = din, .col = col};
    uint32_t tasks;
    snn_conv_plan(cin, cout, h, w, n, &c.chunk, &tasks, &c.col_n);
    const size_t nw = (size_t)cout * cin * 9;
    float *wflip = NULL, *pk = NULL;
    c.wino_dw = dense_conv_mode() == SNN_DENSE_WINOGRAD && cin >= DIRECT_MIN_IN;
    if (din) c.dk_din = dense_pick(wt, cout, cin, 1, &pk);
    c.pk_din = pk;
    if (din && !c.dk_din) {
        wflip = malloc(nw * sizeof(float));
        SNN_ASSERT(wflip);
        for (uint32_t co = 0; co < cout; co++)
            for (uint32_t ci = 0; ci < cin; ci++)
                for (int k = 0; k < 9; k++)
                    wflip[((size_t)ci * cout + co) * 9 + (size_t)(8 - k)] = wt[((size_t)co * cin + ci) * 9 + (size_t)k];
        c.wflip = wflip;
    }
    snn_par_run(tasks, conv_bwd_task, &c);
    free(wflip);
    free(pk);
    memcpy(dw, dwp, nw * sizeof(float));
    for (uint32_t t = 1; t < tasks; t++) {
        const float *p = dwp + t * nw;
        for (size_t i = 0; i < nw; i++) dw[i] += p[i];
    }
}

/* [c][n][hw] <-> [n][c*hw], a task per block of channels */
typedef struct images_ctx {
    const float *src;
    float *dst;
    uint32_t c, n, hw;
    int gather;
} images_ctx;

enum { IMAGES_CH = 8 }; /* channels per task */

static void images_task(void *vc, uint32_t task, uint32_t worker)
{
    (void)worker;
    const images_ctx *x = vc;
    const size_t in_n = (size_t)x->c * x->hw, bytes = (size_t)x->hw * sizeof(float);
    const uint32_t c1 = (task + 1) * IMAGES_CH < x->c ? (task + 1) * IMAGES_CH : x->c;
    for (uint32_t ch = task * IMAGES_CH; ch < c1; ch++)
        for (uint32_t i = 0; i < x->n; i++) {
            const size_t cm = ((size_t)ch * x->n + i) * x->hw, im = (size_t)i * in_n + (size_t)ch * x->hw;
            if (x->gather) memcpy(x->dst + im, x->src + cm, bytes);
            else memcpy(x->dst + cm, x->src + im, bytes);
        }
}

static void images_run(const float *src, uint32_t c, uint32_t n, uint32_t hw, float *dst, int gather)
{
    images_ctx x = {src, dst, c, n, hw, gather};
    snn_par_run((c + IMAGES_CH - 1) / IMAGES_CH, images_task, &x);
}

void snn_gather_images(const float *in, uint32_t c, uint32_t n, uint32_t hw, float *xt)
{
    images_run(in, c, n, hw, xt, 1);
}

void snn_scatter_images(const float *xt, uint32_t c, uint32_t n, uint32_t hw, float *out)
{
    images_run(xt, c, n, hw, out, 0);
}
