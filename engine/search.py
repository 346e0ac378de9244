"""'Need something different?' search: capabilities, full text and match-graph evidence, fused.

A query is answered in three steps:

1. candidates — the nearest capabilities in the capability index (dense), full-text matches
   of capability text (lexical), and the nearest *past queries* in the query index followed
   along their MATCHED edges to capabilities and artifacts (evidence);
2. fusion — one score per artifact:
       score = W_DENSE · dense + W_LEXICAL · lexical + W_EVIDENCE · evidence + W_PRIOR · prior
   where dense is the best cosine of one of its capabilities, lexical the best full-text
   score of one of its capabilities relative to the best hit of the query, evidence the
   similarity-weighted share of the neighbouring past queries' match confidence that points
   at the artifact (with recency decay), and prior its UnfragileRank / 100 when ranked;
3. grouping and explanation — one result per artifact with its best capability, each score
   component, and the past queries behind the evidence.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from engine.records import KINDS, MODALITIES, PRICING, InputError
from engine.settings import MAX_QUERY_CHARS, Settings
from graph import retrieval
from graph.connection import Graph
from indexing.vectors import VectorStore

# Fusion weights and evidence shape, tuned by bench/search_quality.py --tune on the MetaTool
# split with salt A and checked on salt B (see BENCHMARKS.md, "Search quality"). The optimum
# is flat: lexical 0–0.15, evidence 1.5–3, sharpness 8–15 and any minimum similarity up to
# 0.3 are all within 0.005 MRR of it; lexical stays low because it costs cold-start R@1.
# W_PRIOR is untuned (MetaTool has no UnfragileRank).
W_DENSE = 1.0
W_LEXICAL = 0.05
W_EVIDENCE = 2.0
W_PRIOR = 0.05
CAPABILITY_CANDIDATES = 100
NEIGHBOUR_QUERIES = 20
NEIGHBOUR_MIN_SIMILARITY = 0.3
NEIGHBOUR_SHARPNESS = 10.0  # weight of a past query: exp(sharpness · (similarity − 1))
RECENCY_HALF_LIFE_DAYS = 180.0
EVIDENCE_SHOWN = 3


class SearchError(InputError):
    """A query or filter a person gave that search cannot take."""

    writes = False  # nothing to roll back: search only reads

    def __init__(self, field_name: str, message: str, source: str = "query",
                 line: int | None = None):
        super().__init__(source, line, field_name, message)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Weights:
    """How much each signal counts in the fused score (see the module docstring)."""

    dense: float = W_DENSE
    lexical: float = W_LEXICAL
    evidence: float = W_EVIDENCE
    prior: float = W_PRIOR


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    pricing: str | None = None
    open_weights: bool | None = None
    modality: str | None = None
    provider: str | None = None

    def check(self, providers: set[str] | None = None) -> None:
        for name, value, allowed in (("kind", self.kind, KINDS), ("pricing", self.pricing, PRICING),
                                     ("modality", self.modality, MODALITIES)):
            if value is not None and value not in allowed:
                raise SearchError(name, f"unknown value {value!r}; use one of "
                                        f"{', '.join(allowed)}", source="filter")
        if self.provider is not None and providers is not None and self.provider not in providers:
            raise SearchError("provider", f"unknown provider {self.provider!r}", source="filter")

    def allows(self, a: dict[str, Any]) -> bool:
        return ((self.kind is None or a["kind"] == self.kind)
                and (self.pricing is None or a["pricing"] == self.pricing)
                and (self.open_weights is None or bool(a["open_weights"]) == self.open_weights)
                and (self.modality is None or self.modality in (a["modalities"] or []))
                and (self.provider is None or a["provider"] == self.provider))


@dataclass
class Result:
    artifact: str
    name: str
    kind: str
    score: float
    components: dict[str, float]
    capability: dict[str, Any] | None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_providers(graph: Graph, filters: Filters) -> None:
    """A provider filter must name a provider the graph knows."""
    if filters.provider is not None:
        filters.check(retrieval.providers(graph))


def check_query(text: Any) -> str:
    if not isinstance(text, str):
        raise SearchError("query", "must be text")
    text = text.strip()
    if not text:
        raise SearchError("query", "is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError("query", f"is {len(text)} characters long; the limit is "
                                   f"{MAX_QUERY_CHARS}")
    return text


class SearchEngine:
    """Holds the encoder and indexes; every search reads the graph afresh for evidence."""

    def __init__(self, settings: Settings, graph: Graph, encoder: Any = None,
                 weights: Weights | None = None):
        from indexing.text import TextEncoder

        self.weights = weights or Weights()
        self.settings = settings
        self.graph = graph
        self.encoder = encoder or TextEncoder(settings.text_model)
        self.capabilities = self._store("capabilities")
        self.queries = self._store("queries")
        latest = retrieval.latest_evidence(graph)
        self._latest = _parse_time(latest) if latest else None

    def _store(self, name: str) -> VectorStore | None:
        dim = VectorStore.recorded_dim(self.settings.index_dir, name)
        if dim is None:
            return None
        return VectorStore.open(self.settings.index_dir, name, self.settings.text_model, dim,
                                exact_limit=self.settings.exact_limit,
                                kind=self.settings.index_kind)

    def search(self, text: str, k: int = 10, filters: Filters | None = None,
               alternatives_to: str | None = None) -> list[Result]:
        return self.search_many([text], k, filters, alternatives_to)[0]

    def search_many(self, texts: list[str], k: int = 10, filters: Filters | None = None,
                    alternatives_to: str | None = None) -> list[list[Result]]:
        """Answer several queries; encoding and index look-ups run as one batch."""
        if self.capabilities is None:
            raise SearchError("index", "no capability index yet: run `unfragile index`",
                              source="search")
        filters = filters or Filters()
        filters.check()
        texts = [check_query(t) for t in texts]
        vectors = self.encoder.encode(texts)
        cap_hits = self.capabilities.search(vectors, CAPABILITY_CANDIDATES)
        query_hits = self.queries.search(vectors, NEIGHBOUR_QUERIES) if self.queries else \
            [[] for _ in texts]
        return [self._answer(text, caps, past, k, filters, exclude=alternatives_to)
                for text, caps, past in zip(texts, cap_hits, query_hits, strict=True)]

    def alternatives(self, artifact_id: str, k: int = 10,
                     filters: Filters | None = None) -> list[Result]:
        """Artifacts that do what `artifact_id` does, excluding it: its capabilities as query."""
        if self.capabilities is None:
            raise SearchError("index", "no capability index yet: run `unfragile index`",
                              source="search")
        caps = retrieval.capabilities_of(self.graph, artifact_id)
        if not caps:
            raise SearchError("alternatives_to", f"unknown artifact {artifact_id!r}",
                              source="filter")
        filters = filters or Filters()
        filters.check()
        stored = [v for v in (self.capabilities.vector(c) for c in caps) if v is not None]
        if not stored:
            raise SearchError("index", f"{artifact_id!r} is not indexed yet: run "
                                       "`unfragile index`", source="search")
        centre = np.mean(stored, axis=0, keepdims=True).astype(np.float32)
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
        cap_hits = self.capabilities.search(centre, CAPABILITY_CANDIDATES + len(caps))[0]
        # Past queries that led to the artifact lead to its alternatives too.
        past = [(q, 1.0) for q in retrieval.co_matched_queries(self.graph, artifact_id)]
        title = self.graph.read("MATCH (a:Artifact {id: $id}) RETURN a.name AS n",
                                id=artifact_id)[0]["n"]
        return self._answer(title, cap_hits, past[:NEIGHBOUR_QUERIES * 5], k, filters,
                            exclude=artifact_id)

    # -- fusion --------------------------------------------------------------------------
    def _answer(self, text: str, cap_hits: list[tuple[str, float]],
                query_hits: list[tuple[str, float]], k: int, filters: Filters,
                exclude: str | None) -> list[Result]:
        w = self.weights
        lexical = retrieval.fulltext(self.graph, text) if w.lexical else []
        neighbours = [(q, s) for q, s in query_hits if s >= NEIGHBOUR_MIN_SIMILARITY]
        edges = retrieval.evidence(self.graph, [q for q, _ in neighbours])

        cap_owner: dict[str, str] = {}
        dense: dict[str, tuple[float, str]] = {}
        cap_score: dict[str, float] = {}
        for row in lexical:
            cap_owner[row["id"]] = row["artifact"]
        unknown = [c for c, _ in cap_hits if c not in cap_owner]
        for cap_id, row in retrieval.capabilities(self.graph, unknown).items():
            cap_owner[cap_id] = row["artifact"]
        for cap_id, sim in cap_hits:
            owner = cap_owner.get(cap_id)
            if owner is None:
                continue  # indexed but deleted since: `unfragile index` will drop it
            cap_score[cap_id] = cap_score.get(cap_id, 0.0) + sim
            if sim > dense.get(owner, (-1.0, ""))[0]:
                dense[owner] = (sim, cap_id)

        lex: dict[str, float] = {}
        top = max((r["score"] for r in lexical), default=0.0)
        for row in lexical:
            value = row["score"] / top if top else 0.0
            lex[row["artifact"]] = max(lex.get(row["artifact"], 0.0), value)
            cap_score[row["id"]] = cap_score.get(row["id"], 0.0) + w.lexical * value

        weight = {q: math.exp(NEIGHBOUR_SHARPNESS * (s - 1.0)) for q, s in neighbours}
        similarity = dict(neighbours)
        per_query_best: dict[str, float] = {}
        support: dict[str, dict[str, float]] = {}
        shown: dict[str, list[dict[str, Any]]] = {}
        for e in edges:
            strength = (e["confidence"] or 0.0) * self._recency(e["last_seen"])
            if strength <= 0:
                continue
            q, owner = e["query"], e["artifact"]
            per_query_best[q] = max(per_query_best.get(q, 0.0), strength)
            support.setdefault(owner, {})
            support[owner][q] = max(support[owner].get(q, 0.0), strength)
            if e["is_capability"]:
                cap_score[e["target"]] = cap_score.get(e["target"], 0.0) + \
                    w.evidence * weight[q] * strength
                cap_owner[e["target"]] = owner
            shown.setdefault(owner, []).append({
                "query": e["text"] or q, "similarity": round(similarity[q], 4),
                "sessions": e["sessions"], "clicks": e["clicks"], "count": e["count"],
                "confidence": round(e["confidence"] or 0.0, 4),
                "capability": e["target"] if e["is_capability"] else None})
        total = sum(weight[q] * per_query_best[q] for q in per_query_best) or 1.0
        evidence = {a: sum(weight[q] * s for q, s in qs.items()) / total
                    for a, qs in support.items()}

        candidates = set(dense) | set(lex) | set(evidence)
        candidates.discard(exclude)
        details = retrieval.artifacts(self.graph, sorted(candidates))
        scored = []
        for a in candidates:
            info = details.get(a)
            if info is None or not filters.allows(info):
                continue
            prior = (info["rank"] or 0) / 100.0
            parts = {"dense": dense.get(a, (0.0, ""))[0], "lexical": lex.get(a, 0.0),
                     "evidence": evidence.get(a, 0.0), "prior": prior}
            score = (w.dense * parts["dense"] + w.lexical * parts["lexical"]
                     + w.evidence * parts["evidence"] + w.prior * prior)
            scored.append((score, a, parts))
        scored.sort(key=lambda t: (-t[0], t[1]))
        top_k = scored[:k]

        best_caps = {}
        for _, a, _ in top_k:
            own = [(s, c) for c, s in cap_score.items() if cap_owner.get(c) == a]
            if own:
                best_caps[a] = max(own)[1]
        cap_rows = retrieval.capabilities(self.graph, sorted(best_caps.values()))
        results = []
        for score, a, parts in top_k:
            info = details[a]
            cap = cap_rows.get(best_caps.get(a, ""))
            proof = sorted(shown.get(a, []), key=lambda r: (-r["similarity"], r["query"]))
            results.append(Result(
                artifact=a, name=info["name"], kind=info["kind"], score=round(score, 6),
                components={n: round(v, 6) for n, v in parts.items()},
                capability=None if cap is None else
                {"id": cap["id"], "title": cap["title"], "text": cap["text"]},
                evidence=proof[:EVIDENCE_SHOWN]))
        return results

    def _recency(self, last_seen: str | None) -> float:
        """Evidence loses half its weight every half-life, counted back from the newest."""
        if not last_seen or self._latest is None:
            return 1.0
        age = (self._latest - _parse_time(last_seen)).total_seconds() / 86400.0
        return 0.5 ** (max(age, 0.0) / RECENCY_HALF_LIFE_DAYS)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
