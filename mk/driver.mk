# driver.mk - build flags of the device backends.
#
# driver/dev.c's registry references every backend, so all of them are linked
# into build/mpbn and the tests; those needing optional software (sim: the
# Verilator model, xrt: XRT) load it at open() time and say what is missing.

# The XRT backend (driver/dev-xrt.c, with driver/xrt-preflight.c and
# driver/board-power.c, which needs no XRT) compiles against the XRT headers and
# loads the XRT libraries at run time (dlopen), so build/mpbn links nothing of
# XRT and runs on machines without it. Debian's libxrt-dev puts the headers
# under /usr/include/xrt; AMD's package under $XILINX_XRT/include. Without
# them the backend compiles to a stub that says so.
XRT_INCDIR ?= $(firstword $(foreach d,$(if $(XILINX_XRT),$(XILINX_XRT)/include) /usr/include/xrt,\
                $(if $(wildcard $(d)/xrt/xrt_kernel.h),$(d))))
$(BUILD)/obj/driver/dev-xrt.o $(BUILD)/obj/driver/xrt-preflight.o: CFLAGS += $(if $(XRT_INCDIR),-I$(XRT_INCDIR))
