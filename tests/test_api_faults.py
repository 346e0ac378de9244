"""Neo4j stops under traffic: graph routes answer 503 JSON, the API stays up, and it recovers
on its own within 10 s of Neo4j coming back, with every accepted event still there.

The API runs as `unfragile serve` in a subprocess against the suite's second Neo4j (the
`second_home` fixture, its own home), so stopping that server leaves the session's Neo4j (and
the other tests) alone; restarting it also shows that a restart keeps the data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from tests.helpers import artifact, event, write_jsonl
from unfragile.engine import event_log
from unfragile.engine.db import open_graph
from unfragile.engine.indexer import Indexer
from unfragile.engine.ingest import ingest
from unfragile.graph import store

REPO = Path(__file__).resolve().parents[1]
KEY = "fault-key"
RECOVERY_S = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(check, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class Traffic(threading.Thread):
    """Mixed graph-route requests in a loop; events carry unique ids and sessions."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.log: list[tuple[float, str, int, dict | None]] = []
        self.accepted: list[str] = []
        self.n = 0

    def run(self) -> None:
        # A generous client timeout: a JVM that has just restarted on a loaded machine answers
        # its first queries slowly. A request that still gets no answer is logged as status 0
        # (the test then names it) instead of ending the traffic.
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self.stop.is_set():
                self.n += 1
                i = self.n
                calls = [
                    ("artifact", lambda: client.get("/artifacts/fault-art-1")),
                    ("leaderboard", lambda: client.get("/leaderboard")),
                    ("search", lambda: client.get("/search", params={"q": "thing number 2"})),
                    (
                        "cypher",
                        lambda: client.post(
                            "/cypher",
                            json={"query": "MATCH (a:Artifact) RETURN count(a) AS n"},
                            headers={"X-API-Key": KEY},
                        ),
                    ),
                    (
                        "events",
                        lambda i=i: client.post(
                            "/events",
                            headers={"X-API-Key": KEY},
                            json={
                                **event("fault query", "fault-art-1", f"s{i}"),
                                "id": f"fault-{i}",
                            },
                        ),
                    ),
                ]
                for name, call in calls:
                    try:
                        r = call()
                    except httpx.TimeoutException as e:
                        self.log.append((time.monotonic(), name, 0, {"timeout": repr(e)}))
                        continue
                    try:
                        body = r.json()
                    except ValueError:
                        body = None
                    self.log.append((time.monotonic(), name, r.status_code, body))
                    if name == "events" and r.status_code == 200:
                        self.accepted.append(f"fault-{i}")
                time.sleep(0.02)


def test_neo4j_stops_under_traffic_then_the_api_recovers(second_home, tmp_path):
    own, server = second_home
    if server.info() is None:
        server.start(timeout_s=own.neo4j_start_timeout_s)
    with open_graph(own, apply_schema=True) as graph:
        store.delete_everything(graph)
        ingest(
            graph,
            write_jsonl(tmp_path / "a.jsonl", [artifact(f"fault-art-{i}") for i in range(1, 4)]),
            show_progress=False,
        )
        indexer = Indexer(own, graph)
        indexer.sync_text("capabilities", show_progress=False)
        indexer.sync_text("queries", show_progress=False)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        UNFRAGILE_HOME=str(own.home),
        UNFRAGILE_API_KEYS=KEY,
        UNFRAGILE_GDS="0",
        UNFRAGILE_NEO4J_HEAP="512m",
    )
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "unfragile.api.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    traffic = Traffic(base)
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        _wait_for(healthy, 120, "the API answering /healthz with 200")
        traffic.start()
        _wait_for(lambda: len(traffic.accepted) >= 5, 60, "five events accepted")

        stopped_at = time.monotonic()
        assert server.stop()
        assert server.info() is None
        gone_at = time.monotonic()
        time.sleep(4)  # traffic goes on against a stopped Neo4j
        assert proc.poll() is None, "the API process died with Neo4j"
        down = httpx.get(f"{base}/healthz", timeout=10)
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        assert down.json()["neo4j"] is False and down.json()["reason"]
        # Routes that need no graph still answer.
        assert httpx.get(f"{base}/openapi.json", timeout=10).status_code == 200

        restart_at = time.monotonic()
        server.start(timeout_s=own.neo4j_start_timeout_s)
        back_at = time.monotonic()
        recovered = _wait_for(healthy, RECOVERY_S, "recovery after Neo4j came back")
        rounds = traffic.n  # let every route go round at least once more
        _wait_for(lambda: traffic.n >= rounds + 2, 60, "two more rounds of traffic")
        traffic.stop.set()
        traffic.join(timeout=60)
        assert proc.poll() is None
    finally:
        traffic.stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    odd = [
        (name, status, body) for _, name, status, body in traffic.log if status not in (200, 503)
    ]
    assert not odd, (odd[:5], (tmp_path / "serve.log").read_text()[-3000:])
    # Requests sent while Neo4j was down (not while it stopped or started).
    outage = [
        (name, status, body)
        for t, name, status, body in traffic.log
        if gone_at + 0.5 < t < restart_at
    ]
    assert {name for name, _, _ in outage} == {
        "artifact",
        "leaderboard",
        "search",
        "cypher",
        "events",
    }
    for name, status, body in outage:
        assert status == 503, (name, status, body)
        assert body["error"] == "unavailable" and "Neo4j" in body["message"]
    after = [(name, status) for t, name, status, _ in traffic.log if t > back_at + recovered]
    assert {name for name, _ in after} == {"artifact", "leaderboard", "search", "cypher", "events"}
    assert all(status == 200 for _, status in after), after
    assert sum(1 for t, _, s, _ in traffic.log if t < stopped_at and s == 200) >= 25

    # Every event the API accepted (200), before the stop and after the restart, is there.
    with open_graph(own) as graph:
        # Accepted means logged and aggregated: every id is in the graph's event log.
        # A restart keeps the data: the artifacts ingested before the stop are still there.
        assert store.stats(graph)["artifacts"] == 3
        log = event_log.for_graph(graph)
        assert log is not None and log.pending() == []
        stored = set(
            pq.read_table(log.parts(), columns=["id"], partitioning=None).column("id").to_pylist()
        )
    assert traffic.accepted and set(traffic.accepted) <= stored
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
