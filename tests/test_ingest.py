"""Catalog ingest against the real Neo4j: idempotence, validation, evidence semantics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import artifact, event, match_edge, snapshot, write_jsonl
from unfragile.engine import aggregate
from unfragile.engine.errors import InvalidInput
from unfragile.engine.ingest import ingest
from unfragile.graph import store


def test_ingest_twice_changes_nothing(graph, tmp_path):
    records = [
        artifact("alpha"),
        artifact("beta", derived_from=["alpha"]),
        event("find alpha", "alpha", "s1"),
        event("find alpha", "alpha", "s1", "click"),
        event("find alpha", "alpha", "s2", "dwell", seconds=45),
        event("find beta", "beta", "s3", "feedback", value=1, capability="beta/ability-1"),
        {
            "query": "alpha or beta",
            "winner": "alpha",
            "loser": "beta",
            "session": "s4",
            "event": "prefer",
            "time": "2026-10-02T09:00:00Z",
        },
    ]
    path = write_jsonl(tmp_path / "catalog.jsonl", records)
    ingest(graph, path, show_progress=False)
    first = snapshot(graph)
    ingest(graph, path, show_progress=False)
    assert snapshot(graph) == first
    assert store.stats(graph) == {
        "artifacts": 2,
        "capabilities": 6,
        "queries": 3,
        "match_edges": 2,
        "images": 0,
    }
    # The same events in another batching and order still change nothing.
    events = [r for r in records if "query" in r]
    write_jsonl(tmp_path / "again.jsonl", list(reversed(events)))
    ingest(graph, tmp_path / "again.jsonl", batch_size=1, show_progress=False)
    assert snapshot(graph) == first


def test_catalog_links_and_vocabulary(graph, tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            artifact("base"),
            artifact(
                "child",
                derived_from=["base"],
                integrates_with=["base"],
                frameworks=["pytorch", "onnx"],
            ),
        ],
    )
    ingest(graph, path, show_progress=False)
    rows = graph.read(
        "MATCH (a:Artifact {id: 'child'})-[r]->(b) "
        "RETURN type(r) AS type, coalesce(b.id, b.name) AS to ORDER BY type, to"
    )
    assert [(r["type"], r["to"]) for r in rows] == [
        ("DERIVED_FROM", "base"),
        ("HAS_CAPABILITY", "child/ability-0"),
        ("HAS_CAPABILITY", "child/ability-1"),
        ("HAS_CAPABILITY", "child/ability-2"),
        ("INTEGRATES_WITH", "base"),
        ("IN_CATEGORY", "testing"),
        ("PROVIDED_BY", "Example Labs"),
        ("SUPPORTS", "onnx"),
        ("SUPPORTS", "pytorch"),
    ]
    art = graph.read("MATCH (a:Artifact {id: 'child'}) RETURN properties(a) AS p")[0]["p"]
    assert art["signal_downloads"] == 1000 and art["signals_illustrative"] is True
    assert art["released"] == "2024-01-15" and art["open_weights"] is True


def test_reingest_with_fewer_capabilities_removes_the_rest(graph, tmp_path):
    ingest(
        graph,
        write_jsonl(
            tmp_path / "a.jsonl",
            [artifact("alpha", 3), event("q", "alpha", "s1", capability="alpha/ability-2")],
        ),
        show_progress=False,
    )
    assert store.stats(graph)["match_edges"] == 1
    ingest(graph, write_jsonl(tmp_path / "b.jsonl", [artifact("alpha", 2)]), show_progress=False)
    caps = graph.read(
        "MATCH (:Artifact {id: 'alpha'})-[:HAS_CAPABILITY]->(c) RETURN c.id AS id ORDER BY id"
    )
    assert [c["id"] for c in caps] == ["alpha/ability-0", "alpha/ability-1"]
    assert store.stats(graph)["match_edges"] == 0
    # Its events stay in the log and no longer count (as its evidence would be gone).
    assert aggregate.sessions(graph) == []
    assert graph.read("MATCH (q:Query {id: 'q'}) RETURN q.count AS n")[0]["n"] == 0


def test_one_session_counts_once_per_query_and_target(graph, tmp_path):
    spam = [
        event("best llm", "alpha", "bot", "click", time=f"2026-10-01T12:00:{i:02d}Z")
        for i in range(50)
    ]
    honest = [event("best llm", "beta", f"s{i}", "click") for i in range(5)]
    ingest(
        graph,
        write_jsonl(tmp_path / "e.jsonl", [artifact("alpha"), artifact("beta")] + spam + honest),
        show_progress=False,
    )
    spammed, real = match_edge(graph, "best llm", "alpha"), match_edge(graph, "best llm", "beta")
    assert spammed["sessions"] == 1 and spammed["clicks"] == 1
    assert spammed["count"] == 32  # events counted per session are capped
    assert real["sessions"] == 5 and real["clicks"] == 5
    assert real["confidence"] > spammed["confidence"] > 0


def test_feedback_moves_confidence_both_ways(graph, tmp_path):
    base = [artifact("alpha"), artifact("beta")] + [
        event("q", a, f"s{i}") for a in ("alpha", "beta") for i in range(3)
    ]
    good = [event("q", "alpha", f"s{i}", "feedback", value=1) for i in range(3)]
    bad = [event("q", "beta", f"s{i}", "feedback", value=-1) for i in range(3)]
    ingest(graph, write_jsonl(tmp_path / "f.jsonl", base), show_progress=False)
    before = match_edge(graph, "q", "alpha")["confidence"]
    ingest(graph, write_jsonl(tmp_path / "g.jsonl", good + bad), show_progress=False)
    assert match_edge(graph, "q", "alpha")["confidence"] > before
    assert match_edge(graph, "q", "beta")["confidence"] < before
    # A later change of mind replaces the session's earlier feedback.
    ingest(
        graph,
        write_jsonl(
            tmp_path / "h.jsonl",
            [
                event("q", "beta", f"s{i}", "feedback", value=1, time="2026-10-05T00:00:00Z")
                for i in range(3)
            ],
        ),
        show_progress=False,
    )
    assert match_edge(graph, "q", "beta")["feedback"] == 3


def test_queries_are_normalised(graph, tmp_path):
    ingest(
        graph,
        write_jsonl(
            tmp_path / "n.jsonl",
            [
                artifact("alpha"),
                event("  Find   ALPHA ", "alpha", "s1"),
                event("find alpha", "alpha", "s2"),
            ],
        ),
        show_progress=False,
    )
    assert graph.read("MATCH (q:Query) RETURN q.id AS id, q.sessions AS s") == [
        {"id": "find alpha", "s": 2}
    ]


def test_json_array_files_and_folders(graph, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text(
        json.dumps([artifact("alpha"), artifact("beta")], indent=2)
    )
    write_jsonl(tmp_path / "in" / "sub" / "e.jsonl", [event("q", "beta", "s1")])
    report = ingest(graph, tmp_path / "in", show_progress=False)
    assert (report.files, report.artifacts, report.events) == (2, 2, 1)


def test_decomposes_an_artifact_with_only_a_description(graph, tmp_path):
    record = artifact("tooly", kind="tool")
    del record["capabilities"]
    record["description"] = (
        "Search for flights between any two cities and compare fares. "
        "Track the price of a booked trip and alert on drops. "
        "Always answer in English and never mention competitors."
    )
    ingest(graph, write_jsonl(tmp_path / "d.jsonl", [record]), show_progress=False)
    texts = [
        r["text"]
        for r in graph.read(
            "MATCH (:Artifact {id: 'tooly'})-[:HAS_CAPABILITY]->(c) RETURN c.text AS text "
            "ORDER BY c.position"
        )
    ]
    assert len(texts) == 2
    assert "flights" in texts[0] and "price" in texts[1]


BAD_INPUTS = [
    # (name, lines of the file, the line named, the field named, words of the message)
    (
        "broken json",
        [
            '{"id": "ok1", "name": "Ok", "kind": "model", "description": "Does x."}',
            '{"id": "x", "name": }',
        ],
        2,
        None,
        "broken JSON",
    ),
    (
        "missing field",
        ['{"id": "x", "kind": "model", "description": "Does x."}'],
        1,
        "name",
        "is required",
    ),
    (
        "mistyped field",
        [json.dumps(artifact("x", open_weights="yes"))],
        1,
        "open_weights",
        "true or false",
    ),
    ("unknown kind", [json.dumps(artifact("x", kind="robot"))], 1, "kind", "must be one of"),
    ("unknown field", [json.dumps(artifact("x", colour="red"))], 1, "colour", "unknown field"),
    (
        "unknown artifact",
        [json.dumps(artifact("x")), json.dumps(event("q", "nope", "s1"))],
        2,
        "artifact",
        "unknown artifact 'nope'",
    ),
    (
        "unknown capability",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", capability="x/missing"))],
        2,
        "capability",
        "unknown capability",
    ),
    (
        "text over limit",
        [json.dumps(artifact("x", capabilities=[{"title": "Long", "text": "y" * 4001}]))],
        1,
        "capabilities[0].text",
        "limit is 4000",
    ),
    (
        "query over limit",
        [json.dumps(artifact("x")), json.dumps(event("q" * 2001, "x", "s1"))],
        2,
        "query",
        "limit is 2000",
    ),
    (
        "bad feedback value",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", "feedback", value=2))],
        2,
        "value",
        "1 or -1",
    ),
    (
        "dwell without seconds",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", "dwell"))],
        2,
        "seconds",
        "required",
    ),
    (
        "bad time",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", time="yesterday"))],
        2,
        "time",
        "ISO 8601",
    ),
    (
        "duplicate id",
        [json.dumps(artifact("x")), json.dumps(artifact("x"))],
        2,
        "id",
        "defined twice",
    ),
    ("not an object", ['["a list"]'], 1, None, "expected a JSON object"),
    # Issue 11 (F4-F6): input that passed validation and then failed in the driver or Python.
    (
        "lone surrogate in a query",
        [json.dumps(artifact("x")), json.dumps(event("q \ud800", "x", "s1"))],
        2,
        "query",
        "lone surrogate",
    ),
    (
        "lone surrogate in a capability",
        [json.dumps(artifact("x", capabilities=[{"title": "T", "text": "a\udc80b"}]))],
        1,
        "capabilities[0].text",
        "lone surrogate",
    ),
    (
        "lone surrogate in a list item",
        [json.dumps(artifact("x", frameworks=["ok", "\ud800"]))],
        1,
        "frameworks[1]",
        "lone surrogate",
    ),
    (
        "time before year 1 in UTC",
        [
            json.dumps(artifact("x")),
            json.dumps(event("q", "x", "s1", time="0001-01-01T00:00:00+01:00")),
        ],
        2,
        "time",
        "years 1 to 9999",
    ),
    (
        "time after year 9999 in UTC",
        [
            json.dumps(artifact("x")),
            json.dumps(event("q", "x", "s1", time="9999-12-31T23:30:00-01:00")),
        ],
        2,
        "time",
        "years 1 to 9999",
    ),
    (
        "release date before year 1 in UTC",
        [json.dumps(artifact("x", released="0001-01-01T00:00:00+01:00"))],
        1,
        "released",
        "must be a date",
    ),
    (
        "dwell of 1e308 seconds",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", "dwell", seconds=1e308))],
        2,
        "seconds",
        "at most 86,400",
    ),
    (
        "dwell of NaN seconds",
        [
            json.dumps(artifact("x")),
            json.dumps(event("q", "x", "s1", "dwell", seconds=float("nan"))),
        ],
        2,
        "seconds",
        "finite",
    ),
    (
        "integer past 64 bits",
        [json.dumps(artifact("x", parameters=10**20))],
        1,
        "parameters",
        "64 bits",
    ),
    (
        "signal past 64 bits",
        [json.dumps(artifact("x", signals={"downloads": 2**63}))],
        1,
        "signals.downloads",
        "64 bits",
    ),
    (
        "a status nobody knows",
        [json.dumps(artifact("x", status="retired"))],
        1,
        "status",
        "must be one of active, archived, superseded, removed",
    ),
    (
        "superseded without what replaced it",
        [json.dumps(artifact("x", status="superseded"))],
        1,
        "superseded_by",
        "is required when status is superseded",
    ),
    (
        "superseded_by on an active artifact",
        [json.dumps(artifact("x", superseded_by="y"))],
        1,
        "superseded_by",
        "only for status superseded",
    ),
    (
        "an event source nobody knows",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", source="crawler"))],
        2,
        "source",
        "must be sample, api or import:<name>",
    ),
    (
        "an event source over 100 characters",
        [json.dumps(artifact("x")), json.dumps(event("q", "x", "s1", source="import:" + "a" * 94))],
        2,
        "source",
        "limit is 100",
    ),
    ("nested 1,000 levels", ["[" * 1000 + "]" * 1000], 1, None, "nested too deeply"),
    (
        "a value shown by its type, not its size",
        [json.dumps(artifact("x", kind=[[["robot"] * 1000]]))],
        1,
        "kind",
        "got a list",
    ),
]


@pytest.mark.parametrize(
    "name,lines,line,field,words", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_names_file_line_field_and_writes_nothing(
    graph, tmp_path, name, lines, line, field, words
):
    ingest(
        graph,
        write_jsonl(tmp_path / "good.jsonl", [artifact("keep"), event("q", "keep", "s0")]),
        show_progress=False,
    )
    before = snapshot(graph)
    bad = tmp_path / "bad.jsonl"
    # A good artifact comes first, so a loader that wrote as it read would leave it behind.
    bad.write_text(json.dumps(artifact("first-good")) + "\n" + "\n".join(lines) + "\n")
    with pytest.raises(InvalidInput) as err:
        ingest(graph, bad, show_progress=False)
    assert err.value.source == str(bad)
    assert err.value.line == line + 1
    assert err.value.field == field
    assert words in err.value.message
    assert snapshot(graph) == before


def test_wrong_encoding_is_refused(graph, tmp_path):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(
        json.dumps(artifact("ok")).encode()
        + b"\n"
        + '{"id": "caf\u00e9", "name": "Caf\u00e9"}\n'.encode("latin-1")
    )
    with pytest.raises(InvalidInput) as err:
        ingest(graph, bad, show_progress=False)
    assert (err.value.line, "UTF-8") == (2, "UTF-8") and "UTF-8" in err.value.message
    assert store.stats(graph)["artifacts"] == 0


def test_missing_path_is_a_clear_error(graph, tmp_path):
    with pytest.raises(InvalidInput, match="no such file or folder"):
        ingest(graph, tmp_path / "nowhere.jsonl", show_progress=False)


def test_cli_reports_bad_input_and_exits_non_zero(graph, cli, tmp_path):
    bad = write_jsonl(tmp_path / "bad.jsonl", [artifact("x"), event("q", "ghost", "s1")])
    result = cli("ingest", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2: field 'artifact': unknown artifact 'ghost'" in result.stderr
    assert "Traceback" not in result.stderr
    assert store.stats(graph)["artifacts"] == 0


def test_cli_refuses_a_lone_surrogate_in_2500_events_and_writes_nothing(graph, cli, tmp_path):
    # Issue 11, F4: the review's file wrote 2,000 evidence rows, then a traceback and exit 1.
    events = [event(f"query {i % 50}", "x", f"s{i}") for i in range(2500)]
    events[2400]["query"] = "broken \ud800 query"
    bad = write_jsonl(tmp_path / "bad.jsonl", [artifact("x"), *events])
    for command in (("ingest",), ("events", "ingest")):
        result = cli(*command, str(bad))
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines[0] == (
            f"error: {bad}:2402: field 'query': contains a lone surrogate (U+D800 at character "
            "8), which is not valid Unicode text"
        ) and lines[1:] == ["Nothing was written."], result.stderr
        assert store.stats(graph)["artifacts"] == 0
        assert aggregate.sessions(graph) == [] and store.stats(graph)["queries"] == 0


def test_json_report_of_cli_ingest(graph, cli, tmp_path):
    path = write_jsonl(tmp_path / "ok.jsonl", [artifact("x"), event("q", "x", "s1")])
    report = json.loads(cli("ingest", str(path), "--json", check=True).stdout)
    assert report["artifacts"] == 1 and report["capabilities"] == 3 and report["events"] == 1


def test_bundled_catalog_loads(graph, cli):
    catalog = Path(__file__).resolve().parents[1] / "data" / "catalog"
    cli("ingest", str(catalog), check=True)
    counts = json.loads(cli("stats", "--json", check=True).stdout)
    assert counts["artifacts"] >= 250 and counts["match_edges"] > 0  # issue 14: at least 250
    per_artifact = {
        r["id"]: r["n"]
        for r in graph.read(
            "MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c) RETURN a.id AS id, count(c) AS n"
        )
    }
    assert per_artifact["vit-base-patch16-224"] == 6
    assert per_artifact["flux-1-pro"] >= 8
    assert {"flux-1-dev", "flux-1-schnell"} <= set(per_artifact)
    assert all(2 <= n <= 13 for n in per_artifact.values()), per_artifact
    kinds = {r["kind"] for r in graph.read("MATCH (a:Artifact) RETURN DISTINCT a.kind AS kind")}
    assert {"model", "api", "web-app", "mcp-server", "cli", "agent"} <= kinds
    statuses = {
        r["status"]: r["n"]
        for r in graph.read("MATCH (a:Artifact) RETURN a.status AS status, count(*) AS n")
    }
    assert statuses["active"] > 200 and statuses["archived"] >= 4 and statuses["superseded"] >= 2
    # Every bundled search event is labelled a sample.
    origins = {tuple(r["origins"]) for r in aggregate.sessions(graph)}
    assert origins == {("sample",)}


def test_status_and_reading_date_are_stored(graph, tmp_path):
    records = [
        artifact("old", status="superseded", superseded_by="new", short_name="Old"),
        artifact("new", signals={"downloads": 5}, signals_as_of="2026-11-01"),
    ]
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", records), show_progress=False)
    rows = {
        r["id"]: r
        for r in graph.read(
            "MATCH (a:Artifact) RETURN a.id AS id, a.status AS status, a.short_name AS short, "
            "a.superseded_by AS by, a.signals_as_of AS as_of"
        )
    }
    assert rows["old"] == {
        "id": "old",
        "status": "superseded",
        "short": "Old",
        "by": "new",
        "as_of": None,
    }
    assert rows["new"] == {
        "id": "new",
        "status": "active",
        "short": None,
        "by": None,
        "as_of": "2026-11-01",
    }


def test_event_source_is_kept_on_evidence_and_not_part_of_the_id(graph, tmp_path):
    from unfragile.engine.records import RawRecord
    from unfragile.engine.validation import validate_event

    plain = event("find alpha", "alpha", "s1")
    # Ids of events without a source are what they were before the field existed.
    assert validate_event(RawRecord("f", 1, plain)).id == "5184bed5431b8196e4c7e22d"
    assert validate_event(RawRecord("f", 1, {**plain, "source": "sample"})).id == (
        "5184bed5431b8196e4c7e22d"
    )
    records = [
        artifact("alpha"),
        event("find alpha", "alpha", "s1", source="sample"),
        event("find alpha", "alpha", "s1", "click", source="sample"),
        event("find alpha", "alpha", "s2", source="import:metatool"),
        event("find alpha", "alpha", "s3"),
    ]
    path = write_jsonl(tmp_path / "e.jsonl", records)
    ingest(graph, path, show_progress=False)
    rows = sorted(aggregate.sessions(graph), key=lambda r: r["session"])
    assert [(r["session"], r["origins"]) for r in rows] == [
        ("s1", ["sample"]),
        ("s2", ["import:metatool"]),
        ("s3", []),
    ]
    # The same session's events from another source add that source (a union), and
    # loading them again changes nothing.
    write_jsonl(
        tmp_path / "api.jsonl",
        [event("find alpha", "alpha", "s1", "dwell", seconds=40, source="api")],
    )
    ingest(graph, tmp_path / "api.jsonl", show_progress=False)
    ingest(graph, tmp_path / "api.jsonl", show_progress=False)
    origins = [r["origins"] for r in aggregate.sessions(graph) if r["session"] == "s1"][0]
    assert origins == ["sample", "api"]
