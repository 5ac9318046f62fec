/*
 * fuzz-safetensors.c - libFuzzer harness for the safetensors reader.
 *
 * Any input must be either refused with SNN_ERR_FORMAT or accepted as a file
 * whose tensors all lie in readable memory. An accepted file is also written
 * back with snn_st_write and re-read: names, dtypes, shapes, bytes and
 * metadata must survive the round trip unchanged.
 *
 *     make fuzz            # or: build/fuzz/fuzz-safetensors build/fuzz/corpus-st
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"

static unsigned touch(const snn_st_file *f)
{
    unsigned sum = 0;
    for (size_t i = 0; i < snn_st_count(f); i++) {
        const snn_st_tensor *t = snn_st_at(f, i);
        if (t->ndim > SNN_ST_MAX_DIMS || snn_st_find(f, t->name) != t) abort();
        const snn_st_tensor *g;
        if (snn_st_get(f, t->name, t->dtype, t->ndim, t->shape, &g) != SNN_OK || g != t) abort();
        if (t->nbytes && (uintptr_t)t->data % snn_st_dtype_size(t->dtype)) abort();
        for (size_t k = 0; k < t->nbytes; k++) sum += ((const uint8_t *)t->data)[k];
    }
    const char *k, *v;
    for (size_t i = 0; snn_st_meta_at(f, i, &k, &v); i++) {
        if (snn_st_meta(f, k) != v) abort();
        sum += (unsigned)(strlen(k) + strlen(v));
    }
    return sum;
}

static void round_trip(const snn_st_file *f)
{
    static char path[256];
    if (!path[0]) {
        const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/fuzz-safetensors-%ld.safetensors", tmp, (long)getpid());
    }
    size_t n = snn_st_count(f), nm = snn_st_meta_count(f);
    snn_st_tensor *t = calloc(n + 1, sizeof *t);
    const char **mk = calloc(nm + 1, sizeof *mk), **mv = calloc(nm + 1, sizeof *mv);
    if (!t || !mk || !mv) abort();
    for (size_t i = 0; i < n; i++) t[i] = *snn_st_at(f, i);
    for (size_t i = 0; i < nm; i++) snn_st_meta_at(f, i, &mk[i], &mv[i]);
    if (snn_st_write(path, t, n, mk, mv, nm) != SNN_OK) {
        fprintf(stderr, "write back failed: %s\n", snn_last_error());
        abort();
    }
    snn_st_file *g;
    if (snn_st_read(path, &g) != SNN_OK) {
        fprintf(stderr, "re-read failed: %s\n", snn_last_error());
        abort();
    }
    unlink(path);
    if (snn_st_count(g) != n || snn_st_meta_count(g) != nm) abort();
    for (size_t i = 0; i < n; i++) {
        const snn_st_tensor *a = &t[i], *b = snn_st_at(g, i);
        if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->ndim != b->ndim ||
            a->nbytes != b->nbytes || memcmp(a->shape, b->shape, a->ndim * sizeof a->shape[0]) ||
            (a->nbytes && memcmp(a->data, b->data, a->nbytes)))
            abort();
    }
    for (size_t i = 0; i < nm; i++) {
        const char *k, *v;
        snn_st_meta_at(g, i, &k, &v);
        if (strcmp(k, mk[i]) || strcmp(v, mv[i])) abort();
    }
    snn_st_free(g);
    free(t);
    free(mk);
    free(mv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    snn_st_file *f = (snn_st_file *)1;
    snn_status st = snn_st_parse(data, size, &f);
    if (st != SNN_OK) {
        if (st != SNN_ERR_FORMAT || f != NULL || !snn_last_error()[0]) abort();
        return 0;
    }
    touch(f);
    round_trip(f);
    snn_st_free(f);
    return 0;
}
