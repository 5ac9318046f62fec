# mk/xclbin.mk - the card image, and the XRT backend's test equipment.
#
#   make xclbin TARGET=hw|hw_emu PLATFORM=u50|u250|u280|u55c|<platform name or .xpfm>
#               [KERNEL_SRC=hls|rtl] [RTL_CONFIG=card] [KERNEL_MHZ=300]
#   make xclbin-cmds ...      print the commands `make xclbin` would run (no tools needed)
#   make xrt-fake             build/xrt-fake: an XRT stand-in for tests/cli-xrt.sh
#
# `make xclbin` builds build/xclbin/<TARGET>/<platform>/snn_kernel.xclbin:
#   KERNEL_SRC=hls  Vitis HLS exports hls/ as build/hls/snn_kernel.xo (`make hls`) with
#                   the parameters of configuration RTL_CONFIG (HLS_CONFIG, mk/hls.mk)
#   KERNEL_SRC=rtl  Vivado packages rtl/ as an RTL kernel (constraints/package_xo.tcl,
#                   constraints/kernel.xml, constraints/snn_kernel.xdc) with the
#                   parameters of configuration RTL_CONFIG (PIPE_PARAMS_<config>, mk/sim.mk)
#   then `v++ --link` with constraints/<card>.cfg (compute units, memory banks,
#   SLRs) at KERNEL_MHZ; for hw_emu also emconfig.json beside the xclbin.
# AMD Vitis (v++, vitis_hls, vivado, emconfigutil) is not in Debian: every
# step checks for its tool first and says where it comes from.
# Step by step for a card: docs/running-on-alveo.md.

TARGET       ?= hw
PLATFORM     ?= u250
KERNEL_SRC   ?= hls
KERNEL_MHZ   ?= 300
# The RTL configuration a card's SLR holds (mk/sim.mk; docs/rtl-pipeline.md,
# "Per card"): `card` (2/27/7 engines) on a U250, `u280` (2/19/5) on the
# cards whose SLRs have fewer DSP slices.
XCLBIN_RTL_CONFIG_u50  := u280
XCLBIN_RTL_CONFIG_u280 := u280
XCLBIN_RTL_CONFIG_u55c := u280
RTL_CONFIG   ?= $(or $(XCLBIN_RTL_CONFIG_$(PLATFORM)),card)
VPP          ?= v++
VIVADO       ?= vivado
EMCONFIGUTIL ?= emconfigutil

# Short card names -> the 2022.x platforms this project's link configs name.
XCLBIN_PLATFORM_u50  := xilinx_u50_gen3x16_xdma_5_202210_1
XCLBIN_PLATFORM_u250 := xilinx_u250_gen3x16_xdma_4_1_202210_1
XCLBIN_PLATFORM_u280 := xilinx_u280_gen3x16_xdma_1_202211_1
XCLBIN_PLATFORM_u55c := xilinx_u55c_gen3x16_xdma_3_202210_1
XCLBIN_PART_u50      := xcu50-fsvh2104-2-e
XCLBIN_PART_u250     := xcu250-figd2104-2L-e
XCLBIN_PART_u280     := xcu280-fsvh2892-2L-e
XCLBIN_PART_u55c     := xcu55c-fsvh2892-2L-e

# PLATFORM may be a short name, a platform name or a path to its .xpfm.
XCLBIN_PFM_ARG  = $(or $(XCLBIN_PLATFORM_$(PLATFORM)),$(PLATFORM))
XCLBIN_PFM_NAME = $(basename $(notdir $(XCLBIN_PFM_ARG)))
XCLBIN_CARD     = $(or $(if $(XCLBIN_PLATFORM_$(PLATFORM)),$(PLATFORM)),$(word 2,$(subst _, ,$(XCLBIN_PFM_NAME))))
XCLBIN_CFG     ?= constraints/$(XCLBIN_CARD).cfg
XCLBIN_PART     = $(XCLBIN_PART_$(XCLBIN_CARD))
XCLBIN_DIR      = $(BUILD)/xclbin/$(TARGET)/$(XCLBIN_PFM_NAME)
XCLBIN          = $(XCLBIN_DIR)/snn_kernel.xclbin
XCLBIN_XO       = $(if $(filter rtl,$(KERNEL_SRC)),$(XCLBIN_DIR)/rtl/snn_kernel.xo,$(BUILD)/hls/snn_kernel.xo)

# The three steps (also printed by xclbin-cmds).
XCLBIN_CMD_XO = $(if $(filter rtl,$(KERNEL_SRC)),$(VIVADO) -mode batch -nojournal -nolog -source $(CURDIR)/constraints/package_xo.tcl -tclargs $(CURDIR) $(CURDIR)/$(XCLBIN_XO) $(XCLBIN_PART) $(RTL_CONFIG) $(PIPE_PARAMS_$(RTL_CONFIG)),$(MAKE) --no-print-directory hls HLS_PART=$(XCLBIN_PART) HLS_CLOCK=$(KERNEL_MHZ)MHz HLS_CONFIG=$(RTL_CONFIG))
XCLBIN_CMD_LINK = $(VPP) --link --target $(TARGET) --platform $(XCLBIN_PFM_ARG) --config $(XCLBIN_CFG) --kernel_frequency $(KERNEL_MHZ) --temp_dir $(XCLBIN_DIR)/tmp --log_dir $(XCLBIN_DIR)/log --report_dir $(XCLBIN_DIR)/report --output $(XCLBIN) $(XCLBIN_XO)
XCLBIN_CMD_EMU = $(if $(filter hw_emu,$(TARGET)),$(EMCONFIGUTIL) --platform $(XCLBIN_PFM_ARG) --od $(XCLBIN_DIR))

.PHONY: xclbin xclbin-cmds xclbin-check xrt-fake

xclbin-check:
	@case "$(TARGET)" in hw|hw_emu) ;; *) \
	    echo "make xclbin: TARGET=$(TARGET): use TARGET=hw (a card) or TARGET=hw_emu (hardware emulation)" >&2; exit 2;; esac
	@case "$(KERNEL_SRC)" in hls|rtl) ;; *) \
	    echo "make xclbin: KERNEL_SRC=$(KERNEL_SRC): use KERNEL_SRC=hls (hls/) or KERNEL_SRC=rtl (rtl/)" >&2; exit 2;; esac
	@if [ ! -f "$(XCLBIN_CFG)" ]; then \
	    echo "make xclbin: no link configuration $(XCLBIN_CFG) for platform '$(XCLBIN_PFM_NAME)'." >&2; \
	    echo "  Cards with one: u50 u250 u280 u55c (constraints/*.cfg). For another card copy the" >&2; \
	    echo "  closest .cfg, name its memory banks (platforminfo -p <platform>) and pass XCLBIN_CFG=FILE." >&2; \
	    exit 2; fi
	@if [ -z "$(XCLBIN_PART)" ] && [ "$(KERNEL_SRC)" = rtl ]; then \
	    echo "make xclbin: no FPGA part known for card '$(XCLBIN_CARD)'; pass XCLBIN_PART=<part>" >&2; exit 2; fi
	@missing=""; \
	command -v $(VPP) >/dev/null 2>&1 || missing="$$missing $(VPP)"; \
	if [ "$(KERNEL_SRC)" = rtl ]; then command -v $(VIVADO) >/dev/null 2>&1 || missing="$$missing $(VIVADO)"; \
	else command -v vitis_hls >/dev/null 2>&1 || command -v vivado_hls >/dev/null 2>&1 || missing="$$missing vitis_hls"; fi; \
	if [ "$(TARGET)" = hw_emu ]; then command -v $(EMCONFIGUTIL) >/dev/null 2>&1 || missing="$$missing $(EMCONFIGUTIL)"; fi; \
	if [ -n "$$missing" ]; then \
	    echo "make xclbin: missing on this machine:$$missing" >&2; \
	    echo "  These come with AMD Vitis (2022.1 or newer), which is not in Debian:" >&2; \
	    echo "  install Vitis and the development platform of your card ($(XCLBIN_PFM_NAME))," >&2; \
	    echo "  then 'source <Vitis>/settings64.sh; source /opt/xilinx/xrt/setup.sh' and rerun" >&2; \
	    echo "    make xclbin TARGET=$(TARGET) PLATFORM=$(PLATFORM) KERNEL_SRC=$(KERNEL_SRC)" >&2; \
	    echo "  (docs/running-on-alveo.md; 'make xclbin-cmds' prints the commands it would run)." >&2; \
	    exit 1; fi

xclbin: xclbin-check ## build the card image with Vitis: make xclbin TARGET=hw|hw_emu PLATFORM=u250 [KERNEL_SRC=hls|rtl]
	@mkdir -p $(XCLBIN_DIR) $(dir $(XCLBIN_XO))
	$(XCLBIN_CMD_XO)
	$(XCLBIN_CMD_LINK)
	$(XCLBIN_CMD_EMU)
	@echo "card image: $(XCLBIN)"
	@echo "run:  $(if $(filter hw_emu,$(TARGET)),XCL_EMULATION_MODE=hw_emu EMCONFIG_PATH=$(XCLBIN_DIR) )$(MPBN) eval MODEL.snn --device xrt --xclbin $(XCLBIN)"

xclbin-cmds: ## print the commands `make xclbin` runs (same TARGET, PLATFORM, KERNEL_SRC)
	@echo "# card $(XCLBIN_CARD), platform $(XCLBIN_PFM_NAME), part $(XCLBIN_PART), $(KERNEL_SRC) kernel, configuration $(RTL_CONFIG), $(KERNEL_MHZ) MHz"
	@echo "# link configuration $(XCLBIN_CFG)"
	@echo '$(XCLBIN_CMD_XO)'
	@echo '$(XCLBIN_CMD_LINK)'
	$(if $(XCLBIN_CMD_EMU),@echo '$(XCLBIN_CMD_EMU)')

# ---- XRT stand-in for the tests (tests/xrt-fake.c) ----------------------------------
# A fake libxrt_coreutil.so.2 (card memory in RAM, the golden model as kernel)
# under build/xrt-fake/lib, used as XILINX_XRT=build/xrt-fake so driver/dev-xrt.c
# runs its whole card path without a card: placement on several compute
# units, runs in flight, trace on/off, timeouts, the power sampler.
XRT_FAKE_DIR := $(BUILD)/xrt-fake
XRT_FAKE_LIB := $(XRT_FAKE_DIR)/lib/libxrt_coreutil.so.2
XRT_FAKE_SRC := tests/xrt-fake.c $(COMMON_SRCS) $(DEPLOY_SRCS)

$(XRT_FAKE_LIB): $(XRT_FAKE_SRC) host/deploy/snn-deploy.h include/snn-deploy-format.h include/snn-common.h include/snn-regmap.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra -Wshadow \
	    -Wno-unused-parameter -Iinclude -Ihost -I. -I$(XRT_INCDIR) -D_GNU_SOURCE \
	    -Wl,-Bsymbolic -Wl,--no-undefined -Wl,-soname,libxrt_coreutil.so.2 \
	    -o $@ $(XRT_FAKE_SRC) -lz -lm -lpthread
	@: > $(@D)/libxrt_core.so.2   # XRT's driver library only has to exist

$(XRT_FAKE_DIR)/make-xclbin: tests/xrt-fake.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -DXRT_FAKE_MAIN -I$(XRT_INCDIR) -o $@ $<

# A model rewritten at the same address still runs on a kernel that keeps it
# on chip (driver/dev-xrt.c sets SNN_FLAG_RELOAD; tests/cli-xrt.sh).
$(XRT_FAKE_DIR)/xrt-reload: tests/xrt-reload.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

xrt-fake: $(if $(XRT_INCDIR),$(XRT_FAKE_LIB) $(XRT_FAKE_DIR)/make-xclbin $(XRT_FAKE_DIR)/xrt-reload) ## build the XRT stand-in the xrt tests use (build/xrt-fake)

test-cli: xrt-fake
