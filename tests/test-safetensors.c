/*
 * test-safetensors.c - checkpoint format: bit-exact round trips, metadata
 * with escapes, the header accepted by Python's json module, every way the
 * strict reader must refuse a file, and that no truncation or byte flip of a
 * valid file can crash it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "snn-common.h"

static char g_dir[256];

static int group_setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/mpbn-test-st-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (e->d_name[0] != '.') unlink(p);
    }
    if (d) closedir(d);
    rmdir(g_dir);
    return 0;
}

static void expect_error(snn_status got, snn_status st, ...)
{
    const char *msg = snn_last_error();
    if (got != st)
        fail_msg("status %s (want %s), message: %s", snn_status_str(got), snn_status_str(st), msg);
    va_list ap;
    va_start(ap, st);
    const char *piece;
    while ((piece = va_arg(ap, const char *)))
        if (!strstr(msg, piece)) fail_msg("message \"%s\" lacks \"%s\"", msg, piece);
    va_end(ap);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    uint8_t *b;
    assert_int_equal(snn_file_read(path, SNN_ST_MAX_BYTES, &b, n), SNN_OK);
    return b;
}

/* ---- a sample checkpoint ----------------------------------------------------- */

/* Every dtype, a scalar, an empty tensor, and a 3-byte U8 tensor placed so that
 * the F32 after it sits at an odd offset (the reader must still hand out an
 * aligned pointer). */
static float w_conv[2 * 3], w_after[5];
static int64_t steps[4];
static uint8_t u8[3];
static double scalar;
static int8_t i8[8];

static const char *meta_k[] = {"format", "arch", "quote\"back\\slash", "ctl", "unicode"};
static const char *meta_v[] = {"mpbn-checkpoint", "c32,c32,p,c64,p,f128", "tab\there\nnewline",
                               "\x01\x1f\x7f", "\xc2\xb5s \xe2\x82\xac \xf0\x9f\x98\x80"};
#define N_META (sizeof meta_k / sizeof meta_k[0])

static size_t sample(snn_st_tensor *t)
{
    for (int i = 0; i < 6; i++) w_conv[i] = (float)i * 0.25f - 1.0f;
    w_conv[5] = -0.0f;
    for (int i = 0; i < 5; i++) w_after[i] = 1.0f / (float)(i + 3);
    steps[0] = INT64_MIN;
    steps[1] = -1;
    steps[2] = 0;
    steps[3] = INT64_MAX;
    u8[0] = 0;
    u8[1] = 128;
    u8[2] = 255;
    scalar = 3.141592653589793;
    for (int i = 0; i < 8; i++) i8[i] = (int8_t)(i * 37 - 128);
    size_t n = 0;
    t[n++] = (snn_st_tensor){"layers.0.weight", SNN_ST_F32, 2, {2, 3}, w_conv, sizeof w_conv};
    t[n++] = (snn_st_tensor){"steps", SNN_ST_I64, 1, {4}, steps, sizeof steps};
    t[n++] = (snn_st_tensor){"mask", SNN_ST_U8, 1, {3}, u8, sizeof u8};
    t[n++] = (snn_st_tensor){"after.odd", SNN_ST_F32, 1, {5}, w_after, sizeof w_after};
    t[n++] = (snn_st_tensor){"pi", SNN_ST_F64, 0, {0}, &scalar, sizeof scalar};
    t[n++] = (snn_st_tensor){"empty", SNN_ST_I32, 2, {0, 7}, NULL, 0};
    t[n++] = (snn_st_tensor){"q\xc3\xa9", SNN_ST_I8, 3, {2, 2, 2}, i8, sizeof i8};
    return n;
}

static void sample_path(char *p, const char *name)
{
    snprintf(p, 512, "%s/%s.safetensors", g_dir, name);
}

static void check_same(const snn_st_file *f, const snn_st_tensor *t, size_t n)
{
    assert_int_equal(snn_st_count(f), n);
    for (size_t i = 0; i < n; i++) {
        const snn_st_tensor *r = snn_st_at(f, i);
        assert_non_null(r);
        assert_string_equal(r->name, t[i].name);
        assert_int_equal(r->dtype, t[i].dtype);
        assert_int_equal(r->ndim, t[i].ndim);
        for (uint32_t k = 0; k < t[i].ndim; k++) assert_int_equal(r->shape[k], t[i].shape[k]);
        assert_int_equal(r->nbytes, t[i].nbytes);
        if (r->nbytes) assert_memory_equal(r->data, t[i].data, r->nbytes);
        assert_int_equal((uintptr_t)r->data % snn_st_dtype_size(r->dtype), 0);
        assert_ptr_equal(snn_st_find(f, t[i].name), r);
    }
    assert_null(snn_st_at(f, n));
}

/* ---- round trip ------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    snn_st_tensor t[8];
    size_t n = sample(t);
    char p[512], p2[512];
    sample_path(p, "rt");
    assert_int_equal(snn_st_write(p, t, n, meta_k, meta_v, N_META), SNN_OK);

    snn_st_file *f;
    assert_int_equal(snn_st_read(p, &f), SNN_OK);
    check_same(f, t, n);
    assert_int_equal(snn_st_meta_count(f), N_META);
    for (size_t i = 0; i < N_META; i++) {
        assert_string_equal(snn_st_meta(f, meta_k[i]), meta_v[i]);
        const char *k, *v;
        assert_true(snn_st_meta_at(f, i, &k, &v));
        assert_string_equal(k, meta_k[i]);
        assert_string_equal(v, meta_v[i]);
    }
    assert_false(snn_st_meta_at(f, N_META, NULL, NULL));
    assert_null(snn_st_meta(f, "absent"));
    assert_null(snn_st_find(f, "absent"));
    assert_null(snn_st_find(f, "layers.0"));
    /* -0.0 kept bit for bit. */
    const snn_st_tensor *w = snn_st_find(f, "layers.0.weight");
    uint32_t bits;
    memcpy(&bits, (const float *)w->data + 5, 4);
    assert_int_equal(bits, 0x80000000u);

    /* Writing back what was read gives the identical file. */
    snn_st_tensor back[8];
    const char *mk[N_META], *mv[N_META];
    for (size_t i = 0; i < n; i++) back[i] = *snn_st_at(f, i);
    for (size_t i = 0; i < N_META; i++) snn_st_meta_at(f, i, &mk[i], &mv[i]);
    sample_path(p2, "rt2");
    assert_int_equal(snn_st_write(p2, back, n, mk, mv, N_META), SNN_OK);
    snn_st_free(f);
    size_t n1, n2;
    uint8_t *b1 = slurp(p, &n1), *b2 = slurp(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);

    /* Layout: header length a multiple of 8, padded with spaces, data after. */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b1[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal(b1[8], '{');
    size_t last = 8 + hlen - 1;
    while (b1[last] == ' ') last--;
    assert_int_equal(b1[last], '}');
    assert_true(8 + hlen - 1 - last < 8);
    size_t data = 0;
    for (size_t i = 0; i < n; i++) data += t[i].nbytes;
    assert_int_equal(n1, 8 + hlen + data);
    assert_memory_equal(b1 + 8 + hlen, w_conv, sizeof w_conv); /* first tensor first */

    /* The in-memory parser agrees with the file reader. */
    assert_int_equal(snn_st_parse(b1, n1, &f), SNN_OK);
    check_same(f, t, n);
    snn_st_free(f);
    free(b1);
    free(b2);
}

static void test_empty_and_overwrite(void **state)
{
    char p[512];
    sample_path(p, "empty");
    assert_int_equal(snn_st_write(p, NULL, 0, NULL, NULL, 0), SNN_OK);
    snn_st_file *f;
    assert_int_equal(snn_st_read(p, &f), SNN_OK);
    assert_int_equal(snn_st_count(f), 0);
    assert_int_equal(snn_st_meta_count(f), 0);
    assert_null(snn_st_find(f, "x"));
    snn_st_free(f);
    size_t n;
    uint8_t *b = slurp(p, &n);
    assert_int_equal(n, 16); /* 8 + "{}" padded to 8 */
    assert_memory_equal(b + 8, "{}      ", 8);
    free(b);

    /* Overwriting replaces the file and leaves no temporary behind. */
    snn_st_tensor t[8];
    size_t nt = sample(t);
    assert_int_equal(snn_st_write(p, t, nt, NULL, NULL, 0), SNN_OK);
    assert_int_equal(snn_st_read(p, &f), SNN_OK);
    assert_int_equal(snn_st_count(f), nt);
    snn_st_free(f);
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while ((e = readdir(d))) assert_null(strstr(e->d_name, ".tmp."));
    closedir(d);
}

static void test_python_json(void **state)
{
    if (access("/usr/bin/python3", X_OK) != 0) {
        print_message("python3 absent; skipping\n");
        skip();
    }
    snn_st_tensor t[8];
    size_t n = sample(t);
    char p[512];
    sample_path(p, "py");
    assert_int_equal(snn_st_write(p, t, n, meta_k, meta_v, N_META), SNN_OK);
    /* Python's json parses the header, sees the same names in order, the
     * metadata decoded exactly, and offsets that tile the data section. */
    static const char *script =
        "import json, struct, sys\n"
        "b = open(sys.argv[1], 'rb').read()\n"
        "n = struct.unpack('<Q', b[:8])[0]\n"
        "h = json.loads(b[8:8 + n].decode('utf-8'))\n"
        "m = h.pop('__metadata__')\n"
        "assert m['unicode'] == '\\u00b5s \\u20ac \\U0001F600', m\n"
        "assert m['ctl'] == '\\x01\\x1f\\x7f' and m['quote\"back\\\\slash'] == "
        "'tab\\there\\nnewline'\n"
        "names = list(h)\n"
        "assert names == ['layers.0.weight', 'steps', 'mask', 'after.odd', 'pi', 'empty', "
        "'q\\u00e9'], names\n"
        "pos = 0\n"
        "for k in names:\n"
        "    b0, e0 = h[k]['data_offsets']\n"
        "    assert b0 == pos, (k, b0, pos)\n"
        "    pos = e0\n"
        "assert pos == len(b) - 8 - n\n"
        "assert h['pi'] == {'dtype': 'F64', 'shape': [], 'data_offsets': [79, 87]}, h['pi']\n";
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", "-c", script, p, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- snn_st_get ---------------------------------------------------------------- */

static void test_get(void **state)
{
    snn_st_tensor t[8];
    size_t n = sample(t);
    char p[512];
    sample_path(p, "get");
    assert_int_equal(snn_st_write(p, t, n, NULL, NULL, 0), SNN_OK);
    snn_st_file *f;
    assert_int_equal(snn_st_read(p, &f), SNN_OK);
    const snn_st_tensor *r = (const snn_st_tensor *)1;
    int64_t s23[2] = {2, 3}, s32[2] = {3, 2}, s6[1] = {6};
    assert_int_equal(snn_st_get(f, "layers.0.weight", SNN_ST_F32, 2, s23, &r), SNN_OK);
    assert_string_equal(r->name, "layers.0.weight");
    expect_error(snn_st_get(f, "layers.0.weight", SNN_ST_F32, 2, s32, &r), SNN_ERR_FORMAT, p,
                 "layers.0.weight", "expected F32 [3, 2]", "got F32 [2, 3]", NULL);
    assert_null(r);
    expect_error(snn_st_get(f, "layers.0.weight", SNN_ST_F32, 1, s6, &r), SNN_ERR_FORMAT,
                 "expected F32 [6], got F32 [2, 3]", NULL);
    expect_error(snn_st_get(f, "layers.0.weight", SNN_ST_F64, 2, s23, &r), SNN_ERR_FORMAT,
                 "expected F64 [2, 3], got F32 [2, 3]", NULL);
    expect_error(snn_st_get(f, "layers.9.weight", SNN_ST_F32, 2, s23, &r), SNN_ERR_FORMAT, p,
                 "\"layers.9.weight\" is missing", NULL);
    assert_int_equal(snn_st_get(f, "pi", SNN_ST_F64, 0, NULL, &r), SNN_OK);
    assert_true(*(const double *)r->data == scalar);
    snn_st_free(f);
    expect_error(snn_st_read("/nonexistent/x.safetensors", &f), SNN_ERR_IO,
                 "/nonexistent/x.safetensors", NULL);
    assert_null(f);
}

/* ---- writer argument checks ------------------------------------------------ */

static void test_write_refuses(void **state)
{
    char p[512];
    sample_path(p, "refused");
    float x[4] = {0};
    snn_st_tensor t[2] = {{"a", SNN_ST_F32, 1, {4}, x, sizeof x}, {"a", SNN_ST_F32, 1, {4}, x, 16}};
    expect_error(snn_st_write(p, t, 2, NULL, NULL, 0), SNN_ERR_ARG, "duplicate tensor name \"a\"",
                 NULL);
    t[1].name = "__metadata__";
    expect_error(snn_st_write(p, t, 2, NULL, NULL, 0), SNN_ERR_ARG, "reserved", NULL);
    t[1].name = "b";
    t[1].nbytes = 12;
    expect_error(snn_st_write(p, t, 2, NULL, NULL, 0), SNN_ERR_ARG, "\"b\"", "needs 16 bytes",
                 "nbytes is 12", NULL);
    t[1].nbytes = 16;
    t[1].name = "bad\xff";
    expect_error(snn_st_write(p, t, 2, NULL, NULL, 0), SNN_ERR_ARG, "UTF-8", NULL);
    t[1].name = "b";
    t[1].shape[0] = -4;
    expect_error(snn_st_write(p, t, 2, NULL, NULL, 0), SNN_ERR_ARG, "[-4]", NULL);
    t[1].shape[0] = 4;
    t[1].ndim = 9;
    expect_error(snn_st_write(p, t, 2, NULL, NULL, 0), SNN_ERR_ARG, "9 dimensions", NULL);
    t[1].ndim = 1;
    const char *k[2] = {"x", "x"}, *v[2] = {"1", "2"};
    expect_error(snn_st_write(p, t, 2, k, v, 2), SNN_ERR_ARG, "duplicate metadata key \"x\"", NULL);
    v[1] = NULL;
    k[1] = "y";
    expect_error(snn_st_write(p, t, 2, k, v, 2), SNN_ERR_ARG, "metadata value is NULL", NULL);
    /* Nothing was created. */
    assert_int_not_equal(access(p, F_OK), 0);
    /* Unwritable location: an I/O error naming the path. */
    expect_error(snn_st_write("/nonexistent/dir/x.safetensors", t, 1, NULL, NULL, 0), SNN_ERR_IO,
                 "/nonexistent/dir/x.safetensors", NULL);
}

/* ---- hand-made headers the reader must refuse or accept -------------------- */

/* File = u64 length + header (not padded) + data_size bytes of 0x5A. */
static uint8_t *make_file(const char *header, size_t data_size, size_t *n)
{
    size_t h = strlen(header);
    *n = 8 + h + data_size;
    uint8_t *b = malloc(*n);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, 0x5A, data_size);
    return b;
}

static snn_status parse_header(const char *header, size_t data_size)
{
    size_t n;
    uint8_t *b = make_file(header, data_size, &n);
    snn_st_file *f = (snn_st_file *)1;
    snn_status st = snn_st_parse(b, n, &f);
    if (st != SNN_OK) assert_null(f);
    snn_st_free(f);
    free(b);
    return st;
}

#define T(name, dt, shape, b, e) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape \
                                 ",\"data_offsets\":[" #b "," #e "]}"

static void test_bad_headers(void **state)
{
    static const struct {
        const char *header;
        size_t data;
        const char *want;
    } cases[] = {
        {"", 0, "cannot hold a JSON object"},
        {"{", 0, "cannot hold"},
        {"[]", 0, "expected '{'"},
        {"{} x", 0, "unexpected characters after the header object"},
        {"{,}", 0, "expected a string"},
        {"{\"__metadata__\":{},}", 0, "expected a string"},
        {"{\"a\" {}}", 0, "expected ':'"},
        {"{" T("a", "F16", "[1]", 0, 2) "}", 2, "unsupported dtype \"F16\""},
        {"{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8,
         "duplicate tensor name \"a\""},
        {"{" T("a", "F32", "[1]", 0, 4) "," T("b", "U8", "[4]", 2, 6) "}", 6, "overlaps"},
        {"{" T("a", "F32", "[1]", 0, 4) "," T("b", "U8", "[1]", 5, 6) "}", 6,
         "gap of 1 unused bytes before tensor \"b\""},
        {"{" T("a", "F32", "[1]", 0, 4) "}", 8, "4 bytes after the last tensor"},
        {"{" T("a", "F32", "[1]", 0, 4) "}", 2, "go beyond the 2-byte data section"},
        {"{" T("a", "F32", "[2]", 0, 4) "}", 4, "F32 [2] needs 8 bytes"},
        {"{" T("a", "F32", "[1]", 4, 0) "}", 4, "end before they begin"},
        {"{" T("a", "F32", "[-1]", 0, 4) "}", 4, "negative number"},
        {"{" T("a", "F32", "[1.0]", 0, 4) "}", 4, "fractional"},
        {"{" T("a", "F32", "[1e0]", 0, 4) "}", 4, "fractional"},
        {"{" T("a", "F32", "[01]", 0, 4) "}", 4, "leading zero"},
        {"{" T("a", "F32", "[1,]", 0, 4) "}", 4, "expected a non-negative integer"},
        {"{" T("a", "F32", "[1 2]", 0, 4) "}", 4, "expected ',' or ']'"},
        {"{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, "more than 8 entries"},
        {"{" T("a", "F32", "[4294967296,4294967296,4294967296]", 0, 4) "}", 4, "too large"},
        {"{" T("a", "F32", "[99999999999999999999]", 0, 4) "}", 4, "integer too large"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4,
         "data_offsets has more than 2 entries"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4,
         "data_offsets must be [begin, end]"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "lacks \"data_offsets\""},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "lacks \"dtype\""},
        {"{\"a\":{}}", 0, "lacks \"dtype\""},
        {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", 0, "repeated key \"dtype\""},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
         "unexpected or repeated key \"x\""},
        {"{\"a\":{\"dtype\":3}}", 0, "expected a string"},
        {"{\"a\":[]}", 0, "expected '{'"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "metadata values must be strings"},
        {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "duplicate metadata key \"k\""},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "second __metadata__"},
        {"{\"__metadata__\":nul}", 0, "expected an object or null"},
        {"{\"__metadata__\":[]}", 0, "expected '{'"},
        {"{\"a\\q\":{}}", 0, "unknown escape"},
        {"{\"a\\u12\":{}}", 0, "bad \\u escape"},
        {"{\"a\\ud800\":{}}", 0, "unpaired high surrogate"},
        {"{\"a\\ud800\\u0041\":{}}", 0, "bad low surrogate"},
        {"{\"a\\udc00\":{}}", 0, "unpaired low surrogate"},
        {"{\"a\\u0000\":{}}", 0, "NUL character"},
        {"{\"a\tb\":{}}", 0, "control character"},
        {"{\"a\xff\":{}}", 0, "invalid UTF-8"},
        {"{\"a\xc0\xaf\":{}}", 0, "invalid UTF-8"},          /* overlong '/' */
        {"{\"a\xed\xa0\x80\":{}}", 0, "invalid UTF-8"},      /* encoded surrogate */
        {"{\"a\xf4\x90\x80\x80\":{}}", 0, "invalid UTF-8"},  /* above U+10FFFF */
        {"{\"abc", 0, "unterminated string"},
        {"{\"abc\\", 0, "unterminated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snn_status st = parse_header(cases[i].header, cases[i].data);
        if (st != SNN_ERR_FORMAT || !strstr(snn_last_error(), cases[i].want) ||
            !strstr(snn_last_error(), "<memory>"))
            fail_msg("case %zu (%s): got %s \"%s\", want format error with \"%s\"", i,
                     cases[i].header, snn_status_str(st), snn_last_error(), cases[i].want);
    }
}

static void test_bad_length_field(void **state)
{
    uint8_t b[32] = {0};
    snn_st_file *f;
    for (size_t n = 0; n < 8; n++)
        expect_error(snn_st_parse(b, n, &f), SNN_ERR_FORMAT, "too short for the 8-byte header",
                     NULL);
    b[7] = 0x80; /* 2^63 */
    expect_error(snn_st_parse(b, 32, &f), SNN_ERR_FORMAT, "exceeds", NULL);
    memset(b, 0xff, 8); /* 2^64-1: must not wrap around in 8 + N */
    expect_error(snn_st_parse(b, 32, &f), SNN_ERR_FORMAT, "exceeds", NULL);
    /* NUL padding is not whitespace. */
    memset(b, 0, sizeof b);
    b[0] = 8;
    memcpy(b + 8, "{}", 2);
    expect_error(snn_st_parse(b, 16, &f), SNN_ERR_FORMAT, "byte 10: unexpected characters", NULL);
    memcpy(b + 8, "{}      ", 8);
    assert_int_equal(snn_st_parse(b, 16, &f), SNN_OK);
    snn_st_free(f);
    memset(b, 0, 8);
    b[0] = 25;
    expect_error(snn_st_parse(b, 32, &f), SNN_ERR_FORMAT, "header length 25 goes beyond", NULL);
}

static void test_good_headers(void **state)
{
    snn_st_file *f;
    size_t n;
    /* Whitespace anywhere JSON allows it; null metadata; keys in any order;
     * escapes decoded; an unpadded header (data at an odd file offset). */
    const char *h = " {\n\t\"__metadata__\" : null ,\r\n"
                    " \"\\u00b5\\ud83d\\ude00\\/\\\"x\" : { \"data_offsets\" : [ 0 , 8 ] ,"
                    " \"shape\" : [ 2 ] , \"dtype\" : \"F32\" } }  ";
    uint8_t *b = make_file(h, 8, &n);
    float v[2] = {1.5f, -2.25f};
    memcpy(b + n - 8, v, 8);
    assert_int_equal(snn_st_parse(b, n, &f), SNN_OK);
    assert_int_equal(snn_st_count(f), 1);
    assert_int_equal(snn_st_meta_count(f), 0);
    const snn_st_tensor *t = snn_st_find(f, "\xc2\xb5\xf0\x9f\x98\x80/\"x");
    assert_non_null(t);
    assert_int_equal((uintptr_t)t->data % 4, 0);
    assert_memory_equal(t->data, v, 8);
    snn_st_free(f);
    free(b);

    /* Tensors listed out of data order; zero-size tensors anywhere. */
    h = "{" T("b", "U8", "[2]", 4, 6) "," T("z", "I64", "[0,5]", 6, 6) "," T("a", "I32", "[1]", 0,
                                                                              4) "}";
    b = make_file(h, 6, &n);
    assert_int_equal(snn_st_parse(b, n, &f), SNN_OK);
    assert_int_equal(snn_st_count(f), 3);
    assert_string_equal(snn_st_at(f, 0)->name, "b"); /* header order is kept */
    assert_string_equal(snn_st_at(f, 2)->name, "a");
    assert_int_equal(snn_st_find(f, "z")->nbytes, 0);
    snn_st_free(f);
    free(b);
    snn_st_free(NULL);
}

/* ---- robustness -------------------------------------------------------------- */

/* Touch every byte a parsed file claims to own, so ASan sees any bad pointer. */
static unsigned touch(const snn_st_file *f)
{
    unsigned sum = 0;
    for (size_t i = 0; i < snn_st_count(f); i++) {
        const snn_st_tensor *t = snn_st_at(f, i);
        sum += (unsigned)strlen(t->name);
        for (size_t k = 0; k < t->nbytes; k++) sum += ((const uint8_t *)t->data)[k];
        assert_true(t->ndim <= SNN_ST_MAX_DIMS);
        assert_ptr_equal(snn_st_find(f, t->name), t);
    }
    const char *k, *v;
    for (size_t i = 0; snn_st_meta_at(f, i, &k, &v); i++) sum += (unsigned)(strlen(k) + strlen(v));
    return sum;
}

static void test_every_truncation(void **state)
{
    snn_st_tensor t[8];
    size_t nt = sample(t), n;
    char p[512];
    sample_path(p, "trunc");
    assert_int_equal(snn_st_write(p, t, nt, meta_k, meta_v, N_META), SNN_OK);
    uint8_t *b = slurp(p, &n);
    for (size_t len = 0; len < n; len++) {
        /* A fresh exact-size copy, so reading past the end is an ASan error. */
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, b, len);
        snn_st_file *f = (snn_st_file *)1;
        snn_status st = snn_st_parse(c, len, &f);
        if (st != SNN_ERR_FORMAT) fail_msg("truncated to %zu of %zu bytes: %s", len, n,
                                           st == SNN_OK ? "accepted" : snn_last_error());
        assert_null(f);
        free(c);
    }
    free(b);
}

static void test_random_flips(void **state)
{
    snn_st_tensor t[8];
    size_t nt = sample(t), n;
    char p[512];
    sample_path(p, "flip");
    assert_int_equal(snn_st_write(p, t, nt, meta_k, meta_v, N_META), SNN_OK);
    uint8_t *b = slurp(p, &n);
    uint8_t *c = malloc(n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
    uint64_t rng = 1;
    int ok = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(c, b, n);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            uint64_t r = snn_rng_next(&rng);
            size_t pos = (size_t)(r >> 33) % n;
            /* Half the runs hit only the length and header, where the
             * parser lives; the others hit anywhere. */
            if (it % 2 == 0) pos %= 8 + hlen;
            c[pos] ^= (uint8_t)(r >> 24 | 1);
        }
        snn_st_file *f;
        snn_status st = snn_st_parse(c, n, &f);
        if (st == SNN_OK) {
            touch(f);
            snn_st_free(f);
            ok++;
        } else {
            assert_int_equal(st, SNN_ERR_FORMAT);
            assert_true(strlen(snn_last_error()) > 10);
            bad++;
        }
    }
    /* Flips of data bytes leave the file valid; header flips mostly do not. */
    print_message("%d flipped files accepted, %d refused\n", ok, bad);
    assert_true(ok > 500);
    assert_true(bad > 10000);
    free(c);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_empty_and_overwrite),
        cmocka_unit_test(test_python_json),      cmocka_unit_test(test_get),
        cmocka_unit_test(test_write_refuses),    cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_length_field), cmocka_unit_test(test_good_headers),
        cmocka_unit_test(test_every_truncation), cmocka_unit_test(test_random_flips),
    };
    return cmocka_run_group_tests_name("safetensors", tests, group_setup, group_teardown);
}
