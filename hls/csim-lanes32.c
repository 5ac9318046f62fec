/*
 * csim-lanes32.c - the kernel of snn_kernel.c built with 32 lanes, for
 * `--device csim --lanes 32` (driver/dev-csim.c picks a build by lane count).
 * Synthesis uses snn_kernel.c alone with -DSNN_HLS_LANES=N.
 */
#ifndef __SYNTHESIS__
#undef SNN_HLS_LANES
#define SNN_HLS_LANES 32
#define snn_kernel snn_kernel_lanes32
#define snn_hls_check snn_hls_check_lanes32
#define snn_hls_iterations snn_hls_iterations_lanes32
/* check the II=1 dependence argument of ACC_CONV on every run of this build */
#define SNN_HLS_CHECK_DISTANCE 1
#define SNN_HLS_VARIANT snn_hls_variant_lanes32
#include "snn_kernel.c"
#endif
