"""MetaTool import: 199 tools as artifacts, about 10,300 distinct queries as match evidence."""

from __future__ import annotations

import csv
import json

import pytest

from engine.ingest import ingest
from engine.metatool import metatool_records
from engine.records import InputError
from graph import store
from tests.conftest import METATOOL


@pytest.fixture(scope="module")
def tool_names() -> set[str]:
    return set(json.loads((METATOOL / "plugin_des.json").read_text()))


def test_import_tools_alone(graph, cli, tool_names):
    cli("import", "metatool", str(METATOOL), "--no-queries", check=True)
    counts = store.stats(graph)
    assert counts["artifacts"] == 199 and counts["queries"] == 0
    ids = {r["id"] for r in graph.read("MATCH (a:Artifact) RETURN a.id AS id")}
    assert ids == tool_names
    # Every tool has at least one capability; long plugin descriptions give several.
    caps = {r["id"]: r["n"] for r in graph.read(
        "MATCH (a:Artifact) OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c) "
        "RETURN a.id AS id, count(c) AS n")}
    assert min(caps.values()) >= 1
    assert sum(1 for n in caps.values() if n >= 2) >= 20


def test_import_with_queries_and_again(graph):
    rows = list(csv.DictReader(open(METATOOL / "queries.csv", encoding="utf-8")))
    report = ingest(graph, records=metatool_records(METATOOL), show_progress=False)
    assert report.artifacts == 199 and report.events == len(rows) == 10339
    counts = store.stats(graph)
    assert 10250 <= counts["queries"] <= 10339
    total = graph.read("MATCH (:Query)-[m:MATCHED]->(:Artifact) RETURN sum(m.count) AS n, "
                       "sum(m.sessions) AS s")[0]
    assert total == {"n": 10339, "s": 10339}
    finance = graph.read("MATCH (q:Query)-[:MATCHED]->(:Artifact {id: 'FinanceTool'}) "
                         "RETURN count(q) AS n")[0]["n"]
    assert finance == len({r["query"].lower().strip() for r in rows
                           if r["tool"] == "FinanceTool"})
    ingest(graph, records=metatool_records(METATOOL), show_progress=False)
    assert store.stats(graph) == counts


def test_not_a_metatool_folder(tmp_path):
    with pytest.raises(InputError, match="missing plugin_des.json"):
        metatool_records(tmp_path)
