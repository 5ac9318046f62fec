/* snn-common.c - status strings, thread-local error messages, bounded file reads.
 * Outputs (kinds, claims, locks, atomic writes) are in host/output.c. */
#include "snn-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char g_err[1024];

const char *snn_status_str(snn_status st)
{
    switch (st) {
    case SNN_OK: return "ok";
    case SNN_ERR_ARG: return "invalid argument";
    case SNN_ERR_IO: return "I/O error";
    case SNN_ERR_FORMAT: return "format error";
    case SNN_ERR_NOMEM: return "out of memory";
    case SNN_ERR_UNSUPPORTED: return "unsupported";
    case SNN_ERR_DEVICE: return "device error";
    case SNN_ERR_TIMEOUT: return "timeout";
    case SNN_ERR_MISMATCH: return "mismatch";
    }
    return "unknown status";
}

snn_status snn_fail(snn_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return st;
}

snn_status snn_fail_context(snn_status st, const char *fmt, ...)
{
    char prefix[512], old[sizeof g_err];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_err, sizeof old);
    /* Truncation of an over-long message is acceptable; the start matters most. */
    int n = snprintf(g_err, sizeof g_err, "%s: ", prefix);
    if (n < 0 || (size_t)n >= sizeof g_err) return st;
    snprintf(g_err + n, sizeof g_err - (size_t)n, "%s", old[0] ? old : snn_status_str(st));
    return st;
}

const char *snn_last_error(void)
{
    return g_err;
}

void snn_clear_error(void)
{
    g_err[0] = 0;
}

void snn_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "mpbn: internal error: %s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}

void *snn_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) snn_fail(SNN_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

void *snn_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) snn_fail(SNN_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

snn_status snn_file_read(const char *path, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return snn_fail(SNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = snn_malloc(cap);
    if (!buf) {
        fclose(f);
        return SNN_ERR_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return snn_fail(SNN_ERR_NOMEM, "%s: out of memory reading file", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return snn_fail(SNN_ERR_IO, "%s: read error", path);
    }
    *data = buf;
    *size = n;
    return SNN_OK;
}

double snn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
