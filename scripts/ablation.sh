#!/usr/bin/env bash
# ablation.sh - the paper's ablation (Guo et al., ICCV 2023, Table "ablation",
# Fig. 2): the same network trained without MPBN and with MPBN at several
# time steps T, several seeds each, on the default data set. For every
# configuration MODE:T of CONFIGS and every seed of SEEDS it trains
# (`mpbn train --mpbn MODE --T T --seed S`), folds the checkpoint into the
# integer deploy image (`mpbn fold`) and measures that on the golden model
# (`mpbn eval --device ref`). Writes, under OUT:
#
#   <mode>-T<t>-s<seed>.*   each run's checkpoint, per-epoch CSV (train's
#                           <out>.csv), deploy image, logs and JSON lines, and
#                           .row, its line of runs.csv
#   runs.csv                one row per run
#   curves.csv              test accuracy per epoch, mean over seeds, one
#                           column per configuration
#   ablation.csv            one row per configuration: mean and std over seeds
# and under MD_DIR (OUT unless set):
#   ablation.md             the table (mean +- sample std over seeds)
#   ablation.png            accuracy per epoch, one line per configuration
#                           (scripts/plot-ablation.gp; when gnuplot is installed)
#   landscape.png           the 1-D loss landscape (the paper's Fig. 3) of one
#                           checkpoint per MPBN mode (`mpbn landscape`; its CSV
#                           and JSON stay in OUT), and a table of its figures
#                           in ablation.md
#
# Run by `make ablation` (mk/train.mk), which sets the variables below;
# QUICK=1 there picks a small budget. Environment:
#   MPBN        the mpbn binary (build/mpbn)
#   OUT         output directory (build/ablation)
#   MD_DIR      where ablation.md and ablation.png go (OUT)
#   CONFIGS     MODE:T pairs, space-separated
#               ("none:1 channel:1 none:2 channel:2 none:4 channel:4 element:4")
#   SEEDS       seeds, space-separated ("1 2 3")
#   TRAIN_ARGS  the training budget, the same for every run (no --T, --mpbn,
#               --seed, --limit-test, --threads, --out: set here)
#   EVAL_LIMIT  test images for both accuracies (0 = all 10,000)
#   THREADS     trainer threads (1: a run is reproducible bit for bit)
#   JOBS        runs at a time (1); JOBS=2 THREADS=1 on a 2-core machine
#               keeps both cores busy with runs that stay reproducible
#   NICE        niceness of the runs (10)
#   REUSE       1: keep a run whose .row exists, and continue an interrupted
#               training from its last epoch's checkpoint (`train --resume`):
#               an interrupted `make ablation REUSE=1` continues; the budget
#               must be the same
#   LABEL       a line put above the table (the make command)
#   LANDSCAPE   0: no loss landscape (1)
#   LANDSCAPE_LIMIT, LANDSCAPE_POINTS
#               training images and alphas of the landscape (2000, 21): the
#               checkpoints are the first seed's at the largest T of each mode
set -u -o pipefail
MPBN=${MPBN:-build/mpbn}
OUT=${OUT:-build/ablation}
MD_DIR=${MD_DIR:-$OUT}
CONFIGS=${CONFIGS:-none:1 channel:1 none:2 channel:2 none:4 channel:4 element:4}
SEEDS=${SEEDS:-1 2 3}
TRAIN_ARGS=${TRAIN_ARGS:---arch c32,c32,p,c64,p,f128 --epochs 5}
EVAL_LIMIT=${EVAL_LIMIT:-0}
THREADS=${THREADS:-1}
JOBS=${JOBS:-1}
NICE=${NICE:-10}
REUSE=${REUSE:-0}
LABEL=${LABEL:-}
LANDSCAPE=${LANDSCAPE:-1}
LANDSCAPE_LIMIT=${LANDSCAPE_LIMIT:-2000}
LANDSCAPE_POINTS=${LANDSCAPE_POINTS:-21}

die() { echo "ablation: $*" >&2; exit 1; }
[ -x "$MPBN" ] || die "$MPBN not built (make all)"
[ -n "$CONFIGS" ] || die "no configuration (CONFIGS is empty)"
[ -n "$SEEDS" ] || die "no seed (SEEDS is empty)"
case $JOBS in '' | *[!0-9]* | 0) die "bad JOBS '$JOBS' (a count of runs at a time, 1 or more)" ;; esac
for c in $CONFIGS; do
    case $c in
    none:[0-9]* | channel:[0-9]* | element:[0-9]*) ;;
    *) die "bad configuration '$c' in CONFIGS (MODE:T, MODE one of none|channel|element)" ;;
    esac
done
mkdir -p "$OUT" "$MD_DIR" || die "cannot create $OUT or $MD_DIR"

# jnum KEY FILE: the first number after "KEY": on the JSON line of FILE
jnum() {
    local v
    v=$(tail -n 1 "$2" | grep -oE "\"$1\":[-+0-9.eE]+" | head -n 1 | cut -d: -f2)
    [ -n "$v" ] || die "no \"$1\" in $2"
    echo "$v"
}
hms() { awk -v s="$1" 'BEGIN { s = int(s + 0.5); if (s >= 3600) printf "%dh%02dm%02ds", s / 3600, s % 3600 / 60, s % 60; else printf "%dm%02ds", s / 60, s % 60 }'; }
now() { date +%s.%N; }
# put FILE: FILE.tmp -> FILE (the atomic write)
put() { mv "$1.tmp" "$1" || die "cannot write $1"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

run() { OPENBLAS_NUM_THREADS=1 nice -n "$NICE" "$@"; }
trap 'rm -f "$OUT/runs.csv.tmp" "$OUT/ablation.csv.tmp" "$OUT/curves.csv.tmp" "$MD_DIR/ablation.md.tmp" "$MD_DIR/ablation.png.tmp" "$MD_DIR/landscape.png.tmp"' EXIT
nruns=0
for c in $CONFIGS; do for s in $SEEDS; do nruns=$((nruns + 1)); done; done

start=$(now)

# train_one MODE T SEED TAG: train, fold and evaluate one run; writes its .row
# last (atomically), so a run without a .row did not finish.
train_one() {
    local mode=$1 t=$2 s=$3 tag=$4 p=$OUT/$1-T$2-s$3 t0 resume=() fa ra ep ts row
    t0=$(now)
    rm -f "$p.row"
    if [ "$REUSE" = 1 ] && [ -s "$p.safetensors" ] && [ -s "$p.csv" ]; then
        # an interrupted training: its last epoch's checkpoint continues
        resume=(--resume "$p.safetensors")
        echo "ablation: $tag: resuming $p.safetensors (elapsed $(hms "$(since "$start")"))" >&2
    else
        rm -f "$p.safetensors" "$p.csv" "$p.png" "$p.snn"
        echo "ablation: $tag: training (elapsed $(hms "$(since "$start")"))" >&2
    fi
    # shellcheck disable=SC2086 # TRAIN_ARGS is a list of options
    run "$MPBN" train "${resume[@]}" $TRAIN_ARGS --T "$t" --mpbn "$mode" --seed "$s" --limit-test "$EVAL_LIMIT" \
        --threads "$THREADS" --out "$p.safetensors" >"$p.train.json" 2>"$p.train.log" ||
        { tail -n 3 "$p.train.log" >&2; die "$tag: training failed (log $p.train.log${resume:+; run without REUSE=1 to start it afresh})"; }
    [ -s "$p.csv" ] || die "$tag: the trainer wrote no per-epoch log $p.csv"
    run "$MPBN" fold "$p.safetensors" --out "$p.snn" >"$p.fold.json" 2>"$p.fold.log" ||
        { tail -n 3 "$p.fold.log" >&2; die "$tag: fold of $p.safetensors failed (log $p.fold.log)"; }
    run "$MPBN" eval "$p.snn" --device ref --limit "$EVAL_LIMIT" >"$p.ref.json" 2>"$p.ref.log" ||
        { tail -n 3 "$p.ref.log" >&2; die "$tag: eval --device ref of $p.snn failed (log $p.ref.log)"; }
    fa=$(jnum test_acc "$p.train.json") || exit 1
    ra=$(jnum accuracy "$p.ref.json") || exit 1
    ep=$(jnum epochs "$p.train.json") || exit 1
    # training time: the epochs' seconds of train's CSV (it is appended to on --resume)
    ts=$(awk -F, 'NR > 1 { s += $6 } END { printf "%.1f", s }' "$p.csv")
    row="$mode,$t,$s,$fa,$ra,$ep,$ts,$(since "$t0")"
    echo "$row" >"$p.row.tmp" || die "cannot write $p.row.tmp"
    put "$p.row"
    echo "ablation: $tag: float $fa, ref $ra, $ep epochs, run $(hms "$(since "$t0")") (elapsed $(hms "$(since "$start")"))" >&2
}

# The runs, JOBS at a time; each is its own process, so a failed run stops
# neither the others nor the wait: the missing .row files are counted after.
# With JOBS > 1 the runs start longest first (cost ~ T, element-wise MPBN
# ~1.4x), so the last ones finish together instead of one running alone;
# the tables keep the order of CONFIGS.
order=()
i=0
for c in $CONFIGS; do
    for s in $SEEDS; do
        i=$((i + 1))
        order+=("$i ${c%%:*} ${c#*:} $s")
    done
done
if [ "$JOBS" -gt 1 ]; then
    mapfile -t order < <(printf '%s\n' "${order[@]}" |
        awk '{ print ($2 == "element" ? 1.4 : 1) * $3, $0 }' | sort -s -k1,1nr | cut -d' ' -f2-)
fi
kept_runs=()
running=0
for r in "${order[@]}"; do
    read -r i mode t s <<<"$r"
    p=$OUT/$mode-T$t-s$s
    tag="[$i/$nruns] --mpbn $mode --T $t --seed $s"
    if [ "$REUSE" = 1 ] && [ -s "$p.row" ] && [ -s "$p.csv" ]; then
        kept_runs+=(kept)
        echo "ablation: $tag: kept $p.row (elapsed $(hms "$(since "$start")"))" >&2
        continue
    fi
    if [ "$JOBS" -le 1 ]; then
        (train_one "$mode" "$t" "$s" "$tag") || exit 1
        continue
    fi
    if [ "$running" -ge "$JOBS" ]; then
        # a failed run: no new ones; those running finish (REUSE=1 keeps them)
        wait -n || { wait; die "a run failed: no more started (REUSE=1 keeps the finished ones)"; }
        running=$((running - 1))
    fi
    train_one "$mode" "$t" "$s" "$tag" &
    running=$((running + 1))
done
wait
runs=$OUT/runs.csv
echo "mpbn,T,seed,float_acc,ref_acc,epochs,train_seconds,run_seconds" >"$runs.tmp"
failed=()
for c in $CONFIGS; do
    for s in $SEEDS; do
        p=$OUT/${c%%:*}-T${c#*:}-s$s
        if [ -s "$p.row" ]; then cat "$p.row" >>"$runs.tmp"; else failed+=("${c%%:*}-T${c#*:}-s$s"); fi
    done
done
[ ${#failed[@]} = 0 ] || die "${#failed[@]} of $nruns runs failed: ${failed[*]} (logs in $OUT; REUSE=1 keeps the others)"
mv "$runs.tmp" "$runs" || die "cannot write $runs"

# Per configuration: mean and sample std over seeds (std 0 with one seed).
summary=$OUT/ablation.csv
awk -F, -v order="$CONFIGS" '
NR == 1 { next }
{
    k = $1 ":" $2; n[k]++
    fa[k] += $4; fa2[k] += $4 * $4; ra[k] += $5; ra2[k] += $5 * $5
    ep[k] = $6; ts[k] += $7; rs[k] += $8
}
function sd(s, s2, m,   v) { if (m < 2) return 0; v = (s2 - s * s / m) / (m - 1); return v > 0 ? sqrt(v) : 0 }
END {
    print "mpbn,T,seeds,float_mean,float_std,ref_mean,ref_std,epochs,train_seconds_mean,run_seconds_total"
    m = split(order, cs, " ")
    for (j = 1; j <= m; j++) {
        k = cs[j]; split(k, mt, ":")
        printf "%s,%s,%d,%.6f,%.6f,%.6f,%.6f,%s,%.1f,%.1f\n", mt[1], mt[2], n[k],
            fa[k] / n[k], sd(fa[k], fa2[k], n[k]), ra[k] / n[k], sd(ra[k], ra2[k], n[k]), ep[k], ts[k] / n[k], rs[k]
    }
}' "$runs" >"$summary.tmp" || die "cannot write $summary.tmp"
put "$summary"

# Test accuracy per epoch, mean over seeds: one column per configuration.
curves=$OUT/curves.csv
{
    hdr="epoch"
    for c in $CONFIGS; do hdr="$hdr,${c%%:*} T=${c#*:}"; done
    echo "$hdr"
    for c in $CONFIGS; do
        for s in $SEEDS; do echo "== ${c%%:*}-T${c#*:}-s$s"; cat "$OUT/${c%%:*}-T${c#*:}-s$s.csv"; done
    done | awk -F, -v order="$CONFIGS" -v seeds="$SEEDS" '
        /^== / { split(substr($0, 4), a, "-s"); k = a[1]; sub("-T", ":", k); next }
        $1 == "epoch" { next }
        { sum[k, $1 + 0] += $4; cnt[k, $1 + 0]++; if ($1 + 0 > emax) emax = $1 + 0 }
        END {
            m = split(order, cs, " ")
            for (e = 1; e <= emax; e++) {
                line = e
                for (j = 1; j <= m; j++) line = line "," ((cs[j], e) in cnt ? sprintf("%.6f", sum[cs[j], e] / cnt[cs[j], e]) : "")
                print line
            }
        }'
} >"$curves.tmp" || die "cannot write $curves.tmp"
put "$curves"

# The loss landscape (the paper's Fig. 3): the first seed's checkpoint at the
# largest T of each MPBN mode, along one filter-normalised random direction.
land=""
if [ "$LANDSCAPE" != 0 ]; then
    s1=${SEEDS%% *}
    ckpts=()
    for mode in none channel element; do
        tmax=""
        for c in $CONFIGS; do
            [ "${c%%:*}" = "$mode" ] || continue
            if [ -z "$tmax" ] || [ "${c#*:}" -gt "$tmax" ]; then tmax=${c#*:}; fi
        done
        [ -n "$tmax" ] && ckpts+=("$OUT/$mode-T$tmax-s$s1.safetensors")
    done
    t0=$(now)
    echo "ablation: loss landscape of ${#ckpts[@]} checkpoints ($LANDSCAPE_POINTS points, $LANDSCAPE_LIMIT training images)" >&2
    run "$MPBN" landscape "${ckpts[@]}" --limit "$LANDSCAPE_LIMIT" --points "$LANDSCAPE_POINTS" \
        --threads "$THREADS" --out "$OUT/landscape.csv" >"$OUT/landscape.json" 2>"$OUT/landscape.log" ||
        { tail -n 3 "$OUT/landscape.log" >&2; die "loss landscape failed (log $OUT/landscape.log)"; }
    land=$OUT/landscape.json
    if [ -s "$OUT/landscape.png" ] && [ "$MD_DIR" != "$OUT" ]; then
        cp "$OUT/landscape.png" "$MD_DIR/landscape.png.tmp" && put "$MD_DIR/landscape.png"
    fi
    echo "ablation: loss landscape in $OUT/landscape.csv ($(hms "$(since "$t0")"))" >&2
fi

total=$(since "$start")
md=$MD_DIR/ablation.md
kept=${#kept_runs[@]}
sumruns=$(awk -F, 'NR > 1 { s += $8 } END { print s + 0 }' "$runs")
awk -F, -v budget="$TRAIN_ARGS" -v el="$EVAL_LIMIT" -v seeds="$SEEDS" -v label="$LABEL" -v th="$THREADS" \
    -v wall="$(hms "$sumruns")" -v inv="$(hms "$total")" -v kept="$kept" -v n="$nruns" -v figs="$OUT" '
NR == 1 { next }
{ row[NR] = sprintf("| %s | %s | %d | %.2f +- %.2f | %.2f +- %.2f | %s | %.0f s | %.0f s |",
    $1, $2, $3, 100 * $4, 100 * $5, 100 * $6, 100 * $7, $8, $9, $10); last = NR }
END {
    if (label != "") printf "%s\n\n", label
    printf "Budget: `%s`, seeds %s, %s trainer thread(s); accuracies on %s test images of the default data set. ", budget, seeds, th, el == 0 ? "all 10,000" : "the first " el
    printf "Mean +- sample std over seeds, in %%. float: `mpbn train` test accuracy after the last epoch; folded: the integer deploy image of `mpbn fold` on the golden model (`mpbn eval --device ref`). "
    printf "Train time: the epochs of one run (mean over seeds); wall time: train, fold and eval of all seeds. "
    printf "Wall time of the %d runs: %s", n, wall
    if (kept > 0) printf " (%d of them kept from an earlier invocation with REUSE=1; this one took %s)", kept, inv
    printf ".\n\n"
    print "| MPBN | T | seeds | float acc (%) | folded acc, ref (%) | epochs | train time per run | wall time, all seeds |"
    print "|---|---|---|---|---|---|---|---|"
    for (i = 2; i <= last; i++) print row[i]
    print ""
    print "Test accuracy per epoch, mean over seeds (curves.csv):"
    print ""
    print "![test accuracy per epoch](ablation.png)"
    print ""
    printf "Figures: %s/runs.csv (every run), ablation.csv (this table), curves.csv.\n", figs
}' "$summary" >"$md.tmp" || die "cannot write $md.tmp"
if [ -n "$land" ]; then
    # one row per checkpoint of landscape.json's "checkpoints" array
    {
        echo ""
        echo "Loss landscape (the paper's Fig. 3; \`mpbn landscape\`, docs/trainer.md): eval-mode training loss along one"
        echo "filter-normalised random direction, $LANDSCAPE_LIMIT training images; rise = mean of L(-a) and L(+a) minus the"
        echo "minimum of the curve (smaller = flatter)."
        echo ""
        echo "| checkpoint | MPBN | loss at 0 | L(-0.5) | L(-0.25) | L(+0.25) | L(+0.5) | rise 0.25 | rise 0.5 |"
        echo "|---|---|---|---|---|---|---|---|---|"
        tail -n 1 "$land" | sed 's/.*"checkpoints":\[{//; s/}\].*//; s/},{/\n/g' | while IFS= read -r c; do
            f() { echo "$c" | grep -oE "\"$1\":[^,]*" | head -n 1 | cut -d: -f2- | tr -d '"'; }
            printf '| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n' "$(f label)" "$(f mpbn)" \
                "$(f loss_at_0)" "$(f loss_m0.5)" "$(f loss_m0.25)" "$(f loss_p0.25)" "$(f loss_p0.5)" \
                "$(f rise_0.25)" "$(f rise_0.5)"
        done
        if [ -s "$MD_DIR/landscape.png" ]; then echo ""; echo "![loss landscape](landscape.png)"; fi
    } >>"$md.tmp" || die "cannot write $md.tmp"
fi
put "$md"
cat "$md"

if command -v gnuplot >/dev/null; then
    png=$MD_DIR/ablation.png
    { gnuplot -e "in='$curves'; out='$png.tmp'; ncol=$(($(echo "$CONFIGS" | wc -w) + 1)); modes='$(for c in $CONFIGS; do printf '%s ' "${c%%:*}"; done)'; ts='$(for c in $CONFIGS; do printf '%s ' "${c#*:}"; done)'; sub='$(echo "$TRAIN_ARGS" | tr -d "'")'" scripts/plot-ablation.gp &&
        mv "$png.tmp" "$png"; } || die "gnuplot failed on $curves"
    echo "ablation: plot $png" >&2
else
    echo "ablation: gnuplot not found: no plot (install gnuplot-nox)" >&2
fi
echo "ablation: $nruns runs in $(hms "$total"); table $md, figures $OUT/{runs,ablation,curves}.csv" >&2
