/*
 * fuzz-idx.c - libFuzzer harness for the IDX reader.
 *
 * Every input goes through snn_idx_parse (plain bytes). Inputs that start
 * with the gzip magic also go through snn_idx_read via an in-memory file, so
 * that the zlib path (truncated streams, bad CRCs, concatenated members,
 * trailing bytes) is fuzzed too. Accepted inputs are checked for
 * consistency: the payload is exactly prod(dims) bytes and matches the input.
 *
 *     make fuzz            # or: build/fuzz/fuzz-idx build/fuzz/corpus-idx
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/snn-data.h"

/* Header bytes of a rank-r IDX file. */
#define HDR(r) (4 + 4 * (size_t)(r))

static void check_ok(const uint8_t *in, size_t size, uint32_t ndim, const uint32_t *dims,
                     const uint8_t *out, int plain)
{
    if (ndim < 1 || ndim > 4) abort();
    size_t total = 1;
    for (uint32_t i = 0; i < 4; i++) {
        if (i >= ndim && dims[i] != 1) abort();
        total *= dims[i];
    }
    /* For plain input the payload is the tail of the input, byte for byte. */
    if (plain && (HDR(ndim) + total != size || memcmp(out, in + HDR(ndim), total) != 0)) abort();
    /* Touch every byte so ASan sees a short buffer. */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < total; i++) sink ^= out[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t ndim, dims[4];
    uint8_t *out = NULL;
    if (snn_idx_parse(data, size, "fuzz", &ndim, dims, &out) == SNN_OK) {
        check_ok(data, size, ndim, dims, out, 1);
        free(out);
    } else if (out) {
        abort(); /* failure must not hand out a buffer */
    }

    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        static int fd = -1;
        static char path[64];
        if (fd < 0) {
            fd = memfd_create("fuzz-idx", 0);
            if (fd < 0) abort();
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        }
        if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
        out = NULL;
        if (snn_idx_read(path, &ndim, dims, &out) == SNN_OK) {
            check_ok(data, size, ndim, dims, out, 0);
            free(out);
        } else if (out) {
            abort();
        }
    }
    return 0;
}
