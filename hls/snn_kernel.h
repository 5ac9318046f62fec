/*
 * snn_kernel.h - the HLS kernel that runs a deploy image on the card: its top
 * function, its compile-time capacity and the check a loader runs against it.
 *
 * The kernel (hls/snn_kernel.c) is written for Vitis HLS and compiles
 * unchanged with gcc, where it is the `csim` device (driver/dev-csim.c):
 *
 *     // device memory: model = deploy image, images = n x in_c*in_h*in_w bytes
 *     snn_kernel(model, images, results, trace, n_images);   // trace may be 0
 *
 * Arguments, names and order are those of include/snn-regmap.h. The C ports
 * are 32-bit words (8-bit for the images); Vitis HLS widens the m_axi bursts
 * to 512 bits (hls/run_hls.tcl), the register map does not change.
 *
 * Capacity. Every on-chip memory is sized by a compile-time maximum below
 * (override with -D). Memories are banked by SNN_HLS_LANES, so a layer whose
 * channel count is not a multiple of the lane count occupies the padded size:
 * out_h*out_w*ceil(out_c/LANES)*LANES neurons. snn_hls_check() computes the
 * padded sizes of an image and refuses one that does not fit, naming the
 * limit; the kernel itself refuses such an image too (pred = -1 in every
 * record) rather than write outside its memories.
 *
 * csim builds the kernel once per lane count (hls/csim-lanes*.c) so that
 * `--device csim --lanes N` picks a build; each build is an snn_hls_variant.
 */
#ifndef SNN_HLS_KERNEL_H
#define SNN_HLS_KERNEL_H

#include <stdint.h>

#include "snn-deploy-format.h"

/* Output neurons updated per cycle by the accumulate and threshold passes
 * (a power of two). */
#ifndef SNN_HLS_LANES
#define SNN_HLS_LANES 16
#endif
/* Padded neurons of one layer (accumulator, spike-address queues, trace and
 * pool bitmaps); also the largest input image in pixels. */
#ifndef SNN_HLS_MAX_NEURONS
#define SNN_HLS_MAX_NEURONS 65536
#endif
/* Padded neurons of all conv/fc layers together (membrane, threshold and
 * polarity memories). */
#ifndef SNN_HLS_MAX_STATE
#define SNN_HLS_MAX_STATE 131072
#endif
/* Padded weight bytes of all layers together (weight memory). */
#ifndef SNN_HLS_MAX_WEIGHTS
#define SNN_HLS_MAX_WEIGHTS (1 << 20)
#endif
/* Padded output channels of all layers together (bias memory). */
#ifndef SNN_HLS_MAX_BIAS
#define SNN_HLS_MAX_BIAS 8192
#endif
#define SNN_HLS_MAX_LAYERS SNN_MAX_LAYERS
#define SNN_HLS_MAX_T SNN_MAX_T

#if (SNN_HLS_LANES & (SNN_HLS_LANES - 1)) || SNN_HLS_LANES < 1 || SNN_HLS_LANES > 64
#error "SNN_HLS_LANES must be a power of two between 1 and 64"
#endif
#if SNN_HLS_MAX_NEURONS % SNN_HLS_LANES || SNN_HLS_MAX_STATE % SNN_HLS_LANES ||                  \
    SNN_HLS_MAX_WEIGHTS % SNN_HLS_LANES || SNN_HLS_MAX_BIAS % SNN_HLS_LANES ||                    \
    SNN_HLS_MAX_NEURONS % 32 || SNN_HLS_MAX_NEURONS > 65536
#error "SNN_HLS_MAX_* must be multiples of SNN_HLS_LANES (and of 32); MAX_NEURONS <= 65536"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The top function (Vitis HLS `set_top snn_kernel`). */
void snn_kernel(const uint32_t *model, const uint8_t *images, uint32_t *results, uint32_t *trace,
                uint32_t n_images);

/* Why the kernel refuses an image (snn_hls_plan_error). */
typedef enum {
    SNN_HLS_OK = 0,
    SNN_HLS_E_FORMAT,  /* header or descriptors inconsistent (the parser refuses these) */
    SNN_HLS_E_LAYER0,  /* layer 0 is a pool: the kernel pools spikes, not pixels */
    SNN_HLS_E_NEURONS, /* a layer (or the image) exceeds SNN_HLS_MAX_NEURONS */
    SNN_HLS_E_STATE,   /* conv/fc neurons exceed SNN_HLS_MAX_STATE */
    SNN_HLS_E_WEIGHTS, /* weights exceed SNN_HLS_MAX_WEIGHTS */
    SNN_HLS_E_BIAS,    /* channels exceed SNN_HLS_MAX_BIAS */
} snn_hls_error;

#ifndef __SYNTHESIS__
#include "snn-common.h"

/* Host side of the capacity check: SNN_OK if `net` (a parsed image, see
 * host/deploy/snn-deploy.h) fits this build of the kernel, else SNN_ERR_UNSUPPORTED
 * with a message naming the limit, the size needed and the -D to rebuild with. */
snn_status snn_hls_check(const snn_net *net);

/* Loop iterations of the last snn_kernel() call in this process: the cycle
 * count of the kernel at II=1 with no memory stalls and no pipeline fill. */
uint64_t snn_hls_iterations(void);

typedef struct snn_hls_variant {
    uint32_t lanes;
    void (*kernel)(const uint32_t *model, const uint8_t *images, uint32_t *results,
                   uint32_t *trace, uint32_t n_images);
    snn_status (*check)(const snn_net *net);
    uint64_t (*iterations)(void);
} snn_hls_variant;

/* The builds linked into csim: the default (SNN_HLS_LANES) and one per lane
 * count in hls/csim-lanes*.c. NULL-terminated. */
extern const snn_hls_variant *const snn_hls_variants[];
#endif

#ifdef __cplusplus
}
#endif
#endif
