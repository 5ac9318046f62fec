# plot-ablation.gp - test accuracy per epoch of the MPBN ablation
# (scripts/ablation.sh, `make ablation`), one line per configuration
# (MPBN mode and T), each the mean over the seeds, from curves.csv
# (columns: epoch, then one per configuration, titled in the header).
#
#   gnuplot -e "in='build/ablation/curves.csv'; out='build/ablation/ablation.png'; ncol=8; modes='none channel none channel none channel element'; ts='1 1 2 2 4 4 4'" scripts/plot-ablation.gp
if (!exists("in")) in = 'build/ablation/curves.csv'
if (!exists("out")) out = 'build/ablation/ablation.png'
if (!exists("ncol")) ncol = 8
if (!exists("sub")) sub = ''
if (!exists("modes")) modes = ''   # the MODE of each column, space-separated
if (!exists("ts")) ts = ''         # the T of each column, space-separated
set terminal pngcairo size 900,550 font "sans,11"
set output out
set datafile separator ","
set title sprintf("MPBN ablation: test accuracy per epoch, mean over seeds\n{/*0.8 %s}", sub)
set xlabel "epoch"
set ylabel "test accuracy (%)"
set grid
set xtics 1
set key bottom right
set autoscale xfix
set offsets 0.1, 0.1, graph 0.05, graph 0.05
# colour by T; none dashed with open circles, channel solid, element dotted
dtype(i) = word(modes, i - 1) eq "none" ? 2 : word(modes, i - 1) eq "element" ? 3 : 1
ptype(i) = word(modes, i - 1) eq "none" ? 6 : word(modes, i - 1) eq "element" ? 9 : 7
ltc(i) = words(ts) >= i - 1 ? 1 + int(log(real(word(ts, i - 1))) / log(2) + 0.5) : i - 1
plot for [i=2:ncol] in using 1:(column(i)*100) with linespoints lw 2 \
     lc ltc(i) dt dtype(i) pt ptype(i) \
     title columnhead(i)
