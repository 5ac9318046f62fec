/*
 * estimate.h - a priori run-time estimates of the long runs (eval, fold
 * --check, compare, bench) and the warning printed before a run that will
 * take more than a few minutes.
 *
 * The estimates come from the work of a network (dense multiply-accumulates
 * per layer, a typical spike rate) and the speed of each engine measured on
 * the shared 2-core machine of docs/results.md and docs/simulation.md, kept
 * on the slow side: they say "minutes or hours", not seconds exactly.
 *
 *     double per = snn_est_device_image_seconds(net, "sim", &dev_opts);
 *     snn_warn_long_run("eval", "sim", n, per, "--limit N evaluates the first N images only");
 */
#ifndef SNN_ESTIMATE_H
#define SNN_ESTIMATE_H

#include <stdint.h>

#include "snn-deploy-format.h"
#include "snn-dev.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A run estimated to take longer than this gets a warning first ... */
#define SNN_LONG_RUN_SECONDS 180.0
/* ... or than MPBN_LONG_RUN_SECONDS when set (a bad value is reported
 * once on stderr and ignored) */
double snn_long_run_seconds(void);

/* Dense multiply-accumulates of one layer for one time step, as a
 * non-spiking network does them: conv 3x3 (padding 1) out_h*out_w*out_c*in_c*9,
 * fc/out n_in*out_c, pool 0. */
double snn_est_dense_macs(snn_layer_kind kind, uint32_t in_c, uint32_t n_in, uint32_t out_c,
                          uint32_t out_h, uint32_t out_w);

/* Estimated seconds per image of a deploy image on device ref, csim or sim
 * (o: the kernel build, o->config for sim; NULL = the
 * defaults); 0 when there is no estimate (xrt, an unknown device, a network
 * the sim configuration does not run). */
double snn_est_device_image_seconds(const snn_net *net, const char *device, const snn_dev_opts *o);
/* What tracing adds per image on `device` (compare without --no-trace): sim
 * runs traced images one at a time and streams each trace a bit per cycle;
 * 0 for the devices that trace at no cost worth warning about. */
double snn_est_trace_image_seconds(const snn_net *net, const char *device, const snn_dev_opts *o);

/* Estimated seconds per image of the float networks on the CPU: macs = dense
 * MACs per image and step over all layers (snn_est_dense_macs), T steps. */
typedef enum {
    SNN_EST_FLOAT_EVAL,  /* `mpbn eval CKPT`: one batched forward (OpenBLAS) */
    SNN_EST_FOLD_CHECK,  /* `mpbn fold --check`: unfolded + folded forwards */
} snn_est_float_kind;
double snn_est_float_image_seconds(snn_est_float_kind kind, double macs, uint32_t T);

/* If images * per_image > snn_long_run_seconds(), print on stderr (whatever
 * MPBN_PROGRESS says)
 *     mpbn CMD: warning: WHAT: N images will take about 1h05m (~0.39 s per image, estimated); HINT
 * and return 1; else print nothing and return 0. */
int snn_warn_long_run(const char *cmd, const char *what, uint64_t images, double per_image,
                      const char *hint);
/* The same during a run: images first..first+n-1 took `seconds`; if the
 * `left` ones will take more than snn_long_run_seconds() at that pace,
 *     mpbn CMD: warning: WHAT: N more images will take about 4h10m (~1.5 s per image, measured on images 1..1); HINT
 * and return 1. On ref and csim, whose speed follows the network's spike
 * rates, a measurement beats the a priori estimate by up to 10x either way. */
int snn_warn_long_run_measured(const char *cmd, const char *what, uint64_t first, uint64_t n,
                               double seconds, uint64_t left, const char *hint);

#ifdef __cplusplus
}
#endif
#endif
