"""Load on the HTTP API from a second process: mixed search / compare / artifact / leaderboard.

Closed loop: --concurrency workers, each on its own keep-alive connection, send a request,
wait for the answer, pick the next one, until --duration seconds have passed. Loopback only.
Prints requests/s, latency percentiles (overall and per route) and errors by status.

    unfragile serve &                  # on the bundled data (+ `unfragile import metatool`)
    .venv/bin/python bench/load.py --duration 60
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from common import ROOT, describe, machine, metatool_dir

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MIX = {"search": 40, "artifact": 25, "compare": 20, "leaderboard": 15}


def queries(metatool: Path, limit: int, rng: random.Random) -> list[str]:
    """Search texts: the bundled events' queries and a sample of MetaTool's."""
    texts = set()
    for line in (ROOT / "data" / "catalog" / "events.jsonl").read_text().splitlines():
        if line.strip():
            texts.add(json.loads(line)["query"])
    found = list(texts)
    csv_file = metatool / "queries.csv"
    if csv_file.exists():
        with open(csv_file, newline="", encoding="utf-8") as f:
            rows = [row.get("Query") or row.get("query") or "" for row in csv.DictReader(f)]
        rows = sorted({r.strip() for r in rows if r.strip()})
        found += rng.sample(rows, min(limit, len(rows)))
    return found


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    i = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms)) - 1))
    return sorted_ms[i]


class Worker(threading.Thread):
    def __init__(self, host: str, port: int, until: float, plan, seed: int):
        super().__init__(daemon=True)
        self.host, self.port, self.until, self.plan = host, port, until, plan
        self.rng = random.Random(seed)
        self.samples: list[tuple[str, int, float]] = []  # (route, status, ms)

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        while time.monotonic() < self.until:
            route, path = self.plan(self.rng)
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0  # a transport error: connection refused, reset, timed out
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.samples.append((route, status, (time.perf_counter() - start) * 1000))
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="The API (loopback only).")
    ap.add_argument("--duration", type=float, default=60.0, help="Seconds of load.")
    ap.add_argument("--concurrency", type=int, default=4, help="Workers (connections).")
    ap.add_argument(
        "--queries",
        type=int,
        default=20000,
        help="MetaTool queries sampled (default: all, so few repeat).",
    )
    ap.add_argument("--metatool", type=Path, default=metatool_dir())
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="Print one JSON object instead.")
    args = ap.parse_args()
    if not 0 < args.duration <= 3600:
        ap.error("--duration must be in (0, 3600] seconds")
    url = urlsplit(args.url)
    if url.hostname not in LOOPBACK:
        ap.error("load goes to loopback only (127.0.0.1, localhost, ::1)")
    host, port = url.hostname, url.port or 80

    rng = random.Random(args.seed)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("GET", "/healthz")
        health = conn.getresponse()
        health_body = json.loads(health.read())
        conn.request("GET", "/leaderboard?top=1000")
        board = json.loads(conn.getresponse().read())
    except OSError as e:
        print(
            f"error: nothing answers at {args.url} ({e}); start `unfragile serve` first",
            file=sys.stderr,
        )
        return 2
    if health.status != 200:
        print(f"error: {args.url}/healthz says {health_body}", file=sys.stderr)
        return 2
    ids = [row["id"] for row in board["rows"]]
    texts = queries(args.metatool, args.queries, rng)
    if len(ids) < 2:
        print("error: fewer than two ranked artifacts: run `unfragile rank`", file=sys.stderr)
        return 2
    routes = [r for r, w in MIX.items() for _ in range(w)]

    def plan(r: random.Random) -> tuple[str, str]:
        route = r.choice(routes)
        if route == "search":
            return route, "/search?" + urlencode({"q": r.choice(texts), "k": 10})
        if route == "artifact":
            return route, f"/artifacts/{r.choice(ids)}"
        if route == "compare":
            a, b = r.sample(ids, 2)
            return route, "/compare?" + urlencode({"a": a, "b": b})
        return route, "/leaderboard?" + urlencode({"top": r.choice([10, 20, 50])})

    load_before = os.getloadavg()
    started = time.monotonic()
    until = started + args.duration
    workers = [
        Worker(host, port, until, plan, args.seed * 1000 + i) for i in range(args.concurrency)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()

    samples = [s for w in workers for s in w.samples]
    by_route: dict[str, list[float]] = defaultdict(list)
    for route, _, ms in samples:
        by_route[route].append(ms)
    all_ms = sorted(ms for _, _, ms in samples)
    statuses = Counter(status for _, status, _ in samples)
    errors = {str(s): n for s, n in sorted(statuses.items()) if s != 200}

    def figures(ms: list[float]) -> dict[str, float]:
        ms = sorted(ms)
        return {
            "requests": len(ms),
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(ms[-1], 1) if ms else float("nan"),
        }

    report = {
        "url": args.url,
        "duration_s": round(elapsed, 1),
        "concurrency": args.concurrency,
        "artifacts": len(ids),
        "distinct_queries": len(texts),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1),
        **{k: v for k, v in figures(all_ms).items() if k != "requests"},
        "errors_by_status": errors,
        "server_errors": sum(n for s, n in statuses.items() if s >= 500 or s == 0),
        "routes": {route: figures(ms) for route, ms in sorted(by_route.items())},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"{report['requests']} requests in {report['duration_s']} s with "
            f"{args.concurrency} workers: {report['requests_per_s']} requests/s"
        )
        print(
            f"latency ms: p50 {report['p50_ms']}  p95 {report['p95_ms']}  "
            f"p99 {report['p99_ms']}  max {report['max_ms']}"
        )
        for route, f in report["routes"].items():
            print(
                f"  {route:<12} {f['requests']:>6}  p50 {f['p50_ms']:>7}  p95 {f['p95_ms']:>7}"
                f"  p99 {f['p99_ms']:>7}"
            )
        print(f"non-200 answers: {errors or 'none'}")
        print(
            f"load average before {report['load_average_before']}, after "
            f"{report['load_average_after']}; {describe(report['machine'])}, "
            f"{report['machine']['platform']}"
        )
    return 1 if report["server_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
