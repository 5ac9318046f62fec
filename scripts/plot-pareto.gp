# plot-pareto.gp - accuracy against events per image for several weights X
# of the spike-count regulariser (`mpbn train --rate-reg X`), from the CSV
# of scripts/pareto.sh (`make pareto`): float and folded golden-model (ref)
# accuracy, each point labelled with its X.
#
#   gnuplot -e "in='build/pareto/pareto.csv'; out='build/pareto/pareto.png'" scripts/plot-pareto.gp
if (!exists("in")) in = 'build/pareto/pareto.csv'
if (!exists("out")) out = 'build/pareto/pareto.png'
set terminal pngcairo size 900,550 font "sans,11"
set output out
set datafile separator ","
set title "Accuracy vs events per image (spike-count regulariser --rate-reg X)"
set xlabel "events per image, golden model (millions, log scale)"
set ylabel "test accuracy (%)"
set grid xtics mxtics ytics
set logscale x
set mxtics 10
set key bottom right
set offsets 0, 0, graph 0.1, graph 0.05
plot in using ($4/1e6):($2*100) skip 1 with linespoints lw 2 pt 7 title "float", \
     in using ($4/1e6):($3*100) skip 1 with linespoints lw 2 pt 6 dt 2 title "folded (ref)", \
     in using ($4/1e6):($2*100):(sprintf("X=%s", strcol(1))) skip 1 with labels rotate by 60 left offset 0.3,0.8 font ",9" notitle
