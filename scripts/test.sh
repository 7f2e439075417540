#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite with ctest.
# Extra arguments go to cmake (e.g. -DPERSONA_SANITIZE=thread with a separate build dir below).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
cd build
ctest --output-on-failure -j"$(nproc)"
