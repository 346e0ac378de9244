"""Honest numbers (issue 14, part 5) on the real Neo4j over the bundled catalog: illustrative
figures and sample evidence carry their labels on every page and in the API, pages say
"catalog as of", adoption is on one scale across kinds, and quality names its source."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlencode

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import CATALOG, index_graph
from tests.helpers import artifact, event, write_jsonl
from unfragile.api.app import create_app
from unfragile.api.config import ApiConfig
from unfragile.engine import ranking
from unfragile.engine.figures import benchmark_label, signal_label
from unfragile.engine.ingest import ingest
from unfragile.engine.ranking.subscores import (
    adoption_signal_percentiles,
    signal_logs,
    signal_offsets,
)
from unfragile.engine.verdict import decide

HTML = {"accept": "text/html"}
VIT, FLUX = "vit-base-patch16-224", "flux-1-pro"
SAMPLE_QUERY = "reconcile scanned supplier invoices against purchase orders"
REAL_QUERY = "match supplier invoices to purchase orders automatically"

# Two artifacts of our own beside the bundled catalog: one with measured figures and a reading
# day, one with none at all; and search events, sample and real, that lead to the first.
MEASURED = artifact(
    "honest-measured",
    name="Honest Invoice Matcher",
    kind="tool",
    signals={"stars": 1234},
    signals_as_of="2020-05-04",
    released="2020-01-01",
    capabilities=[
        {
            "title": "Invoice reconciliation",
            "text": "Reconciles scanned supplier invoices against purchase orders and flags "
            "mismatched amounts.",
        }
    ],
)
UNKNOWN = artifact("honest-unknown", name="Honest Figureless Server", kind="mcp-server")
del UNKNOWN["signals"]
EVENTS = [
    # One sample session matched both the artifact and its capability: one line, not two.
    event(SAMPLE_QUERY, "honest-measured", "hs-1", source="sample"),
    event(
        SAMPLE_QUERY,
        "honest-measured",
        "hs-1",
        "click",
        capability="honest-measured/invoice-reconciliation",
        source="sample",
    ),
    event(SAMPLE_QUERY, "honest-measured", "hs-2", source="sample"),
    event(REAL_QUERY, "honest-measured", "hr-1", source="api"),
    event(REAL_QUERY, "honest-measured", "hr-1", "click", source="api"),
]


@pytest.fixture(scope="module")
def loaded(settings, graph_session, encoder, tmp_path_factory, catalog_indexes):
    from unfragile.graph import store

    store.delete_everything(graph_session)
    ours = write_jsonl(
        tmp_path_factory.mktemp("honest") / "honest.jsonl", [MEASURED, UNKNOWN, *EVENTS]
    )
    ingest(graph_session, CATALOG, show_progress=False)
    ingest(graph_session, ours, show_progress=False)
    index_graph(graph_session, settings, encoder)
    ranking.rank(graph_session, ranking.load_config(env={}), settings=settings, show_progress=False)
    return settings


@pytest.fixture(scope="module")
def app(loaded):
    app = create_app(loaded, ApiConfig(allowed_hosts=("testserver",)), warm=False)
    yield app
    app.state.services.close()


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def text_of(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _props(graph, artifact_id: str) -> dict:
    return graph.read("MATCH (a:Artifact {id: $id}) RETURN properties(a) AS p", id=artifact_id)[0][
        "p"
    ]


def _newest_day(graph) -> str:
    """Worked out here from every artifact's properties, not through the engine's query."""
    days = [
        p[k]
        for r in graph.read("MATCH (a:Artifact) RETURN properties(a) AS p")
        for p in [r["p"]]
        for k in ("released", "updated", "signals_as_of")
        if p.get(k)
    ]
    return max(days)


# -- illustrative figures and their day ---------------------------------------------------------


def test_artifact_page_and_api_label_every_figure(client, graph_session) -> None:
    for artifact_id, illustrative in ((FLUX, True), ("honest-measured", False)):
        p = _props(graph_session, artifact_id)
        assert bool(p.get("signals_illustrative")) is illustrative
        text = text_of(client.get(f"/artifact/{artifact_id}", headers=HTML).text)
        day = f"as of {p['signals_as_of']}" if p.get("signals_as_of") else "date not recorded"
        label = f"(illustrative, {day})" if illustrative else f"({day})"
        for name in p["signal_names"]:
            value = p[f"signal_{name}"]
            assert f"{signal_label(name)} {value:,} {label}" in text, (artifact_id, name)
        if not illustrative:
            assert "illustrative" not in text
        body = client.get(f"/artifacts/{artifact_id}").json()
        assert body["signals"] == {n: p[f"signal_{n}"] for n in p["signal_names"]}
        assert body["signals_illustrative"] is illustrative
        assert body["signals_as_of"] == p.get("signals_as_of")
        assert body["catalog_as_of"] == _newest_day(graph_session)
    measured = client.get("/artifacts/honest-measured").json()
    assert measured["signals_as_of"] == "2020-05-04"
    assert "Stars 1,234 (as of 2020-05-04)" in text_of(
        client.get("/artifact/honest-measured", headers=HTML).text
    )


def test_compare_labels_figures_in_every_format(client, graph_session) -> None:
    page = client.get("/compare", params={"a": VIT, "b": FLUX, "format": "json"}).json()
    rows = {r["label"]: r for r in page["table"]}
    figures = rows["Popularity figures"]
    for side, cell in (("a", figures["a"]), ("b", figures["b"])):
        assert page[side]["signals_illustrative"] is True
        assert "(illustrative, " in cell, cell
        for name, value in page[side]["signals"].items():
            assert f"{signal_label(name)} {value:,}" in cell
    assert any("illustrative (not measured)" in n for n in page["notes"])
    assert page["catalog_as_of"] == _newest_day(graph_session)
    md = client.get("/compare", params={"a": VIT, "b": FLUX, "format": "md"}).text
    assert f"| Popularity figures | {figures['a']} | {figures['b']} |" in md
    assert f"Catalog as of {page['catalog_as_of']}." in md
    page_html = text_of(client.get("/compare", params={"a": VIT, "b": FLUX}, headers=HTML).text)
    assert f"Popularity figures {figures['a']} {figures['b']}" in page_html
    assert f"Catalog as of {page['catalog_as_of']}." in page_html
    for note in page["notes"]:
        assert note in page_html


def test_leaderboard_marks_illustrative_adoption_and_quality_sources(client, graph_session):
    board = client.get("/leaderboard", params={"top": 1000}).json()
    assert board["catalog_as_of"] == _newest_day(graph_session)
    by_id = {r["id"]: r for r in board["rows"]}
    assert by_id[FLUX]["signals_illustrative"] is True
    assert by_id["honest-measured"]["signals_illustrative"] is False
    assert by_id["honest-unknown"]["adoption"] is None
    page = client.get("/leaderboard", params={"top": 1000}, headers=HTML).text
    row = page[page.index(f'href="/artifact/{FLUX}"') :].split("</tr>")[0]
    assert 'title="from illustrative popularity figures, not measured">i</sup>' in row
    unknown = page[page.index('href="/artifact/honest-unknown"') :].split("</tr>")[0]
    assert "unknown" in text_of(unknown)
    assert "adoption from illustrative popularity figures (not measured)" in text_of(page)
    assert f"Catalog as of {board['catalog_as_of']}." in text_of(page)


# -- sample evidence ------------------------------------------------------------------------------


def test_search_evidence_says_when_it_is_sample_and_counts_what_it_lists(client) -> None:
    page = client.get("/?" + urlencode({"q": SAMPLE_QUERY}), headers=HTML).text
    start = page.index('<h3><a href="/artifact/honest-measured">')
    section = page[start : page.index('<p class="actions">', start)]
    text = text_of(section)
    # The sample query led to the artifact and to its capability: one line, counted once.
    lines = re.findall(r"<li><q>([^<]*)</q>", section)
    heading = re.search(r"Why: (\d+) past search", text)
    assert heading and int(heading.group(1)) == len(lines) == len(set(lines))
    assert lines.count(html.escape(SAMPLE_QUERY, quote=False)) == 1
    sample_line = section[section.index(f"<q>{SAMPLE_QUERY}</q>") :].split("</li>")[0]
    assert ">sample</span>" in sample_line and "artifact" in text_of(sample_line)
    assert "invoice-reconciliation" in text_of(sample_line)
    # The real (api) search is not labelled.
    if REAL_QUERY in text:
        real_line = section[section.index(f"<q>{REAL_QUERY}</q>") :].split("</li>")[0]
        assert "sample" not in text_of(real_line)
        assert "(1 of them sample events)" in text
    else:
        assert "(sample events)" in text
    # The API says it on every evidence row.
    body = client.get("/search", params={"q": SAMPLE_QUERY}).json()
    rows = next(r for r in body["results"] if r["artifact"] == "honest-measured")["evidence"]
    for row in rows:
        expected = row["sessions"] if row["query"] == SAMPLE_QUERY else 0
        assert row["sample_sessions"] == expected, row


def test_artifact_and_compare_pages_say_matches_are_sample_events(client) -> None:
    body = client.get("/artifacts/honest-measured").json()
    assert body["evidence"] == {"sessions": 3, "sample_sessions": 2}
    text = text_of(client.get("/artifact/honest-measured", headers=HTML).text)
    assert "(2 of 3 sessions are sample events)" in text
    page = client.get(
        "/compare", params={"a": "honest-measured", "b": FLUX, "format": "json"}
    ).json()
    rows = {r["label"]: r for r in page["table"]}
    assert rows["Times matched"]["a"].endswith("(2 of 3 sessions are sample events)")


# -- catalog as of ---------------------------------------------------------------------------


def test_pages_say_catalog_as_of(client, graph_session) -> None:
    day = _newest_day(graph_session)
    for path in ("/", "/?q=classify+images", f"/artifact/{VIT}", "/leaderboard"):
        assert f"Catalog as of {day}." in text_of(client.get(path, headers=HTML).text), path


# -- adoption on one scale ----------------------------------------------------------------------


def test_flux_pro_adoption_is_above_the_bottom_decile_of_models(client, graph_session) -> None:
    page = client.get("/compare", params={"a": VIT, "b": FLUX, "format": "json"}).json()
    flux = page["b"]["scores"]["adoption"]
    models = [
        r["adoption"]
        for r in graph_session.read(
            "MATCH (a:Artifact {kind: 'model'}) WHERE a.adoption IS NOT NULL "
            "RETURN a.adoption AS adoption"
        )
    ]
    assert flux > float(np.quantile(models, 0.10)), (flux, sorted(models)[:10])


def test_no_figure_is_unknown_and_left_out_of_the_rank(client, graph_session) -> None:
    p = _props(graph_session, "honest-unknown")
    assert "adoption" not in p  # null: unknown, not 0
    weights = ranking.load_config(env={}).weights_for("mcp-server")
    others = [s for s in ranking.SUBSCORES if s != "adoption"]
    expected = sum(weights[s] * p[s] for s in others) / sum(weights[s] for s in others)
    assert p["unfragile_rank"] == int(np.floor(expected + 0.5))
    text = text_of(client.get("/artifact/honest-unknown", headers=HTML).text)
    assert "Adoption unknown" in text and "no popularity figures recorded" in text


def test_people_counts_become_use_equivalents_fitted_on_artifacts_reporting_both() -> None:
    def art(**signals):
        return {"signal_names": list(signals), "signal_values": list(signals.values())}

    arts = [art(api_calls=10**9 - 1, users=10**6 - 1) for _ in range(3)]
    arts += [art(users=10**6 - 1), art(downloads=10**7 - 1), art(), art(stars=99)]
    logs_offsets = signal_offsets([signal_logs(a) for a in arts])
    assert logs_offsets["users"] == pytest.approx(3.0)  # a user is 10^3 API calls here
    assert logs_offsets["stars"] == pytest.approx(3.0)  # too few links: the pooled factor
    assert logs_offsets["downloads"] == logs_offsets["api_calls"] == 0.0
    pct = adoption_signal_percentiles(arts)
    assert pct[5] is None  # no figure: unknown
    # A million users alone stand where a billion calls and a million users do; ten million
    # downloads below them; 99 stars (≈ 10^5 uses) lowest.
    assert pct[3] == pct[0] > pct[4] > pct[6]


def test_a_sub_score_unknown_on_one_side_is_not_compared() -> None:
    a = {"unfragile_rank": 50, "adoption": None, "quality": 60, "ecosystem": 10}
    b = {"unfragile_rank": 40, "adoption": 30, "quality": 50, "ecosystem": 10}
    a.update(match_graph=0, freshness=0)
    b.update(match_graph=0, freshness=0)
    v = decide("A", a, "B", b)
    assert "adoption" not in v.a_leads + v.b_leads + v.ties


# -- quality names its source ---------------------------------------------------------------------


def test_quality_says_where_it_comes_from_and_compare_contrasts_shared_benchmarks(
    client, graph_session
) -> None:
    rows = graph_session.read(
        "MATCH (a:Artifact) RETURN a.id AS id, a.quality_source AS source, "
        "coalesce(a.benchmark_names, []) AS names ORDER BY id"
    )
    for r in rows[:: max(1, len(rows) // 25)]:
        basis = client.get(f"/artifacts/{r['id']}").json()["quality_basis"]
        if r["source"] == "benchmarks":
            assert basis == "benchmarks: " + ", ".join(benchmark_label(n) for n in r["names"])
        elif r["source"] == "checklist":
            assert basis == "record checklist"
        else:
            assert basis.startswith("preferences")
    benched = [r for r in rows if r["names"]]
    shared = next(
        (a, b)
        for a in benched
        for b in benched
        if a["id"] < b["id"] and set(a["names"]) & set(b["names"])
    )
    apart = next((a, b) for a in benched for b in benched if not set(a["names"]) & set(b["names"]))
    page = client.get(
        "/compare", params={"a": shared[0]["id"], "b": shared[1]["id"], "format": "json"}
    ).json()
    common = [n for n in shared[0]["names"] if n in shared[1]["names"]]
    assert page["benchmarks"]["common"] == common
    labels = [r["label"] for r in page["table"] if r["label"].startswith("Benchmark")]
    assert labels == [f"Benchmark {benchmark_label(n)}" for n in common]
    page = client.get(
        "/compare", params={"a": apart[0]["id"], "b": apart[1]["id"], "format": "json"}
    ).json()
    assert page["benchmarks"]["common"] == []
    assert [r["label"] for r in page["table"] if r["label"].startswith("Benchmark")] == [
        "Benchmarks in common"
    ]
    assert "They report no benchmark in common, so none is contrasted here." in page["notes"]
    quality = next(r for r in page["table"] if r["label"] == "Quality")
    for side in ("a", "b"):
        assert f"({page[side]['quality_basis']})" in quality[side]
    # A checklist and a benchmark number are not read as one scale: the page says so.
    checklist = next(r["id"] for r in rows if r["source"] == "checklist")
    mixed = client.get(
        "/compare", params={"a": checklist, "b": benched[0]["id"], "format": "json"}
    ).json()
    assert any("Quality comes from different sources" in n for n in mixed["notes"])
    md = client.get("/compare", params={"a": checklist, "b": benched[0]["id"], "format": "md"})
    assert "record checklist" in md.text and "benchmarks: " in md.text
    assert json.dumps(mixed)  # JSON-ready
