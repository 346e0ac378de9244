"""A loader killed mid-way and run again ends with every record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import artifact, event, write_jsonl
from unfragile.engine import event_log
from unfragile.graph import store

REPO = Path(__file__).resolve().parents[1]


def _input(tmp_path: Path) -> tuple[Path, int, int]:
    artifacts = [artifact(f"art-{i}", 4) for i in range(600)]
    events = [
        event(
            f"query {i % 700}",
            f"art-{i % 600}",
            f"s{i % 900}",
            ("match", "click", "dwell")[i % 3],
            time=f"2026-10-01T12:{i % 60:02d}:00Z",
            **({"seconds": 40} if i % 3 == 2 else {}),
        )
        for i in range(12000)
    ]
    folder = tmp_path / "big"
    write_jsonl(folder / "a_catalog.jsonl", artifacts)
    write_jsonl(folder / "b_events.jsonl", events)
    return folder, len(artifacts), len(events)


def test_kill_and_rerun_counts_every_record_once(graph, settings, tmp_path):
    folder, n_artifacts, n_events = _input(tmp_path)
    env = dict(os.environ, UNFRAGILE_HOME=str(settings.home))
    # Small batches: the 4,200 MATCHED edges go in over about nine transactions (ten batches of
    # rows each), so a kill after the first leaves some unwritten even on a slow poll (with 300
    # the edges took two, and a loaded machine once saw both committed before the kill).
    cmd = [sys.executable, "-m", "unfragile.api.cli", "ingest", str(folder), "--batch-size", "50"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Kill it during aggregation: once some, but not all, of the edges are written. The log
    # part is whole by then (renamed into place) and not yet marked applied.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        done = graph.read("MATCH ()-[m:MATCHED]->() RETURN count(m) AS n")[0]["n"]
        if done > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the loader finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = graph.read("MATCH ()-[m:MATCHED]->() RETURN sum(m.count) AS n")[0]["n"]
    assert 0 < partial < n_events
    log = event_log.for_graph(graph)
    assert log is not None and len(log.parts()) == 1 and len(log.pending()) == 1

    subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True)
    counts = store.stats(graph)
    assert counts["artifacts"] == n_artifacts and counts["capabilities"] == 4 * n_artifacts
    assert counts["queries"] == 700
    totals = graph.read(
        "MATCH (:Query)-[m:MATCHED]->() RETURN sum(m.count) AS events, sum(m.clicks) AS clicks"
    )[0]
    assert totals["events"] == n_events
    # Clicks count once per (query, target, session); compute the truth independently.
    clicked = {(i % 700, i % 600, i % 900) for i in range(12000) if i % 3 == 1}
    assert totals["clicks"] == len(clicked)
    # The rerun found every event in the log already, appended nothing, applied the part.
    assert len(log.parts()) == 1 and log.pending() == []
