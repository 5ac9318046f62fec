# snn_kernel.xdc - clock of the RTL kernel for out-of-context synthesis and
# timing checks while it is packaged (constraints/package_xo.tcl).
#
# Inside a Vitis card image the platform drives ap_clk (its frequency is set
# at link time: `v++ --link --kernel_frequency 300`, mk/xclbin.mk) and this
# file is not used for implementation. The target is the clock stated in
# docs/rtl.md: 300 MHz, a 3.333 ns period, on UltraScale+ -2 speed grade
# (U50, U250, U280, U55C).
create_clock -period 3.333 -name ap_clk [get_ports ap_clk]

# ap_rst_n is synchronous to ap_clk (docs/rtl.md) and comes from a
# platform reset synchronizer: an ordinary timed path, no false path.

# The interrupt output is a registered level signal sampled by the platform's
# interrupt controller in the same clock domain: no constraint needed.
