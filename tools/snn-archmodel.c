/*
 * snn-archmodel.c - architectural model of the event-driven layer pipeline
 * (docs/rtl-pipeline.md), run on real spikes: how many cycles each layer
 * stage needs per image with E engines, the steady-state interval of the
 * whole pipeline across images, adder utilisation, on-chip memory and logic
 * per pipeline, and the energy model of what the design moves.
 *
 *     build/tools/snn-archmodel MODEL.snn [--images N] [--data DIR]
 *                               [--interval CYCLES | --engines E0,E1,...]
 *                               [--mhz 300] [--csv FILE]
 *
 * The spikes come from the golden model (snn_ref_run with a trace), so the
 * figures are those of the network on the data, not of an assumed rate.
 * With --interval the tool sizes each stage (engines) for that many cycles
 * per image; with --engines it uses the given counts (one per CONV/FC/OUT
 * layer, in order; 0 = size automatically).
 *
 * Model (each assumption is a property the RTL must have, docs/rtl-pipeline.md):
 *  - a CONV stage fetches one output pixel's 3x3 patch per cycle (banked map),
 *    and hands it to the first free engine; an engine issues one firing input
 *    (ci, tap) per cycle (its T-bit vector adds the weight row into the
 *    accumulators of every set step), at least one cycle per pixel, plus
 *    ENGINE_GAP cycles to hand its accumulators to the LIF unit;
 *  - the LIF unit of a stage takes one pixel per cycle (all channels, all T);
 *  - layer 0 (the image) issues nonzero pixels of the patch with a multiply;
 *  - an FC/OUT stage splits its outputs into engines of FC_CHANNELS channels,
 *    each engine issues every firing input once (one weight row per cycle);
 *  - between stages, a ping-pong spike map: stage l may start image i when it
 *    has finished image i-1, stage l-1 has finished image i, and stage l+1
 *    has finished image i-2 (the buffer it would overwrite).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "io/snn-data.h"
#include "snn-common.h"

#define ENGINE_GAP 1    /* cycles between two pixels of one engine */
#define STAGE_FILL 12   /* pipeline fill/drain of a stage per image */
#define FC_CHANNELS 128 /* output channels per FC engine */
#define MAXS SNN_MAX_LAYERS

/* Energy per operation and per bit moved (docs/energy.md). */
#define PJ_ADD 0.1
#define PJ_MAC 0.3
#define PJ_BIT (10.0 / 64.0)

typedef struct stage {
    int layer;         /* deploy layer index */
    int kind;          /* SNN_LAYER_CONV / FC / OUT */
    uint32_t cin, cout, h, w, in_h, in_w;
    int pooled;        /* the next layer is a POOL folded into this stage's write */
    uint32_t engines;
    uint32_t acc_bits;
    double *cycles;    /* per image */
    double work;       /* total engine-issue cycles over all images */
    double useful;     /* useful adds (spiking) or MACs (layer 0) */
    double events;     /* events = firing inputs x fan-out */
    double setbits;    /* sum of popcount(T-bit vector) over issued inputs x cout */
    double fetch_bits, write_bits, weight_bits;
} stage;

static uint32_t bits_for(uint64_t bound)
{
    uint32_t b = 1;
    while (((uint64_t)1 << b) <= bound) b++;
    return b + 1; /* sign */
}

/* Schedule per-pixel engine times on E engines (dispatch one pixel/cycle). */
static double schedule(const uint32_t *cost, uint32_t n, uint32_t E, double *free_at)
{
    for (uint32_t e = 0; e < E; e++) free_at[e] = 0;
    double end = 0;
    for (uint32_t p = 0; p < n; p++) {
        uint32_t best = 0;
        for (uint32_t e = 1; e < E; e++)
            if (free_at[e] < free_at[best]) best = e;
        double start = free_at[best] > p ? free_at[best] : p;
        free_at[best] = start + cost[p] + ENGINE_GAP;
        if (free_at[best] > end) end = free_at[best];
    }
    return end + STAGE_FILL;
}

static uint32_t bram36(uint64_t width, uint64_t depth)
{
    if (!width || !depth) return 0;
    /* 512 x 72, 1K x 36, 2K x 18, 4K x 9: the cheapest shape. */
    static const uint32_t ws[] = {72, 36, 18, 9}, ds[] = {512, 1024, 2048, 4096};
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 4; i++) {
        uint64_t n = ((width + ws[i] - 1) / ws[i]) * ((depth + ds[i] - 1) / ds[i]);
        if (n < best) best = n;
    }
    return (uint32_t)best;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *csv = NULL, *engines_arg = NULL;
    uint32_t n_img = 200;
    double interval = 0, mhz = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--images") && v) n_img = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--data") && v) data = argv[++i];
        else if (!strcmp(a, "--interval") && v) interval = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--engines") && v) engines_arg = argv[++i];
        else if (!strcmp(a, "--mhz") && v) mhz = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--csv") && v) csv = argv[++i];
        else if (a[0] != '-' && !model) model = a;
        else {
            fprintf(stderr, "usage: snn-archmodel MODEL.snn [--images N] [--data DIR] "
                            "[--interval CYCLES | --engines E0,E1,...] [--mhz 300] [--csv FILE]\n");
            return 2;
        }
    }
    if (!model || n_img == 0) {
        fprintf(stderr, "snn-archmodel: a model and --images >= 1 are required\n");
        return 2;
    }
    if (interval <= 0 && !engines_arg) interval = mhz * 1e6 / 70000.0;

    uint8_t *raw = NULL;
    size_t size = 0;
    snn_net net;
    snn_dataset ds = {0};
    snn_io_note_input(model);
    if (snn_file_read(model, 1u << 30, &raw, &size) != SNN_OK ||
        snn_deploy_parse(raw, size, &net) != SNN_OK ||
        snn_dataset_load(data, "t10k", n_img, &ds) != SNN_OK) {
        fprintf(stderr, "snn-archmodel: %s\n", snn_last_error());
        return 1;
    }
    const snn_deploy_hdr *hdr = net.hdr;
    uint32_t L = net.n_layers, T = hdr->timesteps, K = hdr->n_classes;
    if (ds.c != hdr->in_c || ds.h != hdr->in_h || ds.w != hdr->in_w) {
        fprintf(stderr, "snn-archmodel: images are %ux%ux%u, the model expects %ux%ux%u\n", ds.c,
                ds.h, ds.w, hdr->in_c, hdr->in_h, hdr->in_w);
        return 1;
    }
    n_img = ds.n;
    size_t tw = snn_trace_words(&net), stride = snn_result_stride(K, L);
    size_t px = (size_t)hdr->in_c * hdr->in_h * hdr->in_w;
    uint32_t *trace = malloc(4 * tw * n_img);
    uint8_t *rec = malloc(stride * n_img);
    if (!trace || !rec) return 1;
    snn_ref_run(&net, ds.pixels, n_img, rec, trace);

    /* Stages: every CONV/FC/OUT layer; a POOL folds into the stage before. */
    stage st[MAXS];
    uint32_t S = 0;
    for (uint32_t l = 0; l < L; l++) {
        const snn_layer *Ly = &net.layers[l];
        const snn_layer_desc *d = Ly->desc;
        if (Ly->kind == SNN_LAYER_POOL) {
            st[S - 1].pooled = 1;
            continue;
        }
        stage *s = &st[S++];
        memset(s, 0, sizeof *s);
        s->layer = (int)l;
        s->kind = Ly->kind;
        s->cin = d->in_c, s->cout = d->out_c, s->h = d->out_h, s->w = d->out_w;
        s->in_h = d->in_h, s->in_w = d->in_w;
        uint64_t fan_in = Ly->kind == SNN_LAYER_CONV ? 9ull * d->in_c : Ly->n_in;
        int32_t bmax = 0;
        for (uint32_t c = 0; c < d->out_c; c++)
            if (abs(Ly->bias[c]) > bmax) bmax = abs(Ly->bias[c]);
        uint64_t bound = fan_in * 127 * (l == 0 ? 255 : 1) + (uint64_t)bmax;
        if (Ly->kind == SNN_LAYER_OUT) bound *= T;
        s->acc_bits = bits_for(bound);
        s->cycles = calloc(n_img, sizeof(double));
    }

    /* Per image: T-bit vectors of every layer output, then per-stage costs. */
    uint8_t *vec[MAXS];
    for (uint32_t l = 0; l < L; l++) vec[l] = malloc(net.layers[l].n_out);
    uint32_t maxhw = 0;
    for (uint32_t s = 0; s < S; s++)
        if (st[s].h * st[s].w > maxhw) maxhw = st[s].h * st[s].w;
    uint32_t *cost_all[MAXS];
    for (uint32_t s = 0; s < S; s++) cost_all[s] = malloc(sizeof(uint32_t) * (size_t)maxhw * n_img);
    uint32_t step_words = snn_trace_step_words(&net);

    for (uint32_t i = 0; i < n_img; i++) {
        const uint32_t *ti = trace + i * tw;
        const uint8_t *pix = ds.pixels + i * px;
        for (uint32_t l = 0; l + 1 < L; l++) memset(vec[l], 0, net.layers[l].n_out);
        for (uint32_t t = 0; t < T; t++) {
            uint32_t off = t * step_words;
            for (uint32_t l = 0; l + 1 < L; l++) {
                uint32_t n = net.layers[l].n_out;
                for (uint32_t k = 0; k < n; k++)
                    if (ti[off + k / 32] >> (k % 32) & 1) vec[l][k] |= (uint8_t)(1u << t);
                off += (n + 31) / 32;
            }
        }
        for (uint32_t s = 0; s < S; s++) {
            stage *g = &st[s];
            int l = g->layer;
            const uint8_t *in = l == 0 ? pix : vec[l - 1];
            uint32_t *cost = cost_all[s] + (size_t)i * maxhw;
            uint32_t cout = g->cout;
            if (g->kind == SNN_LAYER_CONV) {
                uint32_t C = g->cin, H = g->in_h, W = g->in_w;
                for (uint32_t y = 0; y < H; y++)
                    for (uint32_t x = 0; x < W; x++) {
                        uint32_t cnt = 0;
                        for (uint32_t c = 0; c < C; c++)
                            for (int dy = -1; dy <= 1; dy++)
                                for (int dx = -1; dx <= 1; dx++) {
                                    int yy = (int)y + dy, xx = (int)x + dx;
                                    if (yy < 0 || xx < 0 || yy >= (int)H || xx >= (int)W) continue;
                                    uint8_t v = in[(c * H + (uint32_t)yy) * W + (uint32_t)xx];
                                    if (!v) continue;
                                    cnt++;
                                    g->useful += l == 0 ? cout : (double)cout * __builtin_popcount(v);
                                }
                        cost[y * W + x] = cnt ? cnt : 1;
                        g->work += cnt ? cnt : 1;
                    }
                /* events: every firing input x the taps it reaches x cout */
                for (uint32_t c = 0; c < C; c++)
                    for (uint32_t y = 0; y < H; y++)
                        for (uint32_t x = 0; x < W; x++) {
                            uint8_t v = in[(c * H + y) * W + x];
                            if (!v) continue;
                            uint32_t ty = 3 - (y == 0) - (y + 1 == H), tx = 3 - (x == 0) - (x + 1 == W);
                            g->events += (double)ty * tx * cout;
                        }
                g->fetch_bits += (double)H * W * 9 * C * (l == 0 ? 8 : T);
                g->write_bits += (double)H * W * cout * T;
            } else {
                uint32_t n_in = net.layers[l].n_in, cnt = 0;
                for (uint32_t k = 0; k < n_in; k++)
                    if (in[k]) {
                        cnt++;
                        g->useful += l == 0 ? cout : (double)cout * __builtin_popcount(in[k]);
                    }
                g->events += (double)cnt * cout;
                cost[0] = cnt ? cnt : 1;
                g->work += cost[0];
                g->fetch_bits += (double)n_in * (l == 0 ? 8 : T);
                g->write_bits += (double)cout * T;
            }
            g->weight_bits += g->events * 8;
        }
    }

    /* Engines: given, or the fewest that meet the interval on the mean image. */
    double *free_at = malloc(sizeof(double) * 4096);
    const char *ep = engines_arg;
    for (uint32_t s = 0; s < S; s++) {
        stage *g = &st[s];
        uint32_t want = 0;
        if (ep && *ep) {
            want = (uint32_t)strtoul(ep, (char **)&ep, 10);
            if (*ep == ',') ep++;
        }
        int fc = g->kind != SNN_LAYER_CONV;
        uint32_t groups = fc ? (g->cout + FC_CHANNELS - 1) / FC_CHANNELS : 0;
        if (fc) {
            g->engines = groups;
            for (uint32_t i = 0; i < n_img; i++) g->cycles[i] = cost_all[s][(size_t)i * maxhw] + STAGE_FILL;
            continue;
        }
        uint32_t npx = g->h * g->w;
        if (!want) {
            uint32_t lo = 1, hi = 4096;
            while (lo < hi) { /* smallest E with mean cycles <= interval */
                uint32_t mid = (lo + hi) / 2;
                double sum = 0;
                for (uint32_t i = 0; i < n_img; i++)
                    sum += schedule(cost_all[s] + (size_t)i * maxhw, npx, mid, free_at);
                if (sum / n_img <= interval) hi = mid;
                else lo = mid + 1;
            }
            want = lo;
        }
        g->engines = want;
        for (uint32_t i = 0; i < n_img; i++)
            g->cycles[i] = schedule(cost_all[s] + (size_t)i * maxhw, npx, want, free_at);
    }

    /* The pipeline across images, ping-pong buffers between stages. */
    double *fin = calloc((size_t)n_img * S, sizeof(double));
    for (uint32_t i = 0; i < n_img; i++)
        for (uint32_t s = 0; s < S; s++) {
            double start = 0;
            if (i > 0 && fin[(i - 1) * S + s] > start) start = fin[(i - 1) * S + s];
            if (s > 0 && fin[i * S + s - 1] > start) start = fin[i * S + s - 1];
            if (i > 1 && s + 1 < S && fin[(i - 2) * S + s + 1] > start) start = fin[(i - 2) * S + s + 1];
            fin[i * S + s] = start + st[s].cycles[i];
        }
    uint32_t warm = n_img / 4;
    double steady = n_img > 8 ? (fin[(n_img - 1) * S + S - 1] - fin[(warm - 1) * S + S - 1]) / (n_img - warm)
                              : fin[(n_img - 1) * S + S - 1] / n_img;
    double latency = 0;
    for (uint32_t s = 0; s < S; s++) latency += st[s].cycles[0];

    /* Resources and energy. */
    double adders = 0, acc_ff = 0, lut = 0, dsp = 0, bram = 0;
    double e_pj = 0;
    printf("stage layer kind  cin  cout   HxW  engines  cycles/img  util   events/img  setbit-adds/img  "
           "weight-BRAM36  map-BRAM36  th-BRAM36\n");
    for (uint32_t s = 0; s < S; s++) {
        stage *g = &st[s];
        int l = g->layer;
        double mean = 0;
        for (uint32_t i = 0; i < n_img; i++) mean += g->cycles[i];
        mean /= n_img;
        int fc = g->kind != SNN_LAYER_CONV;
        uint32_t ch_per_engine = fc ? (g->cout < FC_CHANNELS ? g->cout : FC_CHANNELS) : g->cout;
        uint32_t steps = l == 0 ? 1 : T; /* layer 0: one accumulation for every step */
        double cap = (double)g->engines * ch_per_engine * steps;
        double util = g->useful / n_img / (cap * mean);
        /* memories: weights (one copy per two engines), input map (ping-pong; 9 banks for conv),
         * thresholds + polarity (one pixel's channels per cycle) */
        uint64_t rows = fc ? net.layers[l].n_in : 9ull * g->cin;
        uint32_t wcopies = fc ? g->engines : (g->engines + 1) / 2;
        uint32_t wb = wcopies * bram36((uint64_t)ch_per_engine * 8, rows);
        uint32_t mb = 0;
        if (l > 0) {
            uint64_t width = (uint64_t)g->cin * T, depth = (uint64_t)g->in_h * g->in_w;
            mb = fc ? 2 * bram36(64, (net.layers[l].n_in * T + 63) / 64)
                    : 2 * 9 * bram36(width, (depth + 8) / 9);
        }
        uint32_t tb = g->kind == SNN_LAYER_OUT ? 0 : bram36((uint64_t)g->cout * 33, (uint64_t)g->h * g->w);
        printf("%5u %5d %-5s %4u %5u %3ux%-3u %7u %11.0f %5.2f %12.0f %16.0f %14u %11u %10u\n", s, l,
               g->kind == SNN_LAYER_CONV ? "conv" : g->kind == SNN_LAYER_FC ? "fc" : "out", g->cin,
               g->cout, g->h, g->w, g->engines, mean, util, g->events / n_img,
               l == 0 ? 0 : g->useful / n_img, wb, mb, tb);
        bram += wb + mb + tb;
        double a = cap, bits = g->acc_bits;
        adders += a;
        acc_ff += a * bits * 2; /* accumulators + a copy handed to the LIF unit */
        if (l == 0) dsp += cap;
        else lut += a * bits * 1.5; /* adder + step-enable mux per bit */
        if (g->kind != SNN_LAYER_OUT) lut += (double)g->cout * T * 32 * 3; /* LIF: leak/add, compare, reset */
        lut += (fc ? 64 : 9.0 * g->cin) * g->engines * 2;                /* priority encoders */
        /* energy per image (pJ) */
        double ev = g->events / n_img;
        if (l == 0) e_pj += PJ_MAC * g->useful / n_img;
        else e_pj += PJ_ADD * g->useful / n_img;
        e_pj += PJ_BIT * (ev * 8);                                        /* weight rows */
        e_pj += PJ_BIT * (g->fetch_bits + g->write_bits * (g->pooled ? 2 : 1)) / n_img; /* spike maps */
        if (g->kind != SNN_LAYER_OUT) {
            double neurons = (double)g->cout * g->h * g->w;
            e_pj += PJ_ADD * 2 * neurons * T + PJ_BIT * neurons * 33; /* LIF ops, threshold + polarity */
        }
    }
    double ips = mhz * 1e6 / steady;
    printf("\nsteady-state interval %.0f cycles/image -> %.0f images/s per pipeline at %.0f MHz; "
           "latency of one image %.0f cycles (%.1f us)\n",
           steady, ips, mhz, latency, latency / mhz);
    printf("per pipeline: %.0f accumulator adders (%.0f DSP MACs in layer 0), ~%.0fk LUT, ~%.0fk FF, "
           "%.0f BRAM36\n",
           adders - dsp, dsp, lut / 1000, acc_ff / 1000, bram);
    printf("energy model: %.2f uJ/image (weights, register adds, LIF, spike maps; no accumulator RAM)\n",
           e_pj * 1e-6);
    if (csv) { /* through the output claim: never over an input or a special file */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) return 1;
        fprintf(f, "stage,layer,engines,cycles_per_image,events_per_image\n");
        for (uint32_t s = 0; s < S; s++) {
            double mean = 0;
            for (uint32_t i = 0; i < n_img; i++) mean += st[s].cycles[i];
            fprintf(f, "%u,%d,%u,%.0f,%.0f\n", s, st[s].layer, st[s].engines, mean / n_img,
                    st[s].events / n_img);
        }
        fclose(f);
        snn_status ws = snn_file_write_atomic(csv, buf, len, SNN_KIND_CSV);
        free(buf);
        if (ws != SNN_OK) {
            fprintf(stderr, "snn-archmodel: %s\n", snn_last_error());
            return 1;
        }
    }
    return 0;
}
