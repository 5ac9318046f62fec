/*
 * output.c - where mpbn may write, and how: file kinds, output claims with a
 * per-output lock, and atomic writes (temporary file in the target's
 * directory, fsync, rename). The rules are in snn-common.h and
 * docs/files.md.
 */
#include "snn-common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- kinds ----------------------------------------------------------------- */

const char *snn_file_kind_name(snn_file_kind kind)
{
    switch (kind) {
    case SNN_KIND_NEW: return "new file";
    case SNN_KIND_CHECKPOINT: return "checkpoint (safetensors)";
    case SNN_KIND_DEPLOY: return "deploy image (.snn)";
    case SNN_KIND_IDX: return "IDX data file";
    case SNN_KIND_CSV: return "CSV file";
    case SNN_KIND_PNG: return "PNG image";
    case SNN_KIND_OTHER: break;
    }
    return "file of unknown kind";
}

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcasecmp(path + n - e, ext);
}

snn_file_kind snn_file_kind_sniff(const uint8_t *h, size_t n, const char *path)
{
    if (n == 0) return SNN_KIND_NEW;
    if (n >= 4 && h[0] == 'M' && h[1] == 'P' && h[2] == 'B' && h[3] == 'N') return SNN_KIND_DEPLOY;
    if (n >= 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8)) return SNN_KIND_PNG;
    /* safetensors: 8-byte little-endian header length, then a JSON object. */
    if (n >= 9) {
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--) hl = hl << 8 | h[i];
        if (hl >= 2 && hl < (1u << 30) && h[8] == '{') return SNN_KIND_CHECKPOINT;
    }
    /* IDX: two zero bytes, a type code, a dimension count; or gzip. */
    if (n >= 4 && h[0] == 0 && h[1] == 0 && h[2] >= 0x08 && h[2] <= 0x0E && h[3] >= 1 && h[3] <= 4)
        return SNN_KIND_IDX;
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b && (strstr(path, "idx") || strstr(path, "ubyte")))
        return SNN_KIND_IDX;
    if (has_ext(path, ".csv")) return SNN_KIND_CSV;
    return SNN_KIND_OTHER;
}

snn_file_kind snn_file_kind_of(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return SNN_KIND_NEW;
    struct stat sb;
    uint8_t h[16];
    ssize_t got = 0;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) got = read(fd, h, sizeof h);
    else got = -1;
    close(fd);
    if (got < 0) return SNN_KIND_OTHER;
    return snn_file_kind_sniff(h, (size_t)got, path);
}

static const char *article(const char *noun)
{
    return strchr("AEIOUaeiou", noun[0]) ? "an" : "a";
}

snn_status snn_file_expect_kind(const char *path, unsigned want, const char *consumer)
{
    /* a missing path, a directory, a FIFO or a device: its reader names it */
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return SNN_OK;
    snn_file_kind k = snn_file_kind_of(path);
    if (k == SNN_KIND_NEW || (want >> k & 1u)) return SNN_OK;
    char takes[256] = "";
    size_t n = 0;
    for (int i = SNN_KIND_CHECKPOINT; i <= SNN_KIND_OTHER && n < sizeof takes; i++) {
        if (!(want >> i & 1u)) continue;
        const char *name = snn_file_kind_name((snn_file_kind)i);
        int w = snprintf(takes + n, sizeof takes - n, "%s%s %s", n ? " or " : "", article(name), name);
        n += w > 0 ? (size_t)w : 0;
    }
    const char *found = snn_file_kind_name(k);
    return snn_fail(SNN_ERR_FORMAT, "%s is %s %s; %s takes %s", path, article(found), found,
                    consumer, takes);
}

/* ---- inputs, claims and locks ----------------------------------------------- */

#define MAX_NOTED 64
static struct {
    dev_t dev;
    ino_t ino;
    char path[256];
} g_inputs[MAX_NOTED];
static int g_n_inputs;
static int g_allow_replace;

static struct {
    char path[PATH_MAX]; /* resolved output path */
    int fd;              /* lock file, held until exit */
} g_claims[16];
static int g_n_claims;

void snn_io_note_input(const char *path)
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0 || g_n_inputs == MAX_NOTED) return;
    g_inputs[g_n_inputs].dev = sb.st_dev;
    g_inputs[g_n_inputs].ino = sb.st_ino;
    snprintf(g_inputs[g_n_inputs].path, sizeof g_inputs[0].path, "%s", path);
    g_n_inputs++;
}

void snn_io_allow_replace(int yes)
{
    g_allow_replace = yes;
}

static const char *node_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* The file an output path finally names: symlinks are followed (to a regular
 * file, or to a new name in an existing directory). */
static snn_status resolve_output(const char *path, char *out, size_t cap)
{
    if (!path || !*path) return snn_fail(SNN_ERR_ARG, "empty output path");
    if (strlen(path) >= cap) return snn_fail(SNN_ERR_ARG, "%s: output path too long", path);
    snprintf(out, cap, "%s", path);
    for (int hops = 0; hops < 40; hops++) {
        struct stat sb;
        if (lstat(out, &sb) != 0) {
            if (errno == ENOENT) return SNN_OK; /* a new file */
            return snn_fail(SNN_ERR_IO, "%s: %s", path, strerror(errno));
        }
        if (!S_ISLNK(sb.st_mode)) return SNN_OK;
        char link[PATH_MAX];
        ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0) return snn_fail(SNN_ERR_IO, "%s: %s", path, strerror(errno));
        link[n] = 0;
        /* A relative link is relative to the directory holding the link. */
        char *slash = link[0] == '/' ? NULL : strrchr(out, '/');
        size_t keep = slash ? (size_t)(slash - out) + 1 : 0;
        if (keep + (size_t)n >= cap)
            return snn_fail(SNN_ERR_ARG, "%s: symlink target path too long", path);
        memcpy(out + keep, link, (size_t)n + 1);
    }
    return snn_fail(SNN_ERR_IO, "%s: too many levels of symbolic links", path);
}

/* "<dir>/.<name>.lock" for "<dir>/<name>"; 0 if it does not fit. */
static int lock_name(const char *target, char *lock, size_t cap)
{
    const char *slash = strrchr(target, '/');
    size_t dn = slash ? (size_t)(slash - target) + 1 : 0, bn = strlen(target + dn);
    if (dn + 1 + bn + 6 > cap) return 0;
    memcpy(lock, target, dn);
    lock[dn] = '.';
    memcpy(lock + dn + 1, target + dn, bn);
    memcpy(lock + dn + 1 + bn, ".lock", 6);
    return 1;
}

static snn_status take_lock(const char *target, int *fd_out)
{
    char lock[PATH_MAX + 16];
    if (!lock_name(target, lock, sizeof lock))
        return snn_fail(SNN_ERR_ARG, "%s: output path too long", target);
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            return snn_fail(SNN_ERR_IO, "%s: cannot create the lock file %s: %s", target, lock,
                            strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return snn_fail(SNN_ERR_IO,
                                "%s: another mpbn process is writing this file (lock %s); "
                                "wait for it or choose another output",
                                target, lock);
            return snn_fail(SNN_ERR_IO, "%s: cannot lock %s: %s", target, lock, strerror(e));
        }
        /* The holder before us may have removed the lock file after we opened
         * it: the lock only counts if it is still the file at that name. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd_out = fd;
            return SNN_OK;
        }
        close(fd);
    }
    return snn_fail(SNN_ERR_IO, "%s: cannot take the lock %s", target, lock);
}

static void release_locks(void)
{
    for (int i = 0; i < g_n_claims; i++) {
        char lock[PATH_MAX + 16];
        if (lock_name(g_claims[i].path, lock, sizeof lock))
            unlink(lock); /* while still holding it: a waiter re-checks the name */
        close(g_claims[i].fd);
    }
    g_n_claims = 0;
}

/* Checks run on every claim of a path (an input noted since the first claim
 * is still refused); the lock is taken once per path and process. */
static snn_status claim_resolved(const char *path, const char *target, snn_file_kind kind)
{
    struct stat sb;
    if (stat(target, &sb) == 0) {
        for (int i = 0; i < g_n_inputs; i++)
            if (g_inputs[i].dev == sb.st_dev && g_inputs[i].ino == sb.st_ino)
                return snn_fail(SNN_ERR_ARG,
                                "%s: this file is an input of this command (%s); refusing to "
                                "overwrite it",
                                path, g_inputs[i].path);
        if (!S_ISREG(sb.st_mode))
            return snn_fail(SNN_ERR_ARG, "%s: is %s; mpbn writes only regular files", path,
                            node_kind(sb.st_mode));
        snn_file_kind have = snn_file_kind_of(target);
        if (have != SNN_KIND_NEW && have != kind && !g_allow_replace)
            return snn_fail(SNN_ERR_ARG,
                            "%s: exists and is %s %s, not %s %s; refusing to replace it "
                            "(--force replaces a regular file of another kind)",
                            path, article(snn_file_kind_name(have)), snn_file_kind_name(have),
                            article(snn_file_kind_name(kind)), snn_file_kind_name(kind));
    } else if (errno != ENOENT) {
        return snn_fail(SNN_ERR_IO, "%s: %s", path, strerror(errno));
    }
    for (int i = 0; i < g_n_claims; i++)
        if (!strcmp(g_claims[i].path, target)) return SNN_OK;
    if (g_n_claims == (int)(sizeof g_claims / sizeof g_claims[0]))
        return snn_fail(SNN_ERR_ARG, "%s: too many outputs in one command", path);
    size_t tn = strlen(target);
    if (tn >= sizeof g_claims[0].path) return snn_fail(SNN_ERR_ARG, "%s: output path too long", path);
    int fd;
    snn_status st = take_lock(target, &fd);
    if (st != SNN_OK) return st;
    if (g_n_claims == 0) atexit(release_locks);
    memcpy(g_claims[g_n_claims].path, target, tn + 1);
    g_claims[g_n_claims].fd = fd;
    g_n_claims++;
    return SNN_OK;
}

snn_status snn_output_claim(const char *path, snn_file_kind kind)
{
    char target[PATH_MAX];
    snn_status st = resolve_output(path, target, sizeof target);
    if (st != SNN_OK) return st;
    return claim_resolved(path, target, kind);
}

/* ---- atomic writes ------------------------------------------------------------ */

snn_status snn_afile_open(snn_afile *af, const char *path, snn_file_kind kind)
{
    memset(af, 0, sizeof *af);
    char target[PATH_MAX];
    snn_status st = resolve_output(path, target, sizeof target);
    if (st == SNN_OK) st = claim_resolved(path, target, kind);
    if (st != SNN_OK) return st;
    size_t n = strlen(target) + 32;
    af->path = strdup(target);
    af->tmp = malloc(n);
    if (!af->path || !af->tmp) {
        free(af->path);
        free(af->tmp);
        memset(af, 0, sizeof *af);
        return snn_fail(SNN_ERR_NOMEM, "out of memory");
    }
    snprintf(af->tmp, n, "%s.tmp.%ld", target, (long)getpid());
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST && unlink(af->tmp) == 0) /* our own pid's leftover */
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    af->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!af->f) {
        st = snn_fail(SNN_ERR_IO, "%s: cannot create %s: %s", path, af->tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(af->tmp);
        }
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

snn_status snn_file_write_atomic(const char *path, const void *data, size_t size,
                                 snn_file_kind kind)
{
    snn_afile af;
    snn_status st = snn_afile_open(&af, path, kind);
    if (st != SNN_OK) return st;
    st = snn_afile_write(&af, data, size);
    if (st != SNN_OK) {
        snn_afile_abort(&af);
        return st;
    }
    return snn_afile_commit(&af);
}
