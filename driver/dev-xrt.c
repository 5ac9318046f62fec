/*
 * dev-xrt.c - the `xrt` backend: an Alveo card through the XRT C API
 * (xrtDevice*, xrtPLKernel*, xrtRun*, xrtBO*), the same buffer and run model
 * the other backends mirror.
 *
 *     open   check --xclbin, XILINX_XRT and the shim library, dlopen XRT,
 *            xrtDeviceOpen(index), xrtDeviceLoadXclbinFile, xrtPLKernelOpen
 *            ("snn_kernel"), memory group of every argument, two run handles,
 *            board-power sampler
 *     bo     xrtBOAlloc in the argument's memory group; write = xrtBOWrite +
 *            xrtBOSync(to device); read = xrtBOSync(from device) + xrtBORead
 *     start  xrtRunSetArg(model, images, results, trace, n_images) + xrtRunStart
 *     wait   xrtRunWaitFor(timeout) on the oldest run in flight
 *
 * Why dlopen and not -lxrt_coreutil: build/mpbn stays one binary that runs
 * everywhere (CI machines, laptops without XRT), and when XRT is missing or
 * misconfigured the user gets a message naming the missing piece instead of
 * a loader error before main(). The XRT headers from libxrt-dev still type
 * every entry point (__typeof__), so a changed prototype fails the build.
 *
 * XRT 2.13 (Debian 12's libxrt1) throws from inside xrtDeviceOpen, and the
 * process aborts, when XILINX_XRT is unset or $XILINX_XRT/lib lacks the shim
 * library (libxrt_core.so.2), and crashes in emulation mode without an
 * emconfig.json; every one of these is therefore checked here first and
 * reported as an snn_status. See docs/running-on-alveo.md.
 *
 * Board power: a sampler thread reads the card's power sensor from sysfs
 * (the node `xbutil examine -r electrical` reports: xmc_power of the xocl
 * driver's xmc sub-device, else hwmon power1_input, else the sum of the 12 V
 * and 3.3 V rails), every 10 ms while the device is open; power() returns the
 * mean since the previous call, i.e. over the run just waited for.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snn-dev-impl.h"
#include "snn-regmap.h"

#if defined(__has_include)
#if __has_include(<xrt/xrt_kernel.h>) && __has_include(<xrt/xrt_bo.h>) &&                       \
    __has_include(<xrt/xrt_device.h>) && __has_include(<xclbin.h>)
#define SNN_HAVE_XRT_HEADERS 1
#endif
#endif

#ifndef SNN_HAVE_XRT_HEADERS
/* ---- stub: built without libxrt-dev ------------------------------------- */

static snn_status xrt_stub_open(snn_dev_t *dev)
{
    (void)dev;
    return snn_fail(
        SNN_ERR_UNSUPPORTED,
        "this build of mpbn has no XRT support: the XRT headers were not found at "
        "build time (install libxrt-dev, scripts/packages.txt, and rebuild with `make`)");
}

static void xrt_stub_close(snn_dev_t *dev)
{
    (void)dev;
}

const snn_dev_iface snn_dev_xrt = {
    .name = "xrt",
    .desc = "Alveo card through XRT (not available: built without libxrt-dev)",
    .open = xrt_stub_open,
    .close = xrt_stub_close,
};

#else
/* ---- the real backend ----------------------------------------------------- */

#include <xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#define XRT_LIB "libxrt_coreutil.so.2"
#define N_KARGS 5 /* model, images, results, trace, n_images */
#define POWER_PERIOD_NS 10000000L

/* Entry points, typed by the XRT headers themselves. */
#define XRT_FUNCS(X)                                                                               \
    X(xrtDeviceOpen)                                                                               \
    X(xrtDeviceClose)                                                                              \
    X(xrtDeviceLoadXclbinFile)                                                                     \
    X(xrtDeviceGetXclbinUUID)                                                                      \
    X(xrtPLKernelOpen)                                                                             \
    X(xrtKernelClose)                                                                              \
    X(xrtKernelArgGroupId)                                                                         \
    X(xrtKernelArgOffset)                                                                          \
    X(xrtRunOpen)                                                                                  \
    X(xrtRunSetArg)                                                                                \
    X(xrtRunStart)                                                                                 \
    X(xrtRunWaitFor)                                                                               \
    X(xrtRunClose)                                                                                 \
    X(xrtBOAlloc)                                                                                  \
    X(xrtBOFree)                                                                                   \
    X(xrtBOWrite)                                                                                  \
    X(xrtBORead)                                                                                   \
    X(xrtBOSync)

typedef struct xrt_api {
    void *lib;
    char path[1024];
#define X(f) __typeof__(f) *f;
    XRT_FUNCS(X)
#undef X
    /* Raw argument setter, exported with C++ linkage by XRT >= 2.9; used to
     * pass trace address 0 (= trace off), which xrtRunSetArg cannot express. */
    int (*set_arg_raw)(xrtRunHandle, int, const void *, size_t);
} xrt_api;

#define MAX_CU 16
/* Largest card image accepted: XRT reads the whole file; a real one is tens
 * to a few hundred MiB. */
#define XCLBIN_MAX_BYTES ((uint64_t)2 << 30)
#define MAX_RUNS SNN_DEV_MAX_INFLIGHT

/* A buffer lives in the memory bank of the compute unit that uses it. The
 * run loop allocates buffers before any run says which CU they are for, so
 * with several CUs a buffer stays on the host (shadow) until its first run
 * places it; the model, read by every CU, gets one copy per CU's bank. */
struct snn_bo {
    xrtBufferHandle h[MAX_CU];
    int cu;         /* CU whose bank holds it; -1 = not placed yet */
    int replicated; /* the model: h[c] for every CU c that has run */
    size_t size;
    uint8_t *shadow; /* host copy until placed (replicated: kept for new CUs) */
};

typedef struct xrt_cu {
    char name[96]; /* "snn_kernel:{snn_kernel_1}" */
    xrtKernelHandle kern;
    int group; /* memory group of its m_axi port, i.e. of every argument */
    xrtRunHandle run[MAX_RUNS];
    int busy[MAX_RUNS];
    snn_bo *null_trace; /* when the raw setter is missing: a trace sink */
} xrt_cu;

typedef struct power_sampler {
    char node[512]; /* sysfs file, microwatts; or empty when rails are summed */
    char rails[3][2]
              [512]; /* {voltage mV, current mA} files of the 12V PEX, 12V AUX, 3V3 PEX rails */
    int n_rails;
    pthread_t thread;
    pthread_mutex_t lock;
    int running;
    int stop;
    double sum_w; /* since the last power() */
    uint64_t n;
    double last_w;
} power_sampler;

typedef struct xrt_ctx {
    xrt_api api;
    xrtDeviceHandle dev;
    xrt_cu cu[MAX_CU];
    int n_cu;
    int next_cu; /* round robin over CUs for new buffer sets */
    struct {
        int cu, slot;
    } fifo[MAX_RUNS]; /* runs in flight, oldest first */
    int run_head, run_count;
    char cu_names[MAX_CU][64]; /* compute units of snn_kernel in the xclbin's IP_LAYOUT */
    int n_cu_names;
    char xclbin_platform[65];
    char bdf[64];
    power_sampler pw;
} xrt_ctx;

/* ---- checks before XRT is touched --------------------------------------- */

static int file_exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static int dir_exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

static const char *xclbin_mode_str(uint16_t m)
{
    switch (m) {
    case XCLBIN_FLAT:
        return "hw (flat)";
    case XCLBIN_PR:
        return "hw (partial reconfiguration)";
    case XCLBIN_TANDEM_STAGE2:
        return "hw (tandem stage 2)";
    case XCLBIN_TANDEM_STAGE2_WITH_PR:
        return "hw (tandem stage 2 + PR)";
    case XCLBIN_HW_EMU:
        return "hw_emu";
    case XCLBIN_SW_EMU:
        return "sw_emu";
    case XCLBIN_HW_EMU_PR:
        return "hw_emu (PR)";
    default:
        return "unknown";
    }
}

static int xclbin_mode_is_emu(uint16_t m, const char **which)
{
    if (m == XCLBIN_HW_EMU || m == XCLBIN_HW_EMU_PR) {
        *which = "hw_emu";
        return 1;
    }
    if (m == XCLBIN_SW_EMU) {
        *which = "sw_emu";
        return 1;
    }
    *which = NULL;
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Names of the compute units of snn_kernel, from the IP_LAYOUT section
 * ("snn_kernel:snn_kernel_1" -> "snn_kernel_1"). Returns 0 if a section
 * header points outside the file. */
static int list_cus(FILE *f, const struct axlf *a, uint64_t file_size, xrt_ctx *c)
{
    c->n_cu_names = 0;
    int ok = 1;
    uint64_t sec0 = offsetof(struct axlf, m_sections);
    for (uint32_t i = 0; ok && i < a->m_header.m_numSections && i < 4096; i++) {
        struct axlf_section_header h;
        if (fseek(f, (long)(sec0 + (uint64_t)i * sizeof h), SEEK_SET) != 0 ||
            fread(&h, sizeof h, 1, f) != 1) {
            ok = 0;
            break;
        }
        if (h.m_sectionOffset > file_size || h.m_sectionSize > file_size - h.m_sectionOffset) {
            ok = 0;
            break;
        }
        if (h.m_sectionKind != IP_LAYOUT || h.m_sectionSize < 8) continue;
        int32_t count;
        if (fseek(f, (long)h.m_sectionOffset, SEEK_SET) != 0 || fread(&count, 4, 1, f) != 1) {
            ok = 0;
            break;
        }
        uint64_t first = offsetof(struct ip_layout, m_ip_data);
        for (int32_t k = 0; k < count; k++) {
            struct ip_data d;
            uint64_t at = first + (uint64_t)k * sizeof d;
            if (at + sizeof d > h.m_sectionSize) break;
            if (fseek(f, (long)(h.m_sectionOffset + at), SEEK_SET) != 0 ||
                fread(&d, sizeof d, 1, f) != 1)
                break;
            char name[65];
            memcpy(name, d.m_name, 64);
            name[64] = 0;
            const char *prefix = SNN_KERNEL_NAME ":";
            if (d.m_type != IP_KERNEL || strncmp(name, prefix, strlen(prefix)) != 0) continue;
            if (c->n_cu_names < MAX_CU)
                snprintf(c->cu_names[c->n_cu_names++], sizeof c->cu_names[0], "%s",
                         name + strlen(prefix));
        }
    }
    qsort(c->cu_names, (size_t)c->n_cu_names, sizeof c->cu_names[0], cmp_name);
    return ok;
}

/* The xclbin must exist, be an axlf container ("xclbin2"), be complete, and
 * be built for the mode XRT will run in (card or emulation). */
static snn_status check_xclbin(const char *path, xrt_ctx *c)
{
    if (!path || !*path)
        return snn_fail(
            SNN_ERR_ARG,
            "no card image given: pass --xclbin FILE.xclbin (build one with `make xclbin "
            "TARGET=hw PLATFORM=<your card's platform>`, see docs/running-on-alveo.md)");
    struct stat s;
    if (stat(path, &s) != 0)
        return snn_fail(SNN_ERR_IO,
                        "xclbin '%s': %s (check the path; `make xclbin` writes "
                        "build/xclbin/<TARGET>/<PLATFORM>/snn_kernel.xclbin)",
                        path, strerror(errno));
    if (!S_ISREG(s.st_mode))
        return snn_fail(SNN_ERR_IO, "xclbin '%s' is not a regular file (pass the .xclbin itself)",
                        path);
    /* Regular files only (XRT reads the whole file: never a FIFO or a
     * device), at most XCLBIN_MAX_BYTES. */
    FILE *f;
    uint64_t fsize;
    snn_status fst = snn_file_open_read(path, XCLBIN_MAX_BYTES, &f, &fsize);
    if (fst != SNN_OK) return snn_fail_context(fst, "xclbin (pass the .xclbin itself)");
    struct axlf a;
    size_t got = fread(&a, 1, sizeof a, f);
    int cus_ok = got == sizeof a && a.m_header.m_length == fsize && list_cus(f, &a, fsize, c);
    fclose(f);
    if (got < 8 || memcmp(a.m_magic, "xclbin2", 8) != 0)
        return snn_fail(
            SNN_ERR_FORMAT,
            "'%s' is not an xclbin (no \"xclbin2\" magic at offset 0): pass the card "
            "image that `v++ --link` wrote, not the kernel .xo or the deploy image .snn",
            path);
    if (got < sizeof a)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is truncated (%zu bytes, the header alone is %zu)", path, got,
                        sizeof a);
    if (a.m_header.m_length != fsize)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is truncated or padded: its header says %llu bytes, the file "
                        "has %llu (copy it again)",
                        path, (unsigned long long)a.m_header.m_length, (unsigned long long)fsize);
    if (!cus_ok)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is corrupt: a section lies outside the file (copy it again)",
                        path);
    memcpy(c->xclbin_platform, a.m_header.m_platformVBNV, 64);
    c->xclbin_platform[64] = 0;
    if (!c->xclbin_platform[0])
        snprintf(c->xclbin_platform, sizeof c->xclbin_platform, "<PLATFORM>");
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *need;
    int is_emu = xclbin_mode_is_emu(a.m_header.m_mode, &need);
    if (is_emu && (!emu || strcmp(emu, need) != 0))
        return snn_fail(
            SNN_ERR_ARG,
            "xclbin '%s' was built for %s (TARGET=%s), not for a card: set "
            "XCL_EMULATION_MODE=%s and put emconfig.json (`emconfigutil --platform %s`) "
            "in $EMCONFIG_PATH, or pass an xclbin built with TARGET=hw",
            path, xclbin_mode_str(a.m_header.m_mode), need, need, c->xclbin_platform);
    if (!is_emu && emu && *emu)
        return snn_fail(SNN_ERR_ARG,
                        "XCL_EMULATION_MODE=%s is set but xclbin '%s' is a %s image for a real "
                        "card: unset XCL_EMULATION_MODE, or pass an xclbin built with TARGET=%s",
                        emu, path, xclbin_mode_str(a.m_header.m_mode), emu);
    return SNN_OK;
}

/* XRT finds its shim (the library that talks to the xocl driver, or the
 * emulator) as $XILINX_XRT/lib/<shim>; if that fails it throws where nobody
 * catches it and the process aborts. */
static snn_status check_xrt_env(char *libdir, size_t n)
{
    const char *x = getenv("XILINX_XRT");
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *shim = "libxrt_core.so.2";
    if (emu && strcmp(emu, "hw_emu") == 0) shim = "libxrt_hwemu.so.2";
    if (emu && strcmp(emu, "sw_emu") == 0) shim = "libxrt_swemu.so.2";
    if (!x || !*x)
        return snn_fail(SNN_ERR_DEVICE,
                        "XILINX_XRT is not set: XRT loads its driver library %s from "
                        "$XILINX_XRT/lib. With AMD's XRT package run `source "
                        "/opt/xilinx/xrt/setup.sh`; with Debian's libxrt1 make a prefix: `mkdir -p "
                        "$HOME/xrt && ln -sfn /usr/lib/x86_64-linux-gnu $HOME/xrt/lib && export "
                        "XILINX_XRT=$HOME/xrt` (docs/running-on-alveo.md)",
                        shim);
    snprintf(libdir, n, "%s/lib", x);
    if (!dir_exists(libdir))
        return snn_fail(SNN_ERR_DEVICE,
                        "XILINX_XRT=%s has no lib/ directory, where XRT looks for %s: point "
                        "XILINX_XRT at the XRT install prefix (/opt/xilinx/xrt for AMD's package; "
                        "for Debian's libxrt1 a prefix whose lib -> /usr/lib/x86_64-linux-gnu, "
                        "docs/running-on-alveo.md)",
                        x, shim);
    char p[600];
    snprintf(p, sizeof p, "%s/%s", libdir, shim);
    if (!file_exists(p))
        return snn_fail(SNN_ERR_DEVICE,
                        "XILINX_XRT=%s: %s not found: XRT needs its %s library there (install XRT: "
                        "Debian package libxrt1 or AMD's xrt package; with Debian's, make lib a "
                        "link to /usr/lib/x86_64-linux-gnu, docs/running-on-alveo.md)",
                        x, p, emu && *emu ? emu : "driver");
    if (emu && *emu) {
        /* XRT's emulation shims crash without emconfig.json (XRT 2.13). */
        const char *ec = getenv("EMCONFIG_PATH");
        char q[600] = "";
        if (ec && *ec) {
            snprintf(q, sizeof q, "%s/emconfig.json", ec);
        } else {
            char exe[512];
            ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
            if (k > 0) {
                exe[k] = 0;
                char *slash = strrchr(exe, '/');
                if (slash) *slash = 0;
                snprintf(q, sizeof q, "%s/emconfig.json", exe);
            }
        }
        if (!file_exists(q))
            return snn_fail(
                SNN_ERR_DEVICE,
                "XCL_EMULATION_MODE=%s but %s does not exist: create it with "
                "`emconfigutil --platform <PLATFORM> --od DIR` and set EMCONFIG_PATH=DIR "
                "(`make xclbin TARGET=%s` does both under build/xclbin/)",
                emu, q[0] ? q : "emconfig.json", emu);
    }
    return SNN_OK;
}

static snn_status load_api(xrt_api *api, const char *libdir)
{
    const char *tried1 = NULL;
    char p[600];
    snprintf(p, sizeof p, "%s/%s", libdir, XRT_LIB);
    if (file_exists(p)) {
        tried1 = p;
        api->lib = dlopen(p, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    }
    if (!api->lib) {
        api->lib = dlopen(XRT_LIB, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        snprintf(api->path, sizeof api->path, "%s", XRT_LIB);
    } else {
        snprintf(api->path, sizeof api->path, "%s", p);
    }
    if (!api->lib)
        return snn_fail(SNN_ERR_DEVICE,
                        "cannot load the XRT library %s%s%s: %s (install XRT: `apt-get install "
                        "libxrt1` or AMD's xrt package)",
                        XRT_LIB, tried1 ? " (also tried " : "", tried1 ? ")" : "", dlerror());
#define X(f)                                                                                       \
    *(void **)&api->f = dlsym(api->lib, #f);                                                       \
    if (!api->f)                                                                                   \
        return snn_fail(SNN_ERR_DEVICE, "%s has no %s: this XRT is too old (need 2.9 or newer)",   \
                        api->path, #f);
    XRT_FUNCS(X)
#undef X
    *(void **)&api->set_arg_raw = dlsym(api->lib, "_Z13xrtRunSetArgVPviPKvm");
    return SNN_OK;
}

/* ---- cards visible to the xocl driver ---------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* PCIe functions bound to xocl (the user function of each card), sorted by
 * address: the order in which XRT numbers devices. Returns the count and
 * copies the BDF of `index` to bdf (empty if absent). */
static int xocl_devices(int index, char *bdf, size_t n)
{
    bdf[0] = 0;
    DIR *d = opendir("/sys/bus/pci/drivers/xocl");
    if (!d) return 0;
    char *names[64];
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) && k < 64)
        if (strchr(e->d_name, ':') && strchr(e->d_name, '.')) names[k++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)k, sizeof names[0], cmp_str);
    if (index >= 0 && index < k) snprintf(bdf, n, "%s", names[index]);
    for (int i = 0; i < k; i++)
        free(names[i]);
    return k;
}

/* ---- board power ----------------------------------------------------------- */

static int read_num(const char *path, double *v)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fscanf(f, "%lf", v) == 1;
    fclose(f);
    return ok;
}

/* First file matching <dir>/<prefix>*<rest> (one level of wildcard). */
static int find_node(const char *dir, const char *prefix, const char *rest, char *out, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        snprintf(out, n, "%s/%s%s", dir, e->d_name, rest);
        found = file_exists(out);
    }
    closedir(d);
    return found;
}

static int power_read_w(const power_sampler *p, double *w)
{
    double v;
    if (p->node[0]) {
        if (!read_num(p->node, &v)) return 0;
        *w = v * 1e-6; /* microwatts */
        return 1;
    }
    double sum = 0;
    for (int r = 0; r < p->n_rails; r++) {
        double mv, ma;
        if (!read_num(p->rails[r][0], &mv) || !read_num(p->rails[r][1], &ma)) return 0;
        sum += mv * ma * 1e-6;
    }
    *w = sum;
    return p->n_rails > 0;
}

/* Locate the power sensor of the card at `bdf`. MPBN_XRT_POWER_NODE names a
 * file in microwatts explicitly (another sensor, another driver). */
static int power_find(power_sampler *p, const char *bdf)
{
    const char *env = getenv("MPBN_XRT_POWER_NODE");
    if (env && *env) {
        snprintf(p->node, sizeof p->node, "%s", env);
        return file_exists(p->node);
    }
    if (!bdf[0]) return 0;
    char dev[256], sub[512];
    snprintf(dev, sizeof dev, "/sys/bus/pci/devices/%s", bdf);
    if (find_node(dev, "xmc.", "/xmc_power", p->node, sizeof p->node)) return 1;
    snprintf(sub, sizeof sub, "%s/hwmon", dev);
    if (find_node(sub, "hwmon", "/power1_input", p->node, sizeof p->node)) return 1;
    p->node[0] = 0;
    static const char *rails[3][2] = {{"xmc_12v_pex_vol", "xmc_12v_pex_curr"},
                                      {"xmc_12v_aux_vol", "xmc_12v_aux_curr"},
                                      {"xmc_3v3_pex_vol", "xmc_3v3_pex_curr"}};
    char xmc[512];
    DIR *d = opendir(dev);
    if (!d) return 0;
    struct dirent *e;
    xmc[0] = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "xmc.", 4) == 0) {
            snprintf(xmc, sizeof xmc, "%s/%s", dev, e->d_name);
            break;
        }
    closedir(d);
    if (!xmc[0]) return 0;
    p->n_rails = 0;
    for (int r = 0; r < 3; r++) {
        snprintf(p->rails[p->n_rails][0], 512, "%s/%s", xmc, rails[r][0]);
        snprintf(p->rails[p->n_rails][1], 512, "%s/%s", xmc, rails[r][1]);
        if (file_exists(p->rails[p->n_rails][0]) && file_exists(p->rails[p->n_rails][1]))
            p->n_rails++;
    }
    return p->n_rails > 0;
}

static void *power_thread(void *arg)
{
    power_sampler *p = arg;
    struct timespec ts = {0, POWER_PERIOD_NS};
    for (;;) {
        double w;
        int ok = power_read_w(p, &w);
        pthread_mutex_lock(&p->lock);
        int stop = p->stop;
        if (ok) {
            p->sum_w += w;
            p->n++;
            p->last_w = w;
        }
        pthread_mutex_unlock(&p->lock);
        if (stop) break;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void power_start(power_sampler *p, const char *bdf)
{
    double w;
    if (!power_find(p, bdf) || !power_read_w(p, &w)) return;
    pthread_mutex_init(&p->lock, NULL);
    p->stop = 0;
    if (pthread_create(&p->thread, NULL, power_thread, p) == 0)
        p->running = 1;
    else
        pthread_mutex_destroy(&p->lock);
}

static void power_stop(power_sampler *p)
{
    if (!p->running) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    p->running = 0;
}

/* ---- backend ---------------------------------------------------------------- */

static void xrt_close(snn_dev_t *dev);

/* The CU's register map must be this driver's (include/snn-regmap.h) and all
 * its pointer arguments must sit in one memory bank (both kernels have one
 * m_axi port; constraints/<card>.cfg maps it to one bank per CU). */
static snn_status check_cu(snn_dev_t *dev, xrt_cu *u)
{
    const xrt_ctx *c = dev->ctx;
    const char *xclbin = dev->opts.xclbin;
    static const uint32_t want[N_KARGS] = {SNN_REG_MODEL_LO, SNN_REG_IMAGES_LO, SNN_REG_RESULTS_LO,
                                           SNN_REG_TRACE_LO, SNN_REG_N_IMAGES};
    static const char *argname[N_KARGS] = {"model", "images", "results", "trace", "n_images"};
    for (int i = 0; i < N_KARGS; i++) {
        uint32_t off = c->api.xrtKernelArgOffset(u->kern, i);
        if (off != want[i])
            return snn_fail(SNN_ERR_DEVICE,
                            "kernel '%s' in '%s' has argument %d (%s) at register 0x%x, this "
                            "driver expects 0x%x (include/snn-regmap.h): rebuild the xclbin from "
                            "this source tree",
                            u->name, xclbin, i, argname[i], off, want[i]);
    }
    for (int i = 0; i < 4; i++) {
        int g = c->api.xrtKernelArgGroupId(u->kern, i);
        if (g < 0)
            return snn_fail(SNN_ERR_DEVICE,
                            "kernel '%s': argument %s is connected to no memory bank (check the "
                            "[connectivity] sp= lines of the v++ link, constraints/<card>.cfg)",
                            u->name, argname[i]);
        if (i == 0) u->group = g;
        if (g != u->group)
            return snn_fail(SNN_ERR_DEVICE,
                            "kernel '%s': argument %s is in memory group %d, model in %d; this "
                            "driver needs all arguments of a compute unit in one bank (one sp= "
                            "line per CU for m_axi_gmem, constraints/<card>.cfg)",
                            u->name, argname[i], g, u->group);
    }
    return SNN_OK;
}

static snn_status xrt_open(snn_dev_t *dev)
{
    xrt_ctx *c = snn_calloc(1, sizeof *c);
    if (!c) return SNN_ERR_NOMEM;
    dev->ctx = c;
    const snn_dev_opts *o = &dev->opts;
    char libdir[512];
    snn_status st = check_xclbin(o->xclbin, c);
    if (st == SNN_OK && o->device_index < 0)
        st = snn_fail(SNN_ERR_ARG,
                      "--device-index %d: must be 0 or more (`xbutil examine` lists "
                      "the cards and their indices)",
                      (int)o->device_index);
    if (st == SNN_OK) st = check_xrt_env(libdir, sizeof libdir);
    if (st == SNN_OK) st = load_api(&c->api, libdir);
    if (st != SNN_OK) {
        xrt_close(dev);
        return st;
    }
    const xrt_api *x = &c->api;
    const char *emu = getenv("XCL_EMULATION_MODE");
    int n_cards = xocl_devices(o->device_index, c->bdf, sizeof c->bdf);

    errno = 0;
    c->dev = x->xrtDeviceOpen((unsigned)o->device_index);
    if (!c->dev) {
        int e = errno;
        if (emu && *emu)
            st = snn_fail(SNN_ERR_DEVICE,
                          "XRT (%s) could not open emulated device %d: %s (check emconfig.json: "
                          "`emconfigutil --platform <PLATFORM> --nd N` makes N devices)",
                          emu, (int)o->device_index, e ? strerror(e) : "unknown error");
        else if (n_cards == 0)
            st = snn_fail(SNN_ERR_DEVICE,
                          "no Alveo card found: XRT could not open device %d (%s) and no PCIe "
                          "function is bound to the xocl driver (/sys/bus/pci/drivers/xocl). On a "
                          "machine with a card: install AMD's XRT and the card's deployment "
                          "platform, check `lspci -d 10ee:` and `xbutil examine` "
                          "(docs/running-on-alveo.md); without one, use --device ref, csim or sim",
                          (int)o->device_index, e ? strerror(e) : "unknown error");
        else if (o->device_index >= n_cards)
            st = snn_fail(SNN_ERR_DEVICE,
                          "--device-index %d is out of range: %d card%s bound to xocl (valid "
                          "indices 0..%d; `xbutil examine` lists them)",
                          (int)o->device_index, n_cards, n_cards == 1 ? "" : "s", n_cards - 1);
        else
            st = snn_fail(SNN_ERR_DEVICE,
                          "XRT could not open card %d (%s, PCIe %s): is it in use or not ready? "
                          "Check `xbutil examine -d %s` and `xbutil validate -d %s`; permissions "
                          "on /dev/dri/renderD*",
                          (int)o->device_index, e ? strerror(e) : "unknown error", c->bdf, c->bdf,
                          c->bdf);
        xrt_close(dev);
        return st;
    }

    errno = 0;
    int rc = x->xrtDeviceLoadXclbinFile(c->dev, o->xclbin);
    if (rc != 0) {
        int e = rc < 0 ? -rc : errno;
        st = snn_fail(SNN_ERR_DEVICE,
                      "XRT could not load '%s' on card %d: %s. The xclbin is built for platform "
                      "'%s'; the card must run that shell (`xbutil examine -d %s` shows it; `make "
                      "xclbin PLATFORM=...` rebuilds for another)",
                      o->xclbin, (int)o->device_index, e ? strerror(e) : "error",
                      c->xclbin_platform, c->bdf[0] ? c->bdf : "<bdf>");
        xrt_close(dev);
        return st;
    }
    xuid_t uuid;
    if (x->xrtDeviceGetXclbinUUID(c->dev, uuid) != 0) {
        xrt_close(dev);
        return snn_fail(SNN_ERR_DEVICE, "XRT: cannot read the UUID of the loaded xclbin");
    }
    /* One kernel handle per compute unit (nk= in constraints/<card>.cfg), so
     * runs can be sent to each CU with buffers in that CU's memory bank. An
     * xclbin whose IP_LAYOUT names none: one handle on the kernel. */
    int n = c->n_cu_names ? c->n_cu_names : 1;
    for (int i = 0; i < n; i++) {
        xrt_cu *u = &c->cu[i];
        if (c->n_cu_names)
            snprintf(u->name, sizeof u->name, "%s:{%s}", SNN_KERNEL_NAME, c->cu_names[i]);
        else
            snprintf(u->name, sizeof u->name, "%s", SNN_KERNEL_NAME);
        errno = 0;
        u->kern = x->xrtPLKernelOpen(c->dev, uuid, u->name);
        if (!u->kern) {
            int e = errno;
            st =
                snn_fail(SNN_ERR_DEVICE,
                         "xclbin '%s' has no usable kernel '%s' (%s): build it from this tree's "
                         "hls/ or rtl/ with `make xclbin`, or check `xclbinutil --info --input %s`",
                         o->xclbin, u->name, e ? strerror(e) : "not found", o->xclbin);
            xrt_close(dev);
            return st;
        }
        c->n_cu = i + 1;
        st = check_cu(dev, u);
        if (st != SNN_OK) {
            xrt_close(dev);
            return st;
        }
    }
    if (!(emu && *emu)) power_start(&c->pw, c->bdf);
    return SNN_OK;
}

static void xrt_bo_free(snn_dev_t *dev, snn_bo *bo);

static void xrt_close(snn_dev_t *dev)
{
    xrt_ctx *c = dev->ctx;
    if (!c) return;
    power_stop(&c->pw);
    const xrt_api *x = &c->api;
    for (int i = 0; i < c->n_cu; i++) {
        xrt_cu *u = &c->cu[i];
        if (u->null_trace) xrt_bo_free(dev, u->null_trace);
        for (int k = 0; k < MAX_RUNS; k++)
            if (u->run[k]) x->xrtRunClose(u->run[k]);
        if (u->kern) x->xrtKernelClose(u->kern);
    }
    if (c->dev) x->xrtDeviceClose(c->dev);
    /* The library stays loaded (RTLD_NODELETE): XRT keeps threads and static
     * state that must not be unmapped before exit. */
    free(c);
    dev->ctx = NULL;
}

/* Allocate the copy of bo in the bank of CU cu and fill it from src. */
static snn_status place_bo(snn_dev_t *dev, snn_bo *bo, int cu, const uint8_t *src)
{
    xrt_ctx *c = dev->ctx;
    const xrt_api *x = &c->api;
    errno = 0;
    bo->h[cu] = x->xrtBOAlloc(c->dev, bo->size ? bo->size : 64, 0, (xrtMemoryGroup)c->cu[cu].group);
    if (!bo->h[cu])
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT: cannot allocate %zu bytes of card memory in the bank of %s (memory "
                        "group %d): %s; lower --batch",
                        bo->size, c->cu[cu].name, c->cu[cu].group,
                        strerror(errno ? errno : ENOMEM));
    if (src && bo->size &&
        (x->xrtBOWrite(bo->h[cu], src, bo->size, 0) != 0 ||
         x->xrtBOSync(bo->h[cu], XCL_BO_SYNC_BO_TO_DEVICE, bo->size, 0) != 0)) {
        snn_status st = snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes to the card failed (%s)",
                                 bo->size, strerror(errno ? errno : EIO));
        x->xrtBOFree(bo->h[cu]);
        bo->h[cu] = NULL; /* not placed: a retry starts over */
        return st;
    }
    return SNN_OK;
}

static snn_status xrt_bo_alloc(snn_dev_t *dev, size_t bytes, snn_bo **out)
{
    xrt_ctx *c = dev->ctx;
    snn_bo *bo = snn_calloc(1, sizeof *bo);
    if (!bo) return SNN_ERR_NOMEM;
    bo->size = bytes;
    bo->cu = -1;
    snn_status st = SNN_OK;
    if (c->n_cu == 1) { /* one bank: place at once, no host copy */
        st = place_bo(dev, bo, 0, NULL);
        if (st == SNN_OK) bo->cu = 0;
    } else {
        bo->shadow = snn_calloc(1, bytes ? bytes : 1);
        if (!bo->shadow) st = SNN_ERR_NOMEM;
    }
    if (st != SNN_OK) {
        free(bo->shadow);
        free(bo);
        return st;
    }
    *out = bo;
    return SNN_OK;
}

static void xrt_bo_free(snn_dev_t *dev, snn_bo *bo)
{
    xrt_ctx *c = dev->ctx;
    if (!bo) return;
    for (int i = 0; i < MAX_CU; i++)
        if (bo->h[i]) c->api.xrtBOFree(bo->h[i]);
    free(bo->shadow);
    free(bo);
}

static snn_status range_check(const snn_bo *bo, size_t off, size_t n, const char *what)
{
    if (off > bo->size || n > bo->size - off)
        return snn_fail(SNN_ERR_ARG, "xrt: %s of %zu bytes at %zu past a %zu-byte buffer", what, n,
                        off, bo->size);
    return SNN_OK;
}

static snn_status write_copy(const xrt_api *x, xrtBufferHandle h, size_t off, const void *src,
                             size_t n)
{
    if (x->xrtBOWrite(h, src, n, off) != 0 ||
        x->xrtBOSync(h, XCL_BO_SYNC_BO_TO_DEVICE, n, off) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes to the card failed (%s)", n,
                        strerror(errno ? errno : EIO));
    return SNN_OK;
}

static snn_status xrt_bo_write(snn_dev_t *dev, snn_bo *bo, size_t off, const void *src, size_t n)
{
    xrt_ctx *c = dev->ctx;
    snn_status st = range_check(bo, off, n, "write");
    if (st != SNN_OK || n == 0) return st;
    if (bo->shadow) memcpy(bo->shadow + off, src, n);
    if (bo->replicated) {
        for (int i = 0; i < c->n_cu && st == SNN_OK; i++)
            if (bo->h[i]) st = write_copy(&c->api, bo->h[i], off, src, n);
        return st;
    }
    if (bo->cu >= 0) return write_copy(&c->api, bo->h[bo->cu], off, src, n);
    return SNN_OK;
}

static snn_status xrt_bo_read(snn_dev_t *dev, snn_bo *bo, size_t off, void *dst, size_t n)
{
    xrt_ctx *c = dev->ctx;
    snn_status st = range_check(bo, off, n, "read");
    if (st != SNN_OK || n == 0) return st;
    if (bo->cu < 0) {
        memcpy(dst, bo->shadow + off, n);
        return SNN_OK;
    }
    xrtBufferHandle h = bo->h[bo->cu];
    if (c->api.xrtBOSync(h, XCL_BO_SYNC_BO_FROM_DEVICE, n, off) != 0 ||
        c->api.xrtBORead(h, dst, n, off) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes from the card failed (%s)", n,
                        strerror(errno ? errno : EIO));
    return SNN_OK;
}

/* Make bo usable by CU cu: place it there on first use (its host copy goes
 * to the card); the model is replicated, a run buffer stays with one CU. */
static snn_status bind_bo(snn_dev_t *dev, snn_bo *bo, int cu, int replicate)
{
    if (replicate && bo->cu >= 0 && bo->cu != cu && !bo->replicated && bo->shadow == NULL)
        return snn_fail(SNN_ERR_DEVICE, "xrt: model buffer has no host copy to replicate");
    if (bo->h[cu]) {
        if (!replicate && bo->cu != cu)
            return snn_fail(SNN_ERR_DEVICE,
                            "xrt: a buffer of this run lives on another compute unit");
        return SNN_OK;
    }
    if (!replicate && bo->cu >= 0)
        return snn_fail(SNN_ERR_DEVICE, "xrt: a buffer of this run lives on another compute unit");
    snn_status st = place_bo(dev, bo, cu, bo->shadow);
    if (st != SNN_OK) return st;
    if (replicate) {
        bo->replicated = 1;
        if (bo->cu < 0) bo->cu = cu; /* reads (none for the model) use the first copy */
    } else {
        bo->cu = cu;
        free(bo->shadow);
        bo->shadow = NULL;
    }
    return SNN_OK;
}

static snn_status xrt_start(snn_dev_t *dev, const snn_kernel_args *a)
{
    xrt_ctx *c = dev->ctx;
    const xrt_api *x = &c->api;
    if (c->run_count >= MAX_RUNS)
        return snn_fail(SNN_ERR_DEVICE, "xrt: more than %d runs in flight", MAX_RUNS);
    /* The CU: where this buffer set already lives, else the next in turn. */
    int cu = a->images->cu;
    if (cu < 0) cu = c->next_cu++ % c->n_cu;
    xrt_cu *u = &c->cu[cu];
    int slot = -1;
    for (int k = 0; k < MAX_RUNS && slot < 0; k++)
        if (!u->busy[k]) slot = k;
    if (slot < 0) return snn_fail(SNN_ERR_DEVICE, "xrt: no free run on %s", u->name);
    if (!u->run[slot]) {
        u->run[slot] = x->xrtRunOpen(u->kern);
        if (!u->run[slot])
            return snn_fail(SNN_ERR_DEVICE, "XRT: cannot create a run of %s (%s)", u->name,
                            strerror(errno ? errno : EIO));
    }
    xrtRunHandle r = u->run[slot];

    snn_status st = bind_bo(dev, a->model, cu, c->n_cu > 1);
    if (st == SNN_OK) st = bind_bo(dev, a->images, cu, 0);
    if (st == SNN_OK) st = bind_bo(dev, a->results, cu, 0);
    if (st == SNN_OK && a->trace) st = bind_bo(dev, a->trace, cu, 0);
    if (st != SNN_OK) return st;
    int rc = x->xrtRunSetArg(r, 0, a->model->h[cu]);
    if (rc == 0) rc = x->xrtRunSetArg(r, 1, a->images->h[cu]);
    if (rc == 0) rc = x->xrtRunSetArg(r, 2, a->results->h[cu]);
    if (rc == 0 && a->trace) {
        rc = x->xrtRunSetArg(r, 3, a->trace->h[cu]);
    } else if (rc == 0 && x->set_arg_raw) {
        uint64_t zero = 0; /* trace address 0: the kernel writes no trace */
        rc = x->set_arg_raw(r, 3, &zero, sizeof zero);
    } else if (rc == 0) {
        /* No raw setter in this XRT: give the kernel a sink it may fill. */
        size_t need = (size_t)snn_trace_words(&dev->net) * 4u * a->n_images;
        if (u->null_trace && u->null_trace->size < need) {
            xrt_bo_free(dev, u->null_trace);
            u->null_trace = NULL;
        }
        if (!u->null_trace) {
            snn_bo *bo = snn_calloc(1, sizeof *bo);
            if (!bo) return SNN_ERR_NOMEM;
            bo->size = need;
            st = place_bo(dev, bo, cu, NULL);
            if (st != SNN_OK) {
                xrt_bo_free(dev, bo);
                return st;
            }
            bo->cu = cu;
            u->null_trace = bo;
        }
        rc = x->xrtRunSetArg(r, 3, u->null_trace->h[cu]);
    }
    if (rc == 0) rc = x->xrtRunSetArg(r, 4, (uint32_t)a->n_images);
    if (rc != 0)
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT: setting the arguments of %s failed (%s): a buffer is not in a "
                        "memory bank the kernel is connected to (constraints/<card>.cfg sp= lines)",
                        u->name, strerror(errno ? errno : EINVAL));
    if (x->xrtRunStart(r) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: starting %s failed (%s)", u->name,
                        strerror(errno ? errno : EIO));
    int tail = (c->run_head + c->run_count) % MAX_RUNS;
    c->fifo[tail].cu = cu;
    c->fifo[tail].slot = slot;
    c->run_count++;
    u->busy[slot] = 1;
    return SNN_OK;
}

static snn_status xrt_wait(snn_dev_t *dev, uint32_t timeout_ms, uint64_t *cycles)
{
    xrt_ctx *c = dev->ctx;
    *cycles = 0; /* the card has no cycle counter visible to the host */
    if (c->run_count == 0) return snn_fail(SNN_ERR_DEVICE, "xrt: wait without a run in flight");
    xrt_cu *u = &c->cu[c->fifo[c->run_head].cu];
    int slot = c->fifo[c->run_head].slot;
    enum ert_cmd_state s = c->api.xrtRunWaitFor(u->run[slot], timeout_ms);
    if (s == ERT_CMD_STATE_NEW || s == ERT_CMD_STATE_QUEUED || s == ERT_CMD_STATE_RUNNING ||
        s == ERT_CMD_STATE_SUBMITTED)
        return snn_fail(
            SNN_ERR_TIMEOUT,
            "%s did not finish within %u ms (state %d): the card may be hung; `xbutil "
            "examine -d %s -r dynamic-regions` shows the CU state, `xbutil reset -d %s` "
            "resets it; raise --timeout-ms for very large batches",
            u->name, timeout_ms, (int)s, c->bdf[0] ? c->bdf : "<bdf>",
            c->bdf[0] ? c->bdf : "<bdf>");
    c->run_head = (c->run_head + 1) % MAX_RUNS;
    c->run_count--;
    u->busy[slot] = 0;
    if (s != ERT_CMD_STATE_COMPLETED)
        return snn_fail(SNN_ERR_DEVICE, "%s: run ended in ERT state %d (error or abort)", u->name,
                        (int)s);
    return SNN_OK;
}

static snn_status xrt_power(snn_dev_t *dev, double *watts)
{
    xrt_ctx *c = dev->ctx;
    *watts = 0;
    if (!c->pw.running) return SNN_ERR_UNSUPPORTED;
    pthread_mutex_lock(&c->pw.lock);
    *watts = c->pw.n ? c->pw.sum_w / (double)c->pw.n : c->pw.last_w;
    c->pw.sum_w = 0;
    c->pw.n = 0;
    pthread_mutex_unlock(&c->pw.lock);
    return *watts > 0 ? SNN_OK : SNN_ERR_UNSUPPORTED;
}

const snn_dev_iface snn_dev_xrt = {
    .name = "xrt",
    .desc = "Alveo card through the XRT C API (--xclbin FILE, --device-index N)",
    .open = xrt_open,
    .close = xrt_close,
    .bo_alloc = xrt_bo_alloc,
    .bo_free = xrt_bo_free,
    .bo_write = xrt_bo_write,
    .bo_read = xrt_bo_read,
    .start = xrt_start,
    .wait = xrt_wait,
    .power = xrt_power,
    .max_inflight = MAX_RUNS,
};

#endif /* SNN_HAVE_XRT_HEADERS */
