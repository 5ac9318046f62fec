/*
 * snn_kernel.c - the layer-pipeline kernel in Vitis HLS C: the architecture
 * of the RTL kernel (rtl/snn_kernel.sv, docs/rtl-pipeline.md) with the same
 * parameters (snn_kernel.h), bit for bit the integer semantics of
 * docs/numerics.md. Same source for Vitis HLS (synthesis) and gcc (the
 * `csim` device). Design notes and the cycle model: docs/hls-kernel.md.
 *
 *   model (gmem) --LOAD--> map the layers onto the fixed stages (the RTL
 *                          loader's rules, include/snn-pipe.h), weights,
 *                          biases, thresholds + polarity into each stage's
 *                          memories: once per model, kept between runs
 *
 *   per image, #pragma HLS DATAFLOW (ping-pong spike maps between stages):
 *
 *   images -> FETCH -> map0 -> conv stage 0 (image, E0 engines) -> map1
 *          -> conv stage 1 (E1 engines) -> map2 -> conv stage 2 (E2) -> map3
 *          -> fc stage -> map4 -> out stage -> RECORD -> results
 *   (trace != 0: one image at a time, then its spike trace from the stages'
 *    trace buffers)
 *
 * A map holds one word per pixel: in_c T-bit spike vectors (bit t = step t;
 * map0: 8-bit pixels) and a tag, the image it belongs to: a word of another
 * image reads as zero, so no map is ever cleared. A pool after a conv layer
 * is folded into that stage's write (OR into (y/2, x/2)); a second pool in a
 * row, or the conv stages an fc layer skips, run as pass-throughs (an
 * identity conv: weight 1 at the centre tap from c to c, bias 0, threshold
 * 0, which fires exactly when its input fired). Counters travel with the
 * image from stage to stage and go into the record at their layer.
 *
 * Software only (csim): every unit counts its II=1 iterations per image and
 * the run's cycles are the pipeline schedule of those counts
 * (snn_hls_cycles, docs/hls-kernel.md "Cycle model").
 */
#include "snn_kernel.h"

#include "hls-compat.h"

#define TM SNN_HLS_TM
#define C0_CIN SNN_HLS_C0_CIN
#define C0_COUT SNN_HLS_C0_COUT
#define C0_H SNN_HLS_C0_H
#define C0_W SNN_HLS_C0_W
#define C1_COUT SNN_HLS_C1_COUT
#define C1_H SNN_HLS_C1_H
#define C1_W SNN_HLS_C1_W
#define C2_COUT SNN_HLS_C2_COUT
#define C2_H SNN_HLS_C2_H
#define C2_W SNN_HLS_C2_W
#define F_HW SNN_HLS_F_HW
#define F_COUT SNN_HLS_F_COUT
#define O_COUT SNN_HLS_O_COUT
#define F_ROWS (C2_COUT * F_HW)
#define REC_WORDS 128 /* the largest record: 64 sums, pred, 3 x 16 counters, padded */
#define NONE (-1)
/* The stages (include/snn-pipe.h, SNN_PIPE_*: not included in synthesis) and
 * the cycle model's units (the fetch, the stages, the record writer). */
enum { ST_CONV0, ST_CONV1, ST_CONV2, ST_FC, ST_OUT };
#define U_FETCH 0
#define U_STAGE(s) (1 + (s))
#define U_RECORD 6
#define N_UNITS 7

/* A T-bit spike vector (TM <= 16). */
typedef uint16_t tvec;

/* Per-image counters, by layer; they travel with the image. */
typedef struct counters {
    uint32_t spikes[SNN_MAX_LAYERS], synops[SNN_MAX_LAYERS], events[SNN_MAX_LAYERS];
} counters;

/* A conv stage as the loader set it up. */
typedef struct conv_cfg {
    int32_t layer;      /* the layer it computes; NONE: a pass-through */
    int32_t pool_layer; /* the pool folded into its write; NONE: none */
    uint32_t in_c, out_c, h, w, pool, out_h, out_w, T;
} conv_cfg;

typedef struct fc_cfg {
    int32_t layer;
    uint32_t in_c, hw, out_c, T;
} fc_cfg;

/* The loaded model: the mapping and the shapes. */
typedef struct pipe_model {
    uint32_t fit;                      /* 1: the network runs on this configuration */
    uint32_t known;                    /* 1: the record layout is known (pred = -1 records) */
    uint32_t n_layers, T, n_classes, in_c, in_h, in_w;
    uint32_t rec_words;                /* record stride in words */
    conv_cfg cs[3];
    fc_cfg fc, out;
    int32_t stage_of[SNN_MAX_LAYERS];  /* trace: the stage whose output is layer l */
    uint32_t pooled[SNN_MAX_LAYERS];   /* trace: layer l is that stage's pooled write */
    uint32_t tr_off[SNN_MAX_LAYERS];   /* trace: word offset of layer l in one step */
    uint32_t tr_step;                  /* trace words per step */
} pipe_model;

static pipe_model M;
static const uint32_t *loaded_model; /* address of the last load */
static uint32_t img_seq;             /* images since power-up: the map tags (0: never used) */

#ifndef __SYNTHESIS__
_Static_assert(SNN_HLS_UNITS == N_UNITS && U_RECORD == SNN_HLS_U_RECORD && (int)ST_FC == (int)SNN_PIPE_FC,
               "the units of snn_kernel.h are the kernel's");
static snn_hls_cycles cyc;           /* the cycle model of the last call */
static uint64_t img_cycles[N_UNITS]; /* the current image's per-unit iterations */
#define UNIT_CYCLES(u, n) (img_cycles[(u)] = (n))
#else
#define UNIT_CYCLES(u, n) ((void)0)
#endif

/* ---- the conv stages (template instances) ------------------------------------ */

#define CS_ID 0
#define CS_CIN C0_CIN
#define CS_COUT C0_COUT
#define CS_H C0_H
#define CS_W C0_W
#define CS_E SNN_HLS_C0_E
#define CS_IMG 1
#define CS_IN_T uint8_t
#define CS_OUT_WORDS (C1_H * C1_W)
#include "snn_conv_stage.h"

#define CS_ID 1
#define CS_CIN C0_COUT
#define CS_COUT C1_COUT
#define CS_H C1_H
#define CS_W C1_W
#define CS_E SNN_HLS_C1_E
#define CS_IMG 0
#define CS_IN_T tvec
#define CS_OUT_WORDS (C2_H * C2_W)
#include "snn_conv_stage.h"

#define CS_ID 2
#define CS_CIN C1_COUT
#define CS_COUT C2_COUT
#define CS_H C2_H
#define CS_W C2_W
#define CS_E SNN_HLS_C2_E
#define CS_IMG 0
#define CS_IN_T tvec
#define CS_OUT_WORDS F_HW
#include "snn_conv_stage.h"

/* ---- fc and out stage memories ------------------------------------------------- */

static int8_t fw[F_ROWS][F_COUT]; /* row i = c*hw + p (CHW input index) */
static int32_t fb[F_COUT], fth[F_COUT];
static uint8_t fpol[F_COUT];
static tvec f_trb[F_COUT];        /* trace buffer */
static int8_t ow[F_COUT][O_COUT];
static int32_t ob[O_COUT];

/* ---- the spike maps (ping-pong in hardware: see docs/hls-kernel.md) ------------ */

static uint8_t map0_v[C0_H * C0_W][C0_CIN];
static uint32_t map0_tag[C0_H * C0_W];
static tvec map1_v[C1_H * C1_W][C0_COUT];
static uint32_t map1_tag[C1_H * C1_W];
static tvec map2_v[C2_H * C2_W][C1_COUT];
static uint32_t map2_tag[C2_H * C2_W];
static tvec map3_v[F_HW][C2_COUT];
static uint32_t map3_tag[F_HW];
static tvec map4_v[1][F_COUT];

/* ============================================================================
 * LOAD: the loader's mapping and fit check (rtl/snn_pipe_loader.sv, mirrored
 * by snn_pipe_fit on the host), then the stage memories.
 * ========================================================================== */

static uint8_t model_byte(const uint32_t *m, uint32_t addr)
{
    return (uint8_t)(m[addr >> 2] >> (8u * (addr & 3u)));
}

static int conv_fits(const conv_cfg *c, uint32_t cin, uint32_t cout, uint32_t h, uint32_t w)
{
    return c->in_c >= 1 && c->in_c <= cin && c->out_c >= 1 && c->out_c <= cout && c->h >= 1 &&
           c->h <= h && c->w >= 1 && c->w <= w;
}

/* Fills M (and returns the load's iterations). */
static uint64_t map_model(const uint32_t *m)
{
    M.fit = M.known = 0;
    M.n_layers = m[4];
    M.T = m[5];
    M.in_c = m[6];
    M.in_h = m[7];
    M.in_w = m[8];
    M.n_classes = m[9];
    const uint32_t desc = m[10] / 4u;
    if (m[0] != SNN_DEPLOY_MAGIC || M.n_layers < 1 || M.n_layers > SNN_MAX_LAYERS ||
        M.n_classes < 1 || M.n_classes > SNN_MAX_CLASSES || desc < 16)
        return 1;
    M.known = 1;
    M.rec_words = ((snn_result_words(M.n_classes, M.n_layers) * 4u + 63u) & ~63u) / 4u;
    int32_t lof[3] = {NONE, NONE, NONE}, pof[3] = {NONE, NONE, NONE};
    uint32_t ich[3] = {0, 0, 0}, ch[3] = {0, 0, 0}, cw[3] = {0, 0, 0};
    int32_t fc_layer = NONE, out_layer = NONE;
    uint32_t ns = 0, bad = 0, tr = 0;
MAP_LAYERS:
    for (uint32_t l = 0; l < M.n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=16 avg=7
        const uint32_t *d = m + desc + 20u * l;
        const uint32_t kind = d[0];
        M.stage_of[l] = NONE;
        M.pooled[l] = 0;
        M.tr_off[l] = tr;
        if (l + 1 < M.n_layers) tr += (d[4] * d[5] * d[6] + 31u) / 32u;
        if (out_layer != NONE) bad = 1;
        if (kind == SNN_LAYER_CONV) {
            if (fc_layer != NONE || ns == 3) {
                bad = 1;
            } else {
                lof[ns] = (int32_t)l;
                ch[ns] = d[2];
                cw[ns] = d[3];
                M.stage_of[l] = (int32_t)ns;
                ns++;
            }
        } else if (kind == SNN_LAYER_POOL) {
            if (l == 0 || fc_layer != NONE || ns == 0) {
                bad = 1;
            } else if (pof[ns - 1] == NONE) {
                pof[ns - 1] = (int32_t)l;
                M.stage_of[l] = (int32_t)ns - 1;
                M.pooled[l] = 1;
            } else if (ns == 3) {
                bad = 1;
            } else {
                ich[ns] = d[1];
                ch[ns] = d[2];
                cw[ns] = d[3];
                pof[ns] = (int32_t)l;
                M.stage_of[l] = (int32_t)ns;
                M.pooled[l] = 1;
                ns++;
            }
        } else if (kind == SNN_LAYER_FC) {
            if (l == 0 || fc_layer != NONE || ns == 0) {
                bad = 1;
            } else {
                fc_layer = (int32_t)l;
                for (uint32_t s = ns; s < 3; s++) {
                    ich[s] = d[1];
                    ch[s] = d[2];
                    cw[s] = d[3];
                }
                ns = 3;
                M.stage_of[l] = ST_FC;
            }
        } else {
            if (fc_layer == NONE || (int32_t)l != fc_layer + 1) bad = 1;
            out_layer = (int32_t)l;
        }
    }
    M.tr_step = tr;
    if (bad || fc_layer == NONE || out_layer == NONE || lof[0] != 0 || M.T < 1 || M.T > TM ||
        M.n_classes > O_COUT)
        return 1 + M.n_layers;
    for (uint32_t s = 0; s < 3; s++) {
        conv_cfg *c = &M.cs[s];
        c->layer = lof[s];
        c->pool_layer = pof[s];
        if (lof[s] != NONE) {
            const uint32_t *d = m + desc + 20u * (uint32_t)lof[s];
            c->in_c = d[1];
            c->out_c = d[4];
        } else {
            c->in_c = c->out_c = ich[s];
        }
        c->h = ch[s];
        c->w = cw[s];
        c->pool = pof[s] != NONE;
        c->out_h = c->pool ? c->h / 2 : c->h;
        c->out_w = c->pool ? c->w / 2 : c->w;
        c->T = M.T;
    }
    const uint32_t *fd = m + desc + 20u * (uint32_t)fc_layer;
    const uint32_t *od = m + desc + 20u * (uint32_t)out_layer;
    M.fc = (fc_cfg){fc_layer, fd[1], fd[2] * fd[3], fd[4], M.T};
    M.out = (fc_cfg){out_layer, od[1], 1, od[4], M.T};
    if (!conv_fits(&M.cs[0], C0_CIN, C0_COUT, C0_H, C0_W) ||
        !conv_fits(&M.cs[1], C0_COUT, C1_COUT, C1_H, C1_W) ||
        !conv_fits(&M.cs[2], C1_COUT, C2_COUT, C2_H, C2_W) || M.fc.in_c > C2_COUT ||
        M.fc.hw > F_HW || M.fc.out_c > F_COUT || M.out.in_c != M.fc.out_c ||
        M.out.out_c != M.n_classes)
        return 1 + M.n_layers;
    M.fit = 1;
    return 1 + M.n_layers;
}

/* Weights, biases, thresholds and polarity of conv stage s (one element per
 * iteration: the load's II=1 count). */
static uint64_t load_conv(const uint32_t *m, uint32_t s)
{
    const conv_cfg *c = &M.cs[s];
    const uint32_t desc = m[10] / 4u, rows = 9u * c->in_c, hw = c->h * c->w;
    const uint32_t *d = c->layer != NONE ? m + desc + 20u * (uint32_t)c->layer : 0;
LOAD_CONV_W:
    for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT min=9 max=576 avg=288
        for (uint32_t co = 0; co < c->out_c; co++) {
#pragma HLS PIPELINE II=1
            int8_t v = d ? (int8_t)model_byte(m, d[8] + r * c->out_c + co)
                         : (int8_t)(r == co * 9u + 4u); /* identity: centre tap, c -> c */
            if (s == 0) cs_load_w_0(r, co, v);
            else if (s == 1) cs_load_w_1(r, co, v);
            else cs_load_w_2(r, co, v);
        }
    }
LOAD_CONV_B:
    for (uint32_t co = 0; co < c->out_c; co++) {
#pragma HLS PIPELINE II=1
        int32_t b = d ? (int32_t)m[d[10] / 4u + co] : 0;
        if (s == 0) cs_b_0[co] = b;
        else if (s == 1) cs_b_1[co] = b;
        else cs_b_2[co] = b;
    }
LOAD_CONV_TH:
    for (uint32_t n = 0; n < c->out_c * hw; n++) { /* image order: n = co*hw + pixel */
#pragma HLS PIPELINE II=1
        const uint32_t co = n / hw, p = n % hw;
        int32_t th = d ? (int32_t)m[d[12] / 4u + n] : 0;
        uint8_t pol = d ? (uint8_t)((model_byte(m, d[14] + (n >> 3)) >> (n & 7u)) & 1u) : 0;
        if (s == 0) cs_load_th_0(p, co, th, pol);
        else if (s == 1) cs_load_th_1(p, co, th, pol);
        else cs_load_th_2(p, co, th, pol);
    }
    /* a weight row per cycle (the row register fills from a 64-byte beat),
     * one bias and one threshold per cycle */
    return (uint64_t)rows + c->out_c + (uint64_t)c->out_c * hw;
}

static uint64_t load_fc(const uint32_t *m)
{
    const uint32_t desc = m[10] / 4u;
    const uint32_t *d = m + desc + 20u * (uint32_t)M.fc.layer;
    const uint32_t rows = M.fc.in_c * M.fc.hw, oc = M.fc.out_c;
LOAD_FC_W:
    for (uint32_t r = 0; r < rows; r++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=3136 avg=3136
        for (uint32_t o = 0; o < oc; o++) {
#pragma HLS PIPELINE II=1
            fw[r][o] = (int8_t)model_byte(m, d[8] + r * oc + o);
        }
    }
LOAD_FC_STATE:
    for (uint32_t o = 0; o < oc; o++) {
#pragma HLS PIPELINE II=1
        fb[o] = (int32_t)m[d[10] / 4u + o];
        fth[o] = (int32_t)m[d[12] / 4u + o];
        fpol[o] = (uint8_t)((model_byte(m, d[14] + (o >> 3)) >> (o & 7u)) & 1u);
    }
    const uint32_t *od = m + desc + 20u * (uint32_t)M.out.layer;
    const uint32_t K = M.out.out_c;
LOAD_OUT_W:
    for (uint32_t r = 0; r < M.out.in_c; r++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=128 avg=128
        for (uint32_t k = 0; k < K; k++) {
#pragma HLS PIPELINE II=1
            ow[r][k] = (int8_t)model_byte(m, od[8] + r * K + k);
        }
    }
LOAD_OUT_B:
    for (uint32_t k = 0; k < K; k++) {
#pragma HLS PIPELINE II=1
        ob[k] = (int32_t)m[od[10] / 4u + k];
    }
    return (uint64_t)rows + oc + M.out.in_c + K;
}

/* ============================================================================
 * FETCH: one uint8 CHW image into map 0, a byte per cycle (OR into the word;
 * the tag makes the first byte of a word start from zero).
 * ========================================================================== */

static void fetch_image(const uint8_t *images, uint32_t img, uint32_t s)
{
    const uint32_t hw = M.in_h * M.in_w, n = M.in_c * hw;
    const uint8_t *src = images + (uint64_t)img * n;
FETCH:
    for (uint32_t k = 0; k < n; k++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=2352 avg=784
#pragma HLS PIPELINE II=1
        const uint32_t c = k / hw, p = k % hw;
        if (map0_tag[p] != s) {
            map0_tag[p] = s;
            for (uint32_t cc = 0; cc < C0_CIN; cc++) map0_v[p][cc] = 0;
        }
        map0_v[p][c] = src[k];
    }
    UNIT_CYCLES(U_FETCH, n);
}

/* ============================================================================
 * FC and OUT: a scanner reads the input map word by word (one word per input
 * pixel) and issues one firing input per cycle (a word costs max(1, firing
 * inputs) + 1 cycles, as rtl/snn_fc_stage.sv); its weight row is added into
 * acc[t][o] for every set step, all outputs at once.
 * ========================================================================== */

static void fc_stage(uint32_t s, uint32_t trace_on, tvec in_v[F_HW][C2_COUT], uint32_t in_tag[F_HW],
                     tvec out_v[1][F_COUT], const counters *cin, counters *cout)
{
    int32_t acc[TM][F_COUT];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    const uint32_t hw = M.fc.hw, in_c = M.fc.in_c, oc = M.fc.out_c, T = M.fc.T;
    uint32_t issued = 0, setbits = 0, spikes = 0;
    uint64_t cycles = 0;
    for (uint32_t t = 0; t < TM; t++)
        for (uint32_t o = 0; o < F_COUT; o++) acc[t][o] = 0;
FC_SCAN:
    for (uint32_t p = 0; p < hw; p++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256 avg=49
        const int valid = in_tag[p] == s;
        uint32_t nz = 0;
    FC_ISSUE:
        for (uint32_t c = 0; c < in_c; c++) {
#pragma HLS PIPELINE II=1
            const tvec v = valid ? in_v[p][c] : 0;
            if (!v) continue;
            const int8_t *wr = fw[c * hw + p];
            for (uint32_t t = 0; t < T; t++)
                if ((v >> t) & 1u)
                    for (uint32_t o = 0; o < oc; o++) acc[t][o] += wr[o];
            nz++;
            setbits += (uint32_t)__builtin_popcount(v);
        }
        issued += nz;
        cycles += (nz ? nz : 1u) + 1u;
    }
FC_LIF:
    for (uint32_t o = 0; o < oc; o++) {
#pragma HLS UNROLL
        int32_t u = 0;
        tvec bits = 0;
        for (uint32_t t = 0; t < T; t++) {
            const int32_t v = (u >> 2) + acc[t][o] + fb[o];
            const int fire = fpol[o] ? v < fth[o] : v > fth[o];
            u = fire ? 0 : v;
            bits = (tvec)(bits | ((tvec)fire << t));
        }
        out_v[0][o] = bits;
        spikes += (uint32_t)__builtin_popcount(bits);
        if (trace_on) f_trb[o] = bits;
    }
    *cout = *cin;
    cout->spikes[M.fc.layer] += spikes;
    cout->synops[M.fc.layer] += setbits * oc;
    cout->events[M.fc.layer] += issued * oc;
    /* drain (the last add), the LIF one step per cycle, done */
    UNIT_CYCLES(U_STAGE(ST_FC), cycles + 1 + T + 1);
    (void)cycles;
}

static void out_stage(tvec in_v[1][F_COUT], const counters *cin, uint32_t rec[REC_WORDS])
{
    int32_t acc[TM][O_COUT];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    const uint32_t in_c = M.out.in_c, K = M.out.out_c, T = M.out.T, L = M.n_layers;
    uint32_t issued = 0, setbits = 0;
    for (uint32_t t = 0; t < TM; t++)
        for (uint32_t k = 0; k < O_COUT; k++) acc[t][k] = 0;
OUT_ISSUE:
    for (uint32_t c = 0; c < in_c; c++) {
#pragma HLS PIPELINE II=1
        const tvec v = in_v[0][c];
        if (!v) continue;
        for (uint32_t t = 0; t < T; t++)
            if ((v >> t) & 1u)
                for (uint32_t k = 0; k < K; k++) acc[t][k] += ow[c][k];
        issued++;
        setbits += (uint32_t)__builtin_popcount(v);
    }
    counters ct = *cin;
    ct.synops[M.out.layer] += setbits * K;
    ct.events[M.out.layer] += issued * K;
    int32_t sums[O_COUT];
#pragma HLS ARRAY_PARTITION variable=sums complete
OUT_SUM:
    for (uint32_t k = 0; k < K; k++) {
#pragma HLS UNROLL
        int32_t sm = (int32_t)T * ob[k];
        for (uint32_t t = 0; t < T; t++) sm += acc[t][k];
        sums[k] = sm;
    }
    uint32_t best = 0;
OUT_ARGMAX:
    for (uint32_t k = 1; k < K; k++) {
#pragma HLS PIPELINE II=1
        if (sums[k] > sums[best]) best = k;
    }
RECORD_FORM:
    for (uint32_t k = 0; k < REC_WORDS; k++) {
#pragma HLS UNROLL
        uint32_t wv = 0;
        if (k < K) wv = (uint32_t)sums[k];
        else if (k == K) wv = best;
        else if (k < K + 1u + L) wv = ct.spikes[k - K - 1u];
        else if (k < K + 1u + 2u * L) wv = ct.synops[k - K - 1u - L];
        else if (k < K + 1u + 3u * L) wv = ct.events[k - K - 1u - 2u * L];
        rec[k] = wv;
    }
    /* one word, its firing inputs; drain; T sums; the arg-max scan; done */
    UNIT_CYCLES(U_STAGE(ST_OUT), (issued ? issued : 1u) + 1u + 1u + T + K + 1u);
}

static void store_record(uint32_t *results, uint32_t img, const uint32_t rec[REC_WORDS])
{
    uint32_t *dst = results + (uint64_t)img * M.rec_words;
STORE:
    for (uint32_t k = 0; k < M.rec_words; k++) {
#pragma HLS LOOP_TRIPCOUNT min=16 max=128 avg=48
#pragma HLS PIPELINE II=1
        dst[k] = rec[k];
    }
    UNIT_CYCLES(U_RECORD, M.rec_words);
}

/* ============================================================================
 * One image through the pipeline: the dataflow region. Its processes
 * communicate only through the maps and the counters (single producer,
 * single consumer each); successive calls overlap in hardware.
 * ========================================================================== */

static void run_image(const uint8_t *images, uint32_t *results, uint32_t img, uint32_t s,
                      uint32_t trace_on)
{
#pragma HLS DATAFLOW
    counters c0, c1, c2, c3, c4;
    uint32_t rec[REC_WORDS];
    uint64_t k0 = 0, k1 = 0, k2 = 0;
    counters none;
INIT_COUNTERS:
    for (uint32_t l = 0; l < SNN_MAX_LAYERS; l++) {
#pragma HLS UNROLL
        none.spikes[l] = none.synops[l] = none.events[l] = 0;
    }
    fetch_image(images, img, s);
    conv_stage_0(&M.cs[0], s, trace_on, map0_v, map0_tag, map1_v, map1_tag, &none, &c0, &k0);
    conv_stage_1(&M.cs[1], s, trace_on, map1_v, map1_tag, map2_v, map2_tag, &c0, &c1, &k1);
    conv_stage_2(&M.cs[2], s, trace_on, map2_v, map2_tag, map3_v, map3_tag, &c1, &c2, &k2);
    fc_stage(s, trace_on, map3_v, map3_tag, map4_v, &c2, &c3);
    c4 = c3;
    out_stage(map4_v, &c4, rec);
    store_record(results, img, rec);
    UNIT_CYCLES(U_STAGE(ST_CONV0), k0);
    UNIT_CYCLES(U_STAGE(ST_CONV1), k1);
    UNIT_CYCLES(U_STAGE(ST_CONV2), k2);
}

/* ============================================================================
 * TRACE (trace mode, after each image): every layer's spikes at every step
 * from the stages' trace buffers (a pool: the OR of its 2x2 window of the
 * stage's unpooled output), then the sums.
 * ========================================================================== */

static uint32_t trace_bit(uint32_t st, uint32_t pix, uint32_t c, uint32_t t)
{
    tvec v = st == 0 ? cs_trb_0[pix][c] : st == 1 ? cs_trb_1[pix][c] : cs_trb_2[pix][c];
    return (v >> t) & 1u;
}

static void write_trace(uint32_t *trace, uint32_t img, const uint32_t *results)
{
    const uint32_t words = M.tr_step * M.T + M.n_classes;
    uint32_t *tr = trace + (uint64_t)img * words;
TRACE_STEPS:
    for (uint32_t t = 0; t < M.T; t++) {
    TRACE_LAYERS:
        for (uint32_t l = 0; l + 1 < M.n_layers; l++) {
            const int32_t st = M.stage_of[l];
            uint32_t *dst = tr + t * M.tr_step + M.tr_off[l];
            uint32_t n_out, C, H, W;
            if (st == ST_FC) {
                C = M.fc.out_c, H = W = 1;
            } else {
                const conv_cfg *c = &M.cs[st];
                C = c->out_c;
                H = M.pooled[l] ? c->out_h : c->h;
                W = M.pooled[l] ? c->out_w : c->w;
            }
            n_out = C * H * W;
            uint32_t word = 0;
        TRACE_BITS:
            for (uint32_t n = 0; n < n_out; n++) {
#pragma HLS PIPELINE II=1
                const uint32_t c = n / (H * W), y = (n / W) % H, x = n % W;
                uint32_t b;
                if (st == ST_FC) {
                    b = (f_trb[c] >> t) & 1u;
                } else if (!M.pooled[l]) {
                    b = trace_bit((uint32_t)st, y * M.cs[st].w + x, c, t);
                } else {
                    const uint32_t w = M.cs[st].w;
                    b = trace_bit((uint32_t)st, (2 * y) * w + 2 * x, c, t) |
                        trace_bit((uint32_t)st, (2 * y) * w + 2 * x + 1, c, t) |
                        trace_bit((uint32_t)st, (2 * y + 1) * w + 2 * x, c, t) |
                        trace_bit((uint32_t)st, (2 * y + 1) * w + 2 * x + 1, c, t);
                }
                word |= b << (n & 31u);
                if ((n & 31u) == 31u || n + 1 == n_out) {
                    dst[n >> 5] = word;
                    word = 0;
                }
            }
        }
    }
TRACE_SUMS:
    for (uint32_t k = 0; k < M.n_classes; k++)
        tr[M.tr_step * M.T + k] = results[(uint64_t)img * M.rec_words + k];
}

/* A network the kernel does not hold: pred = -1 in every record it can place. */
static void refuse(uint32_t *results, uint32_t n_images)
{
    if (!M.known) return; /* record layout unknown */
REFUSE:
    for (uint32_t i = 0; i < n_images; i++) {
        for (uint32_t k = 0; k < M.rec_words; k++) {
#pragma HLS PIPELINE II=1
            results[(uint64_t)i * M.rec_words + k] = k == M.n_classes ? 0xFFFFFFFFu : 0u;
        }
    }
}

#ifndef __SYNTHESIS__
/* The pipeline schedule of one image (software): unit u may start image i
 * when it finished i - 1, its input map half holds i (the producer finished
 * it and the write committed) and its output half is free (the consumer
 * finished i - 2), as rtl/snn_kernel.sv's scheduler. */
#define SCHED_GO 1     /* the start pulse is registered */
#define SCHED_RESTART 2 /* a unit's own finish: its busy bit clears, then the start pulse */
#define SCHED_COMMIT 5 /* a written half is full four cycles after the producer's finish,
                          then the consumer's start pulse */
static uint64_t fin[SNN_HLS_UNITS][2]; /* finish of images i-1 (i&1^1) and i-2 (i&1) */

static void schedule_image(uint32_t i, uint32_t trace_words)
{
    uint64_t prev_fin[SNN_HLS_UNITS];
    for (uint32_t u = 0; u < SNN_HLS_UNITS; u++) prev_fin[u] = fin[u][i & 1u];
    for (uint32_t u = 0; u < SNN_HLS_UNITS; u++) {
        uint64_t st = i ? fin[u][(i & 1u) ^ 1u] + SCHED_RESTART : SCHED_GO;
        if (u > 0 && fin[u - 1][i & 1u] + SCHED_COMMIT > st) st = fin[u - 1][i & 1u] + SCHED_COMMIT;
        if (i >= 2 && u + 1 < SNN_HLS_UNITS && prev_fin[u + 1] + SCHED_RESTART > st)
            st = prev_fin[u + 1] + SCHED_RESTART;
        /* trace mode: an image enters when the one before it is traced (a word per cycle) */
        if (u == 0 && i && trace_words && fin[U_RECORD][(i & 1u) ^ 1u] + trace_words > st)
            st = fin[U_RECORD][(i & 1u) ^ 1u] + trace_words;
        fin[u][i & 1u] = st + img_cycles[u];
        cyc.unit_cycles[u] += img_cycles[u];
    }
    if (i == 0) cyc.first_image_cycles = fin[U_RECORD][0];
    cyc.cycles = fin[U_RECORD][i & 1u] + trace_words;
    cyc.images = i + 1;
}
#endif

/* ============================================================================
 * Top function.
 * ========================================================================== */

void snn_kernel(const uint32_t *model, const uint8_t *images, uint32_t *results, uint32_t *trace,
                uint32_t n_images, uint32_t flags)
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
#pragma HLS INTERFACE s_axilite port=flags bundle=control offset=0x48
#pragma HLS INTERFACE s_axilite port=return bundle=control
#pragma HLS ARRAY_PARTITION variable=cs_w_0 complete dim=2
#pragma HLS ARRAY_PARTITION variable=cs_w_1 complete dim=2
#pragma HLS ARRAY_PARTITION variable=cs_w_2 complete dim=2
#pragma HLS ARRAY_PARTITION variable=cs_th_0 complete dim=2
#pragma HLS ARRAY_PARTITION variable=cs_th_1 complete dim=2
#pragma HLS ARRAY_PARTITION variable=cs_th_2 complete dim=2
#pragma HLS ARRAY_PARTITION variable=fw complete dim=2
#pragma HLS ARRAY_PARTITION variable=ow complete dim=2
#pragma HLS ARRAY_PARTITION variable=map1_v complete dim=2
#pragma HLS ARRAY_PARTITION variable=map2_v complete dim=2
#pragma HLS ARRAY_PARTITION variable=map3_v complete dim=2
#pragma HLS BIND_STORAGE variable=fw type=ram_2p impl=uram
#ifndef __SYNTHESIS__
    for (uint32_t u = 0; u < SNN_HLS_UNITS; u++) cyc.unit_cycles[u] = 0;
    cyc.cycles = cyc.load_cycles = cyc.first_image_cycles = 0;
    cyc.images = 0;
#endif
    if (n_images == 0) return;
    if (!M.fit || model != loaded_model || (flags & 1u)) { /* SNN_FLAG_RELOAD */
        uint64_t it = map_model(model);
        if (M.fit) {
            for (uint32_t s = 0; s < 3; s++) it += load_conv(model, s);
            it += load_fc(model);
        }
        loaded_model = model;
#ifndef __SYNTHESIS__
        cyc.load_cycles = it;
#else
        (void)it;
#endif
    }
    if (!M.fit) {
        refuse(results, n_images);
        return;
    }
IMAGES:
    for (uint32_t i = 0; i < n_images; i++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=256 avg=256
        img_seq = img_seq + 1 ? img_seq + 1 : 1; /* tags: 0 is never an image */
        run_image(images, results, i, img_seq, trace != 0);
        if (trace) write_trace(trace, i, results);
#ifndef __SYNTHESIS__
        schedule_image(i, trace ? M.tr_step * M.T + M.n_classes : 0);
#endif
    }
#ifndef __SYNTHESIS__
    cyc.cycles += cyc.load_cycles;
#endif
}

/* ============================================================================
 * Software side (csim): the cycle model and the variant table entry of this
 * build.
 * ========================================================================== */
#ifndef __SYNTHESIS__
static void kernel_cycles(snn_hls_cycles *out)
{
    *out = cyc;
}

#ifndef SNN_HLS_VARIANT
#define SNN_HLS_VARIANT snn_hls_variant_card
#endif
extern const snn_hls_variant SNN_HLS_VARIANT;
const snn_hls_variant SNN_HLS_VARIANT = {
    {SNN_HLS_CONFIG_NAME,
     /* snn_pipe_params, in its field order (the field names are macros here) */
     {TM, C0_CIN, C0_COUT, C0_H, C0_W, SNN_HLS_C0_E, C1_COUT, C1_H, C1_W, SNN_HLS_C1_E, C2_COUT,
      C2_H, C2_W, SNN_HLS_C2_E, F_HW, F_COUT, SNN_HLS_F_FCH, O_COUT},
     0},
    snn_kernel,
    kernel_cycles,
};
#endif
