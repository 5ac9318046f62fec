#!/usr/bin/env bash
# synth-summary.sh - one table row per Yosys report (scripts/synth.sh):
# LUTs (logic), LUTRAM cells, FFs, BRAM36 (RAMB18 count as half), URAM, DSP.
#   scripts/synth-summary.sh build/synth/report-L*.txt
printf '%-6s %8s %8s %8s %8s %6s %6s\n' lanes LUT LUTRAM FF BRAM36 URAM DSP
for f in "$@"; do
    l=$(basename "$f" .txt); l=${l#report-L}
    awk -v lanes="$l" '
        $1 ~ /^LUT[1-6]$/ { lut += $2 }
        $1 ~ /^(RAM32M16|RAM64M8|RAM32M|RAM64M|RAM32X1D|RAM64X1D|RAM128X1D|RAM256X1D|RAM32X1S|RAM64X1S|RAM128X1S)$/ { lutram += $2 }
        $1 ~ /^FD[RSCP]E$/ { ff += $2 }
        $1 == "RAMB36E2" { bram += $2 }
        $1 == "RAMB18E2" { bram += $2 / 2 }
        $1 == "URAM288" { uram += $2 }
        $1 == "DSP48E2" { dsp += $2 }
        END { printf "%-6s %8d %8d %8d %8.1f %6d %6d\n", lanes, lut, lutram, ff, bram, uram, dsp }' "$f"
done
