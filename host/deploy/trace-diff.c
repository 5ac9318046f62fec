/*
 * trace-diff.c - where two spike traces differ (snn_trace_diff, snn-deploy.h):
 * what `mpbn compare` and the cross-backend tests report.
 */
#include <string.h>

#include "snn-deploy.h"

uint64_t snn_trace_diff(const snn_net *net, const uint32_t *a, const uint32_t *b, uint32_t n_images,
                        snn_trace_mismatch *first, snn_trace_counts *count)
{
    snn_trace_counts c;
    memset(&c, 0, sizeof c);
    int have = 0;
    size_t tw = snn_trace_words(net);
    for (uint32_t i = 0; i < n_images; i++) {
        const uint32_t *ta = a + i * tw, *tb = b + i * tw;
        int differs = 0;
        for (uint32_t w = 0; w < tw; w++) {
            if (ta[w] == tb[w]) continue;
            differs = 1;
            uint32_t t, n0;
            int32_t layer;
            snn_trace_locate(net, w, &t, &layer, &n0);
            if (layer >= 0)
                c.spike_bits += (uint64_t)__builtin_popcount(ta[w] ^ tb[w]);
            else
                c.sums++;
            if (have || !first) continue;
            have = 1;
            first->image = i;
            first->word = w;
            first->step = t;
            first->layer = layer;
            if (layer >= 0) {
                uint32_t bit = (uint32_t)__builtin_ctz(ta[w] ^ tb[w]);
                first->neuron = n0 + bit;
                first->a = (int32_t)((ta[w] >> bit) & 1u);
                first->b = (int32_t)((tb[w] >> bit) & 1u);
            } else {
                first->neuron = n0;
                first->a = (int32_t)ta[w];
                first->b = (int32_t)tb[w];
            }
        }
        c.images += (uint64_t)differs;
    }
    if (count) *count = c;
    return c.spike_bits + c.sums;
}
