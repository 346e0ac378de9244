"""What a search takes and gives: fusion weights, the query check, filters, the result shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from unfragile.engine.errors import SearchError
from unfragile.engine.records import KINDS, MODALITIES, PRICING
from unfragile.engine.settings import MAX_QUERY_CHARS
from unfragile.graph import retrieval
from unfragile.graph.connection import Graph

# Fusion weights and evidence shape, tuned on the MetaTool split with salt A and checked on
# salt B (bench/search_quality.py; see BENCHMARKS.md, "Search quality"). The optimum is flat:
# evidence 2-4, lexical 0.1-0.4 and sharpness around 10 are within 0.002 MRR of it. W_PRIOR is
# untuned (MetaTool has no UnfragileRank).
W_DENSE = 1.0
W_DESCRIPTION = 1.0
W_LEXICAL = 0.2
W_EVIDENCE = 3.0
W_PRIOR = 0.05
COMPONENTS = ("dense", "description", "lexical", "evidence", "prior")


@dataclass(frozen=True)
class Weights:
    """How much each signal counts in the fused score (see the module docstring)."""

    dense: float = W_DENSE
    lexical: float = W_LEXICAL
    evidence: float = W_EVIDENCE
    prior: float = W_PRIOR
    description: float = W_DESCRIPTION


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
        raise SearchError(
            "query", f"is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}"
        )
    return text
