/*
 * estimate.c - a priori run-time estimates of long runs and the warning
 * printed before one (estimate.h).
 */
#include "estimate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/progress.h"
#include "snn-pipe.h"

/* Typical share of neurons that fire per step in a hidden layer: 0.25-0.37 on
 * the Fashion-MNIST networks of docs/results.md, 0.10-0.40 on random ones. */
#define EST_SPIKE_RATE 0.35
/* Engine speeds, from docs/results.md and docs/simulation.md, taken about 2x
 * below what an idle core gives (the machine is shared):
 *   sim   Verilator, the layer pipeline: cycles per second x accumulator
 *         registers of all its engines (sum over stages of E x COUT x TM)
 *         about 1e7 (card: ~2,500 cycles/s with 3,968 accumulators);
 *   csim  the HLS kernel natively (the layer pipeline): its engines add a
 *         weight row into every set step, 3.9e9 synaptic operations
 *         per second;
 *   ref   the golden model: 1.7-10G synaptic operations per second;
 *   float the trainer's eval forward: ~60 GMAC/s (OpenBLAS, 2 cores);
 *   fold --check: unfolded + folded forwards, ~17 GMAC/s. */
#define EST_SIM_ACC_CYCLES_PER_S 1.0e7
#define EST_CSIM_SYNOPS_PER_S 2.0e9
#define EST_REF_SYNOPS_PER_S 2.0e9
#define EST_FLOAT_MACS_PER_S 1.5e10
#define EST_CHECK_MACS_PER_S 4.0e9
/* Share of a layer's input neurons that fire at least once (docs/rtl-pipeline.md:
 * 36-57% on the default network). */
#define EST_FIRE_ONCE 0.5
/* Trace mode on sim (compare's default): the kernel runs one image at a time
 * and then streams its trace a bit per cycle, four cycles per pool bit: about
 * 2.3 cycles per trace bit on the default network (670,000 cycles for its
 * 9,042 trace words, against about 4,100 for an untraced image). */
#define EST_TRACE_CYCLES_PER_BIT 2.3

double snn_est_dense_macs(snn_layer_kind kind, uint32_t in_c, uint32_t n_in, uint32_t out_c,
                          uint32_t out_h, uint32_t out_w)
{
    switch (kind) {
    case SNN_LAYER_CONV: return (double)out_h * out_w * out_c * in_c * 9.0;
    case SNN_LAYER_FC:
    case SNN_LAYER_OUT: return (double)n_in * out_c;
    default: return 0;
    }
}

/* Synaptic operations per image: the encoding layer is dense and computed
 * once per image; every other layer sees the spikes of the one before. */
static double est_synops(const snn_net *net)
{
    double first = 0, rest = 0;
    for (uint32_t l = 0; l < net->n_layers; l++) {
        const snn_layer *L = &net->layers[l];
        const snn_layer_desc *d = L->desc;
        double m = snn_est_dense_macs(L->kind, d->in_c, L->n_in, d->out_c, d->out_h, d->out_w);
        if (d->flags & SNN_LF_INPUT_IMAGE)
            first += m;
        else
            rest += m;
    }
    return first + EST_SPIKE_RATE * net->hdr->timesteps * rest;
}

/* The layer pipeline in Verilator: an image takes about the interval of its
 * busiest conv stage (firing inputs x taps reached over the engines; the
 * image stage reads every pixel), and a cycle costs in proportion to the
 * accumulator registers the model evaluates. */
/* The accumulator registers of a configuration's engines: a simulated cycle
 * costs in proportion to them. */
static double pipe_acc(const snn_pipe_params *p)
{
    return (double)p->TM * ((double)p->C0_E * p->C0_COUT + (double)p->C1_E * p->C1_COUT +
                            (double)p->C2_E * p->C2_COUT);
}

static double est_pipe_seconds(const snn_net *net, const char *config)
{
    const snn_pipe_config *c = snn_pipe_config_find(config ? config : SNN_PIPE_DEFAULT_CONFIG);
    snn_pipe_map map;
    if (!c || snn_pipe_fit(net, c, &map) != SNN_OK) return 0;
    const snn_pipe_params *p = &c->p;
    const uint32_t E[3] = {p->C0_E, p->C1_E, p->C2_E};
    double cycles = 0;
    for (int s = 0; s < 3; s++) {
        int l = map.layer_of[s];
        if (l < 0) continue;
        const snn_layer_desc *d = net->layers[l].desc;
        double in = (double)d->in_c * d->in_h * d->in_w * (s == 0 ? 1.0 : EST_FIRE_ONCE);
        double c_s = in * 9.0 / (E[s] ? E[s] : 1);
        if (c_s > cycles) cycles = c_s;
    }
    return cycles * pipe_acc(p) / EST_SIM_ACC_CYCLES_PER_S;
}

double snn_est_trace_image_seconds(const snn_net *net, const char *device, const snn_dev_opts *o)
{
    if (!net || !device || strcmp(device, "sim") != 0) return 0; /* the others trace for free */
    const snn_pipe_config *c =
        snn_pipe_config_find(o && o->config ? o->config : SNN_PIPE_DEFAULT_CONFIG);
    if (!c) return 0;
    double cycles = EST_TRACE_CYCLES_PER_BIT * 32.0 * snn_trace_words(net);
    return cycles * pipe_acc(&c->p) / EST_SIM_ACC_CYCLES_PER_S;
}

double snn_est_device_image_seconds(const snn_net *net, const char *device, const snn_dev_opts *o)
{
    if (!net || !device) return 0;
    double synops = est_synops(net);
    if (!strcmp(device, "sim")) return est_pipe_seconds(net, o ? o->config : NULL);
    if (!strcmp(device, "csim")) return synops / EST_CSIM_SYNOPS_PER_S;
    if (!strcmp(device, "ref")) return synops / EST_REF_SYNOPS_PER_S;
    return 0; /* xrt: a card is fast; unknown: no estimate */
}

double snn_est_float_image_seconds(snn_est_float_kind kind, double macs, uint32_t T)
{
    double rate = kind == SNN_EST_FOLD_CHECK ? EST_CHECK_MACS_PER_S : EST_FLOAT_MACS_PER_S;
    return macs * T / rate;
}

double snn_long_run_seconds(void)
{
    const char *e = getenv("MPBN_LONG_RUN_SECONDS");
    char *end;
    double v = e && *e ? strtod(e, &end) : -1;
    if (e && *e && (*end || !(v >= 0))) {
        static int told;
        if (!told++)
            fprintf(stderr, "mpbn: MPBN_LONG_RUN_SECONDS=%s is not a number of seconds: ignored\n", e);
        v = -1;
    }
    return v >= 0 ? v : SNN_LONG_RUN_SECONDS;
}

static int warn_long(const char *cmd, const char *what, uint64_t images, const char *more,
                     double per_image, const char *basis, const char *hint)
{
    double total = (double)images * per_image;
    if (!(total > snn_long_run_seconds())) return 0;
    char t[32];
    snn_progress_fmt_time(total, t, sizeof t);
    fprintf(stderr, "mpbn %s: warning: %s: %llu %simages will take about %s (~%.2g s per image, %s)%s%s\n",
            cmd, what, (unsigned long long)images, more, t, per_image, basis,
            hint && hint[0] ? "; " : "", hint ? hint : "");
    return 1;
}

int snn_warn_long_run(const char *cmd, const char *what, uint64_t images, double per_image,
                      const char *hint)
{
    return warn_long(cmd, what, images, "", per_image, "estimated", hint);
}

int snn_warn_long_run_measured(const char *cmd, const char *what, uint64_t first, uint64_t n,
                               double seconds, uint64_t left, const char *hint)
{
    if (!n || !(seconds > 0)) return 0;
    char basis[80];
    snprintf(basis, sizeof basis, "measured on images %llu..%llu", (unsigned long long)first,
             (unsigned long long)(first + n - 1));
    return warn_long(cmd, what, left, "more ", seconds / (double)n, basis, hint);
}
