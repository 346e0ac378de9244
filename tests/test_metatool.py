"""MetaTool import: 199 tools as artifacts, about 10,300 distinct queries as match evidence."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import METATOOL
from unfragile.engine.errors import InvalidInput
from unfragile.engine.ingest import ingest
from unfragile.engine.metatool import metatool_records
from unfragile.graph import store
from unfragile.indexing.text import TextEncoder


@pytest.fixture(scope="module")
def tool_names() -> set[str]:
    return set(json.loads((METATOOL / "plugin_des.json").read_text()))


@pytest.fixture(scope="module")
def embed():
    return TextEncoder().encode  # the engine's default backend


def test_merged_tools_take_in_their_plugins(embed, tool_names):
    records = {
        r.data["id"]: r.data for r in metatool_records(METATOOL, with_queries=False, embed=embed)
    }
    merged = set(json.loads((METATOOL / "big_tool_des.json").read_text()))
    plugins = json.loads((METATOOL / "plugin_info.json").read_text())
    orphans = {p["name_for_model"]: p for p in plugins if p["name_for_model"] not in tool_names}
    assert len(orphans) == 235  # distinct names: one plugin is listed twice
    # Each merged-away plugin's own short description is a capability of one merged tool.
    home: dict[str, list[str]] = {name: [] for name in orphans}
    for tool, data in records.items():
        texts = {c["text"] for c in data["capabilities"]}
        for name, p in orphans.items():
            if p["description_for_human"].strip() in texts:
                home[name].append(tool)
    assert all(len(tools) == 1 and tools[0] in merged for tools in home.values()), {
        n: t for n, t in home.items() if len(t) != 1 or t[0] not in merged
    }
    # The unambiguous ones land where a person would put them.
    for plugin, tool in [
        ("reminders", "NotesTool"),
        ("deepmemory", "MemoryTool"),
        ("MixerBox_Podcasts", "PodcastTool"),
        ("Coursera", "CourseTool"),
        ("repo_radar", "RepoTool"),
        ("nasaMediaExplorer", "NASATool"),
    ]:
        assert home[plugin] == [tool]
        assert orphans[plugin]["name_for_human"] in {
            c["title"] for c in records[tool]["capabilities"]
        }
    assert max(len(d["capabilities"]) for d in records.values()) <= 100


def test_import_tools_alone(graph, cli, tool_names):
    cli("import", "metatool", str(METATOOL), "--no-queries", check=True)
    counts = store.stats(graph)
    assert counts["artifacts"] == 199 and counts["queries"] == 0
    ids = {r["id"] for r in graph.read("MATCH (a:Artifact) RETURN a.id AS id")}
    assert ids == tool_names
    # Every tool has at least one capability; long plugin descriptions give several.
    caps = {
        r["id"]: r["n"]
        for r in graph.read(
            "MATCH (a:Artifact) OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c) "
            "RETURN a.id AS id, count(c) AS n"
        )
    }
    assert min(caps.values()) >= 1
    assert sum(1 for n in caps.values() if n >= 2) >= 20


def test_import_with_queries_and_again(graph, embed):
    rows = list(csv.DictReader(open(METATOOL / "queries.csv", encoding="utf-8")))
    report = ingest(graph, records=metatool_records(METATOOL, embed=embed), show_progress=False)
    assert report.artifacts == 199 and report.events == len(rows) == 10339
    counts = store.stats(graph)
    assert 10250 <= counts["queries"] <= 10339
    total = graph.read(
        "MATCH (:Query)-[m:MATCHED]->(:Artifact) RETURN sum(m.count) AS n, sum(m.sessions) AS s"
    )[0]
    assert total == {"n": 10339, "s": 10339}
    finance = graph.read(
        "MATCH (q:Query)-[:MATCHED]->(:Artifact {id: 'FinanceTool'}) RETURN count(q) AS n"
    )[0]["n"]
    assert finance == len({r["query"].lower().strip() for r in rows if r["tool"] == "FinanceTool"})
    ingest(graph, records=metatool_records(METATOOL, embed=embed), show_progress=False)
    assert store.stats(graph) == counts


def test_not_a_metatool_folder(tmp_path):
    with pytest.raises(InvalidInput, match="missing plugin_des.json"):
        metatool_records(tmp_path)
