"""One query's answer from its candidates: scored, settled, explained, and whether any is good."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from unfragile.engine import query_words
from unfragile.engine.candidates import Lexical, Plan, collect
from unfragile.engine.features import FEATURES
from unfragile.engine.ranker import Scorer, match_scores, no_good_match, settle
from unfragile.engine.ranking.algorithms import exp_decay
from unfragile.engine.records import parse_time
from unfragile.engine.search_terms import Answer, Filters, Result
from unfragile.engine.snapshot import Snapshot

RECENCY_HALF_LIFE_DAYS = 180.0


def answer(
    snap: Snapshot,
    scorer: Scorer,
    plan: Plan,
    cap_hits: list[tuple[str, float]],
    neighbours: list[tuple[str, float]],
    edges: dict[str, list[dict[str, Any]]],
    desc: list[tuple[str, float]] | None,
    vector: np.ndarray,
    k: int,
    filters: Filters,
    lexical: Lexical,
) -> Answer:
    """The k best of the query's candidates (engine/candidates.py), scored by `scorer`, an
    artifact the query names first, each explained; no_good_match when the best is weak.
    `lexical`: its BM25 matches (candidates.lexical_of over `snap`'s tables)."""
    found = collect(
        snap.tables,
        plan,
        cap_hits,
        neighbours,
        edges,
        desc,
        vector,
        None if filters.none else filters.allows,
        lambda seen: recency(snap, seen),
        lexical,
        k,
    )
    matrix = np.asarray(found.rows, dtype=np.float64).reshape(len(found.rows), len(FEATURES))
    scores = scorer.score(matrix) if len(matrix) else np.zeros(0)
    order = sorted(range(len(found.ids)), key=lambda i: (-scores[i], found.ids[i]))
    named = dict(plan.understood.named)
    order = settle(order, match_scores(matrix), found.ids, snap.artifacts, plan.understood)[:k]
    match = match_scores(matrix[order]) if order else np.zeros(0, dtype=int)
    results = []
    for rank, i in enumerate(order):
        a = found.ids[i]
        info = snap.artifacts[a]
        cap = snap.caps.get(found.best_capability.get(a, ""))
        results.append(
            Result(
                artifact=a,
                name=info["name"],
                kind=info["kind"],
                score=round(float(scores[i]), 6),
                match=int(match[rank]),
                components={f: round(v, 6) for f, v in zip(FEATURES, found.rows[i], strict=True)},
                capability=None
                if cap is None
                else {"id": cap["id"], "title": cap["title"], "text": cap["text"]},
                evidence=found.shown.get(a, []),
                status=info.get("status") or "active",
            )
        )
    # Asked for a kind, only that kind can match well: a library is no MCP server. An
    # "agent" or a "framework" is a looser word: a library can be what was meant.
    kind = plan.understood.kind if plan.understood.kind in query_words.STRICT_KINDS else None
    best = max((r.match for r in results if kind is None or r.kind == kind), default=None)
    return Answer(
        query=plan.understood.text,
        understood=plan.understood,
        results=results,
        no_good_match=no_good_match(
            best, bool(named) and bool(results), like=bool(plan.understood.reference)
        ),
        scorer=scorer.name,
    )


def recency(snap: Snapshot, last_seen: str | None) -> float:
    """Evidence loses half its weight every half-life, counted back from the newest."""
    return 1.0 if not last_seen or snap.latest is None else _decayed(snap.latest, last_seen)


@lru_cache(maxsize=65536)  # evidence times repeat across searches: work each out once
def _decayed(latest: Any, last_seen: str) -> float:
    age = (latest - parse_time(last_seen)).total_seconds() / 86400.0
    return exp_decay(age, RECENCY_HALF_LIFE_DAYS)
