/*
 * snn-deploy-format.h - the deploy image: the exact bytes the card reads.
 *
 * `mpbn fold` writes it, every backend (ref, csim, sim, xrt) executes it. The
 * byte layout is specified in docs/deploy-image.md and the integer semantics
 * in docs/numerics.md; this header is the C view of both, kept free of
 * anything but <stdint.h> so the HLS kernel can include it too.
 *
 *     uint8_t *bytes; size_t n;
 *     snn_file_read("model.snn", SNN_DEPLOY_MAX_BYTES, &bytes, &n);
 *     snn_net net;                              // parser: host/deploy/snn-deploy.h
 *     if (snn_deploy_parse(bytes, n, &net) != SNN_OK) { ... snn_last_error() ... }
 *     for (uint32_t l = 0; l < net.hdr->n_layers; l++)
 *         printf("%s %ux%ux%u\n", snn_layer_kind_str(net.layers[l].kind), ...);
 *
 * All multi-byte fields are little-endian. All section offsets are relative to
 * the start of the image and multiples of SNN_DEPLOY_ALIGN.
 */
#ifndef SNN_DEPLOY_FORMAT_H
#define SNN_DEPLOY_FORMAT_H

#include <stdint.h>

#define SNN_DEPLOY_MAGIC 0x4E42504Du /* "MPBN" in file byte order */
#define SNN_DEPLOY_VERSION_MAJOR 1u
#define SNN_DEPLOY_VERSION_MINOR 0u
#define SNN_DEPLOY_ALIGN 64u          /* section alignment: one 512-bit AXI beat */
#define SNN_DEPLOY_HDR_BYTES 64u
#define SNN_DEPLOY_DESC_BYTES 80u
#define SNN_MAX_LAYERS 16u
#define SNN_MAX_CLASSES 64u
#define SNN_MAX_T 16u
/* Largest deploy image: total_bytes is a u32. Readers refuse a larger file
 * from its size, before reading it. */
#define SNN_DEPLOY_MAX_BYTES 0xFFFFFFFFu

/* Numeric constants of docs/numerics.md. */
#define SNN_LEAK_SHIFT 2            /* tau = 0.25: u >> 2 (arithmetic, floor) */
#define SNN_ACC_BOUND (1 << 28)     /* every |acc + bias| per step is below this */
#define SNN_WEIGHT_MAX 127          /* weights are int8 in [-127, 127] */

typedef enum {
    SNN_LAYER_CONV = 1, /* 3x3, padding 1, stride 1, then LIF */
    SNN_LAYER_POOL = 2, /* 2x2 stride 2 max-pool of spikes (= OR), floor */
    SNN_LAYER_FC = 3,   /* fully connected, then LIF */
    SNN_LAYER_OUT = 4,  /* fully connected, no LIF: sums over T; always last */
} snn_layer_kind;

/* Descriptor flags. */
#define SNN_LF_INPUT_IMAGE 0x1u /* input is the uint8 image (layer 0 only) */

/* Header: 64 bytes at offset 0. */
typedef struct snn_deploy_hdr {
    uint32_t magic;         /* SNN_DEPLOY_MAGIC */
    uint16_t version_major; /* readers refuse a different major */
    uint16_t version_minor; /* readers accept any minor */
    uint32_t hdr_bytes;     /* SNN_DEPLOY_HDR_BYTES */
    uint32_t total_bytes;   /* whole image including the trailing CRC-32 */
    uint32_t n_layers;      /* 1..SNN_MAX_LAYERS, last one is SNN_LAYER_OUT */
    uint32_t timesteps;     /* T, 1..SNN_MAX_T */
    uint32_t in_c, in_h, in_w; /* input image shape (uint8, CHW) */
    uint32_t n_classes;     /* = out_c of the last layer, 2..SNN_MAX_CLASSES */
    uint32_t desc_off;      /* = SNN_DEPLOY_HDR_BYTES */
    uint32_t desc_bytes;    /* = n_layers * SNN_DEPLOY_DESC_BYTES */
    uint32_t flags;         /* 0 (reserved) */
    uint32_t max_neurons;   /* max over layers of out_c*out_h*out_w */
    uint32_t reserved[2];   /* 0 */
} snn_deploy_hdr;

/* Layer descriptor: 80 bytes each, from desc_off. A section that a kind does
 * not use has offset 0 and size 0. */
typedef struct snn_layer_desc {
    uint32_t kind;                 /* snn_layer_kind */
    uint32_t in_c, in_h, in_w;     /* = previous layer's out (or the image) */
    uint32_t out_c, out_h, out_w;  /* conv: same h,w; pool: h/2,w/2; fc/out: out_h=out_w=1 */
    uint32_t ksize;                /* conv 3, pool 2, fc/out 0 */
    uint32_t w_off, w_bytes;       /* int8 weights, fan-out-major (see docs) */
    uint32_t b_off, b_bytes;       /* int32 bias per output channel */
    uint32_t th_off, th_bytes;     /* int32 threshold per neuron (CHW) */
    uint32_t pol_off, pol_bytes;   /* polarity bit per neuron, LSB first */
    uint32_t scale_off, scale_bytes; /* float32 per output channel: host-only dequantisation */
    uint32_t flags;                /* SNN_LF_* */
    uint32_t fan_out;              /* max synapses one input event reaches (conv 9*out_c, fc out_c) */
} snn_layer_desc;

/* Parsed, validated view of an image; pointers alias the image bytes. */
typedef struct snn_layer {
    snn_layer_kind kind;
    const snn_layer_desc *desc;
    uint32_t n_in, n_out;   /* neurons in / out (c*h*w) */
    const int8_t *w;        /* NULL for pool */
    const int32_t *bias;    /* NULL for pool */
    const int32_t *th;      /* NULL for pool and out */
    const uint8_t *pol;     /* NULL for pool and out */
    const float *scale;     /* NULL for pool */
} snn_layer;

typedef struct snn_net {
    const snn_deploy_hdr *hdr;
    const uint8_t *bytes;
    uint32_t size;
    uint32_t n_layers;
    snn_layer layers[SNN_MAX_LAYERS];
} snn_net;

/* ---- per-image results written by every backend ---------------------------
 * Result record of one image (little-endian, snn_result_stride() bytes):
 *   int32  sums[n_classes]        output layer sums over T (docs/numerics.md)
 *   int32  pred                   arg-max of sums, lowest index on ties
 *   uint32 spikes[n_layers]       output events of each layer, summed over T
 *   uint32 synops[n_layers]       synaptic accumulates of each layer, over T
 *   uint32 events[n_layers]       firing input neurons x synapses reached, each
 *                                 input counted once however many steps it fires
 *   zero padding to a multiple of 64 bytes
 * (docs/numerics.md, "Counters"; word offsets: snn_result_*_word below)
 */
static inline uint32_t snn_result_words(uint32_t n_classes, uint32_t n_layers)
{
    return n_classes + 1u + 3u * n_layers;
}
/* Word index of spikes[0], synops[0] and events[0] in a record. */
static inline uint32_t snn_result_spikes_word(uint32_t n_classes, uint32_t n_layers)
{
    (void)n_layers;
    return n_classes + 1u;
}
static inline uint32_t snn_result_synops_word(uint32_t n_classes, uint32_t n_layers)
{
    return n_classes + 1u + n_layers;
}
static inline uint32_t snn_result_events_word(uint32_t n_classes, uint32_t n_layers)
{
    return n_classes + 1u + 2u * n_layers;
}
static inline uint32_t snn_result_stride(uint32_t n_classes, uint32_t n_layers)
{
    return (snn_result_words(n_classes, n_layers) * 4u + 63u) & ~63u;
}

/* ---- spike trace (optional; what `mpbn compare` checks) -------------------
 * Per image, for t = 0..T-1, for every layer l except the output layer: the
 * output spike bitmap of layer l at step t, n_out bits in CHW order, LSB-first
 * in little-endian uint32 words, ceil(n_out/32) words. Then the image's sums.
 */
/* Words of one step's bitmaps (all layers but the last). */
static inline uint32_t snn_trace_step_words(const snn_net *net)
{
    uint32_t w = 0;
    for (uint32_t l = 0; l + 1 < net->n_layers; l++) w += (net->layers[l].n_out + 31u) / 32u;
    return w;
}
static inline uint32_t snn_trace_words(const snn_net *net)
{
    return snn_trace_step_words(net) * net->hdr->timesteps + net->hdr->n_classes;
}
/* Where trace word w of an image lies: step *t, layer *layer (-1: the sums,
 * then *n0 is the class) and the first neuron *n0 of the word. */
static inline void snn_trace_locate(const snn_net *net, uint32_t w, uint32_t *t, int32_t *layer,
                                    uint32_t *n0)
{
    uint32_t step = snn_trace_step_words(net);
    if (w >= step * net->hdr->timesteps) {
        *t = net->hdr->timesteps;
        *layer = -1;
        *n0 = w - step * net->hdr->timesteps;
        return;
    }
    *t = w / step;
    uint32_t r = w - *t * step;
    *layer = 0;
    while (r >= (net->layers[*layer].n_out + 31u) / 32u) r -= (net->layers[(*layer)++].n_out + 31u) / 32u;
    *n0 = r * 32u;
}
/* The inverse: the trace word of an image holding the spike of neuron n of
 * layer l (l + 1 < n_layers) at step t; the bit is n % 32. */
static inline uint32_t snn_trace_word(const snn_net *net, uint32_t t, uint32_t l, uint32_t n)
{
    uint32_t off = 0;
    for (uint32_t k = 0; k < l; k++) off += (net->layers[k].n_out + 31u) / 32u;
    return t * snn_trace_step_words(net) + off + n / 32u;
}

#endif
