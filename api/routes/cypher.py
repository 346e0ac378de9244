"""POST /cypher, GET /cypher/saved, POST /cypher/saved/{name}: read-only Cypher."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from api.errors import ApiError
from api.models import CypherRequest, CypherResult, ErrorBody, SavedParams
from api.state import Services, services

router = APIRouter(tags=["cypher"])

INT64 = (-(2**63), 2**63 - 1)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a Cypher error, or the time limit"},
    403: {"model": ErrorBody, "description": "refused: it would write or administer"},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


def check_params(params: dict[str, Any], path: str = "params") -> None:
    """Neo4j takes JSON values except whole numbers beyond 64 bits; say which one."""
    for name, value in params.items():
        where = f"{path}.{name}"
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64[0] <= value <= INT64[1]
        ):
            raise ApiError(422, f"{where}: whole numbers must fit in 64 bits", where)
        if isinstance(value, dict):
            check_params(value, where)
        if isinstance(value, list):
            check_params(dict(enumerate(value)), where)


def run(svc: Services, query: str, params: dict[str, Any]) -> dict[str, Any]:
    check_params(params)
    settings = svc.settings
    columns, rows, truncated = svc.graph().run_read_only(
        query, params, settings.query_timeout_s, settings.cypher_row_cap
    )
    return {
        "columns": columns,
        "rows": rows,
        "truncated": truncated,
        "row_cap": settings.cypher_row_cap,
    }


@router.post("/cypher", response_model=CypherResult, responses=ERRORS)
def cypher(body: CypherRequest, svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """Run a read-only query: planned first and refused (403) if it would write, load files
    or administer; then run in a READ transaction with a timeout and a row cap. Give user
    values as `params`, never pasted into the text."""
    return run(svc, body.query, body.params)


@router.get("/cypher/saved", response_model=list[dict[str, Any]])
def saved() -> list[dict[str, Any]]:
    """The saved explorations (cypher/explore/*.cypher): name, title, what each shows, and
    its parameters."""
    from engine import explore

    return [q.as_dict() for q in explore.saved()]


@router.post(
    "/cypher/saved/{name}",
    response_model=CypherResult,
    responses={**ERRORS, 404: {"model": ErrorBody}},
)
def run_saved(
    name: Annotated[str, Path(max_length=100, examples=["top_by_kind"])],
    svc: Annotated[Services, Depends(services)],
    body: SavedParams | None = None,
) -> dict[str, Any]:
    """Run a saved exploration with its parameters (defaults filled in, types checked)."""
    from engine import explore

    try:
        query = explore.get(name)
    except explore.ExploreError as e:
        raise ApiError(404, e.message, "name") from None
    try:
        params = query.bind((body or SavedParams()).params)
    except explore.ExploreError as e:
        field = f"params.{e.field}" if e.field else "params"
        raise ApiError(422, f"{field}: {e.message}", field) from None
    return run(svc, query.text, params)
