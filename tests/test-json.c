/*
 * test-json.c - the result-line builder: exact output for every value kind,
 * escaping, non-finite numbers, growth past the initial buffer, and (when
 * python3 is present) that Python's json module reads it back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json.h"

static void test_values(void **state)
{
    snn_json *j = snn_json_new();
    assert_non_null(j);
    snn_json_str(j, "device", "float");
    snn_json_int(j, "images", 10000);
    snn_json_int(j, "min", INT64_MIN);
    snn_json_num(j, "accuracy", 0.9312);
    snn_json_num(j, "eps", 1e-5);
    snn_json_num(j, "big", 123456789.0);
    snn_json_num(j, "nan", NAN);
    snn_json_num(j, "inf", -INFINITY);
    snn_json_bool(j, "ok", 1);
    snn_json_bool(j, "bad", 0);
    snn_json_raw(j, "list", "[1,2,3]");
    snn_json_raw(j, "none", NULL);
    snn_json_str(j, "nul", NULL);
    const char *s = snn_json_finish(j);
    assert_string_equal(s, "{\"device\":\"float\",\"images\":10000,\"min\":-9223372036854775808,"
                           "\"accuracy\":0.9312,\"eps\":1e-05,\"big\":1.23457e+08,\"nan\":null,"
                           "\"inf\":null,\"ok\":true,\"bad\":false,\"list\":[1,2,3],\"none\":null,"
                           "\"nul\":null}");
    /* Finish is idempotent; later calls do not change the object. */
    snn_json_int(j, "late", 1);
    assert_ptr_equal(snn_json_finish(j), s);
    assert_null(strstr(s, "late"));
    snn_json_free(j);
    snn_json_free(NULL);

    j = snn_json_new();
    assert_string_equal(snn_json_finish(j), "{}");
    snn_json_free(j);
}

static void test_escapes(void **state)
{
    snn_json *j = snn_json_new();
    snn_json_str(j, "k\"ey", "a\"b\\c\nd\te\r\x01\x7f\xc2\xb5");
    assert_string_equal(snn_json_finish(j),
                        "{\"k\\\"ey\":\"a\\\"b\\\\c\\nd\\te\\r\\u0001\\u007f\xc2\xb5\"}");
    snn_json_free(j);

    /* snprintf-style sizing and truncation. */
    char buf[8];
    assert_int_equal(snn_json_escape(NULL, 0, "abc\n"), 7); /* "abc\n" quoted */
    assert_int_equal(snn_json_escape(buf, sizeof buf, "abcdefghij"), 12);
    assert_string_equal(buf, "\"abcdef");
    assert_int_equal(snn_json_escape(buf, sizeof buf, ""), 2);
    assert_string_equal(buf, "\"\"");
}

static void test_growth_and_python(void **state)
{
    snn_json *j = snn_json_new();
    char key[32], val[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(val, sizeof val, "value \"%d\"\n", i);
        if (i % 3 == 0) snn_json_str(j, key, val);
        if (i % 3 == 1) snn_json_num(j, key, i * 0.001);
        if (i % 3 == 2) snn_json_int(j, key, -i);
    }
    const char *s = snn_json_finish(j);
    assert_non_null(s);
    assert_true(strlen(s) > 50000);
    assert_int_equal(s[0], '{');
    assert_int_equal(s[strlen(s) - 1], '}');
    if (access("/usr/bin/python3", X_OK) == 0) {
        FILE *py = popen("/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); "
                         "assert len(d)==5000 and d[\"k3\"]==\"value \\\"3\\\"\\n\" and "
                         "d[\"k4\"]==0.004 and d[\"k5\"]==-5, d'",
                         "w");
        assert_non_null(py);
        fputs(s, py);
        int status = pclose(py);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    snn_json_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_growth_and_python),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
