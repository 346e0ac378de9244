"""Search quality on real data: the MetaTool tools and their labelled queries.

    python bench/search_quality.py                       # salt A, every dev query
    python bench/search_quality.py --salt B --json       # the second split, saved as JSON
    python bench/search_quality.py --limit 1000 --tune   # a subsample, plus the tuning sweep

What it does:

1. Reads `queries.csv` from the MetaTool folder (UNFRAGILE_METATOOL_DIR, else
   ../shared/metatool beside the repository) and splits its *distinct normalised query texts*
   50/50 into search logs and dev queries by blake2b(salt + text): a text is in exactly one
   half, so no dev query is ever answered by its own log entry. A dev query whose text carries
   two labels in the csv (4 texts do) counts as found when either label is.
2. Starts its own Neo4j in a fresh temporary UNFRAGILE_HOME (indexes under it too), unless
   NEO4J_URI is set, in which case it uses that (empty) server; the local server is stopped
   at the end, whatever happens.
3. Phase "cold": imports the 199 tools alone (engine.metatool.metatool_records without queries),
   indexes capabilities, artifacts (name + description) and the empty query index, then
   evaluates the dev queries with the real SearchEngine for: lexical only (BM25), dense only
   (capabilities), dense + lexical, dense + description + lexical (the default weights of
   those), and the full engine with its default weights and no logs (cold start; with no Query
   nodes and no UnfragileRank it scores like dense + description + lexical). A reference row:
   a plain dense retriever over the tools' own descriptions.
4. Phase "logs": imports the log half as match events (one session per csv row), indexes the
   queries incrementally, and evaluates the full engine with its default weights. A reference
   row: a similarity-weighted vote of the 10 nearest past queries.
5. Metrics per row: Recall@1, Recall@5 and MRR@10 (label = the csv's tool; an artifact's id is
   the tool name) and, as a side figure, the median time of one SearchEngine.search call with
   the query's embedding cached (FAISS, BM25, the Neo4j evidence read, fusion); single-query
   encoding time is reported once, separately.

`--tune` then sweeps the tunable constants of engine/search.py against the loaded graph: for
each evidence shape (NEIGHBOUR_QUERIES, NEIGHBOUR_SHARPNESS) the real engine is asked for every
candidate with every weight switched on, so each candidate's score components are known, and
the fusion weights (description, lexical, evidence) are then swept over them in numpy (the
default weights must reproduce the engine's own ranking, which is checked). It also reports
two fusion variants as comparisons: reciprocal-rank fusion, and evidence alone with dense as
a tie-break.

Targets (issue 4): full engine R@1 >= 0.86 and R@5 >= 0.96 with logs; R@1 >= 0.60 cold.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, command, machine, metatool_dir, say, throwaway_neo4j, workdir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from unfragile.engine import candidates, features, search  # noqa: E402
from unfragile.engine.features import FEATURES  # noqa: E402
from unfragile.engine.records import normalise_query  # noqa: E402
from unfragile.engine.search import SearchEngine, Weights  # noqa: E402
from unfragile.graph import retrieval  # noqa: E402

TARGETS = {"logs": {"r1": 0.86, "r5": 0.96}, "cold": {"r1": 0.60}}
K = 10  # results asked of the engine; MRR is cut at this depth
# Deepest candidate lists the tuning sweep may ask for (the engine asks for fewer).
MAX_CAPABILITIES = 500
MAX_NEIGHBOURS = 50


# -- data ----------------------------------------------------------------------------------


@dataclass
class Split:
    salt: str
    logs: dict[str, set[str]]  # normalised text -> tools
    dev: list[tuple[str, frozenset[str]]]  # (text as first written, tools)
    log_rows: int
    dev_rows: int


def in_logs(salt: str, norm: str, log_share: float = 0.5) -> bool:
    digest = hashlib.blake2b((salt + norm).encode(), digest_size=8).digest()
    if log_share == 0.5:
        return int.from_bytes(digest, "big") % 2 == 0
    return int.from_bytes(digest, "big") / 2.0**64 < log_share


def split_queries(path: Path, salt: str, log_share: float = 0.5) -> Split:
    texts: dict[str, tuple[str, set[str], int]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            norm = normalise_query(row["query"])
            if not norm:
                continue
            first, tools, n = texts.get(norm, (row["query"].strip(), set(), 0))
            tools.add(row["tool"])
            texts[norm] = (first, tools, n + 1)
    logs, dev, log_rows, dev_rows = {}, [], 0, 0
    for norm, (first, tools, n) in texts.items():
        if in_logs(salt, norm, log_share):
            logs[norm] = tools
            log_rows += n
        else:
            dev.append((first, frozenset(tools)))
            dev_rows += n
    assert not {normalise_query(t) for t, _ in dev} & set(logs)
    return Split(salt, logs, dev, log_rows, dev_rows)


def subsample(
    dev: list[tuple[str, frozenset[str]]], limit: int | None, salt: str
) -> list[tuple[str, frozenset[str]]]:
    """A deterministic subsample: the dev queries with the smallest hashes, in csv order."""
    if limit is None or limit >= len(dev):
        return dev

    def key(item: tuple[str, frozenset[str]]) -> bytes:
        return hashlib.blake2b(
            f"{salt}\x1fsample\x1f{normalise_query(item[0])}".encode(), digest_size=8
        ).digest()

    keep = set(sorted(range(len(dev)), key=lambda i: key(dev[i]))[:limit])
    return [d for i, d in enumerate(dev) if i in keep]


# -- metrics -------------------------------------------------------------------------------


def first_hit(ranking: list[str], labels: frozenset[str]) -> int | None:
    for i, a in enumerate(ranking, start=1):
        if a in labels:
            return i
    return None


def metrics(ranks: list[int | None] | np.ndarray, k: int = K) -> dict[str, float]:
    r = np.array([np.inf if x is None else x for x in ranks], dtype=float)
    return {
        "r1": float(np.mean(r <= 1)),
        "r5": float(np.mean(r <= 5)),
        "mrr10": float(np.mean(np.where(r <= k, 1.0 / r, 0.0))),
    }


@dataclass
class Row:
    phase: str
    name: str
    r1: float
    r5: float
    mrr10: float
    queries: int
    median_ms: float | None = None
    weights: dict[str, float] | None = None
    note: str = ""


# -- the engine, with embeddings cached ----------------------------------------------------


class CachedEncoder:
    """The engine's encoder with a memory: each text is embedded once per run."""

    def __init__(self, encoder: Any):
        self.encoder = encoder
        self.dim = encoder.dim
        self.cache: dict[str, np.ndarray] = {}

    def prime(self, texts: list[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for t, v in zip(missing, self.encoder.encode(missing), strict=True):
                self.cache[t] = v

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        self.prime(texts)
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)


def evaluate(
    engine: SearchEngine, dev: list[tuple[str, frozenset[str]]]
) -> tuple[dict[str, float], float, list[list[str]]]:
    """The real engine, one search call per query: metrics, median ms, top-K of each."""
    ranks, times, rankings = [], [], []
    for text, labels in dev:
        t0 = time.perf_counter()
        results = engine.search(text, k=K)
        times.append(time.perf_counter() - t0)
        ranking = [r.artifact for r in results]
        rankings.append(ranking)
        ranks.append(first_hit(ranking, labels))
    return metrics(ranks), 1000 * statistics.median(times), rankings


# -- replay: the engine's components, re-weighted in numpy ---------------------------------

PARTS = FEATURES  # every feature the default weights score


@dataclass(frozen=True)
class Shape:
    """The constants that decide candidates and components (not the weights)."""

    capabilities: int = search.CAPABILITY_CANDIDATES
    neighbours: int = search.NEIGHBOUR_QUERIES
    min_similarity: float = search.NEIGHBOUR_MIN_SIMILARITY
    midpoint: float = features.EVIDENCE_MIDPOINT


@dataclass
class Components:
    """Per dev query, every candidate the engine scored and its score components."""

    ids: np.ndarray  # [Q, M] artifact order (position in the sorted artifact ids), -1 = none
    parts: np.ndarray  # [Q, M, len(PARTS)]
    label: np.ndarray  # [Q, M] bool: the candidate is a correct tool

    def ranks(self, score: np.ndarray) -> np.ndarray:
        """Rank of the best-placed correct tool under `score` [Q, M] (engine's tie-break)."""
        score = np.where(self.ids >= 0, score, -np.inf)
        q, m = np.nonzero(self.label)
        mine = score[q, m][:, None]
        ahead = (score[q] > mine) | (
            (score[q] == mine) & (self.ids[q] < self.ids[q, m][:, None]) & (self.ids[q] >= 0)
        )
        rank = np.full(len(self.ids), np.inf)
        np.minimum.at(rank, q, ahead.sum(axis=1) + 1.0)
        return rank

    def linear(self, w: Weights) -> np.ndarray:
        return self.parts @ np.array([getattr(w, n) for n in PARTS])


class Replay:
    """The real engine asked for every candidate and its components (all weights on), so that
    fusion weights can be swept in numpy; evidence shapes are module constants, patched."""

    def __init__(
        self, engine: SearchEngine, dev: list[tuple[str, frozenset[str]]], artifact_ids: list[str]
    ):
        self.engine, self.dev = engine, dev
        self.order = {a: i for i, a in enumerate(sorted(artifact_ids))}

    @contextlib.contextmanager
    def patched(self, shape: Shape) -> Iterator[None]:
        names = {
            (search, "CAPABILITY_CANDIDATES"): shape.capabilities,
            (search, "NEIGHBOUR_QUERIES"): shape.neighbours,
            (search, "NEIGHBOUR_MIN_SIMILARITY"): shape.min_similarity,
            (features, "EVIDENCE_MIDPOINT"): shape.midpoint,
        }
        saved = {key: getattr(*key) for key in names}
        for (module, n), v in names.items():
            setattr(module, n, v)
        try:
            yield
        finally:
            for (module, n), v in saved.items():
                setattr(module, n, v)

    def components(self, shape: Shape) -> Components:
        saved = self.engine.weights
        self.engine.weights = Weights(1.0, 1.0, 1.0, 1.0, 1.0)
        texts = [t for t, _ in self.dev]
        answers: list[list[Any]] = []
        try:
            with self.patched(shape):
                for at in range(0, len(texts), 256):
                    answers += self.engine.search_many(texts[at : at + 256], k=len(self.order) + 1)
        finally:
            self.engine.weights = saved
        width = max(1, max(len(a) for a in answers))
        ids = np.full((len(answers), width), -1, dtype=np.int64)
        parts = np.zeros((len(answers), width, len(PARTS)))
        label = np.zeros((len(answers), width), dtype=bool)
        for i, (results, (_, labels)) in enumerate(zip(answers, self.dev, strict=True)):
            for j, r in enumerate(results):
                ids[i, j] = self.order[r.artifact]
                parts[i, j] = [r.components[n] for n in PARTS]
                label[i, j] = r.artifact in labels
        return Components(ids, parts, label)


# -- reference rows ------------------------------------------------------------------------


def description_scores(
    encoder: CachedEncoder, descriptions: dict[str, str], dev: list[tuple[str, frozenset[str]]]
) -> tuple[list[str], np.ndarray]:
    names = sorted(descriptions)
    tools = encoder.encode([descriptions[n] for n in names])
    queries = encoder.encode([t for t, _ in dev])
    return names, queries @ tools.T


def ranks_from_scores(
    names: list[str], scores: np.ndarray, dev: list[tuple[str, frozenset[str]]]
) -> list[int | None]:
    out = []
    for row, (_, labels) in zip(scores, dev, strict=True):
        order = sorted(range(len(names)), key=lambda i: (-row[i], names[i]))
        out.append(first_hit([names[i] for i in order[:K]], labels))
    return out


def vote_ranks(
    engine: SearchEngine,
    graph: Any,
    encoder: CachedEncoder,
    dev: list[tuple[str, frozenset[str]]],
    k: int = 10,
) -> list[int | None]:
    """A similarity-weighted vote of the k nearest past queries (reference, not the engine)."""
    hits = engine.queries.search(encoder.encode([t for t, _ in dev]), k)
    ids = sorted({q for row in hits for q, _ in row})
    edges: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 2000):
        for e in retrieval.evidence(graph, ids[start : start + 2000]):
            edges.setdefault(e["query"], []).append(e)
    out = []
    for row, (_, labels) in zip(hits, dev, strict=True):
        votes: dict[str, float] = {}
        for q, s in row:
            for e in edges.get(q, []):
                votes[e["artifact"]] = votes.get(e["artifact"], 0.0) + s
        ranking = sorted(votes, key=lambda a: (-votes[a], a))
        out.append(first_hit(ranking[:K], labels))
    return out


# -- tuning --------------------------------------------------------------------------------

DESCRIPTION = (0.0, 0.5, 1.0, 1.5)
LEXICAL = (0.0, 0.1, 0.2, 0.4)
EVIDENCE = (1.0, 2.0, 3.0, 4.0, 6.0)
NEIGHBOUR_GRID = (10, 20, 30)
MIN_SIMILARITY_GRID = (0.3,)
SHARPNESS_GRID = (5.0, 10.0, 20.0)


def rrf(columns: list[np.ndarray], valid: np.ndarray, k0: float = 60.0) -> np.ndarray:
    """Reciprocal-rank fusion of several score columns (a zero score contributes nothing)."""
    total = np.zeros(valid.shape)
    for col in columns:
        rank = (-np.where(valid, col, -np.inf)).argsort(axis=1).argsort(axis=1) + 1
        total += np.where(valid & (col > 0), 1.0 / (k0 + rank), 0.0)
    return total


def _m(ranks: np.ndarray) -> dict[str, float]:
    return {k: round(v, 4) for k, v in metrics(ranks).items()}


def tune(replay_cold: Replay, replay_logs: Replay, say: Callable[..., None]) -> dict[str, Any]:
    """Sweep evidence shapes through the engine and the weights in numpy."""
    out: dict[str, Any] = {"cold": [], "logs": [], "variants": []}
    comp = replay_cold.components(Shape())
    for desc, lex in itertools.product(DESCRIPTION, LEXICAL):
        m = _m(comp.ranks(comp.linear(Weights(1.0, lex, 0.0, 0.0, desc))))
        out["cold"].append({"description": desc, "lexical": lex, **m})
    shapes = [
        Shape(search.CAPABILITY_CANDIDATES, n, ms, sh)
        for n in NEIGHBOUR_GRID
        for ms in MIN_SIMILARITY_GRID
        for sh in SHARPNESS_GRID
    ]
    if Shape() not in shapes:
        shapes.append(Shape())
    kept = None
    for i, shape in enumerate(shapes, start=1):
        t0 = time.perf_counter()
        comp = replay_logs.components(shape)
        for desc, lex, ev in itertools.product(DESCRIPTION, LEXICAL, EVIDENCE):
            m = _m(comp.ranks(comp.linear(Weights(1.0, lex, ev, 0.0, desc))))
            out["logs"].append(
                {**asdict(shape), "description": desc, "lexical": lex, "evidence": ev, **m}
            )
        if shape == Shape():
            kept = comp
        say(f"  shape {i}/{len(shapes)} {shape} in {time.perf_counter() - t0:.1f}s")
    for phase, keys in (("cold", ("r1", "mrr10")), ("logs", ("mrr10", "r1"))):
        top = sorted(out[phase], key=lambda r: tuple(-r[k] for k in keys))[:10]
        out[f"{phase}_top"] = top
        say(f"  {phase}, best 10 by {'/'.join(keys)}:")
        for r in top:
            say(f"    {r}")
    valid = kept.ids >= 0
    cols = [
        kept.parts[..., PARTS.index(n)] for n in ("dense", "description", "lexical", "evidence")
    ]
    variants = {
        "engine as it is": kept.linear(Weights()),
        "reciprocal-rank fusion of dense, description, lexical, evidence": rrf(cols, valid),
        "evidence alone, dense as tie-break": cols[3] + 1e-3 * cols[0],
    }
    for name, score in variants.items():
        out["variants"].append({"variant": name, **_m(kept.ranks(score))})
        say(f"  variant {name}: {out['variants'][-1]}")
    return out


def _torch_threads() -> int | None:
    with contextlib.suppress(Exception):
        import torch

        return torch.get_num_threads()
    return None


def to_json(result: dict[str, Any]) -> str:
    """Indented JSON, with the tuning sweep's rows one per line (thousands of them)."""
    result = dict(result)
    tuning = result.pop("tuning", None)
    text = json.dumps(result, indent=1, default=str)
    if tuning is not None:
        parts = []
        for key, rows in tuning.items():
            body = ",\n".join("   " + json.dumps(r, default=str) for r in rows)
            parts.append(f"  {json.dumps(key)}: [\n{body}\n  ]")
        text = text[:-2] + ',\n "tuning": {\n' + ",\n".join(parts) + "\n }\n}"
    return text


def print_table(rows: list[Row], out: Callable[..., None]) -> None:
    out(f"{'phase':<5} {'configuration':<40} {'R@1':>6} {'R@5':>6} {'MRR@10':>7} {'ms/q':>6}  n")
    for r in rows:
        ms = "" if r.median_ms is None else f"{r.median_ms:.1f}"
        out(
            f"{r.phase:<5} {r.name:<40} {r.r1:>6.3f} {r.r5:>6.3f} {r.mrr10:>7.3f} {ms:>6}  "
            f"{r.queries}{'  ' + r.note if r.note else ''}"
        )


# -- the learned ranking -------------------------------------------------------------------


def learned_row(
    settings: Any, graph: Any, encoder: Any, dev: list, phase: str, timings: dict[str, Any]
) -> tuple[Row, dict[str, Any]]:
    """`unfragile train` on the loaded log, then the engine as search runs it (the learned
    model if training kept one, else the default weights)."""
    from unfragile.engine.training import train

    t1 = time.perf_counter()
    report = train(settings, graph)
    timings[f"{phase}_train_s"] = time.perf_counter() - t1
    say(f"  train: {report.status} — {report.reason}; cv {report.cv}")
    engine = SearchEngine(settings, graph, encoder=encoder)
    m, ms, _ = evaluate(engine, dev)
    say(f"  full engine ({engine.scorer.name}): {m} {ms:.1f} ms")
    name = "full engine, learned ranking (with logs)"
    if report.status != "trained":
        name = "full engine after train: default weights kept (with logs)"
    return Row(phase, name, **m, queries=len(dev), median_ms=ms, note=report.reason), {
        **report.as_dict()
    }


# -- main ----------------------------------------------------------------------------------


def run(
    args: argparse.Namespace, settings: Any, graph: Any, split: Split, dev: list
) -> tuple[list[Row], dict[str, Any], dict[str, float], dict[str, Any] | None]:
    """Import the tools, then the logs, and evaluate each configuration on the dev queries."""
    from unfragile.engine.indexer import Indexer
    from unfragile.engine.ingest import ingest
    from unfragile.engine.metatool import metatool_records
    from unfragile.graph import store
    from unfragile.indexing.text import TextEncoder

    folder = metatool_dir()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    tuning = None
    t0 = time.perf_counter()
    encoder = CachedEncoder(TextEncoder(settings.text_model))
    singles = [t for t, _ in dev[:20]]
    t1 = time.perf_counter()
    for t in singles:
        encoder.encoder.encode([t])
    timings["encode_single_ms"] = 1000 * (time.perf_counter() - t1) / max(1, len(singles))
    say(f"encoding {len(dev)} dev queries ...")
    t1 = time.perf_counter()
    encoder.prime([t for t, _ in dev])
    timings["encode_dev_s"] = time.perf_counter() - t1
    indexer = Indexer(settings, graph, text_encoder=encoder.encoder)  # one model, not two

    # -- cold ----------------------------------------------------------------------
    say("cold: importing the tools ...")
    t1 = time.perf_counter()
    tools = metatool_records(folder, with_queries=False, embed=encoder.encoder.encode)
    ingest(graph, records=tools, show_progress=False)
    for name in ("capabilities", "queries", "artifacts"):
        indexer.sync_text(name, show_progress=False)
    timings["cold_import_index_s"] = time.perf_counter() - t1
    artifact_ids = [r.data["id"] for r in tools]
    descriptions = {r.data["id"]: r.data["description"] for r in tools}
    stats = {"cold": store.stats(graph)}
    say(f"  {stats['cold']}")
    none = {"dense": 0.0, "lexical": 0.0, "evidence": 0.0, "prior": 0.0, "description": 0.0}
    configs = [
        ("lexical only", Weights(**{**none, "lexical": 1.0})),
        ("dense only (capabilities)", Weights(**{**none, "dense": 1.0})),
        (
            "dense + lexical",
            Weights(**{**none, "dense": search.W_DENSE, "lexical": search.W_LEXICAL}),
        ),
        (
            "dense + description + lexical",
            Weights(
                **{
                    **none,
                    "dense": search.W_DENSE,
                    "lexical": search.W_LEXICAL,
                    "description": search.W_DESCRIPTION,
                }
            ),
        ),
        ("full engine, cold start (no logs)", Weights()),
    ]
    for name, w in configs:
        engine = SearchEngine(settings, graph, encoder=encoder, weights=w)
        m, ms, _ = evaluate(engine, dev)
        rows.append(Row("cold", name, **m, queries=len(dev), median_ms=ms, weights=asdict(w)))
        say(f"  {name}: {m} {ms:.1f} ms")
    desc = description_scores(encoder, descriptions, dev)
    m = metrics(ranks_from_scores(*desc, dev))
    rows.append(
        Row(
            "ref",
            "dense over tool descriptions",
            **m,
            queries=len(dev),
            note="reference, not indexed by the engine",
        )
    )
    replay_cold = (
        Replay(SearchEngine(settings, graph, encoder=encoder), dev, artifact_ids)
        if args.tune
        else None
    )

    # -- logs ----------------------------------------------------------------------
    say(f"logs: importing {split.log_rows} log rows as match events and indexing them ...")
    t1 = time.perf_counter()
    records = metatool_records(
        folder,
        keep_query=lambda q: normalise_query(q) in split.logs,
        embed=encoder.encoder.encode,
    )
    ingest(graph, records=records, show_progress=False)
    for name in ("capabilities", "queries", "artifacts"):
        indexer.sync_text(name, show_progress=False)
    timings["logs_import_index_s"] = time.perf_counter() - t1
    stats["logs"] = store.stats(graph)
    say(f"  {stats['logs']}")
    engine = SearchEngine(settings, graph, encoder=encoder, weights=Weights())
    m, ms, rankings = evaluate(engine, dev)
    rows.append(
        Row(
            "logs",
            "full engine, default weights (with logs)",
            **m,
            queries=len(dev),
            median_ms=ms,
            weights=asdict(Weights()),
        )
    )
    say(f"  full engine, default weights: {m} {ms:.1f} ms")
    learned, trained = learned_row(settings, graph, encoder, dev, "logs", timings)
    rows.append(learned)
    timings["train"] = trained
    m = metrics(vote_ranks(engine, graph, encoder, dev))
    rows.append(
        Row(
            "ref",
            "vote of the 10 nearest past queries",
            **m,
            queries=len(dev),
            note="reference",
        )
    )
    if args.tune:
        replay = Replay(engine, dev, artifact_ids)
        kept = replay.components(Shape())
        # The sweep re-weights components: the default weights must reproduce the engine.
        mine = kept.ranks(kept.linear(engine.weights))
        agree = float(
            np.mean(
                np.where(mine <= K, mine, np.inf)  # the engine shows K
                == np.array(
                    [
                        np.inf if r is None else r
                        for r in (
                            first_hit(x, labels)
                            for x, (_, labels) in zip(rankings, dev, strict=True)
                        )
                    ]
                )
            )
        )
        timings["replay_agreement"] = agree
        say(f"  re-weighting reproduces the engine's rank of the label on {agree:.4f}")
        say("tuning ...")
        tuning = tune(replay_cold, replay, say)
    timings["total_s"] = time.perf_counter() - t0
    return rows, stats, timings, tuning


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--salt", default="A", help="salt of the logs/dev split (default A)")
    p.add_argument(
        "--log-share",
        type=float,
        default=0.5,
        help="share of the query texts that become search logs (default 0.5)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="evaluate a deterministic subsample of N dev queries (default all)",
    )
    p.add_argument(
        "--json",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="write the results as JSON (default bench/results/search_quality_<salt>.json)",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="also sweep the tunable constants against the loaded graph",
    )
    args = p.parse_args(argv)

    from unfragile.graph import store

    folder = metatool_dir()
    if not 0.0 < args.log_share < 1.0:
        p.error("--log-share must be between 0 and 1")
    split = split_queries(folder / "queries.csv", args.salt, args.log_share)
    dev = subsample(split.dev, args.limit, args.salt)
    say(
        f"split {args.salt!r}: {len(split.logs)} log texts ({split.log_rows} rows), "
        f"{len(split.dev)} dev texts ({split.dev_rows} rows); evaluating {len(dev)}"
    )
    # Indexes go to the temporary home even with NEO4J_URI; an external graph must be empty at
    # the start, and is emptied at the end.
    with (
        workdir("unfragile-quality-") as work,
        throwaway_neo4j(work / "home", external=True) as neo,
    ):
        external = neo.settings.external_neo4j
        if external and any(store.stats(neo.graph).values()):
            raise SystemExit(f"the graph at {neo.settings.neo4j_uri} is not empty")
        try:
            rows, stats, timings, tuning = run(args, neo.settings, neo.graph, split, dev)
        finally:
            if external:
                with contextlib.suppress(Exception):
                    store.delete_everything(neo.graph)

    constants = {
        n: getattr(module, n)
        for module, names in (
            (search, ("CAPABILITY_CANDIDATES", "NEIGHBOUR_QUERIES", "NEIGHBOUR_MIN_SIMILARITY")),
            (candidates, ("ARTIFACT_CANDIDATES", "LEXICAL_CANDIDATES")),
            (features, ("EVIDENCE_MIDPOINT", "EVIDENCE_SLOPE")),
        )
        for n in names
    }
    constants["DEFAULT_WEIGHTS"] = asdict(Weights())
    result = {
        "command": command(short=True),
        "machine": {**machine("torch"), "torch_threads": _torch_threads()},
        "salt": args.salt,
        "log_share": args.log_share,
        "split": {
            "log_texts": len(split.logs),
            "log_rows": split.log_rows,
            "dev_texts": len(split.dev),
            "dev_rows": split.dev_rows,
            "evaluated": len(dev),
        },
        "graph": stats,
        "constants": constants,
        "targets": TARGETS,
        "timings": timings,
        "rows": [asdict(r) for r in rows],
    }
    if tuning is not None:
        result["tuning"] = tuning
    print_table(rows, print)
    full = {r.phase: r for r in rows if r.name.startswith("full engine")}
    print(
        f"targets: with logs R@1 {full['logs'].r1:.3f} (>= 0.86), R@5 {full['logs'].r5:.3f} "
        f"(>= 0.96); cold R@1 {full['cold'].r1:.3f} (>= 0.60)"
    )
    print(
        f"ms/q: median SearchEngine.search with the query embedding cached; one query's "
        f"encoding adds ~{timings['encode_single_ms']:.0f} ms"
    )
    print(f"constants: {constants}")
    mi = result["machine"]
    print(
        f"machine: {mi.get('cpu', '?')}, {mi['nproc']} CPUs, load {mi.get('loadavg', '?')}, "
        f"Python {mi['python']}"
    )
    print(f"command: {result['command']}")
    if args.json is not None:
        share = "" if args.log_share == 0.5 else f"_logs{round(100 * args.log_share)}"
        path = Path(args.json) if args.json else RESULTS / f"search_quality_{args.salt}{share}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_json(result) + "\n")
        print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
