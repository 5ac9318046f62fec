/*
 * snn_conv_stage.h - one conv stage of the HLS layer pipeline, a template
 * included by hls/snn_kernel.c once per conv stage (C has no templates):
 *
 *   #define CS_ID 1          stage number: names conv_stage_1, cs_w_1, ...
 *   #define CS_CIN 32        input channels (maximum)
 *   #define CS_COUT 32       output channels (maximum)
 *   #define CS_H 28          map height (maximum)
 *   #define CS_W 28          map width (maximum)
 *   #define CS_E 19          engines
 *   #define CS_IMG 0         1: the input map holds 8-bit pixels (stage 0)
 *   #define CS_IN_T tvec     input map entry type (uint8_t for pixels)
 *   #define CS_OUT_WORDS n   words of the output map (the next stage's)
 *   #include "snn_conv_stage.h"
 *
 * It is rtl/snn_conv_stage.sv in C: output pixels in raster order, one patch
 * fetched per cycle and dispatched to the lowest idle engine; an engine owns
 * one output pixel x all output channels x T steps in registers
 * (ARRAY_PARTITION complete) and issues one nonzero patch entry per cycle:
 * a firing input with its T-bit vector (its weight row is added into every
 * step whose bit is set) or, in the image stage, a pixel (value x weight, one
 * current for all steps). When the engine has no entry left, the LIF unit
 * runs the pixel's T steps (leak, threshold with polarity, hard reset) and
 * the writer ORs its T-bit vectors into the next map with the folded pool.
 * The stage loop is one iteration per cycle (II=1, every engine unrolled):
 * its trip count is the stage's cycle count (docs/hls-kernel.md).
 */
#define CS_CAT2(a, b) a##_##b
#define CS_CAT(a, b) CS_CAT2(a, b)
#define CS_NAME(x) CS_CAT(x, CS_ID)
#define CS_HW (CS_H * CS_W)
#define CS_ROWS (9 * CS_CIN)

/* Model memories of the stage (loaded once per model). */
static int8_t CS_NAME(cs_w)[CS_ROWS][CS_COUT];   /* row ci*9 + ky*3 + kx */
static int32_t CS_NAME(cs_b)[CS_COUT];
static int32_t CS_NAME(cs_th)[CS_HW][CS_COUT];   /* threshold of (co, pixel) */
static uint8_t CS_NAME(cs_pol)[CS_HW][CS_COUT];  /* polarity bit */
/* Trace buffer: every output pixel's unpooled LIF output (trace mode). */
static tvec CS_NAME(cs_trb)[CS_HW][CS_COUT];

/* The stage's load ports: weight row r, bias, threshold of (co, pixel). */
static void CS_NAME(cs_load_w)(uint32_t r, uint32_t co, int8_t v)
{
    CS_NAME(cs_w)[r][co] = v;
}
static void CS_NAME(cs_load_th)(uint32_t pix, uint32_t co, int32_t th, uint8_t pol)
{
    CS_NAME(cs_th)[pix][co] = th;
    CS_NAME(cs_pol)[pix][co] = pol;
}

static void CS_NAME(conv_stage)(const conv_cfg *cf, uint32_t tag, uint32_t trace_on,
                                CS_IN_T in_v[CS_HW][CS_CIN], uint32_t in_tag[CS_HW],
                                tvec out_v[CS_OUT_WORDS][CS_COUT], uint32_t out_tag[CS_OUT_WORDS],
                                const counters *cin, counters *cout, uint64_t *cycles)
{
    /* Engines: accumulators, the patch's nonzero entries in issue order. */
    int32_t acc[CS_E][TM][CS_COUT];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    uint16_t e_row[CS_E][CS_ROWS];
    CS_IN_T e_val[CS_E][CS_ROWS];
#pragma HLS ARRAY_PARTITION variable=e_row complete dim=1
#pragma HLS ARRAY_PARTITION variable=e_val complete dim=1
    uint32_t e_n[CS_E], e_next[CS_E], e_pix[CS_E], e_bits[CS_E];
    uint8_t e_busy[CS_E];
#pragma HLS ARRAY_PARTITION variable=e_n complete
#pragma HLS ARRAY_PARTITION variable=e_next complete
#pragma HLS ARRAY_PARTITION variable=e_pix complete
#pragma HLS ARRAY_PARTITION variable=e_bits complete
#pragma HLS ARRAY_PARTITION variable=e_busy complete
    const uint32_t h = cf->h, w = cf->w, hw = h * w, in_c = cf->in_c, out_c = cf->out_c;
    const uint32_t T = cf->T;
    uint32_t issued = 0, setbits = 0, spikes = 0, newbits = 0;
CS_INIT:
    for (uint32_t e = 0; e < CS_E; e++) {
#pragma HLS UNROLL
        e_busy[e] = 0;
        for (uint32_t t = 0; t < TM; t++)
            for (uint32_t co = 0; co < CS_COUT; co++) acc[e][t][co] = 0;
    }
    uint32_t p_next = 0, px_done = 0;
    uint64_t cycle = 0, last_grant = 0;
CS_CYCLES:
    while (px_done < hw) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=8192 avg=4100
#pragma HLS PIPELINE II=1
    CS_ENGINES:
        for (uint32_t e = 0; e < CS_E; e++) {
#pragma HLS UNROLL
            if (!e_busy[e]) continue;
            if (e_next[e] < e_n[e]) {
                /* issue: one weight row, added into every set step */
                const uint32_t k = e_next[e]++;
                const int8_t *wr = CS_NAME(cs_w)[e_row[e][k]];
                const uint32_t v = e_val[e][k];
#if CS_IMG
                for (uint32_t co = 0; co < out_c; co++) acc[e][0][co] += (int32_t)v * wr[co];
                e_bits[e] += 1;
#else
                for (uint32_t t = 0; t < T; t++)
                    if ((v >> t) & 1u)
                        for (uint32_t co = 0; co < out_c; co++) acc[e][t][co] += wr[co];
                e_bits[e] += (uint32_t)__builtin_popcount(v);
#endif
                continue;
            }
            /* finish: hand-off to the LIF unit (one grant per cycle), LIF, write */
            e_busy[e] = 0;
            px_done++;
            last_grant = (cycle + 1 > last_grant + 1) ? cycle + 1 : last_grant + 1;
            issued += e_n[e];
            setbits += e_bits[e];
            const uint32_t p = e_pix[e], y = p / w, x = p % w;
            const uint32_t wy = cf->pool ? y >> 1 : y, wx = cf->pool ? x >> 1 : x;
            const int wr_ok = wy < cf->out_h && wx < cf->out_w;
            const uint32_t a = wy * cf->out_w + wx;
            const int first = wr_ok && out_tag[a] != tag;
            if (first) out_tag[a] = tag;
        CS_LIF:
            for (uint32_t co = 0; co < out_c; co++) {
                int32_t u = 0;
                tvec bits = 0;
                const int32_t b = CS_NAME(cs_b)[co], th = CS_NAME(cs_th)[p][co];
                const uint8_t pol = CS_NAME(cs_pol)[p][co];
                for (uint32_t t = 0; t < T; t++) {
                    const int32_t v = (u >> 2) + acc[e][CS_IMG ? 0 : t][co] + b;
                    const int fire = pol ? v < th : v > th;
                    u = fire ? 0 : v;
                    bits = (tvec)(bits | ((tvec)fire << t));
                }
                for (uint32_t t = 0; t < TM; t++) acc[e][t][co] = 0;
                spikes += (uint32_t)__builtin_popcount(bits);
                if (trace_on) CS_NAME(cs_trb)[p][co] = bits;
                if (wr_ok) {
                    const tvec old = first ? 0 : out_v[a][co];
                    newbits += (uint32_t)__builtin_popcount((uint32_t)(bits & (tvec)~old));
                    out_v[a][co] = (tvec)(old | bits);
                }
            }
        }
        /* dispatch: the next patch (fetched one per cycle, two cycles after
         * the stage starts) to the lowest idle engine */
        if (p_next < hw && cycle >= (uint64_t)p_next + 2) {
            uint32_t eng = CS_E;
        CS_DISPATCH:
            for (uint32_t e = CS_E; e-- > 0;)
                if (!e_busy[e]) eng = e;
            if (eng < CS_E) {
                const uint32_t y = p_next / w, x = p_next % w;
                uint32_t n = 0;
            CS_PATCH:
                for (uint32_t tap = 0; tap < 9; tap++) {
                    const uint32_t iy = y + tap / 3, ix = x + tap % 3; /* +1: padding */
                    if (iy < 1 || ix < 1 || iy > h || ix > w) continue;
                    const uint32_t ia = (iy - 1) * w + (ix - 1);
                    if (in_tag[ia] != tag) continue; /* a word of another image reads as zero */
                    for (uint32_t ci = 0; ci < in_c; ci++) {
                        const CS_IN_T v = in_v[ia][ci];
                        if (v) {
                            e_row[eng][n] = (uint16_t)(ci * 9u + tap);
                            e_val[eng][n] = v;
                            n++;
                        }
                    }
                }
                e_n[eng] = n;
                e_next[eng] = 0;
                e_bits[eng] = 0;
                e_pix[eng] = p_next;
                e_busy[eng] = 1;
                p_next++;
            }
        }
        cycle++;
    }
    /* the LIF pipeline and the write drain after the last grant, then done */
    *cycles = hw ? last_grant + 1 + 2u * TM + 8u + 1 : 1;
    *cout = *cin;
    if (cf->layer >= 0) {
        cout->spikes[cf->layer] += spikes;
        cout->synops[cf->layer] += setbits * out_c;
        cout->events[cf->layer] += issued * out_c;
    }
    if (cf->pool_layer >= 0) cout->spikes[cf->pool_layer] += newbits;
}

#undef CS_CAT2
#undef CS_CAT
#undef CS_NAME
#undef CS_HW
#undef CS_ROWS
#undef CS_ID
#undef CS_CIN
#undef CS_COUT
#undef CS_H
#undef CS_W
#undef CS_E
#undef CS_IMG
#undef CS_IN_T
#undef CS_OUT_WORDS
