"""The whole ranking: every sub-score, UnfragileRank and its interval, and the write-back."""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from unfragile.engine.errors import RankError
from unfragile.engine.ranking import algorithms, alternatives
from unfragile.engine.ranking.config import ENGINES, SUBSCORES, RankConfig, load_config
from unfragile.engine.ranking.match_graph import (
    MatchGraph,
    build_match_graph,
    centrality,
    match_graph_scores,
    pagerank_engine,
    read_vote_codes,
)
from unfragile.engine.ranking.subscores import (
    adoption_signal_percentiles,
    benchmark_quality,
    checklist_quality,
    ecosystem_score,
    freshness_score,
    reference_day,
)
from unfragile.engine.settings import Settings
from unfragile.graph import projection
from unfragile.graph.connection import Graph


@dataclass
class ArtifactScore:
    id: str
    name: str
    kind: str
    adoption: float | None  # None: no popularity figure (unknown, left out of the rank)
    quality: float
    quality_source: str
    ecosystem: float
    match_graph: float
    freshness: float
    times_matched: int
    estimate: float
    unfragile_rank: int
    rank_low: int
    rank_high: int

    def props(self) -> dict[str, Any]:
        """The scores written on the Artifact node."""
        return {
            k: getattr(self, k)
            for k in self.__dataclass_fields__
            if k not in ("id", "name", "kind", "estimate")
        }


@dataclass
class RankReport:
    artifacts: int = 0
    matched_artifacts: int = 0
    evidence_rows: int = 0
    sessions: int = 0
    projection_nodes: int = 0
    projection_edges: int = 0
    alternative_edges: int = 0
    engine: str = "networkx"
    reference_date: str | None = None
    alternatives_source: str = ""
    alternatives_kept: int = 0  # artifacts whose ALTERNATIVE_TO edges were left as they were
    quality_sources: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Bootstrap replicates' PageRanks run side by side in a few threads; their session and edge
# weights are made a block at a time, within about this many bytes (9 replicates at 10M
# events): a block's sparse products read each vote once for all its replicates.
BOOTSTRAP_WORKERS = min(4, os.cpu_count() or 1)
BOOTSTRAP_BLOCK_BYTES = 256 << 20


def _round_rank(x: float) -> int:
    return int(math.floor(x + 0.5))


def bootstrap_replicates(
    mg: MatchGraph,
    pr: np.ndarray,
    n: int,
    config: RankConfig,
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    workers: int = BOOTSTRAP_WORKERS,
) -> list[np.ndarray]:
    """`score(PageRank, times matched)` of each replicate of the Poisson bootstrap over
    sessions (docs/ranking.md), in order; none without sessions or replicates.

    Replicate b's session weights are the b-th `rng.poisson(1.0, sessions)` of one seeded
    generator, drawn here a block of replicates at a time (a block call draws the same
    numbers in the same order); each block's edge weights and times matched are one sparse
    product (`MatchGraph.weights_many`); the PageRanks run in `workers` threads (the mat-vecs
    release the GIL), one replicate each. The results are those of one replicate after the
    other, to the bit (tests/test_ranking.py).
    """
    replicates = config.bootstrap_replicates
    if not mg.n_sessions or replicates <= 0:
        return []
    rng = np.random.default_rng(config.bootstrap_seed)
    pagerank = mg.pagerank_operator()
    # Replicates per block: the block's weights take 8 bytes per session and edge each.
    block = max(1, min(16, BOOTSTRAP_BLOCK_BYTES // (8 * (mg.n_sessions + len(mg.src)))))

    def replicate(w_b: np.ndarray, tm_b: np.ndarray) -> np.ndarray:
        pr_b = pagerank.run(w_b, config.pagerank_alpha, tol=1.0e-9, x0=pr)
        return score(pr_b, tm_b[:n])

    out: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        running: list[Future[np.ndarray]] = []
        for start in range(0, replicates, block):
            k = min(block, replicates - start)
            omega = np.empty((mg.n_sessions, k))
            omega[:] = rng.poisson(1.0, (k, mg.n_sessions)).T
            w, tm = mg.weights_many(omega), mg.times_matched_many(omega)
            del omega
            # The last block's PageRanks ran while this one was drawn and weighed; at most two
            # blocks' weights are held.
            out.extend(f.result() for f in running)
            running = [
                pool.submit(replicate, np.ascontiguousarray(w[:, b]), tm[:, b]) for b in range(k)
            ]
        out.extend(f.result() for f in running)
    return out


def compute(
    graph: Graph,
    config: RankConfig | None = None,
    engine: str = "networkx",
    step: Callable[[str], None] | None = None,
) -> tuple[list[ArtifactScore], RankReport]:
    """Every artifact's sub-scores, UnfragileRank and interval (nothing written; the
    alternatives are found by `rank`, after the scores are written: search reads them)."""
    if engine not in ENGINES:
        raise RankError("engine", f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
    config = config or load_config()
    step = step or (lambda _: None)
    report = RankReport(engine=engine)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = round(report.seconds.get(name, 0.0) + now - clock, 3)
        clock = now
        step(name)

    # The reads are server-bound and independent: run them side by side.
    with ThreadPoolExecutor(max_workers=5) as pool:
        arts_f = pool.submit(projection.artifacts, graph)
        owners_f = pool.submit(projection.capability_owners, graph)
        prefs_f = pool.submit(projection.preferences, graph)
        ev = read_vote_codes(graph)
        arts, owners, prefs = arts_f.result(), owners_f.result(), prefs_f.result()
    art_ids = [a["id"] for a in arts]
    lap("read")
    mg = build_match_graph(art_ids, owners, ev)
    report.evidence_rows, report.sessions = len(ev["z"]), mg.n_sessions
    report.projection_nodes, report.projection_edges = mg.n_nodes, len(mg.src)
    report.engine = pagerank_engine(mg, engine)  # what runs: large graphs leave networkx
    del ev
    lap("project")
    pr = centrality(mg, config.pagerank_alpha, engine, graph)
    lap("centrality")

    n = len(arts)
    times = mg.times_matched(n)
    report.artifacts, report.matched_artifacts = n, int((times > 0).sum())
    match = match_graph_scores(mg, pr, times, config.session_half)
    signal_pct = adoption_signal_percentiles(arts)
    share, half = config.times_matched_share, config.times_matched_half
    # No popularity figure: adoption is unknown (NaN here, null in the graph), not 0, and the
    # artifact's UnfragileRank weighs its other sub-scores (docs/ranking.md, "Adoption").
    base = np.array([p if p is not None else np.nan for p in signal_pct], dtype=np.float64)

    def adoption_of(tm: np.ndarray) -> np.ndarray:
        return 100.0 * ((1.0 - share) * base + share * tm / (tm + half))

    adoption = adoption_of(times)
    strengths = algorithms.bradley_terry({(w, lo): s for w, lo, s in prefs if s > 0})
    bench = benchmark_quality(arts)
    quality: list[float] = []
    sources: list[str] = []
    for a, bench_i in zip(arts, bench, strict=True):
        if a["id"] in strengths:
            pi = strengths[a["id"]]
            quality.append(100.0 * pi / (pi + 1.0))
            sources.append("preferences")
        elif bench_i is not None:
            quality.append(bench_i)
            sources.append("benchmarks")
        else:
            quality.append(checklist_quality(a))
            sources.append("checklist")
    report.quality_sources = dict(sorted(Counter(sources).items()))
    providers = Counter(a["provider"] for a in arts if a.get("provider"))
    ecosystem = [
        ecosystem_score(a, providers[a["provider"]] - 1 if a.get("provider") else 0) for a in arts
    ]
    ref = reference_day(arts, config)
    report.reference_date = ref.isoformat() if ref else None
    freshness = [freshness_score(a, ref, config.freshness_half_life_days) for a in arts]
    W = (
        np.array([[config.weights_for(a["kind"])[s] for s in SUBSCORES] for a in arts])
        if n
        else np.zeros((0, len(SUBSCORES)))
    )
    unknown = np.isnan(base)
    if unknown.any():  # the other weights, scaled back to a sum of 1
        W[unknown, 0] = 0.0
        total = W[unknown].sum(axis=1, keepdims=True)
        # A kind weighted on adoption alone has nothing left to weigh: its rank is 0.
        W[unknown] = np.divide(W[unknown], total, out=np.zeros_like(W[unknown]), where=total > 0)
    fixed = (
        W[:, 1] * np.array(quality) + W[:, 2] * np.array(ecosystem) + W[:, 4] * np.array(freshness)
        if n
        else np.zeros(0)
    )

    def rank_of(adopt: np.ndarray, mgs: np.ndarray) -> np.ndarray:
        return fixed + W[:, 0] * np.nan_to_num(adopt) + W[:, 3] * mgs

    estimate = rank_of(adoption, match)
    lap("subscores")

    def score(pr_b: np.ndarray, tm_b: np.ndarray) -> np.ndarray:
        return rank_of(adoption_of(tm_b), match_graph_scores(mg, pr_b, tm_b, config.session_half))

    replicates = bootstrap_replicates(mg, pr, n, config, score)
    lo_q, hi_q = (1.0 - config.interval) / 2.0, 1.0 - (1.0 - config.interval) / 2.0
    if replicates:
        reps = np.vstack(replicates)
        low = np.quantile(reps, lo_q, axis=0)
        high = np.quantile(reps, hi_q, axis=0)
    else:
        low = high = estimate
    lap("bootstrap")

    scores = []
    for i, a in enumerate(arts):
        r = _round_rank(float(estimate[i]))
        scores.append(
            ArtifactScore(
                id=a["id"],
                name=a["name"],
                kind=a["kind"],
                adoption=None if unknown[i] else round(float(adoption[i]), 2),
                quality=round(float(quality[i]), 2),
                quality_source=sources[i],
                ecosystem=round(float(ecosystem[i]), 2),
                match_graph=round(float(match[i]), 2),
                freshness=round(float(freshness[i]), 2),
                times_matched=int(times[i]),
                estimate=float(estimate[i]),
                unfragile_rank=r,
                rank_low=min(r, int(math.floor(min(low[i], estimate[i])))),
                rank_high=max(r, int(math.ceil(max(high[i], estimate[i])))),
            )
        )
    return scores, report


def rank(
    graph: Graph,
    config: RankConfig | None = None,
    engine: str = "networkx",
    settings: Settings | None = None,
    batch_size: int = 2500,
    show_progress: bool = True,
) -> RankReport:
    """Compute everything and write it back in UNWIND batches: the scores, then the
    ALTERNATIVE_TO edges, found by search (engine/ranking/alternatives.py) once the new scores
    are in the graph, so they are what `search --alternatives-to` answers right after."""
    from unfragile.engine.progress import progress

    config = config or load_config()
    stages = ["read", "project", "centrality", "subscores", "bootstrap", "write", "alternatives"]
    with progress(total=len(stages) + 1, desc="rank", enabled=show_progress, unit="step") as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        scores, report = compute(graph, config, engine, step)
        start = time.perf_counter()
        ids = [s.id for s in scores]
        props = [{**s.props(), "rank_reference_date": report.reference_date} for s in scores]
        columns = {p: [d[p] for d in props] for p in projection.SCORE_PROPERTIES}
        projection.write_scores(graph, ids, columns, batch_size)
        write_s = time.perf_counter() - start
        step("write")

        start = time.perf_counter()
        found = alternatives.find(settings, graph, ids, config.alternatives_top_n)
        report.alternatives_source = found.source
        report.alternatives_kept = len(found.kept)
        report.alternative_edges = sum(len(x) for x in found.lists.values())
        report.seconds["alternatives"] = round(time.perf_counter() - start, 3)
        step("alternatives")

        start = time.perf_counter()
        listed = [a for a in ids if a in found.lists]
        projection.write_alternatives(graph, listed, [found.lists[a] for a in listed], batch_size)
        report.seconds["write"] = round(write_s + time.perf_counter() - start, 3)
        bar.update(1)
    report.seconds["total"] = round(sum(report.seconds.values()), 3)
    return report
