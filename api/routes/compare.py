"""GET /compare: issue 5's page as JSON, or Markdown / HTML by `format` or `Accept`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import HTMLResponse, Response

from unfragile.api.accept import accepted
from unfragile.api.errors import ApiError, SafeJSONResponse
from unfragile.api.failures import failure
from unfragile.api.models import ComparePage, ErrorBody
from unfragile.api.render import compare_html, compare_md
from unfragile.api.state import Services, services
from unfragile.engine.errors import CompareError, NotRanked, UnknownArtifact
from unfragile.engine.settings import MAX_NAME_CHARS

router = APIRouter(tags=["compare"])

MEDIA = {"application/json": "json", "text/markdown": "md", "text/html": "html", "text/plain": "md"}


def negotiate(accept: str | None) -> str:
    """The format the Accept header prefers among ours (by q-value, then order); JSON when
    it names none of them."""
    best: tuple[float, int, str] | None = None
    for position, (media, q) in enumerate(accepted(accept)):
        fmt = MEDIA.get(media)
        if fmt is not None and q > 0 and (best is None or (q, -position) > best[:2]):
            best = (q, -position, fmt)
    return best[2] if best else "json"


@router.get(
    "/compare",
    response_model=ComparePage,
    responses={
        200: {
            "content": {"text/markdown": {}, "text/html": {}},
            "description": "The page, as JSON (default), Markdown or HTML",
        },
        404: {"model": ErrorBody, "description": "a or b names no artifact"},
        409: {"model": ErrorBody, "description": "not ranked yet"},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
def compare(
    svc: Annotated[Services, Depends(services)],
    a: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_NAME_CHARS,
            description="An artifact id or name.",
            examples=["vit-base-patch16-224"],
        ),
    ],
    b: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_NAME_CHARS,
            description="Another artifact id or name.",
            examples=["flux-1-pro"],
        ),
    ],
    format: Annotated[
        Literal["json", "md", "html"] | None, Query(description="Overrides the Accept header.")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """Two artifacts side by side: verdict, scores table, capabilities, where to look instead."""
    try:
        page = svc.catalog().compare(a, b)
    except CompareError as e:
        status = failure(e).status
        if isinstance(e, NotRanked):
            raise ApiError(status, e.message) from None
        field = (e.field or "b").lower()
        if isinstance(e, UnknownArtifact):
            raise ApiError(
                status,
                f"{field}: no artifact has the id or name {a if field == 'a' else b!r}",
                field,
            ) from None
        raise ApiError(status, e.message, field) from None
    fmt = format or negotiate(accept)
    if fmt == "md":
        return Response(compare_md(page), media_type="text/markdown; charset=utf-8")
    if fmt == "html":
        return HTMLResponse(compare_html(page))
    return SafeJSONResponse(page)
