/*
 * csim-ci.c - the kernel of snn_kernel.c built with the parameters of the
 * RTL kernel's `ci` configuration (PIPE_PARAMS_ci in mk/sim.mk: small stages,
 * T up to 8, the random networks of the tests), for `--device csim --config
 * ci` (driver/dev-csim.c picks a build by configuration name). snn_kernel.c
 * alone is the `card` configuration. tests/test-csim.c checks that these
 * parameters are the table's. Synthesis uses snn_kernel.c with
 * -DSNN_HLS_<param>=<value> (mk/hls.mk, HLS_CONFIG).
 */
#ifndef __SYNTHESIS__
#define SNN_HLS_CONFIG_NAME "ci"
#define SNN_HLS_TM 8
#define SNN_HLS_C0_CIN 3
#define SNN_HLS_C0_COUT 16
#define SNN_HLS_C0_H 16
#define SNN_HLS_C0_W 40
#define SNN_HLS_C0_E 2
#define SNN_HLS_C1_COUT 24
#define SNN_HLS_C1_H 16
#define SNN_HLS_C1_W 40
#define SNN_HLS_C1_E 3
#define SNN_HLS_C2_COUT 24
#define SNN_HLS_C2_H 12
#define SNN_HLS_C2_W 40
#define SNN_HLS_C2_E 2
#define SNN_HLS_F_HW 256
#define SNN_HLS_F_COUT 40
#define SNN_HLS_F_FCH 40
#define SNN_HLS_O_COUT 16
#define snn_kernel snn_kernel_ci
#define SNN_HLS_VARIANT snn_hls_variant_ci
#include "snn_kernel.c"
#endif
