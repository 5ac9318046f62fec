/*
 * snn-dev.h - one device API over every backend that runs a deploy image:
 *
 *   ref   the golden fixed-point model in plain C (docs/numerics.md)
 *   csim  the HLS kernel (hls/) compiled natively
 *   sim   the RTL kernel (rtl/snn_kernel.sv, a configuration of the layer
 *         pipeline) simulated cycle-accurately by Verilator
 *   xrt   an Alveo card through the XRT C API
 *
 * Usage:
 *
 *     snn_dev_opts o;
 *     snn_dev_opts_init(&o);
 *     snn_dev_t *dev;
 *     if (snn_dev_open("ref", &o, &dev) != SNN_OK ||
 *         snn_dev_load(dev, image_bytes, image_size) != SNN_OK ||
 *         snn_dev_run(dev, pixels, n_images, preds, NULL, NULL) != SNN_OK)
 *         fprintf(stderr, "mpbn: %s\n", snn_last_error());
 *     snn_dev_close(dev);
 *
 * snn_dev_run() streams the images through the kernel in batches of
 * opts.batch with two buffer sets (double buffering: the next batch is copied
 * while the current one runs on an asynchronous backend), so a test set never
 * has to fit in card memory at once.
 */
#ifndef SNN_DEV_H
#define SNN_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "snn-common.h"
#include "snn-deploy-format.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snn_dev snn_dev_t;

/* xrt: the cards one device runs on (--cards all|LIST). */
#define SNN_DEV_MAX_CARDS 16        /* cards in one list */
#define SNN_DEV_MAX_CARD_INDEX 1024 /* highest card index accepted (as --device-index) */
typedef struct snn_dev_cards {
    int all;                         /* every card present (--cards all) */
    uint32_t n;                      /* 0 (and !all): the card of device_index */
    int32_t list[SNN_DEV_MAX_CARDS]; /* card indices, in the order given, no repeats */
} snn_dev_cards;

typedef struct snn_dev_opts {
    const char *xclbin;     /* xrt: card image (.xclbin) */
    int32_t device_index;   /* xrt: card index (default 0) when `cards` names none */
    snn_dev_cards cards;    /* xrt: several cards (images spread over all their CUs) */
    uint32_t timeout_ms;    /* per kernel run (0 = default, 60000) */
    uint32_t batch;         /* images per kernel run (0 = default, 256) */
    uint32_t mem_latency;   /* sim: AXI read latency in cycles (0 = default) */
    uint32_t backpressure;  /* sim: percent of cycles the memory model stalls (0..90) */
    uint64_t seed;          /* sim: back-pressure pattern seed */
    const char *waveform;   /* sim: FST/VCD path to trace to, NULL = off */
    const char *config;     /* sim, csim: configuration of the layer-pipeline kernel
                               (include/snn-pipe.h, mk/sim.mk); NULL = the default,
                               SNN_PIPE_DEFAULT_CONFIG */
} snn_dev_opts;

/* The stages of the layer pipeline (include/snn-pipe.h, SNN_PIPE_STAGES). */
#define SNN_DEV_STAGES 5

typedef struct snn_dev_stats {
    uint64_t images;        /* images run since open */
    uint64_t runs;          /* kernel runs (batches) */
    double seconds;         /* wall time inside snn_dev_run */
    uint64_t cycles;        /* sim: kernel clock cycles (ap_start to ap_done), summed;
                               csim: the kernel's cycle model (docs/hls-kernel.md) */
    uint64_t load_cycles;   /* csim: model loads within `cycles` */
    uint64_t stage_cycles[SNN_DEV_STAGES]; /* csim: II=1 iterations of each layer-pipeline
                               stage (conv0, conv1, conv2, fc, out), summed over images */
    double joules;          /* xrt: board energy measured during runs (0 if unknown) */
    double watts;           /* xrt: mean board power during runs (0 if unknown); with
                               several cards the sum of the cards' */
} snn_dev_stats;

/* xrt: what one card of the device did since open (snn_dev_card_stats_get). */
typedef struct snn_dev_card_stats {
    int32_t index;          /* card index (`xbutil examine` order) */
    char bdf[32];           /* its PCIe address, "" if unknown */
    uint32_t cus;           /* compute units opened on it */
    uint64_t images, runs;  /* images and kernel runs it completed */
    double joules;          /* board energy during runs (0 if it has no sensor found) */
    double power_seconds;   /* run time its power readings cover (watts = joules / this) */
} snn_dev_card_stats;

void snn_dev_opts_init(snn_dev_opts *o);

/* Names of the backends linked into this build, comma separated. */
const char *snn_dev_names(void);

snn_status snn_dev_open(const char *name, const snn_dev_opts *opts, snn_dev_t **out);

/* Validate a deploy image (snn_deploy_parse) and copy it to device memory. */
snn_status snn_dev_load(snn_dev_t *dev, const uint8_t *image, size_t size);

/* The parsed view of the loaded image (NULL before snn_dev_load). */
const snn_net *snn_dev_net(const snn_dev_t *dev);

/* Run n_images uint8 CHW images. Any output pointer may be NULL:
 *   preds[n]                        predicted class per image
 *   results[n * snn_result_stride]  result records (docs/deploy-image.md)
 *   trace[n * snn_trace_words]      spike bitmaps and sums per image */
snn_status snn_dev_run(snn_dev_t *dev, const uint8_t *pixels, uint32_t n_images, int32_t *preds,
                       uint8_t *results, uint32_t *trace);

void snn_dev_get_stats(const snn_dev_t *dev, snn_dev_stats *st);

/* xrt: the cards the device opened, up to max of them into out (in the order
 * runs are spread over them); returns their number, 0 for a backend without
 * cards (ref, csim, sim). */
int snn_dev_card_stats_get(const snn_dev_t *dev, snn_dev_card_stats *out, int max);

/* Parse --cards: "all", or card indices 0..SNN_DEV_MAX_CARD_INDEX separated by
 * commas, at most SNN_DEV_MAX_CARDS, no repeats (field: snn_dev_cards *).
 * SNN_ERR_ARG with a message naming the bad part. */
snn_status snn_dev_cards_parse(const char *value, void *field);

const char *snn_dev_name(const snn_dev_t *dev);
void snn_dev_close(snn_dev_t *dev);

#ifdef __cplusplus
}
#endif
#endif
