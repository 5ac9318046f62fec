/*
 * test-sim.c - the Verilator harness (sim/) and the `sim` device.
 *
 * Group "sim-harness" (always; `make test-unit`): the harness against its own
 * behavioural test kernel tests/sim/snn_copy_kernel.sv (build/sim/
 * libsnn-sim-test.so): register map and ap_ctrl_hs behaviour, the memory
 * model under latency, outstanding bursts and back-pressure, a deliberate
 * hang caught by the cycle budget and by the stall watchdog, each protocol
 * violation the model checks, waveform output, and the device's message when
 * a library is missing.
 *
 * The layer-pipeline RTL kernel itself is tested by tests/test-pipe.c
 * (`make test-sim-pipe`).
 */
#include <dlfcn.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"
#include "sim/snn-sim.h"
#include "snn-common.h"
#include "snn-dev.h"
#include "snn-pipe.h"
#include "snn-regmap.h"

/* ---- locating the libraries ------------------------------------------------------ */

static char g_sim_dir[PATH_MAX + 16];

/* $MPBN_SIM_DIR, else build/sim next to build/tests/test-sim; exported so
 * that the `sim` device finds the same directory. */
static const char *sim_dir(void)
{
    if (g_sim_dir[0]) return g_sim_dir;
    const char *e = getenv("MPBN_SIM_DIR");
    if (e && e[0]) {
        snprintf(g_sim_dir, sizeof g_sim_dir, "%s", e);
    } else {
        char exe[PATH_MAX];
        ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(k > 0);
        exe[k] = 0;
        *strrchr(exe, '/') = 0;
        snprintf(g_sim_dir, sizeof g_sim_dir, "%s/../sim", exe);
        setenv("MPBN_SIM_DIR", g_sim_dir, 1);
    }
    return g_sim_dir;
}

static const snn_sim_api *load_api(const char *file)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", sim_dir(), file);
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!dl) fail_msg("%s (build it with `make %s`)", dlerror(), "build/sim/libsnn-sim-test.so");
    snn_sim_get_api_fn get = (snn_sim_get_api_fn)dlsym(dl, SNN_SIM_ENTRY);
    assert_non_null(get);
    const snn_sim_api *api = get();
    assert_int_equal(api->abi, SNN_SIM_ABI);
    assert_int_equal(api->size, sizeof(snn_sim_api));
    return api;
}

static const snn_sim_api *test_api(void)
{
    static const snn_sim_api *api;
    if (!api) api = load_api("libsnn-sim-test.so");
    return api;
}

/* ---- the copy kernel --------------------------------------------------------------- */

#define MODE_HANG (1u << 24)
#define MODE_BAD_WLAST (1u << 25)

static snn_sim_t *make_sim(const snn_sim_cfg *cfg)
{
    char err[512];
    snn_sim_t *s = test_api()->create(cfg, err, sizeof err);
    if (!s) fail_msg("create: %s", err);
    return s;
}

static void write_args(const snn_sim_api *api, snn_sim_t *s, uint64_t src, uint64_t dst, uint32_t n)
{
    assert_int_equal(api->reg_write(s, SNN_REG_MODEL_LO, (uint32_t)src), SNN_SIM_OK);
    assert_int_equal(api->reg_write(s, SNN_REG_MODEL_HI, (uint32_t)(src >> 32)), SNN_SIM_OK);
    assert_int_equal(api->reg_write(s, SNN_REG_RESULTS_LO, (uint32_t)dst), SNN_SIM_OK);
    assert_int_equal(api->reg_write(s, SNN_REG_RESULTS_HI, (uint32_t)(dst >> 32)), SNN_SIM_OK);
    assert_int_equal(api->reg_write(s, SNN_REG_N_IMAGES, n), SNN_SIM_OK);
}

static uint64_t pattern(uint32_t i)
{
    uint64_t s = i;
    return snn_rng_next(&s);
}

/* Copy n words through the kernel; returns the cycles, checks the data. */
static uint64_t copy_words(const snn_sim_cfg *cfg, uint32_t n)
{
    const snn_sim_api *api = test_api();
    snn_sim_t *s = make_sim(cfg);
    uint64_t src, dst, cycles = 0;
    assert_int_equal(api->alloc(s, 8ull * n, &src), SNN_SIM_OK);
    assert_int_equal(api->alloc(s, 8ull * n, &dst), SNN_SIM_OK);
    uint64_t *a = malloc(8ull * n + 8), *b = malloc(8ull * n + 8);
    for (uint32_t i = 0; i < n; i++) a[i] = pattern(i);
    assert_int_equal(api->mem_write(s, src, a, 8ull * n), SNN_SIM_OK);
    write_args(api, s, src, dst, n);
    if (api->run(s, 10000000, &cycles) != SNN_SIM_OK) fail_msg("run: %s", api->error(s));
    assert_int_equal(api->mem_read(s, dst, b, 8ull * n), SNN_SIM_OK);
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            fail_msg("word %u of %u: 0x%016llx copied as 0x%016llx (latency %u, back-pressure %u%%)", i,
                     n, (unsigned long long)a[i], (unsigned long long)b[i], cfg->mem_latency,
                     cfg->backpressure);
    snn_sim_stats st;
    api->stats(s, &st);
    assert_int_equal(st.rd_beats, n);
    assert_int_equal(st.wr_beats, n);
    assert_int_equal(st.runs, 1);
    assert_int_equal(st.run_cycles, cycles);
    free(a);
    free(b);
    api->destroy(s);
    return cycles;
}

/* ---- harness tests ----------------------------------------------------------------- */

static void test_info(void **state)
{
    (void)state;
    snn_sim_info in;
    test_api()->info(&in);
    assert_int_equal(in.abi, SNN_SIM_ABI);
    assert_int_equal(in.lanes, 8);
    assert_string_equal(in.kernel, "snn_copy_kernel");
    assert_int_equal(in.data_bits, 64);
    assert_non_null(in.verilator);
    assert_int_equal(in.arch, SNN_SIM_ARCH_TEST);
    assert_null(in.config);
    assert_int_equal(in.pipe.TM, 0);
}

static void test_register_map(void **state)
{
    (void)state;
    const snn_sim_api *api = test_api();
    snn_sim_cfg cfg = {0};
    snn_sim_t *s = make_sim(&cfg);
    uint32_t v = 0;
    /* after reset: idle, nothing started, nothing done */
    assert_int_equal(api->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v, SNN_CTRL_AP_IDLE);
    /* the harness enabled the ap_done interrupt like the platform driver */
    assert_int_equal(api->reg_read(s, SNN_REG_GIE, &v), SNN_SIM_OK);
    assert_int_equal(v, 1);
    assert_int_equal(api->reg_read(s, SNN_REG_IER, &v), SNN_SIM_OK);
    assert_int_equal(v, 1);
    /* argument registers read back what was written */
    static const uint32_t regs[] = {SNN_REG_MODEL_LO,   SNN_REG_MODEL_HI, SNN_REG_IMAGES_LO,
                                    SNN_REG_IMAGES_HI,  SNN_REG_RESULTS_LO, SNN_REG_RESULTS_HI,
                                    SNN_REG_TRACE_LO,   SNN_REG_TRACE_HI, SNN_REG_N_IMAGES};
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        assert_int_equal(api->reg_write(s, regs[i], 0xA5000000u + (uint32_t)i * 0x10101u), SNN_SIM_OK);
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        assert_int_equal(api->reg_read(s, regs[i], &v), SNN_SIM_OK);
        assert_int_equal(v, 0xA5000000u + (uint32_t)i * 0x10101u);
    }
    /* bad offsets are refused by the master, not sent */
    assert_int_equal(api->reg_write(s, 0x81, 0), SNN_SIM_ERR_ARG);
    assert_non_null(strstr(api->error(s), "0x81"));
    assert_int_equal(api->reg_read(s, 0x42, &v), SNN_SIM_ERR_ARG);
    api->destroy(s);
}

/* ap_start .. ap_ready .. ap_done (clear on read) .. ap_idle, and the
 * interrupt, observed register by register. */
static void test_ap_ctrl_hs(void **state)
{
    (void)state;
    const snn_sim_api *api = test_api();
    snn_sim_cfg cfg = {0};
    cfg.mem_latency = 50;
    snn_sim_t *s = make_sim(&cfg);
    uint64_t src, dst, cycles;
    assert_int_equal(api->alloc(s, 8 * 256, &src), SNN_SIM_OK);
    assert_int_equal(api->alloc(s, 8 * 256, &dst), SNN_SIM_OK);
    write_args(api, s, src, dst, 256);
    uint32_t v;
    assert_int_equal(api->start(s), SNN_SIM_OK);
    assert_int_equal(api->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v & SNN_CTRL_AP_IDLE, 0);   /* busy */
    assert_int_equal(v & SNN_CTRL_AP_START, 0);  /* taken: ap_ready cleared it */
    assert_int_equal(v & SNN_CTRL_AP_DONE, 0);
    assert_int_equal(api->irq(s), 0);
    /* a second start while busy is refused by the harness */
    assert_int_equal(api->start(s), SNN_SIM_ERR_STATE);
    assert_int_equal(api->wait(s, 100000, &cycles), SNN_SIM_OK);
    assert_true(cycles >= 256 + 50);
    /* wait consumed ap_done (clear on read) and acknowledged the interrupt */
    assert_int_equal(api->irq(s), 0);
    assert_int_equal(api->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v, SNN_CTRL_AP_IDLE);
    assert_int_equal(api->reg_read(s, SNN_REG_ISR, &v), SNN_SIM_OK);
    assert_int_equal(v, 0);
    /* wait without start */
    assert_int_equal(api->wait(s, 1000, &cycles), SNN_SIM_ERR_STATE);

    /* Without the harness polling: ap_done stays set until read once. */
    write_args(api, s, src, dst, 8);
    assert_int_equal(api->start(s), SNN_SIM_OK);
    assert_int_equal(api->step(s, 2000), SNN_SIM_OK);
    assert_int_equal(api->irq(s), 1);
    assert_int_equal(api->reg_read(s, SNN_REG_ISR, &v), SNN_SIM_OK);
    assert_int_equal(v, 1);
    assert_int_equal(api->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v, SNN_CTRL_AP_IDLE | SNN_CTRL_AP_DONE | SNN_CTRL_AP_READY);
    assert_int_equal(api->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_OK);
    assert_int_equal(v, SNN_CTRL_AP_IDLE);
    /* ISR toggles on write */
    assert_int_equal(api->reg_write(s, SNN_REG_ISR, 1), SNN_SIM_OK);
    assert_int_equal(api->reg_read(s, SNN_REG_ISR, &v), SNN_SIM_OK);
    assert_int_equal(v, 0);
    assert_int_equal(api->step(s, 2), SNN_SIM_OK);
    assert_int_equal(api->irq(s), 0);
    api->destroy(s);

    /* n = 0: ap_done follows ap_start at once */
    snn_sim_cfg c0 = {0};
    assert_true(copy_words(&c0, 0) < 16);
}

static void test_memory_model(void **state)
{
    (void)state;
    static const uint32_t lat[] = {1, 32, 200};
    static const uint32_t bp[] = {0, 30, 90};
    static const uint32_t sizes[] = {1, 17, 1000};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t k = 0; k < 3; k++) {
                snn_sim_cfg cfg = {0};
                cfg.mem_latency = lat[i];
                cfg.backpressure = bp[j];
                cfg.seed = 11 + i * 9 + j * 3 + k;
                uint64_t c = copy_words(&cfg, sizes[k]);
                assert_true(c >= sizes[k] + lat[i]); /* one beat per cycle, after the latency */
                if (bp[j] == 0 && lat[i] == 1) assert_true(c < sizes[k] + 64);
            }
}

/* Several read bursts outstanding: a long latency is hidden. */
static void test_outstanding_reads(void **state)
{
    (void)state;
    snn_sim_cfg cfg = {0};
    cfg.mem_latency = 200;
    uint64_t pipelined = copy_words(&cfg, 1024);
    cfg.max_outstanding = 1; /* one burst at a time: every burst pays the latency */
    uint64_t serial = copy_words(&cfg, 1024);
    /* 64 bursts of 16: serial >= 64 * 200; the kernel keeps 4 in flight */
    assert_true(serial >= 64 * 200);
    assert_true(pipelined * 3 < serial);
}

/* The cycle count is the kernel's, not the poll interval's; the
 * back-pressure pattern is a function of the seed. */
static void test_cycles_deterministic(void **state)
{
    (void)state;
    snn_sim_cfg cfg = {0};
    cfg.backpressure = 40;
    cfg.seed = 5;
    uint64_t a = copy_words(&cfg, 500);
    cfg.poll_interval = 1;
    uint64_t b = copy_words(&cfg, 500);
    cfg.poll_interval = 1000;
    uint64_t c = copy_words(&cfg, 500);
    assert_int_equal(a, b);
    assert_int_equal(a, c);
    /* other seeds, other patterns (two seeds may still tie by chance) */
    int differ = 0;
    for (uint64_t seed = 6; seed < 9; seed++) {
        cfg.seed = seed;
        differ += copy_words(&cfg, 500) != a;
    }
    assert_true(differ >= 2);
    cfg.backpressure = 0;
    assert_true(copy_words(&cfg, 500) < a);
}

static void test_device_memory(void **state)
{
    (void)state;
    const snn_sim_api *api = test_api();
    snn_sim_cfg cfg = {0};
    snn_sim_t *s = make_sim(&cfg);
    uint64_t a, b;
    assert_int_equal(api->alloc(s, 100, &a), SNN_SIM_OK);
    assert_int_equal(api->alloc(s, 5000, &b), SNN_SIM_OK);
    assert_int_equal(a % 4096, 0);
    assert_int_equal(b % 4096, 0);
    assert_true(a >= (1ull << 32));
    assert_true(b >= a + 4096 + 4096); /* one page + guard */
    uint8_t buf[8192], out[8192];
    for (int i = 0; i < 8192; i++) buf[i] = (uint8_t)(i * 7);
    /* a whole page of a 100-byte buffer is addressable (XRT rounds too) */
    assert_int_equal(api->mem_write(s, a, buf, 4096), SNN_SIM_OK);
    assert_int_equal(api->mem_write(s, a, buf, 4097), SNN_SIM_ERR_ARG);
    assert_non_null(strstr(api->error(s), "outside every allocated buffer"));
    assert_int_equal(api->mem_write(s, b + 10, buf, 8000), SNN_SIM_OK);
    assert_int_equal(api->mem_read(s, b + 10, out, 8000), SNN_SIM_OK);
    assert_memory_equal(buf, out, 8000);
    /* unwritten memory reads as zero */
    assert_int_equal(api->mem_read(s, b, out, 10), SNN_SIM_OK);
    for (int i = 0; i < 10; i++) assert_int_equal(out[i], 0);
    assert_int_equal(api->free(s, a), SNN_SIM_OK);
    assert_int_equal(api->mem_read(s, a, out, 8), SNN_SIM_ERR_ARG);
    assert_int_equal(api->free(s, a), SNN_SIM_ERR_ARG);
    api->destroy(s);

    char err[256];
    snn_sim_cfg bad = {0};
    bad.backpressure = 95;
    assert_null(test_api()->create(&bad, err, sizeof err));
    assert_non_null(strstr(err, "95%"));
}

static void test_hang_budget(void **state)
{
    (void)state;
    const snn_sim_api *api = test_api();
    snn_sim_cfg cfg = {0};
    snn_sim_t *s = make_sim(&cfg);
    uint64_t src, dst, cycles = 1;
    assert_int_equal(api->alloc(s, 8 * 64, &src), SNN_SIM_OK);
    assert_int_equal(api->alloc(s, 8 * 64, &dst), SNN_SIM_OK);
    write_args(api, s, src, dst, 64 | MODE_HANG);
    assert_int_equal(api->run(s, 20000, &cycles), SNN_SIM_ERR_TIMEOUT);
    assert_int_equal(cycles, 0);
    const char *e = api->error(s);
    assert_non_null(strstr(e, "ap_done never rose within the budget of 20000 cycles"));
    assert_non_null(strstr(e, "ap_idle=0")); /* the state: still busy */
    assert_non_null(strstr(e, "0 read burst(s) outstanding"));
    api->destroy(s);

    /* The stall watchdog fires first when nothing moves on m_axi. */
    cfg.stall_limit = 3000;
    s = make_sim(&cfg);
    assert_int_equal(api->alloc(s, 8 * 64, &src), SNN_SIM_OK);
    assert_int_equal(api->alloc(s, 8 * 64, &dst), SNN_SIM_OK);
    write_args(api, s, src, dst, 64 | MODE_HANG);
    assert_int_equal(api->run(s, 100000000, &cycles), SNN_SIM_ERR_TIMEOUT);
    assert_non_null(strstr(api->error(s), "no m_axi_gmem transfer for"));
    snn_sim_stats st;
    api->stats(s, &st);
    assert_true(st.cycles < 10000);
    api->destroy(s);
}

/* Run the copy kernel so that it breaks the protocol; return the error. */
static void expect_violation(uint64_t src_off, uint32_t src_bytes, uint32_t dst_bytes, uint32_t n,
                             const char *needle)
{
    const snn_sim_api *api = test_api();
    snn_sim_cfg cfg = {0};
    cfg.backpressure = 10;
    snn_sim_t *s = make_sim(&cfg);
    uint64_t src, dst, cycles;
    assert_int_equal(api->alloc(s, src_bytes, &src), SNN_SIM_OK);
    assert_int_equal(api->alloc(s, dst_bytes, &dst), SNN_SIM_OK);
    write_args(api, s, src + src_off, dst, n);
    int rc = api->run(s, 1000000, &cycles);
    if (rc != SNN_SIM_ERR_PROTOCOL)
        fail_msg("expected a protocol violation (%s), got %d: %s", needle, rc, api->error(s));
    if (!strstr(api->error(s), needle))
        fail_msg("expected '%s' in: %s", needle, api->error(s));
    assert_non_null(strstr(api->error(s), "AXI protocol violation at cycle"));
    /* the model refuses to go on */
    uint32_t v;
    assert_int_equal(api->reg_read(s, SNN_REG_CTRL, &v), SNN_SIM_ERR_STATE);
    api->destroy(s);
}

static void test_protocol_violations(void **state)
{
    (void)state;
    /* a 16-beat read burst starting 8 words before a page end */
    expect_violation(4096 - 64, 8192, 8192, 16, "crosses a 4 KiB boundary");
    /* reading past the end of a one-page buffer (into the guard page) */
    expect_violation(0, 4096, 8192, 600, "read burst at");
    expect_violation(0, 4096, 8192, 600, "outside every allocated buffer");
    /* writing past the end of the results buffer */
    expect_violation(0, 8192, 4096, 600, "write burst at");
    /* wlast on the first beat of a 16-beat burst */
    expect_violation(0, 8192, 8192, 64 | MODE_BAD_WLAST, "wlast=1 on beat 1 of a 16-beat write burst");
}

static void test_waveform(void **state)
{
    (void)state;
    snn_sim_info in;
    test_api()->info(&in);
    if (!in.can_trace) skip();
    char path[] = "/tmp/mpbn-sim-wave-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snn_sim_cfg cfg = {0};
    cfg.waveform = path;
    copy_words(&cfg, 40);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 100);
    unlink(path);
    /* an unwritable path is an error, not a crash */
    cfg.waveform = "/nonexistent-dir/x.fst";
    char err[256];
    assert_null(test_api()->create(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent-dir/x.fst"));
}

/* The device names the missing library and the command that builds it. */
static void test_device_missing_library(void **state)
{
    (void)state;
    char saved[sizeof g_sim_dir];
    snprintf(saved, sizeof saved, "%s", sim_dir());
    setenv("MPBN_SIM_DIR", "/nonexistent-sim-dir", 1);
    snn_dev_opts o;
    snn_dev_opts_init(&o);
    snn_dev_t *dev;
    /* A configuration this build does not have is refused before any library
     * or build is suggested. */
    o.config = "bogus";
    assert_int_equal(snn_dev_open("sim", &o, &dev), SNN_ERR_ARG);
    if (!strstr(snn_last_error(), "unknown configuration 'bogus'") ||
        strstr(snn_last_error(), "make sim"))
        fail_msg("bogus: %s", snn_last_error());
    /* One whose library is not built names it and the build; the default is
     * the card configuration. */
    o.config = "ci";
    assert_int_equal(snn_dev_open("sim", &o, &dev), SNN_ERR_DEVICE);
    const char *e = snn_last_error();
    assert_non_null(strstr(e, "/nonexistent-sim-dir/libsnn-sim-pipe-ci.so"));
    assert_non_null(strstr(e, "make sim-pipe PIPE_CONFIGS=ci"));
    o.config = NULL;
    assert_int_equal(snn_dev_open("sim", &o, &dev), SNN_ERR_DEVICE);
    e = snn_last_error();
    assert_non_null(strstr(e, "/nonexistent-sim-dir/libsnn-sim-pipe-" SNN_PIPE_DEFAULT_CONFIG ".so"));
    assert_non_null(strstr(e, "make sim-pipe PIPE_CONFIGS=" SNN_PIPE_DEFAULT_CONFIG));
    setenv("MPBN_SIM_DIR", saved, 1);
}

/* ---- main ----------------------------------------------------------------------------- */

int main(void)
{
    const char *sel = getenv("MPBN_SIM_TESTS");
    int harness = !sel || !strcmp(sel, "harness") || !strcmp(sel, "all");
    sim_dir();
    int fails = 0;
    if (harness) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_info),
            cmocka_unit_test(test_register_map),
            cmocka_unit_test(test_ap_ctrl_hs),
            cmocka_unit_test(test_memory_model),
            cmocka_unit_test(test_outstanding_reads),
            cmocka_unit_test(test_cycles_deterministic),
            cmocka_unit_test(test_device_memory),
            cmocka_unit_test(test_hang_budget),
            cmocka_unit_test(test_protocol_violations),
            cmocka_unit_test(test_waveform),
            cmocka_unit_test(test_device_missing_library),
        };
        fails += cmocka_run_group_tests_name("sim-harness", tests, NULL, NULL);
    }
    return fails ? 1 : 0;
}
