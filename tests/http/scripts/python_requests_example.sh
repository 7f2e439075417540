#!/usr/bin/env bash
# Run the docs-style Python requests example against a fresh persona-server.
# Usage: python_requests_example.sh SERVER_BIN WORK_DIR
set -euo pipefail
source "$(dirname "$0")/start_server.sh" "$1" "$2"
PERSONA_BASE_URL=$BASE FASTINO_API_KEY=$KEY /usr/bin/python3 "$(dirname "$0")/python_requests_example.py"
