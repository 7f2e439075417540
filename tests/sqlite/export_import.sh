#!/usr/bin/env bash
# Export a user from a SQLite-backed persona-server and import it into a memory-backed
# one (real processes, real curl): /chunks, /query and /summary answer identically.
# Usage: export_import.sh SERVER_BIN WORK_DIR
set -euo pipefail
server=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/../support/server_port.sh"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
start() { # start NAME [flags...]: sets PORT
  local name=$1; shift
  "$server" --port 0 --threads 2 --quiet --keys "$work/keys.txt" --body-limit 33554432 "$@" >>"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  wait_for_port "$work/$name.err" $! || exit 1
}
start sqlite --db "$work/source.db"; src=$PORT
KEY=$(grep -o 'pk_[0-9a-f]*' "$work/sqlite.out" | head -1)
start memory --memory; dst=$PORT
auth=(-H "Authorization: x-api-key: $KEY")

curl -sf -X PUT "http://127.0.0.1:$src/register" "${auth[@]}" \
  -d '{"user_id": "usr_42af7c", "traits": {"name": "Ash Lewis", "timezone": "America/Los_Angeles", "prefs": {"tone": "concise"}}}' >/dev/null
/usr/bin/python3 - "$work/ingest.json" <<'PY'
import json, random, sys
rng = random.Random(5)
words = "meeting coffee project deadline Lisbon budget design review prefers afternoon flight dinner team weekly report".split()
events = [{"event_id": f"e{i}", "type": rng.choice(["email", "message", "note"]), "timestamp": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00Z",
           "content": " ".join(rng.choice(words) for _ in range(12)) + f". Note {i}.", "metadata": {"subject": f"s{i}"}} for i in range(400)]
docs = [{"doc_id": "doc_7", "title": "Working preferences", "content": "Typical focus blocks 9-12 PT.\n\nMeetings after 1 PM preferred.\n\nFridays are meeting-free."}]
json.dump({"user_id": "usr_42af7c", "source": "gmail", "events": events, "documents": docs}, open(sys.argv[1], "w"))
PY
curl -sf -X POST "http://127.0.0.1:$src/ingest" "${auth[@]}" -d @"$work/ingest.json" >/dev/null

curl -sf "http://127.0.0.1:$src/export?user_id=usr_42af7c" "${auth[@]}" -o "$work/export.ndjson"
echo "exported $(wc -l < "$work/export.ndjson") lines, $(wc -c < "$work/export.ndjson") bytes"
curl -sf -X POST "http://127.0.0.1:$dst/import" "${auth[@]}" -H "Content-Type: application/x-ndjson" --data-binary @"$work/export.ndjson"
echo

failures=0
compare() { # compare LABEL CURL-ARGS...: the same request to both servers, byte-identical bodies
  local label=$1; shift
  local a b
  # generated_at (/summary) is each request's own time: it may differ by a second.
  local now='s/"generated_at":"[0-9T:Z-]*"/"generated_at":"<now>"/'
  a=$(curl -s "http://127.0.0.1:$src$1" "${auth[@]}" "${@:2}" | sed "$now")
  b=$(curl -s "http://127.0.0.1:$dst$1" "${auth[@]}" "${@:2}" | sed "$now")
  if [[ $a == "$b" && -n $a && $a != *'"code"'* ]]; then echo "ok: $label"; else
    echo "FAILED: $label"; echo "  sqlite: ${a:0:300}"; echo "  memory: ${b:0:300}"; failures=$((failures + 1)); fi
}
for q in "When is stand-up?" "What does Ash prefer for meetings?" "Lisbon flight budget" "weekly report review" "Fridays"; do
  compare "/chunks: $q" /chunks -X POST -d "{\"user_id\": \"usr_42af7c\", \"conversation\": [{\"role\": \"user\", \"content\": \"$q\"}], \"top_k\": 10}"
  compare "/query: $q" /query -X POST -d "{\"user_id\": \"usr_42af7c\", \"question\": \"$q\"}"
done
compare "/summary" "/summary?user_id=usr_42af7c"
# The round trip is lossless: exporting from the memory server gives the same file.
curl -sf "http://127.0.0.1:$dst/export?user_id=usr_42af7c" "${auth[@]}" -o "$work/export2.ndjson"
if diff -q <(tail -n +2 "$work/export.ndjson") <(tail -n +2 "$work/export2.ndjson") >/dev/null; then
  echo "ok: the memory server's export has the same items"
else echo "FAILED: the items differ after the round trip"; failures=$((failures + 1)); fi
echo "$failures failures"
[[ $failures -eq 0 ]]
