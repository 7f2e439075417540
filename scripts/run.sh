#!/usr/bin/env bash
# Install what is missing, build, and run persona.
# Until the HTTP server lands (issue 3) this runs the in-process quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/examples/persona_quickstart "$@"
