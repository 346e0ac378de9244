"""`unfragile train`: a LightGBM lambdarank model learnt from the match graph, cross-validated.

The labelled data is the search log itself: every past query that led somewhere is asked
again through the real engine, WITHOUT its own node as evidence (so it must be answered as a
new query would), and each candidate gets a graded label from the strongest MATCHED edge
between that query and the artifact — 3 for confidence ≥ 0.6 (clicks, long dwells, good
feedback), 2 for ≥ 0.3, 1 for any other match, 0 for a candidate never matched. Edges that
only sample events made (`source: sample`) are not labels: the bundled catalog's generated
searches would teach the ranker the generator's assumptions (on the catalog's dev queries a
model fitted to them did worse than the default weights: hit@1 0.79 against 0.85).

LightGBM's LGBMRanker (lambdarank, deterministic, one thread, fixed seed) then learns a
ranking over the features of engine/features.py. GroupKFold by query (scikit-learn) measures
nDCG@5 and hit@1 of the model and of the default weights on held-out queries; the model is
kept (ranker.txt + ranker.manifest.json beside the indexes) only when there are at least
MIN_QUERIES labelled queries and it does at least as well as the default weights in
cross-validation. Otherwise the manifest says why and search uses the default weights.
The same data (the same labels, features and library version) gives the same model: the
manifest's fingerprint says which data it was trained on, and `unfragile index` retrains
only when the fingerprint of the log has changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from unfragile.engine.features import FEATURES
from unfragile.engine.ranker import MANIFEST_FILE, MODEL_FILE, LinearScorer, read_manifest
from unfragile.engine.settings import Settings
from unfragile.graph import retrieval
from unfragile.graph.connection import Graph

MIN_QUERIES = 100
CANDIDATES = 50  # per query, from the default weights: what the model learns to re-order
FOLDS = 5
ASK_BATCH = 256
PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 20,
    "reg_lambda": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 1,
    "random_state": 0,
    "verbose": -1,
}


@dataclass
class TrainReport:
    status: str  # "trained", or "fallback" (default weights) with the reason
    reason: str
    queries: int
    rows: int
    fingerprint: str
    cv: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def grade(confidence: float) -> int:
    return 3 if confidence >= 0.6 else 2 if confidence >= 0.3 else 1


def labels(graph: Graph) -> dict[str, tuple[str, dict[str, int]]]:
    """Every past query with its text and the graded artifacts it led to."""
    out: dict[str, tuple[str, dict[str, int]]] = {}
    for r in retrieval.training_labels(graph):
        entry = out.setdefault(r["query"], (r["text"] or r["query"], {}))
        entry[1][r["artifact"]] = grade(r["confidence"])
    return out


def fingerprint(data: dict[str, tuple[str, dict[str, int]]]) -> str:
    import lightgbm

    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([FEATURES, lightgbm.__version__, PARAMS]).encode())
    for q in sorted(data):
        h.update(json.dumps([q, sorted(data[q][1].items())]).encode())
    return h.hexdigest()


def needs_training(settings: Settings, graph: Graph) -> bool:
    """Whether the log changed since the model (or the fallback) on disk was decided."""
    manifest = read_manifest(settings.index_dir)
    return manifest is None or manifest.get("fingerprint") != fingerprint(labels(graph))


def features(
    settings: Settings, graph: Graph, data: dict[str, tuple[str, dict[str, int]]]
) -> tuple[np.ndarray, np.ndarray, list[int], list[str]]:
    """Feature rows, labels and group sizes (queries in id order), asked with default weights."""
    from unfragile.engine.search import SearchEngine, Weights

    engine = SearchEngine(settings, graph, weights=Weights())
    ids = sorted(data)
    xs: list[list[float]] = []
    ys: list[int] = []
    groups: list[int] = []
    kept: list[str] = []
    for start in range(0, len(ids), ASK_BATCH):
        batch = ids[start : start + ASK_BATCH]
        answers = engine.ask_many([data[q][0] for q in batch], CANDIDATES, leave_out=batch)
        for q, answer in zip(batch, answers, strict=True):
            wanted = data[q][1]
            rows = [(r.components, wanted.get(r.artifact, 0)) for r in answer.results]
            if len(rows) < 2 or not any(y for _, y in rows):
                continue  # nothing to learn: its answers are not among the candidates
            xs.extend([c[f] for f in FEATURES] for c, _ in rows)
            ys.extend(y for _, y in rows)
            groups.append(len(rows))
            kept.append(q)
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.int32), groups, kept


def _metrics(scores: np.ndarray, y: np.ndarray, groups: list[int]) -> dict[str, float]:
    """Mean nDCG@5 (gain 2^grade − 1) and hit@1 over the groups."""
    ndcg = hit = 0.0
    at = 0
    for n in groups:
        s, g = scores[at : at + n], y[at : at + n]
        at += n
        order = np.lexsort((np.arange(n), -s))
        gains = (2.0 ** g[order][:5] - 1) / np.log2(np.arange(2, min(n, 5) + 2))
        ideal = (2.0 ** np.sort(g)[::-1][:5] - 1) / np.log2(np.arange(2, min(n, 5) + 2))
        ndcg += float(gains.sum() / ideal.sum()) if ideal.sum() else 0.0
        hit += float(g[order[0]] > 0)
    return {"ndcg@5": ndcg / max(len(groups), 1), "hit@1": hit / max(len(groups), 1)}


def _fit(x: np.ndarray, y: np.ndarray, groups: list[int]) -> Any:
    import lightgbm

    return lightgbm.LGBMRanker(**PARAMS).fit(x, y, group=groups)


def cross_validate(x: np.ndarray, y: np.ndarray, groups: list[int]) -> dict[str, float]:
    """Held-out nDCG@5 and hit@1 of the model and of the default weights, by query group."""
    from sklearn.model_selection import GroupKFold

    owner = np.repeat(np.arange(len(groups)), groups)
    starts = np.concatenate([[0], np.cumsum(groups)[:-1]])
    linear = LinearScorer.of()
    model_scores = np.zeros(len(y))
    for train_q, test_q in GroupKFold(n_splits=FOLDS).split(starts, groups=np.arange(len(groups))):
        train_rows = np.isin(owner, train_q)
        model = _fit(x[train_rows], y[train_rows], [groups[i] for i in train_q])
        test_rows = np.isin(owner, test_q)
        model_scores[test_rows] = model.predict(x[test_rows], num_threads=1)
    learned = _metrics(model_scores, y, groups)
    default = _metrics(linear.score(x), y, groups)
    return {
        "model_ndcg@5": round(learned["ndcg@5"], 4),
        "model_hit@1": round(learned["hit@1"], 4),
        "default_ndcg@5": round(default["ndcg@5"], 4),
        "default_hit@1": round(default["hit@1"], 4),
    }


def train(settings: Settings, graph: Graph, only_if_changed: bool = False) -> TrainReport | None:
    """Learn, cross-validate and save the ranker, or record why the default weights stay;
    with `only_if_changed`, None when the log is the one the manifest was decided on."""
    import lightgbm

    started = time.monotonic()
    data = labels(graph)
    fp = fingerprint(data)
    if only_if_changed and (read_manifest(settings.index_dir) or {}).get("fingerprint") == fp:
        return None
    report = TrainReport("fallback", "", len(data), 0, fp)
    if len(data) < MIN_QUERIES:
        report.reason = (
            f"{len(data)} labelled queries in the log; at least {MIN_QUERIES} are needed "
            "to learn a ranking: search uses the default weights"
        )
        return _finish(settings, report, None, started)
    x, y, groups, kept = features(settings, graph, data)
    report.queries, report.rows = len(groups), len(y)
    if len(groups) < MIN_QUERIES:
        report.reason = (
            f"only {len(groups)} labelled queries have their answers among the candidates; "
            f"at least {MIN_QUERIES} are needed: search uses the default weights"
        )
        return _finish(settings, report, None, started)
    report.cv = cross_validate(x, y, groups)
    if report.cv["model_ndcg@5"] < report.cv["default_ndcg@5"]:
        report.reason = (
            "in cross-validation the learned ranking did worse than the default weights "
            f"(nDCG@5 {report.cv['model_ndcg@5']:.3f} against "
            f"{report.cv['default_ndcg@5']:.3f}): search uses the default weights"
        )
        return _finish(settings, report, None, started)
    report.status = "trained"
    report.reason = f"LightGBM {lightgbm.__version__} lambdarank on {len(groups)} queries"
    return _finish(settings, report, _fit(x, y, groups), started)


def _finish(settings: Settings, report: TrainReport, model: Any, started: float) -> TrainReport:
    """Write the model (if any) and then the manifest, each whole or not at all."""
    import lightgbm

    report.seconds = round(time.monotonic() - started, 2)
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    model_path = index_dir / MODEL_FILE
    if model is not None:
        tmp = model_path.with_suffix(".tmp")
        model.booster_.save_model(str(tmp))
        os.replace(tmp, model_path)
    else:
        model_path.unlink(missing_ok=True)
    manifest = {
        **report.as_dict(),
        "features": list(FEATURES),
        "library": "lightgbm",
        "version": lightgbm.__version__,
        "params": PARAMS,
        "min_queries": MIN_QUERIES,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = index_dir / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, index_dir / MANIFEST_FILE)
    return report
