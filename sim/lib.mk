# lib.mk - links one Verilated model and the harness into a shared library.
# Run by mk/sim.mk inside the Verilator output directory:
#   make -C <objdir> -f sim/lib.mk SIM_LIB_OUT=<path.so> SIM_VERSION_SCRIPT=<map>
# It reuses the generated Vsnn_top.mk for the compile rules and flags, and adds
# the one rule Verilator does not have: a position-independent shared library
# that exports snn_sim_get_api() and nothing else.
include Vsnn_top.mk

$(SIM_LIB_OUT): $(VM_PREFIX)__ALL.a $(VK_USER_OBJS) $(VK_GLOBAL_OBJS)
	$(LINK) -shared -o $@ -Wl,--version-script=$(SIM_VERSION_SCRIPT) -Wl,-z,defs \
	    $(VK_USER_OBJS) $(VK_GLOBAL_OBJS) \
	    -Wl,--whole-archive $(VM_PREFIX)__ALL.a -Wl,--no-whole-archive \
	    $(LDFLAGS) $(LDLIBS) $(LIBS)
