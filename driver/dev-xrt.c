/*
 * dev-xrt.c - the `xrt` backend: an Alveo card through the XRT C API
 * (xrtDevice*, xrtPLKernel*, xrtRun*, xrtBO*), the same buffer and run model
 * the other backends mirror.
 *
 *     open   check --xclbin, XILINX_XRT and the shim library, dlopen XRT;
 *            per card (--device-index N, or --cards all|LIST): xrtDeviceOpen,
 *            xrtDeviceLoadXclbinFile, xrtPLKernelOpen per compute unit
 *            ("snn_kernel:{snn_kernel_N}"), memory group of every argument,
 *            board-power sampler; two runs in flight per CU of every card
 *            (snn_dev.inflight)
 *     bo     xrtBOAlloc in the memory group of the CU that uses it, on its
 *            card; write = xrtBOWrite + xrtBOSync(to device); read =
 *            xrtBOSync(from device) + xrtBORead
 *     start  xrtRunSetArg(model, images, results, trace, n_images[, flags]) +
 *            xrtRunStart; flags (the RTL kernel, which keeps the model on
 *            chip) = SNN_FLAG_RELOAD when the model was written since the CU
 *            last ran it
 *     wait   xrtRunWaitFor(timeout) on the oldest run in flight; a run that
 *            does not end in time is reported with its card and CU
 *
 * Several cards are one device: the compute units of all of them form one
 * list, buffer sets are dealt out CU 0 of every card, CU 1 of every card,
 * ..., and each set stays with its CU, so batch b runs on CU b mod (cards x
 * CUs); every CU holds its own copy of the model, written once per model.
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

#define MAX_CARDS SNN_DEV_MAX_CARDS
#define MAX_CU_ALL (MAX_CARDS * MAX_CU) /* compute units of every card opened */
#define MAX_RUNS_CU 4                   /* runs in flight on one compute unit */

/* A buffer lives in the memory bank of the compute unit that uses it, on that
 * CU's card. The run loop allocates buffers before any run says which CU they
 * are for, so with several CUs a buffer stays on the host (shadow) until its
 * first run places it; the model, read by every CU, gets one copy per CU (in
 * the CU's bank of the CU's card), written once per model: the weights stay
 * resident there for every later run. h[] is indexed by the CU's number
 * over all cards (xrt_ctx.cu). */
struct snn_bo {
    xrtBufferHandle h[MAX_CU_ALL];
    int cu;         /* CU whose bank holds it; -1 = not placed yet */
    int replicated; /* the model: h[c] for every CU c that has run */
    size_t size;
    uint8_t *shadow; /* host copy until placed (replicated: kept for new CUs) */
    uint64_t wgen;   /* context-wide number of its last allocation or write */
};

typedef struct xrt_cu {
    char name[96]; /* "snn_kernel:{snn_kernel_1}" */
    int card;      /* its card: position in xrt_ctx.card */
    xrtKernelHandle kern;
    int group; /* memory group of its m_axi port, i.e. of every argument */
    xrtRunHandle run[MAX_RUNS_CU];
    int busy[MAX_RUNS_CU];
    snn_bo *null_trace; /* when the raw setter is missing: a trace sink */
    /* The RTL kernel keeps the model on chip (argument 5, flags): it loads it
     * again for a new address, and for the same address only when told
     * (SNN_FLAG_RELOAD). The model copy and write this CU last started with. */
    int has_flags;
    xrtBufferHandle last_model;
    uint64_t last_gen;
} xrt_cu;

typedef struct xrt_card {
    int index; /* XRT's device index (--cards, --device-index) */
    xrtDeviceHandle dev;
    char bdf[64];
    int first_cu, n_cu; /* its compute units in xrt_ctx.cu */
    power_sampler pw;
    uint64_t images, runs;
    double joules, power_seconds;
} xrt_card;

typedef struct xrt_ctx {
    xrt_api api;
    xrt_card card[MAX_CARDS];
    int n_cards;
    xrt_cu cu[MAX_CU_ALL];
    int n_cu; /* over all cards */
    /* New buffer sets go to the CUs in this order: CU 0 of every card, then
     * CU 1 of every card, ..., so that a few batches already reach every card. */
    int order[MAX_CU_ALL];
    int next_cu;
    uint64_t wgen; /* buffer allocations and writes so far (snn_bo.wgen) */
    struct {
        int cu, slot;
        uint32_t n_images;
    } fifo[SNN_DEV_MAX_INFLIGHT]; /* runs in flight, oldest first */
    int run_head, run_count;
    double t_power; /* time of the last power() or of the start of the runs */
    xrt_xclbin_info xclbin;
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

/* The message for xrtDeviceOpen(index) failing with errno e. n_sys: cards
 * bound to xocl; opened: cards of this device opened before this one. */
static snn_status open_failed(const xrt_ctx *c, const snn_dev_opts *o, int index, int e, int n_sys,
                              const char *bdf)
{
    const char *emu = getenv("XCL_EMULATION_MODE");
    const char *why = e ? strerror(e) : "unknown error";
    const char *opt = o->cards.all || o->cards.n ? "--cards" : "--device-index";
    if (emu && *emu)
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT (%s) could not open emulated device %d: %s (check emconfig.json: "
                        "`emconfigutil --platform <PLATFORM> --nd N` makes N devices)",
                        emu, index, why);
    if (n_sys == 0 && c->n_cards == 0)
        return snn_fail(SNN_ERR_DEVICE,
                        "no Alveo card found: XRT could not open device %d (%s) and no PCIe "
                        "function is bound to the xocl driver (/sys/bus/pci/drivers/xocl). On a "
                        "machine with a card: install AMD's XRT and the card's deployment "
                        "platform, check `lspci -d 10ee:` and `xbutil examine` "
                        "(docs/running-on-alveo.md); without one, use --device ref, csim or sim",
                        index, why);
    if (n_sys > 0 && index >= n_sys)
        return snn_fail(SNN_ERR_DEVICE,
                        "%s: card %d is out of range: %d card%s bound to xocl (valid indices "
                        "0..%d; `xbutil examine` lists them)",
                        opt, index, n_sys, n_sys == 1 ? "" : "s", n_sys - 1);
    if (n_sys == 0)
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT could not open card %d (%s) after opening %d other card%s: is card "
                        "%d present (`xbutil examine` lists the cards, indices from 0) and not "
                        "in use?",
                        index, why, c->n_cards, c->n_cards == 1 ? "" : "s", index);
    return snn_fail(SNN_ERR_DEVICE,
                    "XRT could not open card %d (%s, PCIe %s): is it in use or not ready? "
                    "Check `xbutil examine -d %s` and `xbutil validate -d %s`; permissions "
                    "on /dev/dri/renderD*",
                    index, why, bdf, bdf, bdf);
}

/* Open card `index`, load the xclbin on it and open its compute units: the
 * next entry of c->card. *absent = 1 when XRT has no such device (for --cards
 * all without sysfs: the end of the list); a device that exists but fails
 * to open (busy, no permission) is an error. */
static snn_status open_card(snn_dev_t *dev, int index, int n_sys, int *absent)
{
    xrt_ctx *c = dev->ctx;
    const xrt_api *x = &c->api;
    const snn_dev_opts *o = &dev->opts;
    xrt_card *k = &c->card[c->n_cards];
    memset(k, 0, sizeof *k);
    k->index = index;
    k->first_cu = c->n_cu;
    *absent = 0;
    xrt_xocl_devices(index, k->bdf, sizeof k->bdf);
    errno = 0;
    k->dev = x->xrtDeviceOpen((unsigned)index);
    if (!k->dev) {
        int e = errno;
        /* no such device (rather than one that is busy or broken) */
        *absent = e == 0 || e == ENOENT || e == ENODEV || e == ENXIO || e == EINVAL;
        return open_failed(c, o, index, e, n_sys, k->bdf);
    }
    c->n_cards++; /* closed by xrt_close from here on */
    errno = 0;
    int rc = x->xrtDeviceLoadXclbinFile(k->dev, o->xclbin);
    if (rc != 0) {
        int e = rc < 0 ? -rc : errno;
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT could not load '%s' on card %d: %s. The xclbin is built for "
                        "platform '%s'; the card must run that shell (`xbutil examine -d %s` "
                        "shows it; `make xclbin PLATFORM=...` rebuilds for another)",
                        o->xclbin, index, e ? strerror(e) : "error", c->xclbin.platform,
                        k->bdf[0] ? k->bdf : "<bdf>");
    }
    xuid_t uuid;
    if (x->xrtDeviceGetXclbinUUID(k->dev, uuid) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: cannot read the UUID of the xclbin loaded on card %d",
                        index);
    /* One kernel handle per compute unit (nk= in constraints/<card>.cfg), so
     * runs can be sent to each CU with buffers in that CU's memory bank. An
     * xclbin whose IP_LAYOUT names none: one handle on the kernel. */
    int n = c->xclbin.n_cu_names ? c->xclbin.n_cu_names : 1;
    for (int i = 0; i < n; i++) {
        xrt_cu *u = &c->cu[c->n_cu];
        u->card = c->n_cards - 1;
        if (c->xclbin.n_cu_names)
            snprintf(u->name, sizeof u->name, "%s:{%s}", SNN_KERNEL_NAME, c->xclbin.cu_names[i]);
        else
            snprintf(u->name, sizeof u->name, "%s", SNN_KERNEL_NAME);
        errno = 0;
        u->kern = x->xrtPLKernelOpen(k->dev, uuid, u->name);
        if (!u->kern) {
            int e = errno;
            return snn_fail(
                SNN_ERR_DEVICE,
                "card %d: xclbin '%s' has no usable kernel '%s' (%s): build it from this tree's "
                "hls/ or rtl/ with `make xclbin`, or check `xclbinutil --info --input %s`",
                index, o->xclbin, u->name, e ? strerror(e) : "not found", o->xclbin);
        }
        c->n_cu++;
        k->n_cu++;
        snn_status st = check_cu(dev, u);
        if (st != SNN_OK) return snn_fail_context(st, "card %d", index);
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
    snn_status st = xrt_check_xclbin(o->xclbin, &c->xclbin);
    if (st == SNN_OK && o->device_index < 0)
        st = snn_fail(SNN_ERR_ARG,
                      "--device-index %d: must be 0 or more (`xbutil examine` lists "
                      "the cards and their indices)",
                      (int)o->device_index);
    if (st == SNN_OK && o->cards.n > SNN_DEV_MAX_CARDS)
        st = snn_fail(SNN_ERR_ARG, "--cards: more than %d cards", SNN_DEV_MAX_CARDS);
    for (uint32_t i = 0; st == SNN_OK && i < o->cards.n; i++) { /* as snn_dev_cards_parse */
        if (o->cards.list[i] < 0 || o->cards.list[i] > SNN_DEV_MAX_CARD_INDEX)
            st = snn_fail(SNN_ERR_ARG, "--cards: %d is not a card index (0..%d)",
                          (int)o->cards.list[i], SNN_DEV_MAX_CARD_INDEX);
        for (uint32_t j = 0; st == SNN_OK && j < i; j++)
            if (o->cards.list[j] == o->cards.list[i])
                st = snn_fail(SNN_ERR_ARG, "--cards: card %d is listed twice",
                              (int)o->cards.list[i]);
    }
    if (st == SNN_OK) st = xrt_check_env(libdir, sizeof libdir);
    if (st == SNN_OK) st = xrt_load_api(&c->api, libdir);
    if (st != SNN_OK) {
        xrt_close(dev);
        return st;
    }
    const char *emu = getenv("XCL_EMULATION_MODE");
    char none[8];
    int n_sys = xrt_xocl_devices(-1, none, sizeof none);

    /* The cards: --cards LIST, --cards all (every card bound to xocl; without
     * sysfs, in emulation: indices from 0 until one does not open), or the
     * one of --device-index. */
    int absent = 0;
    if (o->cards.all) {
        if (n_sys > MAX_CARDS) {
            xrt_close(dev);
            return snn_fail(SNN_ERR_ARG,
                            "--cards all: %d cards are bound to xocl, one device opens at most "
                            "%d: list them (--cards 0,1,...)",
                            n_sys, MAX_CARDS);
        }
        int n_try = n_sys > 0 ? n_sys : MAX_CARDS;
        for (int i = 0; i < n_try && st == SNN_OK; i++) {
            st = open_card(dev, i, n_sys, &absent);
            if (st != SNN_OK && absent && n_sys == 0 && c->n_cards > 0) {
                st = SNN_OK; /* probing: the first index that does not open ends the list */
                break;
            }
        }
    } else if (o->cards.n) {
        for (uint32_t i = 0; i < o->cards.n && st == SNN_OK; i++)
            st = open_card(dev, o->cards.list[i], n_sys, &absent);
    } else {
        st = open_card(dev, o->device_index, n_sys, &absent);
    }
    if (st != SNN_OK) {
        xrt_close(dev);
        return st;
    }
    int k = 0;
    for (int j = 0; j < MAX_CU; j++)
        for (int p = 0; p < c->n_cards; p++)
            if (j < c->card[p].n_cu) c->order[k++] = c->card[p].first_cu + j;
    /* Two buffer sets per CU (one running, one being filled or read), so that
     * every CU of every card has work; one CU keeps the four of the interface. */
    uint32_t depth = 2u * (uint32_t)c->n_cu;
    if (depth < MAX_RUNS_CU) depth = MAX_RUNS_CU;
    dev->inflight = depth > SNN_DEV_MAX_INFLIGHT ? SNN_DEV_MAX_INFLIGHT : depth;
    if (!(emu && *emu))
        for (int p = 0; p < c->n_cards; p++)
            board_power_start(&c->card[p].pw, c->card[p].bdf, p);
    return SNN_OK;
}

static void xrt_bo_free(snn_dev_t *dev, snn_bo *bo);

static void xrt_close(snn_dev_t *dev)
{
    xrt_ctx *c = dev->ctx;
    if (!c) return;
    for (int p = 0; p < c->n_cards; p++)
        board_power_stop(&c->card[p].pw);
    const xrt_api *x = &c->api;
    for (int i = 0; i < c->n_cu; i++) {
        xrt_cu *u = &c->cu[i];
        if (u->null_trace) xrt_bo_free(dev, u->null_trace);
        for (int k = 0; k < MAX_RUNS_CU; k++)
            if (u->run[k]) x->xrtRunClose(u->run[k]);
        if (u->kern) x->xrtKernelClose(u->kern);
    }
    for (int p = 0; p < c->n_cards; p++)
        if (c->card[p].dev) x->xrtDeviceClose(c->card[p].dev);
    /* The library stays loaded (RTLD_NODELETE): XRT keeps threads and static
     * state that must not be unmapped before exit. */
    free(c);
    dev->ctx = NULL;
}

/* Allocate the copy of bo in the bank of CU cu (on its card) and fill it from src. */
static snn_status place_bo(snn_dev_t *dev, snn_bo *bo, int cu, const uint8_t *src)
{
    xrt_ctx *c = dev->ctx;
    const xrt_api *x = &c->api;
    const xrt_card *k = &c->card[c->cu[cu].card];
    errno = 0;
    bo->h[cu] = x->xrtBOAlloc(k->dev, bo->size ? bo->size : 64, 0, (xrtMemoryGroup)c->cu[cu].group);
    if (!bo->h[cu])
        return snn_fail(SNN_ERR_DEVICE,
                        "XRT: cannot allocate %zu bytes of memory on card %d in the bank of %s "
                        "(memory group %d): %s; lower --batch",
                        bo->size, k->index, c->cu[cu].name, c->cu[cu].group,
                        strerror(errno ? errno : ENOMEM));
    if (src && bo->size &&
        (x->xrtBOWrite(bo->h[cu], src, bo->size, 0) != 0 ||
         x->xrtBOSync(bo->h[cu], XCL_BO_SYNC_BO_TO_DEVICE, bo->size, 0) != 0)) {
        snn_status st = snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes to card %d failed (%s)",
                                 bo->size, k->index, strerror(errno ? errno : EIO));
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
    for (int i = 0; i < MAX_CU_ALL; i++)
        if (bo->h[i]) c->api.xrtBOFree(bo->h[i]);
    free(bo->shadow);
    free(bo);
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
    snn_status st = snn_bo_range_check(dev, "write", off, n, bo->size);
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
    snn_status st = snn_bo_range_check(dev, "read", off, n, bo->size);
    if (st != SNN_OK || n == 0) return st;
    if (bo->cu < 0) {
        memcpy(dst, bo->shadow + off, n);
        return SNN_OK;
    }
    xrtBufferHandle h = bo->h[bo->cu];
    if (c->api.xrtBOSync(h, XCL_BO_SYNC_BO_FROM_DEVICE, n, off) != 0 ||
        c->api.xrtBORead(h, dst, n, off) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: copying %zu bytes from card %d failed (%s)", n,
                        c->card[c->cu[bo->cu].card].index, strerror(errno ? errno : EIO));
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
    if (c->run_count >= SNN_DEV_MAX_INFLIGHT)
        return snn_fail(SNN_ERR_DEVICE, "xrt: more than %d runs in flight", SNN_DEV_MAX_INFLIGHT);
    /* The CU: where this buffer set already lives, else the next in turn
     * (CU 0 of every card, CU 1 of every card, ...). */
    int cu = a->images->cu;
    if (cu < 0) cu = c->order[c->next_cu++ % c->n_cu];
    xrt_cu *u = &c->cu[cu];
    const xrt_card *k = &c->card[u->card];
    int slot = -1;
    for (int s = 0; s < MAX_RUNS_CU && slot < 0; s++)
        if (!u->busy[s]) slot = s;
    if (slot < 0)
        return snn_fail(SNN_ERR_DEVICE, "xrt: no free run on card %d, %s", k->index, u->name);
    if (!u->run[slot]) {
        u->run[slot] = x->xrtRunOpen(u->kern);
        if (!u->run[slot])
            return snn_fail(SNN_ERR_DEVICE, "XRT: cannot create a run of %s on card %d (%s)",
                            u->name, k->index, strerror(errno ? errno : EIO));
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
                        "XRT: setting the arguments of %s on card %d failed (%s): a buffer is not "
                        "in a memory bank the kernel is connected to (constraints/<card>.cfg sp= "
                        "lines)",
                        u->name, k->index, strerror(errno ? errno : EINVAL));
    if (c->run_count == 0) c->t_power = snn_now(); /* power is accounted from here */
    if (x->xrtRunStart(r) != 0)
        return snn_fail(SNN_ERR_DEVICE, "XRT: starting %s on card %d failed (%s)", u->name,
                        k->index, strerror(errno ? errno : EIO));
    u->last_model = a->model->h[cu];
    u->last_gen = a->model->wgen;
    int tail = (c->run_head + c->run_count) % SNN_DEV_MAX_INFLIGHT;
    c->fifo[tail].cu = cu;
    c->fifo[tail].slot = slot;
    c->fifo[tail].n_images = a->n_images;
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
    xrt_card *k = &c->card[u->card];
    int slot = c->fifo[c->run_head].slot;
    uint32_t n_images = c->fifo[c->run_head].n_images;
    const char *bdf = k->bdf[0] ? k->bdf : "<bdf>";
    enum ert_cmd_state s = c->api.xrtRunWaitFor(u->run[slot], timeout_ms);
    if (s == ERT_CMD_STATE_NEW || s == ERT_CMD_STATE_QUEUED || s == ERT_CMD_STATE_RUNNING ||
        s == ERT_CMD_STATE_SUBMITTED)
        return snn_fail(SNN_ERR_TIMEOUT,
                        "card %d%s%s%s, compute unit %s did not finish within %u ms (state %d): "
                        "the card may be hung; `xbutil examine -d %s -r dynamic-regions` shows "
                        "the CU state, `xbutil reset -d %s` resets it; raise --timeout-ms for "
                        "very large batches",
                        k->index, k->bdf[0] ? " (PCIe " : "", k->bdf, k->bdf[0] ? ")" : "", u->name,
                        timeout_ms, (int)s, bdf, bdf);
    c->run_head = (c->run_head + 1) % SNN_DEV_MAX_INFLIGHT;
    c->run_count--;
    u->busy[slot] = 0;
    if (s != ERT_CMD_STATE_COMPLETED)
        return snn_fail(SNN_ERR_DEVICE, "card %d, %s: run ended in ERT state %d (error or abort)",
                        k->index, u->name, (int)s);
    k->images += n_images;
    k->runs++;
    return SNN_OK;
}

/* The sum of the cards' mean power since the last call; each card's energy
 * over the time since then. Unknown (UNSUPPORTED) unless every card has a
 * sensor. */
static snn_status xrt_power(snn_dev_t *dev, double *watts)
{
    xrt_ctx *c = dev->ctx;
    double t = snn_now(), dt = c->t_power > 0 && t > c->t_power ? t - c->t_power : 0;
    c->t_power = t;
    double sum = 0;
    int all = 1;
    *watts = 0;
    for (int p = 0; p < c->n_cards; p++) {
        xrt_card *k = &c->card[p];
        double w = k->pw.running ? board_power_mean(&k->pw) : 0;
        if (w > 0) {
            sum += w;
            k->joules += w * dt;
            k->power_seconds += dt;
        } else {
            all = 0;
        }
    }
    if (!all || sum <= 0) return SNN_ERR_UNSUPPORTED;
    *watts = sum;
    return SNN_OK;
}

static int xrt_cards(const snn_dev_t *dev, snn_dev_card_stats *out, int max)
{
    const xrt_ctx *c = dev->ctx;
    for (int p = 0; p < c->n_cards && p < max; p++) {
        const xrt_card *k = &c->card[p];
        snn_dev_card_stats *s = &out[p];
        memset(s, 0, sizeof *s);
        s->index = k->index;
        snprintf(s->bdf, sizeof s->bdf, "%s", k->bdf);
        s->cus = (uint32_t)k->n_cu;
        s->images = k->images;
        s->runs = k->runs;
        s->joules = k->joules;
        s->power_seconds = k->power_seconds;
    }
    return c->n_cards;
}

const snn_dev_iface snn_dev_xrt = {
    .name = "xrt",
    .desc = "Alveo cards through the XRT C API (--xclbin FILE, --device-index N or --cards "
            "all|LIST)",
    .open = xrt_open,
    .close = xrt_close,
    .bo_alloc = xrt_bo_alloc,
    .bo_free = xrt_bo_free,
    .bo_write = xrt_bo_write,
    .bo_read = xrt_bo_read,
    .start = xrt_start,
    .wait = xrt_wait,
    .power = xrt_power,
    .max_inflight = MAX_RUNS_CU,
    .cards = xrt_cards,
};

#endif /* SNN_HAVE_XRT_HEADERS */
