/*
 * snn-deploy.h - reading, validating and writing deploy images
 * (docs/deploy-image.md), and the golden fixed-point model that executes them
 * (docs/numerics.md), and the diff of two backends' spike traces. Implemented
 * in host/deploy/deploy.c, host/deploy/ref-model.c and host/deploy/trace-diff.c.
 *
 *     snn_net net;
 *     if (snn_deploy_parse(bytes, size, &net) != SNN_OK)
 *         fprintf(stderr, "%s\n", snn_last_error());   // names the bad field
 *     snn_ref_run(&net, pixels, n, results, NULL);
 */
#ifndef SNN_DEPLOY_H
#define SNN_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

#include "snn-common.h"
#include "snn-deploy-format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Validate every field of a deploy image and fill a view whose pointers alias
 * `bytes` (which must stay alive and 4-byte aligned). SNN_ERR_FORMAT names the
 * first field that is wrong. Never reads outside [bytes, bytes+size). */
snn_status snn_deploy_parse(const uint8_t *bytes, size_t size, snn_net *net);

const char *snn_layer_kind_str(uint32_t kind);

/* The golden model: run n images (uint8 CHW, consecutive) through `net`,
 * writing n result records (snn_result_stride bytes each) and, if trace is
 * not NULL, n traces (snn_trace_words each). Pure function of its inputs. */
void snn_ref_run(const snn_net *net, const uint8_t *pixels, uint32_t n, uint8_t *results,
                 uint32_t *trace);

/* Where two traces differ (docs/deploy-image.md, "Results and trace buffers"). */
typedef struct snn_trace_mismatch {
    uint32_t image;  /* index among the n_images traces compared */
    uint32_t word;   /* trace word within that image's trace */
    uint32_t step;   /* 0..T-1; T for an output sum */
    int32_t layer;   /* layer of the spike; -1: an output sum */
    uint32_t neuron; /* the neuron (CHW index in the layer), or the class of a sum */
    int32_t a, b;    /* the spike (0 or 1), or the sum, in trace a and in trace b */
} snn_trace_mismatch;

typedef struct snn_trace_counts {
    uint64_t spike_bits; /* spike bits that differ */
    uint64_t sums;       /* output sums that differ */
    uint64_t images;     /* images whose traces differ */
} snn_trace_counts;

/* Compare n_images consecutive traces a and b (snn_trace_words each) of
 * `net`, image by image, each step by step, layer by layer, then the sums.
 * Returns the number of differing spike bits plus differing sums (0: the
 * traces are identical). If it is not 0 and first is not NULL, *first is the
 * first difference in that order (the lowest neuron of the first differing
 * word); *first is left untouched otherwise. count, if not NULL, gets the
 * counts per kind. */
uint64_t snn_trace_diff(const snn_net *net, const uint32_t *a, const uint32_t *b, uint32_t n_images,
                        snn_trace_mismatch *first, snn_trace_counts *count);

#ifdef __cplusplus
}
#endif
#endif
