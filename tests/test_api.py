"""The HTTP API over the bundled catalog on the real Neo4j, through FastAPI's TestClient.

The catalog is loaded, indexed and ranked once for the module; TestClient re-raises any
exception that reaches the catch-all 500 handler, so a test cannot pass through one.
"""

from __future__ import annotations

import io
import shutil

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.conftest import load_catalog
from unfragile.api.app import create_app
from unfragile.api.config import ApiConfig
from unfragile.engine import aggregate, ranking
from unfragile.graph import store

KEY = "test-key-1"
KEYED = {"X-API-Key": KEY}  # ad-hoc POST /cypher takes a key too (issue 11)
# TestClient sends Host: testserver; the API answers loopback names only unless told more.
TESTSERVER = ("testserver",)
VIT = "vit-base-patch16-224"
FLUX = "flux-1-pro"


def _png(color: tuple[int, int, int], size: int = 64) -> bytes:
    image = Image.new("RGB", (size, size), color)
    for x in range(0, size, 8):  # some structure, so the encoder sees more than a colour
        for y in range(size):
            image.putpixel((x, y), (255 - color[0], 255 - color[1], 255 - color[2]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def loaded(settings, graph_session, tiny_vit, tmp_path_factory, encoder):
    """Settings with the catalog ingested, indexed (text and one image of ViT) and ranked."""
    graph = graph_session
    store.delete_everything(graph)
    shutil.rmtree(settings.home / "images", ignore_errors=True)
    api_settings = settings.with_(image_model=str(tiny_vit))
    indexer = load_catalog(graph, api_settings, encoder)
    picture = tmp_path_factory.mktemp("img") / "vit.png"
    picture.write_bytes(_png((200, 30, 30)))
    indexer.add_images([picture], VIT)
    ranking.rank(graph, ranking.load_config(env={}), settings=api_settings, show_progress=False)
    return api_settings


@pytest.fixture(scope="module")
def client(loaded):
    app = create_app(loaded, ApiConfig(allowed_hosts=TESTSERVER, api_keys=(KEY, "other-key")))
    with TestClient(app) as c:
        yield c


def _error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "field", "index"}, body
    assert body["message"]
    if field is not None:
        assert body["field"] == field, body
    assert "Traceback" not in response.text
    return body


# -- health, OpenAPI, CORS -------------------------------------------------------------------


def test_healthz_reports_neo4j_and_loaded_indexes(client, graph_session):
    r = client.get("/healthz")
    assert r.status_code == 200, r.text
    body = r.json()
    caps = graph_session.read("MATCH (c:Capability) RETURN count(c) AS n")[0]["n"]
    queries = graph_session.read("MATCH (q:Query) RETURN count(q) AS n")[0]["n"]
    assert body["status"] == "ok" and body["neo4j"] is True
    assert body["indexes"] == {"capabilities": caps, "queries": queries}


def test_openapi_and_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    for path in (
        "/healthz",
        "/search",
        "/search/image",
        "/artifacts/{artifact_id}",
        "/artifacts/{artifact_id}/alternatives",
        "/leaderboard",
        "/compare",
        "/events",
        "/cypher",
        "/cypher/saved",
        "/cypher/saved/{name}",
    ):
        assert path in spec["paths"], path
    params = {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert "image" in params["modality"]["schema"]["anyOf"][0]["enum"]
    assert client.get("/docs").status_code == 200


def test_cors_is_closed_by_default(client, loaded):
    r = client.get("/leaderboard", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200
    assert not any(h.lower().startswith("access-control-") for h in r.headers)
    preflight = client.options(
        "/events",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    # The switch works when set: the same request from an allowed origin gets the header.
    app = create_app(
        loaded,
        ApiConfig(allowed_hosts=TESTSERVER, cors_origins=("https://ok.example",)),
        warm=False,
    )
    with TestClient(app) as open_client:
        r = open_client.get("/leaderboard", headers={"Origin": "https://ok.example"})
        assert r.headers["access-control-allow-origin"] == "https://ok.example"


def test_unknown_route_is_a_json_404(client):
    _error(client.get("/no/such/route"), 404)


# -- search ----------------------------------------------------------------------------------


def test_search_finds_vit_with_a_capability_and_evidence_from_the_graph(client, graph_session):
    r = client.get("/search", params={"q": "image classification", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "image classification" and body["k"] == 5
    results = body["results"]
    assert 0 < len(results) <= 5
    assert VIT in [x["artifact"] for x in results[:3]]
    assert [x["score"] for x in results] == sorted((x["score"] for x in results), reverse=True)
    vit = next(x for x in results if x["artifact"] == VIT)
    owner = graph_session.read(
        "MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c:Capability {id: $id}) RETURN a.id AS a",
        id=vit["capability"]["id"],
    )
    assert owner == [{"a": VIT}]
    assert {"dense", "lexical", "evidence", "prior"} <= set(vit["components"])
    with_evidence = [x for x in results if x["evidence"]]
    assert with_evidence, "no result carries match-graph evidence"
    for x in with_evidence:
        for e in x["evidence"]:
            rows = graph_session.read(
                "MATCH (q:Query) WHERE q.text = $t OR q.id = $t RETURN count(q) AS n", t=e["query"]
            )
            assert rows[0]["n"] >= 1, e


def test_search_filters_apply(client):
    r = client.get("/search", params={"q": "generate images from text", "kind": "api", "k": 10})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results and {x["kind"] for x in results} == {"api"}
    assert r.json()["filters"] == {"kind": "api"}
    opened = client.get(
        "/search", params={"q": "generate images from text", "open_weights": "true", "k": 10}
    ).json()
    closed = client.get(
        "/search", params={"q": "generate images from text", "open_weights": "false", "k": 10}
    ).json()
    assert opened["results"] and closed["results"]
    assert not {x["artifact"] for x in opened["results"]} & {
        x["artifact"] for x in closed["results"]
    }


@pytest.mark.parametrize(
    "params, field",
    [
        ({"q": "x", "k": 0}, "k"),
        ({"q": "x", "k": 101}, "k"),
        ({"q": "x", "k": "many"}, "k"),
        ({"q": "x", "kind": "spaceship"}, "kind"),
        ({"q": "x", "pricing": "cheap"}, "pricing"),
        ({"q": "x", "modality": "smell"}, "modality"),
        ({"q": "x", "open_weights": "perhaps"}, "open_weights"),
        ({"q": "x", "provider": "Nobody Inc"}, "provider"),
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 2001}, "q"),
    ],
)
def test_search_bad_parameters_are_422_naming_the_field(client, params, field):
    _error(client.get("/search", params=params), 422, field)


def test_search_alternatives_to(client):
    r = client.get("/search", params={"alternatives_to": VIT, "k": 5})
    assert r.status_code == 200, r.text
    ids = [x["artifact"] for x in r.json()["results"]]
    assert ids and VIT not in ids
    _error(
        client.get("/search", params={"alternatives_to": "no-such-thing"}), 404, "alternatives_to"
    )
    # With a query too: the query's results without that artifact.
    r = client.get("/search", params={"q": "image classification", "alternatives_to": VIT})
    assert VIT not in [x["artifact"] for x in r.json()["results"]]


# -- images ----------------------------------------------------------------------------------


def test_image_search_finds_the_artifact_the_image_depicts(client):
    r = client.post(
        "/search/image",
        params={"k": 3},
        files={"file": ("query.png", _png((200, 30, 30)), "image/png")},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0]["artifact"] == VIT and results[0]["score"] > 0.99
    assert results[0]["relation"] == "DEPICTS"


def test_image_search_refuses_a_file_that_is_not_an_image(client):
    body = _error(
        client.post(
            "/search/image", files={"file": ("notes.png", b"this is not a png at all", "image/png")}
        ),
        422,
        "file",
    )
    assert "notes.png" in body["message"] and "/tmp" not in body["message"]
    _error(client.post("/search/image"), 422, "file")


def test_upload_limit_is_413(client, loaded):
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    _error(client.post("/search/image", files={"file": ("big.png", big, "image/png")}), 413)
    # A smaller configured limit holds for a file that the default would take.
    app = create_app(loaded, ApiConfig(allowed_hosts=TESTSERVER, max_image_bytes=1000), warm=False)
    with TestClient(app) as small:
        _error(small.post("/search/image", files={"file": ("a.png", big[:5000], "image/png")}), 413)


def test_body_without_content_length_is_cut_at_the_limit(loaded):
    app = create_app(
        loaded,
        ApiConfig(allowed_hosts=TESTSERVER, api_keys=(KEY,), max_body_bytes=2000),
        warm=False,
    )

    def chunks():
        for _ in range(10):
            yield b"[" + b" " * 999

    with TestClient(app) as small:
        r = small.post(
            "/events",
            content=chunks(),
            headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        )
        _error(r, 413)


# -- artifacts, alternatives, leaderboard ------------------------------------------------------


def test_artifact_has_record_scores_and_capabilities_from_the_graph(client, graph_session):
    r = client.get(f"/artifacts/{VIT}")
    assert r.status_code == 200, r.text
    body = r.json()
    props = graph_session.read("MATCH (a:Artifact {id: $id}) RETURN properties(a) AS p", id=VIT)[0][
        "p"
    ]
    assert body["id"] == VIT and body["record"]["name"] == props["name"]
    assert body["record"]["kind"] == "model" and body["record"]["provider"] == "Google"
    assert body["scores"]["unfragile_rank"] == props["unfragile_rank"]
    assert body["scores"]["adoption"] == props["adoption"]
    caps = graph_session.read(
        "MATCH (:Artifact {id: $id})-[:HAS_CAPABILITY]->(c) "
        "RETURN c.id AS id ORDER BY c.position, c.id",
        id=VIT,
    )
    assert [c["id"] for c in body["capabilities"]] == [c["id"] for c in caps]
    assert all(c["title"] and c["text"] for c in body["capabilities"])
    edges = graph_session.read(
        "MATCH (:Artifact {id: $id})-[x:ALTERNATIVE_TO]->(b) "
        "RETURN b.id AS id ORDER BY x.position LIMIT 5",
        id=VIT,
    )
    assert edges and [a["id"] for a in body["alternatives"]] == [e["id"] for e in edges]


def test_unknown_artifact_is_404(client):
    _error(client.get("/artifacts/no-such-artifact"), 404, "artifact_id")
    _error(client.get("/artifacts/no-such-artifact/alternatives"), 404, "artifact_id")
    _error(client.get("/artifacts/" + "x" * 201), 422, "artifact_id")


def test_alternatives_route(client, graph_session):
    """The stored ALTERNATIVE_TO edges in their order (tests/test_alternatives.py checks
    they are what search answers, on every surface)."""
    r = client.get(f"/artifacts/{VIT}/alternatives", params={"k": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["artifact"] == VIT and body["k"] == 4
    ids = [x["id"] for x in body["alternatives"]]
    edges = graph_session.read(
        "MATCH (:Artifact {id: $id})-[x:ALTERNATIVE_TO]->(b) "
        "RETURN b.id AS id, b.kind AS kind ORDER BY x.position",
        id=VIT,
    )
    assert len(ids) == 4 and VIT not in ids and ids == [e["id"] for e in edges[:4]]
    assert [x["position"] for x in body["alternatives"]] == [1, 2, 3, 4]
    assert all(0 <= x["match"] <= 100 for x in body["alternatives"])
    models = client.get(f"/artifacts/{VIT}/alternatives", params={"kind": "model"}).json()
    assert [x["id"] for x in models["alternatives"]] == [
        e["id"] for e in edges if e["kind"] == "model"
    ]
    assert {x["kind"] for x in models["alternatives"]} == {"model"}


def test_leaderboard(client, graph_session):
    r = client.get("/leaderboard", params={"top": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    ranked = graph_session.read(
        "MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL RETURN count(a) AS n"
    )[0]["n"]
    everything = graph_session.read("MATCH (a:Artifact) RETURN count(a) AS n")[0]["n"]
    # Every artifact is ranked (the bundled catalog grows: no fixed count here).
    assert body["ranked"] == ranked == everything >= 67 and len(body["rows"]) == 5
    ranks = [row["unfragile_rank"] for row in body["rows"]]
    assert ranks == sorted(ranks, reverse=True)
    best = graph_session.read("MATCH (a:Artifact) RETURN max(a.unfragile_rank) AS m")[0]["m"]
    assert ranks[0] == best
    models = client.get("/leaderboard", params={"kind": "model", "top": 100}).json()
    assert models["rows"] and {row["kind"] for row in models["rows"]} == {"model"}
    _error(client.get("/leaderboard", params={"top": 0}), 422, "top")
    _error(client.get("/leaderboard", params={"kind": "boat"}), 422, "kind")


# -- compare ---------------------------------------------------------------------------------


def test_compare_json_markdown_and_html(client):
    r = client.get("/compare", params={"a": VIT, "b": FLUX})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    page = r.json()
    assert page["a"]["id"] == VIT and page["b"]["id"] == FLUX
    assert page["title"] == f"{page['a']['name']} vs {page['b']['name']}"
    assert "ranks higher" in page["verdict"]["sentence"] or "tie" in page["verdict"]["sentence"]
    assert [row["label"] for row in page["table"]][:2] == ["Type", "UnfragileRank"]

    md = client.get("/compare", params={"a": VIT, "b": FLUX, "format": "md"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith(f"# {page['title']}") and page["verdict"]["sentence"] in md.text
    by_accept = client.get(
        "/compare", params={"a": VIT, "b": FLUX}, headers={"Accept": "text/markdown"}
    )
    assert by_accept.text == md.text
    weighted = client.get(
        "/compare",
        params={"a": VIT, "b": FLUX},
        headers={"Accept": "application/json;q=0.5, text/markdown;q=0.9"},
    )
    assert weighted.text == md.text
    # A lower-weighted text/html does not win the web page over the Markdown asked for.
    html_second = client.get(
        "/compare",
        params={"a": VIT, "b": FLUX},
        headers={"Accept": "text/html;q=0.5, text/markdown"},
    )
    assert html_second.text == md.text

    html = client.get("/compare", params={"a": VIT, "b": FLUX, "format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<table>" in html.text and "<h1>" in html.text
    # `format` wins over Accept.
    forced = client.get(
        "/compare",
        params={"a": VIT, "b": FLUX, "format": "json"},
        headers={"Accept": "text/markdown"},
    )
    assert forced.json() == page


def test_compare_errors(client):
    _error(client.get("/compare", params={"a": "no-such-model", "b": FLUX}), 404, "a")
    _error(client.get("/compare", params={"a": VIT, "b": "no-such-model"}), 404, "b")
    _error(client.get("/compare", params={"a": VIT, "b": VIT}), 422, "b")
    _error(client.get("/compare", params={"a": VIT}), 422, "b")
    _error(client.get("/compare", params={"a": VIT, "b": FLUX, "format": "pdf"}), 422, "format")


# -- events ----------------------------------------------------------------------------------


def _event(i: int, **extra) -> dict:
    record = {
        "id": f"api-test-{i}",
        "query": "api test: classify my photos",
        "artifact": VIT,
        "session": f"api-s-{i}",
        "event": "match",
        "time": f"2026-10-0{1 + i % 9}T12:00:00Z",
    }
    record.update(extra)
    return record


def _evidence(graph) -> dict:
    return graph.read(
        "MATCH (q:Query {id: 'api test: classify my photos'})-[m:MATCHED]->(t) "
        "RETURN sum(m.count) AS count, sum(m.sessions) AS sessions, sum(m.clicks) AS clicks"
    )[0]


def test_events_need_a_valid_api_key(client, loaded):
    _error(client.post("/events", json=_event(0)), 401, "X-API-Key")
    _error(client.post("/events", json=_event(0), headers={"X-API-Key": "wrong"}), 401, "X-API-Key")
    # Checked before the body: a bad body without a key is still a 401.
    _error(client.post("/events", content=b"{not json"), 401)
    app = create_app(loaded, ApiConfig(allowed_hosts=TESTSERVER), warm=False)
    with TestClient(app) as keyless:
        body = _error(keyless.post("/events", json=_event(0), headers={"X-API-Key": KEY}), 403)
        assert "UNFRAGILE_API_KEYS" in body["message"]


def test_events_are_written_and_retries_change_nothing(client, graph_session):
    batch = [
        _event(1),
        _event(2),
        _event(2, id="api-test-3", event="click"),
        _event(4, event="dwell", seconds=42),
    ]
    r = client.post("/events", json=batch, headers={"X-API-Key": KEY})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "events": 4,
        "ids": ["api-test-1", "api-test-2", "api-test-3", "api-test-4"],
    }
    first = _evidence(graph_session)
    assert first == {"count": 4, "sessions": 3, "clicks": 1}
    # The same batch again (a client retry), and one event alone with the other key.
    assert client.post("/events", json=batch, headers={"X-API-Key": KEY}).status_code == 200
    r = client.post("/events", json=_event(1), headers={"X-API-Key": "other-key"})
    assert r.status_code == 200 and r.json()["ids"] == ["api-test-1"]
    assert _evidence(graph_session) == first
    # An event without an id gets one from its content: posting it twice counts once.
    bare = {k: v for k, v in _event(5).items() if k != "id"}
    ids = [
        client.post("/events", json=bare, headers={"X-API-Key": KEY}).json()["ids"][0]
        for _ in range(2)
    ]
    assert ids[0] == ids[1]
    assert _evidence(graph_session)["count"] == 5
    # Events without a source are the API's; a client may say sample itself.
    client.post("/events", json=_event(6, source="sample"), headers={"X-API-Key": KEY})
    origins = {
        r["session"]: r["origins"]
        for r in aggregate.sessions(graph_session)
        if r["query"] == "api test: classify my photos"
    }
    assert origins["api-s-1"] == ["api"] and origins["api-s-6"] == ["sample"]


@pytest.mark.parametrize(
    "body, field, index",
    [
        ({**_event(9), "session": None}, "session", 0),
        ([_event(9), {k: v for k, v in _event(9).items() if k != "time"}], "time", 1),
        ([_event(9), _event(9), _event(9, event="shout")], "event", 2),
        ([_event(9, event="feedback", value=7)], "value", 0),
        ([_event(9, event="dwell")], "seconds", 0),
        ([_event(9, colour="red")], "colour", 0),
        ([_event(9), _event(9, source="Sample")], "source", 1),
        ([_event(9), _event(9, artifact="no-such-artifact")], "artifact", 1),
        ([_event(9), "not an object"], None, 1),
    ],
)
def test_bad_events_are_422_naming_field_and_index_and_nothing_is_written(
    client, graph_session, body, field, index
):
    before = len(aggregate.sessions(graph_session))
    r = client.post("/events", json=body, headers={"X-API-Key": KEY})
    error = _error(r, 422, field)
    assert error["index"] == index
    assert len(aggregate.sessions(graph_session)) == before


def test_events_body_must_be_json(client):
    _error(client.post("/events", content=b"{not json", headers={"X-API-Key": KEY}), 422, "body")
    _error(client.post("/events", json=[], headers={"X-API-Key": KEY}), 422, "body")


# -- Cypher ----------------------------------------------------------------------------------


def test_cypher_reads(client):
    r = client.post(
        "/cypher",
        json={
            "query": "MATCH (a:Artifact) WHERE a.kind = $kind RETURN count(a) AS n",
            "params": {"kind": "model"},
        },
        headers=KEYED,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["columns"] == ["n"] and body["rows"][0]["n"] > 0 and not body["truncated"]
    capped = client.post(
        "/cypher", json={"query": "UNWIND range(1, 5000) AS i RETURN i"}, headers=KEYED
    )
    assert capped.json()["truncated"] and len(capped.json()["rows"]) == capped.json()["row_cap"]


@pytest.mark.parametrize(
    "query",
    [
        "CREATE (:Artifact {id: 'evil'})",
        "MATCH (a:Artifact) DETACH DELETE a",
        "match (a:Artifact) set a.name = 'x' return a",
        "MATCH (a) /* comment */ MERGE (b:Artifact {id: 'evil'}) RETURN b",
        "CALL { CREATE (:Artifact {id: 'evil'}) } RETURN 1",
        "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
        "CALL db.createLabel('Evil')",
        "CREATE USER bob SET PASSWORD 'secret-password'",
    ],
)
def test_cypher_writes_are_refused_403(client, graph_session, query):
    before = graph_session.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
    body = _error(client.post("/cypher", json={"query": query}, headers=KEYED), 403)
    assert "refused" in body["message"]
    assert graph_session.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == before


def test_cypher_errors(client):
    _error(client.post("/cypher", json={"query": "MATCH (a RETURN a"}, headers=KEYED), 400)
    _error(client.post("/cypher", json={"query": ""}, headers=KEYED), 422, "query")
    _error(client.post("/cypher", json={"params": {}}, headers=KEYED), 422, "query")
    _error(
        client.post("/cypher", json={"query": "RETURN $x", "params": {"x": 2**70}}, headers=KEYED),
        422,
        "params.x",
    )
    nan = client.post("/cypher", json={"query": "RETURN 0.0 / 0.0 AS nan, 1 AS one"}, headers=KEYED)
    assert nan.status_code == 200 and nan.json()["rows"] == [{"nan": None, "one": 1}]


def test_saved_cypher(client):
    listed = client.get("/cypher/saved").json()
    names = {q["name"] for q in listed}
    assert {"top_by_kind", "alternatives"} <= names and len(listed) >= 8
    top = next(q for q in listed if q["name"] == "top_by_kind")
    assert top["title"] and top["params"][0]["name"] == "top"
    r = client.post("/cypher/saved/top_by_kind", json={"params": {"top": 1}})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    kinds = [row["kind"] for row in rows]
    assert rows and len(kinds) == len(set(kinds)) and all(row["position"] == 1 for row in rows)
    defaults = client.post("/cypher/saved/alternatives").json()
    assert defaults["rows"], "the saved query's defaults should find ViT's alternatives"
    _error(client.post("/cypher/saved/no_such_query"), 404, "name")
    _error(
        client.post("/cypher/saved/top_by_kind", json={"params": {"top": "lots"}}),
        422,
        "params.top",
    )
    _error(
        client.post("/cypher/saved/top_by_kind", json={"params": {"nope": 1}}), 422, "params.nope"
    )
