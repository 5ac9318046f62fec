/*
 * snn_kernel.c - the spike-driven accumulate-and-threshold kernel (Vitis HLS C).
 *
 * Runs a batch of images through the whole network described by a deploy
 * image (docs/deploy-image.md) with the integer semantics of
 * docs/numerics.md, bit for bit. Same source for Vitis HLS (synthesis) and
 * gcc (the `csim` device). Design notes: docs/hls-kernel.md.
 *
 *   model (gmem) --LOAD--> plan (descriptors) + on-chip memories, once per run:
 *                          wmem  int8  [weight rows][LANES]  fan-out-major, lane-padded
 *                          bmem  int32 [channel rows][LANES]
 *                          thmem int32 / polmem bit [neuron rows][LANES]  (conv/fc)
 *
 *   per image, under DATAFLOW (ping-pong channels between the stages):
 *
 *   images ─► FETCH ──pixel events──► COMPUTE ──record──► STORE ─► results
 *   (gmem)    burst the uint8 image,          │                    (gmem)
 *             emit (c,y,x,value) for           └──────────────────► trace (gmem, optional)
 *             every nonzero pixel
 *
 *   COMPUTE, for one image:
 *
 *     pixel events ─► ACCUMULATE layer 0 (value * w) ─► acc0    (once per image)
 *     for t in 0..T-1:
 *       for l in 0..L-1:
 *                   ┌──────────────── spike-address queue evq[src] ──────────┐
 *                   ▼                                                        │
 *         conv/fc/out: ACCUMULATE: per event, fetch its fan-out weight rows  │
 *                      (LANES output channels per row), add into acc[]       │
 *                      (layer 0: nothing, acc0 is reused every step)         │
 *         conv/fc:     FIRE: per row of LANES neurons: v = (u>>2) + acc + b, │
 *                      fire = pol ? v < th : v > th, u = fire ? 0 : v,       │
 *                      clear acc, append fired addresses ─► evq[dst] ────────┘
 *         pool:        POOL: (c, y/2, x/2) of every event, deduplicated
 *                      by a bitmap ─► evq[dst]
 *         out:         sums += acc + b
 *         trace on:    TRACE: set the bitmap bits of evq[dst], burst it out
 *     pred = argmax(sums), lowest index on ties
 *
 * The work of a step is proportional to its events: ACCUMULATE runs
 * events x taps x ceil(out_c/LANES) cycles (conv) or events x
 * ceil(out_c/LANES) (fc); FIRE runs out_h*out_w*ceil(out_c/LANES) cycles.
 * All arithmetic is exact in int32 (the loader's bound check), so the order
 * of events never changes a result.
 *
 * Memory layout inside the kernel: a neuron (co, y, x) of a layer lives at
 * row (y*out_w + x)*G + co/LANES, lane co%LANES, with G = ceil(out_c/LANES),
 * so the LANES channels of one pixel are read and written together: the
 * memories are reshaped along the lane dimension into one wide word per row
 * (LANES x 8 bits of weights, LANES x 32 bits of membrane, ...), which maps
 * onto URAM/BRAM without wasting width. The spike-address queues are
 * partitioned instead (LANES independent banks), so FIRE can append up to
 * LANES addresses per cycle.
 */
#include "snn_kernel.h"

#include "hls-compat.h"

#define LANES SNN_HLS_LANES
#define NEURON_ROWS (SNN_HLS_MAX_NEURONS / LANES)
#define STATE_ROWS (SNN_HLS_MAX_STATE / LANES)
#define WEIGHT_ROWS (SNN_HLS_MAX_WEIGHTS / LANES)
#define BIAS_ROWS (SNN_HLS_MAX_BIAS / LANES)
#define CLASS_ROWS ((SNN_MAX_CLASSES + LANES - 1) / LANES)
#define BITMAP_WORDS (SNN_HLS_MAX_NEURONS / 32)
/* Largest result record: 64 sums, pred, 3 x 16 counters, padded to 64 bytes. */
#define RECORD_WORDS 128
/* Pool layers' first-spike bitmaps (events counter), all pools together: a
 * pool has at most MAX_NEURONS / 4 outputs (its input is a layer of at most
 * MAX_NEURONS) and at most MAX_LAYERS - 2 layers are pools (not the first,
 * not the last), so this bound is never reached (plan_model checks it). */
#define PFIRED_WORDS ((SNN_HLS_MAX_LAYERS - 2) * ((SNN_HLS_MAX_NEURONS / 4 + 31) / 32))

/* Trip-count estimates for the reports: the default network
 * (c32,c32,p,c64,p,f128 -> 10, T = 4) on Fashion-MNIST. */
#define TC_ACC_CONV 120000
#define TC_ACC_FC 4000
#define TC_ROWS 2000
#define TC_EVENTS 4000

/* One event of a spike-address queue: a neuron of the layer's output map
 * (= the next layer's input), or a pixel of the image with its value. */
typedef struct hls_event {
    uint16_t c, y, x;
    uint8_t v; /* 1 for a spike, the pixel value for the encoding layer */
    uint8_t f; /* 1: the neuron's first spike of the image (a pixel: always) */
} hls_event;

typedef struct hls_layer {
    uint32_t kind;
    uint32_t in_c, in_h, in_w, out_c, out_h, out_w;
    uint32_t n_out;
    uint32_t groups;   /* G = ceil(out_c / LANES): rows per pixel */
    uint32_t rows;     /* out_h * out_w * G */
    uint32_t fan_rows; /* fan-out rows in the image: 9*in_c (conv), in_c*in_h*in_w (fc/out) */
    uint32_t w_row;    /* first row in wmem (fan row f, group g at w_row + f*G + g) */
    uint32_t b_row;    /* first row in bmem */
    uint32_t s_row;    /* first row in umem/thmem/polmem (conv/fc) */
    uint32_t w_off, b_off, th_off, pol_off; /* byte offsets in the image */
    uint32_t tr_off;   /* word offset of this layer's bitmap in one step of the trace */
    uint32_t pf_off;   /* pool: word offset of its first-spike bitmap in pfired */
} hls_layer;

typedef struct hls_plan {
    uint32_t err;       /* snn_hls_error */
    int32_t err_layer;  /* layer of the error, -1 = the image */
    uint64_t need;      /* size needed by the failing limit */
    uint32_t n_layers, T, n_classes;
    uint32_t in_c, in_h, in_w, n_pix;
    uint32_t tr_step;   /* trace words per step */
    uint32_t tr_words;  /* trace words per image */
    uint32_t rec_words; /* result record words (stride / 4) */
    uint32_t pf_words;  /* words of pfired in use (all pool layers) */
    hls_layer layer[SNN_HLS_MAX_LAYERS];
} hls_plan;

/* ---- on-chip memories ------------------------------------------------------
 * File-scope so that they persist across the stages; partitioned in
 * snn_kernel(). */
static int8_t wmem[WEIGHT_ROWS][LANES];
static int32_t bmem[BIAS_ROWS][LANES];
static int32_t thmem[STATE_ROWS][LANES];
static uint8_t polmem[STATE_ROWS][LANES];
static uint8_t fmem[STATE_ROWS][LANES];  /* conv/fc neuron fired at an earlier step (events) */
static int32_t umem[STATE_ROWS][LANES];  /* membrane u of every conv/fc neuron */
static int32_t acc[NEURON_ROWS][LANES];  /* accumulator of the current layer */
static int32_t acc0[NEURON_ROWS][LANES]; /* layer 0's accumulator, reused every step */
static hls_event evq[2][NEURON_ROWS][LANES]; /* spike-address queues (ping-pong) */
static uint32_t seen[BITMAP_WORDS];  /* pool: output already emitted this step */
static uint32_t tbits[BITMAP_WORDS]; /* trace bitmap of one layer and step */
static uint32_t pfired[PFIRED_WORDS]; /* pool output emitted at an earlier step (events) */

#ifndef __SYNTHESIS__
static uint64_t iters; /* loop iterations of the last run (cycle estimate) */
#endif

static uint32_t div_up(uint32_t a, uint32_t b)
{
    return (a + b - 1) / b;
}

/* ============================================================================
 * Plan: read the header and descriptors, lay the layers out in the on-chip
 * memories, check every size against the compile-time maxima.
 * ========================================================================== */

static void plan_fail(hls_plan *p, uint32_t err, int32_t layer, uint64_t need)
{
    if (p->err != SNN_HLS_OK) return;
    p->err = err;
    p->err_layer = layer;
    p->need = need;
}

static void plan_model(const uint32_t *m, hls_plan *p)
{
    p->err = SNN_HLS_OK;
    p->err_layer = -1;
    p->need = 0;
    p->n_layers = m[4];
    p->T = m[5];
    p->in_c = m[6];
    p->in_h = m[7];
    p->in_w = m[8];
    p->n_classes = m[9];
    p->n_pix = 0;
    p->tr_step = p->tr_words = p->rec_words = p->pf_words = 0;
    const uint32_t desc = m[10] / 4u;
    if (m[0] != SNN_DEPLOY_MAGIC || p->n_layers < 1 || p->n_layers > SNN_HLS_MAX_LAYERS ||
        p->T < 1 || p->T > SNN_HLS_MAX_T || p->n_classes < 2 ||
        p->n_classes > SNN_MAX_CLASSES || p->in_c < 1 || p->in_h < 1 || p->in_w < 1 ||
        p->in_c > 65536 || p->in_h > 65536 || p->in_w > 65536 || desc < 16) {
        plan_fail(p, SNN_HLS_E_FORMAT, -1, 0);
        return;
    }
    uint64_t pix = (uint64_t)p->in_c * p->in_h * p->in_w;
    if (pix > SNN_HLS_MAX_NEURONS) {
        plan_fail(p, SNN_HLS_E_NEURONS, -1, pix);
        return;
    }
    p->n_pix = (uint32_t)pix;
    p->rec_words = (((p->n_classes + 1u + 3u * p->n_layers) * 4u + 63u) & ~63u) / 4u;

    uint32_t c = p->in_c, h = p->in_h, w = p->in_w;
    uint64_t w_rows = 0, b_rows = 0, s_rows = 0;
    uint32_t tr = 0, pf = 0;
PLAN_LAYERS:
    for (uint32_t l = 0; l < p->n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16 avg=7
        const uint32_t *d = m + desc + 20u * l;
        hls_layer *ly = &p->layer[l];
        ly->kind = d[0];
        ly->in_c = d[1];
        ly->in_h = d[2];
        ly->in_w = d[3];
        ly->out_c = d[4];
        ly->out_h = d[5];
        ly->out_w = d[6];
        ly->w_off = d[8];
        ly->b_off = d[10];
        ly->th_off = d[12];
        ly->pol_off = d[14];
        int ok = ly->in_c == c && ly->in_h == h && ly->in_w == w && ly->out_c >= 1 &&
                 ly->out_h >= 1 && ly->out_w >= 1 && ly->out_c <= 65536 &&
                 ly->out_h <= 65536 && ly->out_w <= 65536;
        int last = l + 1 == p->n_layers;
        switch (ly->kind) {
        case SNN_LAYER_CONV:
            ok = ok && !last && ly->out_h == h && ly->out_w == w;
            ly->fan_rows = 9u * c;
            break;
        case SNN_LAYER_POOL:
            ok = ok && !last && ly->out_c == c && ly->out_h == h / 2 && ly->out_w == w / 2;
            ly->fan_rows = 0;
            if (ok && l == 0) plan_fail(p, SNN_HLS_E_LAYER0, 0, 0);
            break;
        case SNN_LAYER_FC:
        case SNN_LAYER_OUT:
            ok = ok && ly->out_h == 1 && ly->out_w == 1 && last == (ly->kind == SNN_LAYER_OUT) &&
                 (!last || ly->out_c == p->n_classes);
            ly->fan_rows = c * h * w; /* <= SNN_HLS_MAX_NEURONS: checked as the previous out */
            break;
        default:
            ok = 0;
            break;
        }
        if (!ok) {
            plan_fail(p, SNN_HLS_E_FORMAT, (int32_t)l, 0);
            return;
        }
        uint64_t n_out = (uint64_t)ly->out_c * ly->out_h * ly->out_w;
        uint64_t groups = div_up(ly->out_c, LANES);
        /* Pool keeps no per-neuron memory: only its queue and bitmap, n_out. */
        uint64_t slots = ly->kind == SNN_LAYER_POOL ? n_out
                                                    : (uint64_t)ly->out_h * ly->out_w * groups * LANES;
        if (n_out > SNN_HLS_MAX_NEURONS || slots > SNN_HLS_MAX_NEURONS) {
            plan_fail(p, SNN_HLS_E_NEURONS, (int32_t)l, slots);
            return;
        }
        ly->n_out = (uint32_t)n_out;
        ly->groups = (uint32_t)groups;
        ly->rows = (uint32_t)(slots / LANES);
        ly->w_row = ly->b_row = ly->s_row = 0;
        if (ly->kind != SNN_LAYER_POOL) {
            ly->w_row = (uint32_t)(w_rows < WEIGHT_ROWS ? w_rows : 0);
            ly->b_row = (uint32_t)(b_rows < BIAS_ROWS ? b_rows : 0);
            w_rows += (uint64_t)ly->fan_rows * groups;
            b_rows += groups;
        }
        if (ly->kind == SNN_LAYER_CONV || ly->kind == SNN_LAYER_FC) {
            ly->s_row = (uint32_t)(s_rows < STATE_ROWS ? s_rows : 0);
            s_rows += ly->rows;
        }
        ly->tr_off = tr;
        if (!last) tr += div_up(ly->n_out, 32);
        ly->pf_off = 0;
        if (ly->kind == SNN_LAYER_POOL) {
            ly->pf_off = pf;
            pf += div_up(ly->n_out, 32);
            if (pf > PFIRED_WORDS) { /* cannot happen (see PFIRED_WORDS) */
                plan_fail(p, SNN_HLS_E_NEURONS, (int32_t)l, n_out);
                return;
            }
        }
        c = ly->out_c;
        h = ly->out_h;
        w = ly->out_w;
    }
    if (w_rows > WEIGHT_ROWS) plan_fail(p, SNN_HLS_E_WEIGHTS, -1, w_rows * LANES);
    if (s_rows > STATE_ROWS) plan_fail(p, SNN_HLS_E_STATE, -1, s_rows * LANES);
    if (b_rows > BIAS_ROWS) plan_fail(p, SNN_HLS_E_BIAS, -1, b_rows * LANES);
    p->tr_step = tr;
    p->tr_words = tr * p->T + p->n_classes;
    p->pf_words = pf;
}

/* ============================================================================
 * LOAD: copy weights, biases, thresholds and polarity into the lane-banked
 * memories (padding lanes: weight 0, bias 0, threshold INT32_MAX).
 * ========================================================================== */

static uint8_t model_byte(const uint32_t *m, uint32_t addr)
{
    return (uint8_t)(m[addr >> 2] >> (8u * (addr & 3u)));
}

static void load_layer(const uint32_t *m, const hls_layer *ly)
{
    const uint32_t G = ly->groups, out_c = ly->out_c;
    /* Weights: fan row f (one input event's tap), group g, lane j. One byte
     * per cycle into a row register; the row is written when it is full
     * (the memories are reshaped: one wide word per row). */
    int8_t wrow[LANES];
#pragma HLS ARRAY_PARTITION variable=wrow complete
    uint32_t f = 0, g = 0, j = 0;
    const uint32_t n_w = ly->fan_rows * G * LANES;
LOAD_WEIGHTS:
    for (uint32_t k = 0; k < n_w; k++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=1048576 avg=430000
#pragma HLS PIPELINE II=1
        uint32_t co = g * LANES + j;
        int8_t wv = 0;
        if (co < out_c) wv = (int8_t)model_byte(m, ly->w_off + f * out_c + co);
        wrow[j] = wv;
        if (j == LANES - 1) {
        LOAD_WEIGHTS_ROW:
            for (uint32_t jj = 0; jj < LANES; jj++) {
#pragma HLS UNROLL
                wmem[ly->w_row + f * G + g][jj] = wrow[jj];
            }
        }
        if (++j == LANES) {
            j = 0;
            if (++g == G) {
                g = 0;
                f++;
            }
        }
    }
    SNN_HLS_COUNT(iters, n_w);
LOAD_BIAS:
    for (uint32_t r = 0; r < G; r++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512 avg=4
    LOAD_BIAS_LANES:
        for (uint32_t jj = 0; jj < LANES; jj++) {
#pragma HLS PIPELINE II=1
            uint32_t co = r * LANES + jj;
            bmem[ly->b_row + r][jj] = co < out_c ? (int32_t)m[ly->b_off / 4u + co] : 0;
        }
    }
    SNN_HLS_COUNT(iters, G * LANES);
    if (ly->kind != SNN_LAYER_CONV && ly->kind != SNN_LAYER_FC) return;
    /* Thresholds and polarity: image order is CHW (n = co*HW + p), kernel
     * order is row (p*G + g), lane j. */
    const uint32_t hw = ly->out_h * ly->out_w, n_s = ly->rows * LANES;
    int32_t trow[LANES];
    uint8_t prow[LANES];
#pragma HLS ARRAY_PARTITION variable=trow complete
#pragma HLS ARRAY_PARTITION variable=prow complete
    uint32_t p = 0;
    g = j = 0;
LOAD_STATE:
    for (uint32_t k = 0; k < n_s; k++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=131072 avg=63000
#pragma HLS PIPELINE II=1
        uint32_t co = g * LANES + j;
        int32_t th = INT32_MAX;
        uint8_t pol = 0;
        if (co < out_c) {
            uint32_t n = co * hw + p;
            th = (int32_t)m[ly->th_off / 4u + n];
            pol = (uint8_t)((model_byte(m, ly->pol_off + (n >> 3)) >> (n & 7u)) & 1u);
        }
        trow[j] = th;
        prow[j] = pol;
        if (j == LANES - 1) {
        LOAD_STATE_ROW:
            for (uint32_t jj = 0; jj < LANES; jj++) {
#pragma HLS UNROLL
                thmem[ly->s_row + p * G + g][jj] = trow[jj];
                polmem[ly->s_row + p * G + g][jj] = prow[jj];
            }
        }
        if (++j == LANES) {
            j = 0;
            if (++g == G) {
                g = 0;
                p++;
            }
        }
    }
    SNN_HLS_COUNT(iters, n_s);
}

static void load_model(const uint32_t *m, const hls_plan *p)
{
LOAD_LAYERS:
    for (uint32_t l = 0; l < p->n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16 avg=7
        if (p->layer[l].kind != SNN_LAYER_POOL) load_layer(m, &p->layer[l]);
    }
}

/* ============================================================================
 * FETCH: burst one image in, emit an event per nonzero pixel, pixel-major
 * (y, x, then c) so that the conv accumulate never revisits a row within a
 * few cycles (see acc_conv).
 * ========================================================================== */

static uint32_t fetch_image(const uint8_t *images, uint32_t img, uint32_t in_c, uint32_t in_h,
                            uint32_t in_w, hls_event pix[NEURON_ROWS][LANES])
{
    SNN_HLS_LOCAL uint8_t buf[SNN_HLS_MAX_NEURONS];
    const uint32_t hw = in_h * in_w, n = in_c * hw;
    const uint8_t *src = images + (uint64_t)img * n;
FETCH_BURST:
    for (uint32_t k = 0; k < n; k++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536 avg=784
#pragma HLS PIPELINE II=1
        buf[k] = src[k];
    }
    uint32_t cnt = 0, c = 0, y = 0, x = 0;
FETCH_EVENTS:
    for (uint32_t k = 0; k < n; k++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536 avg=784
#pragma HLS PIPELINE II=1
        uint8_t v = buf[c * hw + y * in_w + x];
        if (v) {
            hls_event e = {(uint16_t)c, (uint16_t)y, (uint16_t)x, v, 1};
            pix[cnt / LANES][cnt % LANES] = e;
            cnt++;
        }
        if (++c == in_c) {
            c = 0;
            if (++x == in_w) {
                x = 0;
                y++;
            }
        }
    }
    SNN_HLS_COUNT(iters, 2u * n);
    return cnt;
}

/* ============================================================================
 * ACCUMULATE: each event fetches its fan-out weight rows and adds LANES
 * products per cycle into acc. Returns the synaptic operations performed
 * (docs/numerics.md: synapses reached, padding lanes not counted) and sets
 * *events to the synapses reached by the events flagged as their neuron's
 * first spike of the image (the events counter).
 * ========================================================================== */

static uint32_t group_lanes(const hls_layer *ly, uint32_t g)
{
    uint32_t left = ly->out_c - g * LANES;
    return left < LANES ? left : LANES;
}

/* Conv: event (c, y, x) reaches outputs (co, y+1-ky, x+1-kx) through
 * W[c][ky][kx][co]. One iteration = one (event, tap, group); taps outside the
 * map are skipped without a write. Iteration order event > ky > kx > group.
 *
 * Why II=1 holds with acc read-modify-written every cycle: two iterations
 * that touch the same row are at least 7 apart. Within an event every
 * (tap, group) is a different row. Events come in non-decreasing y (FETCH
 * and FIRE emit pixel-major, POOL keeps the order of its input), so for
 * event e+1 to reach a row that e reached, its tap must have ky' >= ky; the
 * iteration distance is then 9G + (3(ky'-ky) + (kx'-kx))G >= 9G - 2G = 7G.
 * Events further apart are 9G further still. */
static uint32_t acc_conv(const hls_layer *ly, hls_event src[NEURON_ROWS][LANES], uint32_t n_ev,
                         uint32_t *events)
{
    const uint32_t G = ly->groups, H = ly->out_h, W = ly->out_w;
    const uint32_t n_it = n_ev * 9u * G;
    uint32_t synops = 0, first = 0, e = 0, ky = 0, kx = 0, g = 0;
#ifdef SNN_HLS_CHECK_DISTANCE
    /* Software check of the DEPENDENCE pragma below: the rows written by the
     * last 6 iterations (UINT32_MAX = no write). */
    uint32_t recent[6] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
#endif
ACC_CONV:
    for (uint32_t it = 0; it < n_it; it++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=9437184 avg=TC_ACC_CONV
#pragma HLS PIPELINE II=1
#pragma HLS DEPENDENCE variable=acc type=inter direction=RAW distance=7 dependent=true
        hls_event ev = src[e / LANES][e % LANES];
        int32_t yo = (int32_t)ev.y + 1 - (int32_t)ky;
        int32_t xo = (int32_t)ev.x + 1 - (int32_t)kx;
        if (yo >= 0 && yo < (int32_t)H && xo >= 0 && xo < (int32_t)W) {
            uint32_t wr = ly->w_row + ((uint32_t)ev.c * 9u + ky * 3u + kx) * G + g;
            uint32_t ar = ((uint32_t)yo * W + (uint32_t)xo) * G + g;
        ACC_CONV_LANES:
            for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
                acc[ar][j] += (int32_t)ev.v * (int32_t)wmem[wr][j];
            }
            uint32_t reached = group_lanes(ly, g);
            synops += reached;
            if (ev.f) first += reached;
        }
#ifdef SNN_HLS_CHECK_DISTANCE
        {
            uint32_t row = yo >= 0 && yo < (int32_t)H && xo >= 0 && xo < (int32_t)W
                               ? ((uint32_t)yo * W + (uint32_t)xo) * G + g
                               : UINT32_MAX;
            for (int q = 0; q < 6; q++) SNN_ASSERT(row == UINT32_MAX || recent[q] != row);
            for (int q = 5; q > 0; q--) recent[q] = recent[q - 1];
            recent[0] = row;
        }
#endif
        if (++g == G) {
            g = 0;
            if (++kx == 3) {
                kx = 0;
                if (++ky == 3) {
                    ky = 0;
                    e++;
                }
            }
        }
    }
    SNN_HLS_COUNT(iters, n_it);
    *events = first;
    return synops;
}

/* FC and output layer: event i reaches every output o through W[i][o].
 * Group-major: for each group of LANES outputs, stream every event's weight
 * row into a register accumulator (no memory dependence), then write acc. */
static uint32_t acc_fc(const hls_layer *ly, hls_event src[NEURON_ROWS][LANES], uint32_t n_ev,
                       uint32_t *events)
{
    const uint32_t G = ly->groups;
    uint32_t first = 0;
ACC_FC_GROUPS:
    for (uint32_t g = 0; g < G; g++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=4096 avg=8
        int32_t r[LANES];
#pragma HLS ARRAY_PARTITION variable=r complete
    ACC_FC_CLEAR:
        for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
            r[j] = 0;
        }
    ACC_FC:
        for (uint32_t e = 0; e < n_ev; e++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=65536 avg=TC_ACC_FC
#pragma HLS PIPELINE II=1
            hls_event ev = src[e / LANES][e % LANES];
            uint32_t i = ((uint32_t)ev.c * ly->in_h + ev.y) * ly->in_w + ev.x;
            uint32_t wr = ly->w_row + i * G + g;
            if (g == 0 && ev.f) first++;
        ACC_FC_LANES:
            for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
                r[j] += (int32_t)ev.v * (int32_t)wmem[wr][j];
            }
        }
    ACC_FC_WRITE:
        for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
            acc[g][j] = r[j];
        }
    }
    SNN_HLS_COUNT(iters, (uint64_t)n_ev * G + G);
    *events = first * ly->out_c;
    return n_ev * ly->out_c;
}

static uint32_t accumulate(const hls_layer *ly, hls_event src[NEURON_ROWS][LANES], uint32_t n_ev,
                           uint32_t *events)
{
    if (ly->kind == SNN_LAYER_CONV) return acc_conv(ly, src, n_ev, events);
    return acc_fc(ly, src, n_ev, events);
}

/* Layer 0 accumulates once per image; park its accumulator in acc0. */
static void keep_acc0(const hls_layer *ly)
{
KEEP_ACC0:
    for (uint32_t r = 0; r < ly->rows; r++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536 avg=1568
#pragma HLS PIPELINE II=1
    KEEP_ACC0_LANES:
        for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
            acc0[r][j] = acc[r][j];
            acc[r][j] = 0;
        }
    }
    SNN_HLS_COUNT(iters, ly->rows);
}

/* ============================================================================
 * FIRE: leak, integrate, compare, reset one row of LANES neurons per cycle and
 * append the fired addresses to the queue, each flagged if it is the neuron's
 * first spike of the image (fmem beside umem, cleared at t = 0 like u).
 * Returns the number of spikes.
 * ========================================================================== */

static uint32_t fire(const hls_layer *ly, uint32_t t, int first, hls_event dst[NEURON_ROWS][LANES])
{
    const uint32_t G = ly->groups, W = ly->out_w, out_c = ly->out_c;
    uint32_t cnt = 0, g = 0, y = 0, x = 0;
FIRE_ROWS:
    for (uint32_t r = 0; r < ly->rows; r++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=65536 avg=TC_ROWS
#pragma HLS PIPELINE II=1
        hls_event packed[LANES];
#pragma HLS ARRAY_PARTITION variable=packed complete
        uint32_t n = 0;
        const uint32_t sr = ly->s_row + r, br = ly->b_row + g;
    FIRE_LANES:
        for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
            int32_t a = first ? acc0[r][j] : acc[r][j];
            if (!first) acc[r][j] = 0;
            int32_t u = t ? umem[sr][j] : 0; /* u = 0 at t = 0 of every image */
            int32_t v = (u >> SNN_LEAK_SHIFT) + a + bmem[br][j];
            int32_t th = thmem[sr][j];
            uint32_t co = g * LANES + j;
            int f = co < out_c && (polmem[sr][j] ? v < th : v > th);
            uint8_t was = t ? fmem[sr][j] : 0; /* fired at an earlier step of this image */
            umem[sr][j] = f ? 0 : v;
            fmem[sr][j] = (uint8_t)(was | f);
            if (f) {
                hls_event e = {(uint16_t)co, (uint16_t)y, (uint16_t)x, 1, (uint8_t)!was};
                packed[n] = e;
                n++;
            }
        }
        /* Append packed[0..n) at cnt: slot cnt+k lives in bank (cnt+k) % LANES,
         * so every bank takes at most one write per row. */
    FIRE_BANKS:
        for (uint32_t b = 0; b < LANES; b++) {
#pragma HLS UNROLL
            uint32_t k = (b - cnt) & (LANES - 1u);
            if (k < n) dst[(cnt + k) / LANES][b] = packed[k];
        }
        cnt += n;
        if (++g == G) {
            g = 0;
            if (++x == W) {
                x = 0;
                y++;
            }
        }
    }
    SNN_HLS_COUNT(iters, ly->rows);
    return cnt;
}

/* Output layer: sums += acc + b, no leak, no firing. */
static void integrate_out(const hls_layer *ly, int first, int32_t sums[CLASS_ROWS][LANES])
{
OUT_ROWS:
    for (uint32_t g = 0; g < ly->groups; g++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64 avg=1
#pragma HLS PIPELINE II=1
    OUT_LANES:
        for (uint32_t j = 0; j < LANES; j++) {
#pragma HLS UNROLL
            int32_t a = first ? acc0[g][j] : acc[g][j];
            if (!first) acc[g][j] = 0;
            if (g * LANES + j < ly->out_c) sums[g][j] += a + bmem[ly->b_row + g][j];
        }
    }
    SNN_HLS_COUNT(iters, ly->groups);
}

/* ============================================================================
 * POOL: 2x2 OR of spikes = the set of (c, y/2, x/2); a bitmap drops
 * duplicates, a second pass over the output queue clears it. A second bitmap
 * (the layer's part of pfired, cleared once per image) flags each output's
 * first spike of the image.
 * ========================================================================== */

static uint32_t pool(const hls_layer *ly, hls_event src[NEURON_ROWS][LANES], uint32_t n_in,
                     hls_event dst[NEURON_ROWS][LANES])
{
    const uint32_t H = ly->out_h, W = ly->out_w;
    uint32_t cnt = 0;
POOL:
    for (uint32_t e = 0; e < n_in; e++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=65536 avg=TC_EVENTS
#pragma HLS PIPELINE II=1
        hls_event ev = src[e / LANES][e % LANES];
        uint32_t y = ev.y >> 1, x = ev.x >> 1;
        if (y < H && x < W) {
            uint32_t n = ((uint32_t)ev.c * H + y) * W + x;
            uint32_t bit = 1u << (n & 31u);
            if (!(seen[n >> 5] & bit)) {
                seen[n >> 5] |= bit;
                const uint32_t pw = ly->pf_off + (n >> 5);
                const uint32_t old = pfired[pw];
                pfired[pw] = old | bit;
                hls_event o = {ev.c, (uint16_t)y, (uint16_t)x, 1, (uint8_t)!(old & bit)};
                dst[cnt / LANES][cnt % LANES] = o;
                cnt++;
            }
        }
    }
POOL_CLEAR:
    for (uint32_t e = 0; e < cnt; e++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=65536 avg=TC_EVENTS
#pragma HLS PIPELINE II=1
        hls_event o = dst[e / LANES][e % LANES];
        seen[(((uint32_t)o.c * H + o.y) * W + o.x) >> 5] = 0;
    }
    SNN_HLS_COUNT(iters, (uint64_t)n_in + cnt);
    return cnt;
}

/* ============================================================================
 * TRACE: the layer's output spikes at this step as a CHW bitmap.
 * ========================================================================== */

static void write_trace(const hls_layer *ly, hls_event q[NEURON_ROWS][LANES], uint32_t cnt,
                        uint32_t *out)
{
    const uint32_t H = ly->out_h, W = ly->out_w, words = div_up(ly->n_out, 32);
TRACE_SET:
    for (uint32_t e = 0; e < cnt; e++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=65536 avg=TC_EVENTS
#pragma HLS PIPELINE II=1
        hls_event o = q[e / LANES][e % LANES];
        uint32_t n = ((uint32_t)o.c * H + o.y) * W + o.x;
        tbits[n >> 5] |= 1u << (n & 31u);
    }
TRACE_BURST:
    for (uint32_t k = 0; k < words; k++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=2048 avg=800
#pragma HLS PIPELINE II=1
        out[k] = tbits[k];
        tbits[k] = 0;
    }
    SNN_HLS_COUNT(iters, (uint64_t)cnt + words);
}

/* ============================================================================
 * COMPUTE: one image, step-major (all layers at t, then t+1), like the
 * golden model; the trace is written in the same order.
 * ========================================================================== */

static void compute_image(hls_event pix[NEURON_ROWS][LANES], uint32_t n_pix_ev, const hls_plan *p,
                          uint32_t *trace, uint32_t img, uint32_t rec[RECORD_WORDS])
{
    uint32_t spikes[SNN_HLS_MAX_LAYERS], synops[SNN_HLS_MAX_LAYERS], events[SNN_HLS_MAX_LAYERS];
    int32_t sums[CLASS_ROWS][LANES];
#pragma HLS ARRAY_PARTITION variable=sums dim=2 complete
COMPUTE_INIT:
    for (uint32_t l = 0; l < SNN_HLS_MAX_LAYERS; l++) {
#pragma HLS UNROLL
        spikes[l] = synops[l] = events[l] = 0;
    }
    /* the pools' first-spike bitmaps start empty for every image */
COMPUTE_PFIRED:
    for (uint32_t k = 0; k < p->pf_words; k++) {
#pragma HLS LOOP_TRIPCOUNT min=0 max=7168 avg=294
#pragma HLS PIPELINE II=1
        pfired[k] = 0;
    }
    SNN_HLS_COUNT(iters, p->pf_words);
COMPUTE_SUMS:
    for (uint32_t g = 0; g < CLASS_ROWS; g++) {
#pragma HLS PIPELINE II=1
    COMPUTE_SUMS_LANES:
        for (uint32_t j = 0; j < LANES; j++) sums[g][j] = 0;
    }
    uint32_t *tr = trace ? trace + (uint64_t)img * p->tr_words : 0;

    /* Encoding layer: the image is the same at every step. */
    synops[0] = accumulate(&p->layer[0], pix, n_pix_ev, &events[0]);
    keep_acc0(&p->layer[0]);

STEPS:
    for (uint32_t t = 0; t < p->T; t++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16 avg=4
        uint32_t n_ev = 0;
    LAYERS:
        for (uint32_t l = 0; l < p->n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16 avg=7
            const hls_layer *ly = &p->layer[l];
            const uint32_t dst = l & 1u, src = dst ^ 1u;
            uint32_t n_out = 0;
            if (ly->kind == SNN_LAYER_POOL) {
                n_out = pool(ly, evq[src], n_ev, evq[dst]);
            } else {
                if (l > 0) {
                    uint32_t ev = 0;
                    synops[l] += accumulate(ly, evq[src], n_ev, &ev);
                    events[l] += ev;
                }
                if (ly->kind == SNN_LAYER_OUT)
                    integrate_out(ly, l == 0, sums);
                else
                    n_out = fire(ly, t, l == 0, evq[dst]);
            }
            spikes[l] += n_out;
            if (tr && l + 1 < p->n_layers)
                write_trace(ly, evq[dst], n_out, tr + t * p->tr_step + ly->tr_off);
            n_ev = n_out;
        }
    }

    /* Arg-max, lowest index on ties; the record. */
    int32_t best = 0;
    int32_t best_sum = sums[0][0];
    const uint32_t nc = p->n_classes, nl = p->n_layers;
RECORD:
    for (uint32_t k = 0; k < RECORD_WORDS; k++) {
#pragma HLS PIPELINE II=1
        uint32_t wv = 0;
        if (k < nc) {
            int32_t s = sums[k / LANES][k % LANES];
            if (s > best_sum) {
                best_sum = s;
                best = (int32_t)k;
            }
            wv = (uint32_t)s;
            if (tr) tr[p->T * p->tr_step + k] = wv;
        } else if (k == nc) {
            wv = (uint32_t)best;
        } else if (k < nc + 1u + nl) {
            wv = spikes[k - nc - 1u];
        } else if (k < nc + 1u + 2u * nl) {
            wv = synops[k - nc - 1u - nl];
        } else if (k < nc + 1u + 3u * nl) {
            wv = events[k - nc - 1u - 2u * nl];
        }
        rec[k] = wv;
    }
    SNN_HLS_COUNT(iters, RECORD_WORDS);
}

/* ============================================================================
 * STORE and the per-image dataflow region.
 * ========================================================================== */

static void store_result(uint32_t *results, uint32_t img, uint32_t rec_words,
                         const uint32_t rec[RECORD_WORDS])
{
    uint32_t *dst = results + (uint64_t)img * rec_words;
STORE:
    for (uint32_t k = 0; k < rec_words; k++) {
#pragma HLS LOOP_TRIPCOUNT min=16 max=128 avg=32
#pragma HLS PIPELINE II=1
        dst[k] = rec[k];
    }
    SNN_HLS_COUNT(iters, rec_words);
}

/* The dataflow region: three processes, scalars in, arrays between them
 * (canonical form: no computation in the region itself). */
static void run_image(const uint8_t *images, uint32_t *results, uint32_t *trace, uint32_t img,
                      uint32_t in_c, uint32_t in_h, uint32_t in_w, uint32_t rec_words,
                      const hls_plan *p)
{
#pragma HLS DATAFLOW
    SNN_HLS_LOCAL hls_event pix[NEURON_ROWS][LANES];
#pragma HLS ARRAY_PARTITION variable=pix dim=2 complete
    uint32_t rec[RECORD_WORDS];
    uint32_t n = fetch_image(images, img, in_c, in_h, in_w, pix);
    compute_image(pix, n, p, trace, img, rec);
    store_result(results, img, rec_words, rec);
}

/* An image the kernel cannot hold: pred = -1 in every record it can place. */
static void refuse(uint32_t *results, const hls_plan *p, uint32_t n_images)
{
    if (p->err == SNN_HLS_E_FORMAT || !p->rec_words) return; /* record layout unknown */
REFUSE:
    for (uint32_t i = 0; i < n_images; i++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256 avg=256
    REFUSE_WORDS:
        for (uint32_t k = 0; k < p->rec_words; k++) {
#pragma HLS LOOP_TRIPCOUNT min=16 max=128 avg=32
#pragma HLS PIPELINE II=1
            results[(uint64_t)i * p->rec_words + k] = k == p->n_classes ? 0xFFFFFFFFu : 0u;
        }
    }
}

/* ============================================================================
 * Top function.
 * ========================================================================== */

void snn_kernel(const uint32_t *model, const uint8_t *images, uint32_t *results, uint32_t *trace,
                uint32_t n_images)
{
#pragma HLS INTERFACE m_axi port=model offset=slave bundle=gmem depth=262144 max_widen_bitwidth=512
#pragma HLS INTERFACE m_axi port=images offset=slave bundle=gmem depth=200704 max_widen_bitwidth=512
#pragma HLS INTERFACE m_axi port=results offset=slave bundle=gmem depth=8192 max_widen_bitwidth=512
#pragma HLS INTERFACE m_axi port=trace offset=slave bundle=gmem depth=2400000 max_widen_bitwidth=512
#pragma HLS INTERFACE s_axilite port=model bundle=control offset=0x10
#pragma HLS INTERFACE s_axilite port=images bundle=control offset=0x1c
#pragma HLS INTERFACE s_axilite port=results bundle=control offset=0x28
#pragma HLS INTERFACE s_axilite port=trace bundle=control offset=0x34
#pragma HLS INTERFACE s_axilite port=n_images bundle=control offset=0x40
#pragma HLS INTERFACE s_axilite port=return bundle=control
#pragma HLS ARRAY_RESHAPE variable=wmem dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=bmem dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=thmem dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=polmem dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=fmem dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=umem dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=acc dim=2 complete
#pragma HLS ARRAY_RESHAPE variable=acc0 dim=2 complete
#pragma HLS ARRAY_PARTITION variable=evq dim=3 complete
#pragma HLS BIND_STORAGE variable=wmem type=ram_2p impl=uram
#pragma HLS BIND_STORAGE variable=thmem type=ram_2p impl=uram
#pragma HLS BIND_STORAGE variable=umem type=ram_2p impl=uram
#pragma HLS AGGREGATE variable=evq
    static hls_plan plan;
#ifndef __SYNTHESIS__
    iters = 0;
#endif
    plan_model(model, &plan);
    if (plan.err != SNN_HLS_OK) {
        refuse(results, &plan, n_images);
        return;
    }
    load_model(model, &plan);
    const uint32_t in_c = plan.in_c, in_h = plan.in_h, in_w = plan.in_w;
    const uint32_t rec_words = plan.rec_words;
IMAGES:
    for (uint32_t i = 0; i < n_images; i++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256 avg=256
        run_image(images, results, trace, i, in_c, in_h, in_w, rec_words, &plan);
    }
}

/* ============================================================================
 * Software side (csim): the loader's capacity check and the variant table
 * entry of this build.
 * ========================================================================== */
#ifndef __SYNTHESIS__
#include <string.h>

uint64_t snn_hls_iterations(void)
{
    return iters;
}

snn_status snn_hls_check(const snn_net *net)
{
    static hls_plan p; /* ~1.5 KiB; static keeps kernel-sized frames off small stacks */
    memset(&p, 0, sizeof p);
    if (!net || !net->bytes || net->size < SNN_DEPLOY_HDR_BYTES + SNN_DEPLOY_DESC_BYTES ||
        ((uintptr_t)net->bytes & 3u))
        return snn_fail(SNN_ERR_ARG, "HLS kernel: no parsed, 4-byte aligned deploy image to check");
    plan_model((const uint32_t *)net->bytes, &p);
    char where[32];
    if (p.err_layer >= 0)
        snprintf(where, sizeof where, "layer %d", (int)p.err_layer);
    else
        snprintf(where, sizeof where, "the network");
    switch ((snn_hls_error)p.err) {
    case SNN_HLS_OK:
        return SNN_OK;
    case SNN_HLS_E_FORMAT:
        return snn_fail(SNN_ERR_FORMAT, "HLS kernel: %s: inconsistent header or descriptor",
                        p.err_layer >= 0 ? where : "header");
    case SNN_HLS_E_LAYER0:
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "HLS kernel: layer 0 is a pool; the kernel pools spikes, not pixels");
    case SNN_HLS_E_NEURONS: {
        uint64_t raw = p.err_layer >= 0 && (uint32_t)p.err_layer < net->n_layers
                           ? net->layers[p.err_layer].n_out
                           : (uint64_t)net->hdr->in_c * net->hdr->in_h * net->hdr->in_w;
        char fix[160];
        if (p.need <= 65536)
            snprintf(fix, sizeof fix, "rebuild with -DSNN_HLS_MAX_NEURONS=%llu",
                     (unsigned long long)((p.need + 31) / 32 * 32));
        else if (raw <= 65536)
            snprintf(fix, sizeof fix,
                     "the layer has %llu neurons: a build with fewer lanes pads less "
                     "(--lanes 1 pads none)",
                     (unsigned long long)raw);
        else
            snprintf(fix, sizeof fix, "the kernel addresses at most 65536 neurons per layer");
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "HLS kernel (%u lanes): %s needs %llu neuron slots (padded to whole lane "
                        "groups) but SNN_HLS_MAX_NEURONS is %u; %s",
                        (unsigned)LANES, p.err_layer >= 0 ? where : "the input image",
                        (unsigned long long)p.need, (unsigned)SNN_HLS_MAX_NEURONS, fix);
    }
    case SNN_HLS_E_STATE:
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "HLS kernel (%u lanes): conv/fc layers need %llu membrane/threshold slots "
                        "but SNN_HLS_MAX_STATE is %u; rebuild with -DSNN_HLS_MAX_STATE=%llu",
                        (unsigned)LANES, (unsigned long long)p.need, (unsigned)SNN_HLS_MAX_STATE,
                        (unsigned long long)p.need);
    case SNN_HLS_E_WEIGHTS:
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "HLS kernel (%u lanes): weights need %llu bytes (padded to whole lane "
                        "groups) but SNN_HLS_MAX_WEIGHTS is %u; rebuild with "
                        "-DSNN_HLS_MAX_WEIGHTS=%llu",
                        (unsigned)LANES, (unsigned long long)p.need, (unsigned)SNN_HLS_MAX_WEIGHTS,
                        (unsigned long long)p.need);
    case SNN_HLS_E_BIAS:
        return snn_fail(SNN_ERR_UNSUPPORTED,
                        "HLS kernel (%u lanes): biases need %llu channel slots but "
                        "SNN_HLS_MAX_BIAS is %u; rebuild with -DSNN_HLS_MAX_BIAS=%llu",
                        (unsigned)LANES, (unsigned long long)p.need, (unsigned)SNN_HLS_MAX_BIAS,
                        (unsigned long long)p.need);
    }
    return snn_fail(SNN_ERR_UNSUPPORTED, "HLS kernel: unknown capacity error %u", p.err);
}

#ifndef SNN_HLS_VARIANT
#define SNN_HLS_VARIANT snn_hls_variant_default
#endif
extern const snn_hls_variant SNN_HLS_VARIANT;
const snn_hls_variant SNN_HLS_VARIANT = {LANES, snn_kernel, snn_hls_check, snn_hls_iterations};
#endif
