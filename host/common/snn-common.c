/* snn-common.c - status strings, thread-local error messages, bounded file reads.
 * Outputs (kinds, claims, locks, atomic writes) are in host/common/output.c. */
#include "snn-common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
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

/* What a non-regular file is, for messages. */
static const char *file_type_name(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* "4294967296 bytes = 4 GiB", "... = 4 GiB - 1", "100 MiB", or plain bytes. */
static const char *fmt_limit(uint64_t max, char *buf, size_t n)
{
    const uint64_t gib = (uint64_t)1 << 30, mib = (uint64_t)1 << 20;
    if (max >= gib && max % gib == 0)
        snprintf(buf, n, "%llu bytes = %llu GiB", (unsigned long long)max,
                 (unsigned long long)(max / gib));
    else if (max >= gib && (max + 1) % gib == 0)
        snprintf(buf, n, "%llu bytes = %llu GiB - 1", (unsigned long long)max,
                 (unsigned long long)((max + 1) / gib));
    else if (max >= mib && max % mib == 0)
        snprintf(buf, n, "%llu bytes = %llu MiB", (unsigned long long)max,
                 (unsigned long long)(max / mib));
    else
        snprintf(buf, n, "%llu bytes", (unsigned long long)max);
    return buf;
}

snn_status snn_file_open_read(const char *path, uint64_t max, FILE **out, uint64_t *size)
{
    *out = NULL;
    *size = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return snn_fail(SNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return snn_fail(SNN_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return snn_fail(SNN_ERR_IO, "%s: is %s, not a regular file (only regular files are read)",
                        path, file_type_name(sb.st_mode));
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > max) {
        char lim[64];
        close(fd);
        return snn_fail(SNN_ERR_FORMAT, "%s: %lld bytes, larger than the limit for this file (%s)",
                        path, (long long)sb.st_size, fmt_limit(max, lim, sizeof lim));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return snn_fail(SNN_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *out = f;
    *size = (uint64_t)sb.st_size;
    return SNN_OK;
}

snn_status snn_file_read(const char *path, uint64_t max, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f;
    uint64_t fsize;
    snn_status st = snn_file_open_read(path, max, &f, &fsize);
    if (st != SNN_OK) return st;
    if (fsize > SIZE_MAX - 1) {
        fclose(f);
        return snn_fail(SNN_ERR_NOMEM, "%s: %llu bytes do not fit in memory", path,
                        (unsigned long long)fsize);
    }
    /* One byte more than the size: a file that grows while it is read is
     * refused rather than read past what was checked. */
    uint8_t *buf = snn_malloc((size_t)fsize + 1);
    if (!buf) {
        fclose(f);
        return snn_fail(SNN_ERR_NOMEM, "%s: out of memory reading %llu bytes", path,
                        (unsigned long long)fsize);
    }
    size_t n = 0, want = (size_t)fsize + 1;
    while (n < want) {
        size_t got = fread(buf + n, 1, want - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err || n != fsize) {
        free(buf);
        if (err) return snn_fail(SNN_ERR_IO, "%s: read error", path);
        return snn_fail(SNN_ERR_IO, "%s: changed while being read (%llu bytes at open, %s)", path,
                        (unsigned long long)fsize, n > fsize ? "more now" : "fewer now");
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
