# plot-spike-rate.gp - spike rate per layer (spikes / (neurons * T)) from the
# CSV of `mpbn bench --csv` (one row per device and layer).
#
#   gnuplot -e "in='build/plots/bench.csv'; out='docs/img/spike-rate.png'" scripts/plot-spike-rate.gp
#
# The devices are bit-exact, so their rates are identical: the first device
# in the file (ref unless --devices says otherwise) is drawn. The output
# layer does not fire and has no rate.
if (!exists("in")) in = 'build/plots/bench.csv'
if (!exists("out")) out = 'docs/img/spike-rate.png'
dev = system("awk -F, 'NR == 2 { print $1 }' ".in)
model = exists("title") ? title : ""
set terminal pngcairo size 900,500 font "sans,11"
set output out
set datafile separator ","
set title sprintf("Spike rate per layer (%s%s)", dev, model eq "" ? "" : ", ".model)
set ylabel "spikes / (neurons x T)"
set xlabel "layer"
set yrange [0:*]
set grid ytics
set style fill solid 0.6 border -1
set boxwidth 0.6
set key off
# rows of the first device that have a rate (not the output layer)
rows = sprintf("< awk -F, 'NR > 1 && $1 == \"%s\" && $7 != \"\"' %s", dev, in)
plot rows using 0:7:xtic(sprintf("%d %s", int(column(2)), strcol(3))) with boxes lc rgb "#3a6ea5", \
     rows using 0:7:(sprintf("%.3f", column(7))) with labels offset 0,0.8 font ",9"
