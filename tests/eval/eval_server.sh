#!/usr/bin/env bash
# persona-eval --url against a real persona-server (fresh keys, SQLite database, port 0):
# the same report as the in-process basic preset, through remote_api like any client.
# Usage: eval_server.sh EVAL_BIN SERVER_BIN WORK_DIR
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../http/scripts/start_server.sh" "$2" "$3" --quiet
work=$3
# In process the engine accepts top_k 50; a server keeps API.md's 20: compare at 20.
"$bin" "$here/tiny.jsonl" --json --top-k 20 >"$work/local.json"
PERSONA_API_KEY=$KEY "$bin" "$here/tiny.jsonl" --json --url "$BASE" >"$work/remote.json"
/usr/bin/python3 "$here/check_report.py" "$work/remote.json" "$work/local.json"
set +e
"$bin" "$here/tiny.jsonl" --url "$BASE" --key pk_wrong >/dev/null 2>"$work/wrong.err"
rc=$?
set -e
[[ $rc == 1 ]] && grep -qi "register tiny-ash" "$work/wrong.err" || { cat "$work/wrong.err"; echo "a bad key must fail the run (rc $rc)"; exit 1; }
echo "eval_server: ok"
