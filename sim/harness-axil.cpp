// harness-axil.cpp - the AXI-Lite master of the Verilator harness: register
// access on the kernel's s_axi_control (ap_ctrl_hs, include/snn-regmap.h), one
// write or read at a time, as the card's shell does it. reg_write/reg_read
// clock the model (tick(), harness.cpp) until the handshake completes or
// kLiteTimeout cycles pass; update_lite() runs once per cycle from tick().
#include <cstdint>

#include "harness-internal.h"

using namespace snn_harness;

namespace {
constexpr uint32_t kLiteTimeout = 1000; // cycles an AXI-Lite access may take
} // namespace

void snn_sim::update_lite(const Sample &s_in)
{
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
    drive_lite();
}

// The master's outputs of the next cycle.
void snn_sim::drive_lite()
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

int snn_sim::reg_write(uint32_t off, uint32_t val)
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
int snn_sim::reg_read(uint32_t off, uint32_t *val)
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
