# plot-lanes.gp - projected throughput and lane utilisation against the lane
# count, from build/plots/lanes.csv (make bench-lanes: csim loop iterations
# and sim RTL cycles per image, projected at the bench clock).
#
#   gnuplot -e "in='build/plots/lanes.csv'; out='docs/img/lanes.png'" scripts/plot-lanes.gp
#
# Lane utilisation = synaptic operations / (lanes * cycles): 1.0 is the
# physical limit of one accumulate per lane per cycle.
if (!exists("in")) in = 'build/plots/lanes.csv'
if (!exists("out")) out = 'docs/img/lanes.png'
devs = system("awk -F, 'NR > 1 && $3 != \"\" { print $1 }' ".in." | sort -u | tr '\\n' ' '")
if (words(devs) == 0) { print "plot-lanes: no cycle counts in ".in; exit }
set terminal pngcairo size 900,500 font "sans,11"
set output out
set datafile separator ","
set title "Throughput and lane utilisation vs lanes (projected at the kernel clock)"
set xlabel "lanes"
set ylabel "images/s (projected)"
set y2label "lane utilisation"
set logscale x 2
set logscale y
set y2range [0:1.05]
set ytics nomirror
set y2tics 0.1
set grid xtics ytics
set key below
sel(d) = sprintf("< awk -F, 'NR > 1 && $1 == \"%s\" && $3 != \"\"' %s", d, in)
plot for [d in devs] sel(d) using 2:4 with linespoints lw 2 pt 7 title d." images/s", \
     for [d in devs] sel(d) using 2:(strcol(5) eq "" ? NaN : $5) axes x1y2 with linespoints dt 2 pt 6 title d." utilisation"
