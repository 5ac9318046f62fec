/* json.c - one-line JSON object builder for the last stdout line of a subcommand. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct snn_json {
    char *buf;
    size_t len, cap;
    int n_fields;
    int failed;   /* an allocation failed: finish returns NULL */
    int finished; /* closing brace written */
};

snn_json *snn_json_new(void)
{
    snn_json *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->cap = 256;
    j->buf = malloc(j->cap);
    if (!j->buf) {
        free(j);
        return NULL;
    }
    j->buf[0] = '{';
    j->buf[1] = 0;
    j->len = 1;
    return j;
}

static int json_reserve(snn_json *j, size_t extra)
{
    if (j->failed) return 0;
    if (j->len + extra + 1 <= j->cap) return 1;
    size_t cap = j->cap;
    while (j->len + extra + 1 > cap) cap *= 2;
    char *nb = realloc(j->buf, cap);
    if (!nb) {
        j->failed = 1;
        return 0;
    }
    j->buf = nb;
    j->cap = cap;
    return 1;
}

static void json_append(snn_json *j, const char *s, size_t n)
{
    if (!json_reserve(j, n)) return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

size_t snn_json_escape(char *buf, size_t size, const char *val)
{
    size_t n = 0;
    /* Writes only while room remains but always counts, so callers can size a
     * buffer with a first call, as with snprintf. */
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 < size) buf[n] = (c);                                                            \
        n++;                                                                                       \
    } while (0)
    PUT('"');
    for (const unsigned char *s = (const unsigned char *)val; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c == '\n') {
            PUT('\\');
            PUT('n');
        } else if (c == '\t') {
            PUT('\\');
            PUT('t');
        } else if (c == '\r') {
            PUT('\\');
            PUT('r');
        } else if (c < 0x20 || c == 0x7f) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            for (int k = 0; u[k]; k++) PUT(u[k]);
        } else {
            /* Bytes >= 0x80 pass through: UTF-8 text stays readable. */
            PUT((char)c);
        }
    }
    PUT('"');
#undef PUT
    if (size) buf[n < size ? n : size - 1] = 0;
    return n;
}

static void json_append_string(snn_json *j, const char *s)
{
    size_t need = snn_json_escape(NULL, 0, s);
    if (!json_reserve(j, need)) return;
    snn_json_escape(j->buf + j->len, need + 1, s);
    j->len += need;
}

/* Separator and key; returns 0 if the object is closed or broken. */
static int json_key(snn_json *j, const char *key)
{
    if (!j || j->failed || j->finished) return 0;
    if (j->n_fields++) json_append(j, ",", 1);
    json_append_string(j, key);
    json_append(j, ":", 1);
    return !j->failed;
}

static void json_appendf(snn_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_appendf(snn_json *j, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) json_append(j, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void snn_json_str(snn_json *j, const char *key, const char *val)
{
    if (!json_key(j, key)) return;
    if (val)
        json_append_string(j, val);
    else
        json_append(j, "null", 4);
}

void snn_json_int(snn_json *j, const char *key, int64_t v)
{
    if (json_key(j, key)) json_appendf(j, "%lld", (long long)v);
}

void snn_json_num(snn_json *j, const char *key, double v)
{
    if (!json_key(j, key)) return;
    if (!isfinite(v)) {
        json_append(j, "null", 4);
        return;
    }
    /* %.6g never prints "nan"/"inf" here and its exponent form (1e-05) is
     * valid JSON. */
    json_appendf(j, "%.6g", v);
}

void snn_json_bool(snn_json *j, const char *key, int v)
{
    if (json_key(j, key)) json_append(j, v ? "true" : "false", v ? 4 : 5);
}

void snn_json_raw(snn_json *j, const char *key, const char *json)
{
    if (!json_key(j, key)) return;
    if (json && *json)
        json_append(j, json, strlen(json));
    else
        json_append(j, "null", 4);
}

const char *snn_json_finish(snn_json *j)
{
    if (!j || j->failed) return NULL;
    if (!j->finished) {
        json_append(j, "}", 1);
        j->finished = 1;
    }
    return j->failed ? NULL : j->buf;
}

void snn_json_free(snn_json *j)
{
    if (!j) return;
    free(j->buf);
    free(j);
}

int snn_json_print(snn_json *j)
{
    const char *line = snn_json_finish(j);
    if (line) {
        puts(line);
        fflush(stdout);
    }
    snn_json_free(j);
    return line ? 0 : 1;
}
