"""Crash test: nothing a persona-server acknowledged is lost when it is killed with SIGKILL.

Usage: crash_test.py SERVER_BIN WORK_DIR CYCLES [SEED] [--report FILE]

Each cycle starts persona-server on WORK_DIR/persona.db, ingests batches of events from
a client thread that records every batch the server acknowledged (HTTP 200), kills the
server with SIGKILL at a random moment (usually mid-request), restarts it, and checks:

  * every acknowledged event is present (GET /export) and retrievable (/chunks finds a
    sample of them by their unique words as the top hit);
  * no batch is partly present: each batch's events are all there or none are.

Before the first cycle it also checks a clean restart (SIGTERM): traits, /query, /chunks
and /summary answer byte for byte as before. Exits 1 on any failure.
"""
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import requests

BATCH = 10
USERS = ["crash_ash", "crash_maya"]


class Server:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.proc, self.base = None, None

    def start(self):
        self.stderr_path = os.path.join(self.work, "stderr.txt")
        with open(os.path.join(self.work, "stdout.txt"), "ab") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "--port", "0", "--threads", "2", "--quiet", "--keys", os.path.join(self.work, "keys.txt"),
                 "--db", os.path.join(self.work, "persona.db")], stdout=out, stderr=err)
        deadline = time.time() + 60
        while time.time() < deadline:
            text = open(self.stderr_path).read()
            m = re.search(r"http://127\.0\.0\.1:(\d+)", text)
            if m:
                self.base = "http://127.0.0.1:" + m.group(1)
                return text
            if self.proc.poll() is not None:
                raise RuntimeError("server exited at start: " + text)
            time.sleep(0.02)
        raise RuntimeError("server did not start")

    def kill(self, sig):
        self.proc.send_signal(sig)
        self.proc.wait()


def key_of(work):
    text = open(os.path.join(work, "stdout.txt")).read()
    return re.search(r"pk_[0-9a-f]+", text).group(0)


def export_ids(s, base, user):
    r = s.get(base + "/export", params={"user_id": user}, timeout=30)
    r.raise_for_status()
    lines = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    return {line["event_id"] for line in lines if line.get("type") == "event"}


def top_chunk(s, base, user, words):
    r = s.post(base + "/chunks", json={"user_id": user, "conversation": [{"role": "user", "content": words}],
                                       "top_k": 1}, timeout=30)
    r.raise_for_status()
    results = r.json()["results"]
    return results[0]["chunk_id"] if results else None


def ingester(base, key, cycle, acked, stop):
    """Send batches until the server dies; record the batches it acknowledged."""
    s = requests.Session()
    s.headers["Authorization"] = "x-api-key: " + key
    n = 0
    while not stop.is_set():
        user = USERS[n % len(USERS)]
        batch = f"c{cycle}b{n}"
        events = [{"event_id": f"{batch}_{i}", "type": "note", "timestamp": "2025-10-10T09:00:00Z",
                   "content": f"Crash note {batch} item {i} marker w{cycle}x{n}x{i}q."} for i in range(BATCH)]
        try:
            r = s.post(base + "/ingest", json={"user_id": user, "source": "crash", "events": events}, timeout=10)
        except requests.RequestException:
            return  # the server is gone; this batch was not acknowledged
        if r.status_code == 200:
            acked.append((user, batch))
        n += 1


def clean_restart_check(server, key, failures):
    s = requests.Session()
    s.headers["Authorization"] = "x-api-key: " + key
    b = server.base

    def snapshot():
        out = [s.put(b + "/register", json={"user_id": "restart_user"}).text]
        for q in ["When is stand-up?", "What does Ash prefer?"]:
            out.append(s.post(b + "/query", json={"user_id": "restart_user", "question": q}).text)
            out.append(s.post(b + "/chunks", json={"user_id": "restart_user",
                                                   "conversation": [{"role": "user", "content": q}]}).text)
        # generated_at is the time of the request: the two snapshots may fall either side
        # of a second's boundary, so only that value is masked; the rest stays byte for byte.
        summary = s.get(b + "/summary", params={"user_id": "restart_user"}).text
        masked, found = re.subn(r'"generated_at":"[0-9T:Z-]+"', '"generated_at":"<now>"', summary, count=1)
        if not found:
            failures.append("/summary has no generated_at: %r" % summary)
        out.append(masked)
        return out

    s.put(b + "/register", json={"user_id": "restart_user", "traits": {"name": "Ash Lewis", "tz": "PT"}})
    s.post(b + "/ingest", json={"user_id": "restart_user", "events": [
        {"event_id": "e1", "type": "email", "timestamp": "2025-10-10T09:00:00Z",
         "content": "Let's move stand-up to 2 PM starting next week."},
        {"event_id": "e2", "type": "email", "timestamp": "2025-10-09T09:00:00Z",
         "content": "Ash prefers meetings after 1 PM."}]})
    before = snapshot()
    server.kill(signal.SIGTERM)
    server.start()
    b = server.base
    after = snapshot()
    if before != after:
        failures.append("clean restart changed answers: %r != %r" % (before, after))
    else:
        print("ok: a clean restart keeps traits, /query, /chunks and /summary byte for byte")


def main():
    args = sys.argv[1:]
    report = None
    if "--report" in args:
        i = args.index("--report")
        report = args[i + 1]
        del args[i:i + 2]
    binary, work, cycles = args[0], args[1], int(args[2])
    seed = int(args[3]) if len(args) > 3 else 1
    rng = random.Random(seed)
    os.makedirs(work, exist_ok=True)
    for f in os.listdir(work):
        os.remove(os.path.join(work, f))
    server = Server(binary, work)
    server.start()
    key = key_of(work)
    s = requests.Session()
    s.headers["Authorization"] = "x-api-key: " + key
    for u in USERS:
        s.put(server.base + "/register", json={"user_id": u}).raise_for_status()
    failures = []
    clean_restart_check(server, key, failures)

    acked_all = []       # (user, batch) acknowledged, across all cycles
    seen_unacked = 0     # batches present although their acknowledgement never arrived
    lost = 0             # acknowledged events missing after a restart
    start = time.time()
    for cycle in range(cycles):
        acked, stop = [], threading.Event()
        t = threading.Thread(target=ingester, args=(server.base, key, cycle, acked, stop))
        t.start()
        time.sleep(rng.uniform(0.05, 0.6))
        server.kill(signal.SIGKILL)
        stop.set()
        t.join()
        acked_all.extend(acked)
        server.start()
        s = requests.Session()
        s.headers["Authorization"] = "x-api-key: " + key
        present = {u: export_ids(s, server.base, u) for u in USERS}
        for user, batch in acked_all:
            missing = [i for i in range(BATCH) if f"{batch}_{i}" not in present[user]]
            if missing:
                lost += len(missing)
                failures.append(f"cycle {cycle}: acknowledged batch {batch} of {user} lost events {missing}")
        batches = {}
        for user, ids in present.items():
            for eid in ids:
                b = eid.rsplit("_", 1)[0]
                batches.setdefault((user, b), set()).add(eid)
        for (user, b), ids in batches.items():
            if len(ids) != BATCH:
                failures.append(f"cycle {cycle}: batch {b} of {user} is partly present ({len(ids)} of {BATCH})")
        acked_set = set(acked_all)
        seen_unacked += sum(1 for k in batches if k[0] in USERS and k not in acked_set and k[1].startswith(f"c{cycle}b"))
        sample = acked[-2:] + rng.sample(acked_all, min(2, len(acked_all)))
        for user, batch in sample:
            i = rng.randrange(BATCH)
            n = int(batch.split("b")[1])
            c = int(batch[1:].split("b")[0])
            got = top_chunk(s, server.base, user, f"w{c}x{n}x{i}q")
            if got != f"{batch}_{i}#s1":
                failures.append(f"cycle {cycle}: event {batch}_{i} not retrievable (top hit {got})")
        print(f"cycle {cycle + 1}/{cycles}: {len(acked)} batches acknowledged this cycle, "
              f"{sum(len(v) for v in present.values())} events present, all acknowledged present: "
              f"{'yes' if not failures else 'NO'}", flush=True)
        if failures:
            break
    elapsed = time.time() - start
    server.kill(signal.SIGTERM)
    summary = (f"{cycles} SIGKILL cycles in {elapsed:.0f} s: {len(acked_all)} batches ({len(acked_all) * BATCH} events) "
               f"acknowledged, {len(acked_all) * BATCH - lost} of them present after restarts; "
               f"{seen_unacked} unacknowledged batches (in flight at the kill) present whole; "
               f"{len(failures)} failures")
    print(summary)
    for f in failures[:20]:
        print("FAILED:", f)
    if report:
        with open(report, "w") as out:
            out.write(summary + "\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
