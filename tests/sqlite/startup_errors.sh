#!/usr/bin/env bash
# persona-server refuses a file that is not a persona database: a clear message, exit 1,
# and the file left byte for byte as it was (never reinitialised).
# Usage: startup_errors.sh SERVER_BIN WORK_DIR
set -euo pipefail
server=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/../support/server_port.sh"
failures=0
expect_refused() { # expect_refused FILE WORDS
  local file=$1 words=$2 before after status=0
  before=$(sha256sum "$file")
  timeout 20 "$server" --port 0 --keys "$work/keys.txt" --db "$file" >"$work/out" 2>"$work/err" || status=$?
  after=$(sha256sum "$file")
  if [[ $status -eq 1 ]] && grep -q "$words" "$work/err" && [[ $before == "$after" ]]; then
    echo "ok: $(basename "$file"): exit 1, '$(head -1 "$work/err")'"
  else
    echo "FAILED: $(basename "$file"): status $status, stderr: $(cat "$work/err"), unchanged: $([[ $before == "$after" ]] && echo yes || echo no)"
    failures=$((failures + 1))
  fi
}
head -c 65536 /dev/urandom > "$work/random.db"
expect_refused "$work/random.db" "is not a SQLite database"
/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table invoices(id integer primary key, total real)'); c.execute('insert into invoices values (1, 9.5)'); c.commit()" "$work/foreign.db"
expect_refused "$work/foreign.db" "belongs to another application"
# A real persona database, then pages overwritten in the middle.
timeout 20 "$server" --port 0 --keys "$work/corrupt-keys.txt" --db "$work/corrupt.db" >"$work/out" 2>"$work/err" &
pid=$!
wait_for_port "$work/err" $pid || { echo "FAILED: the server did not start"; exit 1; }
port=$PORT
key=$(grep -o 'pk_[0-9a-f]*' "$work/out" | head -1)
[[ -n $key ]] || { echo "FAILED: the server printed no bootstrap key"; exit 1; }
curl -s -X PUT "http://127.0.0.1:$port/register" -H "Authorization: x-api-key: $key" -d '{"user_id": "u1"}' >/dev/null
/usr/bin/python3 -c "import json; print(json.dumps({'user_id': 'u1', 'events': [{'event_id': 'e%d' % i, 'type': 'note', 'timestamp': '2025-10-10T09:00:00Z', 'content': 'filler text ' * 40} for i in range(300)]}))" > "$work/body.json"
curl -s -X POST "http://127.0.0.1:$port/ingest" -H "Authorization: x-api-key: $key" -d @"$work/body.json" >/dev/null
kill -TERM $pid; wait $pid || true
size=$(stat -c %s "$work/corrupt.db")
[[ $size -gt 65536 ]] || { echo "FAILED: the database is too small to corrupt ($size bytes)"; exit 1; }
printf '%*s' 16384 '' | tr ' ' '\377' | dd of="$work/corrupt.db" bs=1 seek=20480 conv=notrunc status=none
expect_refused "$work/corrupt.db" "is corrupt"
echo "$failures failures"
[[ $failures -eq 0 ]]
