/* snn-common.c - status strings, thread-local error messages, atomic files. */
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

snn_status snn_afile_open(snn_afile *af, const char *path)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path) + 32;
    af->path = strdup(path);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        free(af->path);
        free(af->tmp);
        return snn_fail(SNN_ERR_NOMEM, "out of memory");
    }
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        snn_status st = snn_fail(SNN_ERR_IO, "%s: cannot create: %s", af->tmp, strerror(errno));
        free(af->path);
        free(af->tmp);
        memset(af, 0, sizeof *af);
        return st;
    }
    return SNN_OK;
}

snn_status snn_afile_write(snn_afile *af, const void *data, size_t size)
{
    if (af->failed) return SNN_ERR_IO;
    if (size && fwrite(data, 1, size, af->f) != size) {
        af->failed = 1;
        return snn_fail(SNN_ERR_IO, "%s: write failed: %s", af->tmp, strerror(errno));
    }
    return SNN_OK;
}

static void afile_free(snn_afile *af)
{
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

void snn_afile_abort(snn_afile *af)
{
    if (af->f) fclose(af->f);
    if (af->tmp) unlink(af->tmp);
    afile_free(af);
}

snn_status snn_afile_commit(snn_afile *af)
{
    snn_status st = SNN_OK;
    if (af->failed) st = SNN_ERR_IO;
    if (st == SNN_OK && fflush(af->f) != 0)
        st = snn_fail(SNN_ERR_IO, "%s: flush failed: %s", af->tmp, strerror(errno));
    if (st == SNN_OK && fsync(fileno(af->f)) != 0)
        st = snn_fail(SNN_ERR_IO, "%s: fsync failed: %s", af->tmp, strerror(errno));
    if (fclose(af->f) != 0 && st == SNN_OK)
        st = snn_fail(SNN_ERR_IO, "%s: close failed: %s", af->tmp, strerror(errno));
    af->f = NULL;
    if (st == SNN_OK && rename(af->tmp, af->path) != 0)
        st = snn_fail(SNN_ERR_IO, "cannot rename %s to %s: %s", af->tmp, af->path, strerror(errno));
    if (st != SNN_OK) unlink(af->tmp);
    afile_free(af);
    return st;
}

snn_status snn_file_write_atomic(const char *path, const void *data, size_t size)
{
    snn_afile af;
    snn_status st = snn_afile_open(&af, path);
    if (st != SNN_OK) return st;
    st = snn_afile_write(&af, data, size);
    if (st != SNN_OK) {
        snn_afile_abort(&af);
        return st;
    }
    return snn_afile_commit(&af);
}

double snn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
