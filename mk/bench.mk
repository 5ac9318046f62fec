# mk/bench.mk - `mpbn bench` figures, the PNG plots of docs/results.md and the
# two small C tools they use.
#
#   make tools            build/tools/snn-randnet (random .snn), snn-thresholds (CSV)
#   make bench-devices    mpbn bench on BENCH_DEVICES (ref,csim; +xrt with BENCH_XCLBIN=FILE)
#                         -> build/plots/bench.{csv,json,txt}
#   make bench-configs    csim in every configuration of the layer pipeline that
#                         holds BENCH_MODEL -> build/plots/configs.csv
#   make plots            docs/img/{spike-rate,thresholds,configs}.png (gnuplot)
#   make bench-arch       the event-driven layer pipeline's architectural model on
#                         BENCH_MODEL's real spikes (docs/rtl-pipeline.md)
#   make bench-driver     host-side images/s of the xrt driver alone (XRT stand-in,
#                         kernel taking no time) at 1, 4 and 8 compute units, and
#                         on 2 and 4 cards of 4 compute units
#
# BENCH_MODEL is the trained fixture by default; any .snn works:
#   make plots BENCH_MODEL=my.snn BENCH_LIMIT=2000

TOOLS        := $(BUILD)/tools/snn-randnet $(BUILD)/tools/snn-thresholds $(BUILD)/tools/snn-archmodel \
                $(BUILD)/tools/snn-pipe-bench $(BUILD)/tools/snn-convbench
BENCH_MODEL  ?= $(FIXTURE_CHANNEL_SNN)
BENCH_LIMIT  ?= 1000
# Devices of bench-devices; BENCH_XCLBIN=FILE adds the card (xrt).
bench_comma  := ,
BENCH_DEVICES ?= ref,csim$(if $(BENCH_XCLBIN),$(bench_comma)xrt)
PLOT_DIR     := $(BUILD)/plots
GNUPLOT      ?= gnuplot

$(BUILD)/tools/%: tools/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

.PHONY: tools bench-devices bench-configs plots plots-check-gnuplot

tools: $(TOOLS) ## build the helper tools (random deploy image, thresholds as CSV, architectural model)

# The CLI tests build their own models with snn-randnet.
test-cli: $(TOOLS)

bench-devices: $(MPBN) $(BENCH_MODEL) ## mpbn bench on ref,csim (+xrt with BENCH_XCLBIN=FILE), fixture, BENCH_LIMIT images
	@mkdir -p $(PLOT_DIR)
	$(MPBN) bench $(BENCH_MODEL) --devices $(BENCH_DEVICES) --limit $(BENCH_LIMIT) \
	    $(if $(BENCH_XCLBIN),--xclbin $(BENCH_XCLBIN)) --csv $(PLOT_DIR)/bench.csv \
	    | tee $(PLOT_DIR)/bench.txt | tail -n 1 > $(PLOT_DIR)/bench.json

# One bench per configuration of the layer pipeline (mk/sim.mk) on the HLS
# kernel (csim: its cycle model, docs/hls-kernel.md); a configuration that
# does not hold BENCH_MODEL is skipped with the reason. `make bench-sim`
# measures the RTL kernel.
bench-configs: $(MPBN) $(BENCH_MODEL) ## cycles per image, projected throughput and slowest stage per configuration (csim)
	@mkdir -p $(PLOT_DIR)
	@echo "device,config,cycles_per_image,projected_images_per_s,interval_cycles,synops_per_image" \
	    > $(PLOT_DIR)/configs.csv.tmp
	@set -e; for dev in csim; do for c in $(PIPE_CONFIG_NAMES); do \
	    lim=$(BENCH_LIMIT); \
	    echo "bench-configs: $$dev, configuration $$c, $$lim images" >&2; \
	    $(MPBN) bench $(BENCH_MODEL) --devices $$dev --config $$c --limit $$lim \
	        --csv $(PLOT_DIR)/configs-$$dev-$$c.csv > /dev/null 2>$(PLOT_DIR)/configs-$$dev-$$c.log \
	        || { tail -n 2 $(PLOT_DIR)/configs-$$dev-$$c.log >&2; echo "bench-configs: $$dev $$c skipped" >&2; continue; }; \
	    awk -F, 'NR > 1 { syn += $$8 } NR == 2 { d = $$1; cf = $$10; c = $$12; p = $$13; iv = $$14 } \
	        END { print d "," cf "," c "," p "," iv "," syn }' $(PLOT_DIR)/configs-$$dev-$$c.csv \
	        >> $(PLOT_DIR)/configs.csv.tmp; \
	done; done
	@mv $(PLOT_DIR)/configs.csv.tmp $(PLOT_DIR)/configs.csv
	@column -s, -t $(PLOT_DIR)/configs.csv

$(PLOT_DIR)/thresholds.csv: $(BENCH_MODEL) $(BUILD)/tools/snn-thresholds
	@mkdir -p $(@D)
	$(BUILD)/tools/snn-thresholds $< > $@.tmp && mv $@.tmp $@

plots-check-gnuplot:
	@command -v $(GNUPLOT) >/dev/null || { \
	    echo "make plots: gnuplot not found; install Debian's gnuplot-nox (make deps)" >&2; exit 1; }

plots: plots-check-gnuplot bench-devices bench-configs $(PLOT_DIR)/thresholds.csv ## PNG plots into docs/img/ (spike rate, thresholds, throughput per configuration)
	@mkdir -p docs/img
	$(GNUPLOT) -e "in='$(PLOT_DIR)/bench.csv'; out='docs/img/spike-rate.png'" scripts/plot-spike-rate.gp
	$(GNUPLOT) -e "in='$(PLOT_DIR)/thresholds.csv'; out='docs/img/thresholds.png'" scripts/plot-thresholds.gp
	$(GNUPLOT) -e "in='$(PLOT_DIR)/configs.csv'; out='docs/img/configs.png'" scripts/plot-configs.gp
	@ls -l docs/img/*.png

BENCH_TARGETS += bench-devices bench-configs

# The architectural model of the layer pipeline (docs/rtl-pipeline.md): engines
# per stage sized for ARCH_INTERVAL cycles per image (4285 = 70,000 images/s at
# 300 MHz), on ARCH_IMAGES test images of BENCH_MODEL.
ARCH_INTERVAL ?= 4285
ARCH_IMAGES   ?= 500
.PHONY: bench-arch
bench-arch: $(BUILD)/tools/snn-archmodel $(BENCH_MODEL) ## layer-pipeline model: engines, cycles/image, images/s, BRAM, uJ/image
	$(BUILD)/tools/snn-archmodel $(BENCH_MODEL) --images $(ARCH_IMAGES) --interval $(ARCH_INTERVAL)
BENCH_TARGETS += bench-arch

# Host-side cost of the xrt driver (driver/dev-xrt.c, driver/dev.c): buffer
# writes, argument setting, run start and wait, result reads and the spreading
# of batches over compute units and cards, with the kernel taking no time (the
# XRT stand-in with XRT_FAKE_NOP=1, tests/xrt-fake.c): one card with xclbins of
# 1, 4 and 8 CUs, then 2 and 4 cards (XRT_FAKE_CARDS, --cards all) of 4 CUs.
# mpbn bench times only snn_dev_run (the random images are made before; with
# 28x28 images making them takes ~6 s per million, not counted).
# docs/running-on-alveo.md, "Host-side throughput".
BENCH_DRIVER_DIR      := $(BUILD)/bench-driver
BENCH_DRIVER_IMAGES   ?= 2000000
BENCH_DRIVER_BATCH    ?= 4096
BENCH_DRIVER_CUS      ?= 1 4 8
BENCH_DRIVER_CARDS    ?= 2 4
BENCH_DRIVER_CARD_CUS ?= 4
.PHONY: bench-driver
bench-driver: $(MPBN) xrt-fake $(BUILD)/tools/snn-randnet ## xrt driver's host-side images/s, kernel taking no time (XRT stand-in): 1/4/8 CUs, 2 and 4 cards x 4 CUs
	@if [ -z "$(XRT_INCDIR)" ]; then \
	    echo "bench-driver: skipped: no XRT headers (libxrt-dev) to build the XRT stand-in"; exit 0; fi; \
	set -e; mkdir -p $(BENCH_DRIVER_DIR); \
	$(BUILD)/tools/snn-randnet $(BENCH_DRIVER_DIR)/net.snn c4,p,f16 1 4 1 28 28 10 > /dev/null; \
	run() { \
	    name=$$1 cards=$$2 cus=$$3 label=$$4; \
	    $(XRT_FAKE_DIR)/make-xclbin $(BENCH_DRIVER_DIR)/cu$$cus.xclbin $$cus; \
	    XILINX_XRT=$(XRT_FAKE_DIR) XRT_FAKE_NOP=1 XRT_FAKE_CARDS=$$cards $(MPBN) bench \
	        $(BENCH_DRIVER_DIR)/net.snn --random $(BENCH_DRIVER_IMAGES) --devices xrt \
	        --batch $(BENCH_DRIVER_BATCH) --xclbin $(BENCH_DRIVER_DIR)/cu$$cus.xclbin \
	        $$([ $$cards -gt 1 ] && echo --cards all) \
	        2>$(BENCH_DRIVER_DIR)/$$name.log | tail -n 1 > $(BENCH_DRIVER_DIR)/$$name.json; \
	    sed -n 's/.*"seconds":\([-0-9.e+]*\),"images_per_s":\([-0-9.e+]*\).*/\1 \2/p' \
	        $(BENCH_DRIVER_DIR)/$$name.json | \
	        awk -v l="$$label" -v i=$(BENCH_DRIVER_IMAGES) -v b=$(BENCH_DRIVER_BATCH) \
	            '{ printf "bench-driver: %s: %.0f images/s (%d images, batch %d, %.3f s in the driver)\n", \
	               l, $$2, i, b, $$1; ok = 1 } \
	             END { if (!ok) { print "bench-driver: " l ": no result (see the log)"; exit 1 } }' \
	        || { tail -n 3 $(BENCH_DRIVER_DIR)/$$name.log >&2; exit 1; }; \
	}; \
	for n in $(BENCH_DRIVER_CUS); do \
	    run cu$$n 1 $$n "$$n CU$$([ $$n = 1 ] && echo ' ' || echo s)       "; done; \
	for k in $(BENCH_DRIVER_CARDS); do \
	    run cards$$k $$k $(BENCH_DRIVER_CARD_CUS) "$$k cards x $(BENCH_DRIVER_CARD_CUS) CUs"; done
BENCH_TARGETS += bench-driver
