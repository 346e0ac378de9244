"""One query's candidate artifacts and their features, from the index hits and the evidence read.

The candidates are the owners of the nearest capabilities (dense), the artifacts whose name +
description embed nearest (description), BM25 matches of capability text and of artifact text
(lexical), the artifacts past neighbouring queries led to (evidence) and those the query names;
the features are those of engine/features.py. Filters and the excluded family are applied here,
so nothing left out is ever scored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from unfragile.engine.candidate_arrays import NONE, Arrays, combine, lexical_hits
from unfragile.engine.compared_with import compared_with
from unfragile.engine.errors import NotIndexed, UnknownAlternative
from unfragile.engine.features import (
    FEATURES,
    Vocabulary,
    evidence_probability,
    pairs,
    satisfaction,
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
# "X but for Y": Y is what is wanted, X only how; Y's words count this much against X's.
FOR_OTHER_NEED_WEIGHT = 2.0
# What "X but for Y" carries over from X when every X has it (engine/features.satisfaction).
CARRIED = ("local", "open", "free")
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

    @cached_property
    def compared(self) -> dict[str, frozenset[str]]:
        """What the records compare with what (engine/compared_with.py), on first use."""
        return compared_with(self.caps.values(), set(self.artifacts))

    @cached_property
    def arrays(self) -> Arrays:
        """The same tables as arrays of positions, built on first use (once a snapshot)."""
        return Arrays(
            self.artifacts, self.art_pos, self.art_lex_keys, self.caps, self.cap_keys, self.vocab
        )


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
    referred = [t.artifacts[a] for a in u.reference if a in t.artifacts]
    if u.for_other and referred:  # "like llama.cpp but for images": as X is (local, open...) too
        kept = [c for c in CARRIED if all(satisfaction(c, r) == 1.0 for r in referred)]
        u = replace(u, constraints=tuple(dict.fromkeys((*u.constraints, *kept))))
    return Plan(
        # A reference's name in other artifacts' texts is mostly "works with X": not a match.
        text=u.need if u.reference else u.matched,
        understood=u,
        telling=telling_words(u.need),
        pairs=pairs(u.need),
        exclude=frozenset(u.excluded),
        ref_kinds=frozenset(r["kind"] for r in referred),
        ref_tasks=frozenset(str(r["task"]) for r in referred if r.get("task") and not u.for_other),
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
        centre = centre + need * (FOR_OTHER_NEED_WEIGHT if u.for_other else 1.0)
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


class Lexical(NamedTuple):
    """A query's BM25 matches: capabilities and artifacts (indices into Tables' two BM25
    tables) with their scores, best first."""

    caps: np.ndarray
    cap_scores: np.ndarray
    docs: np.ndarray
    doc_scores: np.ndarray


def lexical_of(t: Tables, plan: Plan) -> Lexical:
    typed = plan.understood.text  # spelled-out abbreviations find no longer words
    return Lexical(
        *lexical_hits(t.cap_lexical, plan.text, LEXICAL_CANDIDATES, typed),
        *lexical_hits(t.art_lexical, plan.text, LEXICAL_CANDIDATES, typed),
    )


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
    lexical: Lexical,
    k: int = 10,
) -> Candidates:
    """The query's candidates with their feature rows; `allows` (None: no filter) says which
    artifacts the filters let through; `lexical`: its BM25 matches (lexical_of).
    Worked out over arrays of artifact positions (Tables.arrays), with the same sums in the
    same order as one candidate at a time."""
    x = t.arrays
    cap_pos = x.cap_pos.get
    # Dense: the owners of the nearest capabilities (one deleted since indexing is skipped).
    hit_caps = np.array([cap_pos(c, NONE) for c, _ in cap_hits], dtype=np.int64)
    hit_sims = np.array([s for _, s in cap_hits], dtype=np.float64)
    if (hit_caps < 0).any():
        hit_caps, hit_sims = hit_caps[hit_caps >= 0], hit_sims[hit_caps >= 0]
    dense_owner = x.cap_art[hit_caps]
    # An artifact none of whose capabilities came back is at most as close as the last hit.
    dense_floor = min((s for _, s in cap_hits), default=0.0)

    lex_caps, lex_scores, lex_docs, art_scores = lexical
    best = lex_scores[0] if len(lex_scores) else 0.0
    lex_owner = x.cap_art[lex_caps]
    art_best = art_scores[0] if len(art_scores) else 0.0
    lex_art = x.lex_art[lex_docs]

    evidence, closest, share, shown, ev_caps = _evidence(neighbours, edges, recency)
    named = dict(plan.understood.named)
    desc_at, desc_sims = x.known(desc or ())
    ev_at, ev_values = x.known(evidence.items())
    named_at, named_values = x.known(named.items())
    # What the records compare the artifacts referred to with ("alternative to X").
    vs = {b for a in plan.understood.reference for b in t.compared.get(a, ())}
    vs_at, _ = x.known((b, 1.0) for b in sorted(vs))

    # The candidates: every artifact some signal found, less those left out and filtered.
    cand = np.unique(
        np.concatenate((dense_owner, lex_owner, lex_art, ev_at, desc_at, named_at, vs_at))
    )
    if len(cand) and cand[0] < 0:
        cand = cand[1:]  # owners the snapshot lacks
    if plan.exclude:  # a provider's family may be thousands: test the candidates instead
        ids, out_ = x.ids, plan.exclude
        cand = cand[np.array([ids[i] not in out_ for i in cand.tolist()], dtype=bool)]
    if allows is not None:
        rows = x.rows
        cand = cand[np.array([allows(rows[i]) for i in cand.tolist()], dtype=bool)]
    cand = cand.astype(np.int64, copy=False)

    first = combine(cand, dense_owner, hit_sims, np.maximum, -np.inf)
    first = np.where(first == -np.inf, dense_floor, np.maximum(first, -1.0))
    d = combine(cand, desc_at, desc_sims, None, np.nan)
    if desc is not None and t.art_vectors is not None:
        # The nearest by description came from the index; the others' similarity is
        # worked out here, for them alone.
        rows_of = x.vec_row[cand]
        rest = np.isnan(d) & (rows_of >= 0)
        if rest.any():
            d[rest] = t.art_vectors[rows_of[rest]] @ vector
    d[np.isnan(d)] = 0.0
    lex = combine(cand, lex_owner, lex_scores / best / 2.0, np.maximum, 0.0)
    lex = lex + combine(cand, lex_art, art_scores / art_best / 2.0, None, 0.0)
    ev = combine(cand, ev_at, ev_values, None, 0.0)
    nm = combine(cand, named_at, named_values, None, 0.0)
    cheap = first + d + 0.2 * lex + 3.0 * ev + nm

    # Every feature is worked out for the PRESELECT best by the cheap signals (and whatever
    # the query names): the scorer re-orders those, as it was trained to (engine/training.py).
    chosen = x.cheap_top(cand, cheap, max(PRESELECT, k + PRESELECT_MARGIN))
    if len(named_at) or len(vs_at):
        chosen = np.union1d(chosen, np.flatnonzero(np.isin(cand, np.union1d(named_at, vs_at))))
    chosen = chosen[np.argsort(x.id_rank[cand[chosen]], kind="stable")]
    at = cand[chosen]
    ids = [x.ids[i] for i in at.tolist()]
    u, n = plan.understood, len(at)
    vocab_at = x.voc_pos[at]
    unmet = x.constraint(u, at)  # 0 when all are met, −1 when all are broken
    matrix = np.column_stack(
        (
            first[chosen],
            d[chosen],
            lex[chosen],
            ev[chosen],
            np.array([closest.get(a, 0.0) for a in ids], dtype=np.float64),
            np.array([share.get(a, 0.0) for a in ids], dtype=np.float64),
            nm[chosen],
            t.vocab.coverage_many(plan.telling, vocab_at),
            t.vocab.coverage_many(t.vocab.core(plan.telling), vocab_at),
            np.array(t.vocab.phrase_many(plan.pairs, ids), dtype=np.float64),
            unmet,
            x.kind_value(u, at),
            x.same(x.kind[at], x.kinds, plan.ref_kinds),
            x.same(x.task[at], x.tasks, plan.ref_tasks),
            np.full(n, 1.0 if u.reference else 0.0),
            x.prior[at],
            # A comparison counts as far as the artifact meets the constraints asked.
            np.array([1.0 if a in vs else 0.0 for a in ids], dtype=np.float64) * (1.0 + unmet),
        )
    ).reshape(n, len(FEATURES))
    out = Candidates(ids=ids, rows=matrix.tolist())
    out.best_capability = _best_capabilities(
        t, x, at, ids, (hit_caps, hit_sims), (lex_caps, 0.2 * lex_scores / best), ev_caps
    )
    out.shown = {a: _shown(shown[a]) for a in ids if a in shown}
    return out


def _best_capabilities(
    t: Tables,
    x: Arrays,
    at: np.ndarray,
    ids: list[str],
    dense: tuple[np.ndarray, np.ndarray],
    lex: tuple[np.ndarray, np.ndarray],
    ev_caps: list[tuple[str, str, float]],
) -> dict[str, str]:
    """Each kept artifact's best capability: the highest summed score (dense similarity,
    a fifth of BM25, three times the evidence) of those found, ties to the greater id; else
    its first capability. A capability counts for the owner it was last seen with."""
    keys, owner_of = x.cap_keys, x.cap_owner
    score: dict[str, float] = {}
    owner: dict[str, str] = {}
    for caps, values in (dense, lex):
        for c, v in zip(caps.tolist(), values.tolist(), strict=True):
            key = keys[c]
            owner[key] = owner_of[c]
            score[key] = score.get(key, 0.0) + v
    for key, artifact, v in ev_caps:
        owner[key] = artifact
        score[key] = score.get(key, 0.0) + v
    kept = set(ids)
    best_of: dict[str, tuple[float, str]] = {}
    for c, s in score.items():
        a = owner[c]
        if a in kept and (s, c) > best_of.get(a, (-math.inf, "")):
            best_of[a] = (s, c)
    out: dict[str, str] = {}
    for a in ids:
        if a in best_of:
            out[a] = best_of[a][1]
        elif t.caps_of.get(a):
            out[a] = t.caps_of[a][0]
    return out


def _evidence(
    neighbours: list[tuple[str, float]],
    edges: dict[str, list[dict[str, Any]]],
    recency: Callable[[str | None], float],
) -> tuple[
    dict[str, float],
    dict[str, float],
    dict[str, float],
    dict[str, list[tuple[float, str, dict[str, Any]]]],
    list[tuple[str, str, float]],
]:
    """Absolute evidence (noisy-OR of calibrated neighbours), the closest supporting past
    query, the relative share, the past queries behind each artifact (for _shown), and what
    each edge to a capability adds to it (capability, artifact, score)."""
    miss: dict[str, float] = {}
    closest: dict[str, float] = {}
    votes: dict[str, float] = {}
    shown: dict[str, list[tuple[float, str, dict[str, Any]]]] = {}
    caps: list[tuple[str, str, float]] = []
    for q, sim in neighbours:
        found = edges.get(q)
        if not found:
            continue
        p = evidence_probability(sim)
        for e in found:
            strength = (e["confidence"] or 0.0) * recency(e["last_seen"])
            if strength <= 0:
                continue
            owner = e["artifact"]
            miss[owner] = miss.get(owner, 1.0) * (1.0 - p * min(strength, 1.0))
            closest[owner] = max(closest.get(owner, 0.0), sim)
            votes[owner] = votes.get(owner, 0.0) + p * strength
            if e["is_capability"]:
                caps.append((e["target"], owner, 3.0 * p * strength))
            # What is shown is worked out later, for the candidates kept (_shown).
            shown.setdefault(owner, []).append((-round(sim, 4), e["text"] or q, e))
    total = sum(votes.values()) or 1.0
    evidence = {a: 1.0 - m for a, m in miss.items()}
    share = {a: v / total for a, v in votes.items()}
    return evidence, closest, share, shown, caps


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
        for neg_sim, text, e in sorted(rows, key=_closest_first)[:EVIDENCE_SHOWN]
    ]


_closest_first = itemgetter(0, 1)  # (−similarity, text): heapq.nsmallest's order, stably
