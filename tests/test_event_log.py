"""The event log: each event once, no torn part visible, a killed append, compaction."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from tests.helpers import artifact, event, match_edge, snapshot, write_jsonl
from unfragile.engine import aggregate, event_log
from unfragile.engine.ingest import ingest, write_events
from unfragile.engine.records import EventRecord

REPO = Path(__file__).resolve().parents[1]


def _log(graph) -> event_log.EventLog:
    log = event_log.for_graph(graph)
    assert log is not None
    return log


def _logged(log: event_log.EventLog) -> list[str]:
    import pyarrow.parquet as pq

    return sorted(
        pq.read_table(log.parts(), columns=["id"], partitioning=None).column("id").to_pylist()
    )


def test_each_event_is_logged_once_whatever_the_batching(graph, tmp_path):
    events = [
        event("find alpha", "alpha", f"s{i % 3}", time=f"2026-10-01T12:00:0{i}Z") for i in range(6)
    ]
    path = write_jsonl(tmp_path / "a.jsonl", [artifact("alpha"), *events, events[0]])
    ingest(graph, path, show_progress=False)
    log = _log(graph)
    assert len(log.parts()) == 1 and len(_logged(log)) == 6 and log.pending() == []
    first = snapshot(graph)
    assert match_edge(graph, "find alpha", "alpha")["count"] == 6
    # Again, reversed, one event a batch: nothing new is logged and nothing changes.
    write_jsonl(tmp_path / "b.jsonl", list(reversed(events)))
    ingest(graph, tmp_path / "b.jsonl", batch_size=1, show_progress=False)
    assert len(log.parts()) == 1 and snapshot(graph) == first
    # Old and new together: only the new one is appended, in a part of its own.
    write_jsonl(tmp_path / "c.jsonl", [events[1], event("find alpha", "alpha", "s9")])
    ingest(graph, tmp_path / "c.jsonl", show_progress=False)
    assert len(log.parts()) == 2 and len(_logged(log)) == 7
    edge = match_edge(graph, "find alpha", "alpha")
    assert edge["count"] == 7 and edge["sessions"] == 4


def test_a_torn_file_is_never_read(graph, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    ingest(
        graph, write_jsonl(tmp_path / "e.jsonl", [event("q", "alpha", "s1")]), show_progress=False
    )
    log = _log(graph)
    # What a crash mid-write leaves: half a file under a temporary name, next to the parts.
    day = log.parts()[0].parent
    (day / ".tmp-part-00000000000000000001-deadbeef.parquet").write_bytes(b"PAR1 torn")
    (log.root / ".ready-part-00000000000000000002-deadbeef.parquet").write_bytes(b"PAR1")
    ingest(
        graph, write_jsonl(tmp_path / "f.jsonl", [event("q", "alpha", "s2")]), show_progress=False
    )
    assert len(log.parts()) == 2 and match_edge(graph, "q", "alpha")["count"] == 2


def _records(n: int) -> list[EventRecord]:
    return [
        EventRecord(
            id=f"ev-{i}",
            query=f"query {i % 50}",
            query_id=f"query {i % 50}",
            event="click" if i % 5 == 0 else "match",
            session=f"s{i % 6000}",
            time="2026-10-01T12:00:00.000000Z",
            artifact="alpha",
        )
        for i in range(n)
    ]


# The child appends 60,000 events, then stops inside the append (the first 50,000 are in the
# temporary file) and waits to be killed.
CHILD = """
import sys, time
from pathlib import Path
from tests.test_event_log import _records
from unfragile.engine.event_log import EventLog

def slow():
    for i, ev in enumerate(_records(60_000)):
        yield ev
    Path(sys.argv[2]).touch()
    time.sleep(600)

EventLog(Path(sys.argv[1])).append(slow())
"""


def test_a_kill_during_append_leaves_nothing_and_a_rerun_counts_each_event_once(graph, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    log = event_log.for_graph(graph, create=True)
    assert log is not None
    flag = tmp_path / "appending"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(log.root), str(flag)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    deadline = time.monotonic() + 120
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), "the child never reached the middle of its append"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(log.root.glob(".tmp-part-*")) and log.parts() == []
    records = _records(60_000)
    assert write_events(graph, iter(records), len(records), 2000, False) == 60_000
    totals = graph.read(
        "MATCH (:Query)-[m:MATCHED]->() RETURN sum(m.count) AS events, sum(m.clicks) AS clicks"
    )[0]
    assert totals["events"] == 60_000
    assert totals["clicks"] == len({(i % 50, i % 6000) for i in range(0, 60_000, 5)})
    assert len(log.parts()) == 1 and log.pending() == []


def test_compact_folds_old_parts_and_changes_no_figure(graph, settings, tmp_path):
    from unfragile.api.cli.main import app

    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    for i in range(3):
        events = [event("q", "alpha", f"s{i}"), event("q", "alpha", f"s{i}", "click")]
        ingest(graph, write_jsonl(tmp_path / f"e{i}.jsonl", events), show_progress=False)
    log = _log(graph)
    before, rows = snapshot(graph), aggregate.sessions(graph)
    assert len(log.parts()) == 3
    # Today's parts stay (the default folds days before today); --before tomorrow folds them.
    runner = CliRunner()
    env = {"UNFRAGILE_HOME": str(settings.home)}
    out = runner.invoke(app, ["events", "compact", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["parts"] == 0 and len(log.parts()) == 3
    tomorrow = (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)).isoformat()
    out = runner.invoke(app, ["events", "compact", "--before", tomorrow, "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"days": 1, "parts": 3, "events": 6}
    assert len(log.parts()) == 1 and log.pending() == [] and len(_logged(log)) == 6
    assert aggregate.sessions(graph) == rows and snapshot(graph) == before
    # A new event on the same edge counts on top of the folded ones, once each.
    ingest(
        graph, write_jsonl(tmp_path / "n.jsonl", [event("q", "alpha", "s7")]), show_progress=False
    )
    edge = match_edge(graph, "q", "alpha")
    assert edge["count"] == 7 and edge["sessions"] == 4 and edge["clicks"] == 3
    bad = runner.invoke(app, ["events", "compact", "--before", "someday"], env=env)
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_a_graph_from_before_the_log_moves_its_evidence_in_unchanged(graph, tmp_path):
    spam = [
        event("best", "alpha", "bot", "click", time=f"2026-10-01T12:00:{i:02d}Z", source="sample")
        for i in range(40)
    ]
    records = [
        artifact("alpha"),
        artifact("beta"),
        *spam,
        event("best", "alpha", "s1", "dwell", seconds=45, time="2026-10-01T12:00:00Z"),
        event("best", "alpha", "s1", "feedback", value=1, time="2026-10-01T12:01:00Z"),
        event("best", "alpha", "s1", "feedback", value=-1, time="2026-10-01T12:02:00Z"),
        event("best", "alpha", "s1", time="2026-10-01T12:03:00Z", source="api"),
        event("best", "beta", "s2", "feedback", value=1, capability="beta/ability-1"),
        {
            "query": "alpha or beta",
            "winner": "alpha",
            "loser": "beta",
            "session": "s3",
            "event": "prefer",
            "time": "2026-10-02T09:00:00Z",
        },
    ]
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", records), show_progress=False)
    rows, before = aggregate.sessions(graph), snapshot(graph)
    # The graph as the loader before the log left it: Evidence nodes (event ids kept, at most
    # 32), edges, and no log.
    legacy = [
        {
            **{k: v for k, v in r.items() if k not in ("events", "query")},
            "query": r["query"],
            "events": [f"{r['key']}-{i}" for i in range(r["events"])],
        }
        for r in rows
    ]
    graph.write(
        lambda tx: tx.run(
            "MATCH (l:EventLog) DELETE l WITH count(*) AS gone "
            "UNWIND $rows AS r CREATE (e:Evidence) SET e = r",
            rows=legacy,
        ).consume()
    )
    other = write_jsonl(tmp_path / "b.jsonl", [event("other", "beta", "z")])
    ingest(graph, other, show_progress=False)
    assert graph.read("MATCH (e:Evidence) RETURN count(e) AS n")[0]["n"] == 0
    moved = [r for r in aggregate.sessions(graph) if r["query"] != "other"]
    assert moved == rows
    after = snapshot(graph)
    assert [e for e in after["edges"] if e["a"] != "other"] == before["edges"]


def test_a_compaction_cut_short_after_its_rename_is_finished_and_never_double_counted(
    graph, tmp_path
):
    import shutil

    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    for i in range(2):
        events = [event("q", "alpha", f"s{i}")]
        ingest(graph, write_jsonl(tmp_path / f"e{i}.jsonl", events), show_progress=False)
    log = _log(graph)
    old = log.parts()
    aside = tmp_path / "aside"
    aside.mkdir()
    for p in old:
        shutil.copy(p, aside / p.name)
    rows = aggregate.sessions(graph)
    assert log.compact("9999-12-31")["parts"] == 2
    (new,) = log.parts()
    # The state a kill between the rename and the deletions leaves: both generations, a note.
    for p in old:
        shutil.copy(aside / p.name, p)
    log.mark_applied(old)
    note = new.parent / f".compact-{new.name}.json"
    note.write_text(json.dumps({"part": new.name, "replaces": [p.name for p in old]}))
    assert log.parts() == [new] and aggregate.sessions(graph) == rows
    ingest(
        graph, write_jsonl(tmp_path / "n.jsonl", [event("q", "alpha", "s9")]), show_progress=False
    )
    assert not any(p.exists() for p in old) and not note.exists()
    assert match_edge(graph, "q", "alpha")["count"] == 3


def _kept_and_counted(graph, artifact_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """The session counts kept on the artifact, and the same counted from the log now."""
    row = graph.read(
        "MATCH (a:Artifact {id: $id}) RETURN a.evidence_sessions AS sessions, "
        "a.evidence_sample_sessions AS sample_sessions",
        id=artifact_id,
    )[0]
    caps = [
        r["id"]
        for r in graph.read(
            "MATCH (:Artifact {id: $id})-[:HAS_CAPABILITY]->(c) RETURN c.id AS id", id=artifact_id
        )
    ]
    return dict(row), aggregate.sources(graph, [artifact_id, *caps])


def test_artifacts_keep_the_sessions_behind_their_evidence(graph, tmp_path):
    alpha = artifact("alpha", n_caps=2)
    arts = write_jsonl(tmp_path / "a.jsonl", [alpha, artifact("beta"), artifact("gamma")])
    ingest(graph, arts, show_progress=False)
    never = {"sessions": 0, "sample_sessions": 0}
    assert _kept_and_counted(graph, "gamma") == (never, never)
    caps = graph.read(
        "MATCH (:Artifact {id: 'alpha'})-[:HAS_CAPABILITY]->(c) "
        "RETURN c.id AS id ORDER BY c.position"
    )
    first = caps[0]["id"]
    events = [
        event("find alpha", "alpha", "s1", capability=first, source="sample"),
        event("find alpha", "alpha", "s1", "click", capability=first, source="sample"),
        event("alpha please", "alpha", "s2", source="api"),
        event("find beta", "beta", "s1", source="sample"),
        event("find beta", "beta", "s3", source="api"),
        event("find beta", "beta", "s3", "click", source="api"),
    ]
    ingest(graph, write_jsonl(tmp_path / "e.jsonl", events), show_progress=False)
    kept, counted = _kept_and_counted(graph, "alpha")
    assert kept == counted == {"sessions": 2, "sample_sessions": 1}
    kept, counted = _kept_and_counted(graph, "beta")
    assert kept == counted == {"sessions": 2, "sample_sessions": 1}
    # alpha drops the capability s1 searched through: s1's events stop counting for it.
    alpha["capabilities"] = alpha["capabilities"][1:]
    ingest(graph, write_jsonl(tmp_path / "a2.jsonl", [alpha]), show_progress=False)
    kept, counted = _kept_and_counted(graph, "alpha")
    assert kept == counted == {"sessions": 1, "sample_sessions": 0}
    assert _kept_and_counted(graph, "beta")[0] == {"sessions": 2, "sample_sessions": 1}


def _per_line(path: Path) -> list[tuple]:
    from unfragile.engine.records import read_records
    from unfragile.engine.validation import validate_event

    return [tuple(event_log._values(validate_event(raw))) for raw in read_records(path)]


def test_events_checked_as_columns_are_exactly_what_the_per_line_validator_makes(tmp_path):
    """engine/event_batch.py vouches for a file only when it makes what validate_event
    makes, field for field and id for id; a file it cannot vouch for (a bad row, or input
    where Arrow and Python's json could read differently) goes line by line, so the message
    naming the file, line and field stays the per-line one."""
    from unfragile.engine import event_batch

    base = {
        "query": "Fast OCR ",
        "artifact": "a/b",
        "session": "s1",
        "time": "2025-01-01T00:00:00Z",
    }
    good = [
        {**base, "event": "match"},
        {**base, "query": "ÉCOLE ｆｕｌｌ  width", "capability": "a/b/c", "event": "click"},
        {
            **base,
            "session": " s2 ",
            "event": "dwell",
            "seconds": 20.0,
            "time": "2025-01-01T00:00:02.5Z",
        },
        {**base, "event": "dwell", "seconds": 3.25, "time": "2025-03-01T00:00:02.123456+02:00"},
        {**base, "event": "feedback", "value": -1, "source": "api"},
        {**{k: v for k, v in base.items() if k != "artifact"}, "winner": "a/b", "loser": "c/d"}
        | {"event": "prefer", "source": "import:hf"},
        {**base, "query": 'quote " back \\ ☃', "artifact": "a/é", "event": "match", "id": "given"},
        {**base, "capability": "  ", "id": " ", "event": "match", "time": "2024-02-29T23:59:59.9Z"},
        {**base, "query": "emoji \U0001f600", "event": "match", "time": "2024-02-29t23:59:59z"},
    ]
    path = write_jsonl(tmp_path / "good.jsonl", good)
    ints = write_jsonl(tmp_path / "ints.jsonl", [{**good[2], "seconds": 20}, good[4]])
    spill = event_log.Spill()
    try:
        done = event_batch.validate_file(path, spill)
        # What the events name, where each first appears: for the reference checks.
        assert done is not None and done[0] == len(good)
        assert done[1][:2] == [("a/b", 1, "artifact"), ("c/d", 6, "loser")]
        assert done[2] == [("a/b\x1fa/b/c", 2)]
        assert event_batch.validate_file(ints, spill) is not None
        assert list(spill.records()) == _per_line(path) + _per_line(ints)
        # Valid but not certain as columns (a float written as an integer beside floats, a
        # null, a blank line, CRLF), or bad: nothing spilled, the file goes line by line.
        for name, rows in {
            "mixed": [good[2], {**good[2], "seconds": 20}],
            "null": [good[0], {**good[0], "capability": None}],
            "bad_time": [good[0], {**good[0], "time": "2025-02-30T00:00:00Z"}],
            "prefer_artifact": [good[0], {**good[5], "artifact": "a/b"}],
            "unknown": [good[0], {**good[0], "foo": 1}],
            "artifact": [good[0], artifact("alpha")],
        }.items():
            before = list(spill.records())
            assert (
                event_batch.validate_file(write_jsonl(tmp_path / f"{name}.jsonl", rows), spill)
                is None
            )
            assert list(spill.records()) == before
        for name, text in {
            "blank": json.dumps(good[0]) + "\n\n",
            "crlf": json.dumps(good[0]) + "\r\n",
            "two": json.dumps(good[0]) + " " + json.dumps(good[1]) + "\n",
            "dup": json.dumps(good[0])[:-1] + ', "query": "b"}\n',
        }.items():
            (tmp_path / f"{name}.jsonl").write_text(text, encoding="utf-8")
            assert event_batch.validate_file(tmp_path / f"{name}.jsonl", spill) is None
    finally:
        spill.close()
