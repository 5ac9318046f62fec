/*
 * snn-deploy.h - reading, validating and writing deploy images
 * (docs/deploy-image.md), and the golden fixed-point model that executes them
 * (docs/numerics.md). Implemented in host/deploy/deploy.c and host/deploy/ref-model.c.
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

#ifdef __cplusplus
}
#endif
#endif
