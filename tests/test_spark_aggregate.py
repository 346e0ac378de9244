"""The Spark aggregation (local mode) writes exactly what the embedded (DuckDB) path writes."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import snapshot
from unfragile.engine import event_log, spark_aggregate
from unfragile.engine.errors import InvalidInput, SettingsError
from unfragile.engine.ingest import ingest

REPO = Path(__file__).resolve().parents[1]
# 20k synthetic events keep this file within its CI time (Spark's start and first plans cost
# tens of seconds on a busy box); bench/spark_aggregate.py compares 100k and more the same way
# (BENCHMARKS.md).
SYNTHETIC_EVENTS = 20_000


@pytest.fixture(scope="module")
def spark(settings):
    """One local Spark session (two cores) for the whole file: a start costs seconds."""
    session = spark_aggregate.session(settings, "local[2]")
    yield session
    session.stop()


def _wipe_aggregates(graph) -> None:
    """Remove everything the aggregation writes (queries with their MATCHED edges, the
    preferences, the artifacts' session counts), so the next run rebuilds it from the log."""

    def work(tx: Any) -> None:
        tx.run("MATCH (q:Query) DETACH DELETE q").consume()
        tx.run("MATCH ()-[p:PREFERRED_OVER]->() DELETE p").consume()
        tx.run(
            "MATCH (a:Artifact) REMOVE a.evidence_sessions, a.evidence_sample_sessions"
        ).consume()

    graph.write(work)


def _same(embedded: dict[str, Any], spark: dict[str, Any]) -> None:
    """Every node and edge with every property equal; a MATCHED edge's dwell (a sum of
    floats, which neither engine adds in a fixed order) to the last few bits."""

    def split(snap: dict[str, Any]) -> tuple[dict[str, Any], list[float]]:
        edges, dwells = [], []
        for e in snap["edges"]:
            props = dict(e["props"])
            if e["type"] == "MATCHED":
                dwells.append(props.pop("dwell"))
            edges.append({**e, "props": props})
        return {"nodes": snap["nodes"], "edges": edges}, dwells

    exact_a, dwell_a = split(embedded)
    exact_b, dwell_b = split(spark)
    assert exact_a == exact_b
    assert all(
        math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
        for a, b in zip(dwell_a, dwell_b, strict=True)
    )


def _synthetic():
    spec = importlib.util.spec_from_file_location("synthetic", REPO / "bench" / "synthetic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spark_writes_what_the_embedded_path_writes(graph, spark, cli_here, tmp_path):
    # The bundled catalog and its events, and synthetic ones beside them, in one graph: one
    # Spark run (its first plans are the slow part) checks both.
    data = tmp_path / "synthetic"
    made = _synthetic().generate(
        data,
        artifacts=200,
        capabilities=1000,
        events=SYNTHETIC_EVENTS,
        queries=SYNTHETIC_EVENTS // 10,
        sessions=SYNTHETIC_EVENTS // 5,
        zipf_s=1.0,
        seed=7,
    )
    assert made["events"] == SYNTHETIC_EVENTS
    ingest(graph, REPO / "data" / "catalog", show_progress=False)
    ingest(graph, data / "catalog.jsonl", show_progress=False)
    ingest(graph, data / "events.jsonl", show_progress=False, events_only=True)
    embedded = snapshot(graph)
    counts = {
        r["t"]: r["n"]
        for r in graph.read(
            "MATCH ()-[r:MATCHED|PREFERRED_OVER]->() RETURN type(r) AS t, count(*) AS n"
        )
    }
    assert counts["MATCHED"] > SYNTHETIC_EVENTS // 5 and counts["PREFERRED_OVER"] > 10

    _wipe_aggregates(graph)
    assert graph.read("MATCH ()-[m:MATCHED]->() RETURN count(m) AS n")[0]["n"] == 0
    done = cli_here("events", "aggregate", "--engine", "spark", "--json", check=True)
    report = json.loads(done.stdout)
    assert report["events"] > SYNTHETIC_EVENTS and report["matched"] >= counts["MATCHED"]
    assert report["preferred"] == counts["PREFERRED_OVER"]
    _same(embedded, snapshot(graph))
    # The job read this graph's own log: its parts stay applied, none is pending.
    log = event_log.for_graph(graph)
    assert log is not None and log.pending() == []


def test_a_log_that_is_not_there_is_one_clear_error(graph, spark, settings, tmp_path):
    with pytest.raises(InvalidInput, match="no event log here"):
        spark_aggregate.run(settings, log=str(tmp_path / "nowhere"))
    # At a URL (any Hadoop-compatible one; file:// here), read as the log's layout.
    with pytest.raises(InvalidInput, match="no event-log parts"):
        spark_aggregate.run(settings, log=tmp_path.as_uri(), spark=spark)


def test_without_java_the_error_says_what_to_install(settings, monkeypatch, tmp_path):
    # No java anywhere: the job stops before Spark tries to start a JVM.
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(SettingsError, match=r"Java 17.*pip install '\.\[spark\]'"):
        spark_aggregate.session(settings)
