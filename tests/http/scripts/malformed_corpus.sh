#!/usr/bin/env bash
# Run the malformed-request corpus against a fresh persona-server (1 MiB body limit).
# Usage: malformed_corpus.sh SERVER_BIN WORK_DIR
set -euo pipefail
source "$(dirname "$0")/start_server.sh" "$1" "$2" --body-limit 1048576
/usr/bin/python3 "$(dirname "$0")/malformed_corpus.py" "$BASE" "$KEY"
kill -0 "$SERVER_PID" # still alive
