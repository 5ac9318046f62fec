# plot-configs.gp - projected throughput and cycles per image of the HLS
# kernel (csim's cycle model) in every configuration of the layer pipeline
# that holds the model, from build/plots/configs.csv (make bench-configs),
# projected at the bench clock: cycles per image of a batch against the
# slowest stage's (the steady-state interval).
#
#   gnuplot -e "in='build/plots/configs.csv'; out='docs/img/configs.png'" scripts/plot-configs.gp
if (!exists("in")) in = 'build/plots/configs.csv'
if (!exists("out")) out = 'docs/img/configs.png'
n = system("awk -F, 'NR > 1 && $3 != \"\"' ".in." | wc -l") + 0
if (n == 0) { print "plot-configs: no cycle counts in ".in; exit }
set terminal pngcairo size 900,500 font "sans,11"
set output out
set datafile separator ","
set title "HLS kernel (csim cycle model) per configuration, projected at the kernel clock"
set ylabel "cycles per image"
set y2label "images/s (projected)"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set boxwidth 0.9
set grid ytics
set key below
plot in using 3:xtic(stringcolumn(1)." ".stringcolumn(2)) every ::1 title "cycles / image (batch)", \
     '' using 5 every ::1 title "slowest stage (interval)", \
     '' using 0:4 every ::1 axes x1y2 with points pt 7 ps 1.5 title "images/s"
