/*
 * hls-compat.h - lets the kernel source compile unchanged with gcc/clang
 * (csim) and with Vitis HLS (synthesis).
 *
 * - `#pragma HLS ...` stays in the source. gcc and clang ignore pragmas they
 *   do not know; the warning that would say so is silenced here (and by
 *   -Wno-unknown-pragmas in mk/hls.mk for the files under hls/).
 * - Vitis HLS defines __SYNTHESIS__ while synthesizing; code that only makes
 *   sense in software (iteration counters, host-side checks) is fenced by it.
 * - The kernel is plain C: no ap_uint. Ports are uint32_t/uint8_t pointers
 *   that Vitis widens to 512-bit bursts (config_interface in run_hls.tcl);
 *   lane vectors are arrays completely partitioned by ARRAY_PARTITION.
 */
#ifndef SNN_HLS_COMPAT_H
#define SNN_HLS_COMPAT_H

#ifndef __SYNTHESIS__
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunknown-pragmas"
#pragma clang diagnostic ignored "-Wunused-label"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wunused-label" /* loop labels name loops for HLS */
#endif
/* Software only: count loop iterations (= cycles at II=1). */
#define SNN_HLS_COUNT(var, n) ((var) += (n))
/* A channel array of a dataflow region: a local (ping-pong buffer) in
 * hardware, static in software to keep hundreds of KiB off the stack. */
#define SNN_HLS_LOCAL static
#else
#define SNN_HLS_COUNT(var, n) ((void)0)
#define SNN_HLS_LOCAL
#endif

#endif
