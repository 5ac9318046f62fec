// harness-internal.h - what the three parts of the Verilator harness share:
// the simulator object (struct snn_sim behind sim/snn-sim.h) and the types of
// its models. Not a contract: only sim/harness*.cpp include it.
//
//   harness-mem.cpp    the AXI memory model on m_axi_gmem: sparse device
//                      memory, latency, outstanding bursts, random
//                      back-pressure, protocol checks, the state report of a hang
//   harness-axil.cpp   the AXI-Lite master on s_axi_control: register access
//   harness.cpp        the clock (tick), runs (start/wait/step), the Verilator
//                      runtime hooks and the C API (snn_sim_get_api)
#ifndef SNN_HARNESS_INTERNAL_H
#define SNN_HARNESS_INTERNAL_H

#include <verilated.h>
#if VM_TRACE_FST
#include <verilated_fst_c.h>
#endif

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "Vsnn_top.h"
#include "snn-common.h"
#include "snn-sim.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace snn_harness {

constexpr uint32_t kBeatBytes = 8; // m_axi_gmem data width / 8

// The project's splitmix64 (include/snn-common.h): cheap, seeded,
// reproducible back-pressure.
struct Rng {
    uint64_t s = 0;
    void seed(uint64_t v) { s = v; }
    uint32_t next() { return (uint32_t)(snn_rng_next(&s) >> 32); }
};

// ---- sparse device memory (harness-mem.cpp) ------------------------------------
struct Memory {
    std::map<uint64_t, uint64_t> allocs; // base -> size rounded to pages
    std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages;
    uint64_t next = SNN_SIM_MEM_BASE;
    uint64_t cache_no = ~0ull;
    uint8_t *cache_page = nullptr;

    // The allocation that holds [addr, addr+n), or allocs.end().
    std::map<uint64_t, uint64_t>::const_iterator find(uint64_t addr, uint64_t n) const;
    uint8_t *page(uint64_t addr, bool create);
    uint64_t read64(uint64_t addr); // addr 8-byte aligned, unwritten memory reads 0
    bool write64(uint64_t addr, uint64_t data, uint8_t strb);
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

} // namespace snn_harness

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
    snn_harness::Memory mem;
    snn_harness::Rng rng;
    uint32_t stall_thresh = 0; // back-pressure probability in 1/2^32

    // memory model state
    std::deque<snn_harness::RdBurst> rq;
    std::deque<snn_harness::WrBurst> awq;
    std::deque<snn_harness::WBeat> wq;
    std::deque<uint64_t> bq; // due cycles of B responses not yet presented
    bool arready = false, awready = false, wready = false;
    bool rvalid = false, rlast = false, bvalid = false;
    uint64_t rdata = 0;
    uint64_t last_xfer = 0;  // cycle of the last m_axi handshake
    snn_harness::Sample prev{};
    bool arready_prev = false, awready_prev = false, wready_prev = false;

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

    // ---- errors (harness.cpp) ----
    int fail(int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    // A violation seen inside tick(): sticky, reported by the API call that clocks.
    void violation(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
    int check_fault();
    int refuse_after_fault();

    // ---- the clock and runs (harness.cpp) ----
    void dump();
    void tick();
    int start();
    int hang(const char *why);
    int wait(uint64_t budget, uint64_t *cycles);
    int step(uint64_t n);

    // ---- AXI memory model (harness-mem.cpp) ----
    bool stall();
    void check_quiet(const char *what);
    void check_stable(const snn_harness::Sample &s);
    bool burst_ok(const char *ch, uint64_t addr, uint32_t len);
    void update_mem(const snn_harness::Sample &s_in);
    std::string state_report();

    // ---- AXI-Lite master (harness-axil.cpp) ----
    void update_lite(const snn_harness::Sample &s_in);
    void drive_lite();
    int reg_write(uint32_t off, uint32_t val);
    int reg_read(uint32_t off, uint32_t *val);
};

#endif
