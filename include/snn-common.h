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

/* Open path for reading, refusing anything but a regular file of at most
 * max bytes. Never blocks (a FIFO is opened non-blocking, then refused). The
 * message names what the path is ("is a directory", "is a FIFO", "is a
 * character device", ...) or the limit. On success *f is at offset 0 and
 * *size is the file's size. */
snn_status snn_file_open_read(const char *path, uint64_t max, FILE **f, uint64_t *size);

/* Read a whole regular file of at most max bytes into a fresh buffer (caller
 * frees), checked with snn_file_open_read before anything is read. Each
 * format has its cap: SNN_DEPLOY_MAX_BYTES (snn-deploy-format.h) for deploy images,
 * SNN_ST_MAX_BYTES (safetensors.h) for checkpoints. */
snn_status snn_file_read(const char *path, uint64_t max, uint8_t **data, size_t *size);

/* Largest working memory one batch may take: the float model's workspace,
 * a device's run buffers, compare's per-chunk traces. A --batch that needs
 * more is refused, with a message naming the option, before allocating. */
#define SNN_WORKSPACE_MAX_BYTES ((uint64_t)4 << 30)

/* ---- what a file is, and where an output may go ---------------------------
 *
 * Every file mpbn writes is claimed first. A claim succeeds only if the path
 * is new, or names (directly or through symlinks, which are followed) an
 * existing regular file of the same kind; never an input of the running
 * command (compared by device and inode), never a device node, FIFO, socket
 * or directory. snn_io_allow_replace(1) (--force) also allows a regular file
 * of another kind, nothing more. A claim takes an exclusive lock on a hidden
 * sibling "<dir>/.<name>.lock" (flock), so a second mpbn writing the same
 * output fails at once with a message; the lock is held until the process
 * exits. See docs/files.md. */
typedef enum {
    SNN_KIND_NEW = 0,    /* no file (or an empty one) */
    SNN_KIND_CHECKPOINT, /* safetensors checkpoint */
    SNN_KIND_DEPLOY,     /* .snn deploy image */
    SNN_KIND_IDX,        /* IDX data (plain or gzip) */
    SNN_KIND_CSV,        /* by extension: .csv */
    SNN_KIND_PNG,        /* PNG signature */
    SNN_KIND_OTHER,      /* anything else */
} snn_file_kind;

/* "checkpoint (safetensors)", "deploy image (.snn)", ... */
const char *snn_file_kind_name(snn_file_kind kind);
/* Classify an open file's first bytes (path is used for the extension). */
snn_file_kind snn_file_kind_sniff(const uint8_t *head, size_t n, const char *path);
/* Classify the file at path (SNN_KIND_NEW if it does not exist). */
snn_file_kind snn_file_kind_of(const char *path);
/* SNN_OK if path is of a kind in `want` (SNN_KIND_BIT(SNN_KIND_...) | ...),
 * or missing, empty or not a regular file (its reader says what it is); else
 * SNN_ERR_FORMAT naming the kind found and what `consumer` takes:
 * "m.snn is a deploy image (.snn); fold takes a checkpoint (safetensors)". */
#define SNN_KIND_BIT(k) (1u << (k))
snn_status snn_file_expect_kind(const char *path, unsigned want, const char *consumer);

/* Remember that the running command reads path: it may never be an output. */
void snn_io_note_input(const char *path);
/* --force: a claim may replace a regular file of another kind. */
void snn_io_allow_replace(int yes);
/* Check path as an output of kind and lock it (see above). Claiming a path
 * twice in one process is allowed. */
snn_status snn_output_claim(const char *path, snn_file_kind kind);

/* Atomic write: claims path (snn_output_claim), writes "<path>.tmp.<pid>" in
 * the directory of the final file, flushes, fsyncs and renames it over the
 * final file. A crash leaves either the old file or the new one. */
snn_status snn_file_write_atomic(const char *path, const void *data, size_t size,
                                 snn_file_kind kind);

/* Streaming form of the same: open, write pieces, commit (or abort). */
typedef struct snn_afile {
    FILE *f;
    char *path;
    char *tmp;
    int failed;
} snn_afile;
snn_status snn_afile_open(snn_afile *af, const char *path, snn_file_kind kind);
snn_status snn_afile_write(snn_afile *af, const void *data, size_t size);
snn_status snn_afile_commit(snn_afile *af); /* fsync + rename; frees af */
void snn_afile_abort(snn_afile *af);        /* remove the temporary; frees af */

/* ---- random numbers --------------------------------------------------------- */

/* splitmix64: the one generator of the project (trainer, random networks,
 * tests). Deterministic for a given state; the state is the seed. */
static inline uint64_t snn_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1), 53 bits. */
static inline double snn_rng_uniform(uint64_t *s)
{
    return (double)(snn_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- time ----------------------------------------------------------------- */

/* Monotonic seconds. */
double snn_now(void);

#ifdef __cplusplus
}
#endif
#endif
