#!/usr/bin/env python3
"""Check a `persona-eval --json` report on tests/eval/tiny.jsonl.

usage: check_report.py REPORT.json [SAME.json ...]

REPORT must have the documented shape and the hand-computed recall of
tests/core/eval_runner.cpp; every SAME report must equal it once the timing
members (and the target's name) are dropped: a run is deterministic.
"""
import json
import sys

TIMING = ("latency_ms", "ingest_events_per_s", "seconds", "target")
CATEGORIES = ["1", "2", "4", "5", "explicit", "implicit", "all"]


def fail(why):
    print("check_report: " + why)
    sys.exit(1)


def load(path):
    with open(path) as f:
        text = f.read()
    if text.count("\n") != 1 or not text.endswith("\n"):
        fail(path + ": stdout is not exactly one JSON line")
    return json.loads(text)


def check_shape(r):
    for key in ("users", "events", "queries", "top_k", "recall", "choice", "f1", "count", "errors") + TIMING:
        if key not in r:
            fail("no member " + key)
    if (r["users"], r["events"], r["queries"]) != (2, 10, 8):
        fail("counts: %r" % ((r["users"], r["events"], r["queries"]),))
    ks = list(r["recall"].keys())
    if ks[:4] != ["1", "3", "5", "10"] or ks[-1] != str(r["top_k"]):
        fail("recall keys: %r (top_k %r)" % (ks, r["top_k"]))
    for k, table in r["recall"].items():
        if list(table.keys()) != CATEGORIES:
            fail("recall@%s categories: %r" % (k, list(table.keys())))
        for c, v in table.items():
            if not isinstance(v, (int, float)) or not 0 <= v <= 100:
                fail("recall@%s[%s] = %r" % (k, c, v))
    # Hand-computed in tests/core/eval_runner.cpp.
    if r["recall"]["1"]["all"] != 81.25 or r["recall"]["3"]["all"] != 87.5:
        fail("recall@1/@3 all: %r / %r, expected 81.25 / 87.5" % (r["recall"]["1"]["all"], r["recall"]["3"]["all"]))
    if r["recall"]["1"]["1"] != 50 or r["recall"]["3"]["4"] != 50:
        fail("recall per category: %r" % r["recall"])
    if list(r["choice"].keys()) != ["explicit", "implicit", "all"]:
        fail("choice: %r" % r["choice"])
    if list(r["f1"].keys()) != ["1", "2", "4", "explicit", "implicit", "all"]:
        fail("f1 (category 5 is not scored): %r" % r["f1"])
    if r["count"]["recall"]["all"] != 8 or r["count"]["choice"]["all"] != 3 or r["count"]["f1"]["all"] != 7:
        fail("count: %r" % r["count"])
    if r["errors"] != {"chunks": 0, "query": 0}:
        fail("errors: %r" % r["errors"])
    for op in ("register", "ingest", "chunks", "query"):
        lat = r["latency_ms"].get(op)
        if lat is None or set(lat) != {"n", "p50", "p95", "p99"} or not lat["p50"] <= lat["p95"] <= lat["p99"]:
            fail("latency_ms[%s]: %r" % (op, lat))
    if r["latency_ms"]["chunks"]["n"] != 8 or not r["ingest_events_per_s"] > 0:
        fail("timings: %r" % r)


def deterministic(r):
    return {k: v for k, v in r.items() if k not in TIMING}


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    first = load(sys.argv[1])
    check_shape(first)
    for other_path in sys.argv[2:]:
        other = load(other_path)
        if json.dumps(deterministic(other)) != json.dumps(deterministic(first)):
            fail("%s differs from %s:\n%s\n%s" % (other_path, sys.argv[1], deterministic(other), deterministic(first)))
    print("check_report: %s has the documented shape%s" % (
        sys.argv[1], "" if len(sys.argv) == 2 else " and equals " + ", ".join(sys.argv[2:])))


main()
