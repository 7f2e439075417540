#!/usr/bin/env bash
# Run the SIGKILL crash test against a real persona-server on a temporary database.
# Usage: crash_test.sh SERVER_BIN WORK_DIR [CYCLES (20)] [SEED (1)] [--report FILE]
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/crash_test.py" "$1" "$2" "${3:-20}" "${4:-1}" "${@:5}"
