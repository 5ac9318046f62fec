/*
 * fuzz-deploy.c - libFuzzer harness for the deploy image parser and the
 * golden model (docs/deploy-image.md, docs/numerics.md).
 *
 * The input is an image. Random bytes almost never carry a valid CRC-32, so
 * when the input is long enough the harness also parses a copy whose header
 * total_bytes and CRC are repaired: then only the field checks stand between
 * the bytes and the model. Any input must be refused with SNN_ERR_FORMAT and
 * a message, or accepted; an accepted image runs one random image through
 * the golden model with a trace (ASan/UBSan catch any out-of-bounds read or
 * overflow the parser let through).
 *
 *     make fuzz-deploy     # FUZZ_SECONDS each; seeds from build/tools/snn-randnet
 */
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"

static void try_image(const uint8_t *data, size_t size)
{
    /* exactly-sized, aligned copy: a read past the end is caught */
    uint8_t *b = aligned_alloc(64, (size + 63) & ~(size_t)63 ? (size + 63) & ~(size_t)63 : 64);
    if (!b) return;
    memcpy(b, data, size);
    snn_net net;
    snn_clear_error();
    snn_status st = snn_deploy_parse(b, size, &net);
    if (st != SNN_OK) {
        if (st != SNN_ERR_FORMAT || !snn_last_error()[0]) abort();
        free(b);
        return;
    }
    const snn_deploy_hdr *h = net.hdr;
    size_t px = (size_t)h->in_c * h->in_h * h->in_w;
    if (px > (1u << 16) || net.hdr->max_neurons > (1u << 18)) { /* keep each run fast */
        free(b);
        return;
    }
    uint8_t *pixels = malloc(px);
    uint8_t *rec = malloc(snn_result_stride(h->n_classes, net.n_layers));
    uint32_t *tr = malloc(4u * snn_trace_words(&net));
    if (pixels && rec && tr) {
        snn_pixels_random(size, 1, h->in_c, h->in_h, h->in_w, pixels);
        snn_ref_run(&net, pixels, 1, rec, tr);
    }
    free(pixels), free(rec), free(tr), free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_image(data, size);
    if (size >= SNN_DEPLOY_HDR_BYTES + 4 && size < (1u << 24)) {
        uint8_t *c = malloc(size);
        if (!c) return 0;
        memcpy(c, data, size);
        uint32_t total = (uint32_t)size;
        memcpy(c + 12, &total, 4);
        snn_deploy_fix_crc(c, size);
        try_image(c, size);
        free(c);
    }
    return 0;
}
