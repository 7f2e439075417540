"""The Personalization API from Python `requests`, as in Fastino's docs.

Runs unchanged against the hosted API or a persona server: only BASE_URL differs.
    PERSONA_BASE_URL=http://127.0.0.1:8080 FASTINO_API_KEY=pk_... python3 python_requests_example.py
"""
import os

import requests

BASE_URL = os.environ.get("PERSONA_BASE_URL", "https://api.fastino.ai")
API_KEY = os.environ["FASTINO_API_KEY"]
HEADERS = {"Authorization": f"x-api-key: {API_KEY}", "Content-Type": "application/json"}

# 1. Register a user with traits
resp = requests.put(f"{BASE_URL}/register", headers=HEADERS, json={
    "user_id": "usr_42af7c",
    "traits": {"name": "Ash Lewis", "timezone": "America/Los_Angeles",
               "notes": "Founder/engineer; prefers concise comms"},
})
resp.raise_for_status()
print("register:", resp.json())

# 2. Ingest an email and a document
resp = requests.post(f"{BASE_URL}/ingest", headers=HEADERS, json={
    "user_id": "usr_42af7c",
    "source": "gmail",
    "events": [{
        "event_id": "evt_1", "type": "email", "timestamp": "2025-10-10T09:00:00Z",
        "content": "Let's move stand-up to 2 PM starting next week.",
        "metadata": {"subject": "Stand-up time", "sender": "ash@example.com"},
    }],
    "documents": [{"doc_id": "doc_7", "title": "Working preferences",
                   "content": "Typical focus blocks 9-12 PT; meetings after 1 PM preferred."}],
})
resp.raise_for_status()
print("ingest:", resp.json())
assert resp.json()["ingested"] == {"events": 1, "documents": 1}

# 3. Ask a question
resp = requests.post(f"{BASE_URL}/query", headers=HEADERS, json={
    "user_id": "usr_42af7c", "question": "When does Ash prefer to schedule meetings?"})
resp.raise_for_status()
print("query:", resp.json()["answer"])
assert "1 PM" in resp.json()["answer"]

# 4. A summary for a purpose
resp = requests.get(f"{BASE_URL}/summary", headers=HEADERS,
                    params={"user_id": "usr_42af7c", "purpose": "work-style", "max_chars": 280})
resp.raise_for_status()
print("summary:", resp.json()["summary"])
assert len(resp.json()["summary"]) <= 280

# 5. Top-k chunks to ground a reply
resp = requests.post(f"{BASE_URL}/chunks", headers=HEADERS, json={
    "user_id": "usr_42af7c",
    "conversation": [{"role": "user", "content": "Can we meet tomorrow morning?"}],
    "top_k": 3})
resp.raise_for_status()
for r in resp.json()["results"]:
    print("chunk:", r["chunk_id"], round(r["score"], 2), r["excerpt"])
assert all(0 <= r["score"] <= 1 for r in resp.json()["results"])

# 6. Errors are JSON with a code
resp = requests.post(f"{BASE_URL}/query", headers=HEADERS, json={"user_id": "nobody", "question": "hi"})
assert resp.status_code == 404 and resp.json()["code"] == "USER_NOT_FOUND", resp.text

# 7. Forget the user
resp = requests.post(f"{BASE_URL}/delete", headers=HEADERS,
                     json={"user_id": "usr_42af7c", "scope": "global", "reason": "user request"})
resp.raise_for_status()
print("delete:", resp.json())
assert resp.json()["status"] == "completed"
print("python requests example: all steps passed")
