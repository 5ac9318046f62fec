# plot-thresholds.gp - distribution of the folded firing thresholds of every
# conv/fc layer, in float units (threshold * the channel's accumulator scale),
# from build/tools/snn-thresholds MODEL.snn.
#
#   gnuplot -e "in='build/plots/thresholds.csv'; out='docs/img/thresholds.png'" scripts/plot-thresholds.gp
#
# One panel per layer; neurons with a constant output (zero MPBN scale) are
# left out; negative-polarity neurons (fire below their threshold) are drawn
# in a second colour.
if (!exists("in")) in = 'build/plots/thresholds.csv'
if (!exists("out")) out = 'docs/img/thresholds.png'
layers = system("awk -F, 'NR > 1 && $9 == 0 { print $1 }' ".in." | sort -un | tr '\\n' ' '")
n = words(layers)
if (n == 0) { print "plot-thresholds: no thresholds in ".in; exit }
cols = n > 3 ? 3 : n
rows_ = int((n + cols - 1) / cols)
set terminal pngcairo size 360*cols, 280*rows_ + 40 font "sans,10"
set output out
set datafile separator ","
set style fill solid 0.6 border -1
set grid ytics
set key top right font ",8"
set multiplot layout rows_, cols title "Folded thresholds per layer (float units, MPBN folded into the threshold)"
do for [i = 1:n] {
    l = word(layers, i)
    sel = sprintf("< awk -F, 'NR > 1 && $9 == 0 && $1 == %s' %s", l, in)
    kind = system(sprintf("awk -F, 'NR > 1 && $1 == %s { print $2; exit }' %s", l, in))
    stats sel using 8 nooutput name "S"
    lo = S_min; hi = S_max
    w = (hi > lo) ? (hi - lo) / 40.0 : 1.0
    bin(x) = lo + w * (floor((x - lo) / w) + 0.5)
    set title sprintf("layer %s (%s), %d neurons", l, kind, int(S_records))
    set xlabel "threshold"
    set ylabel "neurons"
    set boxwidth w * 0.9
    plot sel using (bin($8)):($6 == 0 ? 1 : 0) smooth frequency with boxes lc rgb "#3a6ea5" title "fires above", \
         sel using (bin($8)):($6 == 1 ? 1 : 0) smooth frequency with boxes lc rgb "#c0504d" title "fires below"
}
unset multiplot
