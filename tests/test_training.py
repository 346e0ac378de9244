"""`unfragile train` against the real Neo4j and indexes: the fallback to default weights on a
small log, and a LightGBM model learnt deterministically from a log large enough."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers import artifact, event, write_jsonl
from unfragile.engine import training
from unfragile.engine.indexer import Indexer
from unfragile.engine.ingest import ingest
from unfragile.engine.ranker import MANIFEST_FILE, MODEL_FILE, LinearScorer, load_scorer
from unfragile.engine.search import SearchEngine

TOPICS = [
    ("scribe", "Transcribes recorded speech and meetings into written text."),
    ("painter", "Generates pictures and illustrations from a written prompt."),
    ("linguist", "Translates documents between dozens of human languages."),
    ("digest", "Summarises long reports and papers into a few paragraphs."),
    ("lens", "Classifies photos into categories such as animals and vehicles."),
    ("scout", "Searches the web and returns pages with citations."),
    ("coder", "Writes and fixes Python code from a plain description."),
    ("composer", "Composes background music tracks in a chosen mood."),
    ("tracker", "Detects and follows objects across frames of a video."),
    ("ledger", "Answers questions about spreadsheets and makes charts."),
]
ASKED = {
    "scribe": "turn a recording into text",
    "painter": "make an illustration from a prompt",
    "linguist": "translate a document",
    "digest": "summarise a long report",
    "lens": "sort photos by what is in them",
    "scout": "find web pages with sources",
    "coder": "fix my python script",
    "composer": "make background music",
    "tracker": "follow a car across video frames",
    "ledger": "ask questions about a spreadsheet",
}
SUFFIXES = [
    "",
    "quickly",
    "for my team",
    "online",
    "in bulk",
    "with an api",
    "for free",
    "today",
    "at scale",
    "for a school project",
    "on a budget",
    "privately",
]


@pytest.fixture
def big_log(graph, settings, encoder, tmp_path):
    """Ten artifacts and 120 distinct past queries, each clicked through to its artifact and
    shown (not clicked) one other."""
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    arts = [
        artifact(
            f"{name}-tool",
            n_caps=1,
            capabilities=[{"title": name.title(), "text": text}],
            description=text,
        )
        for name, text in TOPICS
    ]
    events = []
    names = [n for n, _ in TOPICS]
    for i, (name, asked) in enumerate(ASKED.items()):
        for j, suffix in enumerate(SUFFIXES):
            q = f"{asked} {suffix}".strip()
            session = f"s-{i}-{j}"
            other = names[(i + j + 1) % len(names)]
            events += [
                event(q, f"{name}-tool", session, "match"),
                event(q, f"{name}-tool", session, "click"),
                event(q, f"{other}-tool", session, "match"),
            ]
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", arts), show_progress=False)
    ingest(graph, write_jsonl(tmp_path / "e.jsonl", events), show_progress=False)
    indexer = Indexer(settings, graph, text_encoder=encoder)
    for name in ("capabilities", "queries", "artifacts"):
        indexer.sync_text(name, show_progress=False)
    return len(ASKED) * len(SUFFIXES)


def test_a_small_log_keeps_the_default_weights_and_says_why(catalog, graph, settings, encoder):
    # Every bundled event is a sample (source: sample): none of them is a label.
    assert graph.read("MATCH ()-[m:MATCHED]->() RETURN count(m) AS n")[0]["n"] > 100
    assert training.labels(graph) == {}
    report = training.train(settings, graph)
    assert report.status == "fallback"
    assert "0 labelled queries" in report.reason and "default weights" in report.reason
    manifest = json.loads((settings.index_dir / MANIFEST_FILE).read_text())
    assert manifest["status"] == "fallback" and manifest["fingerprint"] == report.fingerprint
    assert not (settings.index_dir / MODEL_FILE).exists()
    assert isinstance(load_scorer(settings.index_dir), LinearScorer)
    assert SearchEngine(settings, graph, encoder=encoder).scorer.name == "default weights"
    assert not training.needs_training(settings, graph)
    assert training.train(settings, graph, only_if_changed=True) is None  # nothing to redo
    extra = [event("a brand new question", "whisper-tiny", "new-session", "click")]
    ingest(graph, write_jsonl(settings.home / "more.jsonl", extra), show_progress=False)
    assert training.needs_training(settings, graph)  # the log changed
    # A real event (no source given) is a label; the same search made by a sample is not.
    assert list(training.labels(graph)) == ["a brand new question"]
    sampled = [event("a sampled question", "whisper-tiny", "s-9", "click", source="sample")]
    ingest(graph, write_jsonl(settings.home / "sampled.jsonl", sampled), show_progress=False)
    assert list(training.labels(graph)) == ["a brand new question"]


def test_training_learns_from_the_log_deterministically(big_log, graph, settings, encoder):
    data = training.labels(graph)
    assert len(data) == big_log
    x, y, groups, kept = training.features(settings, graph, data)
    assert len(groups) == len(kept) > training.MIN_QUERIES
    assert 0 in y and y.max() >= 2  # graded: the clicked answer above the one only shown
    first = training._fit(x, y, groups).booster_.model_to_string()
    again = training._fit(x, y, groups).booster_.model_to_string()
    assert first == again  # same data, same model

    report = training.train(settings, graph)
    cv = report.cv
    assert set(cv) == {"model_ndcg@5", "model_hit@1", "default_ndcg@5", "default_hit@1"}
    assert 0.0 <= cv["model_ndcg@5"] <= 1.0 and 0.0 <= cv["default_ndcg@5"] <= 1.0
    manifest = json.loads((settings.index_dir / MANIFEST_FILE).read_text())
    assert manifest["features"] and manifest["library"] == "lightgbm"
    assert manifest["fingerprint"] == training.fingerprint(data)
    engine = SearchEngine(settings, graph, encoder=encoder)
    if cv["model_ndcg@5"] >= cv["default_ndcg@5"]:
        assert report.status == "trained"
        assert (settings.index_dir / MODEL_FILE).exists()
        assert engine.scorer.name.startswith("learned")
        saved = (settings.index_dir / MODEL_FILE).read_text()
        training.train(settings, graph)
        assert (settings.index_dir / MODEL_FILE).read_text() == saved
    else:
        assert report.status == "fallback" and "cross-validation" in report.reason
        assert engine.scorer.name == "default weights"
    answer = engine.ask("transcribe my recorded meeting into text", k=3)
    assert answer.results[0].artifact == "scribe-tool"
