#!/usr/bin/env bash
# pareto.sh - the sparsity/accuracy trade-off of the spike-count regulariser
# (`mpbn train --rate-reg X`, docs/trainer.md "Sparsity control"): trains the
# same network with the same seed and budget for each X, folds it, and
# measures the float accuracy, the folded golden model's (`ref`) accuracy,
# and the events, synaptic operations, spikes and energy-model figures per
# image of `mpbn bench --devices ref`. Writes, under OUT:
#
#   pareto.csv   one row per X
#   pareto.md    the same as a Markdown table (the one in docs/results.md)
#   pareto.png   accuracy against events per image (scripts/plot-pareto.gp;
#                when gnuplot is installed)
#   x<X>.*       each run's checkpoint, deploy image, logs and JSON lines, and
#                x<X>.row, its row of the table
#
# Run by `make pareto` (mk/train.mk), which sets the variables below;
# QUICK=1 there picks a smaller budget. Environment:
#   MPBN        the mpbn binary (build/mpbn)
#   OUT         output directory (build/pareto)
#   PARETO_X    the regulariser weights, space-separated ("0 0.03 0.1 0.3 1 2 3 5 10")
#   TRAIN_ARGS  the training budget, the same for every X
#   THREADS     trainer threads (1: a run is reproducible bit for bit)
#   EVAL_LIMIT  test images for the accuracies (0 = all 10,000)
#   BENCH_LIMIT test images for the bench figures (1000)
#   NICE        niceness of the runs (10)
#   REUSE       1: keep the row of an X whose x<X>.row exists (an interrupted
#               `make pareto REUSE=1` continues; the budget must be the same)
set -u -o pipefail
MPBN=${MPBN:-build/mpbn}
OUT=${OUT:-build/pareto}
PARETO_X=${PARETO_X:-0 0.03 0.1 0.3 1 2 3 5 10}
TRAIN_ARGS=${TRAIN_ARGS:---arch c32,c32,p,c64,p,f128 --T 4 --mpbn channel --limit-train 12000 --epochs 2 --seed 1}
THREADS=${THREADS:-1}
EVAL_LIMIT=${EVAL_LIMIT:-0}
BENCH_LIMIT=${BENCH_LIMIT:-1000}
NICE=${NICE:-10}
REUSE=${REUSE:-0}

die() { echo "pareto: $*" >&2; exit 1; }
[ -x "$MPBN" ] || die "$MPBN not built (make all)"
mkdir -p "$OUT" || die "cannot create $OUT"

# jnum KEY FILE: the first number after "KEY": on the JSON line of FILE
jnum() {
    local v
    v=$(tail -n 1 "$2" | grep -oE "\"$1\":[-+0-9.eE]+" | head -n 1 | cut -d: -f2)
    [ -n "$v" ] || die "no \"$1\" in $2"
    echo "$v"
}

csv=$OUT/pareto.csv
echo "rate_reg,float_acc,ref_acc,events_per_image,synops_per_image,spikes_per_image,est_uj_int_sram,est_uj_fp32,train_rate,train_seconds,total_seconds" >"$csv.tmp"
run() { OPENBLAS_NUM_THREADS=1 nice -n "$NICE" "$@"; }
for x in $PARETO_X; do
    p=$OUT/x$x
    if [ "$REUSE" = 1 ] && [ -s "$p.row" ]; then
        echo "pareto: --rate-reg $x: kept $p.row" >&2
        cat "$p.row" >>"$csv.tmp"
        continue
    fi
    t0=$(date +%s.%N)
    rm -f "$p.safetensors" "$p.csv" "$p.png" "$p.snn"
    echo "pareto: --rate-reg $x: train $TRAIN_ARGS" >&2
    # shellcheck disable=SC2086 # TRAIN_ARGS is a list of options
    run "$MPBN" train $TRAIN_ARGS --limit-test "$EVAL_LIMIT" --threads "$THREADS" --rate-reg "$x" \
        --out "$p.safetensors" >"$p.train.json" 2>"$p.train.log" || { tail -n 3 "$p.train.log" >&2; die "training with --rate-reg $x failed"; }
    run "$MPBN" fold "$p.safetensors" --out "$p.snn" >"$p.fold.json" 2>"$p.fold.log" ||
        { tail -n 3 "$p.fold.log" >&2; die "fold of $p.safetensors failed"; }
    run "$MPBN" eval "$p.snn" --device ref --limit "$EVAL_LIMIT" >"$p.ref.json" 2>"$p.ref.log" ||
        { tail -n 3 "$p.ref.log" >&2; die "eval --device ref of $p.snn failed"; }
    run "$MPBN" bench "$p.snn" --devices ref --limit "$BENCH_LIMIT" >"$p.bench.json" 2>"$p.bench.log" ||
        { tail -n 3 "$p.bench.log" >&2; die "bench of $p.snn failed"; }
    t1=$(date +%s.%N)
    row="$x,$(jnum test_acc "$p.train.json"),$(jnum accuracy "$p.ref.json")"
    for k in events_per_image synops_per_image spikes_per_image est_uj_int_sram est_uj_fp32; do
        row="$row,$(jnum $k "$p.bench.json")"
    done
    row="$row,$(jnum train_rate "$p.train.json"),$(jnum seconds "$p.train.json"),$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
    echo "$row" >"$p.row"
    echo "$row" >>"$csv.tmp"
    echo "pareto: $row" >&2
done
mv "$csv.tmp" "$csv"

# The Markdown table: changes against the first X (the baseline, 0).
md=$OUT/pareto.md
awk -F, -v budget="$TRAIN_ARGS" -v el="$EVAL_LIMIT" -v bl="$BENCH_LIMIT" '
NR == 1 { next }
NR == 2 { fa0 = $2; ra0 = $3; ev0 = $4; e0 = $7 }
{
    rows[NR] = sprintf("| %s | %.2f%% (%+.2f pp) | %.2f%% (%+.2f pp) | %.0f (%.2fx) | %.2f M | %.0f | %.2f (%.2fx) | %.4f | %.0f s |",
        $1, 100 * $2, 100 * ($2 - fa0), 100 * $3, 100 * ($3 - ra0), $4, $4 / ev0, $5 / 1e6, $6, $7, $7 / e0, $9, $10)
    n = NR
}
END {
    printf "Budget: `%s`, same seed for every X; accuracies on %s test images, bench figures on the first %s.\n\n", budget, el == 0 ? "all" : el, bl
    print "| --rate-reg | float acc (vs X=0) | ref acc (vs X=0) | events/image (vs X=0) | synops/image | spikes/image | uJ/image int+SRAM (vs X=0) | train rate R | train time |"
    print "|---|---|---|---|---|---|---|---|---|"
    for (i = 2; i <= n; i++) print rows[i]
}' "$csv" >"$md.tmp" && mv "$md.tmp" "$md"
cat "$md"

if command -v gnuplot >/dev/null; then
    gnuplot -e "in='$csv'; out='$OUT/pareto.png'" scripts/plot-pareto.gp && echo "pareto: plot $OUT/pareto.png" >&2
else
    echo "pareto: gnuplot not found: no plot (install gnuplot-nox)" >&2
fi
echo "pareto: table $md, figures $csv" >&2
