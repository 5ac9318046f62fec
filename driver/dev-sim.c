/*
 * dev-sim.c - the `sim` device: the layer-pipeline RTL kernel
 * (rtl/snn_kernel.sv, docs/rtl-pipeline.md) simulated cycle-accurately
 * by Verilator, driven the way XRT drives a card.
 *
 * The simulator is a shared library per configuration of the kernel
 * (opts.config, `--config NAME`; default SNN_PIPE_DEFAULT_CONFIG),
 * libsnn-sim-pipe-<config>.so (`make sim-pipe PIPE_CONFIGS=<config>`,
 * sim/snn-sim.h), loaded with dlopen() from the first of
 *     $MPBN_SIM_DIR/                 (tests, out-of-tree builds)
 *     <dir of the executable>/sim/   (build/mpbn finds build/sim/)
 * so build/mpbn links nothing of Verilator and says which file is missing
 * and how to build it when it is absent. A configuration name is checked
 * against the ones this build knows (mk/sim.mk, include/snn-pipe.h) before
 * any library is looked for, and the library's parameters against this
 * build's table once it is loaded.
 *
 * Buffers (bo) are allocations in the harness's AXI memory model; bo_write
 * and bo_read copy into and out of it. start() refuses a network the
 * kernel's loader would not map onto its stages (snn_pipe_fit, with the
 * reason), writes the argument registers and ap_start through the AXI-Lite
 * master; wait() clocks the model until ap_done reads back 1 and reports the
 * kernel cycles from ap_start to ap_done.
 *
 * The kernel keeps the model on chip between runs: the first run after the
 * model buffer was written sets SNN_FLAG_RELOAD in the flags register, the
 * others write 0. A run with a trace buffer runs the kernel's trace mode
 * (one image at a time; `mpbn compare`).
 *
 * Cycle budget of one run (one batch): timeout_ms x SIM_CYCLES_PER_MS, i.e.
 * the timeout read as kernel time at a 100 MHz clock (the default 60 s is
 * 6e9 cycles), or $MPBN_SIM_CYCLE_BUDGET cycles if set. A kernel that makes
 * no m_axi transfer for 2^24 cycles is declared hung earlier, whatever the
 * budget. Either gives SNN_ERR_TIMEOUT naming the state of the kernel.
 *
 * Environment: MPBN_SIM_DIR, MPBN_SIM_CYCLE_BUDGET, MPBN_SIM_WAVEFORM (FST
 * path when opts.waveform is NULL), MPBN_SIM_ARGS (Verilator +args).
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/snn-sim.h"
#include "snn-dev-impl.h"
#include "snn-pipe.h"
#include "snn-regmap.h"

#define SIM_CYCLES_PER_MS 100000ull /* 100 MHz */

struct snn_bo {
    uint64_t addr; /* device address in the memory model */
    size_t n;
};

typedef struct sim_ctx {
    void *dl;
    const snn_sim_api *api;
    snn_sim_t *sim;
    snn_sim_info info;
    char path[PATH_MAX];
    char label[80];               /* "--config ci": which kernel, in messages */
    const uint8_t *checked_image; /* loaded image that passed the fit check */
    int running;
    snn_pipe_config pcfg;         /* the configuration (this build's table) */
    int reload;                   /* the model buffer was written since the last start */
} sim_ctx;

/* ---- locating the library ------------------------------------------------------ */

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* dst = "<dir><sub>/<file>"; 0 if it does not fit (then it is not a usable path). */
static int lib_path(char *dst, size_t size, const char *dir, const char *sub, const char *file)
{
    int n = snprintf(dst, size, "%s%s/%s", dir, sub, file);
    return n > 0 && (size_t)n < size;
}

/* file: "libsnn-sim-pipe-ci.so"; what: "the RTL simulator of ..."; make:
 * the command that builds it. */
static snn_status find_library(const char *file, const char *what, const char *make, char *out,
                               size_t out_size)
{
    char tried[2][PATH_MAX + 64];
    int n_tried = 0;
    const char *env = getenv("MPBN_SIM_DIR");
    if (env && env[0]) {
        if (lib_path(tried[n_tried], sizeof tried[0], env, "", file) && file_exists(tried[n_tried]))
            goto found;
        n_tried++;
    }
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        if (lib_path(tried[n_tried], sizeof tried[0], exe, "/sim", file) &&
            file_exists(tried[n_tried]))
            goto found;
        n_tried++;
    }
    if (n_tried == 2)
        return snn_fail(SNN_ERR_DEVICE,
                        "%s is not built: neither %s ($MPBN_SIM_DIR) nor %s exists; build it with "
                        "`%s`",
                        what, tried[0], tried[1], make);
    return snn_fail(SNN_ERR_DEVICE, "%s is not built: %s does not exist; build it with `%s`", what,
                    n_tried ? tried[0] : file, make);
found:
    if (strlen(tried[n_tried]) >= out_size)
        return snn_fail(SNN_ERR_DEVICE, "simulator library path too long: %s", tried[n_tried]);
    memcpy(out, tried[n_tried], strlen(tried[n_tried]) + 1);
    return SNN_OK;
}

/* ---- open / close ----------------------------------------------------------------- */

static snn_status sim_status(sim_ctx *c, int rc, const char *what)
{
    snn_status st;
    switch (rc) {
    case SNN_SIM_OK: return SNN_OK;
    case SNN_SIM_ERR_ARG: st = SNN_ERR_ARG; break;
    case SNN_SIM_ERR_NOMEM: st = SNN_ERR_NOMEM; break;
    case SNN_SIM_ERR_IO: st = SNN_ERR_IO; break;
    case SNN_SIM_ERR_TIMEOUT: st = SNN_ERR_TIMEOUT; break;
    default: st = SNN_ERR_DEVICE; break;
    }
    return snn_fail(st, "sim (%s): %s: %s", c->label, what, c->api->error(c->sim));
}

static void sim_close(snn_dev_t *dev)
{
    sim_ctx *c = dev->ctx;
    if (!c) return;
    if (c->sim) c->api->destroy(c->sim);
    /* RTLD_NODELETE: the Verilator runtime stays mapped (it may have
     * registered exit-time callbacks); dlclose only drops the reference. */
    if (c->dl) dlclose(c->dl);
    free(c);
    dev->ctx = NULL;
}

/* The first parameter in which a and b differ, as "C1_E=3, not 4" (a's value
 * first); 0 if they are equal. */
static int params_differ(const snn_pipe_params *a, const snn_pipe_params *b, char *buf, size_t n)
{
#define P_(f) {#f, offsetof(snn_pipe_params, f)}
    static const struct {
        const char *name;
        size_t off;
    } ps[] = {P_(TM),      P_(C0_CIN), P_(C0_COUT), P_(C0_H),  P_(C0_W),   P_(C0_E),
              P_(C1_COUT), P_(C1_H),   P_(C1_W),    P_(C1_E),  P_(C2_COUT), P_(C2_H),
              P_(C2_W),    P_(C2_E),   P_(F_HW),    P_(F_COUT), P_(F_FCH), P_(O_COUT)};
#undef P_
    _Static_assert(sizeof ps / sizeof ps[0] * sizeof(uint32_t) == sizeof(snn_pipe_params),
                   "every parameter of snn_pipe_params is listed");
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint32_t x, y;
        memcpy(&x, (const char *)a + ps[i].off, 4);
        memcpy(&y, (const char *)b + ps[i].off, 4);
        if (x != y) {
            snprintf(buf, n, "%s=%u, not %u", ps[i].name, (unsigned)x, (unsigned)y);
            return 1;
        }
    }
    return 0;
}

/* Which library: file name, what it is and the command that builds it;
 * SNN_ERR_ARG (nothing to build) for a configuration this build does not
 * know. opts.lanes is the HLS kernel's (csim) and is not looked at. */
static snn_status choose_library(const snn_dev_opts *o, sim_ctx *c, char *file, size_t file_n,
                                 char *what, size_t what_n, char *make, size_t make_n)
{
    const char *name = o->config ? o->config : SNN_PIPE_DEFAULT_CONFIG;
    const snn_pipe_config *pc = snn_pipe_config_find(name);
    if (!pc) {
        const char *names = snn_pipe_config_names();
        return snn_fail(SNN_ERR_ARG,
                        "unknown configuration '%.64s' of the layer-pipeline kernel (this build "
                        "has: %s; PIPE_PARAMS_<config> in mk/sim.mk)",
                        name, names[0] ? names : "none");
    }
    c->pcfg = *pc;
    snprintf(c->label, sizeof c->label, "--config %s", pc->name);
    snprintf(file, file_n, "libsnn-sim-pipe-%s.so", pc->name);
    snprintf(what, what_n, "the RTL simulator of the layer-pipeline kernel, configuration %s",
             pc->name);
    snprintf(make, make_n, "make sim-pipe PIPE_CONFIGS=%s", pc->name);
    return SNN_OK;
}

/* The library is the one asked for: the layer-pipeline kernel of that
 * configuration, with this build's parameters of it. */
static snn_status check_library(sim_ctx *c, const char *make)
{
    if (c->info.arch != SNN_SIM_ARCH_PIPE || !c->info.config ||
        strcmp(c->info.config, c->pcfg.name) != 0)
        return snn_fail(SNN_ERR_DEVICE,
                        "%s is not the layer-pipeline kernel of configuration %s (it simulates "
                        "%s%s%s); rebuild it with `%s`",
                        c->path, c->pcfg.name, c->info.kernel ? c->info.kernel : "?",
                        c->info.config ? ", configuration " : "",
                        c->info.config ? c->info.config : "", make);
    char diff[64];
    if (params_differ(&c->info.pipe, &c->pcfg.p, diff, sizeof diff))
        return snn_fail(SNN_ERR_DEVICE,
                        "%s was built with other parameters than configuration %s of this build "
                        "(%s, PIPE_PARAMS_%s in mk/sim.mk); rebuild both with "
                        "`make all sim-pipe PIPE_CONFIGS=%s`",
                        c->path, c->pcfg.name, diff, c->pcfg.name, c->pcfg.name);
    return SNN_OK;
}

static snn_status sim_open(snn_dev_t *dev)
{
    sim_ctx *c = snn_calloc(1, sizeof *c);
    if (!c) return SNN_ERR_NOMEM;
    dev->ctx = c;
    char file[96], what[128], make[96];
    snn_status st = choose_library(&dev->opts, c, file, sizeof file, what, sizeof what, make,
                                   sizeof make);
    if (st == SNN_OK) st = find_library(file, what, make, c->path, sizeof c->path);
    if (st != SNN_OK) {
        sim_close(dev);
        return st;
    }
    c->dl = dlopen(c->path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!c->dl) {
        st = snn_fail(SNN_ERR_DEVICE, "cannot load %s: %s (rebuild it with `%s`)", c->path,
                      dlerror(), make);
        sim_close(dev);
        return st;
    }
    snn_sim_get_api_fn get = (snn_sim_get_api_fn)dlsym(c->dl, SNN_SIM_ENTRY);
    c->api = get ? get() : NULL;
    if (!c->api || c->api->abi != SNN_SIM_ABI || c->api->size != sizeof(snn_sim_api)) {
        st = snn_fail(SNN_ERR_DEVICE,
                      "%s is not a simulator library of this build (ABI %u, expected %u); "
                      "rebuild it with `%s`",
                      c->path, c->api ? (unsigned)c->api->abi : 0u, (unsigned)SNN_SIM_ABI, make);
        c->api = NULL;
        sim_close(dev);
        return st;
    }
    c->api->info(&c->info);
    st = check_library(c, make);
    if (st != SNN_OK) {
        sim_close(dev);
        return st;
    }

    snn_sim_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mem_latency = dev->opts.mem_latency;
    cfg.backpressure = dev->opts.backpressure;
    cfg.seed = dev->opts.seed;
    cfg.waveform = dev->opts.waveform;
    if (!cfg.waveform) {
        const char *w = getenv("MPBN_SIM_WAVEFORM");
        if (w && w[0]) cfg.waveform = w;
    }
    /* The waveform is an output like any other: never an input, a device
     * node or a directory, and one writer at a time. */
    if (cfg.waveform && snn_output_claim(cfg.waveform, SNN_KIND_OTHER) != SNN_OK) {
        st = snn_fail_context(SNN_ERR_ARG, "sim waveform");
        sim_close(dev);
        return st;
    }
    cfg.plusargs = getenv("MPBN_SIM_ARGS");
    char err[1024];
    c->sim = c->api->create(&cfg, err, sizeof err);
    if (!c->sim) {
        st = snn_fail(SNN_ERR_DEVICE, "sim (%s): %s", c->path, err);
        sim_close(dev);
        return st;
    }
    return SNN_OK;
}

/* ---- buffers --------------------------------------------------------------------- */

static snn_status sim_bo_alloc(snn_dev_t *dev, size_t bytes, snn_bo **out)
{
    sim_ctx *c = dev->ctx;
    *out = NULL;
    snn_bo *bo = snn_calloc(1, sizeof *bo);
    if (!bo) return SNN_ERR_NOMEM;
    int rc = c->api->alloc(c->sim, bytes, &bo->addr);
    if (rc) {
        free(bo);
        return sim_status(c, rc, "allocating device memory");
    }
    bo->n = bytes;
    *out = bo;
    return SNN_OK;
}

static void sim_bo_free(snn_dev_t *dev, snn_bo *bo)
{
    sim_ctx *c = dev->ctx;
    if (!bo) return;
    if (c && c->sim) c->api->free(c->sim, bo->addr);
    free(bo);
}

static snn_status sim_bo_write(snn_dev_t *dev, snn_bo *bo, size_t off, const void *src, size_t n)
{
    sim_ctx *c = dev->ctx;
    snn_status st = snn_bo_range_check(dev, "write", off, n, bo->n);
    if (st != SNN_OK) return st;
    if (bo == dev->model_bo) {
        /* a new model (its host copy may reuse the old one's address): check
         * it again, and the pipeline loads it again (SNN_FLAG_RELOAD) */
        c->checked_image = NULL;
        c->reload = 1;
    }
    return sim_status(c, c->api->mem_write(c->sim, bo->addr + off, src, n), "writing device memory");
}

static snn_status sim_bo_read(snn_dev_t *dev, snn_bo *bo, size_t off, void *dst, size_t n)
{
    sim_ctx *c = dev->ctx;
    snn_status st = snn_bo_range_check(dev, "read", off, n, bo->n);
    if (st != SNN_OK) return st;
    return sim_status(c, c->api->mem_read(c->sim, bo->addr + off, dst, n), "reading device memory");
}

/* ---- the fit check ----------------------------------------------------------------- */

/* The loader's mapping and fit check (include/snn-pipe.h): a network the
 * kernel would answer with pred = -1 records is refused with the reason. */
static snn_status sim_fits(const sim_ctx *c, const snn_net *net)
{
    if (snn_pipe_fit(net, &c->pcfg, NULL) == SNN_OK) return SNN_OK;
    char why[512];
    snprintf(why, sizeof why, "%s", snn_last_error());
    return snn_fail(SNN_ERR_UNSUPPORTED,
                    "the network does not fit the layer-pipeline kernel (--config %s): %s "
                    "(docs/rtl-pipeline.md, \"Stage mapping\"; PIPE_PARAMS_%s in mk/sim.mk)",
                    c->pcfg.name, why, c->pcfg.name);
}

/* ---- runs ------------------------------------------------------------------------- */

static snn_status reg64(sim_ctx *c, uint32_t lo, uint64_t v)
{
    int rc = c->api->reg_write(c->sim, lo, (uint32_t)v);
    if (!rc) rc = c->api->reg_write(c->sim, lo + 4, (uint32_t)(v >> 32));
    return sim_status(c, rc, "writing the argument registers");
}

static snn_status sim_start(snn_dev_t *dev, const snn_kernel_args *a)
{
    sim_ctx *c = dev->ctx;
    if (c->checked_image != dev->image) {
        snn_status st = sim_fits(c, &dev->net);
        if (st != SNN_OK) return st;
        c->checked_image = dev->image;
    }
    snn_status st = reg64(c, SNN_REG_MODEL_LO, a->model->addr);
    if (st == SNN_OK) st = reg64(c, SNN_REG_IMAGES_LO, a->images->addr);
    if (st == SNN_OK) st = reg64(c, SNN_REG_RESULTS_LO, a->results->addr);
    if (st == SNN_OK) st = reg64(c, SNN_REG_TRACE_LO, a->trace ? a->trace->addr : 0);
    if (st == SNN_OK)
        st = sim_status(c, c->api->reg_write(c->sim, SNN_REG_N_IMAGES, a->n_images),
                        "writing the argument registers");
    /* The kernel keeps the model on chip: reload after the buffer changed. */
    if (st == SNN_OK) {
        uint32_t flags = c->reload ? SNN_FLAG_RELOAD : 0;
        st = sim_status(c, c->api->reg_write(c->sim, SNN_REG_FLAGS, flags),
                        "writing the argument registers");
    }
    if (st == SNN_OK) st = sim_status(c, c->api->start(c->sim), "ap_start");
    if (st == SNN_OK) c->running = 1, c->reload = 0;
    return st;
}

static uint64_t cycle_budget(uint32_t timeout_ms)
{
    const char *e = getenv("MPBN_SIM_CYCLE_BUDGET");
    if (e && e[0]) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(e, &end, 0);
        if (!errno && !*end && v) return v;
    }
    return (uint64_t)(timeout_ms ? timeout_ms : 60000) * SIM_CYCLES_PER_MS;
}

static snn_status sim_wait(snn_dev_t *dev, uint32_t timeout_ms, uint64_t *cycles)
{
    sim_ctx *c = dev->ctx;
    *cycles = 0;
    if (!c->running) return snn_fail(SNN_ERR_ARG, "sim: wait without a started run");
    c->running = 0;
    uint64_t budget = cycle_budget(timeout_ms);
    int rc = c->api->wait(c->sim, budget, cycles);
    if (rc == SNN_SIM_ERR_TIMEOUT)
        return snn_fail(SNN_ERR_TIMEOUT,
                        "sim (%s): %s [cycle budget %" PRIu64 " = timeout %u ms x %llu "
                        "cycles/ms, or $MPBN_SIM_CYCLE_BUDGET]",
                        c->label, c->api->error(c->sim), budget,
                        (unsigned)(timeout_ms ? timeout_ms : 60000), SIM_CYCLES_PER_MS);
    return sim_status(c, rc, "running the kernel");
}

const snn_dev_iface snn_dev_sim = {
    .name = "sim",
    .desc = "layer-pipeline RTL kernel (rtl/snn_kernel.sv) simulated cycle-accurately by "
            "Verilator (build/sim/libsnn-sim-pipe-<config>.so, --config)",
    .open = sim_open,
    .close = sim_close,
    .bo_alloc = sim_bo_alloc,
    .bo_free = sim_bo_free,
    .bo_write = sim_bo_write,
    .bo_read = sim_bo_read,
    .start = sim_start,
    .wait = sim_wait,
    .power = NULL,
};
