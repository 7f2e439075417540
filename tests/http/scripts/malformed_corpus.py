"""A corpus of malformed requests against a running persona-server.

Each request must get the right 4xx status with API.md's error body, nothing may change
in the store, and the server must keep serving. Usage: malformed_corpus.py BASE_URL KEY
"""
import http.client
import json
import re
import socket
import sys
import urllib.parse

base, key = sys.argv[1], sys.argv[2]
host, port = urllib.parse.urlparse(base).hostname, urllib.parse.urlparse(base).port
AUTH = {"Authorization": f"x-api-key: {key}", "Content-Type": "application/json"}


def send(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=AUTH if headers is None else headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def raw(payload):
    """Bytes straight onto a socket, for requests http.client refuses to build."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def j(obj):
    return json.dumps(obj).encode()


EV = {"event_id": "e1", "type": "note", "timestamp": "2025-10-11T16:05:00Z", "content": "hello"}
CONV = [{"role": "user", "content": "hi"}]
U = "corpus_user"
cases = [
    # (name, method, path, body, expected status, expected code[, expected details.field])
    ("broken json: open brace", "POST", "/ingest", b"{", 400, "INVALID_REQUEST", "body"),
    ("broken json: missing value", "POST", "/ingest", b'{"user_id":}', 400, "INVALID_REQUEST", "body"),
    ("broken json: unclosed array", "POST", "/chunks", b"[1,2", 400, "INVALID_REQUEST", "body"),
    ("broken json: bare word", "POST", "/query", b"nul", 400, "INVALID_REQUEST", "body"),
    ("broken json: trailing comma", "POST", "/query", b'{"user_id":"u",}', 400, "INVALID_REQUEST", "body"),
    ("broken json: single quotes", "POST", "/query", b"{'user_id':'u'}", 400, "INVALID_REQUEST", "body"),
    ("broken json: missing comma", "POST", "/query", b'{"user_id":"u" "question":"q"}', 400, "INVALID_REQUEST", "body"),
    ("broken json: trailing garbage", "POST", "/query", b'{"user_id":"u","question":"q"} x', 400, "INVALID_REQUEST", "body"),
    ("empty body", "POST", "/ingest", b"", 400, "INVALID_REQUEST", "body"),
    ("whitespace body", "PUT", "/register", b"   \n", 400, "INVALID_REQUEST", "body"),
    ("body is null", "POST", "/ingest", b"null", 400, "INVALID_REQUEST", "body"),
    ("body is an array", "POST", "/chunks", b"[]", 400, "INVALID_REQUEST", "body"),
    ("body is a string", "PUT", "/register", b'"usr"', 400, "INVALID_REQUEST", "body"),
    ("duplicate keys", "PUT", "/register", b'{"user_id":"a","user_id":"b"}', 400, "INVALID_REQUEST", "user_id"),
    ("duplicate nested keys", "PUT", "/register", b'{"user_id":"a","traits":{"x":1,"x":2}}', 400, "INVALID_REQUEST", "x"),
    ("user_id is a number", "PUT", "/register", j({"user_id": 42}), 400, "INVALID_REQUEST", "user_id"),
    ("user_id is null", "POST", "/ingest", j({"user_id": None, "events": [EV]}), 400, "INVALID_REQUEST", "user_id"),
    ("user_id too long", "PUT", "/register", j({"user_id": "x" * 129}), 400, "INVALID_REQUEST", "user_id"),
    ("traits is an array", "PUT", "/register", j({"user_id": U, "traits": [1]}), 400, "INVALID_REQUEST", "traits"),
    ("email without @", "POST", "/register", j({"email": "nobody"}), 400, "INVALID_REQUEST", "email"),
    ("events is an object", "POST", "/ingest", j({"user_id": U, "events": {}}), 400, "INVALID_REQUEST", "events"),
    ("event is a string", "POST", "/ingest", j({"user_id": U, "events": ["x"]}), 400, "INVALID_REQUEST", "events[0]"),
    ("event without event_id", "POST", "/ingest", j({"user_id": U, "events": [{**EV, "event_id": None}]}), 400, "INVALID_REQUEST", "events[0].event_id"),
    ("event_id with #", "POST", "/ingest", j({"user_id": U, "events": [{**EV, "event_id": "a#b"}]}), 400, "INVALID_REQUEST", "events[0].event_id"),
    ("timestamp is a number", "POST", "/ingest", j({"user_id": U, "events": [{**EV, "timestamp": 1700000000}]}), 400, "INVALID_REQUEST", "events[0].timestamp"),
    ("timestamp is prose", "POST", "/ingest", j({"user_id": U, "events": [{**EV, "timestamp": "yesterday"}]}), 400, "INVALID_REQUEST", "events[0].timestamp"),
    ("timestamp month 13", "POST", "/ingest", j({"user_id": U, "events": [{**EV, "timestamp": "2025-13-01T00:00:00Z"}]}), 400, "INVALID_REQUEST", "events[0].timestamp"),
    ("content is a number", "POST", "/ingest", j({"user_id": U, "events": [{**EV, "content": 5}]}), 400, "INVALID_REQUEST", "events[0].content"),
    ("content is blank", "POST", "/ingest", j({"user_id": U, "events": [EV, {**EV, "event_id": "e2", "content": "  "}]}), 400, "INVALID_REQUEST", "events[1].content"),
    ("document without content", "POST", "/ingest", j({"user_id": U, "documents": [{"doc_id": "d"}]}), 400, "INVALID_REQUEST", "documents[0].content"),
    ("message with a bad role", "POST", "/ingest", j({"user_id": U, "message_history": [{"role": "narrator", "content": "x"}]}), 400, "INVALID_REQUEST", "message_history[0].role"),
    ("no items at all", "POST", "/ingest", j({"user_id": U}), 400, "INVALID_REQUEST", "events"),
    ("dedupe is a string", "POST", "/ingest", j({"user_id": U, "events": [EV], "options": {"dedupe": "true"}}), 400, "INVALID_REQUEST", "options.dedupe"),
    ("question missing", "POST", "/query", j({"user_id": U}), 400, "INVALID_REQUEST", "question"),
    ("question empty", "POST", "/query", j({"user_id": U, "question": ""}), 400, "INVALID_REQUEST", "question"),
    ("use_cache is a string", "POST", "/query", j({"user_id": U, "question": "q", "use_cache": "yes"}), 400, "INVALID_REQUEST", "use_cache"),
    ("options is a string", "POST", "/query", j({"user_id": U, "question": "q", "options": "a"}), 400, "INVALID_REQUEST", "options"),
    ("one option", "POST", "/query", j({"user_id": U, "question": "q", "options": ["a"]}), 400, "INVALID_REQUEST", "options"),
    ("eleven options", "POST", "/query", j({"user_id": U, "question": "q", "options": ["a"] * 11}), 400, "INVALID_REQUEST", "options"),
    ("conversation is an object", "POST", "/chunks", j({"user_id": U, "conversation": {}}), 400, "INVALID_REQUEST", "conversation"),
    ("conversation missing", "POST", "/chunks", j({"user_id": U}), 400, "INVALID_REQUEST", "conversation"),
    ("role narrator", "POST", "/chunks", j({"user_id": U, "conversation": [{"role": "narrator", "content": "x"}]}), 400, "INVALID_REQUEST", "conversation[0].role"),
    ("top_k is a string", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "top_k": "5"}), 400, "INVALID_REQUEST", "top_k"),
    ("top_k fractional", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "top_k": 5.5}), 400, "INVALID_REQUEST", "top_k"),
    ("top_k negative", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "top_k": -1}), 400, "INVALID_REQUEST", "top_k"),
    ("top_k zero", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "top_k": 0}), 400, "INVALID_REQUEST", "top_k"),
    ("top_k 21", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "top_k": 21}), 400, "INVALID_REQUEST", "top_k"),
    ("top_k huge", "POST", "/chunks", b'{"user_id":"corpus_user","conversation":[{"role":"user","content":"x"}],"top_k":99999999999999999999999}', 400, "INVALID_REQUEST", "top_k"),
    ("k 1e300", "POST", "/chunks", b'{"user_id":"corpus_user","conversation":[{"role":"user","content":"x"}],"k":1e300}', 400, "INVALID_REQUEST", "top_k"),
    ("number out of double range", "POST", "/chunks", b'{"user_id":"corpus_user","conversation":[],"top_k":1e999}', 400, "INVALID_REQUEST", "body"),
    ("threshold above 1", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "similarity_threshold": 2}), 400, "INVALID_REQUEST", "similarity_threshold"),
    ("threshold is a string", "POST", "/chunks", j({"user_id": U, "conversation": CONV, "similarity_threshold": "0.5"}), 400, "INVALID_REQUEST", "similarity_threshold"),
    ("scope local", "POST", "/delete", j({"user_id": U, "scope": "local"}), 400, "INVALID_REQUEST", "scope"),
    ("deep nesting: 100 objects", "PUT", "/register", b'{"user_id":"corpus_user","traits":' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}", 400, "INVALID_REQUEST", "body"),
    ("deep nesting: 10000 arrays", "POST", "/ingest", b"[" * 10000 + b"]" * 10000, 400, "INVALID_REQUEST", "body"),
    ("invalid UTF-8 byte", "PUT", "/register", b'{"user_id":"corpus_user","traits":{"n":"\xff"}}', 400, "INVALID_REQUEST", "body"),
    ("overlong UTF-8", "PUT", "/register", b'{"user_id":"\xc0\xafx"}', 400, "INVALID_REQUEST", "body"),
    ("unknown path", "GET", "/registerx", b"", 404, "NOT_FOUND"),
    ("trailing slash", "PUT", "/register/", b"{}", 404, "NOT_FOUND"),
    ("versioned path", "POST", "/v1/ingest", b"{}", 404, "NOT_FOUND"),
    ("root", "GET", "/", b"", 404, "NOT_FOUND"),
    ("dot-dot path", "GET", "/../etc/passwd", b"", 404, "NOT_FOUND"),
    ("double slash", "POST", "//ingest", b"{}", 404, "NOT_FOUND"),
    ("DELETE /ingest", "DELETE", "/ingest", b"", 405, "METHOD_NOT_ALLOWED"),
    ("PATCH /register", "PATCH", "/register", b"{}", 405, "METHOD_NOT_ALLOWED"),
    ("GET /chunks", "GET", "/chunks", b"", 405, "METHOD_NOT_ALLOWED"),
    ("POST /summary", "POST", "/summary?user_id=corpus_user", b"{}", 405, "METHOD_NOT_ALLOWED"),
    ("OPTIONS /query", "OPTIONS", "/query", b"", 405, "METHOD_NOT_ALLOWED"),
    ("summary without user_id", "GET", "/summary", b"", 400, "INVALID_REQUEST", "user_id"),
    ("summary empty user_id", "GET", "/summary?user_id=", b"", 400, "INVALID_REQUEST", "user_id"),
    ("max_chars 0", "GET", "/summary?user_id=corpus_user&max_chars=0", b"", 400, "INVALID_REQUEST", "max_chars"),
    ("max_chars -1", "GET", "/summary?user_id=corpus_user&max_chars=-1", b"", 400, "INVALID_REQUEST", "max_chars"),
    ("max_chars abc", "GET", "/summary?user_id=corpus_user&max_chars=abc", b"", 400, "INVALID_REQUEST", "max_chars"),
    ("max_chars 1.5", "GET", "/summary?user_id=corpus_user&max_chars=1.5", b"", 400, "INVALID_REQUEST", "max_chars"),
    ("max_chars huge", "GET", "/summary?user_id=corpus_user&max_chars=99999999999999999999", b"", 400, "INVALID_REQUEST", "max_chars"),
    ("freshness_days 0", "GET", "/summary?user_id=corpus_user&freshness_days=0", b"", 400, "INVALID_REQUEST", "freshness_days"),
    ("purpose bogus", "GET", "/summary?user_id=corpus_user&purpose=horoscope", b"", 400, "INVALID_REQUEST", "purpose"),
    ("bad percent escape", "GET", "/summary?user_id=%ZZ", b"", 400, "INVALID_REQUEST"),
    ("user_id twice", "GET", "/summary?user_id=a&user_id=b", b"", 400, "INVALID_REQUEST", "user_id"),
    ("invalid UTF-8 in query", "GET", "/summary?user_id=%FF", b"", 400, "INVALID_REQUEST", "user_id"),
]


def snapshot():
    status, body = send("GET", f"/summary?user_id={U}&purpose=general")
    # generated_at is the time of the request: the two snapshots may fall either side of a second.
    body, found = re.subn(rb'"generated_at":"[0-9T:Z-]+"', b'"generated_at":"<now>"', body, count=1)
    assert found == 1, body
    s = (status, body)
    c = send("POST", "/chunks", j({"user_id": U, "conversation": [{"role": "user", "content": "sailing harbour"}]}))
    m = send("GET", "/metrics", headers={})[1].decode()
    gauges = [line for line in m.splitlines() if line.startswith(("persona_users ", "persona_chunks "))]
    return s, c, gauges


# A user with known data, to see that nothing changes.
assert send("PUT", "/register", j({"user_id": U, "traits": {"name": "Corpus"}}))[0] == 200
assert send("POST", "/ingest", j({"user_id": U, "events": [{**EV, "content": "Sailing in the harbour on Sunday."}]}))[0] == 200
before = snapshot()

failures = 0
for case in cases:
    name, method, path, body, want_status, want_code = case[:6]
    want_field = case[6] if len(case) > 6 else None
    status, data = send(method, path, body)
    try:
        err = json.loads(data)
        ok = status == want_status and err["code"] == want_code and isinstance(err["message"], str) \
            and isinstance(err["details"], dict) and (want_field is None or err["details"].get("field") == want_field)
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        failures += 1
        print(f"FAILED {name}: want {want_status} {want_code} {want_field or ''}, got {status} {data[:200]!r}")

# HTTP-level garbage, through a raw socket.
for name, payload, want in [
    ("not HTTP at all", b"HELLO THERE\r\n\r\n", 400),
    ("header line without colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n", 400),
    ("oversized header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    ("body over the limit", b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{}", 413),
]:
    status, data = raw(payload)
    ok = status == want or (want == 431 and status == 400)
    try:
        ok = ok and "code" in json.loads(data)
    except ValueError:
        ok = False
    if not ok:
        failures += 1
        print(f"FAILED {name}: want {want}, got {status} {data[:120]!r}")

after = snapshot()
if before != after:
    failures += 1
    print("FAILED: the corpus changed the store:", before, after)
if send("GET", "/healthz", headers={})[0] != 200:
    failures += 1
    print("FAILED: the server stopped serving")

total = len(cases) + 4 + 2
print(f"malformed corpus: {total - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
