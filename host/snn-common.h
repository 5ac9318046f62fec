/*
 * snn-common.h - status codes, error messages, assertions and atomic file
 * writes shared by every part of mpbn (host, driver, tests).
 *
 * Two kinds of failure:
 *   - a broken invariant (a bug): SNN_ASSERT(x) aborts with file and line in
 *     every build;
 *   - anything a user can cause (bad file, missing device, out of memory):
 *     the function returns an snn_status and leaves a message that says what
 *     was wrong, where, and what to do, readable with snn_last_error().
 *
 * Library code never calls exit() and never prints to stdout.
 *
 *     snn_status st = snn_idx_load("train-images.gz", &img);
 *     if (st != SNN_OK) {
 *         fprintf(stderr, "mpbn: %s\n", snn_last_error());
 *         return 1;
 *     }
 */
#ifndef SNN_COMMON_H
#define SNN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SNN_OK = 0,
    SNN_ERR_ARG,         /* bad argument or option value */
    SNN_ERR_IO,          /* file missing, unreadable, unwritable */
    SNN_ERR_FORMAT,      /* file present but malformed (magic, size, CRC, shape) */
    SNN_ERR_NOMEM,       /* allocation failed */
    SNN_ERR_UNSUPPORTED, /* valid request this build or model cannot do */
    SNN_ERR_DEVICE,      /* device missing or failed */
    SNN_ERR_TIMEOUT,     /* kernel did not finish in time (hang) */
    SNN_ERR_MISMATCH,    /* backends disagree */
} snn_status;

/* Short name of a status ("format error", ...). */
const char *snn_status_str(snn_status st);

/* Record the message of the current failure (thread-local) and return st, so
 * that `return snn_fail(SNN_ERR_IO, "%s: %s", path, strerror(errno));` works. */
snn_status snn_fail(snn_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context ("loading model.snn: ..."). */
snn_status snn_fail_context(snn_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message recorded by the last snn_fail() on this thread ("" if none). */
const char *snn_last_error(void);
void snn_clear_error(void);

/* Abort with file and line on a broken invariant, in every build. */
#define SNN_ASSERT(x)                                                                  \
    do {                                                                               \
        if (!(x)) snn_assert_fail(__FILE__, __LINE__, #x);                             \
    } while (0)
void snn_assert_fail(const char *file, int line, const char *expr) __attribute__((noreturn));

/* Allocation that records SNN_ERR_NOMEM on failure (returns NULL). */
void *snn_malloc(size_t bytes);
void *snn_calloc(size_t n, size_t size);

/* ---- files --------------------------------------------------------------- */

/* Read a whole file into a fresh buffer (caller frees). */
snn_status snn_file_read(const char *path, uint8_t **data, size_t *size);

/* Atomic write: data goes to "<path>.tmp.<pid>", is flushed and fsync'ed, then
 * renamed over path. A crash leaves either the old file or the new one. */
snn_status snn_file_write_atomic(const char *path, const void *data, size_t size);

/* Streaming form of the same: open, write pieces, commit (or abort). */
typedef struct snn_afile {
    FILE *f;
    char *path;
    char *tmp;
    int failed;
} snn_afile;
snn_status snn_afile_open(snn_afile *af, const char *path);
snn_status snn_afile_write(snn_afile *af, const void *data, size_t size);
snn_status snn_afile_commit(snn_afile *af); /* fsync + rename; frees af */
void snn_afile_abort(snn_afile *af);        /* remove the temporary; frees af */

/* ---- time ----------------------------------------------------------------- */

/* Monotonic seconds. */
double snn_now(void);

#ifdef __cplusplus
}
#endif
#endif
