#!/usr/bin/env bash
# synth.sh - Yosys synthesis of the RTL kernel for AMD UltraScale+ (the
# family of the Alveo cards): synth_xilinx -family xcup, one lane count.
#
#   scripts/synth.sh LANES OUTDIR [NAME=VALUE ...]    (maxima overrides)
#
# Writes OUTDIR/report-L<LANES>.txt (Yosys `stat` of the mapped design) and
# OUTDIR/synth-L<LANES>.log. Yosys reads SystemVerilog through its own front
# end, which lacks `import pkg::*`; scripts/synth-prep.py writes a copy of
# the sources with package names qualified instead (nothing else changes).
set -euo pipefail
cd "$(dirname "$0")/.."
lanes=$1; out=$2; shift 2
command -v yosys >/dev/null || { echo "synth: yosys not found; install Debian's yosys package (make deps)" >&2; exit 1; }
src="$out/src-L$lanes"
rm -rf "$src" && mkdir -p "$src"
files=$(python3 scripts/synth-prep.py "$src" $(cat rtl/snn.f) | tr '\n' ' ')
params="-set LANES $lanes"
for p in "$@"; do params="$params -set ${p%%=*} ${p#*=}"; done
cat > "$out/synth-L$lanes.ys" <<YS
read_verilog -sv -DSYNTHESIS $files
chparam $params snn_kernel
synth_xilinx -family xcup -top snn_kernel -flatten
tee -o $out/report-L$lanes.txt stat
YS
yosys -q -l "$out/synth-L$lanes.log" -s "$out/synth-L$lanes.ys" >/dev/null
echo "synth: $out/report-L$lanes.txt"
