"""Request and response bodies of the HTTP API, as pydantic models (they make the OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from unfragile.engine.db import MAX_CYPHER_CHARS
from unfragile.engine.records import KINDS, MODALITIES, PRICING
from unfragile.engine.settings import MAX_QUERY_CHARS

Kind = Literal[KINDS]  # type: ignore[valid-type]
Pricing = Literal[PRICING]  # type: ignore[valid-type]
Modality = Literal[MODALITIES]  # type: ignore[valid-type]
# The filters as query parameters, described once for the OpenAPI.
KindQuery = Annotated[
    Kind | None,
    Query(
        description="Only artifacts of this kind: a model (weights), an api (a hosted "
        "endpoint), a web-app, an mcp-server, a cli, an agent, a tool or a library.",
        examples=["model"],
    ),
]
PricingQuery = Annotated[
    Pricing | None,
    Query(
        description="Only artifacts priced this way: free, freemium (a free tier), paid "
        "(a subscription or licence), usage-based (per token, call or minute) or unknown.",
        examples=["free"],
    ),
]
ModalityQuery = Annotated[
    Modality | None,
    Query(
        description="Only artifacts that take or make this modality (text, image, audio, "
        "video, code, embedding, tabular or 3d).",
        examples=["image"],
    ),
]
OpenWeightsQuery = Annotated[
    bool | None,
    Query(description="true: only downloadable weights; false: only closed ones."),
]


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a short code, one sentence, and the field at fault if any."""

    error: str = Field(description="A short code: invalid, not_found, unauthorized, ...")
    message: str
    field: str | None = None
    index: int | None = Field(None, description="Which event of a list was at fault.")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    neo4j: bool
    indexes: dict[str, int] = Field(
        default_factory=dict, description="Vectors per loaded index (capabilities, queries)."
    )
    reason: str | None = None


# -- search --------------------------------------------------------------------------------


class MatchedCapability(BaseModel):
    id: str
    title: str | None
    text: str | None


class Evidence(BaseModel):
    """A past search that led to the artifact: how alike it is and what people did."""

    query: str
    similarity: float
    sessions: int | None
    clicks: int | None
    count: int | None
    confidence: float
    capability: str | None
    sample_sessions: int = Field(
        0,
        description="How many of `sessions` hold sample events (source `sample`): "
        "all of them means this evidence is a sample, not real searches.",
    )


class SearchResult(BaseModel):
    artifact: str
    name: str
    kind: str
    score: float
    match: int = Field(
        description="Calibrated 0-100: how likely this does what was asked (see no_good_match)."
    )
    components: dict[str, float] = Field(
        description="Every ranking feature: dense, description, lexical, evidence, name, ..."
    )
    capability: MatchedCapability | None
    evidence: list[Evidence]
    status: str = Field(
        "active",
        description="active, archived, superseded or removed; the last three rank below active "
        "artifacts that match about as well.",
    )


class Understood(BaseModel):
    text: str = Field(description="What was understood, as shown to people; empty if nothing.")
    literal: bool = Field(description="True when the words were taken as typed (literal=true).")
    need: str
    reference: list[str] = Field(description="Artifacts the query refers to (X in 'like X').")
    reference_name: str | None
    excluded: list[str] = Field(description="X and its family, left out of the results.")
    constraints: list[str] = Field(description="free, open, local, api, cheap, commercial, small")
    kind: str | None
    named: list[str] = Field(description="Artifacts the whole query names; the first goes first.")
    spelled: str | None = Field(
        None,
        description="The query as matched, its abbreviations spelled out ('vector db "
        "database'); null when it has none.",
    )
    opposite: list[str] = Field(
        default_factory=list,
        description="Tasks that go the other way from the one asked ('speech to text': "
        "text-to-speech); models doing them are listed after the rest.",
    )
    host: str | None = Field(
        None,
        description="The assistant the asker has and extends ('let claude query my "
        "database': Claude); its name is left out of what is matched, and connectors (MCP "
        "servers) are preferred.",
    )
    for_other: bool = Field(
        False,
        description="'X but for Y' ('like whisper.cpp but for llms'): the need is Y, in the "
        "way X does things; X's task and the searches that led to X are not the need, and "
        "what X is of local, open and free joins the constraints.",
    )


class SearchResponse(BaseModel):
    query: str
    k: int
    offset: int = Field(0, description="How many results were skipped (paging).")
    total: int = Field(
        0,
        description="How many results the search found, counting at most max(30, offset + "
        "k): with offset and k, the pages there are.",
    )
    filters: dict[str, Any]
    understood: Understood
    no_good_match: bool = Field(
        description="True when nothing in the catalog does this well; results are the nearest."
    )
    ranker: str = Field(description="The learned model or the default weights.")
    results: list[SearchResult]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "query": "classify images",
                    "k": 1,
                    "offset": 0,
                    "total": 30,
                    "filters": {"kind": "model"},
                    "understood": {
                        "text": "",
                        "literal": False,
                        "need": "classify images",
                        "reference": [],
                        "reference_name": None,
                        "excluded": [],
                        "constraints": [],
                        "kind": None,
                        "named": [],
                    },
                    "no_good_match": False,
                    "ranker": "default weights",
                    "results": [
                        {
                            "artifact": "convnext-base-224",
                            "name": "ConvNeXt Base (224px, ImageNet-1k)",
                            "kind": "model",
                            "score": 2.535,
                            "match": 83,
                            "components": {"dense": 0.557, "lexical": 0.162, "evidence": 0.304},
                            "capability": {
                                "id": "convnext-base-224/imagenet-1k-classification",
                                "title": "ImageNet-1k classification",
                                "text": "Classifies images into the 1,000 ImageNet categories.",
                            },
                            "evidence": [
                                {
                                    "query": "open source image classification models",
                                    "similarity": 0.71,
                                    "sessions": 1,
                                    "clicks": 1,
                                    "count": 3,
                                    "confidence": 0.39,
                                    "capability": None,
                                    "sample_sessions": 1,
                                }
                            ],
                            "status": "active",
                        }
                    ],
                }
            ]
        }
    }


class ImageResult(BaseModel):
    artifact: str
    name: str | None
    kind: str | None
    score: float
    image: str
    relation: str | None
    prompt: str | None


class ImageSearchResponse(BaseModel):
    k: int
    results: list[ImageResult]


# -- artifacts and ranking ---------------------------------------------------------------


class Scores(BaseModel):
    unfragile_rank: int | None = None
    rank_low: int | None = None
    rank_high: int | None = None
    adoption: float | None = None
    quality: float | None = None
    quality_source: str | None = None
    ecosystem: float | None = None
    match_graph: float | None = None
    freshness: float | None = None
    times_matched: int | None = None


class Capability(BaseModel):
    id: str
    title: str | None
    text: str | None
    unique: str | None = None
    vs_alternatives: str | None = None


class AlternativeEdge(BaseModel):
    """One ALTERNATIVE_TO edge as `unfragile rank` stored it."""

    id: str
    name: str | None
    kind: str | None = None
    position: int | None = Field(None, description="1 for the best alternative.")
    match: int | None = Field(None, description="The search's calibrated match, 0–100.")
    score: float | None = Field(None, description="The search's ranking score.")


class Artifact(BaseModel):
    id: str
    record: dict[str, Any] = Field(description="The catalog fields as stored in the graph.")
    signals: dict[str, Any] = Field(
        description="Popularity figures (downloads, likes, api_calls, ...): read them with "
        "signals_illustrative and signals_as_of."
    )
    signals_illustrative: bool = Field(
        description="True when the record marks its figures as illustrative, not measured."
    )
    signals_as_of: str | None = Field(description="The day the figures were read, if recorded.")
    benchmarks: dict[str, Any] = Field(description="Benchmark results as recorded.")
    scores: Scores
    evidence: dict[str, int] = Field(
        description="The sessions behind its search evidence (`sessions`) and how many of "
        "them are sample events (`sample_sessions`, events whose source is sample)."
    )
    adoption_basis: str = Field(description="What adoption rests on, as pages say it.")
    quality_basis: str = Field(
        description="Where quality comes from: 'benchmarks: MMLU, ...', 'record checklist' or "
        "'preferences (...)'; empty before ranking."
    )
    capabilities: list[Capability]
    alternatives: list[AlternativeEdge] = Field(
        description="Its first five alternatives (ALTERNATIVE_TO), in their stored order."
    )
    catalog_as_of: str | None = Field(
        None,
        description="The newest released, updated or signals_as_of day among the artifacts.",
    )


class AlternativesResponse(BaseModel):
    artifact: str
    k: int
    kind: str | None = None
    alternatives: list[AlternativeEdge] = Field(
        description="Artifacts that do what this one does, leaving out it and its family: "
        "the ALTERNATIVE_TO edges `unfragile rank` stored from search, in their order."
    )


class LeaderboardRow(BaseModel):
    id: str
    name: str | None
    kind: str | None
    unfragile_rank: int
    rank_low: int | None
    rank_high: int | None
    adoption: float | None
    quality: float | None
    quality_source: str | None
    ecosystem: float | None
    match_graph: float | None
    freshness: float | None
    times_matched: int | None
    signals_illustrative: bool = Field(
        description="True when the popularity figures behind adoption are illustrative."
    )
    signals_as_of: str | None = Field(description="The day those figures were read, if known.")
    quality_basis: str = Field(description="Where quality comes from, as pages say it.")


class Leaderboard(BaseModel):
    kind: str | None
    top: int
    offset: int = Field(0, description="How many rows were skipped (paging).")
    total: int = Field(0, description="How many ranked artifacts pass the filters.")
    ranked: int = Field(
        description="How many artifacts carry an UnfragileRank, of every kind (the filters "
        "do not apply: `total` counts the filtered set)."
    )
    rows: list[LeaderboardRow]
    catalog_as_of: str | None = Field(
        None,
        description="The newest released, updated or signals_as_of day among the artifacts.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "model",
                    "top": 1,
                    "offset": 0,
                    "total": 175,
                    "ranked": 334,
                    "rows": [
                        {
                            "id": "gpt-4o",
                            "name": "GPT-4o",
                            "kind": "model",
                            "unfragile_rank": 63,
                            "rank_low": 62,
                            "rank_high": 64,
                            "adoption": 82.1,
                            "quality": 86.0,
                            "quality_source": "benchmarks",
                            "ecosystem": 53.2,
                            "match_graph": 3.1,
                            "freshness": 50.0,
                            "times_matched": 4,
                            "signals_illustrative": True,
                            "signals_as_of": None,
                            "quality_basis": "benchmarks: HumanEval, MMLU",
                        }
                    ],
                    "catalog_as_of": "2025-11-24",
                }
            ]
        }
    }


class RankSnapshot(BaseModel):
    at: str = Field(description="When `unfragile rank` ran (UTC, ISO 8601).")
    rank: int | None = None
    low: int | None = None
    high: int | None = None
    adoption: float | None = None
    quality: float | None = None
    ecosystem: float | None = None
    match_graph: float | None = None
    freshness: float | None = None


class RankHistory(BaseModel):
    artifact: str
    keep: int = Field(description="How many snapshots are kept per artifact (the latest).")
    snapshots: list[RankSnapshot] = Field(description="Oldest first.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "artifact": "vit-base-patch16-224",
                    "keep": 30,
                    "snapshots": [
                        {
                            "at": "2026-11-29T08:18:51Z",
                            "rank": 43,
                            "low": 41,
                            "high": 45,
                            "adoption": 56.7,
                            "quality": 50.0,
                            "ecosystem": 53.97,
                            "match_graph": 13.75,
                            "freshness": 2.93,
                        }
                    ],
                }
            ]
        }
    }


class ComparePage(BaseModel):
    """Issue 5's comparison page as fields; Markdown and HTML render from exactly this."""

    title: str
    a: dict[str, Any]
    b: dict[str, Any]
    verdict: dict[str, Any]
    table: list[dict[str, Any]]
    capabilities: dict[str, Any]
    something_different: dict[str, Any]
    benchmarks: dict[str, list[str]] = Field(
        description="Benchmarks both report (contrasted in the table) and each one's others."
    )
    notes: list[str] = Field(
        description="What a reader must know: illustrative figures, quality from different "
        "sources, no benchmark in common."
    )
    catalog_as_of: str | None = Field(
        None,
        description="The newest released, updated or signals_as_of day among the artifacts.",
    )


# -- events --------------------------------------------------------------------------------

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A search event as in data/catalog/events.jsonl (see the README).",
    "properties": {
        "id": {"type": "string", "description": "Optional; retries with the same id count once."},
        "query": {"type": "string", "maxLength": MAX_QUERY_CHARS},
        "event": {"type": "string", "enum": ["match", "click", "dwell", "feedback", "prefer"]},
        "session": {"type": "string"},
        "time": {"type": "string", "description": "ISO 8601, e.g. 2026-10-03T14:22:05Z"},
        "artifact": {"type": "string"},
        "capability": {"type": "string"},
        "seconds": {"type": "number", "minimum": 0, "maximum": 86400},
        "value": {"type": "integer", "enum": [1, -1]},
        "winner": {"type": "string"},
        "loser": {"type": "string"},
        "source": {
            "type": "string",
            "maxLength": 100,
            "pattern": "^(sample|api|import:[a-z0-9][a-z0-9._-]*)$",
            "description": "Where the event came from; `api` when not given.",
        },
    },
    "required": ["query", "event", "session", "time"],
    "example": {
        "id": "e-1",
        "query": "classify photos",
        "event": "click",
        "session": "s-1",
        "time": "2026-10-03T14:22:05Z",
        "artifact": "vit-base-patch16-224",
    },
}


class EventsAccepted(BaseModel):
    events: int = Field(description="Events in the request, all written (or already there).")
    ids: list[str] = Field(description="Each event's id: given, or derived from its content.")


# -- Cypher --------------------------------------------------------------------------------


class CypherRequest(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=MAX_CYPHER_CHARS,
        examples=["MATCH (a:Artifact {kind: $kind}) RETURN a.id, a.unfragile_rank LIMIT 5"],
    )
    params: dict[str, Any] = Field(default_factory=dict, examples=[{"kind": "model"}])


class SavedParams(BaseModel):
    params: dict[str, Any] = Field(default_factory=dict)


class CypherResult(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(
        description="True when the row cap or the byte cap (UNFRAGILE_CYPHER_MAX_BYTES) cut "
        "the result; a single row over the byte cap is left out."
    )
    row_cap: int
