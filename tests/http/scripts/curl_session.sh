#!/usr/bin/env bash
# The docs' own requests, verbatim, with real curl against a real persona-server:
# register, ingest, query, summary, chunks, export and import (persona's extension),
# delete, then the error rows of API.md.
# Usage: curl_session.sh SERVER_BIN WORK_DIR [server flags, e.g. --preset faiss]
set -euo pipefail
preset_flags=("${@:3}")
source "$(dirname "$0")/start_server.sh" "$1" "$2" --rate-limit 1000 --body-limit 65536 "${preset_flags[@]}"
failures=0
# expect STATUS JSON-CHECK  (reads the response of the last `call` from $work/body, $work/status)
call() { curl -s -o "$work/body" -w '%{http_code}' "$@" > "$work/status"; }
expect() {
  local want=$1 check=$2 got
  got=$(cat "$work/status")
  if [[ $got != "$want" ]] || ! /usr/bin/python3 -c "import json,sys; b=json.load(open('$work/body')); sys.exit(0 if ($check) else 1)"; then
    echo "FAILED: want $want and ($check), got $got: $(head -c 300 "$work/body")"; failures=$((failures+1))
  else
    echo "ok: $got $check"
  fi
}
# expect_ndjson STATUS CHECK: like expect, for an NDJSON body; CHECK sees `lines`, the parsed lines.
expect_ndjson() {
  local want=$1 check=$2 got
  got=$(cat "$work/status")
  if [[ $got != "$want" ]] || ! /usr/bin/python3 -c "import json,sys; t=open('$work/body').read(); lines=[json.loads(l) for l in t.split('\n')[:-1]]; sys.exit(0 if (t.endswith('\n') and ($check)) else 1)"; then
    echo "FAILED: want $want and ($check), got $got: $(head -c 300 "$work/body")"; failures=$((failures+1))
  else
    echo "ok: $got $check"
  fi
}

# --- the documented requests -------------------------------------------------------
call -X PUT "$BASE/register" \
  -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "traits": {"name": "Ash Lewis", "timezone": "America/Los_Angeles", "notes": "Founder/engineer; prefers concise comms"}}'
expect 200 "b['user_id'] == 'usr_42af7c' and b['status'] == 'active' and b['created_at'].endswith('Z')"

call -X POST "$BASE/ingest" \
  -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "source": "gmail", "events": [{"event_id": "evt_1", "type": "email", "timestamp": "2025-10-10T09:00:00Z", "content": "Let'"'"'s move stand-up to 2 PM starting next week.", "metadata": {"subject": "Stand-up time"}}], "documents": [{"doc_id": "doc_7", "title": "Working preferences", "content": "Typical focus blocks 9-12 PT; meetings after 1 PM preferred."}]}'
expect 200 "b['ingested'] == {'events': 1, 'documents': 1} and b['skipped'] == []"

call -X POST "$BASE/query" \
  -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "question": "When does Ash prefer to schedule meetings?"}'
expect 200 "'1 PM' in b['answer'] and len(b['sources']) > 0"

call "$BASE/summary?user_id=usr_42af7c&purpose=work-style&max_chars=200" -H "Authorization: x-api-key: $KEY"
expect 200 "b['purpose'] == 'work-style' and len(b['summary']) <= 200 and b['summary'].startswith('Ash Lewis')"

call -X POST "$BASE/chunks" \
  -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "conversation": [{"role": "user", "content": "When is stand-up now?"}], "top_k": 3}'
expect 200 "b['results'][0]['chunk_id'] == 'evt_1#s1' and 0 <= b['results'][0]['score'] <= 1"

# the other two auth forms
call -X POST "$BASE/chunks" -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "history": [{"role": "user", "content": "focus blocks"}], "k": 2}'
expect 200 "len(b['results']) <= 2"
call -X POST "$BASE/chunks" -H "x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "conversation_history": [{"role": "user", "content": "focus blocks"}]}'
expect 200 "b['results'][0]['chunk_id'] == 'doc_7#p1'"

# --- export and import (persona extension, admin keys) -------------------------------
call "$BASE/export?user_id=usr_42af7c" -H "Authorization: x-api-key: $KEY"
expect_ndjson 200 "lines[0]['type'] == 'user' and lines[0]['format'] == 'persona-export/1' and lines[0]['traits']['name'] == 'Ash Lewis' and [l['type'] for l in lines[1:]] == ['event', 'document'] and lines[1]['event_id'] == 'evt_1' and lines[1]['event_type'] == 'email' and lines[1]['metadata'] == {'subject': 'Stand-up time'} and lines[2]['doc_id'] == 'doc_7' and all(l['ingested_at'].endswith('Z') for l in lines[1:])"
cp "$work/body" "$work/export.ndjson"
curl -s -D "$work/headers" -o /dev/null "$BASE/export?user_id=usr_42af7c" -H "Authorization: x-api-key: $KEY"
grep -qi '^content-type: application/x-ndjson' "$work/headers" \
  && echo "ok: export is application/x-ndjson" || { echo "FAILED: export content type"; failures=$((failures+1)); }
# --data-binary, not -d: -d would strip the newlines that separate the lines.
call -X POST "$BASE/import?user_id=usr_copy" -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/x-ndjson" \
  --data-binary @"$work/export.ndjson"
expect 200 "b == {'user_id': 'usr_copy', 'events': 1, 'documents': 1}"
for user in usr_42af7c usr_copy; do
  curl -s -X POST "$BASE/chunks" -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/json" \
    -d '{"user_id": "'$user'", "conversation": [{"role": "user", "content": "When is stand-up now?"}], "top_k": 3}' > "$work/chunks-$user"
done
cmp -s "$work/chunks-usr_42af7c" "$work/chunks-usr_copy" && grep -q evt_1 "$work/chunks-usr_copy" \
  && echo "ok: the imported copy gives identical /chunks" || { echo "FAILED: /chunks of the copy differ"; failures=$((failures+1)); }
call -X POST "$BASE/import?user_id=usr_copy" -H "Authorization: x-api-key: $KEY" --data-binary @"$work/export.ndjson"
expect 200 "b == {'user_id': 'usr_copy', 'events': 1, 'documents': 1}"
sed '2s/"content":"[^"]*"/"content":"  "/' "$work/export.ndjson" > "$work/bad.ndjson"
call -X POST "$BASE/import?user_id=usr_bad" -H "Authorization: x-api-key: $KEY" --data-binary @"$work/bad.ndjson"
expect 400 "b['code'] == 'INVALID_REQUEST' and b['details'] == {'field': 'content', 'line': 2}"
call "$BASE/export?user_id=usr_bad" -H "Authorization: x-api-key: $KEY"
expect 404 "b['code'] == 'USER_NOT_FOUND'"
call -X POST "$BASE/export?user_id=usr_42af7c" -H "Authorization: x-api-key: $KEY"
expect 405 "b['code'] == 'METHOD_NOT_ALLOWED' and b['details']['allow'] == 'GET'"

# --- error rows ----------------------------------------------------------------------
call -X POST "$BASE/query" -H "Content-Type: application/json" -d '{"user_id": "usr_42af7c", "question": "x"}'
expect 401 "b['code'] == 'UNAUTHORIZED'"
call -X POST "$BASE/query" -H "Authorization: x-api-key: pk_wrong" -d '{"user_id": "usr_42af7c", "question": "x"}'
expect 401 "b['code'] == 'UNAUTHORIZED'"
READ_KEY=$("$1" keys add --keys "$work/keys.txt" --workspace default --scope read 2>/dev/null)
OTHER_KEY=$("$1" keys add --keys "$work/keys.txt" --workspace other --scope admin 2>/dev/null)
# The server read its keys at start-up: restart it to pick the new ones up.
restart() { # restart [flags...]: same keys file, a fresh ephemeral port (never a reused one)
  kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true
  : > "$work/stderr2.txt"
  "$server_bin" --port 0 --threads 2 --keys "$work/keys.txt" --db "$work/persona.db" --body-limit 65536 "${preset_flags[@]}" "$@" >>"$work/stdout.txt" 2>"$work/stderr2.txt" &
  SERVER_PID=$!
  for _ in $(seq 200); do
    grep -Eq 'on http://[^ ]+:[0-9]+ with' "$work/stderr2.txt" 2>/dev/null && break
    kill -0 $SERVER_PID 2>/dev/null || { cat "$work/stderr2.txt"; echo "server died on restart"; exit 1; }
    sleep 0.05
  done
  local port
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/stderr2.txt" | head -1 | sed 's/.*://')
  [[ -n $port ]] || { cat "$work/stderr2.txt"; echo "no port after restart"; exit 1; }
  BASE="http://127.0.0.1:$port"
}
restart --rate-limit 1000
# The database kept Ash, the ingested events and the index across the restart.
call "$BASE/summary?user_id=usr_42af7c" -H "Authorization: x-api-key: $KEY"
expect 200 "'Ash Lewis' in b['summary']"
call -X POST "$BASE/chunks" -H "Authorization: x-api-key: $KEY" -d '{"user_id": "usr_42af7c", "conversation": [{"role": "user", "content": "When is stand-up now?"}], "top_k": 1}'
expect 200 "b['results'][0]['chunk_id'] == 'evt_1#s1'"
call -X POST "$BASE/ingest" -H "Authorization: x-api-key: $READ_KEY" -d '{"user_id": "usr_42af7c", "events": []}'
expect 403 "b['code'] == 'FORBIDDEN'"
call -X POST "$BASE/query" -H "Authorization: x-api-key: $OTHER_KEY" -d '{"user_id": "usr_42af7c", "question": "x"}'
expect 404 "b['code'] == 'USER_NOT_FOUND'"
call "$BASE/export?user_id=usr_42af7c" -H "Authorization: x-api-key: $READ_KEY"
expect 403 "b['code'] == 'FORBIDDEN' and b['details']['required'] == 'admin'"
call -X POST "$BASE/import?user_id=usr_read" -H "Authorization: x-api-key: $READ_KEY" --data-binary @"$work/export.ndjson"
expect 403 "b['code'] == 'FORBIDDEN'"
call "$BASE/export?user_id=usr_42af7c" -H "Authorization: x-api-key: $OTHER_KEY"
expect 404 "b['code'] == 'USER_NOT_FOUND'"
call "$BASE/nowhere" -H "Authorization: x-api-key: $KEY"
expect 404 "b['code'] == 'NOT_FOUND'"
call -X GET "$BASE/ingest" -H "Authorization: x-api-key: $KEY"
expect 405 "b['code'] == 'METHOD_NOT_ALLOWED'"
call -X POST "$BASE/chunks" -H "Authorization: x-api-key: $KEY" -d '{"user_id": "usr_42af7c", "conversation": [{"role": "user", "content": "x"}], "top_k": 21}'
expect 400 "b['code'] == 'INVALID_REQUEST' and b['details']['field'] == 'top_k'"
head -c 70000 /dev/zero | tr '\0' 'a' > "$work/big"
call -X POST "$BASE/ingest" -H "Authorization: x-api-key: $KEY" --data-binary @"$work/big"
expect 413 "b['code'] == 'PAYLOAD_TOO_LARGE'"
call -X POST "$BASE/import" -H "Authorization: x-api-key: $KEY" --data-binary @"$work/big"
expect 413 "b['code'] == 'PAYLOAD_TOO_LARGE'"
# --- delete last: then 404 everywhere --------------------------------------------------
call -X POST "$BASE/delete" -H "Authorization: x-api-key: $KEY" -H "Content-Type: application/json" \
  -d '{"user_id": "usr_42af7c", "scope": "global", "reason": "user request"}'
expect 200 "b['status'] == 'completed' and b['ticket_id'].startswith('del_')"
TICKET=$(/usr/bin/python3 -c "import json; print(json.load(open('$work/body'))['ticket_id'])")
call "$BASE/delete/$TICKET" -H "Authorization: x-api-key: $KEY"
expect 200 "b['ticket_id'] == '$TICKET' and b['status'] == 'completed'"
call -X POST "$BASE/query" -H "Authorization: x-api-key: $KEY" -d '{"user_id": "usr_42af7c", "question": "x"}'
expect 404 "b['code'] == 'USER_NOT_FOUND'"
call "$BASE/healthz"
expect 200 "b == {'status': 'ok'}"

# --- quotas: a server with 3 requests per key and minute -------------------------------
restart --rate-limit 3
# The quota's windows are whole minutes of the clock (API.md: X-RateLimit-Reset is the
# window's end). Were the minute to turn over between the requests below, the fourth would
# open a fresh quota and get 200: start them with at least 10 s of the minute left.
second=$(date +%S)
if ((10#$second >= 50)); then sleep $((61 - 10#$second)); fi
for _ in 1 2 3 4; do call "$BASE/summary?user_id=usr_42af7c" -H "Authorization: x-api-key: $READ_KEY"; done
expect 429 "b['code'] == 'RATE_LIMITED'"
curl -s -D "$work/headers" -o /dev/null "$BASE/summary?user_id=usr_42af7c" -H "Authorization: x-api-key: $READ_KEY"
grep -qi '^retry-after: [0-9]' "$work/headers" && grep -qi '^x-ratelimit-reset: ' "$work/headers" \
  && echo "ok: 429 carries Retry-After and X-RateLimit-*" || { echo "FAILED: 429 headers"; failures=$((failures+1)); }

if ((failures)); then echo "curl session: $failures failed"; exit 1; fi
echo "curl session: all checks passed"
