/*
 * energy.c - the energy model of `mpbn bench` (docs/energy.md); see energy.h.
 */
#include "energy.h"

#include <string.h>

double snn_energy_dense_macs(const snn_layer *L)
{
    const snn_layer_desc *d = L->desc;
    if (L->kind == SNN_LAYER_POOL) return 0;
    if (L->kind == SNN_LAYER_FC || L->kind == SNN_LAYER_OUT) return (double)L->n_in * d->out_c;
    double ty = 0, tx = 0;
    for (uint32_t y = 0; y < d->out_h; y++)
        ty += (y > 0) + 1 + (y + 1 < d->in_h);
    for (uint32_t x = 0; x < d->out_w; x++)
        tx += (x > 0) + 1 + (x + 1 < d->in_w);
    return ty * tx * d->in_c * d->out_c;
}

static int is_lif(snn_layer_kind k)
{
    return k == SNN_LAYER_CONV || k == SNN_LAYER_FC;
}

double snn_energy_map_bits(const snn_net *net, uint32_t l)
{
    const snn_layer *L = &net->layers[l];
    const snn_layer_desc *d = L->desc;
    double T = net->hdr->timesteps;
    if (L->kind == SNN_LAYER_POOL) return 0;
    double in;
    if (L->kind == SNN_LAYER_CONV) /* taps x in_c over the output pixels */
        in = snn_energy_dense_macs(L) / d->out_c * ((d->flags & SNN_LF_INPUT_IMAGE) ? 8 : T);
    else
        in = (double)L->n_in * ((d->flags & SNN_LF_INPUT_IMAGE) ? 8 : T);
    double out = 0;
    if (L->kind != SNN_LAYER_OUT) {
        int pooled = l + 1 < net->n_layers && net->layers[l + 1].kind == SNN_LAYER_POOL;
        out = (double)L->n_out * T * (pooled ? 2 : 1);
    }
    return in + out;
}

void snn_energy_estimate(const snn_net *net, const double *synops, const double *events,
                         snn_energy_est *e)
{
    memset(e, 0, sizeof *e);
    uint32_t T = net->hdr->timesteps;
    for (uint32_t l = 0; l < net->n_layers; l++) {
        const snn_layer *L = &net->layers[l];
        e->ann_macs += snn_energy_dense_macs(L);
        if (L->kind != SNN_LAYER_POOL) e->ann_neurons += L->n_out;
        /* Layer 0 multiplies analogue pixels (once per image): MACs. */
        if (L->desc->flags & SNN_LF_INPUT_IMAGE)
            e->snn_macs += synops[l];
        else
            e->snn_acs += synops[l];
        e->snn_events += events[l];
        if (is_lif(L->kind)) {
            e->neuron_steps += (double)L->n_out * T;
            e->snn_param_bits += (double)L->n_out * SNN_BITS_SNN_THRESHOLD;
        }
        if (L->kind != SNN_LAYER_POOL) e->snn_param_bits += (double)L->n_out * SNN_BITS_SNN_BIAS;
        e->snn_map_bits += snn_energy_map_bits(net, l);
    }
    e->snn_weight_bits = SNN_BITS_SNN_WEIGHT * e->snn_events;
    e->snn_fp32_pj = SNN_E_MAC_FP32_PJ * e->snn_macs + SNN_E_AC_FP32_PJ * e->snn_acs;
    e->ann_fp32_pj = SNN_E_MAC_FP32_PJ * e->ann_macs;
    e->snn_int_pj =
        SNN_E_MAC_INT_PJ * e->snn_macs + SNN_E_AC_INT_PJ * (e->snn_acs + e->neuron_steps);
    e->ann_int_pj = SNN_E_MAC_INT_PJ * e->ann_macs;
    e->snn_sram_pj =
        SNN_E_SRAM_BIT_PJ * (e->snn_weight_bits + e->snn_param_bits + e->snn_map_bits);
    e->ann_sram_pj =
        SNN_E_SRAM_BIT_PJ * (SNN_BITS_ANN_MAC * e->ann_macs + SNN_BITS_ANN_NEURON * e->ann_neurons);
}
