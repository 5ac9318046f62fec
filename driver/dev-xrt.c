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
 *     start  xrtRunSetArg(model, images, results, trace, n_images[, flags]) +
 *            xrtRunStart; flags (the RTL kernel, which keeps the model on
 *            chip) = SNN_FLAG_RELOAD when the model was written since the CU
 *            last ran it
 *     wait   xrtRunWaitFor(timeout) on the oldest run in flight
 *
 * Why dlopen and not -lxrt_coreutil: build/mpbn stays one binary that runs
 * everywhere (CI machines, laptops without XRT), and when XRT is missing or
 * misconfigured the user gets a message naming the missing piece instead of
 * a loader error before main(). The XRT headers from libxrt-dev still type
 * every entry point (__typeof__), so a changed prototype fails the build.
 *
 * Before XRT is touched, xrt-preflight.c checks the xclbin and the XRT
 * installation (XRT aborts or crashes on several mistakes there); the card's
 * power comes from the sysfs sampler of board-power.c. What these files
 * share: xrt-internal.h.
 */
#include <errno.h>
#include <string.h>

#include "snn-regmap.h"
#include "xrt-internal.h"

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

#define N_KARGS 5 /* model, images, results, trace, n_images */

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
    uint64_t wgen;   /* context-wide number of its last allocation or write */
};

typedef struct xrt_cu {
    char name[96]; /* "snn_kernel:{snn_kernel_1}" */
    xrtKernelHandle kern;
    int group; /* memory group of its m_axi port, i.e. of every argument */
    xrtRunHandle run[MAX_RUNS];
    int busy[MAX_RUNS];
    snn_bo *null_trace; /* when the raw setter is missing: a trace sink */
    /* The RTL kernel keeps the model on chip (argument 5, flags): it loads it
     * again for a new address, and for the same address only when told
     * (SNN_FLAG_RELOAD). The model copy and write this CU last started with. */
    int has_flags;
    xrtBufferHandle last_model;
    uint64_t last_gen;
} xrt_cu;

typedef struct xrt_ctx {
    xrt_api api;
    xrtDeviceHandle dev;
    xrt_cu cu[MAX_CU];
    int n_cu;
    int next_cu; /* round robin over CUs for new buffer sets */
    uint64_t wgen; /* buffer allocations and writes so far (snn_bo.wgen) */
    struct {
        int cu, slot;
    } fifo[MAX_RUNS]; /* runs in flight, oldest first */
    int run_head, run_count;
    xrt_xclbin_info xclbin;
    char bdf[64];
    power_sampler pw;
} xrt_ctx;

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
    /* the RTL kernel has a sixth argument, the flags register */
    u->has_flags = c->api.xrtKernelArgOffset(u->kern, 5) == SNN_REG_FLAGS;
    return SNN_OK;
}

static snn_status xrt_open(snn_dev_t *dev)
{
    xrt_ctx *c = snn_calloc(1, sizeof *c);
    if (!c) return SNN_ERR_NOMEM;
    dev->ctx = c;
    const snn_dev_opts *o = &dev->opts;
    char libdir[512];
    snn_status st = xrt_check_xclbin(o->xclbin, &c->xclbin);
    if (st == SNN_OK && o->device_index < 0)
        st = snn_fail(SNN_ERR_ARG,
                      "--device-index %d: must be 0 or more (`xbutil examine` lists "
                      "the cards and their indices)",
                      (int)o->device_index);
    if (st == SNN_OK) st = xrt_check_env(libdir, sizeof libdir);
    if (st == SNN_OK) st = xrt_load_api(&c->api, libdir);
    if (st != SNN_OK) {
        xrt_close(dev);
        return st;
    }
    const xrt_api *x = &c->api;
    const char *emu = getenv("XCL_EMULATION_MODE");
    int n_cards = xrt_xocl_devices(o->device_index, c->bdf, sizeof c->bdf);

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
                      c->xclbin.platform, c->bdf[0] ? c->bdf : "<bdf>");
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
    int n = c->xclbin.n_cu_names ? c->xclbin.n_cu_names : 1;
    for (int i = 0; i < n; i++) {
        xrt_cu *u = &c->cu[i];
        if (c->xclbin.n_cu_names)
            snprintf(u->name, sizeof u->name, "%s:{%s}", SNN_KERNEL_NAME, c->xclbin.cu_names[i]);
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
    if (!(emu && *emu)) board_power_start(&c->pw, c->bdf);
    return SNN_OK;
}

static void xrt_bo_free(snn_dev_t *dev, snn_bo *bo);

static void xrt_close(snn_dev_t *dev)
{
    xrt_ctx *c = dev->ctx;
    if (!c) return;
    board_power_stop(&c->pw);
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
    bo->wgen = ++c->wgen;
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
    bo->wgen = ++c->wgen;
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
    /* a model written since this CU last ran it, even at the same address */
    int reload = u->last_model != a->model->h[cu] || u->last_gen != a->model->wgen;
    if (rc == 0 && u->has_flags) rc = x->xrtRunSetArg(r, 5, reload ? SNN_FLAG_RELOAD : 0u);
    if (rc != 0)
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT: setting the arguments of %s failed (%s): a buffer is not in a "
                        "memory bank the kernel is connected to (constraints/<card>.cfg sp= lines)",
                        u->name, strerror(errno ? errno : EINVAL));
    if (x->xrtRunStart(r) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: starting %s failed (%s)", u->name,
                        strerror(errno ? errno : EIO));
    u->last_model = a->model->h[cu];
    u->last_gen = a->model->wgen;
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
    *watts = board_power_mean(&c->pw);
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
