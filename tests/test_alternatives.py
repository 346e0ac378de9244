"""One meaning of "alternatives": every surface gives the same artifacts in the same order.

On the bundled catalog, loaded, indexed (capabilities, past queries, artifacts) and ranked once
for the module with the real Neo4j, FAISS and text model: the ALTERNATIVE_TO edges `unfragile
rank` writes are SearchEngine.alternatives' top `alternatives_top_n`, and the API route, the
artifact JSON and page, Catalog.alternatives, the `alternatives` exploration, `/search
?alternatives_to=` and `unfragile search --alternatives-to` list them in that order, never
the artifact or its family.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import load_catalog
from tests.helpers import artifact, write_jsonl
from unfragile.engine import explore, ranking
from unfragile.engine.catalog import Catalog
from unfragile.engine.ingest import ingest
from unfragile.engine.names import Names
from unfragile.engine.search import SearchEngine
from unfragile.engine.settings import Settings
from unfragile.graph import retrieval, store
from unfragile.graph.connection import Graph

TOP_N = ranking.load_config(env={}).alternatives_top_n
PAGE = 5  # alternatives on an artifact's page and in GET /artifacts/{id}
CHECKED = ("gpt-4o", "flux-1-pro", "vit-base-patch16-224", "whisper-large-v3")
# Family the issue names: never an alternative to each other.
NEVER = {
    "gpt-4o": {"chatgpt", "openai-api"},
    "flux-1-pro": {"flux-1-dev", "flux-1-schnell"},
    "whisper-large-v3": {"whisper-tiny", "whisper-cpp"},
}


@pytest.fixture(scope="module")
def ranked(settings: Settings, graph_session: Graph, encoder) -> Iterator[ranking.RankReport]:
    """The bundled catalog and events, indexed, then ranked (scores and ALTERNATIVE_TO)."""
    store.delete_everything(graph_session)
    load_catalog(graph_session, settings, encoder)
    yield ranking.rank(
        graph_session, ranking.load_config(env={}), settings=settings, show_progress=False
    )


@pytest.fixture(scope="module")
def engine(ranked: ranking.RankReport, settings: Settings, graph_session: Graph) -> SearchEngine:
    return SearchEngine(settings, graph_session)


@pytest.fixture(scope="module")
def client(ranked: ranking.RankReport, settings: Settings) -> Iterator[TestClient]:
    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    app = create_app(settings, ApiConfig(allowed_hosts=("testserver",)), warm=False)
    with TestClient(app) as c:
        yield c


def _edges(graph: Graph) -> dict[str, list[dict[str, Any]]]:
    """Every artifact's stored ALTERNATIVE_TO edges, by position."""
    rows = graph.read(
        "MATCH (a:Artifact)-[x:ALTERNATIVE_TO]->(b:Artifact) "
        "RETURN a.id AS a, b.id AS b, x.position AS position, x.match AS match, "
        "x.score AS score ORDER BY a, position"
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["a"], []).append(r)
    return out


def _page_alternatives(html: str) -> list[str]:
    """The artifact ids the page's Alternatives section links to, in order."""
    section = re.search(r'<section class="alternatives".*?</section>', html, flags=re.S)
    assert section is not None
    return re.findall(r'<li><a href="/artifact/([^"]+)">', section.group(0))


def test_rank_stores_what_search_answers_for_every_artifact(
    ranked: ranking.RankReport, engine: SearchEngine, graph_session: Graph
) -> None:
    assert ranked.alternatives_kept == 0 and ranked.alternatives_source.startswith("search")
    edges = _edges(graph_session)
    ids = [r["id"] for r in graph_session.read("MATCH (a:Artifact) RETURN a.id AS id")]
    assert ranked.alternative_edges == sum(len(e) for e in edges.values()) > 0
    for a in ids:
        answer = engine.alternatives(a, TOP_N)
        stored = edges.get(a, [])
        assert [(r.artifact, r.match, r.score) for r in answer] == [
            (e["b"], e["match"], e["score"]) for e in stored
        ], a
        assert [e["position"] for e in stored] == list(range(1, len(stored) + 1)), a
        assert all(0 <= e["match"] <= 100 for e in stored), a


def test_no_artifact_is_stored_as_an_alternative_to_its_family(
    ranked: ranking.RankReport, graph_session: Graph
) -> None:
    names = Names(retrieval.artifact_rows(graph_session))
    edges = _edges(graph_session)
    assert set(NEVER) <= set(edges)
    for a, stored in edges.items():
        assert not {e["b"] for e in stored} & names.family(a), a
    for a, family in NEVER.items():
        assert family <= names.family(a)  # the family the issue means is the one left out
        assert not {e["b"] for e in edges[a]} & family, a


@pytest.mark.parametrize("artifact_id", CHECKED)
def test_every_surface_lists_the_same_alternatives_in_the_same_order(
    artifact_id: str, engine: SearchEngine, client: TestClient, graph_session: Graph
) -> None:
    expected = [r.artifact for r in engine.alternatives(artifact_id, TOP_N)]
    assert expected and artifact_id not in expected
    assert [e["b"] for e in _edges(graph_session)[artifact_id]] == expected

    catalog = Catalog(graph_session)
    assert [a["id"] for a in catalog.alternatives(artifact_id, TOP_N) or []] == expected
    assert [a["id"] for a in catalog.alternatives(artifact_id) or []] == expected[:PAGE]
    page = catalog.artifact(artifact_id)
    assert page is not None and [a["id"] for a in page.alternatives] == expected[:PAGE]

    route = client.get(f"/artifacts/{artifact_id}/alternatives", params={"k": TOP_N})
    assert route.status_code == 200, route.text
    assert [a["id"] for a in route.json()["alternatives"]] == expected
    record = client.get(f"/artifacts/{artifact_id}").json()
    assert [a["id"] for a in record["alternatives"]] == expected[:PAGE]
    searched = client.get("/search", params={"alternatives_to": artifact_id, "k": TOP_N})
    assert [r["artifact"] for r in searched.json()["results"]] == expected

    html = client.get(f"/artifact/{artifact_id}", headers={"accept": "text/html"})
    assert html.status_code == 200 and _page_alternatives(html.text) == expected[:PAGE]

    saved = explore.get("alternatives")
    _, rows, _ = graph_session.run_read_only(
        saved.text, saved.bind({"id": artifact_id, "top": TOP_N}), timeout_s=30, row_cap=100
    )
    assert [r["alternative"] for r in rows] == expected
    assert [r["position"] for r in rows] == list(range(1, len(expected) + 1))


def test_the_cli_lists_them_too(ranked: ranking.RankReport, graph_session: Graph, cli) -> None:
    edges = _edges(graph_session)
    for artifact_id in ("gpt-4o", "flux-1-pro"):
        result = cli("search", "--alternatives-to", artifact_id, "--json", check=True)
        shown = [r["artifact"] for r in json.loads(result.stdout)["results"]]
        assert shown == [e["b"] for e in edges[artifact_id]], artifact_id


def test_the_route_keeps_one_kind_in_the_stored_order(
    ranked: ranking.RankReport, client: TestClient, graph_session: Graph
) -> None:
    stored = [e["b"] for e in _edges(graph_session)["gpt-4o"]]
    kinds = {
        r["id"]: r["kind"]
        for r in graph_session.read(
            "UNWIND $ids AS id MATCH (a:Artifact {id: id}) RETURN a.id AS id, a.kind AS kind",
            ids=stored,
        )
    }
    for kind in sorted(set(kinds.values())):
        body = client.get("/artifacts/gpt-4o/alternatives", params={"kind": kind}).json()
        assert body["kind"] == kind
        assert [a["id"] for a in body["alternatives"]] == [b for b in stored if kinds[b] == kind]
    few = client.get("/artifacts/gpt-4o/alternatives", params={"k": 3}).json()
    assert [a["id"] for a in few["alternatives"]] == stored[:3]
    assert [a["position"] for a in few["alternatives"]] == [1, 2, 3]
    missing = client.get("/artifacts/no-such-artifact/alternatives")
    assert missing.status_code == 404 and missing.json()["field"] == "artifact_id"


def test_rank_repairs_tampered_edges_and_is_deterministic(
    ranked: ranking.RankReport, settings: Settings, graph_session: Graph
) -> None:
    first = _edges(graph_session)
    a = "flux-1-pro"
    stale, changed, gone = "flux-1-dev", first[a][0]["b"], first[a][-1]["b"]
    graph_session.write(
        lambda tx: tx.run(
            "MATCH (x:Artifact {id: $a}), (y:Artifact {id: $stale}) "
            "CREATE (x)-[:ALTERNATIVE_TO {score: 0.5, match: 99, position: 0}]->(y) "
            "WITH x MATCH (x)-[c:ALTERNATIVE_TO]->(:Artifact {id: $changed}) SET c.position = 7 "
            "WITH x MATCH (x)-[g:ALTERNATIVE_TO]->(:Artifact {id: $gone}) DELETE g",
            a=a,
            stale=stale,
            changed=changed,
            gone=gone,
        ).consume()
    )
    assert _edges(graph_session) != first
    ranking.rank(graph_session, ranking.load_config(env={}), settings=settings, show_progress=False)
    assert _edges(graph_session) == first


def test_an_artifact_added_since_the_index_keeps_its_edges(
    ranked: ranking.RankReport, settings: Settings, graph_session: Graph, tmp_path: Path
) -> None:
    """Last in the module: it adds an artifact, and takes it out again."""
    before = _edges(graph_session)
    new = write_jsonl(tmp_path / "new.jsonl", [artifact("brand-new-model")])
    ingest(graph_session, new, show_progress=False)
    try:
        report = ranking.rank(
            graph_session, ranking.load_config(env={}), settings=settings, show_progress=False
        )
        assert report.alternatives_kept == 1
        assert "1 not in the capability index kept their edges" in report.alternatives_source
        assert "brand-new-model" not in _edges(graph_session)
    finally:
        graph_session.write(
            lambda tx: tx.run(
                "MATCH (a:Artifact {id: 'brand-new-model'}) "
                "OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c) DETACH DELETE a, c"
            ).consume()
        )
    ranking.rank(graph_session, ranking.load_config(env={}), settings=settings, show_progress=False)
    assert _edges(graph_session) == before
