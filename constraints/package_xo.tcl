# package_xo.tcl - package the RTL kernel (rtl/) as a Vitis kernel object
# (.xo) that `v++ --link` puts on a card, the RTL counterpart of
# hls/run_hls.tcl's export_design.
#
#   vivado -mode batch -nojournal -nolog -source constraints/package_xo.tcl \
#          -tclargs <repo> <out.xo> <part> <config> <PARAM=value>...
#
# what `make xclbin KERNEL_SRC=rtl` runs (mk/xclbin.mk). Steps:
#   1. a Vivado project with the sources of rtl/snn.f in order, top snn_kernel
#      (the layer pipeline of docs/rtl.md) with the Verilog parameters of one
#      configuration of mk/sim.mk (PIPE_PARAMS_<config>),
#      the clock constraint constraints/snn_kernel.xdc (out-of-context only);
#   2. ipx::package_project into an IP whose bus interfaces are the Vitis RTL
#      kernel interfaces: s_axi_control (AXI4-Lite slave, register map of
#      include/snn-regmap.h), m_axi_gmem (AXI4 master), ap_clk, ap_rst_n,
#      interrupt; both AXI interfaces associated with ap_clk;
#   3. the register block of s_axi_control (CTRL, GIE, IER, ISR and the five
#      arguments, pointer arguments tied to m_axi_gmem), the kernel DRCs;
#   4. package_xo with constraints/kernel.xml (argument ids and offsets).
# Parameters fixed at packaging: those of the configuration (stage maxima,
# engines per stage, T) and C_S_AXI_CONTROL_ADDR_WIDTH = 12 (a 4 KiB register
# window, as Vitis expects; the kernel decodes offsets 0x00..0x4F and ignores
# the rest).

if {[llength $argv] < 5} {
    puts stderr "usage: vivado -mode batch -source package_xo.tcl -tclargs <repo> <out.xo> <part> <config> <PARAM=value>..."
    exit 2
}
set repo   [file normalize [lindex $argv 0]]
set xo     [file normalize [lindex $argv 1]]
set part   [lindex $argv 2]
set config [lindex $argv 3]
set params [list C_S_AXI_CONTROL_ADDR_WIDTH 12]
foreach pv [lrange $argv 4 end] {
    set kv [split $pv =]
    if {[llength $kv] != 2} { puts stderr "package_xo: '$pv' is not PARAM=value"; exit 2 }
    lappend params [lindex $kv 0] [lindex $kv 1]
}
set work  [file join [file dirname $xo] rtl_pkg]
set ipdir [file join $work ip]
file delete -force $work
file mkdir $work

# ---- 1. project --------------------------------------------------------------
create_project -force snn_kernel_pkg [file join $work prj] -part $part
set srcs {}
set fl [open [file join $repo rtl snn.f] r]
foreach line [split [read $fl] "\n"] {
    set line [string trim [regsub {//.*$} $line ""]]
    if {$line eq "" || [string match "+*" $line] || [string match "-*" $line]} { continue }
    # snn.f lists paths relative to the repository (rtl/...) or to rtl/
    set p [file join $repo $line]
    if {![file exists $p]} { set p [file join $repo rtl $line] }
    if {![file exists $p]} { puts stderr "package_xo: $line (from rtl/snn.f) not found"; exit 1 }
    lappend srcs $p
}
close $fl
add_files -norecurse $srcs
foreach f $srcs {
    if {[string match "*.sv" $f]} { set_property file_type SystemVerilog [get_files $f] }
}
set_property include_dirs [list [file join $repo rtl]] [current_fileset]
set_property top snn_kernel [current_fileset]
set generic {}
foreach {p v} $params { lappend generic "$p=$v" }
set_property generic [join $generic " "] [current_fileset]
add_files -fileset constrs_1 -norecurse [file join $repo constraints snn_kernel.xdc]
set_property used_in_synthesis true [get_files snn_kernel.xdc]
set_property used_in_implementation false [get_files snn_kernel.xdc]
update_compile_order -fileset sources_1

# ---- 2. IP -----------------------------------------------------------------------
ipx::package_project -root_dir $ipdir -vendor mpbn.org -library kernel -taxonomy /KernelIP \
    -import_files -set_current false
ipx::unload_core [file join $ipdir component.xml]
ipx::edit_ip_in_project -upgrade true -name snn_kernel_edit -directory [file join $work edit] \
    [file join $ipdir component.xml]
set core [ipx::current_core]
set_property core_revision 1 $core
set_property display_name "snn_kernel (mpbn layer pipeline, configuration $config)" $core
set_property description "Event-driven layer-pipeline SNN kernel (docs/rtl.md)" $core

# Fixed parameter values, not user choices in the IP.
foreach {p v} $params {
    set up [ipx::get_user_parameters $p -of_objects $core]
    if {$up ne ""} { set_property value $v $up }
    set hp [ipx::get_hdl_parameters $p -of_objects $core]
    if {$hp ne ""} { set_property value $v $hp }
}

# Vitis kernel properties.
set_property sdx_kernel true $core
set_property sdx_kernel_type rtl $core
set_property vitis_drc {ctrl_protocol ap_ctrl_hs} $core
set_property ipi_drc {ignore_freq_hz true} $core

ipx::associate_bus_interfaces -busif m_axi_gmem -clock ap_clk $core
ipx::associate_bus_interfaces -busif s_axi_control -clock ap_clk $core
set clk [ipx::get_bus_interfaces ap_clk -of_objects $core]
if {[ipx::get_bus_parameters ASSOCIATED_RESET -of_objects $clk] eq ""} {
    ipx::add_bus_parameter ASSOCIATED_RESET $clk
}
set_property value ap_rst_n [ipx::get_bus_parameters ASSOCIATED_RESET -of_objects $clk]
if {[ipx::get_bus_interfaces interrupt -of_objects $core] eq ""} {
    ipx::infer_bus_interface interrupt xilinx.com:signal:interrupt_rtl:1.0 $core
}

# ---- 3. register map -------------------------------------------------------------
set mm [ipx::get_memory_maps s_axi_control -of_objects $core]
if {$mm eq ""} { set mm [ipx::add_memory_map s_axi_control $core] }
set_property slave_memory_map_ref s_axi_control [ipx::get_bus_interfaces s_axi_control -of_objects $core]
set blk [ipx::get_address_blocks reg0 -of_objects $mm]
if {$blk eq ""} { set blk [ipx::add_address_block reg0 $mm] }
set_property range 0x1000 $blk
set_property width 32 $blk
# name offset bits description [bus of a pointer argument]
foreach {name off bits desc bus} {
    CTRL     0x000 32 "ap_start ap_done ap_idle ap_ready auto_restart" ""
    GIE      0x004 32 "global interrupt enable" ""
    IER      0x008 32 "interrupt enable (ap_done, ap_ready)" ""
    ISR      0x00C 32 "interrupt status (toggle on write)" ""
    model    0x010 64 "deploy image, device address" m_axi_gmem
    images   0x01C 64 "uint8 images, device address" m_axi_gmem
    results  0x028 64 "result records, device address" m_axi_gmem
    trace    0x034 64 "spike trace, device address, 0 = off" m_axi_gmem
    n_images 0x040 32 "images in this run" ""
    flags    0x048 32 "bit 0: reload the model" ""
} {
    set r [ipx::add_register $name $blk]
    set_property address_offset $off $r
    set_property size $bits $r
    set_property description $desc $r
    if {$bus ne ""} {
        set pa [ipx::add_register_parameter ASSOCIATED_BUSIF $r]
        set_property value $bus $pa
    }
}

set_property supported_families {virtexuplus Production virtexuplusHBM Production kintexuplus Production} $core
ipx::create_xgui_files $core
ipx::update_checksums $core
if {![ipx::check_integrity -kernel $core]} {
    puts stderr "package_xo: the IP fails Vitis kernel checks (see above)"
    exit 1
}
ipx::save_core $core
close_project -delete

# ---- 4. kernel object ------------------------------------------------------------
file delete -force $xo
package_xo -xo_path $xo -kernel_name snn_kernel -ip_directory $ipdir \
    -kernel_xml [file join $repo constraints kernel.xml] -ctrl_protocol ap_ctrl_hs
puts "package_xo: wrote $xo (configuration $config, part $part)"
exit 0
