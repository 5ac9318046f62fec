# run_hls.tcl - synthesize the SNN kernel (hls/snn_kernel.c, the layer
# pipeline of the RTL kernel in C) with Vitis HLS and export it as a Vitis
# kernel object (.xo) for `v++ --link`.
#
#   cd build/hls && vitis_hls -f ../../hls/run_hls.tcl       (what `make hls` runs)
#
# Environment (all optional; `make hls` sets them):
#   HLS_SRC    repository root                      (default ../..)
#   HLS_PART   FPGA part: xcu250-figd2104-2L-e (Alveo U250, default) or
#              xcu50-fsvh2104-2-e (Alveo U50)
#   HLS_CLOCK  kernel clock                         (default 300MHz)
#   HLS_DEFINES the configuration's parameters, -DSNN_HLS_<param>=<value> ...
#              (`make hls HLS_CONFIG=card` passes PIPE_PARAMS_card of mk/sim.mk;
#              default: none, i.e. the card defaults of hls/snn_kernel.h)
#   HLS_CSIM   1 = also run csim_design with tests/hls_tb.c if present (default 0;
#              `make` already runs the same source as the csim device)
#
# Outputs under build/hls/snn_kernel_prj/: solution1/syn/report/*.rpt (latency,
# II of every labelled loop, in particular CS_CYCLES of each conv stage,
# BRAM/URAM/DSP/LUT use) and build/hls/snn_kernel.xo. docs/hls-kernel.md lists
# what the reports must confirm for csim's cycle model to hold.

proc env_or {name default} {
    if {[info exists ::env($name)] && $::env($name) ne ""} { return $::env($name) }
    return $default
}

set src   [env_or HLS_SRC ../..]
set part  [env_or HLS_PART xcu250-figd2104-2L-e]
set clock [env_or HLS_CLOCK 300MHz]
set defines [env_or HLS_DEFINES ""]
set csim  [env_or HLS_CSIM 0]

set cflags "-I$src/hls -I$src/include $defines"

open_project -reset snn_kernel_prj
set_top snn_kernel
add_files $src/hls/snn_kernel.c -cflags $cflags
add_files $src/hls/snn_kernel.h -cflags $cflags
add_files $src/hls/snn_conv_stage.h -cflags $cflags
add_files $src/hls/hls-compat.h -cflags $cflags
add_files $src/include/snn-deploy-format.h -cflags $cflags
if {$csim && [file exists $src/tests/hls_tb.c]} {
    add_files -tb $src/tests/hls_tb.c -cflags $cflags
}

open_solution -reset solution1 -flow_target vitis
set_part $part
create_clock -period $clock -name default
# 512-bit AXI bursts from the 32-bit (and 8-bit) C ports; the register map
# (include/snn-regmap.h) is fixed by the s_axilite offsets in the source.
config_interface -m_axi_max_widen_bitwidth 512 -m_axi_alignment_byte_size 64
config_interface -m_axi_latency 64
# Kernel-style control (ap_ctrl_hs through s_axi_control), as the RTL kernel.

if {$csim && [file exists $src/tests/hls_tb.c]} {
    csim_design
}
csynth_design
export_design -format xo -output [pwd]/snn_kernel.xo
exit
