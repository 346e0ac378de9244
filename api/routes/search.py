"""GET /search and POST /search/image: issue 4's results with their explanations."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, File, Query, UploadFile

from unfragile.api.errors import ApiError
from unfragile.api.failures import failure
from unfragile.api.models import (
    ErrorBody,
    ImageSearchResponse,
    KindQuery,
    ModalityQuery,
    OpenWeightsQuery,
    PricingQuery,
    SearchResponse,
)
from unfragile.api.state import Services, services
from unfragile.engine.candidates import PRESELECT, PRESELECT_MARGIN
from unfragile.engine.catalog import Catalog
from unfragile.engine.errors import ImageRejected, NotIndexed, SearchError, UnknownArtifact
from unfragile.engine.search import Filters, check_providers
from unfragile.engine.search_terms import label_evidence
from unfragile.engine.settings import MAX_ID_CHARS, MAX_NAME_CHARS, MAX_QUERY_CHARS

router = APIRouter(tags=["search"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "alternatives_to names no artifact"},
    422: {"model": ErrorBody, "description": "a bad parameter, named in `field`"},
    503: {"model": ErrorBody, "description": "Neo4j down or no index yet"},
}

K = Annotated[int, Query(ge=1, le=100, description="How many results.")]
# A search orders its first SEARCH_POOL results the same whatever k: an answer asks for at
# least that many and returns its slice, so pages agree with each other and with k alone.
SEARCH_POOL = PRESELECT - PRESELECT_MARGIN
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=1000,
        description="How many results to skip (paging: offset=10&k=10 is the second page).",
    ),
]


def filters_of(
    kind: str | None,
    pricing: str | None,
    open_weights: bool | None,
    modality: str | None,
    provider: str | None,
) -> Filters:
    return Filters(
        kind=kind, pricing=pricing, open_weights=open_weights, modality=modality, provider=provider
    )


def raise_search_error(e: SearchError) -> NoReturn:
    """A SearchError as the API's answer (status from the table): an unknown artifact names
    its parameter, a missing index says what to run, a bad parameter is named as the API
    spells it."""
    status = failure(e).status
    if isinstance(e, NotIndexed):
        raise ApiError(status, e.message) from None
    if isinstance(e, UnknownArtifact):
        raise ApiError(status, e.message, e.field) from None
    field = "q" if e.field == "query" else e.field
    raise ApiError(status, f"{field}: {e.message}", field) from None


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
def search(
    svc: Annotated[Services, Depends(services)],
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="What you need, in words.",
            examples=["image classification"],
        ),
    ] = None,
    k: K = 10,
    offset: Offset = 0,
    kind: KindQuery = None,
    pricing: PricingQuery = None,
    open_weights: OpenWeightsQuery = None,
    modality: ModalityQuery = None,
    provider: Annotated[str | None, Query(max_length=MAX_NAME_CHARS, examples=["Google"])] = None,
    alternatives_to: Annotated[
        str | None,
        Query(
            max_length=MAX_ID_CHARS,
            description="An artifact id: what does what it does, not it or its family "
            "(with q: q's words as well).",
            examples=["vit-base-patch16-224"],
        ),
    ] = None,
    literal: Annotated[
        bool,
        Query(description="Take q's words as typed: no 'alternative to X', constraints or names."),
    ] = False,
) -> dict[str, Any]:
    """Artifacts for a need, best first, each with a 0-100 match, the capability that matched
    and the past searches (evidence) behind it; `understood` says how the question was read
    ("like Midjourney · open weights · free"), and `no_good_match` that nothing does it well."""
    if q is None and alternatives_to is None:
        raise ApiError(422, "q: give q (what you need) or alternatives_to (an artifact id)", "q")
    filters = filters_of(kind, pricing, open_weights, modality, provider)
    asked = max(SEARCH_POOL, offset + k)
    engine = svc.search()
    try:
        check_providers(engine.graph, filters)
        if alternatives_to is not None and not Catalog(engine.graph).exists(alternatives_to):
            raise ApiError(404, f"no artifact has the id {alternatives_to!r}", "alternatives_to")
        if q is None:
            assert alternatives_to is not None
            answer = engine.ask_alternatives(alternatives_to, asked, filters)
        else:
            answer = engine.ask(q, asked, filters, literal=literal, alternatives_to=alternatives_to)
    except SearchError as e:
        raise_search_error(e)
    # The answer is a slice of one search; `total` is what it found.
    total = len(answer.results)
    answer.results = answer.results[offset : offset + k]
    label_evidence(engine.graph, answer.results)
    applied = {
        name: value
        for name, value in (
            ("kind", kind),
            ("pricing", pricing),
            ("open_weights", open_weights),
            ("modality", modality),
            ("provider", provider),
            ("alternatives_to", alternatives_to),
        )
        if value is not None
    }
    return {"k": k, "offset": offset, "total": total, "filters": applied, **answer.as_dict()}


@router.post(
    "/search/image",
    response_model=ImageSearchResponse,
    responses={**ERRORS, 413: {"model": ErrorBody, "description": "file too large"}},
)
def search_image(
    svc: Annotated[Services, Depends(services)],
    file: Annotated[UploadFile, File(description="A PNG, JPEG, WebP or GIF image.")],
    k: K = 10,
) -> dict[str, Any]:
    """Artifacts whose images look most like the uploaded one (ViT embeddings)."""
    limit = svc.config.max_image_bytes
    if file.size is not None and file.size > limit:
        raise ApiError(413, f"the image is over the limit of {limit:,} bytes", "file")
    name = Path(file.filename or "upload").name[:100] or "upload"
    with tempfile.NamedTemporaryFile(prefix="unfragile-upload-") as tmp:
        copied = 0
        while chunk := file.file.read(1024 * 1024):
            copied += len(chunk)
            if copied > limit:
                raise ApiError(413, f"the image is over the limit of {limit:,} bytes", "file")
            tmp.write(chunk)
        tmp.flush()
        indexer = svc.indexer()
        try:
            results = indexer.search_image(Path(tmp.name), k)
        except ImageRejected as e:
            message = str(e).replace(tmp.name, name).replace(Path(tmp.name).name, name)
            raise ApiError(failure(e).status, message, "file") from None
        finally:
            svc.keep_encoders(indexer)
    return {"k": k, "results": results}
