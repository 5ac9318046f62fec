// harness-mem.cpp - the AXI memory model of the Verilator harness: the card's
// device memory as the kernel's m_axi_gmem master sees it. Sparse pages, read
// latency (cfg.mem_latency) and write-response latency (cfg.write_latency),
// up to cfg.max_outstanding bursts, random back-pressure on every ready and
// valid it drives (cfg.backpressure, seeded by cfg.seed), and the protocol
// checks: 4 KiB boundaries, bursts outside every buffer, wlast, valid held
// until ready, no completion with transfers in flight. update_mem() runs once
// per cycle from tick() (harness.cpp); state_report() describes a hang.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>

#include "harness-internal.h"

using namespace snn_harness;

namespace {
constexpr size_t kWriteFifo = 1024; // W beats buffered ahead of their AW
} // namespace

// ---- sparse device memory -------------------------------------------------------
namespace snn_harness {

// The allocation that holds [addr, addr+n), or allocs.end().
std::map<uint64_t, uint64_t>::const_iterator Memory::find(uint64_t addr, uint64_t n) const
{
    auto it = allocs.upper_bound(addr);
    if (it == allocs.begin()) return allocs.end();
    --it;
    if (addr - it->first > it->second || n > it->second - (addr - it->first))
        return allocs.end();
    return it;
}
uint8_t *Memory::page(uint64_t addr, bool create)
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
// addr 8-byte aligned; unwritten memory reads 0.
uint64_t Memory::read64(uint64_t addr)
{
    const uint8_t *p = page(addr, false);
    uint64_t v = 0;
    if (p) memcpy(&v, p + addr % SNN_SIM_PAGE, 8);
    return v;
}
bool Memory::write64(uint64_t addr, uint64_t data, uint8_t strb)
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

} // namespace snn_harness

// ---- the m_axi_gmem slave ------------------------------------------------------
bool snn_sim::stall() { return stall_thresh && rng.next() < stall_thresh; }

// The kernel may not signal completion while it has transfers in flight:
// on a card the results would not be in memory yet.
void snn_sim::check_quiet(const char *what)
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
void snn_sim::check_stable(const Sample &s)
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

bool snn_sim::burst_ok(const char *ch, uint64_t addr, uint32_t len)
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

void snn_sim::update_mem(const Sample &s_in)
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

// What m_axi_gmem was doing, for the message of a hang.
std::string snn_sim::state_report()
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
