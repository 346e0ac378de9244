"""What a search takes and gives: weights, the query check, filters, results and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from unfragile.engine.errors import SearchError
from unfragile.engine.intent import Understanding
from unfragile.engine.ranker import DEFAULT_WEIGHTS
from unfragile.engine.records import KINDS, MODALITIES, PRICING, normalise_query
from unfragile.engine.settings import MAX_QUERY_CHARS
from unfragile.graph import retrieval
from unfragile.graph.connection import Graph

# The default weights of the five signals every version of search had (the rest are in
# engine/ranker.DEFAULT_WEIGHTS); bench/search_quality.py builds configurations from them.
W_DENSE = DEFAULT_WEIGHTS["dense"]
W_DESCRIPTION = DEFAULT_WEIGHTS["description"]
W_LEXICAL = DEFAULT_WEIGHTS["lexical"]
W_EVIDENCE = DEFAULT_WEIGHTS["evidence"]
W_PRIOR = DEFAULT_WEIGHTS["prior"]


@dataclass(frozen=True)
class Weights:
    """Fixed linear weights of the ranking features (engine/features.py); the first five
    positional, as benchmarks spell configurations."""

    dense: float = W_DENSE
    lexical: float = W_LEXICAL
    evidence: float = W_EVIDENCE
    prior: float = W_PRIOR
    description: float = W_DESCRIPTION
    evidence_best: float = DEFAULT_WEIGHTS["evidence_best"]
    evidence_share: float = DEFAULT_WEIGHTS["evidence_share"]
    name: float = DEFAULT_WEIGHTS["name"]
    coverage: float = DEFAULT_WEIGHTS["coverage"]
    core: float = DEFAULT_WEIGHTS["core"]
    phrase: float = DEFAULT_WEIGHTS["phrase"]
    constraint: float = DEFAULT_WEIGHTS["constraint"]
    kind: float = DEFAULT_WEIGHTS["kind"]
    same_kind: float = DEFAULT_WEIGHTS["same_kind"]
    same_task: float = DEFAULT_WEIGHTS["same_task"]
    reference: float = DEFAULT_WEIGHTS["reference"]
    compared: float = DEFAULT_WEIGHTS["compared"]


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    pricing: str | None = None
    open_weights: bool | None = None
    modality: str | None = None
    provider: str | None = None

    def check(self, providers: set[str] | None = None) -> None:
        for name, value, allowed in (
            ("kind", self.kind, KINDS),
            ("pricing", self.pricing, PRICING),
            ("modality", self.modality, MODALITIES),
        ):
            if value is not None and value not in allowed:
                raise SearchError(
                    name,
                    f"unknown value {value!r}; use one of {', '.join(allowed)}",
                    source="filter",
                )
        if self.provider is not None and providers is not None and self.provider not in providers:
            raise SearchError("provider", f"unknown provider {self.provider!r}", source="filter")

    @property
    def none(self) -> bool:
        """No filter set: every artifact is allowed (search skips the per-candidate check)."""
        return (
            self.kind is None
            and self.pricing is None
            and self.open_weights is None
            and self.modality is None
            and self.provider is None
        )

    def allows(self, a: dict[str, Any]) -> bool:
        return (
            (self.kind is None or a["kind"] == self.kind)
            and (self.pricing is None or a["pricing"] == self.pricing)
            and (self.open_weights is None or bool(a["open_weights"]) == self.open_weights)
            and (self.modality is None or self.modality in (a["modalities"] or []))
            and (self.provider is None or a["provider"] == self.provider)
        )


@dataclass
class Result:
    artifact: str
    name: str
    kind: str
    score: float
    components: dict[str, float]
    capability: dict[str, Any] | None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    match: int = 0  # calibrated 0–100: how likely it does what was asked
    status: str = "active"  # archived, superseded and removed artifacts rank below active ones

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """A question answered: what was understood, the results, and whether any is good."""

    query: str
    understood: Understanding
    results: list[Result]
    no_good_match: bool
    scorer: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "understood": self.understood.as_dict(),
            "no_good_match": self.no_good_match,
            "ranker": self.scorer,
            "results": [r.as_dict() for r in self.results],
        }


def label_evidence(graph: Graph, results: list[Result]) -> None:
    """Say, on each evidence row shown, how many of its sessions are sample events
    (`sample_sessions`, events whose `source` is sample): one read for the rows shown."""
    pairs = {
        (normalise_query(e["query"]), e.get("capability") or r.artifact, r.artifact)
        for r in results
        for e in r.evidence
    }
    found = retrieval.evidence_samples(
        graph, [{"query": q, "target": t, "artifact": a} for q, t, a in sorted(pairs)]
    )
    for r in results:
        for e in r.evidence:
            key = (normalise_query(e["query"]), e.get("capability") or r.artifact)
            e["sample_sessions"] = found.get(key, 0)


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
        raise SearchError(
            "query", f"is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    return text
