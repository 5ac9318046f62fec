/*
 * snn-pipe.h - the layer-pipeline RTL kernel (rtl/snn_kernel.sv,
 * docs/rtl-pipeline.md) as the host sees it: its configurations (the
 * Verilog parameters of one pipeline, PIPE_PARAMS_<config> in mk/sim.mk) and
 * the mapping of a deploy image's layers onto its stages with the fit check
 * of its loader (rtl/snn_pipe_loader.sv, states L_MAP and L_CHECK), mirrored
 * exactly, so that a network the kernel would answer with pred = -1 records
 * is refused before ap_start with the reason.
 *
 *     const snn_pipe_config *c = snn_pipe_config_find("ci");
 *     snn_pipe_map map;
 *     if (!c || snn_pipe_fit(&net, c, &map) != SNN_OK)
 *         fprintf(stderr, "%s\n", snn_last_error());
 *         // "layer 3 (fc) has 300 input pixels; the fc stage of configuration
 *         //  ci holds 256 (F_HW)"
 *
 * The stages are fixed: conv (image), conv, conv, fc, out. Layer 0 is a conv
 * on stage 0; a later conv takes the next conv stage; a pool folds into the
 * stage that wrote its input, and a second pool in a row takes the next conv
 * stage as a pass-through (an identity conv) with that pool folded in; the fc
 * layer turns the remaining conv stages into pass-throughs; the out layer
 * directly follows the fc layer. Each stage within its maxima, T <= TM.
 *
 * Implemented in host/deploy/pipe-fit.c; the configuration table is compiled
 * from mk/sim.mk (SNN_PIPE_CONFIG_TABLE), the Verilator harness reports the
 * parameters of the library it was built with (sim/snn-sim.h, info.pipe).
 */
#ifndef SNN_PIPE_H
#define SNN_PIPE_H

#include <stdint.h>

#include "snn-common.h"
#include "snn-deploy-format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The parameters of rtl/snn_kernel.sv that size one pipeline, named as
 * there and in PIPE_PARAMS_<config> of mk/sim.mk. The channels a stage reads
 * are its producer's outputs: conv stage 1 reads up to C0_COUT channels,
 * conv stage 2 up to C1_COUT, the fc stage up to C2_COUT. */
typedef struct snn_pipe_params {
    uint32_t TM;                                /* time steps (maximum) */
    uint32_t C0_CIN, C0_COUT, C0_H, C0_W, C0_E; /* conv stage 0 (the image): channels in,
                                                   out, map height, width, engines */
    uint32_t C1_COUT, C1_H, C1_W, C1_E;         /* conv stage 1 */
    uint32_t C2_COUT, C2_H, C2_W, C2_E;         /* conv stage 2 */
    uint32_t F_HW, F_COUT, F_FCH;               /* fc stage: input pixels, outputs, outputs
                                                   per weight RAM slice */
    uint32_t O_COUT;                            /* out stage: classes */
} snn_pipe_params;

/* The configuration the sim device runs when none is given: the one sized
 * for the card (a die region of a U250), which runs the default network. */
#define SNN_PIPE_DEFAULT_CONFIG "card"

/* The card the pipelines-per-card figure is for. */
#define SNN_PIPE_CARD "u250"

/* A configuration: build/sim/libsnn-sim-pipe-<name>.so. */
typedef struct snn_pipe_config {
    const char *name;
    snn_pipe_params p;
    uint32_t card_pipelines; /* pipelines on SNN_PIPE_CARD, one per SLR, each below
                                70% of its SLR's LUTs and DSP slices (Yosys, `make
                                synth-pipe`; PIPE_CARD_<config> in mk/sim.mk);
                                0 = not measured */
} snn_pipe_config;

/* The configurations of mk/sim.mk this build knows, in name order (*n of
 * them; none in a build without mk/sim.mk's table, e.g. the sanitizer and
 * fuzzer builds). */
const snn_pipe_config *snn_pipe_configs(uint32_t *n);
/* The configuration called name, or NULL. */
const snn_pipe_config *snn_pipe_config_find(const char *name);
/* Their names, "card|ci" ("" if none). */
const char *snn_pipe_config_names(void);

enum {
    SNN_PIPE_CONV0, /* conv, image input */
    SNN_PIPE_CONV1,
    SNN_PIPE_CONV2,
    SNN_PIPE_FC,
    SNN_PIPE_OUT,
    SNN_PIPE_STAGES
};

/* Where a network's layers run. */
typedef struct snn_pipe_map {
    int32_t stage[SNN_MAX_LAYERS];     /* stage of layer l; a pool: the stage whose write it
                                          is folded into (a pass-through for a second pool) */
    int32_t pool[SNN_MAX_LAYERS];      /* 1: layer l is a pool folded into stage[l] */
    int32_t layer_of[SNN_PIPE_STAGES]; /* the layer a stage computes; -1: a pass-through */
    int32_t pool_of[SNN_PIPE_STAGES];  /* the pool folded into a stage's write; -1: none */
} snn_pipe_map;

/* The loader's mapping and fit check: SNN_OK and *map (may be NULL) when the
 * kernel of configuration cfg runs net; otherwise SNN_ERR_UNSUPPORTED with the
 * first reason in the message (layer order, then T and classes, then the
 * stages in order), naming the layer, the stage, the configuration and the
 * parameter that holds less. */
snn_status snn_pipe_fit(const snn_net *net, const snn_pipe_config *cfg, snn_pipe_map *map);

#ifdef __cplusplus
}
#endif
#endif
