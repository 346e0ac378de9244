"""The web page over the bundled catalog: HTTP checks, then a real headless Chromium.

The catalog is loaded, indexed and ranked once for the module on the session's Neo4j. The
browser part drives Debian's `chromium` through `chromedriver` (Selenium, the driver path
given, so Selenium Manager never downloads anything) against a real uvicorn server on a
free loopback port, and saves a screenshot of each page to $UNFRAGILE_SCREENSHOTS (or a
pytest temporary folder, printed).
"""

from __future__ import annotations

import html
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import CATALOG, index_graph
from tests.helpers import artifact, event, write_jsonl
from unfragile.api import web
from unfragile.api.state import Services
from unfragile.engine import compare, ranking
from unfragile.engine.ingest import ingest
from unfragile.engine.pages import Pages
from unfragile.engine.search import Filters
from unfragile.engine.settings import Settings
from unfragile.engine.verdict import sentence
from unfragile.graph import projection, store
from unfragile.graph.connection import Graph

HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
A, B = "vit-base-patch16-224", "flux-1-pro"


HOSTILE = "<img src=x onerror=alert(1)>"
PROBE = artifact(
    "xss-probe",
    name=f"Probe {HOSTILE}",
    kind="tool",
    provider=f"Evil {HOSTILE}",
    url='https://example.com/?q="><script>alert(4)</script>',
    capabilities=[
        {
            "title": f"Rune vowels {HOSTILE}",
            "text": "Counts the vowels in Old Norse runes <script>alert(2)</script>.",
            "unique": f"Unique {HOSTILE}",
            "vs_alternatives": f"Versus {HOSTILE}",
        }
    ],
)
PROBE_QUERY = "count vowels in norse runes <script>alert(3)</script>"


@pytest.fixture(scope="module")
def loaded(
    settings: Settings,
    graph_session: Graph,
    tmp_path_factory: pytest.TempPathFactory,
    encoder: Any,
    catalog_indexes: Path,
) -> Settings:
    """The bundled catalog and events, plus one artifact and search made of markup, indexed
    and ranked, once for this module."""
    store.delete_everything(graph_session)
    ingest(graph_session, CATALOG, show_progress=False)
    hostile = write_jsonl(
        tmp_path_factory.mktemp("hostile") / "probe.jsonl",
        [
            PROBE,
            *(
                event(PROBE_QUERY, "xss-probe", f"s-x{i}", kind)
                for i in range(2)
                for kind in ("match", "click")
            ),
        ],
    )
    ingest(graph_session, hostile, show_progress=False)
    index_graph(graph_session, settings, encoder)
    ranking.rank(graph_session, ranking.load_config(env={}), settings=settings, show_progress=False)
    return settings


def make_app(settings: Settings) -> FastAPI:
    """The API's app, which includes the pages first (lifespan warm-up off: tests warm it)."""
    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    # TestClient sends Host: testserver; the API answers loopback names only unless told more.
    return create_app(settings, ApiConfig(allowed_hosts=("testserver",)), warm=False)


@pytest.fixture(scope="module")
def app(loaded: Settings) -> Iterator[FastAPI]:
    app = make_app(loaded)
    yield app
    app.state.services.close()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, headers=HTML)


@pytest.fixture(scope="module")
def services(app: FastAPI) -> Services:
    return app.state.services


def short_verdict(graph: Graph, page: dict) -> str:
    """The verdict as the browser's comparison page says it: the same fields, each side
    named by its short name."""
    sides = Pages(graph).compare_extras([page["a"]["id"], page["b"]["id"]])[0]
    v = page["verdict"]
    return sentence(
        sides[page["a"]["id"]]["display_name"],
        sides[page["b"]["id"]]["display_name"],
        *(v[f] for f in ("a_rank", "b_rank", "higher", "a_leads", "b_leads", "ties")),
    )


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- HTTP ------------------------------------------------------------------------------------


def test_landing_page_is_the_search_box(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Need something different?" in r.text
    assert '<form method="get" action="/"' in r.text and 'name="q"' in r.text
    for name in ("kind", "pricing", "open_weights", "modality"):
        assert f'name="{name}"' in r.text
    assert 'class="results' not in r.text
    css = client.get("/static/unfragile.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "font-family" in css.text


def test_search_shows_the_engine_results_with_evidence(
    client: TestClient, services: Services
) -> None:
    query = "classify images"
    expected = services.search().search(query, 10)
    r = client.get("/?" + urlencode({"q": query}))
    assert r.status_code == 200
    shown_ids = re.findall(r'<h3><a href="/artifact/([^"]+)">', r.text)
    assert shown_ids == [e.artifact for e in expected]
    # One of the catalog's image classifiers answers this.
    assert expected[0].artifact in {A, "resnet-50", "convnext-base-224"}
    text = text_of(r.text)
    top = expected[0]
    assert top.capability and top.capability["title"] in text and top.capability["text"] in text
    assert f"score {top.score:.3f}" in text
    for name, value in top.components.items():
        assert f"{name} {value:.3f}" in text
    with_evidence = [e for e in expected if e.evidence]
    assert with_evidence, "no result carries evidence for this query"
    for e in with_evidence[0].evidence:
        assert e["query"] in text
        assert f"{e['sessions']} session" in text and f"{e['clicks']} click" in text
    # Every other result links to a comparison with the top one.
    for e in expected[1:]:
        assert html.escape(f"/compare?a={top.artifact}&b={e.artifact}") in r.text


def test_filters_narrow_the_results(client: TestClient) -> None:
    r = client.get(
        "/?" + urlencode({"q": "generate an image from text", "kind": "api", "open_weights": "no"})
    )
    assert r.status_code == 200
    kinds = re.findall(r'<span class="kind">([^<]+)</span>', r.text)
    assert kinds and set(kinds) == {"api"}
    assert '<option value="api" selected>' in r.text  # the form keeps the chosen filter


def test_alternatives_exclude_the_artifact(client: TestClient) -> None:
    r = client.get("/?" + urlencode({"alternatives_to": B}))
    assert r.status_code == 200
    assert "Alternatives to FLUX.1 [pro]" in text_of(r.text)
    ids = re.findall(r'<h3><a href="/artifact/([^"]+)">', r.text)
    assert ids and B not in ids
    missing = client.get("/?alternatives_to=no-such-artifact")
    assert missing.status_code == 404 and "no-such-artifact" in missing.text


@pytest.mark.parametrize(
    "params, status, words",
    [
        ({"q": ""}, 400, "query: is empty"),
        ({"q": "   "}, 400, "query: is empty"),
        ({"q": "x" * 2001}, 400, "the limit is 2000"),
        ({"q": "images", "kind": "spaceship"}, 400, "kind: unknown value 'spaceship'"),
        ({"q": "images", "modality": "smell"}, 400, "modality: unknown value 'smell'"),
        ({"q": "images", "open_weights": "maybe"}, 400, "open_weights: use yes or no"),
        ({"q": "images", "k": "0"}, 400, "k: give a whole number from 1 to 50"),
        ({"q": "images", "colour": "red"}, 400, "colour: unknown parameter"),
    ],
)
def test_bad_search_input_is_a_4xx_page_with_the_message(
    client: TestClient, params, status, words
) -> None:
    r = client.get("/?" + urlencode(params))
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert words in text_of(r.text)
    assert 'name="q"' in r.text  # the search box stays, to try again


def test_hostile_text_is_escaped(client: TestClient) -> None:
    hostile = "<script>alert(1)</script>"
    r = client.get("/?" + urlencode({"q": hostile}))
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    for path in (
        "/artifact/" + hostile,
        "/compare?" + urlencode({"a": hostile, "b": B}),
        "/?" + urlencode({"q": "x", "kind": hostile}),
    ):
        r = client.get(path)
        assert 400 <= r.status_code < 500, path
        assert "<script>" not in r.text and "&lt;script&gt;" in r.text, path


def test_stored_markup_is_escaped_on_every_page(client: TestClient) -> None:
    pages = {
        "search": client.get("/?" + urlencode({"q": "count the vowels in norse runes"})),
        "artifact": client.get("/artifact/xss-probe"),
        "compare": client.get("/compare?" + urlencode({"a": "xss-probe", "b": A})),
        "leaderboard": client.get("/leaderboard?kind=tool"),
        "alternatives": client.get("/?" + urlencode({"alternatives_to": "xss-probe"})),
    }
    for name, r in pages.items():
        assert r.status_code == 200, name
        # The comparison's schema.org block is our one script element: no '<' inside it.
        ld = re.findall(r'<script type="application/ld\+json">(.*?)</script>', r.text, flags=re.S)
        assert len(ld) == (name == "compare") and all("<" not in x for x in ld), name
        body = re.sub(r'<script type="application/ld\+json">.*?</script>', "", r.text, flags=re.S)
        assert "<img" not in body and "<script" not in body, name
        assert html.escape(f"Probe {HOSTILE}", quote=False) in r.text, name
    search = pages["search"].text
    assert 'href="/artifact/xss-probe"' in search.split('id="result-1"')[1][:400]
    assert html.escape(PROBE_QUERY, quote=False) in search  # the past query, as evidence
    assert html.escape(f"Rune vowels {HOSTILE}", quote=False) in pages["artifact"].text
    assert 'href="https://example.com/?q=&#34;&gt;&lt;script&gt;' in pages["artifact"].text
    assert html.escape(f"Unique {HOSTILE}", quote=False) in pages["compare"].text


def test_artifact_page(client: TestClient, services: Services) -> None:
    r = client.get(f"/artifact/{A}")
    assert r.status_code == 200
    row = projection.artifact_page(services.graph(), A)
    p = row["props"]
    text = text_of(r.text)
    assert p["name"] in text and "UnfragileRank" in text
    assert f"{p['unfragile_rank']} /100 [{p['rank_low']}–{p['rank_high']}]" in text
    for label in ("Adoption", "Quality", "Ecosystem", "Match graph", "Freshness"):
        assert label in text
    assert f"Capabilities ({len(row['capabilities'])})" in text
    for c in row["capabilities"]:
        assert c["title"] in text
    assert row["alternatives"], "ranking wrote no alternatives"
    section = r.text[r.text.index('<section class="alternatives"') :]
    shown = re.findall(r'<li><a href="/artifact/([^"]+)">', section)
    assert shown == [alt["id"] for alt in row["alternatives"]]  # in their stored order
    for alt in row["alternatives"]:
        assert f"match {alt['match']}/100" in section
    assert f'href="/?alternatives_to={A}"' in r.text and "Need something different?" in text
    assert 'href="https://huggingface.co/google/vit-base-patch16-224"' in r.text


def test_unknown_artifact_is_a_404_page(client: TestClient) -> None:
    r = client.get("/artifact/no-such-artifact")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "No artifact has the id 'no-such-artifact'" in text_of(r.text)


def test_compare_page_renders_build_page(client: TestClient, services: Services) -> None:
    page = compare.build_page(services.graph(), A, B)
    r = client.get("/compare?" + urlencode({"a": A, "b": B}))
    assert r.status_code == 200
    text = text_of(r.text)
    assert page["title"] in text
    said = short_verdict(services.graph(), page)
    assert "ViT-Base/16 ranks" in said or "vs ViT-Base/16 at" in said  # short, not the 48-char name
    # The verdict opens and closes the page.
    said_twice = re.findall(r'<p class="verdict" id="verdict(?:-end)?">([^<]+)</p>', r.text)
    assert [html.unescape(x) for x in said_twice] == [said, said]
    for row in page["table"]:
        assert f"{row['label']} {row['a']} {row['b']}" in text
    for key in ("a", "b"):
        caps = page["capabilities"][key]
        for c in caps["shown"]:
            assert c["title"] in text
        if caps["more"]:
            assert f"+{caps['more']} more capabilit" in text
    assert f'href="/?alternatives_to={A}"' in r.text and f'href="/?alternatives_to={B}"' in r.text


def test_compare_names_resolve_and_bad_pairs_are_4xx(client: TestClient) -> None:
    by_name = client.get("/compare?" + urlencode({"a": "flux.1 [PRO]", "b": A}))
    assert by_name.status_code == 200 and "FLUX.1 [pro] vs" in text_of(by_name.text)
    ambiguous = client.get("/compare?" + urlencode({"a": "flux", "b": A}))
    assert ambiguous.status_code == 400
    assert "'flux' is ambiguous" in text_of(ambiguous.text)
    listed = re.findall(r'<li><a href="/artifact/([^"]+)">', ambiguous.text)
    assert len(listed) >= 2 and all("flux" in x for x in listed)
    unknown = client.get("/compare?" + urlencode({"a": A, "b": "zz-nothing-zz"}))
    assert unknown.status_code == 404 and "zz-nothing-zz" in unknown.text
    same = client.get("/compare?" + urlencode({"a": A, "b": A}))
    assert same.status_code == 400 and "two different artifacts" in same.text
    half = client.get("/compare?" + urlencode({"a": A}))
    assert half.status_code == 400 and "B: give an artifact id or name" in text_of(half.text)
    form = client.get("/compare")
    assert form.status_code == 200 and 'name="a"' in form.text and 'name="b"' in form.text


def test_compare_and_leaderboard_leave_non_browser_requests_to_the_api(app: FastAPI) -> None:
    plain = TestClient(app)  # Accept: */*, as curl or a program sends
    for path in (f"/compare?a={A}&b={B}", "/leaderboard"):
        assert "· Unfragile</title>" in TestClient(app, headers=HTML).get(path).text
        r = plain.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        explicit = path + ("&" if "?" in path else "?") + "format=json"
        assert "· Unfragile</title>" not in plain.get(explicit, headers=HTML).text, path
    assert plain.get(f"/compare?a={A}&b={B}").json()["verdict"]["sentence"]


def test_leaderboard(client: TestClient, services: Services) -> None:
    graph = services.graph()
    r = client.get("/leaderboard")
    assert r.status_code == 200
    rows = projection.leaderboard(graph, None, web.LEADERBOARD_DEFAULT)
    ids = re.findall(r'<td><a href="/artifact/([^"]+)">', r.text)
    assert ids == [row["id"] for row in rows]
    top = rows[0]
    assert f"{top['unfragile_rank']} [{top['rank_low']}–{top['rank_high']}]" in text_of(r.text)
    models = client.get("/leaderboard?kind=model")
    assert models.status_code == 200
    kinds = re.findall(r'<span class="kind">([^<]+)</span>', models.text)
    assert kinds and set(kinds) == {"model"}
    bad = client.get("/leaderboard?kind=spaceship")
    assert bad.status_code == 400 and "kind: unknown value 'spaceship'" in text_of(bad.text)


def test_neo4j_down_is_a_503_page(loaded: Settings) -> None:
    # A real Bolt connection attempt to a loopback port where nothing listens.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        down = loaded.with_(neo4j_uri=f"bolt://127.0.0.1:{port}", neo4j_password="unused")
        client = TestClient(make_app(down), headers=HTML)
        for path in (
            "/?q=images",
            f"/artifact/{A}",
            f"/compare?a={A}&b={B}",
            "/leaderboard",
            f"/?alternatives_to={A}",
        ):
            r = client.get(path)
            assert r.status_code == 503, path
            assert "the graph is unreachable, try again shortly" in text_of(r.text).lower()
            assert r.headers.get("retry-after") == "5"
            assert "Traceback" not in r.text


# -- issue 15: pages for decisions (HTTP) ------------------------------------------------------

Q = "classify images"


def test_result_cards_and_paging(client: TestClient, app: FastAPI, services: Services) -> None:
    pool = services.search().search(Q, web.SEARCH_POOL)
    assert [e.artifact for e in pool[:10]] == [e.artifact for e in services.search().search(Q)]
    r = client.get("/?" + urlencode({"q": Q}))
    assert r.status_code == 200
    cards = r.text.split('<li class="result"')[1:]
    assert len(cards) == 10
    facts = services.graph().read(
        "UNWIND $ids AS id MATCH (a:Artifact {id: id}) RETURN a.id AS id, a.pricing AS pricing,"
        " a.license AS license, a.open_weights AS ow, a.unfragile_rank AS rank",
        ids=[e.artifact for e in pool[:10]],
    )
    by_id = {f["id"]: f for f in facts}
    for card, expected in zip(cards, pool[:10], strict=True):
        f = by_id[expected.artifact]
        text = text_of(card)
        assert f"{expected.match} /100 match" in text
        badges = re.findall(r'<p class="badges">(.*?)</p>', card, flags=re.S)[0]
        assert f'<span class="kind">{expected.kind}</span>' in badges
        assert f">{f['pricing']}</span>" in badges
        assert f["license"] is None or f">{f['license']}</span>" in badges
        assert ("open weights" if f["ow"] else "closed weights") in badges
        assert f"UnfragileRank {f['rank']}" in badges
        why = text_of(re.findall(r'<p class="why">(.*?)</p>', card, flags=re.S)[0])
        assert expected.capability and expected.capability["title"] in why
        # The raw numbers are there, folded away.
        assert '<details class="raw">' in card and f"score {expected.score:.3f}" in text
    total = len(pool)
    showing = "Showing 1–10 of " + str(total) + (" or more" if total >= web.SEARCH_POOL else "")
    assert showing in text_of(r.text)
    nxt = re.search(r'<a class="next" rel="next" href="([^"]+)"', r.text)
    assert nxt and "offset=10" in nxt.group(1)
    second = client.get(html.unescape(nxt.group(1)))
    ids = re.findall(r'<h3><a href="/artifact/([^"]+)">', second.text)
    assert ids == [e.artifact for e in pool[10:20]]
    assert "Showing 11–20 of" in text_of(second.text) and 'rel="prev"' in second.text
    # The API pages the same way.
    body = TestClient(app).get("/search", params={"q": Q, "k": 5, "offset": 5}).json()
    assert (body["offset"], body["total"]) == (5, total)
    assert [x["artifact"] for x in body["results"]] == [e.artifact for e in pool[5:10]]
    bad = client.get("/?" + urlencode({"q": Q, "offset": "-1"}))
    assert bad.status_code == 400 and "offset: give a whole number from 0" in text_of(bad.text)


def _ranked(graph: Graph, where: str = "", **params) -> list[str]:
    """Ranked artifact ids, best first, as a board orders them (an independent query)."""
    return [
        r["id"]
        for r in graph.read(
            "MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL " + where + " RETURN a.id AS id"
            " ORDER BY a.unfragile_rank DESC, a.match_graph DESC, a.id",
            **params,
        )
    ]


def test_leaderboard_boards_filters_sorting_and_paging(
    client: TestClient, app: FastAPI, services: Services
) -> None:
    graph = services.graph()
    models, everything = _ranked(graph, "AND a.kind = 'model'"), _ranked(graph)
    r = client.get("/leaderboard?kind=model&top=10&offset=10")
    assert r.status_code == 200
    ids = re.findall(r'<td><a href="/artifact/([^"]+)">', r.text)
    assert ids == models[10:20]
    count = text_of(r.text)
    assert (
        f"{len(models)} ranked artifacts on this board, of {len(everything)} ranked in all" in count
    )
    assert f"Showing 11–20 of {len(models)}" in count
    # Boards per task, and the pricing and open-weights filters.
    task = client.get("/leaderboard?task=text-to-image&top=1000")
    assert re.findall(r'<td><a href="/artifact/([^"]+)">', task.text) == _ranked(
        graph, "AND a.task = 'text-to-image'"
    )
    free_open = client.get("/leaderboard?pricing=free&open_weights=yes&top=1000")
    expected = _ranked(graph, "AND a.pricing = 'free' AND a.open_weights")
    assert expected and re.findall(r'<td><a href="/artifact/([^"]+)">', free_open.text) == expected
    # A column header sorts by it; again, the other way round.
    by_quality = client.get("/leaderboard?kind=model&sort=quality&top=1000")
    link = re.search(r'<a class="sort sorted desc" href="([^"]+)"', by_quality.text)
    assert link and "order=asc" in html.unescape(link.group(1))
    rows = re.findall(r"<tr>\s*<td class=\"num\">\d+</td>(.*?)</tr>", by_quality.text, flags=re.S)
    # Cells after the position: adoption, quality, ... ("unknown" sorts last).
    cells = [re.findall(r'<td class="num">([^<]*)', row)[1] for row in rows]
    values = [int(c) if c.isdigit() else -1 for c in cells]
    assert values == sorted(values, reverse=True) and len(values) == len(models)
    # The API: the filtered count in `total`, every ranked artifact in `ranked`.
    body = TestClient(app).get("/leaderboard", params={"kind": "model", "top": 5, "offset": 5})
    board = body.json()
    assert (board["total"], board["ranked"], board["offset"]) == (len(models), len(everything), 5)
    assert [row["id"] for row in board["rows"]] == models[5:10]
    assert TestClient(app).get("/leaderboard", params={"sort": "colour"}).status_code == 422
    bad = client.get("/leaderboard?task=no-such-task")
    assert bad.status_code == 404 and "no ranked artifact has the task" in text_of(bad.text)


def test_compare_chart_expands_and_previews(client: TestClient, services: Services) -> None:
    import json

    from unfragile.api.render import compare_html, compare_md
    from unfragile.engine.verdict import SUBSCORES, shown

    graph = services.graph()
    page = compare.build_page(graph, A, B)
    r = client.get("/compare?" + urlencode({"a": A, "b": B}))
    sides, also = Pages(graph).compare_extras([A, B])
    short = {key: sides[page[key]["id"]]["display_name"] for key in ("a", "b")}
    assert short["a"] == "ViT-Base/16" and short["b"] == "FLUX.1 [pro]"
    # Every sub-score of each side is a bar with its value written on it.
    bars = re.findall(
        r'<g class="bar" data-series="([^"]+)" data-score="(\w+)" data-value="(\d+)">.*?'
        r'<text class="bar-value"[^>]*>(\d+)</text></g>',
        r.text,
    )
    expected = [
        (html.escape(short[k], quote=True), s, str(shown(page[k]["scores"][s])))
        for s in SUBSCORES
        for k in ("a", "b")
        if page[k]["scores"][s] is not None
    ]
    assert [(series, score, value) for series, score, value, _ in bars] == expected
    assert all(value == written for _, _, value, written in bars)
    # "+N more" opens in place, with every other capability: each one once on the page.
    for key in ("a", "b"):
        caps = page["capabilities"][key]
        every = [c["title"] for c in services.catalog().artifact(page[key]["id"]).capabilities]
        block = r.text.split(f'<details class="more" id="more-{key}">')[1].split("</details>")[0]
        assert f"+{caps['more']} more capabilit" in block
        opened = [html.unescape(t) for t in re.findall(r"<li><strong>([^<]+)</strong>", block)]
        assert caps["more"] == len(opened) > 0
        assert sorted([c["title"] for c in caps["shown"]] + opened) == sorted(every)
    # A search box under "Need something different?", and who else the same searches found.
    different = r.text.split('id="different-heading"')[1]
    assert '<form method="get" action="/"' in different and 'name="q"' in different
    assert also, "no artifact shares a past search with these two"
    block = different.split('<ul class="also" id="also-compared">')[1].split("</ul>")[0]
    listed = re.findall(r'href="/compare\?a=[^&]+&amp;b=([^"]+)"', block)
    assert [o["id"] for o in also] == listed[::2]
    # The link preview: description, Open Graph and schema.org.
    meta = dict(re.findall(r'<meta (?:name|property)="([^"]+)" content="([^"]*)">', r.text))
    assert html.unescape(meta["description"]) == page["verdict"]["sentence"]
    assert html.unescape(meta["og:title"]) == page["title"] and meta["og:type"] == "website"
    ld_block = re.search(r'<script type="application/ld\+json">(.*?)</script>', r.text)
    assert ld_block
    ld = json.loads(ld_block.group(1))
    assert ld["@type"] == "WebPage" and ld["name"] == page["title"]
    assert [x["name"] for x in ld["about"]] == [page["a"]["name"], page["b"]["name"]]
    # One more capability is singular, in every format.
    page["capabilities"]["a"]["more"] = 1
    assert "+1 more capability\n" in compare_md(page) and "+1 more capability<" in compare_html(
        page
    )


def test_artifact_picture_chart_and_rank_history(
    client: TestClient, app: FastAPI, services: Services
) -> None:
    from datetime import UTC, datetime

    from unfragile.engine import rank_history
    from unfragile.engine.neighbourhood import neighbourhood

    graph = services.graph()
    picture = neighbourhood(graph, A)
    assert picture and picture.count("capability") and picture.count("alternative")
    assert picture.count("search"), "no past search led to the artifact"
    r = client.get(f"/artifact/{A}")
    svg = r.text.split('id="match-graph"')[1].split("</svg>")[0]
    drawn = re.findall(r'<g class="node node-(\w+)" data-kind="\1"><title>([^<]*)</title>', svg)
    assert [(kind, html.unescape(title)) for kind, title in drawn] == [
        (n["kind"], n["title"]) for n in picture.nodes
    ]
    assert len(re.findall(r'<line class="edge', svg)) == len(picture.edges)
    for alt in (n for n in picture.nodes if n["kind"] == "alternative"):
        assert f'<a href="/artifact/{alt["href"]}">' in svg
    chart = r.text.split('id="score-chart"')[1].split("</svg>")[0]
    assert len(re.findall(r'<g class="bar"', chart)) == 5
    # Rank history: each snapshot dated, the last `keep` kept, oldest first.
    days = [datetime(2026, 11, d, 8, tzinfo=UTC) for d in (1, 2, 3, 4)]
    for day in days:
        assert rank_history.snapshot(graph, day, keep=3) >= 67
    kept = rank_history.history(graph, A)
    assert [h["at"][:10] for h in kept] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    rank = graph.read("MATCH (a:Artifact {id: $id}) RETURN a.unfragile_rank AS r", id=A)[0]["r"]
    assert {h["rank"] for h in kept} == {rank}
    api = TestClient(app)
    body = api.get(f"/artifacts/{A}/history").json()
    assert body["artifact"] == A and body["snapshots"] == kept
    assert api.get("/artifacts/no-such-artifact/history").status_code == 404
    assert "rank_history" not in api.get(f"/artifacts/{A}").json()["record"]
    page = client.get(f"/artifact/{A}").text
    spark = page.split('id="rank-history"')[1].split("</svg>")[0]
    assert len(re.findall(r'<circle class="point"', spark)) == 3
    assert 'class="last-value"' in spark and f">{rank}</text>" in spark
    assert "3 rankings from 2026-11-02 to 2026-11-04" in text_of(page)


def test_sample_images_with_prompt_and_seed(
    client: TestClient, loaded: Settings, services: Services
) -> None:
    from PIL import Image

    folder = loaded.home / "images"
    folder.mkdir(parents=True, exist_ok=True)
    inside, outside = folder / "sample-probe.png", loaded.home.parent / "outside-probe.png"
    for path in (inside, outside):
        Image.new("RGB", (24, 16), (200, 40, 40)).save(path)
    store.upsert_images(
        services.graph(),
        [
            {
                "id": i,
                "artifact": B,
                "file": str(f),
                "source": str(f),
                "width": 24,
                "height": 16,
                "format": "PNG",
                "bytes": f.stat().st_size,
                "relation": "GENERATED_BY",
                "prompt": p,
                "seed": 7,
            }
            for i, f, p in (
                ("img-inside", inside, "a red <b>square</b>"),
                ("img-out", outside, "x"),
            )
        ],
    )
    page = client.get(f"/artifact/{B}").text
    figure = page.split('<section class="samples"')[1].split("</section>")[0]
    assert '<img src="/image/img-inside"' in figure
    assert "a red &lt;b&gt;square&lt;/b&gt;" in figure and "seed 7" in figure
    served = client.get("/image/img-inside")
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    assert served.content == inside.read_bytes()
    # Only files under the home are served, and only images the graph records.
    assert client.get("/image/img-out").status_code == 404
    assert client.get("/image/no-such-image").status_code == 404


def test_home_and_error_pages_speak_to_people(client: TestClient, services: Services) -> None:
    r = client.get("/")
    examples = re.findall(r'<li><a href="/\?q=([^"]+)">', r.text.split('id="examples"')[1])
    assert len(examples) == len(web.EXAMPLES) >= 3
    best = services.graph().read(
        "MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL WITH a"
        " ORDER BY a.unfragile_rank DESC, a.id WITH a.kind AS kind, collect(a.id)[..3] AS ids"
        " RETURN kind, ids"
    )
    grid = r.text.split('id="best-of-kinds"')[1]
    for row in best:
        group = grid.split(f'aria-label="Best {row["kind"]}"')[1].split("</section>")[0]
        assert re.findall(r'<a href="/artifact/([^"]+)">', group) == row["ids"]
    for path, status in (
        (f"/compare?a={A}&b=zz-nothing-zz", 404),
        ("/artifact/no-such-artifact", 404),
        ("/leaderboard?kind=spaceship", 400),
    ):
        page = client.get(path)
        assert page.status_code == status
        assert "`unfragile" not in page.text and "unfragile leaderboard" not in page.text, path
        assert 'href="/leaderboard"' in page.text and 'href="/"' in page.text


def test_openapi_describes_filters_with_examples(app: FastAPI) -> None:
    spec = TestClient(app).get("/openapi.json").json()
    for path in ("/search", "/leaderboard"):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        for name in ("kind", "pricing") + (("modality",) if path == "/search" else ()):
            assert params[name].get("description"), (path, name)
        assert "offset" in params
    schemas = spec["components"]["schemas"]
    for name in ("SearchResponse", "Leaderboard", "RankHistory"):
        assert schemas[name].get("examples"), name


# -- browser -----------------------------------------------------------------------------------


def _missing_browser(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"{reason}; CI must run the browser test (apt-get install chromium chromium-driver)"
        )
    pytest.skip(reason)


@pytest.fixture(scope="module")
def live_url(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port, in a thread."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing_browser("selenium is not installed (pip install -e '.[dev]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            _missing_browser(f"{path} is missing (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("UNFRAGILE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def screenshot(driver, folder: Path, name: str) -> Path:
    """The whole page: the window is stretched to the document's height first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 40, 6000)))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot for {name}"
    driver.set_window_size(1280, 900)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank image
    return path


def test_browser_search_then_compare(
    browser, live_url: str, shots: Path, services: Services
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(live_url + "/")
    assert browser.title.startswith("Need something different?")
    box = browser.find_element(By.ID, "q")
    assert box.get_attribute("placeholder")
    box.send_keys("classify images")
    Select(browser.find_element(By.ID, "modality")).select_by_value("image")
    browser.find_element(By.ID, "search-button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.result")))
    assert "q=classify+images" in browser.current_url and "modality=image" in browser.current_url

    expected = services.search().search("classify images", 10, Filters(modality="image"))
    results = browser.find_elements(By.CSS_SELECTOR, "li.result")
    assert [r.find_element(By.CSS_SELECTOR, "h3").text for r in results] == [
        e.name for e in expected
    ]
    # The evidence sits behind the "Why" toggle: open the first.
    browser.find_element(By.CSS_SELECTOR, "details.evidence summary").click()
    evidence = browser.find_elements(By.CSS_SELECTOR, "details.evidence[open] li")
    assert evidence and all(("session" in e.text and "click" in e.text) for e in evidence)
    assert (
        results[0]
        .find_element(By.CSS_SELECTOR, ".capability")
        .text.startswith(expected[0].capability["title"])
    )
    screenshot(browser, shots, "1-search")

    # The second result's "compare with the top result" link opens the comparison.
    results[1].find_element(By.CSS_SELECTOR, "a.compare-link").click()
    wait.until(ec.presence_of_element_located((By.ID, "verdict")))
    page = compare.build_page(services.graph(), expected[0].artifact, expected[1].artifact)
    assert browser.find_element(By.ID, "verdict").text == short_verdict(services.graph(), page)

    # And the page the issue names.
    browser.get(f"{live_url}/compare?a={A}&b={B}")
    page = compare.build_page(services.graph(), A, B)
    assert browser.find_element(By.TAG_NAME, "h1").text == page["title"]
    said = short_verdict(services.graph(), page)
    assert browser.find_element(By.ID, "verdict").text == said
    assert browser.find_element(By.ID, "verdict-end").text == said
    rows = browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == [
        row["label"] for row in page["table"]
    ]
    assert rows[0].text.endswith(f"{page['a']['kind']} {page['b']['kind']}")
    screenshot(browser, shots, "2-compare")


def test_browser_artifact_and_leaderboard(browser, live_url: str, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(live_url + "/leaderboard")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Leaderboard"
    Select(browser.find_element(By.ID, "kind")).select_by_value("model")
    browser.find_element(By.CSS_SELECTOR, ".inline-form button").click()
    wait.until(ec.title_contains("model"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-table tbody tr")
    assert rows and all(r.find_element(By.CSS_SELECTOR, ".kind").text == "model" for r in rows)
    screenshot(browser, shots, "3-leaderboard")

    first = rows[0].find_element(By.CSS_SELECTOR, "td a")
    name = first.text
    first.click()
    wait.until(ec.presence_of_element_located((By.ID, "rank-heading")))
    assert browser.find_element(By.TAG_NAME, "h1").text == name
    assert re.fullmatch(r"\d+/100 \[\d+–\d+\]", browser.find_element(By.CLASS_NAME, "rank").text)
    screenshot(browser, shots, "4-artifact")

    browser.find_element(By.ID, "something-different").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.result")))
    assert browser.find_element(By.ID, "results-heading").text == f"Alternatives to {name}"
    screenshot(browser, shots, "5-alternatives")


def test_browser_pages_obey_their_content_security_policy(browser, live_url: str) -> None:
    from selenium.webdriver.common.by import By

    # Record every violation a page reports, from before its first byte is parsed.
    added = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        },
    )

    def violations() -> list[str]:
        # Violation events are queued as tasks: let them run first.
        return browser.execute_async_script(
            "const done = arguments[0]; setTimeout(() => done(window.__csp), 300);"
        )

    try:
        for path in ("/", "/?q=images", f"/artifact/{A}", "/leaderboard", f"/compare?a={A}&b={B}"):
            browser.get(live_url + path)
            assert violations() == [], path
        # The stylesheet applies (a leaderboard bar is 4rem wide) and so do the bars' inline
        # widths, which the policy allows as attributes only.
        browser.get(live_url + "/leaderboard")
        bars = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-table .bar")
        rem = browser.execute_script(
            "return parseFloat(getComputedStyle(document.documentElement).fontSize)"
        )
        assert bars
        for bar in bars[:5]:
            assert bar.size["width"] == pytest.approx(4 * rem, abs=1)
            shown = float(re.search(r"(\d+) of 100", bar.get_attribute("aria-label")).group(1))
            inner = bar.find_element(By.TAG_NAME, "span").size["width"]
            assert inner / bar.size["width"] == pytest.approx(shown / 100, abs=0.03)
        # The check can fail: a script added to a page is refused and reported.
        browser.execute_script(
            "const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            "document.body.appendChild(s);"
        )
        assert any(v.startswith("script-src") for v in violations())
        assert browser.execute_script("return window.ran === undefined")
        # The docs page runs its own inline script (Swagger UI's bundle comes from the CDN,
        # which this machine may not reach: a network error, not a violation).
        browser.get(live_url + "/docs")
        assert violations() == []
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", added)


def test_browser_every_page_at_1280_and_390(
    browser, live_url: str, shots: Path, services: Services
) -> None:
    """What a person needs on each page, on a laptop and on a phone, and nothing wider than
    the screen (the nav fits from 360 px up)."""
    from selenium.webdriver.common.by import By

    from unfragile.engine.neighbourhood import neighbourhood
    from unfragile.engine.verdict import SUBSCORES

    picture = neighbourhood(services.graph(), A)
    assert picture is not None
    kinds = [n["kind"] for n in picture.nodes]
    pages = {
        "home": "/",
        "search": "/?" + urlencode({"q": Q}),
        "artifact": f"/artifact/{A}",
        "compare": f"/compare?a={A}&b={B}",
        "leaderboard": "/leaderboard?kind=model&top=10&offset=10",
        "error": "/artifact/no-such-artifact",
    }

    def fits(width: int) -> None:
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
        ), browser.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => "
            "e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 3)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        for a in browser.find_elements(By.CSS_SELECTOR, "header.site nav a"):
            assert a.is_displayed() and a.rect["x"] + a.rect["width"] <= width, a.text

    def visible(selector: str) -> list:
        found = [e for e in browser.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()]
        assert found, selector
        return found

    try:
        for width in (1280, 390):
            browser.set_window_size(width, 900)
            for name, path in pages.items():
                browser.get(live_url + path)
                fits(browser.execute_script("return window.innerWidth"))
                if name == "home":
                    assert len(visible("#examples a")) >= 3
                    groups = visible("#best-of-kinds .best-kind")
                    assert all(1 <= len(g.find_elements(By.TAG_NAME, "li")) <= 3 for g in groups)
                elif name == "search":
                    card = visible("li.result")[0]
                    assert re.fullmatch(
                        r"\d+/100 match", card.find_element(By.CLASS_NAME, "match-score").text
                    )
                    assert card.find_element(By.CSS_SELECTOR, ".badges .rank-badge").is_displayed()
                    assert card.find_element(By.CLASS_NAME, "why").text.endswith(".")
                    assert not card.find_element(By.CSS_SELECTOR, ".raw dl").is_displayed()
                    assert visible("#paging-top .showing")[0].text.startswith("Showing 1–10 of")
                elif name == "artifact":
                    nodes = visible("#match-graph g.node")
                    assert [n.get_attribute("data-kind") for n in nodes] == kinds
                    assert len(visible("#score-chart g.bar")) == 5
                    assert len(visible("#rank-history circle.point")) >= 2
                elif name == "compare":
                    top, end = visible("#verdict")[0].text, visible("#verdict-end")[0].text
                    assert top == end and "ranks higher" in top
                    bars = visible("#score-chart g.bar")
                    assert len(bars) == 2 * len(SUBSCORES)
                    for bar in bars:
                        written = bar.find_element(By.CLASS_NAME, "bar-value").text
                        assert written == bar.get_attribute("data-value")
                        assert bar.find_element(By.TAG_NAME, "rect").size["width"] >= 0
                    more = visible("details.more")[0]
                    hidden = more.find_elements(By.CSS_SELECTOR, "li")
                    assert hidden and not hidden[0].is_displayed()
                    more.find_element(By.TAG_NAME, "summary").click()
                    assert hidden[0].is_displayed()  # opened in place: same page
                    assert browser.current_url.endswith(pages["compare"])
                    assert visible("#compare-search input[name=q]")
                elif name == "leaderboard":
                    assert visible("#paging-top .showing")[0].text.startswith("Showing 11–20 of")
                    assert visible("#boards a[aria-current]")[0].text == "model"
                    assert len(visible("#leaderboard-table tbody tr")) == 10
                elif name == "error":
                    assert visible(".next-steps a")
                    assert "unfragile" not in browser.find_element(By.TAG_NAME, "main").text
                height = browser.execute_script("return document.documentElement.scrollHeight")
                browser.set_window_size(width, max(600, min(int(height) + 40, 6000)))
                assert browser.save_screenshot(str(shots / f"{width}-{name}.png"))
                browser.set_window_size(width, 900)
        # The narrowest phone the pages support: the nav still fits.
        browser.set_window_size(360, 800)
        browser.get(live_url + pages["compare"])
        fits(browser.execute_script("return window.innerWidth"))
    finally:
        browser.set_window_size(1280, 900)
