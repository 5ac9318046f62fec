/*
 * safetensors.c - strict reader and atomic writer of the safetensors format.
 *
 * The reader trusts nothing in the file: the header length is bounded, the
 * JSON header is parsed by a small parser that accepts exactly the shape the
 * format defines (an object of tensor entries plus an optional
 * "__metadata__" object of strings), and the tensor byte ranges must tile the
 * data section exactly (no gaps, no overlaps, nothing left over), as the
 * reference implementation demands. Every failure names the file and the
 * problem.
 */
#include "safetensors.h"

#include "common/json.h"

#include <errno.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c stores tensors in host order, which must be little-endian"
#endif

struct snn_st_file {
    char *name;          /* file name for messages ("<memory>" for parse) */
    uint8_t *alloc;      /* the file bytes (with alignment slack) */
    const uint8_t *data; /* start of the data section, 8-byte aligned */
    size_t data_size;
    char *arena;         /* decoded names and metadata strings */
    snn_st_tensor *t;    /* header order */
    size_t n, cap;
    size_t *by_name;     /* indices of t sorted by name, for find */
    const char **meta_k, **meta_v;
    size_t n_meta, cap_meta;
    uint64_t *off;       /* data_offsets[begin,end] per tensor, 2 per entry */
    void **copies;       /* tensors copied out because they were misaligned */
    size_t n_copies;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [SNN_ST_F32] = {"F32", 4}, [SNN_ST_I32] = {"I32", 4}, [SNN_ST_I64] = {"I64", 8},
    [SNN_ST_U8] = {"U8", 1},   [SNN_ST_I8] = {"I8", 1},   [SNN_ST_F64] = {"F64", 8},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

size_t snn_st_dtype_size(snn_st_dtype dtype)
{
    return (unsigned)dtype < N_DTYPES ? dtypes[dtype].size : 0;
}

const char *snn_st_dtype_name(snn_st_dtype dtype)
{
    return (unsigned)dtype < N_DTYPES ? dtypes[dtype].name : "?";
}

/* Bytes of a tensor of this shape, or UINT64_MAX on overflow/negative dims. */
static uint64_t shape_bytes(snn_st_dtype dtype, uint32_t ndim, const int64_t *shape)
{
    uint64_t n = snn_st_dtype_size(dtype);
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0) return UINT64_MAX;
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && n > UINT64_MAX / 2 / d) return UINT64_MAX;
        n *= d;
    }
    return n;
}

static void fmt_shape(char *buf, size_t size, uint32_t ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. The
 * reference reader rejects invalid UTF-8, so the writer must not produce it. */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

int snn_st_utf8_valid(const char *s) { return utf8_valid((const uint8_t *)s, strlen(s)); }

/* ==== header JSON parser ==================================================== */

/* Cursor over the header bytes. Decoded strings go to an arena that is as
 * large as the header: a decoded string plus its NUL is never longer than
 * its quoted, escaped form. */
typedef struct {
    const char *file;
    const uint8_t *begin, *p, *end;
    char *arena;
    size_t arena_used;
} jp_t;

static snn_status jp_fail(const jp_t *j, const char *what)
{
    /* Byte offsets count from the start of the file, as a hex dump shows them. */
    return snn_fail(SNN_ERR_FORMAT, "%s: bad safetensors header at byte %zu: %s", j->file,
                    (size_t)(j->p - j->begin) + 8, what);
}

static void jp_ws(jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int jp_peek(jp_t *j)
{
    jp_ws(j);
    return j->p < j->end ? *j->p : -1;
}

static snn_status jp_expect(jp_t *j, char c)
{
    if (jp_peek(j) != c) {
        char msg[48];
        snprintf(msg, sizeof msg, "expected '%c'", c);
        return jp_fail(j, msg);
    }
    j->p++;
    return SNN_OK;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int jp_hex4(jp_t *j, uint32_t *out)
{
    if (j->end - j->p < 4) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(j->p[i]);
        if (h < 0) return 0;
        v = v << 4 | (uint32_t)h;
    }
    j->p += 4;
    *out = v;
    return 1;
}

/* Parse a JSON string into the arena; *out is NUL-terminated. NUL characters
 * (\u0000) are refused: names and metadata are C strings here. */
static snn_status jp_string(jp_t *j, const char **out)
{
    if (jp_peek(j) != '"') return jp_fail(j, "expected a string");
    j->p++;
    char *dst = j->arena + j->arena_used, *d = dst;
    const uint8_t *raw = j->p;
    for (;;) {
        if (j->p >= j->end) return jp_fail(j, "unterminated string");
        uint8_t c = *j->p;
        if (c == '"') break;
        if (c < 0x20) return jp_fail(j, "control character in string");
        if (c != '\\') {
            *d++ = (char)c;
            j->p++;
            continue;
        }
        j->p++;
        if (j->p >= j->end) return jp_fail(j, "unterminated escape");
        c = *j->p++;
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (!jp_hex4(j, &cp)) return jp_fail(j, "bad \\u escape");
            if (cp >= 0xdc00 && cp <= 0xdfff) return jp_fail(j, "unpaired low surrogate");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                    return jp_fail(j, "unpaired high surrogate");
                j->p += 2;
                if (!jp_hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    return jp_fail(j, "bad low surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) return jp_fail(j, "NUL character (\\u0000) in string");
            /* Encoded UTF-8 is never longer than the escape it came from
             * (3 bytes for 6, 4 bytes for 12), so the arena bound holds. */
            if (cp < 0x80) {
                *d++ = (char)cp;
            } else if (cp < 0x800) {
                *d++ = (char)(0xc0 | cp >> 6);
                *d++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *d++ = (char)(0xe0 | cp >> 12);
                *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *d++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *d++ = (char)(0xf0 | cp >> 18);
                *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
                *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *d++ = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default: j->p--; return jp_fail(j, "unknown escape");
        }
    }
    /* Raw bytes were copied unchecked above; validate the raw span (escapes
     * are ASCII, so this checks exactly the literal UTF-8 in the header). */
    if (!utf8_valid(raw, (size_t)(j->p - raw))) return jp_fail(j, "invalid UTF-8 in string");
    j->p++; /* closing quote */
    *d++ = 0;
    j->arena_used += (size_t)(d - dst);
    *out = dst;
    return SNN_OK;
}

/* A non-negative JSON integer (no fraction, no exponent, no leading zeros). */
static snn_status jp_uint(jp_t *j, uint64_t *out)
{
    int c = jp_peek(j);
    if (c == '-') return jp_fail(j, "negative number where a size or offset was expected");
    if (c < '0' || c > '9') return jp_fail(j, "expected a non-negative integer");
    uint64_t v = 0;
    if (c == '0' && j->end - j->p > 1 && j->p[1] >= '0' && j->p[1] <= '9')
        return jp_fail(j, "number with a leading zero");
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        uint64_t digit = (uint64_t)(*j->p - '0');
        if (v > ((uint64_t)INT64_MAX - digit) / 10) return jp_fail(j, "integer too large");
        v = v * 10 + digit;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return jp_fail(j, "expected an integer, got a fractional number");
    *out = v;
    return SNN_OK;
}

/* [u64, ...] with at most max entries. */
static snn_status jp_uint_array(jp_t *j, uint64_t *v, uint32_t max, uint32_t *n, const char *what)
{
    snn_status st = jp_expect(j, '[');
    if (st != SNN_OK) return st;
    *n = 0;
    if (jp_peek(j) == ']') {
        j->p++;
        return SNN_OK;
    }
    for (;;) {
        if (*n == max) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s has more than %u entries", what, max);
            return jp_fail(j, msg);
        }
        st = jp_uint(j, &v[(*n)++]);
        if (st != SNN_OK) return st;
        int c = jp_peek(j);
        if (c == ']') {
            j->p++;
            return SNN_OK;
        }
        if (c != ',') return jp_fail(j, "expected ',' or ']'");
        j->p++;
    }
}

/* ==== reader ================================================================ */

static snn_status st_push_tensor(snn_st_file *f)
{
    if (f->n < f->cap) return SNN_OK;
    size_t cap = f->cap ? f->cap * 2 : 16;
    snn_st_tensor *t = realloc(f->t, cap * sizeof *t);
    if (!t) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory reading the header", f->name);
    f->t = t;
    uint64_t *off = realloc(f->off, cap * 2 * sizeof *off);
    if (!off) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory reading the header", f->name);
    f->off = off;
    f->cap = cap;
    return SNN_OK;
}

static snn_status st_parse_metadata(snn_st_file *f, jp_t *j)
{
    if (jp_peek(j) == 'n') { /* "__metadata__": null is what an empty dict may become */
        if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
            j->p += 4;
            return SNN_OK;
        }
        return jp_fail(j, "expected an object or null for __metadata__");
    }
    snn_status st = jp_expect(j, '{');
    if (st != SNN_OK) return st;
    if (jp_peek(j) == '}') {
        j->p++;
        return SNN_OK;
    }
    for (;;) {
        const char *k, *v;
        if ((st = jp_string(j, &k)) != SNN_OK) return st;
        if ((st = jp_expect(j, ':')) != SNN_OK) return st;
        if (jp_peek(j) != '"') return jp_fail(j, "metadata values must be strings");
        if ((st = jp_string(j, &v)) != SNN_OK) return st;
        /* Metadata is a few dozen entries: a linear duplicate check is fine,
         * but bound it so a hostile header cannot make it quadratic. */
        if (f->n_meta >= 4096) return jp_fail(j, "more than 4096 metadata entries");
        for (size_t i = 0; i < f->n_meta; i++)
            if (strcmp(f->meta_k[i], k) == 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "duplicate metadata key \"%.100s\"", k);
                return jp_fail(j, msg);
            }
        if (f->n_meta == f->cap_meta) {
            size_t cap = f->cap_meta ? f->cap_meta * 2 : 16;
            const char **nk = realloc(f->meta_k, cap * sizeof *nk);
            if (nk) f->meta_k = nk;
            const char **nv = realloc(f->meta_v, cap * sizeof *nv);
            if (nv) f->meta_v = nv;
            if (!nk || !nv) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory", f->name);
            f->cap_meta = cap;
        }
        f->meta_k[f->n_meta] = k;
        f->meta_v[f->n_meta] = v;
        f->n_meta++;
        int c = jp_peek(j);
        if (c == '}') {
            j->p++;
            return SNN_OK;
        }
        if (c != ',') return jp_fail(j, "expected ',' or '}' in __metadata__");
        j->p++;
    }
}

/* One tensor entry {"dtype": .., "shape": [..], "data_offsets": [b, e]},
 * keys in any order, each exactly once, no others. */
static snn_status st_parse_tensor(snn_st_file *f, jp_t *j, const char *name)
{
    snn_status st = st_push_tensor(f);
    if (st != SNN_OK) return st;
    snn_st_tensor *t = &f->t[f->n];
    uint64_t *off = &f->off[2 * f->n];
    memset(t, 0, sizeof *t);
    t->name = name;
    int have_dtype = 0, have_shape = 0, have_off = 0;
    char msg[200];
    if ((st = jp_expect(j, '{')) != SNN_OK) return st;
    if (jp_peek(j) != '}') {
        for (;;) {
            const char *k;
            if ((st = jp_string(j, &k)) != SNN_OK) return st;
            if ((st = jp_expect(j, ':')) != SNN_OK) return st;
            if (strcmp(k, "dtype") == 0 && !have_dtype) {
                const char *d;
                if ((st = jp_string(j, &d)) != SNN_OK) return st;
                size_t i;
                for (i = 0; i < N_DTYPES; i++)
                    if (strcmp(d, dtypes[i].name) == 0) break;
                if (i == N_DTYPES) {
                    snprintf(msg, sizeof msg,
                             "tensor \"%.80s\" has unsupported dtype \"%.16s\" (supported: F32, "
                             "I32, I64, U8, I8, F64)",
                             name, d);
                    return jp_fail(j, msg);
                }
                t->dtype = (snn_st_dtype)i;
                have_dtype = 1;
            } else if (strcmp(k, "shape") == 0 && !have_shape) {
                uint64_t dims[SNN_ST_MAX_DIMS];
                if ((st = jp_uint_array(j, dims, SNN_ST_MAX_DIMS, &t->ndim, "shape")) != SNN_OK)
                    return st;
                for (uint32_t i = 0; i < t->ndim; i++) t->shape[i] = (int64_t)dims[i];
                have_shape = 1;
            } else if (strcmp(k, "data_offsets") == 0 && !have_off) {
                uint32_t n;
                if ((st = jp_uint_array(j, off, 2, &n, "data_offsets")) != SNN_OK) return st;
                if (n != 2) return jp_fail(j, "data_offsets must be [begin, end]");
                have_off = 1;
            } else {
                snprintf(msg, sizeof msg, "%s key \"%.40s\" in tensor \"%.80s\"",
                         have_dtype || have_shape || have_off ? "unexpected or repeated"
                                                              : "unexpected",
                         k, name);
                return jp_fail(j, msg);
            }
            int c = jp_peek(j);
            if (c == '}') break;
            if (c != ',') return jp_fail(j, "expected ',' or '}' in tensor entry");
            j->p++;
        }
    }
    j->p++; /* '}' */
    if (!have_dtype || !have_shape || !have_off) {
        snprintf(msg, sizeof msg, "tensor \"%.80s\" lacks %s", name,
                 !have_dtype ? "\"dtype\"" : !have_shape ? "\"shape\"" : "\"data_offsets\"");
        return jp_fail(j, msg);
    }
    f->n++;
    return SNN_OK;
}

/* qsort has no context argument in C11; thread-local keeps parsing reentrant. */
static _Thread_local snn_st_file *st_cur_sort;

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(st_cur_sort->t[*(const size_t *)a].name, st_cur_sort->t[*(const size_t *)b].name);
}

static int cmp_by_offset(const void *a, const void *b)
{
    const uint64_t *oa = &st_cur_sort->off[2 * *(const size_t *)a];
    const uint64_t *ob = &st_cur_sort->off[2 * *(const size_t *)b];
    if (oa[0] != ob[0]) return oa[0] < ob[0] ? -1 : 1;
    if (oa[1] != ob[1]) return oa[1] < ob[1] ? -1 : 1;
    return 0;
}

/* Sizes match shapes, ranges inside the data section, and the ranges tile it
 * exactly. Also builds the by-name index and rejects duplicate names. */
static snn_status st_check_layout(snn_st_file *f)
{
    char shp[128];
    for (size_t i = 0; i < f->n; i++) {
        snn_st_tensor *t = &f->t[i];
        uint64_t b = f->off[2 * i], e = f->off[2 * i + 1];
        uint64_t want = shape_bytes(t->dtype, t->ndim, t->shape);
        fmt_shape(shp, sizeof shp, t->ndim, t->shape);
        if (want == UINT64_MAX)
            return snn_fail(SNN_ERR_FORMAT, "%s: tensor \"%s\": shape %s is too large", f->name,
                            t->name, shp);
        if (e < b)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: tensor \"%s\": data_offsets [%llu, %llu] end before they begin",
                            f->name, t->name, (unsigned long long)b, (unsigned long long)e);
        if (e - b != want)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: tensor \"%s\": %s %s needs %llu bytes but data_offsets [%llu, "
                            "%llu] hold %llu",
                            f->name, t->name, dtypes[t->dtype].name, shp, (unsigned long long)want,
                            (unsigned long long)b, (unsigned long long)e,
                            (unsigned long long)(e - b));
        if (e > f->data_size)
            return snn_fail(SNN_ERR_FORMAT,
                            "%s: tensor \"%s\": data_offsets [%llu, %llu] go beyond the %zu-byte "
                            "data section (file truncated?)",
                            f->name, t->name, (unsigned long long)b, (unsigned long long)e,
                            f->data_size);
        t->nbytes = (size_t)want;
    }
    size_t *idx = malloc((f->n ? f->n : 1) * sizeof *idx);
    if (!idx) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory", f->name);
    for (size_t i = 0; i < f->n; i++) idx[i] = i;
    st_cur_sort = f;
    qsort(idx, f->n, sizeof *idx, cmp_by_offset);
    uint64_t pos = 0;
    snn_status st = SNN_OK;
    for (size_t k = 0; k < f->n && st == SNN_OK; k++) {
        size_t i = idx[k];
        uint64_t b = f->off[2 * i];
        if (b < pos)
            st = snn_fail(SNN_ERR_FORMAT, "%s: tensor \"%s\" overlaps the tensor before it (bytes "
                          "%llu..%llu of the data section)",
                          f->name, f->t[i].name, (unsigned long long)b, (unsigned long long)pos);
        else if (b > pos)
            st = snn_fail(SNN_ERR_FORMAT,
                          "%s: gap of %llu unused bytes before tensor \"%s\" in the data section",
                          f->name, (unsigned long long)(b - pos), f->t[i].name);
        pos = f->off[2 * i + 1];
    }
    if (st == SNN_OK && pos != f->data_size)
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: %llu bytes after the last tensor are not described by the header",
                      f->name, (unsigned long long)(f->data_size - pos));
    if (st == SNN_OK) {
        qsort(idx, f->n, sizeof *idx, cmp_by_name);
        for (size_t k = 1; k < f->n && st == SNN_OK; k++)
            if (strcmp(f->t[idx[k - 1]].name, f->t[idx[k]].name) == 0)
                st = snn_fail(SNN_ERR_FORMAT, "%s: duplicate tensor name \"%s\"", f->name,
                              f->t[idx[k]].name);
    }
    st_cur_sort = NULL;
    if (st != SNN_OK) {
        free(idx);
        return st;
    }
    f->by_name = idx;
    return SNN_OK;
}

/* Point each tensor at its bytes. The data section is 8-byte aligned, so a
 * tensor is misaligned only if the file placed it at an odd offset (legal:
 * a writer given tensors in an unlucky order); those few get an aligned copy
 * so that `const float *` access is always valid. */
static snn_status st_bind_data(snn_st_file *f)
{
    for (size_t i = 0; i < f->n; i++) {
        snn_st_tensor *t = &f->t[i];
        const uint8_t *p = f->data + f->off[2 * i];
        if (t->nbytes == 0) {
            t->data = f->data; /* aligned, and never dereferenced */
            continue;
        }
        if ((uintptr_t)p % dtypes[t->dtype].size == 0) {
            t->data = p;
            continue;
        }
        void **nc = realloc(f->copies, (f->n_copies + 1) * sizeof *nc);
        if (!nc) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory", f->name);
        f->copies = nc;
        void *copy = malloc(t->nbytes);
        if (!copy) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory", f->name);
        memcpy(copy, p, t->nbytes);
        f->copies[f->n_copies++] = copy;
        t->data = copy;
    }
    return SNN_OK;
}

/* Parse `size` bytes. If `owned` is non-NULL it is a malloc'd buffer holding
 * exactly those bytes and ownership passes to the result (or it is freed). */
static snn_status st_parse(const char *name, const uint8_t *buf, size_t size, uint8_t *owned,
                           snn_st_file **out)
{
    *out = NULL;
    snn_st_file *f = calloc(1, sizeof *f);
    if (f) f->name = strdup(name);
    if (!f || !f->name) {
        free(f);
        free(owned);
        return snn_fail(SNN_ERR_NOMEM, "%s: out of memory", name);
    }
    snn_status st = SNN_OK;
    uint64_t hlen = 0;
    if (size < 8) {
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: truncated: %zu bytes, too short for the 8-byte header length", name,
                      size);
        goto fail;
    }
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > SNN_ST_MAX_HEADER) {
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: header length %llu exceeds the %llu-byte limit (not a safetensors "
                      "file, or corrupt)",
                      name, (unsigned long long)hlen, (unsigned long long)SNN_ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > size - 8) {
        st = snn_fail(SNN_ERR_FORMAT,
                      "%s: truncated: header length %llu goes beyond the end of the %zu-byte "
                      "file",
                      name, (unsigned long long)hlen, size);
        goto fail;
    }
    if (hlen < 2) {
        st = snn_fail(SNN_ERR_FORMAT, "%s: header of %llu bytes cannot hold a JSON object", name,
                      (unsigned long long)hlen);
        goto fail;
    }
    /* Keep the data section 8-byte aligned in memory: take the caller's
     * buffer if it already is, else copy with the right slack. */
    size_t data_at = 8 + (size_t)hlen;
    if (owned && data_at % 8 == 0) {
        f->alloc = owned;
        owned = NULL;
    } else {
        size_t slack = (8 - data_at % 8) % 8;
        f->alloc = malloc(size + slack);
        if (!f->alloc) {
            st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory copying %zu bytes", name, size);
            goto fail;
        }
        memcpy(f->alloc + slack, buf, size);
        buf = f->alloc + slack;
        free(owned);
        owned = NULL;
    }
    f->data = buf + data_at;
    f->data_size = size - data_at;
    f->arena = malloc((size_t)hlen);
    if (!f->arena) {
        st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }

    jp_t j = {
        .file = name, .begin = buf + 8, .p = buf + 8, .end = buf + data_at, .arena = f->arena};
    if ((st = jp_expect(&j, '{')) != SNN_OK) goto fail;
    if (jp_peek(&j) != '}') {
        int have_meta = 0;
        for (;;) {
            const char *key;
            if ((st = jp_string(&j, &key)) != SNN_OK) goto fail;
            if ((st = jp_expect(&j, ':')) != SNN_OK) goto fail;
            if (strcmp(key, "__metadata__") == 0) {
                if (have_meta) {
                    st = jp_fail(&j, "second __metadata__ entry");
                    goto fail;
                }
                have_meta = 1;
                st = st_parse_metadata(f, &j);
            } else {
                st = st_parse_tensor(f, &j, key);
            }
            if (st != SNN_OK) goto fail;
            int c = jp_peek(&j);
            if (c == '}') break;
            if (c != ',') {
                st = jp_fail(&j, "expected ',' or '}' after a header entry");
                goto fail;
            }
            j.p++;
        }
    }
    j.p++; /* '}' */
    /* Only padding (spaces, as writers use) may follow the object. */
    if (jp_peek(&j) != -1) {
        st = jp_fail(&j, "unexpected characters after the header object");
        goto fail;
    }
    if ((st = st_check_layout(f)) != SNN_OK) goto fail;
    if ((st = st_bind_data(f)) != SNN_OK) goto fail;
    *out = f;
    return SNN_OK;
fail:
    free(owned);
    snn_st_free(f);
    return st;
}

snn_status snn_st_parse(const uint8_t *buf, size_t size, snn_st_file **out)
{
    return st_parse("<memory>", buf, size, NULL, out);
}

snn_status snn_st_read(const char *path, snn_st_file **out)
{
    uint8_t *buf;
    size_t size;
    *out = NULL;
    snn_status st = snn_file_read(path, SNN_ST_MAX_BYTES, &buf, &size);
    if (st != SNN_OK) return st;
    return st_parse(path, buf, size, buf, out);
}

size_t snn_st_count(const snn_st_file *f)
{
    return f ? f->n : 0;
}

const snn_st_tensor *snn_st_at(const snn_st_file *f, size_t i)
{
    return f && i < f->n ? &f->t[i] : NULL;
}

const snn_st_tensor *snn_st_find(const snn_st_file *f, const char *name)
{
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->t[f->by_name[mid]].name, name);
        if (c == 0) return &f->t[f->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

snn_status snn_st_get(const snn_st_file *f, const char *name, snn_st_dtype dtype, uint32_t ndim,
                      const int64_t *shape, const snn_st_tensor **out)
{
    *out = NULL;
    const snn_st_tensor *t = snn_st_find(f, name);
    if (!t) return snn_fail(SNN_ERR_FORMAT, "%s: tensor \"%s\" is missing", f->name, name);
    int same = t->dtype == dtype && t->ndim == ndim;
    for (uint32_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[128], got[128];
        fmt_shape(want, sizeof want, ndim, shape);
        fmt_shape(got, sizeof got, t->ndim, t->shape);
        return snn_fail(SNN_ERR_FORMAT, "%s: tensor \"%s\": expected %s %s, got %s %s", f->name,
                        name, snn_st_dtype_name(dtype), want, snn_st_dtype_name(t->dtype), got);
    }
    *out = t;
    return SNN_OK;
}

const char *snn_st_meta(const snn_st_file *f, const char *key)
{
    if (!f || !key) return NULL;
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_k[i], key) == 0) return f->meta_v[i];
    return NULL;
}

const char *snn_st_name(const snn_st_file *f)
{
    return f ? f->name : "";
}

size_t snn_st_meta_count(const snn_st_file *f)
{
    return f ? f->n_meta : 0;
}

int snn_st_meta_at(const snn_st_file *f, size_t i, const char **key, const char **val)
{
    if (!f || i >= f->n_meta) return 0;
    if (key) *key = f->meta_k[i];
    if (val) *val = f->meta_v[i];
    return 1;
}

void snn_st_free(snn_st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n_copies; i++) free(f->copies[i]);
    free(f->copies);
    free(f->name);
    free(f->alloc);
    free(f->arena);
    free(f->t);
    free(f->off);
    free(f->by_name);
    free(f->meta_k);
    free(f->meta_v);
    free(f);
}

/* ==== writer ================================================================ */

/* Render one tensor entry as a JSON object (without its key). */
static int render_tensor(char *buf, size_t size, const snn_st_tensor *t, uint64_t b, uint64_t e)
{
    size_t n = (size_t)snprintf(buf, size, "{\"dtype\":\"%s\",\"shape\":[", dtypes[t->dtype].name);
    for (uint32_t i = 0; i < t->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)t->shape[i]);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "],\"data_offsets\":[%llu,%llu]}",
                              (unsigned long long)b, (unsigned long long)e);
    return n < size;
}

static snn_status check_string(const char *path, const char *what, const char *s)
{
    if (!s) return snn_fail(SNN_ERR_ARG, "%s: %s is NULL", path, what);
    if (!utf8_valid((const uint8_t *)s, strlen(s)))
        return snn_fail(SNN_ERR_ARG, "%s: %s \"%s\" is not valid UTF-8", path, what, s);
    return SNN_OK;
}

snn_status snn_st_write(const char *path, const snn_st_tensor *t, size_t n_tensors,
                        const char *const *meta_keys, const char *const *meta_vals, size_t n_meta)
{
    snn_status st;
    char shp[128];
    /* Refuse anything our own strict reader would refuse, before touching
     * the file system. */
    for (size_t i = 0; i < n_tensors; i++) {
        if ((st = check_string(path, "tensor name", t[i].name)) != SNN_OK) return st;
        if (strcmp(t[i].name, "__metadata__") == 0)
            return snn_fail(SNN_ERR_ARG, "%s: \"__metadata__\" is reserved, not a tensor name",
                            path);
        if ((unsigned)t[i].dtype >= N_DTYPES)
            return snn_fail(SNN_ERR_ARG, "%s: tensor \"%s\": invalid dtype %d", path, t[i].name,
                            (int)t[i].dtype);
        if (t[i].ndim > SNN_ST_MAX_DIMS)
            return snn_fail(SNN_ERR_ARG, "%s: tensor \"%s\": %u dimensions (max %d)", path,
                            t[i].name, t[i].ndim, SNN_ST_MAX_DIMS);
        uint64_t want = shape_bytes(t[i].dtype, t[i].ndim, t[i].shape);
        fmt_shape(shp, sizeof shp, t[i].ndim, t[i].shape);
        if (want != t[i].nbytes)
            return snn_fail(SNN_ERR_ARG, "%s: tensor \"%s\": %s %s needs %llu bytes, nbytes is %zu",
                            path, t[i].name, dtypes[t[i].dtype].name, shp,
                            (unsigned long long)want, t[i].nbytes);
        if (t[i].nbytes && !t[i].data)
            return snn_fail(SNN_ERR_ARG, "%s: tensor \"%s\" has no data", path, t[i].name);
        for (size_t k = 0; k < i; k++)
            if (strcmp(t[k].name, t[i].name) == 0)
                return snn_fail(SNN_ERR_ARG, "%s: duplicate tensor name \"%s\"", path, t[i].name);
    }
    for (size_t i = 0; i < n_meta; i++) {
        if ((st = check_string(path, "metadata key", meta_keys[i])) != SNN_OK) return st;
        if ((st = check_string(path, "metadata value", meta_vals[i])) != SNN_OK) return st;
        for (size_t k = 0; k < i; k++)
            if (strcmp(meta_keys[k], meta_keys[i]) == 0)
                return snn_fail(SNN_ERR_ARG, "%s: duplicate metadata key \"%s\"", path,
                                meta_keys[i]);
    }

    /* Header: metadata first (as the Python writer does), then the tensors
     * in the order given, back to back. */
    snn_json *hdr = snn_json_new(), *meta = NULL;
    st = SNN_OK;
    if (!hdr) return snn_fail(SNN_ERR_NOMEM, "%s: out of memory", path);
    if (n_meta) {
        meta = snn_json_new();
        if (!meta) st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory", path);
        for (size_t i = 0; meta && i < n_meta; i++) snn_json_str(meta, meta_keys[i], meta_vals[i]);
        const char *m = meta ? snn_json_finish(meta) : NULL;
        if (m)
            snn_json_raw(hdr, "__metadata__", m);
        else
            st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory", path);
    }
    uint64_t pos = 0;
    char ent[512];
    for (size_t i = 0; i < n_tensors && st == SNN_OK; i++) {
        SNN_ASSERT(render_tensor(ent, sizeof ent, &t[i], pos, pos + t[i].nbytes));
        snn_json_raw(hdr, t[i].name, ent);
        pos += t[i].nbytes;
    }
    const char *h = st == SNN_OK ? snn_json_finish(hdr) : NULL;
    if (st == SNN_OK && !h) st = snn_fail(SNN_ERR_NOMEM, "%s: out of memory", path);
    size_t hlen = h ? strlen(h) : 0;
    size_t padded = (hlen + 7) / 8 * 8;
    if (st == SNN_OK && padded > SNN_ST_MAX_HEADER)
        st = snn_fail(SNN_ERR_ARG, "%s: header of %zu bytes exceeds the %llu-byte limit", path,
                      padded, (unsigned long long)SNN_ST_MAX_HEADER);
    if (st == SNN_OK && 8 + (uint64_t)padded + pos > SNN_ST_MAX_BYTES)
        st = snn_fail(SNN_ERR_ARG, "%s: checkpoint of %llu bytes exceeds the %llu-byte limit "
                      "readers accept", path, (unsigned long long)(8 + padded + pos),
                      (unsigned long long)SNN_ST_MAX_BYTES);

    snn_afile af;
    if (st == SNN_OK) st = snn_afile_open(&af, path, SNN_KIND_CHECKPOINT);
    if (st == SNN_OK) {
        uint8_t len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
        static const char spaces[8] = "        ";
        st = snn_afile_write(&af, len8, 8);
        if (st == SNN_OK) st = snn_afile_write(&af, h, hlen);
        if (st == SNN_OK) st = snn_afile_write(&af, spaces, padded - hlen);
        for (size_t i = 0; i < n_tensors && st == SNN_OK; i++)
            st = snn_afile_write(&af, t[i].data, t[i].nbytes);
        if (st == SNN_OK)
            st = snn_afile_commit(&af);
        else
            snn_afile_abort(&af);
    }
    snn_json_free(meta);
    snn_json_free(hdr);
    return st;
}
