#!/usr/bin/env bash
# Kill a real persona-server with SIGKILL at random moments while a client ingests, 100
# times, and check that nothing acknowledged was lost (see docs/reliability.md).
# Usage: scripts/crash-test.sh [CYCLES (100)] [SEED (1)]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tests/sqlite/crash_test.sh build/tools/persona-server "$work" "${1:-100}" "${2:-1}" --report "$work/report.txt"
