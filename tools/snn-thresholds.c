/*
 * snn-thresholds.c - per-neuron firing thresholds of a deploy image as CSV,
 * in float units (threshold * the channel's accumulator scale), for the
 * threshold-distribution plot (scripts/plot-thresholds.gp).
 *
 *     build/tools/snn-thresholds MODEL.snn > build/plots/thresholds.csv
 *
 * Columns: layer,kind,neuron,channel,threshold_int,polarity,scale,threshold,constant
 * A neuron whose MPBN scale was zero has a constant output and a sentinel
 * threshold (INT32_MAX never fires, INT32_MIN always fires; docs/numerics.md):
 * constant = 1 and threshold is empty for those, so histograms skip them.
 * Polarity 1 means the neuron fires when the membrane is BELOW its threshold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "snn-common.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: snn-thresholds MODEL.snn > thresholds.csv\n");
        return 2;
    }
    uint8_t *raw, *img;
    size_t n;
    snn_net net;
    snn_status st = snn_file_read(argv[1], SNN_DEPLOY_MAX_BYTES, &raw, &n);
    if (st == SNN_OK) {
        img = aligned_alloc(64, (n + 63) & ~(size_t)63);
        if (!img) return 1;
        memcpy(img, raw, n);
        free(raw);
        st = snn_deploy_parse(img, n, &net);
    }
    if (st != SNN_OK) {
        fprintf(stderr, "snn-thresholds: %s: %s\n", argv[1], snn_last_error());
        return 1;
    }
    printf("layer,kind,neuron,channel,threshold_int,polarity,scale,threshold,constant\n");
    for (uint32_t l = 0; l < net.n_layers; l++) {
        const snn_layer *L = &net.layers[l];
        if (!L->th) continue;
        uint32_t hw = L->desc->out_h * L->desc->out_w;
        for (uint32_t i = 0; i < L->n_out; i++) {
            uint32_t c = i / hw;
            int32_t th = L->th[i];
            int pol = (L->pol[i / 8] >> (i % 8)) & 1;
            float sc = L->scale[c];
            int cnst = th == INT32_MAX || th == INT32_MIN;
            if (cnst)
                printf("%u,%s,%u,%u,%d,%d,%.9g,,1\n", l, snn_layer_kind_str(L->kind), i, c, th, pol,
                       sc);
            else
                printf("%u,%s,%u,%u,%d,%d,%.9g,%.9g,0\n", l, snn_layer_kind_str(L->kind), i, c, th,
                       pol, sc, (double)th * sc);
        }
    }
    return 0;
}
