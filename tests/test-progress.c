/*
 * test-progress.c - the progress line: plain lines for logs, in-place redraw
 * on a terminal (a pseudo-terminal here), MPBN_PROGRESS overrides, rate
 * limiting. Time is never waited for: tests move the last-draw time back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "common/progress.h"
#include "snn-common.h"

/* ---- stderr capture --------------------------------------------------------- */

static int g_saved = -1;
static FILE *g_cap;

static void capture_begin(void)
{
    fflush(stderr);
    g_cap = tmpfile();
    assert_non_null(g_cap);
    g_saved = dup(2);
    dup2(fileno(g_cap), 2);
}

/* Restore stderr and return what was written (static buffer). */
static const char *capture_end(void)
{
    static char buf[8192];
    fflush(stderr);
    dup2(g_saved, 2);
    close(g_saved);
    g_saved = -1;
    rewind(g_cap);
    size_t n = fread(buf, 1, sizeof buf - 1, g_cap);
    buf[n] = 0;
    fclose(g_cap);
    return buf;
}

/* Teardown: a failed assertion jumps out of a test mid-capture; put stderr
 * back so that cmocka's report of the failure is visible. */
static int restore_stderr(void **state)
{
    if (g_saved >= 0) {
        fflush(stderr);
        dup2(g_saved, 2);
        close(g_saved);
        g_saved = -1;
        fclose(g_cap);
    }
    return 0;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

/* Pretend the last line was drawn long ago, so the next update draws. */
static void age(snn_progress *p)
{
    p->t_last_draw -= 3600;
    p->t_begin -= 3600;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_off(void **state)
{
    setenv("MPBN_PROGRESS", "0", 1);
    capture_begin();
    snn_progress p;
    snn_progress_begin(&p, "quiet", 100, "img");
    age(&p);
    snn_progress_update(&p, 50, "x");
    snn_progress_end(&p, "y");
    assert_string_equal(capture_end(), "");
}

static void test_plain(void **state)
{
    setenv("MPBN_PROGRESS", "1", 1);
    capture_begin();
    snn_progress p;
    snn_progress_begin(&p, "epoch 1/3", 60, "img");
    assert_int_equal(p.mode, SNN_PROGRESS_PLAIN);
    /* Within the 10 s interval: nothing. */
    for (int i = 1; i <= 20; i++) snn_progress_update(&p, (uint64_t)i, "loss 1.0");
    age(&p);
    snn_progress_update(&p, 30, "loss 0.412 acc 0.871");
    snn_progress_update(&p, 31, "suppressed again");
    snn_progress_end(&p, "done");
    const char *out = capture_end();
    assert_int_equal(count_char(out, '\n'), 2);
    assert_null(strchr(out, '\r'));
    assert_null(strchr(out, '\033'));
    assert_null(strstr(out, "suppressed"));
    assert_null(strstr(out, "loss 1.0"));
    /* Middle line: bar, percentage, counts, rate, ETA, extra. */
    assert_non_null(strstr(out, "epoch 1/3 [##########..........]  50% 30/60 img "));
    assert_non_null(strstr(out, " img/s ETA "));
    assert_non_null(strstr(out, "| loss 0.412 acc 0.871\n"));
    /* Final line: total time instead of ETA. */
    const char *last = strchr(out, '\n') + 1;
    assert_non_null(strstr(last, "epoch 1/3 [##########..........]  51% 31/60 img "));
    assert_non_null(strstr(last, " img/s in 1h00m | done\n"));
    assert_null(strstr(last, "ETA"));
}

static void test_unknown_total_and_long_extra(void **state)
{
    setenv("MPBN_PROGRESS", "1", 1);
    capture_begin();
    snn_progress p;
    snn_progress_begin(&p, "scan", 0, "batch");
    char extra[2000];
    memset(extra, 'e', sizeof extra - 1);
    extra[sizeof extra - 1] = 0;
    age(&p);
    snn_progress_update(&p, 123, extra);
    snn_progress_end(&p, NULL);
    const char *out = capture_end();
    assert_int_equal(count_char(out, '\n'), 2);
    assert_non_null(strstr(out, "scan 123 batch "));
    assert_null(strchr(out, '['));
    assert_null(strstr(out, "ETA"));
    /* Over-long extra is cut but the line still ends. */
    assert_true(strchr(out, '\n') - out < 520);
}

static void test_tty(void **state)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) {
        print_message("no pseudo-terminals here; skipping\n");
        skip();
    }
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    unsetenv("MPBN_PROGRESS");
    fflush(stderr);
    int saved = dup(2);
    dup2(slave, 2);
    snn_progress p;
    snn_progress_begin(&p, "train", 1000, "img");
    snn_progress_mode mode = p.mode;
    age(&p);
    snn_progress_update(&p, 250, "loss 0.5");
    snn_progress_update(&p, 260, "too soon"); /* within 0.1 s of the last draw */
    age(&p);
    snn_progress_update(&p, 500, "loss 0.4");
    snn_progress_end(&p, "fin");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(slave);
    char buf[4096];
    int fl = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, fl | O_NONBLOCK);
    ssize_t n = 0, got;
    while (n < (ssize_t)sizeof buf - 1 &&
           (got = read(master, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += got;
    close(master);
    buf[n > 0 ? n : 0] = 0;
    assert_int_equal(mode, SNN_PROGRESS_TTY);
    /* Three draws, each starting with \r and clearing the line's rest; only
     * the final one ends the line (the terminal may turn \n into \r\n). */
    assert_int_equal(count_char(buf, '\033'), 3);
    assert_int_equal(count_char(buf, '\n'), 1);
    assert_null(strstr(buf, "too soon"));
    assert_non_null(strstr(buf, "\rtrain [#####...............]  25% 250/1000 img "));
    assert_non_null(strstr(buf, "| loss 0.5\033[K\rtrain [##########"));
    assert_non_null(strstr(buf, " | fin\033[K"));
    assert_null(strstr(buf, "100%")); /* the end at 500/1000 still says 50% */
    assert_non_null(strstr(buf, " 50% 500/1000 img "));
}

static void test_fmt_time(void **state)
{
    static const struct {
        double s;
        const char *want;
    } cases[] = {
        {0, "0s"},          {0.4, "0s"},       {59.4, "59s"},   {59.6, "1m00s"},
        {61, "1m01s"},      {3599, "59m59s"},  {3600, "1h00m"}, {2 * 3600 + 65, "2h01m"},
        {-5, "0s"},         {NAN, "0s"},       {INFINITY, "99h59m"}, {1e12, "99h59m"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snn_progress_fmt_time(cases[i].s, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_off, restore_stderr),
        cmocka_unit_test_teardown(test_plain, restore_stderr),
        cmocka_unit_test_teardown(test_unknown_total_and_long_extra, restore_stderr),
        cmocka_unit_test(test_tty),
        cmocka_unit_test(test_fmt_time),
    };
    int rc = cmocka_run_group_tests_name("progress", tests, NULL, NULL);
    unsetenv("MPBN_PROGRESS");
    return rc;
}
