"""Saved Cypher explorations on the bundled catalog: headers, parameters, sensible rows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import load_catalog
from unfragile.engine import explore, ranking
from unfragile.engine.errors import InvalidInput
from unfragile.engine.settings import Settings
from unfragile.graph import store
from unfragile.graph.connection import Graph

COLUMNS = {
    "alternatives": [
        "alternative",
        "name",
        "kind",
        "position",
        "match",
        "score",
        "unfragile_rank",
        "shared_queries",
        "shared_categories",
        "shared_frameworks",
        "shared_modalities",
    ],
    "communities": ["community", "size", "artifacts", "kinds", "queries"],
    "fulltext_capabilities": ["artifact", "capability", "score", "searches_matched", "text"],
    "lonely_capabilities": [
        "artifact",
        "capability",
        "unique",
        "nearest",
        "overlap",
        "unfragile_rank",
    ],
    "passed_over": ["query", "artifact", "kind", "sessions", "clicked_instead"],
    "providers": ["provider", "artifacts", "kinds", "mean_rank", "best", "best_rank"],
    "queries_to_artifact": [
        "query",
        "via",
        "sessions",
        "clicks",
        "dwell_s",
        "feedback",
        "confidence",
        "last_seen",
    ],
    "shared_capabilities": [
        "status",
        "artifact",
        "capability",
        "counterpart",
        "overlap",
        "linking_searches",
        "unique",
    ],
    "shortest_path": ["source", "target", "searches", "hops", "steps"],
    "top_by_kind": [
        "kind",
        "position",
        "id",
        "name",
        "unfragile_rank",
        "interval",
        "adoption",
        "quality",
        "ecosystem",
        "match_graph",
        "freshness",
    ],
    "unmatched_capabilities": [
        "artifact",
        "kind",
        "unfragile_rank",
        "capability",
        "unique",
        "artifact_matched",
    ],
}


@pytest.fixture(scope="module")
def catalog(graph_session: Graph, settings: Settings, encoder) -> Graph:
    """The bundled catalog and its events, ingested, indexed (the ranking finds alternatives
    by search) and ranked once for this module."""
    store.delete_everything(graph_session)
    load_catalog(graph_session, settings, encoder)
    ranking.rank(graph_session, ranking.load_config(env={}), settings=settings, show_progress=False)
    return graph_session


def _run(graph: Graph, name: str, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    query = explore.get(name)
    columns, rows, truncated = graph.run_read_only(
        query.text, query.bind(params), timeout_s=30, row_cap=1000
    )
    assert not truncated
    return columns, rows


# -- the files and their headers -------------------------------------------------------------


def test_every_saved_query_has_a_parsed_header() -> None:
    queries = explore.saved()
    assert [q.name for q in queries] == sorted(COLUMNS)
    for q in queries:
        assert q.title and q.description and q.text, q.name
        assert not q.text.lstrip().startswith("//"), q.name
        assert q.path is not None and q.path.stem == q.name
        for p in q.params:
            assert p.type in explore.TYPES and p.description, (q.name, p.name)
            assert "$" + p.name in q.text, (q.name, p.name)
        as_dict = q.as_dict()
        assert json.loads(json.dumps(as_dict)) == as_dict
        assert set(as_dict) == {"name", "title", "description", "params", "text"}


def test_every_saved_query_fits_well_inside_the_guards_limits() -> None:
    """The text scan's limits (issue 11) leave room: each saved query uses under a quarter."""
    from unfragile.graph import cypher_scan
    from unfragile.graph.readonly import check_text

    for q in explore.saved():
        found = cypher_scan.scan(q.text)
        assert len(q.text) < cypher_scan.MAX_CYPHER_CHARS / 4, q.name
        assert found.tokens < cypher_scan.MAX_TOKENS / 4, q.name
        assert found.nesting < cypher_scan.MAX_NESTING / 4, q.name
        assert found.depth < cypher_scan.MAX_DEPTH / 4, q.name
        check_text(q.text)  # and no call off the allowlists


def test_header_fields_continue_and_params_take_json_defaults() -> None:
    q = explore.parse(
        "// Title: Two things\n"
        "// Shows: the first line\n"
        "//   and its continuation.\n"
        "// Param: who (string): required, no default.\n"
        "// Param: n (integer, default 3): how many.\n"
        "// Param: on (boolean, default true): a switch.\n"
        "// Param: kind (string, default null): optional filter.\n"
        "MATCH (a) // a comment in the body stays\n"
        "RETURN $who, $n, $on, $kind\n",
        "two",
    )
    assert q is not None
    assert (q.title, q.description) == ("Two things", "the first line and its continuation.")
    assert [(p.name, p.type, p.default, p.required) for p in q.params] == [
        ("who", "string", None, True),
        ("n", "integer", 3, False),
        ("on", "boolean", True, False),
        ("kind", "string", None, False),
    ]
    assert q.text.startswith("MATCH (a) // a comment")
    assert q.bind({"who": 7}) == {"who": "7", "n": 3, "on": True, "kind": None}
    assert q.bind({"who": "x", "n": "5", "on": "false"})["n"] == 5
    with pytest.raises(explore.ExploreError) as missing:
        q.bind({})
    assert missing.value.field == "who" and "missing" in str(missing.value)


def test_a_file_without_a_title_is_not_a_saved_query() -> None:
    assert explore.parse("// just a comment\nRETURN 1\n", "plain") is None
    assert explore.bind_text("// note\nRETURN $x\n", "plain.cypher", {"x": 1}) == {"x": 1}


def test_a_bad_param_line_names_its_line() -> None:
    with pytest.raises(explore.ExploreError) as bad:
        explore.parse(
            "// Title: t\n// Shows: s\n// Param: n (number): what\nRETURN $n\n", "bad", "bad.cypher"
        )
    assert bad.value.line == 3 and "integer" in str(bad.value)


def test_defaults_apply_and_types_are_checked() -> None:
    alternatives = explore.get("alternatives")
    assert alternatives.bind({}) == {"id": "vit-base-patch16-224", "top": 10}
    assert alternatives.bind({"top": "3"}) == {"id": "vit-base-patch16-224", "top": 3}
    for params, field in (
        ({"top": "many"}, "top"),
        ({"top": 2.5}, "top"),
        ({"top": True}, "top"),
        ({"nope": 1}, "nope"),
    ):
        with pytest.raises(explore.ExploreError) as bad:
            alternatives.bind(params)
        assert isinstance(bad.value, InvalidInput) and bad.value.field == field
        assert not bad.value.writes
    assert "id, top" in str(bad.value)


@pytest.mark.parametrize("name", ["nope", "../schema", "", "alternatives.cypher"])
def test_an_unknown_name_lists_the_known_ones(name: str) -> None:
    with pytest.raises(explore.ExploreError) as unknown:
        explore.get(name)
    assert isinstance(unknown.value, InvalidInput) and unknown.value.field == "name"
    assert "alternatives" in str(unknown.value) and "top_by_kind" in str(unknown.value)


# -- every saved query on the bundled data ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_saved_query_runs_read_only_with_its_defaults(catalog: Graph, name: str) -> None:
    columns, rows = _run(catalog, name)
    assert columns == COLUMNS[name]
    assert rows, name


def test_alternatives_are_the_stored_edges_in_order_with_reasons(catalog: Graph) -> None:
    """The ALTERNATIVE_TO edges in the order `unfragile rank` stored them from search
    (tests/test_alternatives.py checks that order against every other surface)."""
    _, rows = _run(catalog, "alternatives")
    ids = [r["alternative"] for r in rows]
    assert "vit-base-patch16-224" not in ids and len(ids) == len(set(ids))
    assert {"resnet-50", "convnext-base-224"} & set(ids[:3])  # the other image classifiers
    assert [r["position"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(0 <= r["match"] <= 100 for r in rows)
    stored = catalog.read(
        "MATCH (:Artifact {id: 'vit-base-patch16-224'})-[x:ALTERNATIVE_TO]->(b) "
        "RETURN b.id AS id ORDER BY x.position"
    )
    assert ids == [r["id"] for r in stored]
    assert any(r["shared_queries"] or r["shared_categories"] for r in rows)  # the reasons
    _, top1 = _run(catalog, "alternatives", id="flux-1-pro", top=1)
    assert len(top1) == 1 and top1[0]["alternative"] not in ("flux-1-pro", "flux-1-dev")


def test_queries_to_artifact_agree_with_the_match_edges(catalog: Graph) -> None:
    _, rows = _run(catalog, "queries_to_artifact", id="flux-1-pro")
    expected = {
        r["q"]
        for r in catalog.read(
            "MATCH (q:Query)-[:MATCHED]->(t) WHERE t.id = $id OR t.artifact = $id "
            "RETURN DISTINCT q.text AS q",
            id="flux-1-pro",
        )
    }
    assert {r["query"] for r in rows} == expected
    assert [r["confidence"] for r in rows] == sorted((r["confidence"] for r in rows), reverse=True)
    assert all(r["sessions"] >= 1 for r in rows)


def test_unmatched_capabilities_are_those_without_a_match_edge(catalog: Graph) -> None:
    _, rows = _run(catalog, "unmatched_capabilities", top=1000)
    expected = catalog.read(
        "MATCH (c:Capability) WHERE NOT EXISTS { (:Query)-[:MATCHED]->(c) } RETURN count(c) AS n"
    )[0]["n"]
    assert len(rows) == expected
    _, models = _run(catalog, "unmatched_capabilities", kind="model", top=1000)
    assert models and {r["kind"] for r in models} == {"model"}
    # artifact_matched: some search reached the artifact itself or another of its capabilities.
    reached = {
        r["id"]
        for r in catalog.read(
            "MATCH (:Query)-[:MATCHED]->(t) RETURN DISTINCT coalesce(t.artifact, t.id) AS id"
        )
    }
    assert [r["artifact_matched"] for r in rows] == [r["artifact"] in reached for r in rows]
    assert any(r["artifact_matched"] for r in rows)


def test_communities_partition_the_searched_artifacts(catalog: Graph) -> None:
    _, rows = _run(catalog, "communities")
    members = [a for r in rows for a in r["artifacts"]]
    assert len(members) == len(set(members))
    assert all(
        r["size"] == len(r["artifacts"]) >= 2 and r["community"] == min(r["artifacts"])
        for r in rows
    )
    by_artifact = {a: r["community"] for r in rows for a in r["artifacts"]}
    assert by_artifact["vit-base-patch16-224"] == by_artifact["resnet-50"]
    assert by_artifact["flux-1-pro"] != by_artifact["vit-base-patch16-224"]
    _, singles = _run(catalog, "communities", min_size=1)
    assert len(singles) >= len(rows)


def test_shortest_path_walks_through_searches(catalog: Graph) -> None:
    _, rows = _run(catalog, "shortest_path")
    [row] = rows
    assert row["steps"][0] == "artifact vit-base-patch16-224"
    assert row["steps"][-1] == "artifact text-embedding-3-small"
    assert row["searches"] >= 1 and any(s.startswith("search ") for s in row["steps"])
    assert len(row["steps"]) == row["hops"] + 1
    _, none = _run(catalog, "shortest_path", source="vit-base-patch16-224", target="mcp-server-git")
    assert none == []  # no chain of searches joins image models and MCP servers


def test_top_by_kind_orders_each_kind(catalog: Graph) -> None:
    _, rows = _run(catalog, "top_by_kind")
    kinds = {r["kind"] for r in rows}
    assert kinds == {r["k"] for r in catalog.read("MATCH (a:Artifact) RETURN DISTINCT a.kind AS k")}
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        assert 1 <= len(mine) <= 3 and [r["position"] for r in mine] == list(
            range(1, len(mine) + 1)
        )
        assert [r["unfragile_rank"] for r in mine] == sorted(
            (r["unfragile_rank"] for r in mine), reverse=True
        )
        assert all(r["interval"][0] <= r["unfragile_rank"] <= r["interval"][1] for r in mine)
    _, one = _run(catalog, "top_by_kind", top=1)
    assert len(one) == len(kinds)


def test_providers_count_their_artifacts(catalog: Graph) -> None:
    _, rows = _run(catalog, "providers", top=3)
    assert len(rows) == 3
    assert [r["artifacts"] for r in rows] == sorted((r["artifacts"] for r in rows), reverse=True)
    first = rows[0]
    assert (
        first["artifacts"]
        == catalog.read(
            "MATCH (:Organization {name: $p})<-[:PROVIDED_BY]-(a) RETURN count(a) AS n",
            p=first["provider"],
        )[0]["n"]
    )


def test_passed_over_results_were_never_clicked(catalog: Graph) -> None:
    _, rows = _run(catalog, "passed_over", top=1000)
    for r in rows:
        assert r["artifact"] not in r["clicked_instead"]
        clicks = catalog.read(
            "MATCH (:Query {text: $q})-[m:MATCHED]->(t) WHERE coalesce(t.artifact, t.id) = $a "
            "RETURN sum(m.clicks) AS c",
            q=r["query"],
            a=r["artifact"],
        )[0]["c"]
        assert clicks == 0
    _, fewer = _run(catalog, "passed_over", min_sessions=2, top=1000)
    assert len(fewer) < len(rows) and all(r["sessions"] >= 2 for r in fewer)


def test_lonely_capabilities_share_no_title_word(catalog: Graph) -> None:
    _, rows = _run(catalog, "lonely_capabilities")
    assert all(r["overlap"] == 0 and r["nearest"] is None and r["unique"] for r in rows)
    _, looser = _run(catalog, "lonely_capabilities", max_overlap=0.5, top=1000)
    assert len(looser) > len(rows) and any(r["nearest"] for r in looser)


def test_shared_capabilities_pair_the_two_artifacts(catalog: Graph) -> None:
    _, rows = _run(catalog, "shared_capabilities")
    statuses = {r["status"] for r in rows}
    assert statuses <= {"shared", "only vit-base-patch16-224", "only resnet-50"}
    assert {"shared", "only vit-base-patch16-224", "only resnet-50"} <= statuses
    imagenet = [r for r in rows if r["capability"] == "ImageNet-1k classification"]
    assert {r["artifact"] for r in imagenet} == {"vit-base-patch16-224", "resnet-50"}
    assert all(r["status"] == "shared" and r["overlap"] == 1.0 for r in imagenet)
    _, same = _run(catalog, "shared_capabilities", a="resnet-50", b="resnet-50")
    assert same == []


def test_fulltext_capabilities_use_the_index(catalog: Graph) -> None:
    _, rows = _run(catalog, "fulltext_capabilities")
    assert "embedding" in rows[0]["capability"].lower()
    _, voice = _run(catalog, "fulltext_capabilities", text="voice", top=3)
    assert 1 <= len(voice) <= 3


# -- through the command line ----------------------------------------------------------------


def test_every_saved_file_runs_through_the_cli(catalog: Graph, cli_here) -> None:
    for q in explore.saved():  # in-process; the next test runs the command as a process
        result = cli_here("cypher", "--file", str(q.path), "--json", check=True)
        rows = json.loads(result.stdout)
        assert rows and list(rows[0]) == COLUMNS[q.name], q.name


def test_cli_saved_name_params_and_errors(catalog: Graph, cli) -> None:
    result = cli("cypher", "--saved", "top_by_kind", "--param", "top=1", "--json", check=True)
    assert [r["position"] for r in json.loads(result.stdout)] == [1] * 8
    path = str(explore.get("alternatives").path)
    result = cli("cypher", "--file", path, "--param", "id=resnet-50", "--json", check=True)
    assert "resnet-50" not in [r["alternative"] for r in json.loads(result.stdout)]
    unknown = cli("cypher", "--saved", "nope")
    assert unknown.returncode == 2 and "known: alternatives" in unknown.stderr
    assert "Nothing was written" not in unknown.stderr
    bad = cli("cypher", "--file", path, "--param", "top=lots")
    assert bad.returncode == 2 and "field 'top': expected integer" in bad.stderr
    both = cli("cypher", "RETURN 1", "--saved", "providers")
    assert both.returncode == 2 and "--saved NAME" in both.stderr
