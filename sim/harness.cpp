// harness.cpp - the Verilator harness behind sim/snn-sim.h: the simulator's
// clock and runs (tick, start, wait, step), the Verilator runtime hooks and the
// C API (snn_sim_get_api). Its other parts, sharing sim/harness-internal.h:
// the AXI memory model (harness-mem.cpp) and the AXI-Lite master
// (harness-axil.cpp).
//
// One snn_sim is one Verilated kernel (prefix Vsnn_top: rtl/snn_kernel.sv
// or the test kernel tests/sim/snn_copy_kernel.sv)
// plus what a card's shell puts around it:
//
//            reg_write/reg_read           start/wait (poll ap_done)
//                   |                            |
//          +--------v---------+        +---------v--------+
//          | AXI-Lite master  |------->| s_axi_control    |
//          +------------------+        |                  |
//                                      |   Vsnn_top       |   interrupt
//          +------------------+        |                  |----> (observed)
//          | AXI memory model |<------>| m_axi_gmem       |
//          | latency, random  |        +------------------+
//          | back-pressure,   |
//          | protocol checks  |<---- alloc/free/mem_write/mem_read (host side)
//          +------------------+
//
// The structure follows verilator/examples/make_tracing_c: a VerilatedContext
// per model, commandArgs (from cfg.plusargs), FST tracing only when a
// waveform path is given.
//
// Clocking. tick() is one clock cycle:
//   1. clk low, inputs of this cycle applied: eval, dump
//   2. sample every handshake (valid && ready) and payload
//   3. rising edge: eval, dump
//   4. the models consume the sampled handshakes and compute the inputs of
//      the next cycle (which become visible at step 1 of the next tick)
// The models' valid/ready outputs depend only on their own state, never
// combinationally on the kernel's outputs, so one eval per phase suffices.
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <string>
#include <vector>

#include "harness-internal.h"
#include "snn-regmap.h"

// ---- build-time facts (set by mk/sim.mk) ------------------------------------
#ifndef SNN_SIM_LANES
#define SNN_SIM_LANES 0
#endif
#ifdef SNN_SIM_TEST_KERNEL
#define SNN_SIM_KERNEL "snn_copy_kernel"
#elif defined(SNN_SIM_PIPE_CONFIG)
// The layer pipeline: SNN_SIM_PIPE_CONFIG is the configuration's name (a bare
// word, stringified here) and SNN_SIM_PIPE_<param> its PIPE_PARAMS_<config>.
#define SNN_SIM_KERNEL "snn_kernel"
#define SNN_SIM_STR_(x) #x
#define SNN_SIM_STR(x) SNN_SIM_STR_(x)
#else
#error "mk/sim.mk defines SNN_SIM_TEST_KERNEL or SNN_SIM_PIPE_CONFIG"
#endif

// Verilator's runtime wants this symbol in some configurations.
double sc_time_stamp() { return 0; }

using namespace snn_harness;

namespace {

constexpr uint32_t kResetCycles = 16;

double wall_now()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

std::string vformat(const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return buf;
}

} // namespace

// ---- errors ---------------------------------------------------------------------
int snn_sim::fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err = vformat(fmt, ap);
    va_end(ap);
    return status;
}
// A violation seen inside tick(): sticky, reported by the API call that clocks.
void snn_sim::violation(const char *fmt, ...)
{
    if (fault) return;
    va_list ap;
    va_start(ap, fmt);
    err = "AXI protocol violation at cycle " + std::to_string(cycle) + ": " + vformat(fmt, ap);
    va_end(ap);
    fault = SNN_SIM_ERR_PROTOCOL;
}
int snn_sim::check_fault()
{
    if (UNLIKELY(ctx->gotFinish()) && !fault) {
        fault = SNN_SIM_ERR_PROTOCOL;
        if (err.empty()) err = "the RTL executed $finish/$stop/$fatal at cycle " + std::to_string(cycle);
    }
    return fault;
}
int snn_sim::refuse_after_fault()
{
    return fail(SNN_SIM_ERR_STATE, "the model stopped after an earlier failure (%s); destroy it",
                err.c_str());
}

// ---- one clock cycle ------------------------------------------------------------
void snn_sim::dump()
{
#if VM_TRACE_FST
    if (tfp) tfp->dump(ctx->time());
#endif
}
void snn_sim::tick()
{
    Vsnn_top *t = top.get();
    t->eval();
    dump();
    Sample s;
    s.arvalid = t->m_axi_gmem_arvalid;
    s.araddr = t->m_axi_gmem_araddr;
    s.arlen = t->m_axi_gmem_arlen;
    s.rready = t->m_axi_gmem_rready;
    s.awvalid = t->m_axi_gmem_awvalid;
    s.awaddr = t->m_axi_gmem_awaddr;
    s.awlen = t->m_axi_gmem_awlen;
    s.wvalid = t->m_axi_gmem_wvalid;
    s.wdata = t->m_axi_gmem_wdata;
    s.wstrb = t->m_axi_gmem_wstrb;
    s.wlast = t->m_axi_gmem_wlast;
    s.bready = t->m_axi_gmem_bready;
    s.l_awready = t->s_axi_control_awready;
    s.l_wready = t->s_axi_control_wready;
    s.l_bvalid = t->s_axi_control_bvalid;
    s.l_bresp = t->s_axi_control_bresp;
    s.l_arready = t->s_axi_control_arready;
    s.l_rvalid = t->s_axi_control_rvalid;
    s.l_rdata = t->s_axi_control_rdata;
    s.l_rresp = t->s_axi_control_rresp;
    s.irq = t->__SYM__interrupt; // "interrupt" is a C++ word: Verilator renames it
    ctx->timeInc(half_period);
    t->ap_clk = 1;
    t->eval();
    dump();
    ctx->timeInc(half_period);
    t->ap_clk = 0;
    cycle++;
    update_mem(s);
    update_lite(s);
    prev = in_reset ? Sample{} : s;
    if (UNLIKELY(s.irq != irq_level) && !in_reset) {
        irq_level = s.irq;
        if (irq_level && running && !irq_cycle) {
            irq_cycle = cycle;
            check_quiet("the interrupt (ap_done) rose");
        }
    }
}

// ---- runs -----------------------------------------------------------------------
int snn_sim::start()
{
    if (fault) return refuse_after_fault();
    if (running) return fail(SNN_SIM_ERR_STATE, "start: the previous run has not been waited for");
    irq_cycle = 0;
    int rc = reg_write(SNN_REG_CTRL, SNN_CTRL_AP_START);
    if (rc) return rc;
    running = true;
    start_cycle = l_whs_cycle;
    last_xfer = cycle;
    return SNN_SIM_OK;
}

int snn_sim::hang(const char *why)
{
    std::string report = state_report();
    uint32_t ctrl = 0;
    running = false;
    std::string ctrl_s = "unreadable";
    if (reg_read(SNN_REG_CTRL, &ctrl) == SNN_SIM_OK) {
        char b[96];
        snprintf(b, sizeof b, "0x%x (ap_start=%u ap_done=%u ap_idle=%u ap_ready=%u)", ctrl,
                 ctrl & 1, ctrl >> 1 & 1, ctrl >> 2 & 1, ctrl >> 3 & 1);
        ctrl_s = b;
    }
    return fail(SNN_SIM_ERR_TIMEOUT, "kernel hang: %s; ctrl register %s; %s", why,
                ctrl_s.c_str(), report.c_str());
}

int snn_sim::wait(uint64_t budget, uint64_t *cycles)
{
    if (cycles) *cycles = 0;
    if (fault) return refuse_after_fault();
    if (!running) return fail(SNN_SIM_ERR_STATE, "wait: no run was started");
    double t0 = wall_now();
    uint32_t poll = cfg.poll_interval;
    int rc = SNN_SIM_OK;
    for (;;) {
        for (uint32_t i = 0; i < poll; i++) {
            tick();
            if (UNLIKELY(fault)) break;
        }
        if (UNLIKELY(check_fault())) {
            rc = fault;
            break;
        }
        uint32_t ctrl = 0;
        rc = reg_read(SNN_REG_CTRL, &ctrl);
        if (rc) break;
        if (ctrl & SNN_CTRL_AP_DONE) {
            check_quiet("ap_done read back as 1");
            if (fault) {
                rc = fault;
                break;
            }
            uint64_t end = irq_cycle ? irq_cycle : cycle;
            uint64_t n = end - start_cycle;
            running = false;
            st.runs++;
            st.run_cycles += n;
            if (cycles) *cycles = n;
            // Acknowledge the interrupt the way an ISR does (toggle on write).
            if (irq_level) rc = reg_write(SNN_REG_ISR, 1);
            break;
        }
        if (cycle - start_cycle > budget) {
            char why[160];
            snprintf(why, sizeof why,
                     "ap_done never rose within the budget of %" PRIu64 " cycles after ap_start",
                     budget);
            rc = hang(why);
            break;
        }
        if (cfg.stall_limit != UINT64_MAX && cycle - last_xfer > cfg.stall_limit) {
            char why[160];
            snprintf(why, sizeof why,
                     "no m_axi_gmem transfer for %" PRIu64 " cycles and ap_done never rose "
                     "(%" PRIu64 " cycles after ap_start)",
                     cycle - last_xfer, cycle - start_cycle);
            rc = hang(why);
            break;
        }
    }
    st.seconds += wall_now() - t0;
    if (rc && rc != SNN_SIM_ERR_TIMEOUT) running = false;
    return rc;
}

int snn_sim::step(uint64_t n)
{
    if (fault) return refuse_after_fault();
    double t0 = wall_now();
    for (uint64_t i = 0; i < n && !fault; i++) tick();
    st.seconds += wall_now() - t0;
    return check_fault();
}

// ---- Verilator runtime hooks: record, never print to stdout or exit ----------
namespace {
thread_local snn_sim *t_current = nullptr;

void record_rtl(const char *what, const char *file, int line, const char *msg)
{
    VerilatedContext *c = Verilated::threadContextp();
    if (c) c->gotFinish(true);
    snn_sim *s = t_current;
    if (!s || s->fault) return;
    char buf[512];
    snprintf(buf, sizeof buf, "the RTL stopped the simulation at cycle %" PRIu64 ": %s%s%s:%d%s%s",
             s->cycle, what, file && file[0] ? " at " : "", file ? file : "", line,
             msg && msg[0] ? ": " : "", msg ? msg : "");
    s->err = buf;
    s->fault = SNN_SIM_ERR_PROTOCOL;
}
} // namespace

void vl_finish(const char *filename, int linenum, const char *hier)
{
    (void)hier;
    record_rtl("$finish", filename, linenum, "");
}
void vl_stop(const char *filename, int linenum, const char *hier)
{
    (void)hier;
    record_rtl("$stop", filename, linenum, "");
}
void vl_fatal(const char *filename, int linenum, const char *hier, const char *msg)
{
    (void)hier;
    record_rtl("fatal error", filename, linenum, msg);
}
void vl_warn(const char *filename, int linenum, const char *hier, const char *msg)
{
    (void)hier;
    fprintf(stderr, "sim: %%Warning: %s:%d: %s\n", filename ? filename : "", linenum, msg);
}

// ---- C API ---------------------------------------------------------------------
namespace {

struct Current { // makes `s` the target of the Verilator hooks during a call
    snn_sim *old;
    explicit Current(snn_sim *s) : old(t_current) { t_current = s; }
    ~Current() { t_current = old; }
};

void api_info(snn_sim_info *o)
{
    memset(o, 0, sizeof *o);
    o->abi = SNN_SIM_ABI;
    o->lanes = SNN_SIM_LANES;
    o->kernel = SNN_SIM_KERNEL;
    o->verilator = Verilated::productVersion();
    o->can_trace = VM_TRACE_FST ? 1 : 0;
    o->data_bits = kBeatBytes * 8;
    o->arch = SNN_SIM_ARCH_TEST;
#ifdef SNN_SIM_PIPE_CONFIG
    o->arch = SNN_SIM_ARCH_PIPE;
    o->config = SNN_SIM_STR(SNN_SIM_PIPE_CONFIG);
    snn_pipe_params &p = o->pipe;
    p.TM = SNN_SIM_PIPE_TM;
    p.C0_CIN = SNN_SIM_PIPE_C0_CIN;
    p.C0_COUT = SNN_SIM_PIPE_C0_COUT;
    p.C0_H = SNN_SIM_PIPE_C0_H;
    p.C0_W = SNN_SIM_PIPE_C0_W;
    p.C0_E = SNN_SIM_PIPE_C0_E;
    p.C1_COUT = SNN_SIM_PIPE_C1_COUT;
    p.C1_H = SNN_SIM_PIPE_C1_H;
    p.C1_W = SNN_SIM_PIPE_C1_W;
    p.C1_E = SNN_SIM_PIPE_C1_E;
    p.C2_COUT = SNN_SIM_PIPE_C2_COUT;
    p.C2_H = SNN_SIM_PIPE_C2_H;
    p.C2_W = SNN_SIM_PIPE_C2_W;
    p.C2_E = SNN_SIM_PIPE_C2_E;
    p.F_HW = SNN_SIM_PIPE_F_HW;
    p.F_COUT = SNN_SIM_PIPE_F_COUT;
    p.F_FCH = SNN_SIM_PIPE_F_FCH;
    p.O_COUT = SNN_SIM_PIPE_O_COUT;
#endif
}

void set_err(char *err, size_t n, const std::string &m)
{
    if (err && n) snprintf(err, n, "%s", m.c_str());
}

snn_sim_t *api_create(const snn_sim_cfg *cfg_in, char *err, size_t err_size)
{
    snn_sim_cfg cfg{};
    if (cfg_in) cfg = *cfg_in;
    if (cfg.backpressure > SNN_SIM_MAX_BACKPRESSURE) {
        set_err(err, err_size, "back-pressure " + std::to_string(cfg.backpressure) +
                                   "% is out of range (0.." +
                                   std::to_string(SNN_SIM_MAX_BACKPRESSURE) + ")");
        return nullptr;
    }
#if !VM_TRACE_FST
    if (cfg.waveform) {
        set_err(err, err_size, "this simulator library was built without waveform support "
                               "(rebuild it with `make sim TRACE=1`)");
        return nullptr;
    }
#endif
    if (!cfg.mem_latency) cfg.mem_latency = SNN_SIM_DEFAULT_LATENCY;
    if (!cfg.write_latency) cfg.write_latency = SNN_SIM_DEFAULT_WRITE_LATENCY;
    if (!cfg.max_outstanding) cfg.max_outstanding = SNN_SIM_DEFAULT_OUTSTANDING;
    if (!cfg.poll_interval) cfg.poll_interval = SNN_SIM_DEFAULT_POLL;
    if (!cfg.stall_limit) cfg.stall_limit = SNN_SIM_DEFAULT_STALL;

    snn_sim *s = new (std::nothrow) snn_sim;
    if (!s) {
        set_err(err, err_size, "out of memory creating the simulator");
        return nullptr;
    }
    Current cur(s);
    std::string wave = cfg.waveform ? cfg.waveform : "";
    std::string plus = cfg.plusargs ? cfg.plusargs : "";
    s->cfg = cfg;
    s->cfg.waveform = nullptr; // not kept: the caller's string may go away
    s->cfg.plusargs = nullptr;
    s->rng.seed(cfg.seed);
    s->stall_thresh = (uint32_t)std::lround((double)cfg.backpressure / 100.0 * 4294967296.0);

    s->ctx.reset(new VerilatedContext);
    s->ctx->debug(0);
    // Random initial register values, reproducible by seed: a kernel that
    // depends on an unreset register shows it here, not on the card.
    s->ctx->randReset(2);
    s->ctx->randSeed((int)(cfg.seed % 2147483647u) + 1);
    std::vector<std::string> args{"snn-sim"};
    for (size_t i = 0; i < plus.size();) {
        size_t j = plus.find(' ', i);
        if (j == std::string::npos) j = plus.size();
        if (j > i) args.push_back(plus.substr(i, j - i));
        i = j + 1;
    }
    std::vector<const char *> argv;
    for (const std::string &a : args) argv.push_back(a.c_str());
    s->ctx->commandArgs((int)argv.size(), argv.data());
    if (!wave.empty()) s->ctx->traceEverOn(true);
    s->top.reset(new Vsnn_top{s->ctx.get(), "TOP"});

    // 5 time units of the precision per half cycle of 10 ns.
    int prec = s->ctx->timeprecision(); // e.g. -12 for ps
    s->half_period = (uint64_t)std::llround(5.0 * std::pow(10.0, -9 - prec));
    if (!s->half_period) s->half_period = 1;

#if VM_TRACE_FST
    if (!wave.empty()) {
        s->tfp.reset(new VerilatedFstC);
        s->top->trace(s->tfp.get(), 99);
        s->tfp->open(wave.c_str());
        if (!s->tfp->isOpen()) {
            set_err(err, err_size, "cannot open waveform file '" + wave + "'");
            s->tfp.reset();
            delete s;
            return nullptr;
        }
    }
#endif

    // Reset: ap_rst_n low for kResetCycles cycles, every input quiet.
    Vsnn_top *t = s->top.get();
    t->ap_clk = 0;
    t->ap_rst_n = 0;
    s->drive_lite();
    s->update_mem(Sample{}); // quiet m_axi outputs
    s->arready_prev = s->awready_prev = s->wready_prev = false;
    for (uint32_t i = 0; i < kResetCycles; i++) s->tick();
    t->ap_rst_n = 1;
    s->in_reset = false;
    s->tick();
    if (s->check_fault()) {
        set_err(err, err_size, s->err);
        delete s;
        return nullptr;
    }
    // Interrupt on ap_done, as the platform's driver configures it: the
    // harness uses the interrupt edge for the exact completion cycle.
    int rc = s->reg_write(SNN_REG_GIE, 1);
    if (!rc) rc = s->reg_write(SNN_REG_IER, 1);
    if (rc) {
        set_err(err, err_size, "after reset: " + s->err);
        delete s;
        return nullptr;
    }
    return s;
}

void api_destroy(snn_sim_t *s)
{
    if (!s) return;
    Current cur(s);
#if VM_TRACE_FST
    if (s->tfp) s->tfp->close();
#endif
    if (s->top) s->top->final();
    delete s;
}

const char *api_error(const snn_sim_t *s)
{
    return s ? s->err.c_str() : "no simulator";
}

int api_alloc(snn_sim_t *s, uint64_t bytes, uint64_t *addr)
{
    *addr = 0;
    if (!bytes) bytes = 1;
    uint64_t size = (bytes + SNN_SIM_PAGE - 1) / SNN_SIM_PAGE * SNN_SIM_PAGE;
    if (size < bytes || size > (1ull << 40))
        return s->fail(SNN_SIM_ERR_ARG, "device allocation of %" PRIu64 " bytes is too large", bytes);
    s->mem.allocs[s->mem.next] = size;
    *addr = s->mem.next;
    s->mem.next += size + SNN_SIM_PAGE; // unmapped guard page
    return SNN_SIM_OK;
}

int api_free(snn_sim_t *s, uint64_t addr)
{
    auto it = s->mem.allocs.find(addr);
    if (it == s->mem.allocs.end())
        return s->fail(SNN_SIM_ERR_ARG, "free of 0x%" PRIx64 ": not an allocated buffer", addr);
    for (uint64_t a = addr; a < addr + it->second; a += SNN_SIM_PAGE) s->mem.pages.erase(a / SNN_SIM_PAGE);
    s->mem.cache_no = ~0ull;
    s->mem.allocs.erase(it);
    return SNN_SIM_OK;
}

int api_mem_access(snn_sim_t *s, uint64_t addr, uint8_t *w, const uint8_t *src, uint64_t n,
                   bool write)
{
    if (!n) return SNN_SIM_OK;
    if (s->mem.find(addr, n) == s->mem.allocs.end())
        return s->fail(SNN_SIM_ERR_ARG,
                       "%s of %" PRIu64 " bytes at 0x%" PRIx64 " is outside every allocated buffer",
                       write ? "write" : "read", n, addr);
    while (n) {
        uint64_t off = addr % SNN_SIM_PAGE, k = SNN_SIM_PAGE - off;
        if (k > n) k = n;
        uint8_t *p = s->mem.page(addr, write);
        if (write) {
            if (!p) return s->fail(SNN_SIM_ERR_NOMEM, "out of memory for device memory");
            memcpy(p + off, src, k);
            src += k;
        } else {
            if (p)
                memcpy(w, p + off, k);
            else
                memset(w, 0, k);
            w += k;
        }
        addr += k;
        n -= k;
    }
    return SNN_SIM_OK;
}

int api_mem_write(snn_sim_t *s, uint64_t addr, const void *src, uint64_t n)
{
    return api_mem_access(s, addr, nullptr, (const uint8_t *)src, n, true);
}

int api_mem_read(snn_sim_t *s, uint64_t addr, void *dst, uint64_t n)
{
    return api_mem_access(s, addr, (uint8_t *)dst, nullptr, n, false);
}

int api_reg_write(snn_sim_t *s, uint32_t off, uint32_t v)
{
    Current cur(s);
    return s->reg_write(off, v);
}

int api_reg_read(snn_sim_t *s, uint32_t off, uint32_t *v)
{
    Current cur(s);
    return s->reg_read(off, v);
}

int api_start(snn_sim_t *s)
{
    Current cur(s);
    return s->start();
}

int api_wait(snn_sim_t *s, uint64_t budget, uint64_t *cycles)
{
    Current cur(s);
    return s->wait(budget, cycles);
}

int api_run(snn_sim_t *s, uint64_t budget, uint64_t *cycles)
{
    Current cur(s);
    int rc = s->start();
    return rc ? rc : s->wait(budget, cycles);
}

int api_step(snn_sim_t *s, uint64_t n)
{
    Current cur(s);
    return s->step(n);
}

int api_irq(const snn_sim_t *s)
{
    return s->top->__SYM__interrupt ? 1 : 0;
}

void api_stats(const snn_sim_t *s, snn_sim_stats *o)
{
    *o = s->st;
    o->cycles = s->cycle;
}

const snn_sim_api kApi = {
    SNN_SIM_ABI, sizeof(snn_sim_api), api_info,    api_create,   api_destroy,
    api_error,   api_alloc,           api_free,    api_mem_write, api_mem_read,
    api_reg_write, api_reg_read,      api_start,   api_wait,     api_run,
    api_step,    api_irq,             api_stats,
};

} // namespace

extern "C" __attribute__((visibility("default"))) const snn_sim_api *snn_sim_get_api(void)
{
    return &kApi;
}
