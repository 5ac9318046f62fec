/*
 * snn-randnet.c - write a random but lively deploy image (snn_deploy_random)
 * for tests and benchmarks that need a .snn file without a trained model.
 *
 *     build/tools/snn-randnet OUT.snn [ARCH [SEED [T [C H W [CLASSES]]]]]
 *     build/tools/snn-randnet /tmp/r.snn c4,p,c8,f16 7 4 1 12 12 10
 *
 * Defaults: ARCH c4,p,c8,f16, SEED 1, T 4, image 1x12x12, 10 classes.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "fold/snn-fold.h"
#include "snn-common.h"

static int num(const char *s, unsigned long *v)
{
    char *end;
    *v = strtoul(s, &end, 10);
    return *s && !*end;
}

int main(int argc, char **argv)
{
    /* (an option is never taken for the output path: `--help` prints this) */
    if (argc < 2 || argc > 10 || argv[1][0] == '-') {
        fprintf(stderr, "usage: snn-randnet OUT.snn [ARCH [SEED [T [C H W [CLASSES]]]]]\n");
        return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
    }
    const char *arch = argc > 2 ? argv[2] : "c4,p,c8,f16";
    unsigned long v[7] = {1, 4, 1, 12, 12, 10, 0};
    for (int i = 3; i < argc; i++)
        if (!num(argv[i], &v[i - 3])) {
            fprintf(stderr, "snn-randnet: bad number '%s'\n", argv[i]);
            return 2;
        }
    uint8_t *img;
    size_t n;
    snn_status st = snn_deploy_random(v[0], arch, (uint32_t)v[2], (uint32_t)v[3], (uint32_t)v[4],
                                     (uint32_t)v[1], (uint32_t)v[5], 0, &img, &n);
    if (st == SNN_OK) st = snn_file_write_atomic(argv[1], img, n, SNN_KIND_DEPLOY);
    if (st != SNN_OK) {
        fprintf(stderr, "snn-randnet: %s\n", snn_last_error());
        return 1;
    }
    free(img);
    return 0;
}
