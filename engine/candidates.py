"""One query's candidate artifacts and their features, from the index hits and the evidence read.

The candidates are the owners of the nearest capabilities (dense), the artifacts whose name +
description embed nearest (description), BM25 matches of capability text and of artifact text
(lexical), the artifacts past neighbouring queries led to (evidence) and those the query names;
the features are those of engine/features.py. Filters and the excluded family are applied here,
so nothing left out is ever scored.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from unfragile.engine.errors import NotIndexed, UnknownAlternative
from unfragile.engine.features import (
    Vocabulary,
    constraint_value,
    evidence_probability,
    kind_value,
    pairs,
    telling_words,
)
from unfragile.engine.intent import Understanding
from unfragile.engine.names import Names
from unfragile.indexing.lexical import BM25
from unfragile.indexing.vectors import VectorStore

ARTIFACT_CANDIDATES = 50
LEXICAL_CANDIDATES = 50
EVIDENCE_SHOWN = 3
PRESELECT = 40  # candidates whose features are all worked out (at least k + a margin)
PRESELECT_MARGIN = 10
# The artifacts referred to that describe the need (the best-named first): "alternative to
# Acme" may name a provider's hundreds of artifacts, all left out, but a handful tell what.
REFERENCES_USED = 5
BATCH_PRODUCT = 8  # queries from which the nearest artifacts come from one matrix product


@dataclass(frozen=True)
class Plan:
    """How one query is answered: the words matched, what was understood, what is left out."""

    text: str
    understood: Understanding
    telling: list[str]
    pairs: set[tuple[str, str]]
    exclude: frozenset[str] = frozenset()
    ref_kinds: frozenset[str] = frozenset()
    ref_tasks: frozenset[str] = frozenset()


@dataclass
class Candidates:
    """One query's candidates (ids), their feature rows, best capability and evidence shown."""

    ids: list[str] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)  # values in FEATURES order
    best_capability: dict[str, str] = field(default_factory=dict)
    shown: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Tables:
    """The parts of the search snapshot candidates are drawn from."""

    artifacts: dict[str, dict[str, Any]]
    art_keys: list[str]
    art_pos: dict[str, int]
    art_vectors: np.ndarray | None  # rows in art_keys order
    art_lex_keys: list[str]
    art_lexical: BM25
    caps: dict[str, dict[str, Any]]
    caps_of: dict[str, list[str]]
    cap_keys: list[str]
    cap_lexical: BM25
    vocab: Vocabulary


def plan_for(t: Tables, names: Names, u: Understanding, alternatives_to: str | None = None) -> Plan:
    """What to match and leave out; `alternatives_to` (an id) is one more artifact referred
    to, as "alternative to X" is."""
    if alternatives_to is not None:
        if alternatives_to not in t.artifacts:
            raise UnknownAlternative(alternatives_to)
        if alternatives_to not in u.reference:
            refs = (*u.reference, alternatives_to)
            u = replace(
                u,
                reference=refs,
                reference_name=u.reference_name or t.artifacts[alternatives_to]["name"],
                excluded=tuple(sorted(names.families(refs))),
            )
    return Plan(
        # A reference's name in other artifacts' texts is mostly "works with X": not a match.
        text=u.need if u.reference else u.matched,
        understood=u,
        telling=telling_words(u.need),
        pairs=pairs(u.need),
        exclude=frozenset(u.excluded),
        ref_kinds=frozenset(t.artifacts[a]["kind"] for a in u.reference if a in t.artifacts),
        ref_tasks=frozenset(
            str(t.artifacts[a]["task"])
            for a in u.reference
            if a in t.artifacts and t.artifacts[a].get("task")
        ),
    )


def query_vector(
    t: Tables,
    store: VectorStore | None,
    plan: Plan,
    encoded: dict[str, np.ndarray],
    described: Callable[[str], np.ndarray | None] = lambda a: None,
) -> np.ndarray:
    """The query's vector: its words, or for a reference the centre of the referred
    artifacts' capabilities and of their name + description (`described`: what it is, so
    GPT-4o's voice features do not make it a speech model), blended with the remaining
    words when there are any."""
    u = plan.understood
    if not u.reference:
        return encoded[u.matched]
    need = encoded.get(u.need) if u.need else None
    used = u.reference[:REFERENCES_USED]
    caps = [c for a in used for c in t.caps_of.get(a, ())]
    found = [] if store is None else [store.vector(c) for c in caps]
    stored = [v for v in found if v is not None]
    if not stored:
        if need is None:
            raise NotIndexed(f"{u.reference[0]!r} is not indexed yet: run `unfragile index`")
        return need
    centre = np.mean(stored, axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-9)
    whole = [v for v in (described(a) for a in used) if v is not None]
    if whole:
        centre = centre + np.mean(whole, axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
    if need is not None:
        centre = centre + need
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
    return np.asarray(centre, dtype=np.float32)


def nearest_described(
    store: VectorStore | None,
    rows: np.ndarray | None,
    keys: list[str],
    vectors: np.ndarray,
) -> list[list[tuple[str, float]]] | list[None]:
    """Each query's ARTIFACT_CANDIDATES nearest artifacts by name + description (`rows`: the
    artifact vectors held in memory, in `keys` order). One query asks the index; a batch
    multiplies with the rows instead, one matrix product for all: FAISS's exact search keeps
    a top-k heap per query, and at 10k artifacts took about four times as long for 64 queries
    (BENCHMARKS.md, search latency session 9)."""
    if store is None or rows is None:
        return [None] * len(vectors)
    if len(vectors) < BATCH_PRODUCT:
        return store.search(vectors, ARTIFACT_CANDIDATES)
    sims = vectors @ rows.T
    n = min(ARTIFACT_CANDIDATES, sims.shape[1])
    top = np.argpartition(-sims, n - 1, axis=1)[:, :n]
    out = []
    for row, idx in zip(sims, top, strict=True):
        order = idx[np.argsort(-row[idx], kind="stable")]
        out.append([(keys[i], float(row[i])) for i in order.tolist()])
    return out


def collect(
    t: Tables,
    plan: Plan,
    cap_hits: list[tuple[str, float]],
    neighbours: list[tuple[str, float]],
    edges: dict[str, list[dict[str, Any]]],
    desc: list[tuple[str, float]] | None,
    vector: np.ndarray,
    allows: Callable[[dict[str, Any]], bool] | None,
    recency: Callable[[str | None], float],
    k: int = 10,
) -> Candidates:
    """The query's candidates with their feature rows; `allows` (None: no filter) says which
    artifacts the filters let through."""
    cap_owner: dict[str, str] = {}
    dense: dict[str, float] = {}
    cap_score: dict[str, float] = {}
    for cap_id, sim in cap_hits:
        row = t.caps.get(cap_id)
        if row is None:
            continue  # indexed but deleted since: `unfragile index` will drop it
        owner = cap_owner[cap_id] = row["artifact"]
        cap_score[cap_id] = cap_score.get(cap_id, 0.0) + sim
        dense[owner] = max(dense.get(owner, -1.0), sim)
    # An artifact none of whose capabilities came back is at most as close as the last hit.
    dense_floor = min((s for _, s in cap_hits), default=0.0)

    # `desc`: the artifacts nearest by name + description (the index's top hits); the
    # other candidates' similarity is worked out below, for them alone.
    description: dict[str, float] = dict(desc or ())

    lex: dict[str, float] = {}
    hits = t.cap_lexical.top(plan.text, LEXICAL_CANDIDATES) if plan.text else []
    best = hits[0][1] if hits else 0.0
    for i, score in hits:
        cap_id = t.cap_keys[i]
        owner = cap_owner[cap_id] = t.caps[cap_id]["artifact"]
        lex[owner] = max(lex.get(owner, 0.0), score / best / 2.0)
        cap_score[cap_id] = cap_score.get(cap_id, 0.0) + 0.2 * score / best
    own = t.art_lexical.top(plan.text, LEXICAL_CANDIDATES) if plan.text else []
    best = own[0][1] if own else 0.0
    for i, score in own:
        a = t.art_lex_keys[i]
        lex[a] = lex.get(a, 0.0) + score / best / 2.0

    evidence, closest, share, shown = _evidence(neighbours, edges, recency, cap_score, cap_owner)
    named = dict(plan.understood.named)
    core = t.vocab.core(plan.telling)

    # Every feature is worked out for the PRESELECT best by the cheap signals (and whatever
    # the query names): the scorer re-orders those, as it was trained to (engine/training.py).
    pool = []
    found = (set(dense) | set(lex) | set(evidence) | set(description) | set(named)) - plan.exclude
    if desc is not None and t.art_vectors is not None:
        rest = [a for a in found if a not in description and a in t.art_pos]
        if rest:
            sims = t.art_vectors[[t.art_pos[a] for a in rest]] @ vector
            description.update(zip(rest, sims.tolist(), strict=True))
    # The cheap score of every candidate (a few hundred a query): locals, not attribute
    # look-ups, in this loop.
    artifacts, dense_get, lex_get, ev_get, named_get = (
        t.artifacts,
        dense.get,
        lex.get,
        evidence.get,
        named.get,
    )
    desc_get = description.get
    for a in found:
        info = artifacts.get(a)
        if info is None or (allows is not None and not allows(info)):
            continue
        d = desc_get(a, 0.0)
        first = dense_get(a, dense_floor)
        cheap = first + d + 0.2 * lex_get(a, 0.0) + 3.0 * ev_get(a, 0.0) + named_get(a, 0.0)
        pool.append((-cheap, a, info, first, d))
    keep = heapq.nsmallest(max(PRESELECT, k + PRESELECT_MARGIN), pool)
    chosen = {a for _, a, *_ in keep}
    keep += [p for p in pool if p[1] in named and p[1] not in chosen]
    referring = 1.0 if plan.understood.reference else 0.0
    out = Candidates()
    for _, a, info, first, d in sorted(keep, key=lambda p: p[1]):
        out.ids.append(a)
        out.rows.append(
            [
                first,
                d,
                lex.get(a, 0.0),
                evidence.get(a, 0.0),
                closest.get(a, 0.0),
                share.get(a, 0.0),
                named.get(a, 0.0),
                t.vocab.coverage(plan.telling, a),
                t.vocab.coverage(core, a),
                t.vocab.phrase(plan.pairs, a),
                constraint_value(plan.understood, info),
                kind_value(plan.understood, info),
                1.0 if info["kind"] in plan.ref_kinds else 0.0,
                1.0 if info.get("task") in plan.ref_tasks else 0.0,
                referring,
                (info["rank"] or 0) / 100.0,
            ]
        )
    owners = set(out.ids)
    best_of: dict[str, tuple[float, str]] = {}
    for c, s in cap_score.items():
        owner = cap_owner.get(c)
        if owner in owners and (s, c) > best_of.get(owner, (-math.inf, "")):
            best_of[owner] = (s, c)
    for a in out.ids:
        if a in best_of:
            out.best_capability[a] = best_of[a][1]
        elif t.caps_of.get(a):
            out.best_capability[a] = t.caps_of[a][0]
    out.shown = {a: _shown(shown[a]) for a in out.ids if a in shown}
    return out


def _evidence(
    neighbours: list[tuple[str, float]],
    edges: dict[str, list[dict[str, Any]]],
    recency: Callable[[str | None], float],
    cap_score: dict[str, float],
    cap_owner: dict[str, str],
) -> tuple[
    dict[str, float],
    dict[str, float],
    dict[str, float],
    dict[str, list[tuple[float, str, dict[str, Any]]]],
]:
    """Absolute evidence (noisy-OR of calibrated neighbours), the closest supporting past
    query, the relative share, and the past queries behind each artifact (for _shown)."""
    miss: dict[str, float] = {}
    closest: dict[str, float] = {}
    votes: dict[str, float] = {}
    shown: dict[str, list[tuple[float, str, dict[str, Any]]]] = {}
    for q, sim in neighbours:
        p = evidence_probability(sim)
        for e in edges.get(q, ()):
            strength = (e["confidence"] or 0.0) * recency(e["last_seen"])
            if strength <= 0:
                continue
            owner = e["artifact"]
            miss[owner] = miss.get(owner, 1.0) * (1.0 - p * min(strength, 1.0))
            closest[owner] = max(closest.get(owner, 0.0), sim)
            votes[owner] = votes.get(owner, 0.0) + p * strength
            if e["is_capability"]:
                cap_owner[e["target"]] = owner
                cap_score[e["target"]] = cap_score.get(e["target"], 0.0) + 3.0 * p * strength
            # What is shown is worked out later, for the candidates kept (_shown).
            shown.setdefault(owner, []).append((-round(sim, 4), e["text"] or q, e))
    total = sum(votes.values()) or 1.0
    evidence = {a: 1.0 - m for a, m in miss.items()}
    share = {a: v / total for a, v in votes.items()}
    return evidence, closest, share, shown


def _shown(rows: list[tuple[float, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The EVIDENCE_SHOWN closest past queries behind one artifact, as results show them."""
    return [
        {
            "query": text,
            "similarity": -neg_sim,
            "sessions": e["sessions"],
            "clicks": e["clicks"],
            "count": e["count"],
            "confidence": round(e["confidence"] or 0.0, 4),
            "capability": e["target"] if e["is_capability"] else None,
        }
        for neg_sim, text, e in heapq.nsmallest(EVIDENCE_SHOWN, rows, key=lambda r: r[:2])
    ]
