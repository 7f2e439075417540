#!/usr/bin/env bash
# Build and run tests/cmake/consumer against persona, as a subdirectory or as an
# installed package. Usage: run_consumer.sh subdirectory|package SOURCE_DIR WORK_DIR
set -euo pipefail
mode=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
if [[ $mode == package ]]; then
  cmake -S "$src" -B "$work/persona-build" -DPERSONA_BUILD_TESTS=OFF -DPERSONA_BUILD_EXAMPLES=OFF -DPERSONA_BUILD_TOOLS=OFF >/dev/null
  cmake --install "$work/persona-build" --prefix "$work/prefix" >/dev/null
  cmake -S "$src/tests/cmake/consumer" -B "$work/build" -DPERSONA_CONSUME=package -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
else
  cmake -S "$src/tests/cmake/consumer" -B "$work/build" -DPERSONA_CONSUME=subdirectory -DPERSONA_SOURCE_DIR="$src" >/dev/null
fi
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
