# The plots of docs/performance.md's benchmark suite (issue 7), one PNG per figure, from
# the data files the benchmarks write with --plot. scripts/bench.sh runs it as
#   gnuplot -e "datadir='DIR'; outdir='docs/performance'" bench/plots.gnuplot
set terminal pngcairo size 800,480 font "sans,10" noenhanced
set datafile missing "-"
set grid
set key top left
set style data linespoints
set autoscale xfix # no empty decades on the log x axes
set offsets graph 0.03, graph 0.03, 0, 0

# 1. Ingest: events/s against batch size.
set output outdir."/ingest.png"
set key bottom right
set title "Ingest, events/s (median batch) by batch size"
set logscale xy
set xlabel "events per batch"
set ylabel "events/s"
plot datadir."/ingest.dat" using 1:2 title "in process, memory store" lw 2, \
     "" using 1:3 title "in process, SQLite store" lw 2, \
     "" using 1:4 title "HTTP, persona-server --memory" pt 7 ps 1.5, \
     "" using 1:5 title "HTTP, persona-server SQLite" pt 5 ps 1.5

# 2. /chunks latency against the user's chunks.
set output outdir."/retrieval.png"
set key top left
set title "/chunks latency by chunks of the user (p50 solid, p99 dashed)"
set xlabel "chunks of the user"
set ylabel "microseconds"
plot datadir."/retrieval.dat" using 1:2 title "in process, 1 user, p50" lw 2 lc 1, \
     "" using 1:3 title "in process, 1 user, p99" dt 2 lc 1, \
     "" using 1:4 title "in process, many users, p50" lw 2 lc 2, \
     "" using 1:5 title "in process, many users, p99" dt 2 lc 2, \
     "" using 1:6 title "HTTP, many users, p50" lw 2 lc 3, \
     "" using 1:7 title "HTTP, many users, p99" dt 2 lc 3, \
     "" using 1:8 title "in process, many users, caches cold, p50" lw 2 lc 4, \
     "" using 1:9 title "in process, many users, caches cold, p99" dt 2 lc 4

# 3. Scan rate against vectors.
set output outdir."/scan.png"
set title "Vector scan rate (d = 256, one core), GB/s of vectors read per call"
set logscale x
unset logscale y
set yrange [0:*]
set xlabel "vectors of the user"
set ylabel "GB/s"
set key bottom right
plot datadir."/scan.dat" using 1:2 title "read loop (the memory limit)" lw 2, \
     "" using 1:3 title "flat_retriever::search" lw 2, \
     "" using 1:4 title "FAISS IndexFlatIP, batch 1" lw 2

# 4. HTTP requests/s under wrk.
set output outdir."/http.png"
set title "HTTP under wrk (64 connections): requests/s"
unset logscale
set yrange [0:*]
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -20
set xlabel ""
set ylabel "requests/s"
unset key
set offsets 0, 0.6, 0, 0
set xrange [-0.6:*]
plot datadir."/http.dat" using 0:2:xtic(1) with boxes lc 1
set offsets graph 0.03, graph 0.03, 0, 0
set xrange [*:*]
set xtics norotate

# 5. Resident bytes per chunk against chunks.
set output outdir."/memory.png"
set title "Resident bytes per stored chunk"
set logscale x
set yrange [0:*]
set style data linespoints
set style fill empty
set key top right
set xlabel "chunks stored"
set ylabel "bytes per chunk"
plot datadir."/memory.dat" using 1:2 title "memory store, 1 user" lw 2, \
     "" using 1:3 title "memory store, many users" lw 2, \
     "" using 1:4 title "SQLite store, 1 user" lw 2, \
     "" using 1:5 title "SQLite store, many users" lw 2
