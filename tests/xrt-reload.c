/*
 * xrt-reload.c - the xrt backend with a kernel that keeps the model on chip
 * (the RTL kernel: argument 5, the flags register, include/snn-regmap.h).
 * Such a kernel loads the model again only for a new model address or when
 * the run sets SNN_FLAG_RELOAD; a second model loaded into a buffer at the
 * same address (snn_dev_load frees the old buffer and allocates one of the
 * same size, which XRT may place where the old one was) must still be the
 * one that runs.
 *
 *   xrt-reload CARD.xclbin A.snn B.snn N [CARDS BATCH]
 *
 * Opens the xrt device (tests/cli-xrt.sh runs it on the XRT stand-in with
 * XRT_FAKE_ONCHIP=1), runs N random images on model A, loads model B and
 * runs the same images again, then A again; every prediction must equal the
 * golden model's on the model loaded at the time. Exit status 0 if so, 1 on
 * a mismatch or error (with a message). CARDS (as --cards: all, or 0,1)
 * and BATCH (images per run) run it on several cards, the images spread over
 * every compute unit of every card: each CU must load each model once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/snn-deploy.h"
#include "snn-common.h"
#include "snn-dev.h"

static int run_on(const char *dev_name, const snn_dev_opts *o, const uint8_t *model, size_t size,
                  const uint8_t *px, uint32_t n, int32_t *preds)
{
    snn_dev_t *d = NULL;
    snn_status st = snn_dev_open(dev_name, o, &d);
    if (st == SNN_OK) st = snn_dev_load(d, model, size);
    if (st == SNN_OK) st = snn_dev_run(d, px, n, preds, NULL, NULL);
    if (st != SNN_OK) fprintf(stderr, "xrt-reload: %s: %s\n", dev_name, snn_last_error());
    snn_dev_close(d);
    return st == SNN_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: xrt-reload CARD.xclbin A.snn B.snn N [CARDS BATCH]\n");
        return 2;
    }
    uint8_t *m[2] = {NULL, NULL};
    size_t sz[2];
    for (int i = 0; i < 2; i++)
        if (snn_file_read(argv[2 + i], 1u << 30, &m[i], &sz[i]) != SNN_OK) {
            fprintf(stderr, "xrt-reload: %s\n", snn_last_error());
            return 1;
        }
    uint32_t n = (uint32_t)strtoul(argv[4], NULL, 10);
    snn_net net;
    if (n == 0 || snn_deploy_parse(m[0], sz[0], &net) != SNN_OK) {
        fprintf(stderr, "xrt-reload: bad image count or model A\n");
        return 1;
    }
    size_t img = (size_t)net.hdr->in_c * net.hdr->in_h * net.hdr->in_w;
    uint8_t *px = malloc(img * n);
    int32_t *want[2] = {malloc(n * sizeof(int32_t)), malloc(n * sizeof(int32_t))};
    int32_t *got = malloc(n * sizeof(int32_t));
    if (!px || !want[0] || !want[1] || !got) return 1;
    uint64_t s = 42;
    for (size_t i = 0; i < img * n; i++) px[i] = (uint8_t)(snn_rng_next(&s) >> 56);

    snn_dev_opts ro;
    snn_dev_opts_init(&ro);
    for (int i = 0; i < 2; i++)
        if (run_on("ref", &ro, m[i], sz[i], px, n, want[i]) != 0) return 1;
    int differ = 0;
    for (uint32_t i = 0; i < n; i++) differ += want[0][i] != want[1][i];
    if (differ == 0) {
        fprintf(stderr, "xrt-reload: models A and B predict the same on all %u images; "
                        "the test needs models that differ\n", n);
        return 1;
    }

    snn_dev_opts o;
    snn_dev_opts_init(&o);
    o.xclbin = argv[1];
    if (argc == 7) {
        if (snn_dev_cards_parse(argv[5], &o.cards) != SNN_OK) {
            fprintf(stderr, "xrt-reload: CARDS: %s\n", snn_last_error());
            return 2;
        }
        o.batch = (uint32_t)strtoul(argv[6], NULL, 10);
    }
    snn_dev_t *d = NULL;
    snn_status st = snn_dev_open("xrt", &o, &d);
    int bad = 0;
    static const int order[3] = {0, 1, 0};
    for (int k = 0; k < 3 && st == SNN_OK; k++) {
        int which = order[k];
        st = snn_dev_load(d, m[which], sz[which]);
        if (st == SNN_OK) st = snn_dev_run(d, px, n, got, NULL, NULL);
        if (st != SNN_OK) break;
        int miss = 0;
        for (uint32_t i = 0; i < n; i++) miss += got[i] != want[which][i];
        printf("load %d: model %c, %d of %u predictions differ from ref\n", k + 1, "AB"[which],
               miss, n);
        bad += miss;
    }
    if (st != SNN_OK) fprintf(stderr, "xrt-reload: xrt: %s\n", snn_last_error());
    snn_dev_close(d);
    free(px), free(want[0]), free(want[1]), free(got), free(m[0]), free(m[1]);
    return st == SNN_OK && bad == 0 ? 0 : 1;
}
