// harness.cpp - the Verilator harness behind sim/snn-sim.h.
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
#include <verilated.h>
#if VM_TRACE_FST
#include <verilated_fst_c.h>
#endif

#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "Vsnn_top.h"
#include "snn-regmap.h"
#include "snn-sim.h"

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

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

// Verilator's runtime wants this symbol in some configurations.
double sc_time_stamp() { return 0; }

namespace {

constexpr uint32_t kLiteTimeout = 1000; // cycles an AXI-Lite access may take
constexpr uint32_t kResetCycles = 16;
constexpr uint32_t kBeatBytes = 8;       // m_axi_gmem data width / 8
constexpr size_t kWriteFifo = 1024;      // W beats buffered ahead of their AW

double wall_now()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// xorshift64*: cheap, seeded, reproducible back-pressure.
struct Rng {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    void seed(uint64_t v) { s = v ? v * 0x9E3779B97F4A7C15ull : 0x9E3779B97F4A7C15ull; }
    uint32_t next()
    {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return (uint32_t)((s * 0x2545F4914F6CDD1Dull) >> 32);
    }
};

// ---- sparse device memory -------------------------------------------------------
struct Memory {
    std::map<uint64_t, uint64_t> allocs; // base -> size rounded to pages
    std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages;
    uint64_t next = SNN_SIM_MEM_BASE;
    uint64_t cache_no = ~0ull;
    uint8_t *cache_page = nullptr;

    // The allocation that holds [addr, addr+n), or allocs.end().
    std::map<uint64_t, uint64_t>::const_iterator find(uint64_t addr, uint64_t n) const
    {
        auto it = allocs.upper_bound(addr);
        if (it == allocs.begin()) return allocs.end();
        --it;
        if (addr - it->first > it->second || n > it->second - (addr - it->first))
            return allocs.end();
        return it;
    }
    uint8_t *page(uint64_t addr, bool create)
    {
        uint64_t no = addr / SNN_SIM_PAGE;
        if (LIKELY(no == cache_no)) return cache_page;
        auto it = pages.find(no);
        if (it == pages.end()) {
            if (!create) return nullptr;
            uint8_t *p = new (std::nothrow) uint8_t[SNN_SIM_PAGE]();
            if (!p) return nullptr;
            it = pages.emplace(no, std::unique_ptr<uint8_t[]>(p)).first;
        }
        cache_no = no;
        cache_page = it->second.get();
        return cache_page;
    }
    uint64_t read64(uint64_t addr) // addr 8-byte aligned, unwritten memory reads 0
    {
        const uint8_t *p = page(addr, false);
        uint64_t v = 0;
        if (p) memcpy(&v, p + addr % SNN_SIM_PAGE, 8);
        return v;
    }
    bool write64(uint64_t addr, uint64_t data, uint8_t strb)
    {
        uint8_t *p = page(addr, true);
        if (!p) return false;
        p += addr % SNN_SIM_PAGE;
        if (strb == 0xFF) {
            memcpy(p, &data, 8);
        } else {
            for (int b = 0; b < 8; b++)
                if (strb >> b & 1) p[b] = (uint8_t)(data >> (8 * b));
        }
        return true;
    }
};

// ---- one cycle's view of the kernel's outputs ---------------------------------
struct Sample {
    // m_axi_gmem, kernel as master
    bool arvalid, rready, awvalid, wvalid, wlast, bready;
    uint64_t araddr, awaddr, wdata;
    uint32_t arlen, awlen, wstrb;
    // s_axi_control, kernel as slave
    bool l_awready, l_wready, l_bvalid, l_arready, l_rvalid;
    uint32_t l_rdata, l_rresp, l_bresp;
    bool irq;
};

struct RdBurst {
    uint64_t addr; // first beat, 8-byte aligned
    uint32_t beats, done;
    uint64_t due;  // first cycle in which the first beat may be presented
};
struct WrBurst {
    uint64_t addr, req; // first beat (aligned), address as requested
    uint32_t beats, done;
};
struct WBeat {
    uint64_t data;
    uint8_t strb;
    bool last;
};

std::string vformat(const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return buf;
}

} // namespace

// ---- the simulator --------------------------------------------------------------
struct snn_sim {
    snn_sim_cfg cfg{};
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vsnn_top> top;
#if VM_TRACE_FST
    std::unique_ptr<VerilatedFstC> tfp;
#endif
    uint64_t half_period = 5; // in units of the context's time precision
    std::string err;
    int fault = SNN_SIM_OK;   // sticky: a protocol violation or an RTL $fatal

    uint64_t cycle = 0;
    Memory mem;
    Rng rng;
    uint32_t stall_thresh = 0; // back-pressure probability in 1/2^32

    // memory model state
    std::deque<RdBurst> rq;
    std::deque<WrBurst> awq;
    std::deque<WBeat> wq;
    std::deque<uint64_t> bq; // due cycles of B responses not yet presented
    bool arready = false, awready = false, wready = false;
    bool rvalid = false, rlast = false, bvalid = false;
    uint64_t rdata = 0;
    uint64_t last_xfer = 0;  // cycle of the last m_axi handshake
    Sample prev{};

    // AXI-Lite master state
    bool l_awvalid = false, l_wvalid = false, l_bready = false;
    bool l_arvalid = false, l_rready = false;
    uint32_t l_awaddr = 0, l_wdata = 0, l_araddr = 0;
    bool l_bdone = false, l_rdone = false;
    uint32_t l_rdata = 0, l_resp = 0;
    uint64_t l_whs_cycle = 0; // cycle at which the last W beat was accepted

    // run state
    bool in_reset = true;     // ap_rst_n low
    bool running = false;
    uint64_t start_cycle = 0;
    uint64_t irq_cycle = 0;    // first rising edge of interrupt in this run, 0 = none
    bool irq_level = false;

    snn_sim_stats st{};

    int fail(int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)))
    {
        va_list ap;
        va_start(ap, fmt);
        err = vformat(fmt, ap);
        va_end(ap);
        return status;
    }
    // A violation seen inside tick(): sticky, reported by the API call that clocks.
    void violation(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        if (fault) return;
        va_list ap;
        va_start(ap, fmt);
        err = "AXI protocol violation at cycle " + std::to_string(cycle) + ": " + vformat(fmt, ap);
        va_end(ap);
        fault = SNN_SIM_ERR_PROTOCOL;
    }
    int check_fault()
    {
        if (UNLIKELY(ctx->gotFinish()) && !fault) {
            fault = SNN_SIM_ERR_PROTOCOL;
            if (err.empty()) err = "the RTL executed $finish/$stop/$fatal at cycle " + std::to_string(cycle);
        }
        return fault;
    }
    int refuse_after_fault()
    {
        return fail(SNN_SIM_ERR_STATE, "the model stopped after an earlier failure (%s); destroy it",
                    err.c_str());
    }

    bool stall() { return stall_thresh && rng.next() < stall_thresh; }

    // ---- one clock cycle ----
    void dump()
    {
#if VM_TRACE_FST
        if (tfp) tfp->dump(ctx->time());
#endif
    }
    void tick()
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

    // The kernel may not signal completion while it has transfers in flight:
    // on a card the results would not be in memory yet.
    void check_quiet(const char *what)
    {
        uint32_t rbeats = 0;
        for (const RdBurst &b : rq) rbeats += b.beats - b.done;
        size_t wpend = awq.size() + bq.size() + (bvalid ? 1 : 0);
        bool bus = prev.arvalid || prev.awvalid || prev.wvalid;
        if (rq.empty() && wpend == 0 && wq.empty() && !bus) return;
        violation("%s while m_axi_gmem still had %zu read burst(s) (%u beats) and %zu write "
                  "burst(s) without B response outstanding, %zu W beat(s) without an address%s",
                  what, rq.size(), rbeats, wpend, wq.size(),
                  bus ? ", and a request still on the bus" : "");
    }

    // Master-side rule: once valid is high it stays high, payload unchanged,
    // until ready.
    void check_stable(const Sample &s)
    {
        if (prev.arvalid && !arready_prev) {
            if (!s.arvalid)
                violation("arvalid dropped before arready (araddr 0x%" PRIx64 ")", prev.araddr);
            else if (s.araddr != prev.araddr || s.arlen != prev.arlen)
                violation("araddr/arlen changed while arvalid waited for arready");
        }
        if (prev.awvalid && !awready_prev) {
            if (!s.awvalid)
                violation("awvalid dropped before awready (awaddr 0x%" PRIx64 ")", prev.awaddr);
            else if (s.awaddr != prev.awaddr || s.awlen != prev.awlen)
                violation("awaddr/awlen changed while awvalid waited for awready");
        }
        if (prev.wvalid && !wready_prev) {
            if (!s.wvalid)
                violation("wvalid dropped before wready");
            else if (s.wdata != prev.wdata || s.wstrb != prev.wstrb || s.wlast != prev.wlast)
                violation("wdata/wstrb/wlast changed while wvalid waited for wready");
        }
    }
    bool arready_prev = false, awready_prev = false, wready_prev = false;

    bool burst_ok(const char *ch, uint64_t addr, uint32_t len)
    {
        uint64_t a = addr & ~(uint64_t)(kBeatBytes - 1);
        uint64_t bytes = (uint64_t)(len + 1) * kBeatBytes;
        if (a / 4096 != (a + bytes - 1) / 4096) {
            violation("%s burst at 0x%" PRIx64 " with %u beats crosses a 4 KiB boundary "
                      "(at 0x%" PRIx64 ")",
                      ch, addr, len + 1, (a / 4096 + 1) * 4096);
            return false;
        }
        if (mem.find(a, bytes) == mem.allocs.end()) {
            violation("%s burst at 0x%" PRIx64 " with %u beats (%" PRIu64
                      " bytes) is outside every allocated buffer",
                      ch, addr, len + 1, bytes);
            return false;
        }
        return true;
    }

    void update_mem(const Sample &s_in)
    {
        Vsnn_top *t = top.get();
        // In reset the kernel's outputs are whatever its registers held at
        // power-up: nothing is a transfer, nothing is checked.
        const Sample s = in_reset ? Sample{} : s_in;
        check_stable(s);
        bool ar_hs = s.arvalid && arready;
        bool r_hs = rvalid && s.rready;
        bool aw_hs = s.awvalid && awready;
        bool w_hs = s.wvalid && wready;
        bool b_hs = bvalid && s.bready;
        arready_prev = arready;
        awready_prev = awready;
        wready_prev = wready;
        if (ar_hs | r_hs | aw_hs | w_hs | b_hs) last_xfer = cycle;
        if (rvalid && !s.rready) st.rd_stall_cycles++;

        if (ar_hs) {
            st.rd_bursts++;
            if (burst_ok("read", s.araddr, s.arlen)) {
                uint64_t due = cycle - 1 + (cfg.mem_latency ? cfg.mem_latency : 1);
                rq.push_back({s.araddr & ~(uint64_t)(kBeatBytes - 1), s.arlen + 1, 0, due});
            }
        }
        if (r_hs) {
            st.rd_beats++;
            rvalid = false;
            RdBurst &b = rq.front();
            if (++b.done == b.beats) rq.pop_front();
        }
        if (aw_hs) {
            st.wr_bursts++;
            if (burst_ok("write", s.awaddr, s.awlen))
                awq.push_back({s.awaddr & ~(uint64_t)(kBeatBytes - 1), s.awaddr, s.awlen + 1, 0});
        }
        if (w_hs) {
            st.wr_beats++;
            wq.push_back({s.wdata, (uint8_t)s.wstrb, s.wlast});
        }
        while (!awq.empty() && !wq.empty()) {
            WrBurst &b = awq.front();
            WBeat w = wq.front();
            wq.pop_front();
            bool last = b.done + 1 == b.beats;
            if (w.last != last) {
                violation("wlast=%d on beat %u of a %u-beat write burst at 0x%" PRIx64, w.last,
                          b.done + 1, b.beats, b.req);
                awq.pop_front();
                break;
            }
            if (!mem.write64(b.addr + (uint64_t)b.done * kBeatBytes, w.data, w.strb)) {
                violation("out of host memory for the device memory model");
                break;
            }
            if (++b.done == b.beats) {
                bq.push_back(cycle - 1 + (cfg.write_latency ? cfg.write_latency : 1));
                awq.pop_front();
            }
        }
        if (b_hs) bvalid = false;

        // Outputs of the next cycle. valid, once raised, stays until taken.
        arready = !in_reset && rq.size() < cfg.max_outstanding && !stall();
        awready = !in_reset && awq.size() + bq.size() < cfg.max_outstanding && !stall();
        wready = !in_reset && wq.size() < kWriteFifo && !stall();
        if (!rvalid && !rq.empty() && rq.front().due <= cycle && !stall()) {
            const RdBurst &b = rq.front();
            rdata = mem.read64(b.addr + (uint64_t)b.done * kBeatBytes);
            rlast = b.done + 1 == b.beats;
            rvalid = true;
        }
        if (!bvalid && !bq.empty() && bq.front() <= cycle && !stall()) {
            bvalid = true;
            bq.pop_front();
        }
        t->m_axi_gmem_arready = arready;
        t->m_axi_gmem_rvalid = rvalid;
        t->m_axi_gmem_rdata = rdata;
        t->m_axi_gmem_rlast = rlast;
        t->m_axi_gmem_rresp = 0;
        t->m_axi_gmem_awready = awready;
        t->m_axi_gmem_wready = wready;
        t->m_axi_gmem_bvalid = bvalid;
        t->m_axi_gmem_bresp = 0;
    }

    void update_lite(const Sample &s_in)
    {
        Vsnn_top *t = top.get();
        const Sample s = in_reset ? Sample{} : s_in;
        if (l_awvalid && s.l_awready) l_awvalid = false;
        if (l_wvalid && s.l_wready) {
            l_wvalid = false;
            l_whs_cycle = cycle;
        }
        if (l_bready && s.l_bvalid) {
            l_bready = false;
            l_bdone = true;
            l_resp = s.l_bresp;
        }
        if (l_arvalid && s.l_arready) l_arvalid = false;
        if (l_rready && s.l_rvalid) {
            l_rready = false;
            l_rdone = true;
            l_rdata = s.l_rdata;
            l_resp = s.l_rresp;
        }
        t->s_axi_control_awvalid = l_awvalid;
        t->s_axi_control_awaddr = l_awaddr;
        t->s_axi_control_wvalid = l_wvalid;
        t->s_axi_control_wdata = l_wdata;
        t->s_axi_control_wstrb = 0xF;
        t->s_axi_control_bready = l_bready;
        t->s_axi_control_arvalid = l_arvalid;
        t->s_axi_control_araddr = l_araddr;
        t->s_axi_control_rready = l_rready;
    }

    void drive_lite()
    {
        Vsnn_top *t = top.get();
        t->s_axi_control_awvalid = l_awvalid;
        t->s_axi_control_awaddr = l_awaddr;
        t->s_axi_control_wvalid = l_wvalid;
        t->s_axi_control_wdata = l_wdata;
        t->s_axi_control_wstrb = 0xF;
        t->s_axi_control_bready = l_bready;
        t->s_axi_control_arvalid = l_arvalid;
        t->s_axi_control_araddr = l_araddr;
        t->s_axi_control_rready = l_rready;
    }

    // ---- AXI-Lite master ----
    int reg_write(uint32_t off, uint32_t val)
    {
        if (fault) return refuse_after_fault();
        if (off >= 0x80 || off % 4) return fail(SNN_SIM_ERR_ARG, "register offset 0x%x is not a 32-bit register of the 128-byte map", off);
        l_awvalid = l_wvalid = l_bready = true;
        l_awaddr = off;
        l_wdata = val;
        l_bdone = false;
        drive_lite();
        for (uint32_t n = 0; n < kLiteTimeout && !l_bdone; n++) {
            tick();
            if (UNLIKELY(check_fault())) return fault;
        }
        if (!l_bdone) {
            l_awvalid = l_wvalid = l_bready = false;
            drive_lite();
            return fail(SNN_SIM_ERR_TIMEOUT,
                        "AXI-Lite write of 0x%08x to register 0x%02x got no response in %u cycles "
                        "(awready/wready/bvalid never completed the handshake)",
                        val, off, kLiteTimeout);
        }
        if (l_resp != 0)
            return fail(SNN_SIM_ERR_PROTOCOL, "AXI-Lite write to register 0x%02x answered bresp=%u",
                        off, l_resp);
        return SNN_SIM_OK;
    }
    int reg_read(uint32_t off, uint32_t *val)
    {
        if (fault) return refuse_after_fault();
        if (off >= 0x80 || off % 4) return fail(SNN_SIM_ERR_ARG, "register offset 0x%x is not a 32-bit register of the 128-byte map", off);
        l_arvalid = l_rready = true;
        l_araddr = off;
        l_rdone = false;
        drive_lite();
        for (uint32_t n = 0; n < kLiteTimeout && !l_rdone; n++) {
            tick();
            if (UNLIKELY(check_fault())) return fault;
        }
        if (!l_rdone) {
            l_arvalid = l_rready = false;
            drive_lite();
            return fail(SNN_SIM_ERR_TIMEOUT,
                        "AXI-Lite read of register 0x%02x got no response in %u cycles", off,
                        kLiteTimeout);
        }
        if (l_resp != 0)
            return fail(SNN_SIM_ERR_PROTOCOL, "AXI-Lite read of register 0x%02x answered rresp=%u",
                        off, l_resp);
        *val = l_rdata;
        return SNN_SIM_OK;
    }

    // ---- runs ----
    int start()
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

    std::string state_report()
    {
        uint32_t rbeats = 0;
        for (const RdBurst &b : rq) rbeats += b.beats - b.done;
        char buf[768];
        snprintf(buf, sizeof buf,
                 "m_axi_gmem: %zu read burst(s) outstanding (%u beats to deliver%s), "
                 "%zu write burst(s) awaiting data, %zu W beat(s) awaiting an address, "
                 "%zu B response(s) pending%s; kernel outputs arvalid=%d awvalid=%d wvalid=%d "
                 "rready=%d bready=%d; last m_axi transfer at cycle %" PRIu64
                 " (%" PRIu64 " cycles ago), %" PRIu64 " read / %" PRIu64 " write beats so far",
                 rq.size(), rbeats, rvalid ? ", one waiting for rready" : "", awq.size(), wq.size(),
                 bq.size() + (bvalid ? 1 : 0), bvalid ? " (one waiting for bready)" : "",
                 prev.arvalid, prev.awvalid, prev.wvalid, prev.rready, prev.bready, last_xfer,
                 cycle - last_xfer, st.rd_beats, st.wr_beats);
        return buf;
    }

    int hang(const char *why)
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

    int wait(uint64_t budget, uint64_t *cycles)
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

    int step(uint64_t n)
    {
        if (fault) return refuse_after_fault();
        double t0 = wall_now();
        for (uint64_t i = 0; i < n && !fault; i++) tick();
        st.seconds += wall_now() - t0;
        return check_fault();
    }
};

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
