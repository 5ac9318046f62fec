/*
 * data.c - IDX image/label files (plain or gzip) and the data-set loader.
 *
 * IDX layout: magic = 0x00 0x00 <type> <rank>, then rank big-endian u32
 * dimensions, then the payload in row-major order. We only need unsigned
 * bytes (type 0x08), which is what every MNIST-style set uses.
 */
#include "snn-data.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Bytes of the largest header we read (rank 4). */
#define IDX_MAX_HEADER (4 + 4 * 4)
/* Largest file (compressed or not) we read at all. */
#define IDX_MAX_FILE (SNN_IDX_MAX_BYTES + IDX_MAX_HEADER)

/* ---- IDX header ---------------------------------------------------------- */

static const char *idx_type_name(uint8_t t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return "unknown";
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Validate the header against the buffer size; on success *offset is where the
 * payload starts and the payload is exactly prod(dims) bytes to the end. */
static snn_status idx_header(const uint8_t *buf, size_t size, const char *name, uint32_t *ndim,
                             uint32_t dims[4], size_t *offset)
{
    if (size >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return snn_fail(SNN_ERR_FORMAT, "%s: gzip-compressed data where plain IDX was expected",
                        name);
    if (size < 4)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: truncated: %zu bytes, too short for the 4-byte IDX magic", name, size);
    uint32_t magic = be32(buf);
    if (buf[0] != 0 || buf[1] != 0)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: wrong magic 0x%08x (an IDX file starts with 0x0000, e.g. 0x00000803 "
                        "for images, 0x00000801 for labels)",
                        name, magic);
    if (buf[2] != 0x08)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: unsupported IDX data type 0x%02x (%s); only unsigned bytes (0x08) "
                        "are supported",
                        name, buf[2], idx_type_name(buf[2]));
    uint32_t rank = buf[3];
    if (rank < 1 || rank > 4)
        return snn_fail(SNN_ERR_FORMAT, "%s: unsupported IDX rank %u (magic 0x%08x); expected 1..4",
                        name, rank, magic);
    size_t hdr = 4 + 4 * (size_t)rank;
    if (size < hdr)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: truncated header: expected %zu bytes for %u dimensions, got %zu", name,
                        hdr, rank, size);
    uint64_t total = 1;
    char shape[64];
    size_t sl = 0;
    for (uint32_t i = 0; i < 4; i++) dims[i] = 1;
    for (uint32_t i = 0; i < rank; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%u", i ? "x" : "", dims[i]);
        /* Checked per factor so that the product can never overflow: both
         * operands are <= 2^32 here. */
        total *= dims[i];
        if (total > SNN_IDX_MAX_BYTES) {
            /* Finish the shape string for the message. */
            for (uint32_t k = i + 1; k < rank; k++)
                sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "x%u", be32(buf + 4 + 4 * k));
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: absurd dimensions %s (more than %llu bytes); corrupt header?",
                            name, shape, (unsigned long long)SNN_IDX_MAX_BYTES);
        }
    }
    uint64_t expected = hdr + total;
    if ((uint64_t)size < expected)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: truncated: shape %s needs %llu bytes (%zu-byte header + %llu data "
                        "bytes), got %zu",
                        name, shape, (unsigned long long)expected, hdr,
                        (unsigned long long)total, size);
    if ((uint64_t)size > expected)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: %llu bytes of trailing garbage after the data of shape %s (file is "
                        "%zu bytes, expected %llu)",
                        name, (unsigned long long)(size - expected), shape, size,
                        (unsigned long long)expected);
    *ndim = rank;
    *offset = hdr;
    return SNN_OK;
}

snn_status snn_idx_parse(const uint8_t *buf, size_t size, const char *name, uint32_t *ndim,
                         uint32_t dims[4], uint8_t **data)
{
    size_t off = 0;
    *data = NULL;
    snn_status st = idx_header(buf, size, name ? name : "<memory>", ndim, dims, &off);
    if (st != SNN_OK) return st;
    uint8_t *out = snn_malloc(size - off);
    if (!out) return SNN_ERR_NOMEM;
    memcpy(out, buf + off, size - off);
    *data = out;
    return SNN_OK;
}

/* ---- files ------------------------------------------------------------- */

/* Read a whole file, refusing anything larger than limit before reading it. */
static snn_status read_capped(const char *path, uint64_t limit, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return snn_fail(SNN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        fclose(f);
        return snn_fail(SNN_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode)) {
        fclose(f);
        return snn_fail(SNN_ERR_IO, "%s: is a directory, not an IDX file", path);
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > limit) {
        fclose(f);
        return snn_fail(SNN_ERR_FORMAT, "%s: file of %lld bytes is larger than the %llu-byte limit",
                        path, (long long)sb.st_size, (unsigned long long)limit);
    }
    /* st_size is a hint only (pipes, /proc files report 0); keep reading until EOF. */
    size_t cap = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 1 << 16;
    size_t n = 0;
    uint8_t *buf = snn_malloc(cap);
    if (!buf) {
        fclose(f);
        return SNN_ERR_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (n > limit) break;
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return snn_fail(SNN_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
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
    if (n > limit) {
        free(buf);
        return snn_fail(SNN_ERR_FORMAT, "%s: file is larger than the %llu-byte limit", path,
                        (unsigned long long)limit);
    }
    *data = buf;
    *size = n;
    return SNN_OK;
}

/* Inflate a complete gzip file held in memory. Concatenated gzip members
 * (what `cat a.gz b.gz` makes) are accepted, as gzip(1) does; any other
 * bytes after the last member are an error, as is a stream that stops early
 * or fails its CRC. */
static snn_status gunzip(const char *path, const uint8_t *in, size_t in_size, uint64_t limit,
                         uint8_t **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    /* The gzip trailer's ISIZE (size mod 2^32) sizes the buffer exactly for
     * honest files; a corrupt value is only a hint, bounded by deflate's
     * maximal ratio (about 1032:1) and by a fixed cap. */
    size_t cap = 1 << 16;
    if (in_size >= 18) {
        uint64_t isize = (uint32_t)in[in_size - 4] | (uint32_t)in[in_size - 3] << 8 |
                         (uint32_t)in[in_size - 2] << 16 | (uint32_t)in[in_size - 1] << 24;
        if (isize > cap && isize <= (uint64_t)in_size * 1032 && isize <= ((uint64_t)256 << 20))
            cap = (size_t)isize + 1;
    }
    uint8_t *buf = snn_malloc(cap);
    if (!buf) return SNN_ERR_NOMEM;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        free(buf);
        return snn_fail(SNN_ERR_NOMEM, "%s: cannot initialise zlib", path);
    }
    snn_status st = SNN_OK;
    size_t n = 0;
    zs.next_in = (Bytef *)in;
    /* uInt is 32 bits: IDX_MAX_FILE keeps in_size below 2^32 + a little; feed
     * in slices to be safe. */
    size_t in_left = in_size;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            zs.avail_in = chunk;
            in_left -= chunk;
        }
        if (n == cap) {
            if (n > limit) {
                st = snn_fail(SNN_ERR_FORMAT,
                              "%s: inflates to more than %llu bytes; not a plausible IDX file",
                              path, (unsigned long long)limit);
                break;
            }
            size_t ncap = cap * 2 > limit + 1 ? (size_t)limit + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory inflating (%zu bytes)", path, ncap);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - n > (1u << 30) ? (1u << 30) : cap - n;
        zs.next_out = buf + n;
        zs.avail_out = (uInt)room;
        int ret = inflate(&zs, Z_NO_FLUSH);
        n += room - zs.avail_out;
        if (ret == Z_STREAM_END) {
            if (zs.avail_in == 0 && in_left == 0) break;
            /* More input: another gzip member, or garbage. */
            if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            st = snn_fail(SNN_ERR_FORMAT,
                          "%s: %zu bytes of trailing garbage after the gzip stream", path,
                          (size_t)zs.avail_in + in_left);
            break;
        }
        if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR) {
            st = snn_fail(SNN_ERR_FORMAT, "%s: corrupt gzip data (%s) after %zu inflated bytes",
                          path, zs.msg ? zs.msg : "invalid stream", n);
            break;
        }
        if (ret == Z_MEM_ERROR) {
            st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory in zlib", path);
            break;
        }
        /* Z_OK or Z_BUF_ERROR: no input left and still room for output means
         * the stream ended before its end marker. */
        if (zs.avail_in == 0 && in_left == 0 && zs.avail_out > 0) {
            st = snn_fail(SNN_ERR_FORMAT,
                          "%s: truncated gzip stream (ends after %zu compressed bytes, %zu "
                          "inflated)",
                          path, in_size, n);
            break;
        }
    }
    inflateEnd(&zs);
    if (st != SNN_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_size = n;
    return SNN_OK;
}

snn_status snn_idx_read(const char *path, uint32_t *ndim, uint32_t dims[4], uint8_t **data)
{
    uint8_t *raw, *plain;
    size_t raw_size, plain_size;
    *data = NULL;
    snn_status st = read_capped(path, IDX_MAX_FILE, &raw, &raw_size);
    if (st != SNN_OK) return st;
    if (raw_size >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        st = gunzip(path, raw, raw_size, IDX_MAX_FILE, &plain, &plain_size);
        free(raw);
        if (st != SNN_OK) return st;
    } else {
        plain = raw;
        plain_size = raw_size;
    }
    size_t off = 0;
    st = idx_header(plain, plain_size, path, ndim, dims, &off);
    if (st != SNN_OK) {
        free(plain);
        return st;
    }
    /* Reuse the buffer: slide the payload to the front rather than copying
     * 47 MB of training images into a second allocation. */
    memmove(plain, plain + off, plain_size - off);
    uint8_t *shrunk = realloc(plain, plain_size - off ? plain_size - off : 1);
    *data = shrunk ? shrunk : plain;
    return SNN_OK;
}

/* ---- data set ------------------------------------------------------------ */

static int path_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Find <dir>/<split>-<kind>-ubyte(.gz); the compressed name wins. path has
 * room for SNN_PATH_MAX bytes. */
#define SNN_PATH_MAX 4096
static snn_status find_idx(const char *dir, const char *split, const char *kind, int is_default,
                           char *path)
{
    char plain[SNN_PATH_MAX], gz[SNN_PATH_MAX];
    int n = snprintf(plain, sizeof plain, "%s/%s-%s-ubyte", dir, split, kind);
    if (n < 0 || (size_t)n + 3 >= sizeof plain)
        return snn_fail(SNN_ERR_ARG, "data directory name too long: %.64s...", dir);
    memcpy(gz, plain, (size_t)n);
    memcpy(gz + n, ".gz", 4);
    if (path_exists(gz)) {
        memcpy(path, gz, (size_t)n + 4);
        return SNN_OK;
    }
    if (path_exists(plain)) {
        memcpy(path, plain, (size_t)n + 1);
        return SNN_OK;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        if (is_default)
            return snn_fail(SNN_ERR_IO,
                            "data directory %s does not exist (tried %s and %s); install the "
                            "Fashion-MNIST package with `apt-get install dataset-fashion-mnist` "
                            "or pass --data DIR",
                            dir, gz, plain);
        return snn_fail(SNN_ERR_IO, "data directory %s does not exist (tried %s and %s)", dir, gz,
                        plain);
    }
    return snn_fail(SNN_ERR_IO, "no %s %s file in %s: tried %s and %s", split, kind, dir, gz,
                    plain);
}

void snn_dataset_free(snn_dataset *ds)
{
    if (!ds) return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

snn_status snn_dataset_load(const char *dir, const char *split, uint32_t limit, snn_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    int is_default = dir == NULL || dir[0] == 0;
    if (is_default) dir = SNN_DATA_DEFAULT_DIR;
    if (!split || !split[0] || strchr(split, '/'))
        return snn_fail(SNN_ERR_ARG, "invalid data split name '%s' (expected train or t10k)",
                        split ? split : "(null)");
    char ipath[SNN_PATH_MAX], lpath[SNN_PATH_MAX];
    snn_status st = find_idx(dir, split, "images-idx3", is_default, ipath);
    if (st != SNN_OK) return st;
    st = find_idx(dir, split, "labels-idx1", is_default, lpath);
    if (st != SNN_OK) return st;
    snn_io_note_input(ipath);
    snn_io_note_input(lpath);

    uint32_t idim[4], ldim[4], irank, lrank;
    uint8_t *pixels = NULL, *labels = NULL;
    st = snn_idx_read(ipath, &irank, idim, &pixels);
    if (st != SNN_OK) goto fail;
    if (irank != 3) {
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: expected an image file of rank 3 (count x height x width), got rank %u",
                      ipath, irank);
        goto fail;
    }
    if (idim[0] == 0 || idim[1] == 0 || idim[2] == 0) {
        st = snn_fail(SNN_ERR_FORMAT, "%s: no images (shape %ux%ux%u)", ipath, idim[0], idim[1],
                      idim[2]);
        goto fail;
    }
    st = snn_idx_read(lpath, &lrank, ldim, &labels);
    if (st != SNN_OK) goto fail;
    if (lrank != 1) {
        st = snn_fail(SNN_ERR_FORMAT, "%s: expected a label file of rank 1, got rank %u", lpath,
                      lrank);
        goto fail;
    }
    if (ldim[0] != idim[0]) {
        st = snn_fail(SNN_ERR_FORMAT, "%s has %u images but %s has %u labels", ipath, idim[0],
                      lpath, ldim[0]);
        goto fail;
    }

    uint32_t n = idim[0];
    if (limit > 0 && limit < n) {
        n = limit;
        /* Give back the memory of the images we drop (may be most of it). */
        uint8_t *p = realloc(pixels, (size_t)n * idim[1] * idim[2]);
        if (p) pixels = p;
        uint8_t *l = realloc(labels, n);
        if (l) labels = l;
    }
    uint32_t max_label = 0;
    for (uint32_t i = 0; i < n; i++)
        if (labels[i] > max_label) max_label = labels[i];

    ds->n = n;
    ds->c = 1;
    ds->h = idim[1];
    ds->w = idim[2];
    ds->pixels = pixels;
    ds->labels = labels;
    ds->n_classes = max_label + 1;
    return SNN_OK;
fail:
    free(pixels);
    free(labels);
    return st;
}

void snn_dataset_note_inputs(const char *dir)
{
    if (dir == NULL || dir[0] == 0) dir = SNN_DATA_DEFAULT_DIR;
    static const char *const names[] = {"train-images-idx3", "train-labels-idx1",
                                        "t10k-images-idx3", "t10k-labels-idx1"};
    char path[SNN_PATH_MAX];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s-ubyte", dir, names[i]);
        snn_io_note_input(path);
        snprintf(path, sizeof path, "%s/%s-ubyte.gz", dir, names[i]);
        snn_io_note_input(path);
    }
}
