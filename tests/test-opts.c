/*
 * test-opts.c - the option layer (host/cli/opts.c): both value forms, flags,
 * positional arguments and `--`, every message (unknown option, missing
 * value, bad number, bad choice, required option), --help winning over
 * errors, the number parsers at their edges, the generated help listing
 * every option with its range and default, options that exclude each other,
 * and --config of the device fragment (the configurations of mk/sim.mk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "snn-dev.h"

/* A table with one option of every kind. */
typedef struct fixture {
    int flag;
    const char *str, *req;
    uint32_t u32, width, choice;
    uint64_t u64;
    int32_t i32;
    double dbl;
    const char *pos[2];
    char func[16];
    snn_opt tab[16];
    snn_opt_spec spec;
} fixture;

static snn_status parse_upper(const char *v, void *field)
{
    if (strlen(v) >= 16 || v[0] < 'A' || v[0] > 'Z')
        return snn_fail(SNN_ERR_ARG, "'%s' does not start with a capital", v);
    strcpy(field, v);
    return SNN_OK;
}

static const uint32_t choice_values[] = {10, 20, 30};

static void setup(fixture *f, int required)
{
    memset(f, 0, sizeof *f);
    f->u32 = 7;
    f->u64 = 1;
    f->dbl = 0.5;
    f->choice = 20;
    f->str = "dflt";
    snn_opt tab[] = {
        SNN_O_FLAG("--flag", &f->flag, "a flag"),
        SNN_O_STR("--str", "S", &f->str, "a string"),
        SNN_O_U32("--u32", "N", &f->u32, 1, 100, "a small integer"),
        SNN_O_GROUP("more"),
        SNN_O_U32("--width", "N", &f->width, 1, 64, "a power of two", .flags = SNN_OPTF_POW2),
        SNN_O_U64("--u64", "N", &f->u64, 0, UINT64_MAX, "a big integer (any)"),
        SNN_O_I32("--i32", "N", &f->i32, 0, 1024, "an index"),
        SNN_O_DOUBLE("--dbl", "X", &f->dbl, 0, 1, "a fraction"),
        SNN_O_ENUM("--choice", "C", &f->choice, "ten|twenty|thirty", choice_values, "a word"),
        SNN_O_FUNC("--func", "NAME", f->func, parse_upper, "a name", .def = "none"),
        SNN_O_STR("--req", "R", &f->req, "must be there",
                  .flags = required ? SNN_OPTF_REQUIRED : 0),
        SNN_O_END,
    };
    memcpy(f->tab, tab, sizeof tab);
    f->spec = (snn_opt_spec){
        .cmd = "test",
        .synopsis = "IN [options]",
        .about = "A test command.",
        .opts = f->tab,
        .pos_name = "input",
        .pos = f->pos,
        .min_pos = 0,
        .max_pos = 1,
    };
}

/* Parse a NULL-terminated list of arguments (argv[0] = "test"). */
static snn_status parse_list(fixture *f, int *help, ...)
{
    char *argv[32] = {"test"};
    int argc = 1;
    va_list ap;
    va_start(ap, help);
    for (char *a; (a = va_arg(ap, char *)) && argc < 31;) argv[argc++] = a;
    va_end(ap);
    int h = 0;
    snn_status st = snn_opts_parse(&f->spec, argc, argv, help ? help : &h);
    return st;
}

#define PARSE(f, ...) parse_list(f, NULL, __VA_ARGS__, (char *)NULL)

static void test_values(void **state)
{
    fixture f;
    setup(&f, 0);
    assert_int_equal(PARSE(&f, "--flag", "--str", "abc", "--u32=42", "--width", "16", "--u64",
                           "0xffffffffffffffff", "--i32", "1024", "--dbl=0.25", "--choice",
                           "thirty", "--func", "Zed", "in.snn"),
                     SNN_OK);
    assert_int_equal(f.flag, 1);
    assert_string_equal(f.str, "abc");
    assert_int_equal(f.u32, 42);
    assert_int_equal(f.width, 16);
    assert_true(f.u64 == UINT64_MAX);
    assert_int_equal(f.i32, 1024);
    assert_true(f.dbl == 0.25);
    assert_int_equal(f.choice, 30);
    assert_string_equal(f.func, "Zed");
    assert_int_equal(f.spec.n_pos, 1);
    assert_string_equal(f.pos[0], "in.snn");
    assert_true(snn_opts_given(&f.spec, "--u32"));
    assert_false(snn_opts_given(&f.spec, "--req"));
    assert_false(snn_opts_given(&f.spec, "--nosuch"));
    assert_non_null(snn_opts_find(&f.spec, "--dbl"));

    /* an option's value may start with '-' (a negative number is a bad value) */
    setup(&f, 0);
    assert_int_equal(PARSE(&f, "--str", "-x"), SNN_OK);
    assert_string_equal(f.str, "-x");
    /* after "--" everything is positional; "-" alone is positional */
    setup(&f, 0);
    f.spec.max_pos = 2;
    assert_int_equal(PARSE(&f, "--", "--flag"), SNN_OK);
    assert_int_equal(f.flag, 0);
    assert_string_equal(f.pos[0], "--flag");
    setup(&f, 0);
    assert_int_equal(PARSE(&f, "-"), SNN_OK);
    assert_string_equal(f.pos[0], "-");
    /* --opt=value passes a value that starts with "--" */
    setup(&f, 0);
    assert_int_equal(PARSE(&f, "--str=--odd"), SNN_OK);
    assert_string_equal(f.str, "--odd");
}

static void expect_error(fixture *f, const char *msg, snn_status st)
{
    assert_int_equal(st, SNN_ERR_ARG);
    if (strcmp(snn_last_error(), msg)) fail_msg("got \"%s\", want \"%s\"", snn_last_error(), msg);
}

static void test_messages(void **state)
{
    fixture f;
    setup(&f, 0);
    expect_error(&f, "unknown option '--bogus'", PARSE(&f, "--bogus", "1"));
    setup(&f, 0);
    /* the last argument: still unknown, never "needs a value" */
    expect_error(&f, "unknown option '--bogus'", PARSE(&f, "--bogus"));
    setup(&f, 0);
    expect_error(&f, "unknown option '--bogus'", PARSE(&f, "--bogus=3"));
    setup(&f, 0);
    expect_error(&f, "unknown option '-x'", PARSE(&f, "-x"));
    setup(&f, 0);
    expect_error(&f, "unknown option '--u3' (did you mean --u32?)", PARSE(&f, "--u3", "1"));
    setup(&f, 0);
    expect_error(&f, "--str needs a value", PARSE(&f, "--str"));
    setup(&f, 0);
    expect_error(&f, "--str needs a value", PARSE(&f, "--str", "--flag"));
    setup(&f, 0);
    expect_error(&f, "--str needs a value (got an empty one)", PARSE(&f, "--str="));
    setup(&f, 0);
    expect_error(&f, "--flag takes no value (got '1')", PARSE(&f, "--flag=1"));
    setup(&f, 0);
    expect_error(&f, "bad value 'x' for --u32 (range 1..100)", PARSE(&f, "--u32", "x"));
    setup(&f, 0);
    expect_error(&f, "bad value '0' for --u32 (range 1..100)", PARSE(&f, "--u32", "0"));
    setup(&f, 0);
    expect_error(&f, "bad value '-1' for --u32 (range 1..100)", PARSE(&f, "--u32", "-1"));
    setup(&f, 0);
    expect_error(&f, "bad value '3' for --width (range 1..64, a power of two)",
                 PARSE(&f, "--width", "3"));
    setup(&f, 0);
    expect_error(&f, "bad value '2000' for --i32 (range 0..1024)", PARSE(&f, "--i32", "2000"));
    setup(&f, 0);
    expect_error(&f, "bad value '18446744073709551616' for --u64 (range 0..18446744073709551615)",
                 PARSE(&f, "--u64", "18446744073709551616"));
    setup(&f, 0);
    expect_error(&f, "bad value 'inf' for --dbl (range 0..1)", PARSE(&f, "--dbl", "inf"));
    setup(&f, 0);
    expect_error(&f, "bad value '1.5' for --dbl (range 0..1)", PARSE(&f, "--dbl", "1.5"));
    setup(&f, 0);
    expect_error(&f, "bad value 'two' for --choice (one of ten|twenty|thirty)",
                 PARSE(&f, "--choice", "two"));
    setup(&f, 0);
    expect_error(&f, "--func: 'lower' does not start with a capital", PARSE(&f, "--func", "lower"));
    setup(&f, 0);
    expect_error(&f, "more than one input ('a', 'b')", PARSE(&f, "a", "b"));
    setup(&f, 0);
    f.spec.max_pos = 0;
    expect_error(&f, "unexpected argument 'a'", PARSE(&f, "a"));
    setup(&f, 1);
    f.spec.min_pos = 1;
    expect_error(&f, "no input given", PARSE(&f, "--flag"));
    setup(&f, 1);
    expect_error(&f, "--req R is required", PARSE(&f, "x"));
    /* the first error is the one reported */
    setup(&f, 0);
    expect_error(&f, "bad value 'x' for --u32 (range 1..100)", PARSE(&f, "--u32", "x", "--bogus"));
}

static void test_help_wins(void **state)
{
    fixture f;
    int help = 0;
    setup(&f, 1);
    assert_int_equal(parse_list(&f, &help, "--bogus", "--u32", "x", "--help", (char *)NULL), SNN_OK);
    assert_int_equal(help, 1);
    setup(&f, 1);
    help = 0;
    assert_int_equal(parse_list(&f, &help, "-h", (char *)NULL), SNN_OK);
    assert_int_equal(help, 1);
    /* "--help" after "--" is an argument */
    setup(&f, 0);
    help = 0;
    assert_int_equal(parse_list(&f, &help, "--", "--help", (char *)NULL), SNN_OK);
    assert_int_equal(help, 0);
    assert_string_equal(f.pos[0], "--help");
}

static void test_numbers(void **state)
{
    uint64_t v = 0;
    uint32_t w = 0;
    double d = 0;
    assert_int_equal(snn_parse_u64("0", 0, 10, &v), SNN_OK);
    assert_int_equal(v, 0);
    assert_int_equal(snn_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), SNN_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(snn_parse_u64("0x10", 0, 100, &v), SNN_OK);
    assert_int_equal(v, 16);
    assert_int_equal(snn_parse_u64("010", 0, 100, &v), SNN_OK); /* decimal, not octal */
    assert_int_equal(v, 10);
    const char *bad[] = {"", " 1", "+1", "-1", "1 ", "1x", "0x", "0xg", "1e3", "1.0",
                         "18446744073709551616", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (snn_parse_u64(bad[i], 0, UINT64_MAX, &v) == SNN_OK) fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(snn_parse_u64(NULL, 0, 1, &v), SNN_ERR_ARG);
    assert_int_equal(snn_parse_u64("11", 0, 10, &v), SNN_ERR_ARG);
    assert_string_equal(snn_last_error(), "bad value '11' (range 0..10)");
    assert_int_equal(snn_parse_u32("4294967295", 0, UINT32_MAX, &w), SNN_OK);
    assert_true(w == UINT32_MAX);
    assert_int_equal(snn_parse_u32("4294967296", 0, UINT32_MAX, &w), SNN_ERR_ARG);

    assert_int_equal(snn_parse_double("0.5", 0, 1, &d), SNN_OK);
    assert_true(d == 0.5);
    assert_int_equal(snn_parse_double("-2e-1", -1, 1, &d), SNN_OK);
    assert_true(d == -0.2);
    assert_int_equal(snn_parse_double(".5", 0, 1, &d), SNN_OK);
    const char *dbad[] = {"", " 1", "nan", "inf", "-inf", "1e999", "0.5x", "x", "1,5"};
    for (size_t i = 0; i < sizeof dbad / sizeof dbad[0]; i++)
        if (snn_parse_double(dbad[i], -1e300, 1e300, &d) == SNN_OK)
            fail_msg("accepted '%s'", dbad[i]);
}

static void test_help_text(void **state)
{
    fixture f;
    setup(&f, 1);
    /* defaults are the values before parsing, not after */
    assert_int_equal(PARSE(&f, "--u32", "99", "--req", "r"), SNN_OK);
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    assert_non_null(m);
    snn_opts_help(&f.spec, m);
    fclose(m);
    const char *want[] = {
        "usage: mpbn test IN [options]\n",
        "\nA test command.\n",
        "\n  --flag                  a flag\n",
        "\n  --str S                 a string (default dflt)\n",
        "\n  --u32 N                 a small integer (range 1..100; default 7)\n",
        "\nmore:\n",
        "\n  --width N               a power of two (range 1..64, a power of two; default 0)\n",
        "\n  --u64 N                 a big integer (any; range 0..2^64-1; default 1)\n",
        "\n  --i32 N                 an index (range 0..1024; default 0)\n",
        "\n  --dbl X                 a fraction (range 0..1; default 0.5)\n",
        "\n  --choice C              a word (one of ten|twenty|thirty; default twenty)\n",
        "\n  --func NAME             a name (default none)\n",
        "\n  --req R                 must be there (required)\n",
        "\n  -h, --help ",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(buf, want[i])) fail_msg("help lacks \"%s\":\n%s", want[i], buf);
    /* no line beyond 100 columns */
    for (const char *p = buf; *p;) {
        size_t len = strcspn(p, "\n");
        assert_true(len <= 100);
        p += len + (p[len] != 0);
    }
    free(buf);
}

static void test_run(void **state)
{
    fixture f;
    setup(&f, 0);
    char *ok[] = {"test", "--u32", "5", NULL};
    assert_int_equal(snn_opts_run(&f.spec, 3, ok), SNN_OPTS_GO);
    char *bad[] = {"test", "--u32", "500", NULL};
    /* parse-only mode (the fuzzer's): nothing printed, 0 or 2, never go on */
    snn_opts_parse_only = 1;
    assert_int_equal(snn_opts_run(&f.spec, 3, ok), 0);
    assert_int_equal(snn_opts_run(&f.spec, 3, bad), 2);
    char *help[] = {"test", "--help", NULL};
    assert_int_equal(snn_opts_run(&f.spec, 2, help), 0);
    assert_int_equal(snn_opts_usage_error(&f.spec, "x"), 2);
    snn_opts_parse_only = 0;
}

/* An option that excludes another: both given is an error naming both (in
 * either order), the help says "not with"; the device fragment's --config
 * takes the configurations this build knows (sim and csim), and a leftover
 * --lanes is a usage error naming --config. */
static void test_excludes(void **state)
{
    (void)state;
    uint32_t a = 0;
    const char *b = NULL;
    snn_opt tab[] = {
        SNN_O_U32("--aa", "N", &a, 0, 9, "first", .excludes = "--bb"),
        SNN_O_STR("--bb", "S", &b, "second"),
        SNN_O_END,
    };
    snn_opt_spec spec = {.cmd = "test", .opts = tab};
    char *both[] = {"test", "--bb", "x", "--aa", "1"};
    int help = 0;
    assert_int_equal(snn_opts_parse(&spec, 5, both, &help), SNN_ERR_ARG);
    assert_string_equal(snn_last_error(), "--aa and --bb cannot be given together");
    a = 0, b = NULL;
    assert_int_equal(snn_opts_parse(&spec, 3, both, &help), SNN_OK);
    assert_string_equal(b, "x");
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    assert_non_null(m);
    snn_opts_help(&spec, m);
    fclose(m);
    if (!strstr(buf, "  --aa N                  first (range 0..9; default 0; not with --bb)\n"))
        fail_msg("help:\n%s", buf);
    free(buf);

    snn_dev_opts dev;
    snn_dev_opts_init(&dev);
    const char *data = NULL;
    uint32_t limit = 0;
    snn_opt dt[] = {SNN_OPTS_DEVICE(&dev, &data, &limit), SNN_O_END};
    snn_opt_spec ds = {.cmd = "eval", .opts = dt};
    char *ok[] = {"eval", "--config", "ci"};
    assert_int_equal(snn_opts_parse(&ds, 3, ok, &help), SNN_OK);
    assert_string_equal(dev.config, "ci");
    dev.config = NULL;
    char *bad[] = {"eval", "--config=bogus"};
    assert_int_equal(snn_opts_parse(&ds, 2, bad, &help), SNN_ERR_ARG);
    const char *msg = snn_last_error();
    if (!strstr(msg, "--config: unknown configuration 'bogus' of the layer-pipeline kernel "
                     "(one of ") ||
        !strstr(msg, snn_pipe_config_names()))
        fail_msg("got \"%s\"", msg);
    assert_null(dev.config);
    char *cfg[] = {"eval", "--config", "ci"};
    assert_int_equal(snn_opts_parse(&ds, 3, cfg, &help), SNN_OK);
    assert_string_equal(dev.config, "ci");
    /* --lanes (the HLS kernel before the layer pipeline) says what replaced it */
    char *lanes[] = {"eval", "--lanes", "8"};
    assert_int_equal(snn_opts_parse(&ds, 3, lanes, &help), SNN_ERR_ARG);
    if (!strstr(snn_last_error(), "--lanes was removed: --config replaced it"))
        fail_msg("got \"%s\"", snn_last_error());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),    cmocka_unit_test(test_messages),
        cmocka_unit_test(test_help_wins), cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_help_text), cmocka_unit_test(test_run),
        cmocka_unit_test(test_excludes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
