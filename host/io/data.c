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

/* Validate the header alone, from the first `avail` bytes of the file: magic,
 * type, rank and dimensions (their product at most SNN_IDX_MAX_BYTES). On
 * success *hdr is the header size, *total the payload size it declares and
 * shape the dimensions as text ("60000x28x28"). */
static snn_status idx_shape(const uint8_t *buf, size_t avail, const char *name, uint32_t *ndim,
                            uint32_t dims[4], size_t *hdr_out, uint64_t *total_out,
                            char shape[64])
{
    if (avail >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return snn_fail(SNN_ERR_FORMAT, "%s: gzip-compressed data where plain IDX was expected",
                        name);
    if (avail < 4)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: truncated: %zu bytes, too short for the 4-byte IDX magic", name,
                        avail);
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
    if (avail < hdr)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: truncated header: expected %zu bytes for %u dimensions, got %zu", name,
                        hdr, rank, avail);
    uint64_t total = 1;
    size_t sl = 0;
    for (uint32_t i = 0; i < 4; i++) dims[i] = 1;
    for (uint32_t i = 0; i < rank; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        sl += (size_t)snprintf(shape + sl, 64 - sl, "%s%u", i ? "x" : "", dims[i]);
        /* Checked per factor so that the product can never overflow: both
         * operands are <= 2^32 here. */
        total *= dims[i];
        if (total > SNN_IDX_MAX_BYTES) {
            /* Finish the shape string for the message. */
            for (uint32_t k = i + 1; k < rank; k++)
                sl += (size_t)snprintf(shape + sl, 64 - sl, "x%u", be32(buf + 4 + 4 * k));
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: absurd dimensions %s (more than %llu bytes); corrupt header?",
                            name, shape, (unsigned long long)SNN_IDX_MAX_BYTES);
        }
    }
    *ndim = rank;
    *hdr_out = hdr;
    *total_out = total;
    return SNN_OK;
}

/* The file (or inflated stream) is `size` bytes: exactly hdr + total? */
static snn_status idx_size_check(const char *name, uint64_t size, size_t hdr, uint64_t total,
                                 const char *shape)
{
    uint64_t expected = hdr + total;
    if (size < expected)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: truncated: shape %s needs %llu bytes (%zu-byte header + %llu data "
                        "bytes), got %llu",
                        name, shape, (unsigned long long)expected, hdr,
                        (unsigned long long)total, (unsigned long long)size);
    if (size > expected)
        return snn_fail(SNN_ERR_FORMAT,
                        "%s: %llu bytes of trailing garbage after the data of shape %s (file is "
                        "%llu bytes, expected %llu)",
                        name, (unsigned long long)(size - expected), shape,
                        (unsigned long long)size, (unsigned long long)expected);
    return SNN_OK;
}

/* Validate the header against the buffer size; on success *offset is where the
 * payload starts and the payload is exactly prod(dims) bytes to the end. */
static snn_status idx_header(const uint8_t *buf, size_t size, const char *name, uint32_t *ndim,
                             uint32_t dims[4], size_t *offset)
{
    size_t hdr = 0;
    uint64_t total = 0;
    char shape[64];
    snn_status st = idx_shape(buf, size, name, ndim, dims, &hdr, &total, shape);
    if (st == SNN_OK) st = idx_size_check(name, size, hdr, total, shape);
    if (st == SNN_OK) *offset = hdr;
    return st;
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

/* A plain IDX file: the header is checked against the file's size before
 * any payload is read, then exactly the declared payload is read. */
static snn_status read_plain(const char *path, FILE *f, uint64_t fsize, const uint8_t *head,
                             size_t head_n, uint32_t *ndim, uint32_t dims[4], uint8_t **data)
{
    size_t hdr = 0;
    uint64_t total = 0;
    char shape[64];
    snn_status st = idx_shape(head, head_n, path, ndim, dims, &hdr, &total, shape);
    if (st == SNN_OK) st = idx_size_check(path, fsize, hdr, total, shape);
    if (st != SNN_OK) return st;
    uint8_t *buf = snn_malloc((size_t)total);
    if (!buf) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory for %llu bytes of data", path,
                              (unsigned long long)total);
    size_t n = 0;
    if (fseek(f, (long)hdr, SEEK_SET) == 0)
        while (n < total) {
            size_t got = fread(buf + n, 1, (size_t)total - n, f);
            n += got;
            if (got == 0) break;
        }
    if (n != total || ferror(f) || fgetc(f) != EOF) {
        free(buf);
        if (ferror(f)) return snn_fail(SNN_ERR_IO, "%s: read error", path);
        return snn_fail(SNN_ERR_IO, "%s: changed while being read (it was %llu bytes)", path,
                        (unsigned long long)fsize);
    }
    *data = buf;
    return SNN_OK;
}

/* Streaming gzip input: the file is read 64 KiB at a time, so memory is the
 * output buffer and this, whatever the compressed size. */
typedef struct {
    FILE *f;
    const char *path;
    uint64_t fsize, read_in; /* file size, bytes read from the file so far */
    uint64_t out;            /* bytes inflated so far */
    int eof, ended;          /* input exhausted; stream complete (last member's end) */
    z_stream zs;
    uint8_t in[1 << 16];
} gz_reader;

/* Append file bytes after the unconsumed input. */
static snn_status gz_refill(gz_reader *g)
{
    if (g->eof) return SNN_OK;
    if (g->zs.avail_in && g->zs.next_in != g->in) memmove(g->in, g->zs.next_in, g->zs.avail_in);
    g->zs.next_in = g->in;
    size_t got = fread(g->in + g->zs.avail_in, 1, sizeof g->in - g->zs.avail_in, g->f);
    if (got == 0) {
        if (ferror(g->f)) return snn_fail(SNN_ERR_IO, "%s: read error", g->path);
        g->eof = 1;
    }
    g->zs.avail_in += (uInt)got;
    g->read_in += got;
    return SNN_OK;
}

/* Inflate up to room bytes into dst; *got < room only if the stream ended.
 * Concatenated gzip members (what `cat a.gz b.gz` makes) are accepted, as
 * gzip(1) does; any other bytes after the last member are an error, as is a
 * stream that stops early or fails its CRC. */
static snn_status gz_fill(gz_reader *g, uint8_t *dst, size_t room, size_t *got)
{
    *got = 0;
    snn_status st = SNN_OK;
    while (*got < room && !g->ended) {
        if (g->zs.avail_in == 0 && (st = gz_refill(g)) != SNN_OK) return st;
        size_t want = room - *got > (1u << 30) ? (1u << 30) : room - *got;
        g->zs.next_out = dst + *got;
        g->zs.avail_out = (uInt)want;
        int ret = inflate(&g->zs, Z_NO_FLUSH);
        size_t made = want - g->zs.avail_out;
        *got += made;
        g->out += made;
        if (ret == Z_STREAM_END) {
            /* Another member, the end of the file, or garbage. */
            if (g->zs.avail_in < 2 && (st = gz_refill(g)) != SNN_OK) return st;
            if (g->zs.avail_in == 0) {
                g->ended = 1;
                break;
            }
            if (g->zs.avail_in >= 2 && g->zs.next_in[0] == 0x1f && g->zs.next_in[1] == 0x8b) {
                inflateReset(&g->zs);
                continue;
            }
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: %llu bytes of trailing garbage after the gzip stream", g->path,
                            (unsigned long long)(g->zs.avail_in + (g->fsize - g->read_in)));
        }
        if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR)
            return snn_fail(SNN_ERR_FORMAT, "%s: corrupt gzip data (%s) after %llu inflated bytes",
                            g->path, g->zs.msg ? g->zs.msg : "invalid stream",
                            (unsigned long long)g->out);
        if (ret == Z_MEM_ERROR)
            return snn_fail(SNN_ERR_NOMEM, "%s: out of memory in zlib", g->path);
        /* Z_OK or Z_BUF_ERROR: no input left and still room for output means
         * the stream ended before its end marker. */
        if (g->zs.avail_in == 0 && g->eof && g->zs.avail_out > 0)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: truncated gzip stream (ends after %llu compressed bytes, %llu "
                            "inflated)",
                            g->path, (unsigned long long)g->fsize, (unsigned long long)g->out);
    }
    return SNN_OK;
}

/* A gzip IDX file: inflate the header, check it, then inflate at most the
 * payload it declares plus one byte. That byte, if it comes, is refused as
 * trailing data, so a small file that inflates to gigabytes (a gzip bomb)
 * costs no more memory than its header admits to. */
static snn_status read_gzip(const char *path, FILE *f, uint64_t fsize, uint32_t *ndim,
                            uint32_t dims[4], uint8_t **data)
{
    gz_reader *g = snn_calloc(1, sizeof *g);
    if (!g) return SNN_ERR_NOMEM;
    g->f = f;
    g->path = path;
    g->fsize = fsize;
    if (inflateInit2(&g->zs, 16 + MAX_WBITS) != Z_OK) {
        free(g);
        return snn_fail(SNN_ERR_NOMEM, "%s: cannot initialise zlib", path);
    }
    uint8_t head[IDX_MAX_HEADER];
    size_t hn = 0, got = 0, hdr = 0;
    uint64_t total = 0;
    char shape[64];
    uint8_t *buf = NULL;
    snn_status st = gz_fill(g, head, 4, &hn);
    if (st == SNN_OK && hn == 4 && head[3] >= 1 && head[3] <= 4) {
        st = gz_fill(g, head + 4, 4 * (size_t)head[3], &got);
        hn += got;
    }
    if (st == SNN_OK) st = idx_shape(head, hn, path, ndim, dims, &hdr, &total, shape);
    /* The buffer grows with what actually inflates, up to total + 1 bytes:
     * a header that declares much more than the stream holds costs nothing. */
    size_t cap = 0, n = 0;
    uint64_t want = total + 1;
    while (st == SNN_OK && !g->ended && n < want) {
        if (n == cap) {
            /* first guess: 4x the compressed size (IDX images compress
             * about 2:1), at least 1 MiB */
            uint64_t ncap = cap ? (uint64_t)cap * 2 : fsize * 4 > (1u << 20) ? fsize * 4 : 1u << 20;
            if (ncap > want) ncap = want;
            uint8_t *nb = realloc(buf, (size_t)ncap);
            if (!nb) {
                st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory inflating (%llu bytes)", path,
                              (unsigned long long)ncap);
                break;
            }
            buf = nb;
            cap = (size_t)ncap;
        }
        st = gz_fill(g, buf + n, cap - n, &got);
        n += got;
    }
    if (st == SNN_OK && n > total)
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: inflates to more than the %llu bytes its IDX header declares (shape "
                      "%s); refused after %llu inflated bytes (trailing data, or a "
                      "decompression bomb)",
                      path, (unsigned long long)(hdr + total), shape,
                      (unsigned long long)g->out);
    if (st == SNN_OK) st = idx_size_check(path, hdr + n, hdr, total, shape);
    inflateEnd(&g->zs);
    free(g);
    if (st != SNN_OK) {
        free(buf);
        return st;
    }
    uint8_t *shrunk = realloc(buf, n ? n : 1);
    *data = shrunk ? shrunk : buf;
    return SNN_OK;
}

snn_status snn_idx_read(const char *path, uint32_t *ndim, uint32_t dims[4], uint8_t **data)
{
    *data = NULL;
    FILE *f;
    uint64_t fsize;
    /* Regular files only (a FIFO or a device is refused, never read until
     * EOF), and never more than the largest payload plus a header. */
    snn_status st = snn_file_open_read(path, IDX_MAX_FILE, &f, &fsize);
    if (st != SNN_OK) return st;
    uint8_t head[IDX_MAX_HEADER];
    size_t hn = fsize < sizeof head ? (size_t)fsize : sizeof head;
    if (fread(head, 1, hn, f) != hn) {
        st = snn_fail(SNN_ERR_IO, "%s: read error", path);
    } else if (hn >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        st = fseek(f, 0, SEEK_SET) == 0 ? read_gzip(path, f, fsize, ndim, dims, data)
                                        : snn_fail(SNN_ERR_IO, "%s: cannot seek", path);
    } else {
        st = read_plain(path, f, fsize, head, hn, ndim, dims, data);
    }
    fclose(f);
    return st;
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

snn_status snn_dataset_check_labels(const snn_dataset *ds, uint32_t n_classes, const char *why)
{
    for (uint32_t i = 0; i < ds->n; i++)
        if (ds->labels[i] >= n_classes)
            return snn_fail(SNN_ERR_FORMAT, "%s: label %u at index %u is outside 0..%u (%s)",
                            ds->labels_path[0] ? ds->labels_path : "labels", ds->labels[i], i,
                            n_classes - 1, why);
    return SNN_OK;
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
    for (uint32_t i = 0; i < n; i++) {
        if (labels[i] >= SNN_DATA_MAX_CLASSES) {
            st = snn_fail(SNN_ERR_FORMAT,
                          "%s: label %u at index %u is outside 0..%u (at most %u classes)", lpath,
                          labels[i], i, SNN_DATA_MAX_CLASSES - 1, SNN_DATA_MAX_CLASSES);
            goto fail;
        }
        if (labels[i] > max_label) max_label = labels[i];
    }

    ds->n = n;
    ds->c = 1;
    ds->h = idim[1];
    ds->w = idim[2];
    ds->pixels = pixels;
    ds->labels = labels;
    ds->n_classes = max_label + 1;
    snprintf(ds->labels_path, sizeof ds->labels_path, "%s", lpath);
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
