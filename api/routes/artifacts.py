"""GET /artifacts/{id}, /artifacts/{id}/alternatives and /leaderboard."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from unfragile.api.errors import ApiError
from unfragile.api.models import (
    AlternativesResponse,
    Artifact,
    ErrorBody,
    KindQuery,
    Leaderboard,
    OpenWeightsQuery,
    PricingQuery,
    RankHistory,
    Scores,
)
from unfragile.api.routes.search import K
from unfragile.api.state import Services, services
from unfragile.engine import rank_history
from unfragile.engine.catalog import ArtifactPage
from unfragile.engine.figures import adoption_basis, quality_basis
from unfragile.engine.pages import DIRECTIONS, SORTS, Pages
from unfragile.engine.settings import MAX_ID_CHARS

router = APIRouter(tags=["artifacts"])

ArtifactId = Annotated[
    str,
    Path(max_length=MAX_ID_CHARS, description="An artifact id.", examples=["vit-base-patch16-224"]),
]
SCORE_FIELDS = tuple(Scores.model_fields)
# An index helper; the history has its own route; the evidence counts are the page's.
HIDDEN = {"name_lower", "rank_history", "evidence_sessions", "evidence_sample_sessions"}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "no artifact has this id"},
    422: {"model": ErrorBody, "description": "a bad parameter, named in `field`"},
    503: {"model": ErrorBody, "description": "Neo4j down"},
}


def _page(svc: Services, artifact_id: str) -> ArtifactPage:
    row = svc.catalog().artifact(artifact_id)
    if row is None:
        raise ApiError(404, f"no artifact has the id {artifact_id!r}", "artifact_id")
    return row


@router.get("/artifacts/{artifact_id}", response_model=Artifact, responses=ERRORS)
def artifact(
    artifact_id: ArtifactId, svc: Annotated[Services, Depends(services)]
) -> dict[str, Any]:
    """One artifact: its catalog record, its scores, its capabilities and alternatives."""
    row = _page(svc, artifact_id)
    props = row.props
    return {
        "id": artifact_id,
        "record": {
            k: v for k, v in sorted(props.items()) if k not in SCORE_FIELDS and k not in HIDDEN
        },
        **row.figures(),
        "scores": {k: props.get(k) for k in SCORE_FIELDS},
        "evidence": row.evidence,
        "adoption_basis": adoption_basis(props),
        "quality_basis": quality_basis(props),
        "capabilities": row.capabilities,
        "alternatives": row.alternatives,
        "catalog_as_of": svc.catalog().as_of(),
    }


@router.get(
    "/artifacts/{artifact_id}/alternatives", response_model=AlternativesResponse, responses=ERRORS
)
def alternatives(
    artifact_id: ArtifactId,
    svc: Annotated[Services, Depends(services)],
    k: K = 10,
    kind: KindQuery = None,
) -> dict[str, Any]:
    """Artifacts that do what this one does, leaving out it and its family: the ALTERNATIVE_TO
    edges `unfragile rank` stored from search (the answer of `/search?alternatives_to=` then),
    in their order; `kind` keeps those of one kind. At most `alternatives_top_n` (10) are
    stored: for more, or other filters, search with `/search?alternatives_to=`."""
    found = svc.catalog().alternatives(artifact_id, k, kind)
    if found is None:
        raise ApiError(404, f"no artifact has the id {artifact_id!r}", "artifact_id")
    return {"artifact": artifact_id, "k": k, "kind": kind, "alternatives": found}


@router.get(
    "/artifacts/{artifact_id}/history",
    response_model=RankHistory,
    responses=ERRORS,
)
def history(artifact_id: ArtifactId, svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """The artifact's rank history: one dated snapshot of its scores per `unfragile rank`
    (the last 30), oldest first."""
    found = rank_history.history(svc.graph(), artifact_id)
    if found is None:
        raise ApiError(404, f"no artifact has the id {artifact_id!r}", "artifact_id")
    return {"artifact": artifact_id, "keep": rank_history.KEEP, "snapshots": found}


@router.get(
    "/leaderboard",
    response_model=Leaderboard,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
def leaderboard(
    svc: Annotated[Services, Depends(services)],
    kind: KindQuery = None,
    task: Annotated[
        str | None,
        Query(max_length=100, description="Only artifacts of this task.", examples=["ocr"]),
    ] = None,
    pricing: PricingQuery = None,
    open_weights: OpenWeightsQuery = None,
    sort: Annotated[
        Literal[SORTS],  # type: ignore[valid-type]
        Query(description="The column to sort by; ties go to the higher UnfragileRank."),
    ] = "rank",
    order: Annotated[
        Literal[DIRECTIONS],  # type: ignore[valid-type]
        Query(description="desc: largest first (the default); asc: smallest first."),
    ] = "desc",
    top: Annotated[int, Query(ge=1, le=1000, description="How many (a page).")] = 20,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="How many to skip (the pages before).")
    ] = 0,
) -> dict[str, Any]:
    """The best-ranked artifacts with their interval and sub-scores (after `unfragile rank`),
    filtered, sorted and a page at a time: `total` counts those that pass the filters,
    `ranked` every ranked artifact."""
    board = Pages(svc.graph()).board(kind, task, pricing, open_weights, sort, order, offset, top)
    return {
        "kind": kind,
        "top": top,
        "offset": offset,
        "total": board.total,
        "ranked": board.ranked,
        "rows": board.rows,
        "catalog_as_of": svc.catalog().as_of(),
    }
