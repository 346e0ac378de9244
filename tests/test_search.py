"""Search against the real Neo4j and indexes: explanations, learning from events, filters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import event, write_jsonl
from unfragile.engine.errors import SearchError
from unfragile.engine.features import FEATURES
from unfragile.engine.ingest import ingest
from unfragile.engine.search import Filters, SearchEngine
from unfragile.graph import retrieval

QUESTIONS = (
    "speech to text",
    "generate images from text",
    "read files and search the web",
    "translate documents",
    "open source alternative to midjourney",
)


def engine_for(settings, graph, encoder) -> SearchEngine:
    return SearchEngine(settings, graph, encoder=encoder)


def test_results_explain_with_capabilities_and_evidence_from_the_graph(
    catalog, graph, settings, encoder
):
    results = engine_for(settings, graph, encoder).search(
        "open source alternative to midjourney", k=5
    )
    assert results, "no results"
    assert len({r.artifact for r in results}) == len(results)  # one result per artifact
    assert results == sorted(results, key=lambda r: -r.score)
    for r in results:
        assert r.capability is not None
        owner = graph.read(
            "MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c:Capability {id: $id}) RETURN a.id AS a",
            id=r.capability["id"],
        )
        assert owner == [{"a": r.artifact}]
        assert set(r.components) == set(FEATURES)  # every ranking feature, explained
        assert 0 <= r.match <= 100
        for e in r.evidence:
            rows = graph.read(
                "MATCH (q:Query)-[m:MATCHED]->(t) WHERE q.text = $q AND "
                "coalesce(t.artifact, t.id) = $a RETURN m.sessions AS s",
                q=e["query"],
                a=r.artifact,
            )
            assert rows and rows[0]["s"] == e["sessions"]
    assert any(r.evidence for r in results)


def test_new_events_move_the_target_up_after_index(catalog, graph, settings, encoder):
    query = "draw a logo for my bakery"
    before = [r.artifact for r in engine_for(settings, graph, encoder).search(query, k=20)]
    target = before[-1]  # the weakest of the twenty
    events = [
        event(query, target, f"user-{i}", kind) for i in range(6) for kind in ("match", "click")
    ]
    ingest(graph, write_jsonl(settings.home / "new-events.jsonl", events), show_progress=False)
    report = catalog.sync_text("queries", show_progress=False)
    assert report.added == 1 and report.updated == 0  # incremental: one new query
    after = [r.artifact for r in engine_for(settings, graph, encoder).search(query, k=20)]
    assert after.index(target) < before.index(target)
    assert after[0] == target


def test_a_long_lived_engine_follows_events_and_index_without_restart(
    catalog, graph, settings, encoder
):
    engine = engine_for(settings, graph, encoder)
    query = "sketch a floor plan from a photo"
    before = [r.artifact for r in engine.search(query, k=20)]
    target = before[-1]
    reads, evidence_reads = [], []
    original, original_evidence = graph.read, retrieval.evidence_and_stamp
    graph.read = lambda *a, **kw: reads.append(a[0]) or original(*a, **kw)
    retrieval.evidence_and_stamp = lambda *a: evidence_reads.append(a) or original_evidence(*a)
    try:
        engine.search(query, k=20)
        # nothing changed: the one evidence read (on a kept session) is all that reaches Neo4j
        assert (len(reads), len(evidence_reads)) == (0, 1)
        # "alternative to X": the searches that led to X come in that same one read
        engine.search("alternative to midjourney", k=20)
        assert (len(reads), len(evidence_reads)) == (0, 2)
        assert "midjourney" in evidence_reads[1][2]  # X was asked for, in the one read
    finally:
        del graph.read
        retrieval.evidence_and_stamp = original_evidence
    loaded = engine.reloads
    events = [
        event(query, target, f"fan-{i}", kind) for i in range(6) for kind in ("match", "click")
    ]
    ingest(graph, write_jsonl(settings.home / "more-events.jsonl", events), show_progress=False)
    catalog.sync_text("queries", show_progress=False)
    after = engine.search(query, k=20)  # the same engine, no restart
    assert engine.reloads > loaded
    assert after[0].artifact == target
    assert any(e["query"] == query for e in after[0].evidence)


def test_threads_share_one_engine(catalog_readonly, graph_session, settings, encoder):
    from concurrent.futures import ThreadPoolExecutor

    engine = engine_for(settings, graph_session, encoder)
    texts = list(QUESTIONS) * 4
    alone = [[r.artifact for r in engine.search(t, k=5)] for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda t: [r.artifact for r in engine.search(t, k=5)], texts))
    assert together == alone


def test_a_batch_answers_each_query_as_it_is_answered_alone(
    catalog_readonly, graph_session, settings, encoder
):
    """A batch finds the nearest artifacts by one matrix product (candidates.BATCH_PRODUCT
    queries and more), a single query through the index, and one capability search serves
    the batch, with room for what an "alternative to <a provider>" leaves out: the answers
    must be the same as alone."""
    engine = engine_for(settings, graph_session, encoder)
    texts = [
        *QUESTIONS,
        "vector database for embeddings",
        "gpt-4o",
        "text to speech that runs offline",
        "mcp server for postgres",
        "alternative to openai",
        "agent framework in python",
        "something like whisper but for music",
        "transcribe a podcast",
        "write code in my editor",
        "a chatbot for my website",
        "summarise long pdf reports",
        "detect objects in photos",
        "clone my voice",
    ]
    alone = [engine.ask(t, k=5) for t in texts]
    together = engine.ask_many(texts, k=5)
    assert [a.understood for a in together] == [a.understood for a in alone]
    assert [[(r.artifact, r.match) for r in a.results] for a in together] == [
        [(r.artifact, r.match) for r in a.results] for a in alone
    ]
    alone = [a.results for a in alone]
    together = [a.results for a in together]
    for a, b in zip(alone, together, strict=True):
        for x, y in zip(a, b, strict=True):
            assert x.components["description"] == pytest.approx(
                y.components["description"], abs=1e-5
            )


def test_bm25_ranks_by_rare_words():
    from unfragile.indexing.lexical import BM25

    index = BM25(
        [
            "speech to text for meetings",
            "text to image generation",
            "a text model",
            "speech synthesis from text",
        ]
    )
    hits = index.top("speech meetings", 10)
    assert [i for i, _ in hits] == [0, 3]
    assert hits[0][1] > hits[1][1] > 0
    assert index.top("nothing matches", 5) == []
    assert len(index.top("text", 2)) == 2


def test_bm25_finds_the_longer_words_a_query_word_begins():
    from unfragile.indexing.lexical import BM25

    index = BM25(
        [
            "read-only PostgreSQL queries",
            "a sqlite file",
            "detection and detectors of objects",
            "object detection",
            "chatterbox voices",
        ]
    )
    assert [i for i, _ in index.top("postgres", 5)] == [0]
    # A document counts the best of a word's forms once, not "detection" and "detectors"
    # added up.
    hits = dict(index.top("detect", 5))
    assert set(hits) == {2, 3}
    forms = [dict(index.top(w, 5)).get(2, 0.0) for w in ("detection", "detectors")]
    assert hits[2] == pytest.approx(max(forms)) and min(forms) > 0
    # Short words begin too many others to stand for them.
    assert index.top("chat", 5) == []
    # A word's merged forms are remembered: asked again, the same answer; and a word typed
    # as a spelled-out abbreviation (not in `typed`) still finds only itself.
    assert "detect" in index._merged
    assert index.top("detect", 5) == list(hits.items())
    assert index.top("detect", 5, typed="something else") == []


def test_one_session_cannot_outvote_many(catalog, graph, settings, encoder):
    query = "tool to transcribe meetings offline"
    spam = [
        event(query, "whisper-tiny", "bot", "click", time=f"2026-10-01T10:00:{i:02d}Z")
        for i in range(60)
    ]
    honest = [event(query, "whisper-large-v3", f"person-{i}", "click") for i in range(4)]
    ingest(graph, write_jsonl(settings.home / "votes.jsonl", spam + honest), show_progress=False)
    catalog.sync_text("queries", show_progress=False)
    results = engine_for(settings, graph, encoder).search(query, k=10)
    scores = {r.artifact: r.components["evidence"] for r in results}
    assert scores["whisper-large-v3"] > scores.get("whisper-tiny", 0.0)


def test_alternatives_exclude_the_artifact_and_its_family(
    catalog_readonly, graph_session, settings, encoder
):
    results = engine_for(settings, graph_session, encoder).alternatives("flux-1-pro", k=10)
    ids = [r.artifact for r in results]
    assert not {"flux-1-pro", "flux-1-dev", "flux-1-schnell"} & set(ids)
    # Other text-to-image generators come first (tests/test_alternatives.py: every surface).
    assert {"stable-diffusion-3.5-large", "stable-diffusion-xl-base-1.0", "midjourney-v6"} & set(
        ids[:3]
    )


@pytest.mark.parametrize(
    "filters",
    [
        Filters(kind="mcp-server"),
        Filters(open_weights=True),
        Filters(pricing="free"),
        Filters(modality="audio"),
        Filters(provider="OpenAI"),
    ],
)
def test_filters_hold(catalog_readonly, graph_session, settings, encoder, filters):
    results = engine_for(settings, graph_session, encoder).search(
        "read files and search the web", k=10, filters=filters
    )
    assert results
    ids = [r.artifact for r in results]
    rows = {
        r["id"]: r
        for r in graph_session.read(
            "UNWIND $ids AS id MATCH (a:Artifact {id: id}) RETURN a.id AS id, a.kind AS kind, "
            "a.open_weights AS open_weights, a.pricing AS pricing, a.modalities AS modalities, "
            "a.provider AS provider",
            ids=ids,
        )
    }
    assert all(filters.allows(rows[i]) for i in ids)


@pytest.mark.parametrize(
    "text,words", [("", "empty"), ("   ", "empty"), ("x" * 2001, "limit is 2000")]
)
def test_bad_queries(catalog_readonly, graph_session, settings, encoder, text, words):
    with pytest.raises(SearchError, match=words):
        engine_for(settings, graph_session, encoder).search(text)


def test_cli_search_errors_and_batch(catalog_readonly, cli, cli_here, tmp_path):
    unknown = cli("search", "anything", "--kind", "robot")
    assert unknown.returncode == 2 and "kind: unknown value 'robot'" in unknown.stderr
    provider = cli("search", "anything", "--provider", "Nobody Inc")
    assert provider.returncode == 2 and "unknown provider" in provider.stderr
    batch = tmp_path / "queries.txt"
    batch.write_bytes(
        b"speech to text\n\n"
        + b"\xff\xfe broken\n"
        + b"x" * 2001
        + b"\n"
        + b"generate images from text\n"
    )
    result = cli_here("search", "--batch", str(batch), "--top-k", "3")
    assert result.returncode == 2  # some lines failed, the rest were answered
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["speech to text", "generate images from text"]
    assert all(len(line["results"]) == 3 for line in lines)
    assert {"artifact", "score", "capability", "evidence"} <= set(lines[0]["results"][0])
    assert f"{batch}:3: not valid UTF-8" in result.stderr
    assert f"{batch}:4: query is 2001 characters long" in result.stderr
    # A real process: what a person types, end to end.
    single = cli("search", "speech to text", "--json", "--top-k", "2", check=True)
    assert len(json.loads(single.stdout)["results"]) == 2


def test_inactive_artifacts_go_below_active_ones_that_match_about_as_well():
    from unfragile.engine.ranker import STATUS_MARGIN, active_first

    ids = ["old", "new", "far", "named-old"]
    artifacts = {
        "old": {"status": "archived"},
        "new": {"status": "active"},
        "far": {"status": "active"},
        "named-old": {"status": "superseded"},
    }
    match = np.array([80, 80 - STATUS_MARGIN, 80 - STATUS_MARGIN - 1, 90])
    # The archived one passes below the active one within the margin, not the one past it.
    assert active_first([0, 1, 2], match, ids, artifacts, {}) == [1, 0, 2]
    # A far better inactive match stays first; one the query names is never moved.
    assert active_first([3, 1], match, ids, artifacts, {}) == [3, 1]
    match[3] = 70
    assert active_first([3, 1], match, ids, artifacts, {}) == [1, 3]
    assert active_first([3, 1], match, ids, artifacts, {"named-old": 1.0}) == [3, 1]


def test_a_result_that_hardly_matches_goes_below_the_ones_that_do():
    from unfragile.engine.ranker import WEAK_BELOW, weak_below

    (WEAK_MATCH, SOUND_MATCH), (WEAKER, WELL) = WEAK_BELOW
    # Scored order: a weak match lifted by a soft boost, a middling one, two sound ones, and
    # a weak one after the last sound one.
    match = np.array([WEAK_MATCH - 4, SOUND_MATCH - 5, SOUND_MATCH + 2, SOUND_MATCH, 3])
    assert weak_below([0, 1, 2, 3, 4], match, set()) == [1, 2, 3, 0, 4]
    # Named, it stays; with nothing sound after it, nothing moves.
    assert weak_below([0, 1, 2, 3, 4], match, {0}) == [0, 1, 2, 3, 4]
    assert weak_below([0, 1, 4], match, set()) == [0, 1, 4]
    # A poor match goes below a far better one too ("music generation api": LLM APIs with
    # the API asked for, above a music model without), and only below that one.
    match = np.array([WEAKER - 5, WELL + 10, WEAKER + 10])
    assert weak_below([0, 1, 2], match, set()) == [1, 0, 2]
    assert weak_below([0, 2], match, set()) == [0, 2]
    # Only where a soft boost was asked for: elsewhere the scorer's order stands.
    assert weak_below([0, 1, 2], match, set(), boosted=False) == [0, 1, 2]
