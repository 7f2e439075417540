#!/usr/bin/env bash
# Issue 7: build and run persona's benchmark suite, then write its tables and plots into
# docs/performance.md (only between <!-- bench:begin --> and <!-- bench:end -->) and
# docs/performance/*.png. Not part of CI or the tests.
#
#   scripts/bench.sh            # the full run: ~7 minutes on 2 cores, plus the build
#   scripts/bench.sh --quick    # small sizes, 2 s wrk runs: checks that everything works
#                               # (prints its tables; --docs writes them like a full run)
#   options: --build-dir DIR (default build-bench), --no-docs (print, do not write docs)
#
# On a fresh Debian 12 as root it installs what is missing (scripts/install-deps.sh, plus
# wrk and gnuplot-nox). It builds the bench targets and persona-server only, Release.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 build_dir=build-bench docs=1
while (($#)); do
  case $1 in
    --quick) quick=1 docs=0 ;;
    --docs) docs=1 ;;
    --build-dir) build_dir=$2; shift ;;
    --no-docs) docs=0 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
started=$(date +%s)
say() { echo "bench.sh: $*" >&2; }

# --- dependencies ---------------------------------------------------------------------
scripts/install-deps.sh
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox) # PNG (pngcairo) without X11
if ((${#need[@]})); then
  say "installing ${need[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- build ----------------------------------------------------------------------------
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPERSONA_BUILD_BENCH=ON \
  -DPERSONA_BUILD_TESTS=OFF -DPERSONA_BUILD_EXAMPLES=OFF -DPERSONA_DEV_WARNINGS=OFF "${launcher[@]}" >/dev/null
targets=(persona-server persona_bench_bare_server persona_bench_ingest persona_bench_retrieval
  persona_bench_scan persona_bench_http persona_bench_memory)
say "building ${targets[*]} in $build_dir"
# One TU with Beast + JSON + FAISS takes ~700 MB: one job per core; nice, for shared machines.
nice -n 10 cmake --build "$build_dir" -j2 --target "${targets[@]}"
built=$(date +%s)

# --- run ------------------------------------------------------------------------------
b=$build_dir/bench
server=$build_dir/tools/persona-server/persona-server
[[ -x $server ]] || server=$build_dir/tools/persona-server
out=$(mktemp -d /tmp/persona-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
mkdir -p docs/performance
if ((quick)); then
  ingest=(--batches 1,10,100 --events 2000 --small-events 200)
  retrieval=(--sizes 1000,10000 --users 500 --queries 50)
  scan=(--sizes 10000,100000 --rounds 5)
  http=(--duration 2 --sizes 100,1000)
  memory=(--sizes 1000,10000)
else
  ingest=(--batches 1,10,100,1000 --events 20000 --small-events 2000)
  retrieval=(--sizes 1000,10000,100000 --users 10000 --queries 300)
  scan=(--sizes 10000,100000,1000000 --rounds 15)
  http=(--duration 20 --sizes 100,1000,10000)
  memory=(--sizes 1000,10000,100000)
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A took
run() { # name, command...: stdout to $out/name.md, data to $out/name.dat
  local name=$1 t0
  shift
  say "running $name: $*"
  t0=$(date +%s)
  "$@" --plot "$out/$name.dat" >"$out/$name.md"
  took[$name]=$(($(date +%s) - t0))
}
run ingest "$b/persona_bench_ingest" "${ingest[@]}" --server "$server"
run retrieval "$b/persona_bench_retrieval" "${retrieval[@]}" --server "$server"
# OpenMP reads these when the program starts: FAISS on one core, no spinning threads.
run scan env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 "$b/persona_bench_scan" "${scan[@]}"
run http "$b/persona_bench_http" "${http[@]}" --server "$server" --bare "$b/persona_bench_bare_server"
run memory "$b/persona_bench_memory" "${memory[@]}"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
finished=$(date +%s)

# --- plots ----------------------------------------------------------------------------
# The data files are kept beside the plots: gnuplot -e "datadir='docs/performance';
# outdir='docs/performance'" bench/plots.gnuplot redraws them.
if ((docs)); then
  cp "$out"/{ingest,retrieval,scan,http,memory}.dat docs/performance/
  gnuplot -e "datadir='docs/performance'; outdir='docs/performance'" bench/plots.gnuplot
fi

# --- the generated block --------------------------------------------------------------
# Targets of issue 7, read from the data files (columns: see each file's header line).
val() { awk -v key="$2" -v col="$3" '!/^#/ && $1 == key { print $col; exit }' "$out/$1.dat"; }
yes_no() { awk -v x="$1" -v op="$2" -v y="$3" 'BEGIN { if (x == "" || x == "-") { print "not measured"; exit }
  ok = (op == "<") ? (x + 0 < y + 0) : (x + 0 >= y + 0); print ok ? "**met**" : "not met" }'; }
largest_scan=$(awk '!/^#/ { n = $1 } END { print n }' "$out/scan.dat")
p99_10k=$(val retrieval 10000 5)
ingest_rate=$(awk '!/^#/ && $2 > best { best = $2 } END { print best }' "$out/ingest.dat")
loop=$(val scan "$largest_scan" 2) flat=$(val scan "$largest_scan" 3) faiss=$(val scan "$largest_scan" 4)
scan_vs_loop=$(awk -v a="$flat" -v b="$loop" 'BEGIN { printf "%.2f", a / b }')
scan_vs_faiss=$(awk -v a="$flat" -v b="$faiss" 'BEGIN { printf "%.2f", a / b }')
bare_rps=$(val http '"bare"' 2)
chunks_label=$(awk '!/^#/ && /chunks-/ { l = $1 } END { print l }' "$out/http.dat") # the largest size run
chunks_1k='"chunks-1000"'
grep -q '^"chunks-1000"' "$out/http.dat" || chunks_1k=$chunks_label
http_share=$(awk -v a="$(val http "$chunks_1k" 2)" -v b="$bare_rps" 'BEGIN { printf "%.2f", a / b }')
http_p99=$(val http "$chunks_1k" 3)

block=$out/block.md
{
  echo "<!-- bench:begin -->"
  echo "<!-- generated by scripts/bench.sh$( ((quick)) && echo ' --quick'); edit the script, not this block -->"
  echo
  echo "**Run.** $( ((quick)) && echo 'QUICK run (small sizes: checks the script, not numbers to quote)' || echo 'Full run'),"
  echo "$(date -u +%Y-%m-%d), commit \`$(git rev-parse --short HEAD 2>/dev/null || echo '?')\`$(git diff --quiet HEAD -- include backends 2>/dev/null || echo ' with uncommitted changes to include/ or backends/'),"
  echo "$(nproc) vCPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1e6 }' /proc/meminfo),"
  echo "load average $load_before before and $load_after after. Build $((built - started)) s; benchmarks"
  echo "$((finished - built)) s (ingest ${took[ingest]} s, retrieval ${took[retrieval]} s, scan ${took[scan]} s,"
  echo "HTTP ${took[http]} s, memory ${took[memory]} s). Release build (\`-O3\`), GCC $(gcc -dumpfullversion)."
  echo
  echo "#### Issue 7's targets, in this run"
  echo
  echo "| target | measured | |"
  echo "|---|---|---|"
  echo "| /chunks in process p99 < 1 ms at 10k chunks (among the other users) | $p99_10k µs | $(yes_no "$p99_10k" "<" 1000) |"
  echo "| flat scan ≥ 80% of the read loop ($largest_scan vectors) | $scan_vs_loop | $(yes_no "$scan_vs_loop" ">=" 0.8) |"
  echo "| flat scan ≥ 2× FAISS IndexFlatIP, batch 1 | $scan_vs_faiss× | $(yes_no "$scan_vs_faiss" ">=" 2) |"
  echo "| ingest ≥ 50,000 events/s per core, memory store (best batch size) | $ingest_rate | $(yes_no "$ingest_rate" ">=" 50000) |"
  echo "| HTTP /chunks ≥ 50% of bare Beast requests/s (${chunks_1k//\"/}) | $http_share | $(yes_no "$http_share" ">=" 0.5) |"
  echo "| HTTP /chunks p99 < 5 ms under 64 connections (${chunks_1k//\"/}) | $http_p99 ms | $(yes_no "$http_p99" "<" 5) |"
  echo
  echo "#### 1. Ingest, events/s by batch size"
  echo
  echo "![ingest events/s by batch size](performance/ingest.png)"
  echo
  cat "$out/ingest.md"
  echo
  echo "#### 2. /chunks latency by the user's size"
  echo
  echo "![/chunks latency](performance/retrieval.png)"
  echo
  cat "$out/retrieval.md"
  echo
  echo "#### 3. Vector scan against the memory limit"
  echo
  echo "![scan GB/s](performance/scan.png)"
  echo
  cat "$out/scan.md"
  echo
  echo "#### 4. HTTP under wrk"
  echo
  echo "![HTTP requests/s](performance/http.png)"
  echo
  cat "$out/http.md"
  echo
  echo "#### 5. Resident memory per chunk"
  echo
  echo "![bytes per chunk](performance/memory.png)"
  echo
  cat "$out/memory.md"
  echo
  echo "<!-- bench:end -->"
} >"$block"

if ((docs == 0)); then
  cat "$block"
  exit 0
fi
doc=docs/performance.md
if ! grep -q '^<!-- bench:begin -->' "$doc" || ! grep -q '^<!-- bench:end -->' "$doc"; then
  say "$doc has no <!-- bench:begin --> ... <!-- bench:end --> block; printing instead"
  cat "$block"
  exit 1
fi
# Replace the lines from the begin marker to the end marker; keep every other line.
awk -v block="$block" '
  /^<!-- bench:begin -->/ { while ((getline line < block) > 0) print line; skip = 1; next }
  /^<!-- bench:end -->/ { skip = 0; next }
  !skip { print }' "$doc" >"$out/performance.md"
cat "$out/performance.md" >"$doc" # keep the file's mode and inode
say "wrote $doc and docs/performance/*.png in $(($(date +%s) - started)) s"
