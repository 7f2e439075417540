#!/usr/bin/env bash
# Install what is missing, build, and start persona-server on 127.0.0.1:8080.
# On first start it creates persona-keys.txt and prints an admin key with a curl line.
# Extra arguments go to persona-server (e.g. --port 9000, --address 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/tools/persona-server "$@"
