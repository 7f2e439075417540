#!/usr/bin/env bash
# Configure and build persona (tests and examples included) into ./build.
# Usage: scripts/build.sh [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
"$(dirname "$0")/install-deps.sh"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@" >/dev/null
# Test TUs take ~700 MB each: one job per core is what these machines hold.
cmake --build build -j"$(nproc)"
