/*
 * csim-u280.c - the kernel of snn_kernel.c built with the parameters of the
 * RTL kernel's `u280` configuration (PIPE_PARAMS_u280 in mk/sim.mk: engines
 * 2/19/5, the configuration an SLR of a U280, U55C or U50 holds), for
 * `--device csim --config u280` (driver/dev-csim.c picks a build by
 * configuration name). tests/test-csim.c checks that these parameters are
 * the table's. Synthesis uses snn_kernel.c with -DSNN_HLS_<param>=<value>
 * (mk/hls.mk, HLS_CONFIG).
 */
#ifndef __SYNTHESIS__
#define SNN_HLS_CONFIG_NAME "u280"
#define SNN_HLS_TM 4
#define SNN_HLS_C0_CIN 1
#define SNN_HLS_C0_COUT 32
#define SNN_HLS_C0_H 28
#define SNN_HLS_C0_W 28
#define SNN_HLS_C0_E 2
#define SNN_HLS_C1_COUT 32
#define SNN_HLS_C1_H 28
#define SNN_HLS_C1_W 28
#define SNN_HLS_C1_E 19
#define SNN_HLS_C2_COUT 64
#define SNN_HLS_C2_H 14
#define SNN_HLS_C2_W 14
#define SNN_HLS_C2_E 5
#define SNN_HLS_F_HW 49
#define SNN_HLS_F_COUT 128
#define SNN_HLS_F_FCH 128
#define SNN_HLS_O_COUT 64
#define snn_kernel snn_kernel_u280
#define SNN_HLS_VARIANT snn_hls_variant_u280
#include "snn_kernel.c"
#endif
