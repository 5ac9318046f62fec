# driver.mk - link the device backends into build/mpbn and the tests.
#
# driver/dev.c's registry holds weak references (a build without a backend
# simply lacks that entry). A static archive member is only pulled in by a
# strong reference, so without help the linker would drop every backend from
# build/libsnn.a. `-u snn_dev_<name>` makes the symbol wanted: list here each
# backend whose driver/dev-<name>.c always defines `snn_dev_<name>` (a stub
# whose open() explains what is missing is fine). A backend that is compiled
# conditionally appends itself to DEV_LINK from its own fragment only when it
# is really built (e.g. mk/sim.mk after the Verilator model exists).
comma := ,
DEV_LINK += $(foreach b,ref csim xrt,$(if $(wildcard driver/dev-$(b).c),$(b)))
LDLIBS += $(foreach b,$(DEV_LINK),-Wl$(comma)-u$(comma)snn_dev_$(b))

# The XRT backend (driver/dev-xrt.c) compiles against the XRT headers and
# loads the XRT libraries at run time (dlopen), so build/mpbn links nothing of
# XRT and runs on machines without it. Debian's libxrt-dev puts the headers
# under /usr/include/xrt; AMD's package under $XILINX_XRT/include. Without
# them the backend compiles to a stub that says so.
XRT_INCDIR ?= $(firstword $(foreach d,$(if $(XILINX_XRT),$(XILINX_XRT)/include) /usr/include/xrt,\
                $(if $(wildcard $(d)/xrt/xrt_kernel.h),$(d))))
$(BUILD)/obj/driver/dev-xrt.o: CFLAGS += $(if $(XRT_INCDIR),-I$(XRT_INCDIR))
