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

void snn_energy_estimate(const snn_net *net, const double *synops, double synops_total,
                         double spikes_total, snn_energy_est *e)
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
        if (is_lif(L->kind)) e->neuron_steps += (double)L->n_out * T;
    }
    e->snn_fp32_pj = SNN_E_MAC_FP32_PJ * e->snn_macs + SNN_E_AC_FP32_PJ * e->snn_acs;
    e->ann_fp32_pj = SNN_E_MAC_FP32_PJ * e->ann_macs;
    e->snn_int_pj =
        SNN_E_MAC_INT_PJ * e->snn_macs + SNN_E_AC_INT_PJ * (e->snn_acs + e->neuron_steps);
    e->ann_int_pj = SNN_E_MAC_INT_PJ * e->ann_macs;
    e->snn_sram_pj = SNN_E_SRAM_BIT_PJ * (SNN_BITS_SNN_SYNOP * synops_total +
                                          SNN_BITS_SNN_NEURON_STEP * e->neuron_steps +
                                          SNN_BITS_SNN_SPIKE * spikes_total);
    e->ann_sram_pj =
        SNN_E_SRAM_BIT_PJ * (SNN_BITS_ANN_MAC * e->ann_macs + SNN_BITS_ANN_NEURON * e->ann_neurons);
}
