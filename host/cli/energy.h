/*
 * energy.h - the energy model of `mpbn bench` (docs/energy.md): energies per
 * operation from Horowitz, ISSCC 2014 (45 nm), the per-image energy of the
 * spiking network from its counters as the RTL kernel (the event-driven layer
 * pipeline, docs/rtl-pipeline.md) computes it, and of the non-spiking network
 * of the same shape from the layer descriptors. Implemented in
 * host/cli/energy.c.
 *
 *     snn_energy_est e;
 *     snn_energy_estimate(net, synops_per_layer, events_per_layer, &e);
 *     printf("SNN %.3f uJ, ANN %.3f uJ\n", e.snn_fp32_pj * 1e-6, e.ann_fp32_pj * 1e-6);
 */
#ifndef SNN_ENERGY_H
#define SNN_ENERGY_H

#include "snn-deploy-format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Horowitz, "Computing's energy problem (and what we can do about it)",
 * ISSCC 2014, 45 nm, 0.9 V. Two operation sets: the float32 convention of the
 * SNN literature (AC = fp32 add 0.9 pJ, MAC = fp32 mult 3.7 + add 0.9 =
 * 4.6 pJ) and the integer widths this kernel really uses (AC = int32 add
 * 0.1 pJ, MAC = int8 mult 0.2 + int32 add 0.1 = 0.3 pJ). SRAM: 10 pJ per
 * 64-bit read of an 8 KB array, scaled linearly with the bits moved. */
#define SNN_E_AC_FP32_PJ 0.9
#define SNN_E_MAC_FP32_PJ 4.6
#define SNN_E_AC_INT_PJ 0.1
#define SNN_E_MAC_INT_PJ 0.3
#define SNN_E_SRAM_64B_PJ 10.0
#define SNN_E_SRAM_BIT_PJ (SNN_E_SRAM_64B_PJ / 64.0)
/* Bits moved, SNN (the layer pipeline): accumulators and membranes live in
 * engine registers, so a synaptic operation moves nothing; each event
 * (firing input neuron x synapse, counted once whatever its T-bit vector)
 * reads its int8 weight once; every conv/fc neuron reads its 32-bit threshold
 * and polarity bit, and every conv/fc/out neuron its 32-bit bias, once per
 * image; spike maps move T-bit vectors (bits from the layer descriptors:
 * snn_energy_map_bits). Non-spiking network with the same int8 weights and
 * 8-bit activations: a MAC reads one weight and one activation; an output
 * neuron reads its bias and writes its 32-bit sum. */
#define SNN_BITS_SNN_WEIGHT 8
#define SNN_BITS_SNN_THRESHOLD (32 + 1)
#define SNN_BITS_SNN_BIAS 32
#define SNN_BITS_ANN_MAC (8 + 8)
#define SNN_BITS_ANN_NEURON (32 + 32)

/* Per-image counts and energies (pJ) of docs/energy.md, "Formulas":
 * snn_int_pj/ann_int_pj exclude the memory term, snn_sram_pj/ann_sram_pj
 * are that term alone (the int_sram model is their sum). */
typedef struct snn_energy_est {
    double ann_macs, snn_macs, snn_acs, neuron_steps;
    double snn_events;                    /* weight reads: sum of events[l] */
    double snn_weight_bits, snn_param_bits, snn_map_bits; /* SRAM bits of the SNN */
    double snn_fp32_pj, ann_fp32_pj, snn_int_pj, ann_int_pj;
    double snn_sram_pj, ann_sram_pj, ann_neurons;
} snn_energy_est;

/* Dense multiply-accumulates of one layer run once as a non-spiking network:
 * every output neuron sums over its whole receptive field (conv border
 * outputs have fewer taps: padding contributes nothing); pool 0. */
double snn_energy_dense_macs(const snn_layer *layer);

/* Spike-map SRAM bits of one layer per image in the layer pipeline: its
 * input read (a conv reads each output pixel's patch of T-bit vectors, the
 * encoding layer 8-bit pixels; fc and out each input's T-bit vector once)
 * plus its output written (a T-bit vector per neuron; read-modify-written
 * when the next layer is a pool folded into the write); 0 for a pool. */
double snn_energy_map_bits(const snn_net *net, uint32_t l);

/* The energy of one image: synops[l] and events[l] = synaptic operations
 * and events of layer l per image (the kernel's counters averaged). */
void snn_energy_estimate(const snn_net *net, const double *synops, const double *events,
                         snn_energy_est *e);

#ifdef __cplusplus
}
#endif
#endif
