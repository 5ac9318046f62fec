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
    return snn_fail(SNN_ERR_UNSUPPORTED,
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
#define XRT_FUNCS(X)                                                                           \
    X(xrtDeviceOpen)                                                                           \
    X(xrtDeviceClose)                                                                          \
    X(xrtDeviceLoadXclbinFile)                                                                 \
    X(xrtDeviceGetXclbinUUID)                                                                  \
    X(xrtPLKernelOpen)                                                                         \
    X(xrtKernelClose)                                                                          \
    X(xrtKernelArgGroupId)                                                                     \
    X(xrtKernelArgOffset)                                                                      \
    X(xrtRunOpen)                                                                              \
    X(xrtRunSetArg)                                                                            \
    X(xrtRunStart)                                                                             \
    X(xrtRunWaitFor)                                                                           \
    X(xrtRunClose)                                                                             \
    X(xrtBOAlloc)                                                                              \
    X(xrtBOFree)                                                                               \
    X(xrtBOWrite)                                                                              \
    X(xrtBORead)                                                                               \
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

struct snn_bo {
    xrtBufferHandle h; /* NULL until placed (mixed memory groups, see xrt_bo_alloc) */
    size_t size;
    uint8_t *shadow;   /* host copy while h is NULL */
};

typedef struct power_sampler {
    char node[512];    /* sysfs file, microwatts; or empty when rails are summed */
    char rails[3][2][512]; /* {voltage mV, current mA} files of the 12V PEX, 12V AUX, 3V3 PEX rails */
    int n_rails;
    pthread_t thread;
    pthread_mutex_t lock;
    int running;
    int stop;
    double sum_w;      /* since the last power() */
    uint64_t n;
    double last_w;
} power_sampler;

typedef struct xrt_ctx {
    xrt_api api;
    xrtDeviceHandle dev;
    xrtKernelHandle kern;
    xrtRunHandle run[2];
    int run_head, run_count; /* FIFO of runs in flight */
    int group[N_KARGS];
    int mixed_groups;        /* arguments live in different memory groups */
    snn_bo *null_trace;      /* when the raw setter is missing: a trace sink */
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
    case XCLBIN_FLAT: return "hw (flat)";
    case XCLBIN_PR: return "hw (partial reconfiguration)";
    case XCLBIN_TANDEM_STAGE2: return "hw (tandem stage 2)";
    case XCLBIN_TANDEM_STAGE2_WITH_PR: return "hw (tandem stage 2 + PR)";
    case XCLBIN_HW_EMU: return "hw_emu";
    case XCLBIN_SW_EMU: return "sw_emu";
    case XCLBIN_HW_EMU_PR: return "hw_emu (PR)";
    default: return "unknown";
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

/* The xclbin must exist, be an axlf container ("xclbin2"), be complete, and
 * be built for the mode XRT will run in (card or emulation). */
static snn_status check_xclbin(const char *path, xrt_ctx *c)
{
    if (!path || !*path)
        return snn_fail(SNN_ERR_ARG,
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
    FILE *f = fopen(path, "rb");
    if (!f) return snn_fail(SNN_ERR_IO, "xclbin '%s': %s", path, strerror(errno));
    struct axlf a;
    size_t got = fread(&a, 1, sizeof a, f);
    fclose(f);
    if (got < 8 || memcmp(a.m_magic, "xclbin2", 8) != 0)
        return snn_fail(SNN_ERR_FORMAT,
                        "'%s' is not an xclbin (no \"xclbin2\" magic at offset 0): pass the card "
                        "image that `v++ --link` wrote, not the kernel .xo or the deploy image .snn",
                        path);
    if (got < sizeof a)
        return snn_fail(SNN_ERR_FORMAT, "xclbin '%s' is truncated (%zu bytes, the header alone is %zu)",
                        path, got, sizeof a);
    if (a.m_header.m_length != (uint64_t)s.st_size)
        return snn_fail(SNN_ERR_FORMAT,
                        "xclbin '%s' is truncated or padded: its header says %llu bytes, the file "
                        "has %lld (copy it again)",
                        path, (unsigned long long)a.m_header.m_length, (long long)s.st_size);
    memcpy(c->xclbin_platform, a.m_header.m_platformVBNV, 64);
    c->xclbin_platform[64] = 0;
    if (!c->xclbin_platform[0]) snprintf(c->xclbin_platform, sizeof c->xclbin_platform, "<PLATFORM>");
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *need;
    int is_emu = xclbin_mode_is_emu(a.m_header.m_mode, &need);
    if (is_emu && (!emu || strcmp(emu, need) != 0))
        return snn_fail(SNN_ERR_ARG,
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
            return snn_fail(SNN_ERR_DEVICE,
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
#define X(f)                                                                                   \
    *(void **)&api->f = dlsym(api->lib, #f);                                                   \
    if (!api->f)                                                                               \
        return snn_fail(SNN_ERR_DEVICE, "%s has no %s: this XRT is too old (need 2.9 or newer)", \
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
    for (int i = 0; i < k; i++) free(names[i]);
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

static snn_status xrt_open(snn_dev_t *dev)
{
    xrt_ctx *c = snn_calloc(1, sizeof *c);
    if (!c) return SNN_ERR_NOMEM;
    dev->ctx = c;
    const snn_dev_opts *o = &dev->opts;
    char libdir[512];
    snn_status st = check_xclbin(o->xclbin, c);
    if (st == SNN_OK && o->device_index < 0)
        st = snn_fail(SNN_ERR_ARG, "--device-index %d: must be 0 or more (`xbutil examine` lists "
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
    c->kern = x->xrtPLKernelOpen(c->dev, uuid, SNN_KERNEL_NAME);
    if (!c->kern) {
        int e = errno;
        xrt_close(dev);
        return snn_fail(SNN_ERR_DEVICE,
                        "xclbin '%s' has no usable kernel '%s' (%s): build it from this tree's "
                        "hls/ or rtl/ with `make xclbin`, or check `xclbinutil --info --input %s`",
                        o->xclbin, SNN_KERNEL_NAME, e ? strerror(e) : "not found", o->xclbin);
    }
    /* The kernel's register map must be this driver's (driver/snn-regmap.h). */
    static const uint32_t want[N_KARGS] = {SNN_REG_MODEL_LO, SNN_REG_IMAGES_LO, SNN_REG_RESULTS_LO,
                                           SNN_REG_TRACE_LO, SNN_REG_N_IMAGES};
    static const char *argname[N_KARGS] = {"model", "images", "results", "trace", "n_images"};
    for (int i = 0; i < N_KARGS; i++) {
        uint32_t off = x->xrtKernelArgOffset(c->kern, i);
        if (off != want[i]) {
            xrt_close(dev);
            return snn_fail(SNN_ERR_DEVICE,
                            "kernel '%s' in '%s' has argument %d (%s) at register 0x%x, this "
                            "driver expects 0x%x (driver/snn-regmap.h): rebuild the xclbin from "
                            "this source tree",
                            SNN_KERNEL_NAME, o->xclbin, i, argname[i], off, want[i]);
        }
    }
    for (int i = 0; i < 4; i++) {
        c->group[i] = x->xrtKernelArgGroupId(c->kern, i);
        if (c->group[i] < 0) {
            xrt_close(dev);
            return snn_fail(SNN_ERR_DEVICE,
                            "kernel '%s': argument %s is connected to no memory bank (check the "
                            "[connectivity] sp= lines of the v++ link, constraints/<card>.cfg)",
                            SNN_KERNEL_NAME, argname[i]);
        }
        if (c->group[i] != c->group[0]) c->mixed_groups = 1;
    }
    for (int k = 0; k < 2; k++) {
        c->run[k] = x->xrtRunOpen(c->kern);
        if (!c->run[k]) {
            xrt_close(dev);
            return snn_fail(SNN_ERR_DEVICE, "XRT: cannot create a run of kernel '%s'",
                            SNN_KERNEL_NAME);
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
    if (c->null_trace) xrt_bo_free(dev, c->null_trace);
    for (int k = 0; k < 2; k++)
        if (c->run[k]) x->xrtRunClose(c->run[k]);
    if (c->kern) x->xrtKernelClose(c->kern);
    if (c->dev) x->xrtDeviceClose(c->dev);
    /* The library stays loaded (RTLD_NODELETE): XRT keeps threads and static
     * state that must not be unmapped before exit. */
    free(c);
    dev->ctx = NULL;
}

static snn_status place_bo(snn_dev_t *dev, snn_bo *bo, int group)
{
    xrt_ctx *c = dev->ctx;
    bo->h = c->api.xrtBOAlloc(c->dev, bo->size ? bo->size : 64, 0, (xrtMemoryGroup)group);
    if (!bo->h)
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT: cannot allocate %zu bytes of card memory in bank group %d (%s): "
                        "lower --batch",
                        bo->size, group, strerror(errno ? errno : ENOMEM));
    return SNN_OK;
}

/* The generic run loop allocates a buffer before it knows which argument it
 * will be. When all arguments share one memory group (every constraints/<card>.cfg
 * does that per compute unit) the buffer is placed at once; otherwise it is
 * kept on the host until start() binds it to its argument's group. */
static snn_status xrt_bo_alloc(snn_dev_t *dev, size_t bytes, snn_bo **out)
{
    xrt_ctx *c = dev->ctx;
    snn_bo *bo = snn_calloc(1, sizeof *bo);
    if (!bo) return SNN_ERR_NOMEM;
    bo->size = bytes;
    snn_status st;
    if (!c->mixed_groups) {
        st = place_bo(dev, bo, c->group[0]);
    } else {
        bo->shadow = snn_calloc(1, bytes ? bytes : 1);
        st = bo->shadow ? SNN_OK : SNN_ERR_NOMEM;
    }
    if (st != SNN_OK) {
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
    if (bo->h) c->api.xrtBOFree(bo->h);
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

static snn_status xrt_bo_write(snn_dev_t *dev, snn_bo *bo, size_t off, const void *src, size_t n)
{
    xrt_ctx *c = dev->ctx;
    snn_status st = range_check(bo, off, n, "write");
    if (st != SNN_OK || n == 0) return st;
    if (!bo->h) {
        memcpy(bo->shadow + off, src, n);
        return SNN_OK;
    }
    if (c->api.xrtBOWrite(bo->h, src, n, off) != 0 ||
        c->api.xrtBOSync(bo->h, XCL_BO_SYNC_BO_TO_DEVICE, n, off) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes to the card failed (%s)", n,
                        strerror(errno ? errno : EIO));
    return SNN_OK;
}

static snn_status xrt_bo_read(snn_dev_t *dev, snn_bo *bo, size_t off, void *dst, size_t n)
{
    xrt_ctx *c = dev->ctx;
    snn_status st = range_check(bo, off, n, "read");
    if (st != SNN_OK || n == 0) return st;
    if (!bo->h) {
        memcpy(dst, bo->shadow + off, n);
        return SNN_OK;
    }
    if (c->api.xrtBOSync(bo->h, XCL_BO_SYNC_BO_FROM_DEVICE, n, off) != 0 ||
        c->api.xrtBORead(bo->h, dst, n, off) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes from the card failed (%s)", n,
                        strerror(errno ? errno : EIO));
    return SNN_OK;
}

/* Move a host-held buffer into its argument's memory group (first use only). */
static snn_status bind_bo(snn_dev_t *dev, snn_bo *bo, int argno)
{
    if (bo->h) return SNN_OK;
    xrt_ctx *c = dev->ctx;
    snn_status st = place_bo(dev, bo, c->group[argno]);
    if (st != SNN_OK) return st;
    if (c->api.xrtBOWrite(bo->h, bo->shadow, bo->size, 0) != 0 ||
        c->api.xrtBOSync(bo->h, XCL_BO_SYNC_BO_TO_DEVICE, bo->size, 0) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes to the card failed", bo->size);
    free(bo->shadow);
    bo->shadow = NULL;
    return SNN_OK;
}

static snn_status xrt_start(snn_dev_t *dev, const snn_kernel_args *a)
{
    xrt_ctx *c = dev->ctx;
    const xrt_api *x = &c->api;
    if (c->run_count >= 2) return snn_fail(SNN_ERR_DEVICE, "xrt: more than two runs in flight");
    xrtRunHandle r = c->run[(c->run_head + c->run_count) % 2];
    snn_bo *bos[3] = {a->model, a->images, a->results};
    snn_status st = SNN_OK;
    for (int i = 0; i < 3 && st == SNN_OK; i++) st = bind_bo(dev, bos[i], i);
    if (st != SNN_OK) return st;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) rc = x->xrtRunSetArg(r, i, bos[i]->h);
    if (rc == 0 && a->trace) {
        st = bind_bo(dev, a->trace, 3);
        if (st != SNN_OK) return st;
        rc = x->xrtRunSetArg(r, 3, a->trace->h);
    } else if (rc == 0 && x->set_arg_raw) {
        uint64_t zero = 0; /* trace address 0: the kernel writes no trace */
        rc = x->set_arg_raw(r, 3, &zero, sizeof zero);
    } else if (rc == 0) {
        /* No raw setter in this XRT: give the kernel a sink it may fill. */
        size_t need = (size_t)snn_trace_words(&dev->net) * 4u * a->n_images;
        if (c->null_trace && c->null_trace->size < need) {
            xrt_bo_free(dev, c->null_trace);
            c->null_trace = NULL;
        }
        if (!c->null_trace) {
            snn_bo *bo = snn_calloc(1, sizeof *bo);
            if (!bo) return SNN_ERR_NOMEM;
            bo->size = need;
            st = place_bo(dev, bo, c->group[3]);
            if (st != SNN_OK) {
                free(bo);
                return st;
            }
            c->null_trace = bo;
        }
        rc = x->xrtRunSetArg(r, 3, c->null_trace->h);
    }
    if (rc == 0) rc = x->xrtRunSetArg(r, 4, (uint32_t)a->n_images);
    if (rc != 0)
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT: setting the arguments of '%s' failed (%s): a buffer is not in a "
                        "memory bank the kernel is connected to (constraints/<card>.cfg sp= lines)",
                        SNN_KERNEL_NAME, strerror(errno ? errno : EINVAL));
    if (x->xrtRunStart(r) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: starting kernel '%s' failed (%s)", SNN_KERNEL_NAME,
                        strerror(errno ? errno : EIO));
    c->run_count++;
    return SNN_OK;
}

static snn_status xrt_wait(snn_dev_t *dev, uint32_t timeout_ms, uint64_t *cycles)
{
    xrt_ctx *c = dev->ctx;
    *cycles = 0; /* the card has no cycle counter visible to the host */
    if (c->run_count == 0) return snn_fail(SNN_ERR_DEVICE, "xrt: wait without a run in flight");
    xrtRunHandle r = c->run[c->run_head];
    enum ert_cmd_state s = c->api.xrtRunWaitFor(r, timeout_ms);
    if (s == ERT_CMD_STATE_NEW || s == ERT_CMD_STATE_QUEUED || s == ERT_CMD_STATE_RUNNING ||
        s == ERT_CMD_STATE_SUBMITTED)
        return snn_fail(SNN_ERR_TIMEOUT,
                        "kernel '%s' did not finish within %u ms (state %d): the card may be hung; "
                        "`xbutil examine -d %s -r dynamic-regions` shows the CU state, `xbutil "
                        "reset -d %s` resets it; raise --timeout for very large batches",
                        SNN_KERNEL_NAME, timeout_ms, (int)s, c->bdf[0] ? c->bdf : "<bdf>",
                        c->bdf[0] ? c->bdf : "<bdf>");
    c->run_head = (c->run_head + 1) % 2;
    c->run_count--;
    if (s != ERT_CMD_STATE_COMPLETED)
        return snn_fail(SNN_ERR_DEVICE, "kernel '%s' run ended in ERT state %d (error/abort)",
                        SNN_KERNEL_NAME, (int)s);
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
    .max_inflight = 2,
};

#endif /* SNN_HAVE_XRT_HEADERS */
