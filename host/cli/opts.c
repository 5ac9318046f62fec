/*
 * opts.c - the option layer of every `mpbn` subcommand (host/cli/opts.h): the
 * table-driven parser, the help generated from the tables, and the number
 * parsers of the CLI.
 */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int snn_opts_parse_only;

/* ---- numbers ------------------------------------------------------------------ */

static int is_digit(char c, int base)
{
    if (c >= '0' && c <= '9') return 1;
    return base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

snn_status snn_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    const char *p = s ? s : "";
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    /* strtoull would skip spaces and accept a sign (and wrap "-1") */
    int ok = is_digit(p[0], base);
    unsigned long long x = 0;
    if (ok) {
        char *end;
        errno = 0;
        x = strtoull(p, &end, base);
        ok = !*end && errno == 0 && x >= lo && x <= hi;
    }
    if (!ok)
        return snn_fail(SNN_ERR_ARG, "bad value '%.64s' (range %llu..%llu)", s ? s : "",
                        (unsigned long long)lo, (unsigned long long)hi);
    *v = x;
    return SNN_OK;
}

snn_status snn_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
    uint64_t x = 0;
    snn_status st = snn_parse_u64(s, lo, hi, &x);
    if (st == SNN_OK) *v = (uint32_t)x;
    return st;
}

snn_status snn_parse_double(const char *s, double lo, double hi, double *v)
{
    const char *p = s ? s : "";
    int ok = (p[0] >= '0' && p[0] <= '9') || p[0] == '.' || p[0] == '-' || p[0] == '+';
    double x = 0;
    if (ok) {
        char *end;
        errno = 0;
        x = strtod(p, &end);
        ok = !*end && isfinite(x) && x >= lo && x <= hi;
    }
    if (!ok) return snn_fail(SNN_ERR_ARG, "bad value '%.64s' (range %g..%g)", s ? s : "", lo, hi);
    *v = x;
    return SNN_OK;
}

/* ---- the table ---------------------------------------------------------------- */

static int is_option(const snn_opt *o)
{
    return o->kind != SNN_OPT_END && o->kind != SNN_OPT_GROUP;
}

static snn_opt *find(const snn_opt_spec *spec, const char *name, size_t len)
{
    for (snn_opt *o = spec->opts; o && o->kind != SNN_OPT_END; o++)
        if (is_option(o) && strlen(o->name) == len && !memcmp(o->name, name, len)) return o;
    return NULL;
}

const snn_opt *snn_opts_find(const snn_opt_spec *spec, const char *name)
{
    return find(spec, name, strlen(name));
}

int snn_opts_given(const snn_opt_spec *spec, const char *name)
{
    const snn_opt *o = snn_opts_find(spec, name);
    return o && o->given;
}

/* The i-th word of "a|b|c" (NULL past the end); *len its length. */
static const char *choice(const char *choices, uint32_t i, size_t *len)
{
    const char *p = choices;
    for (; i && p; i--) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) return NULL;
    const char *e = strchr(p, '|');
    *len = e ? (size_t)(e - p) : strlen(p);
    return p;
}

/* The field's current value as text ("" when there is nothing to show). */
static void format_value(const snn_opt *o, char *buf, size_t size)
{
    buf[0] = 0;
    if (!o->field) return;
    switch (o->kind) {
    case SNN_OPT_STR: {
        const char *s = *(const char *const *)o->field;
        if (s) snprintf(buf, size, "%s", s);
        break;
    }
    case SNN_OPT_U32: snprintf(buf, size, "%u", *(const uint32_t *)o->field); break;
    case SNN_OPT_U64:
        snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)o->field);
        break;
    case SNN_OPT_I32: snprintf(buf, size, "%d", (int)*(const int32_t *)o->field); break;
    case SNN_OPT_DOUBLE: snprintf(buf, size, "%g", *(const double *)o->field); break;
    case SNN_OPT_ENUM: {
        uint32_t v = *(const uint32_t *)o->field;
        size_t len;
        const char *c;
        for (uint32_t i = 0; (c = choice(o->choices, i, &len)); i++)
            if ((o->values ? o->values[i] : i) == v) {
                snprintf(buf, size, "%.*s", (int)len, c);
                break;
            }
        break;
    }
    default: break;
    }
}

snn_status snn_opts_pipe_config(const char *value, void *field)
{
    if (!snn_pipe_config_find(value)) {
        const char *names = snn_pipe_config_names();
        return snn_fail(SNN_ERR_ARG,
                        "unknown configuration '%.64s' of the layer-pipeline kernel (%s%s; "
                        "PIPE_PARAMS_<config> in mk/sim.mk)",
                        value, names[0] ? "one of " : "", names[0] ? names : "none in this build");
    }
    *(const char **)field = value;
    return SNN_OK;
}

/* ---- parsing ------------------------------------------------------------------ */

/* Edit distance of two short strings (for "did you mean"); large when long. */
static size_t distance(const char *a, size_t na, const char *b, size_t nb)
{
    enum { MAXN = 40 };
    if (na >= MAXN || nb >= MAXN) return MAXN;
    size_t row[MAXN + 1];
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static const char *nearest(const snn_opt_spec *spec, const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = 3; /* at most 2 edits */
    for (const snn_opt *o = spec->opts; o && o->kind != SNN_OPT_END; o++) {
        if (!is_option(o)) continue;
        size_t d = distance(name, len, o->name, strlen(o->name));
        if (d < best_d) best_d = d, best = o->name;
    }
    return best;
}

/* Store value v into o; SNN_ERR_ARG and the message on a bad value. */
static snn_status store(snn_opt *o, const char *v)
{
    switch (o->kind) {
    case SNN_OPT_FLAG: *(int *)o->field = 1; return SNN_OK;
    case SNN_OPT_STR:
        if (!*v) return snn_fail(SNN_ERR_ARG, "%s needs a value (got an empty one)", o->name);
        *(const char **)o->field = v;
        return SNN_OK;
    case SNN_OPT_U32:
    case SNN_OPT_U64:
    case SNN_OPT_I32: {
        uint64_t x = 0;
        int pow2 = (o->flags & SNN_OPTF_POW2) != 0;
        if (snn_parse_u64(v, o->lo, o->hi, &x) != SNN_OK || (pow2 && (x & (x - 1))))
            return snn_fail(SNN_ERR_ARG, "bad value '%.64s' for %s (range %llu..%llu%s)", v,
                            o->name, (unsigned long long)o->lo, (unsigned long long)o->hi,
                            pow2 ? ", a power of two" : "");
        if (o->kind == SNN_OPT_U32) *(uint32_t *)o->field = (uint32_t)x;
        else if (o->kind == SNN_OPT_U64) *(uint64_t *)o->field = x;
        else *(int32_t *)o->field = (int32_t)x;
        return SNN_OK;
    }
    case SNN_OPT_DOUBLE:
        if (snn_parse_double(v, o->dlo, o->dhi, (double *)o->field) != SNN_OK)
            return snn_fail(SNN_ERR_ARG, "bad value '%.64s' for %s (range %g..%g)", v, o->name,
                            o->dlo, o->dhi);
        return SNN_OK;
    case SNN_OPT_ENUM: {
        size_t len, n = strlen(v);
        const char *c;
        for (uint32_t i = 0; (c = choice(o->choices, i, &len)); i++)
            if (len == n && !memcmp(c, v, n)) {
                *(uint32_t *)o->field = o->values ? o->values[i] : i;
                return SNN_OK;
            }
        return snn_fail(SNN_ERR_ARG, "bad value '%.64s' for %s (one of %s)", v, o->name,
                        o->choices);
    }
    case SNN_OPT_FUNC: {
        snn_clear_error();
        if (o->parse(v, o->field) == SNN_OK) return SNN_OK;
        char why[512];
        snprintf(why, sizeof why, "%s", snn_last_error()[0] ? snn_last_error() : "invalid");
        return snn_fail(SNN_ERR_ARG, "%s: %s", o->name, why);
    }
    default: break;
    }
    SNN_ASSERT(!"option kind");
    return SNN_ERR_ARG;
}

/* Options that were removed, with what replaced them: a usage error that says
 * so rather than "unknown option". */
static const char *removed_option(const char *a, size_t len)
{
    static const struct {
        const char *name, *why;
    } gone[] = {
        {"--lanes", "--lanes was removed: --config replaced it (the HLS kernel, csim, is the "
                    "layer pipeline of the RTL kernel now; --config NAME picks its "
                    "configuration, as for sim)"},
    };
    for (size_t k = 0; k < sizeof gone / sizeof gone[0]; k++)
        if (strlen(gone[k].name) == len && !strncmp(a, gone[k].name, len)) return gone[k].why;
    return NULL;
}

snn_status snn_opts_parse(snn_opt_spec *spec, int argc, char **argv, int *help)
{
    *help = 0;
    spec->n_pos = 0;
    for (snn_opt *o = spec->opts; o && o->kind != SNN_OPT_END; o++) {
        o->given = 0;
        format_value(o, o->def_buf, sizeof o->def_buf);
    }
    spec->defaults_taken = 1;
    /* The first error is kept; the scan goes on only to find -h/--help. */
    int failed = 0, dashdash = 0;
#define OPT_FAIL(...)                                                                              \
    do {                                                                                           \
        if (!failed) snn_fail(SNN_ERR_ARG, __VA_ARGS__);                                           \
        failed = 1;                                                                                \
    } while (0)
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i] ? argv[i] : "";
        if (dashdash || a[0] != '-' || !a[1]) {
            if (spec->n_pos < spec->max_pos && spec->pos)
                spec->pos[spec->n_pos++] = a;
            else if (spec->max_pos == 1 && spec->pos)
                OPT_FAIL("more than one %s ('%.200s', '%.200s')",
                         spec->pos_name ? spec->pos_name : "argument", spec->pos[0], a);
            else if (spec->max_pos > 1)
                OPT_FAIL("too many arguments ('%.200s')", a);
            else
                OPT_FAIL("unexpected argument '%.200s'", a);
            continue;
        }
        if (!strcmp(a, "--")) {
            dashdash = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = 1;
            continue;
        }
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        snn_opt *o = a[1] == '-' ? find(spec, a, len) : NULL;
        const char *gone = o ? NULL : removed_option(a, len);
        if (gone) {
            OPT_FAIL("%s", gone);
            continue;
        }
        if (!o) {
            const char *near = nearest(spec, a, len);
            if (near)
                OPT_FAIL("unknown option '%.*s' (did you mean %s?)", (int)(len < 200 ? len : 200),
                         a, near);
            else
                OPT_FAIL("unknown option '%.*s'", (int)(len < 200 ? len : 200), a);
            continue;
        }
        const char *v = "";
        if (o->kind == SNN_OPT_FLAG) {
            if (eq) {
                OPT_FAIL("%s takes no value (got '%.64s')", o->name, eq + 1);
                continue;
            }
        } else if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc && argv[i + 1] && strncmp(argv[i + 1], "--", 2) != 0) {
            v = argv[++i];
        } else {
            OPT_FAIL("%s needs a value", o->name);
            continue;
        }
        o->given = 1;
        if (failed) continue; /* its message would replace the first one */
        if (store(o, v) != SNN_OK) failed = 1;
    }
    if (*help) {
        snn_clear_error();
        return SNN_OK;
    }
    if (!failed && spec->n_pos < spec->min_pos)
        OPT_FAIL("no %s given", spec->pos_name ? spec->pos_name : "argument");
    for (snn_opt *o = spec->opts; !failed && o && o->kind != SNN_OPT_END; o++)
        if (is_option(o) && (o->flags & SNN_OPTF_REQUIRED) && !o->given)
            OPT_FAIL("%s%s%s is required", o->name, o->meta ? " " : "", o->meta ? o->meta : "");
    for (snn_opt *o = spec->opts; !failed && o && o->kind != SNN_OPT_END; o++)
        if (is_option(o) && o->given && o->excludes && snn_opts_given(spec, o->excludes))
            OPT_FAIL("%s and %s cannot be given together", o->name, o->excludes);
#undef OPT_FAIL
    return failed ? SNN_ERR_ARG : SNN_OK;
}

/* ---- help ---------------------------------------------------------------------- */

#define HELP_WIDTH 100
#define HELP_INDENT 26

void snn_opts_wrap(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        if (*p == '\n') {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
            p++;
            continue;
        }
        size_t n = strcspn(p, " \n");
        if (col > indent && col + 1 + (int)n > HELP_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)n, p);
        col += (int)n;
        p += n;
    }
    fputc('\n', f);
}

/* An integer bound for the help: 2^32-1 and 2^64-1 by name. */
static const char *bound(uint64_t x, char *buf, size_t size)
{
    if (x == UINT32_MAX) return "2^32-1";
    if (x == UINT64_MAX) return "2^64-1";
    snprintf(buf, size, "%llu", (unsigned long long)x);
    return buf;
}

static void help_entry(const snn_opt_spec *spec, const snn_opt *o, FILE *f)
{
    char left[96], extra[256] = "", now[48], b0[24], b1[24];
    /* a help ending in ")" takes the details inside: "(0 = all; range ..)" */
    size_t hl = o->help ? strlen(o->help) : 0;
    int inside = hl > 0 && o->help[hl - 1] == ')';
    snprintf(left, sizeof left, "  %s%s%s", o->name, o->meta && o->kind != SNN_OPT_FLAG ? " " : "",
             o->meta && o->kind != SNN_OPT_FLAG ? o->meta : "");
    size_t k = 0;
#define EXTRA(...)                                                                                 \
    do {                                                                                           \
        if (k < sizeof extra)                                                                      \
            k += (size_t)snprintf(extra + k, sizeof extra - k, "%s", k || inside ? "; " : " ("); \
        if (k < sizeof extra) k += (size_t)snprintf(extra + k, sizeof extra - k, __VA_ARGS__);     \
    } while (0)
    switch (o->kind) {
    case SNN_OPT_U32:
    case SNN_OPT_U64:
    case SNN_OPT_I32:
        EXTRA("range %s..%s%s", bound(o->lo, b0, sizeof b0), bound(o->hi, b1, sizeof b1),
              o->flags & SNN_OPTF_POW2 ? ", a power of two" : "");
        break;
    case SNN_OPT_DOUBLE: EXTRA("range %g..%g", o->dlo, o->dhi); break;
    case SNN_OPT_ENUM:
    case SNN_OPT_FUNC:
        if (o->choices && o->choices[0]) EXTRA("one of %s", o->choices);
        break;
    default: break;
    }
    const char *def = o->def;
    if (!def && o->kind != SNN_OPT_FLAG && o->kind != SNN_OPT_FUNC) {
        if (spec->defaults_taken) {
            def = o->def_buf;
        } else {
            format_value(o, now, sizeof now);
            def = now;
        }
    }
    if (def && *def) EXTRA("default %s", def);
    if (o->flags & SNN_OPTF_REQUIRED) EXTRA("required");
    if (o->excludes) EXTRA("not with %s", o->excludes);
#undef EXTRA
    if (k && k < sizeof extra - 1) strcat(extra, ")");
    char text[1024];
    snprintf(text, sizeof text, "%.*s%s", (int)(k && inside ? hl - 1 : hl), o->help ? o->help : "",
             extra);
    int col = (int)strlen(left);
    fputs(left, f);
    if (col >= HELP_INDENT - 1) {
        fprintf(f, "\n%*s", HELP_INDENT, "");
    } else {
        fprintf(f, "%*s", HELP_INDENT - col, "");
    }
    snn_opts_wrap(f, text, HELP_INDENT, HELP_INDENT);
}

void snn_opts_help(const snn_opt_spec *spec, FILE *f)
{
    fprintf(f, "usage: mpbn %s %s\n", spec->cmd, spec->synopsis ? spec->synopsis : "[options]");
    if (spec->about) {
        fputc('\n', f);
        snn_opts_wrap(f, spec->about, 0, 0);
    }
    fprintf(f, "\noptions:\n");
    for (const snn_opt *o = spec->opts; o && o->kind != SNN_OPT_END; o++) {
        if (o->kind == SNN_OPT_GROUP)
            fprintf(f, "\n%s:\n", o->help);
        else
            help_entry(spec, o, f);
    }
    fprintf(f, "  %-*s", HELP_INDENT - 2, "-h, --help");
    snn_opts_wrap(f, "print this help (also: mpbn help <command>)", HELP_INDENT, HELP_INDENT);
}

static void usage_line(const snn_opt_spec *spec)
{
    fprintf(stderr, "usage: mpbn %s %s   (mpbn help %s lists every option)\n", spec->cmd,
            spec->synopsis ? spec->synopsis : "[options]", spec->cmd);
}

int snn_opts_usage_error(const snn_opt_spec *spec, const char *fmt, ...)
{
    if (snn_opts_parse_only) return 2;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mpbn %s: ", spec->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    usage_line(spec);
    return 2;
}

int snn_opts_run(snn_opt_spec *spec, int argc, char **argv)
{
    int help = 0;
    snn_status st = snn_opts_parse(spec, argc, argv, &help);
    if (snn_opts_parse_only) {
        if (help) { /* render it all the same, into memory */
            char *buf = NULL;
            size_t n = 0;
            FILE *m = open_memstream(&buf, &n);
            if (m) {
                snn_opts_help(spec, m);
                fclose(m);
            }
            free(buf);
        }
        return help || st == SNN_OK ? 0 : 2;
    }
    if (help) {
        snn_opts_help(spec, stdout);
        return 0;
    }
    if (st != SNN_OK) {
        fprintf(stderr, "mpbn %s: %s\n", spec->cmd, snn_last_error());
        usage_line(spec);
        return 2;
    }
    return SNN_OPTS_GO;
}
