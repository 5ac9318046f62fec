/*
 * snn_kernel.h - the HLS kernel that runs a deploy image on the card: its top
 * function, the compile-time parameters of its layer pipeline and, for the
 * csim device, the builds linked in and the cycle model they report.
 *
 * The kernel (hls/snn_kernel.c) is the C form of the RTL kernel's layer
 * pipeline (rtl/snn_kernel.sv, docs/rtl-pipeline.md, docs/hls-kernel.md),
 * written for Vitis HLS; it compiles unchanged with gcc, where it is the
 * `csim` device (driver/dev-csim.c):
 *
 *     // device memory: model = deploy image, images = n x in_c*in_h*in_w bytes
 *     snn_kernel(model, images, results, trace, n_images, flags);   // trace may be 0
 *
 * Arguments, names and order are those of include/snn-regmap.h (flags:
 * SNN_FLAG_RELOAD). The model stays on chip between runs: it is loaded when
 * nothing is loaded, when the model address differs from the last load, when
 * the last load did not fit, or when flags has SNN_FLAG_RELOAD.
 *
 * Parameters: those of the RTL kernel's configurations (snn_pipe_params,
 * include/snn-pipe.h; PIPE_PARAMS_<config> in mk/sim.mk), as
 * SNN_HLS_<param> (-DSNN_HLS_C1_E=27 ...). The defaults below are the `card`
 * configuration; hls/csim-<config>.c builds the same source with another
 * configuration under other symbol names, so that `--device csim --config
 * NAME` picks a build (snn_hls_variants).
 */
#ifndef SNN_HLS_KERNEL_H
#define SNN_HLS_KERNEL_H

#include <stdint.h>

#include "snn-deploy-format.h"

/* The configuration this build is (a name of mk/sim.mk's table). */
#ifndef SNN_HLS_CONFIG_NAME
#define SNN_HLS_CONFIG_NAME "card"
#endif
/* card (PIPE_PARAMS_card in mk/sim.mk; tests/test-csim.c checks they agree) */
#ifndef SNN_HLS_TM
#define SNN_HLS_TM 4
#endif
#ifndef SNN_HLS_C0_CIN
#define SNN_HLS_C0_CIN 1
#endif
#ifndef SNN_HLS_C0_COUT
#define SNN_HLS_C0_COUT 32
#endif
#ifndef SNN_HLS_C0_H
#define SNN_HLS_C0_H 28
#endif
#ifndef SNN_HLS_C0_W
#define SNN_HLS_C0_W 28
#endif
#ifndef SNN_HLS_C0_E
#define SNN_HLS_C0_E 2
#endif
#ifndef SNN_HLS_C1_COUT
#define SNN_HLS_C1_COUT 32
#endif
#ifndef SNN_HLS_C1_H
#define SNN_HLS_C1_H 28
#endif
#ifndef SNN_HLS_C1_W
#define SNN_HLS_C1_W 28
#endif
#ifndef SNN_HLS_C1_E
#define SNN_HLS_C1_E 27
#endif
#ifndef SNN_HLS_C2_COUT
#define SNN_HLS_C2_COUT 64
#endif
#ifndef SNN_HLS_C2_H
#define SNN_HLS_C2_H 14
#endif
#ifndef SNN_HLS_C2_W
#define SNN_HLS_C2_W 14
#endif
#ifndef SNN_HLS_C2_E
#define SNN_HLS_C2_E 7
#endif
#ifndef SNN_HLS_F_HW
#define SNN_HLS_F_HW 49
#endif
#ifndef SNN_HLS_F_COUT
#define SNN_HLS_F_COUT 128
#endif
#ifndef SNN_HLS_F_FCH
#define SNN_HLS_F_FCH 128
#endif
#ifndef SNN_HLS_O_COUT
#define SNN_HLS_O_COUT 32
#endif

#if SNN_HLS_TM < 1 || SNN_HLS_TM > 16 || SNN_HLS_O_COUT > 64 || SNN_HLS_C0_E < 1 ||             \
    SNN_HLS_C1_E < 1 || SNN_HLS_C2_E < 1
#error "SNN_HLS_TM must be 1..16, SNN_HLS_O_COUT at most 64, every stage at least one engine"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The top function (Vitis HLS `set_top snn_kernel`). */
void snn_kernel(const uint32_t *model, const uint8_t *images, uint32_t *results, uint32_t *trace,
                uint32_t n_images, uint32_t flags);

#ifndef __SYNTHESIS__
#include "snn-common.h"
#include "snn-pipe.h"

/* The units of the pipeline, in order: the pixel fetch, the five stages
 * (SNN_PIPE_CONV0 .. SNN_PIPE_OUT, + 1) and the record writer. */
enum { SNN_HLS_U_FETCH, SNN_HLS_U_RECORD = SNN_PIPE_STAGES + 1, SNN_HLS_UNITS };

/* The cycle model of the last snn_kernel() call (docs/hls-kernel.md, "Cycle
 * model"): every unit counts its II=1 iterations per image, the run is the
 * pipeline schedule of those counts with the ping-pong handshake. */
typedef struct snn_hls_cycles {
    uint64_t cycles;                    /* the run: load (if any) + the batch's schedule */
    uint64_t load_cycles;               /* model load in this run (0: kept on chip) */
    uint64_t first_image_cycles;        /* the first image's finish (the latency of one image) */
    uint32_t images;
    uint64_t unit_cycles[SNN_HLS_UNITS]; /* per unit, summed over the run's images */
} snn_hls_cycles;

/* A build of the kernel linked into csim. */
typedef struct snn_hls_variant {
    snn_pipe_config cfg; /* name and parameters (card_pipelines unused: 0) */
    void (*kernel)(const uint32_t *model, const uint8_t *images, uint32_t *results,
                   uint32_t *trace, uint32_t n_images, uint32_t flags);
    void (*cycles)(snn_hls_cycles *out); /* the cycle model of the last call */
} snn_hls_variant;

/* The builds linked into csim (snn_kernel.c: the default configuration,
 * card; hls/csim-<config>.c: the others), NULL-terminated. */
extern const snn_hls_variant *const snn_hls_variants[];
#endif

#ifdef __cplusplus
}
#endif
#endif
