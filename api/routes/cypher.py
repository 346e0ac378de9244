"""POST /cypher, GET /cypher/saved, POST /cypher/saved/{name}: read-only Cypher."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path

from unfragile.api.errors import ApiError
from unfragile.api.failures import failure
from unfragile.api.models import CypherRequest, CypherResult, ErrorBody, SavedParams
from unfragile.api.routes.events import require_key
from unfragile.api.state import Services, services
from unfragile.engine.errors import ExploreError, QueryError

router = APIRouter(tags=["cypher"])
log = logging.getLogger("unfragile.api")

INT64 = (-(2**63), 2**63 - 1)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a Cypher error, too complex, or the time limit"},
    403: {"model": ErrorBody, "description": "refused: it would write, read files or administer"},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


def cypher_key(
    svc: Annotated[Services, Depends(services)],
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> None:
    """Ad-hoc Cypher reads anything in the graph: it takes a key (the one POST /events
    takes) unless UNFRAGILE_CYPHER_OPEN=1 opens it. Checked before the body is validated."""
    if svc.config.cypher_open:
        return
    if not svc.config.api_keys:
        raise ApiError(
            403,
            "ad-hoc Cypher queries are disabled: this server has no API keys configured "
            "(set UNFRAGILE_API_KEYS=key1,key2, or UNFRAGILE_CYPHER_OPEN=1 on a trusted "
            "network, and restart it); the saved explorations under /cypher/saved stay open",
        )
    require_key(svc, x_api_key, "ad-hoc Cypher queries")


def _check_text(text: str, where: str) -> None:
    """JSON's "\\ud800" decodes to a lone surrogate: valid JSON, not text the driver can send."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ApiError(
            422, f"{where}: contains a lone surrogate at character {e.start + 1}", where
        ) from None


def check_params(params: dict[str, Any], path: str = "params") -> None:
    """Neo4j takes JSON values except whole numbers beyond 64 bits and text that is not valid
    Unicode; say which one."""
    for name, value in params.items():
        where = f"{path}.{name}"
        _check_text(str(name), path)
        if isinstance(value, str):
            _check_text(value, where)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64[0] <= value <= INT64[1]
        ):
            raise ApiError(422, f"{where}: whole numbers must fit in 64 bits", where)
        if isinstance(value, dict):
            check_params(value, where)
        if isinstance(value, list):
            check_params({str(i): item for i, item in enumerate(value)}, where)


def run(svc: Services, query: str, params: dict[str, Any]) -> dict[str, Any]:
    _check_text(query, "query")
    check_params(params)
    settings = svc.settings
    try:
        columns, rows, truncated = svc.graph().run_read_only(
            query,
            params,
            settings.query_timeout_s,
            settings.cypher_row_cap,
            settings.cypher_byte_cap,
        )
    except QueryError as e:
        if e.detail:  # Neo4j's own text: for the log, not the caller
            log.warning("Cypher error: %s", e.detail)
        raise
    return {
        "columns": columns,
        "rows": rows,
        "truncated": truncated,
        "row_cap": settings.cypher_row_cap,
    }


@router.post(
    "/cypher",
    response_model=CypherResult,
    responses={
        **ERRORS,
        401: {"model": ErrorBody, "description": "no or a wrong X-API-Key"},
        403: {"model": ErrorBody, "description": "refused, or no API keys configured"},
    },
    dependencies=[Depends(cypher_key)],
)
def cypher(body: CypherRequest, svc: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """Run a read-only query, with an X-API-Key (unless the server sets
    UNFRAGILE_CYPHER_OPEN=1). Read twice before it runs and refused (403) if it would write,
    load files, administer or call a procedure or function off the allowlist; then run in a
    READ transaction with a time limit (planning included), a row cap and a byte cap. Give
    user values as `params`, never pasted into the text."""
    return run(svc, body.query, body.params)


@router.get("/cypher/saved", response_model=list[dict[str, Any]])
def saved() -> list[dict[str, Any]]:
    """The saved explorations (cypher/explore/*.cypher): name, title, what each shows, and
    its parameters."""
    from unfragile.engine import explore

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
    from unfragile.engine import explore

    try:
        query = explore.get(name)
    except ExploreError as e:
        raise ApiError(failure(e).status, e.message, "name") from None
    try:
        params = query.bind((body or SavedParams()).params)
    except ExploreError as e:
        field = f"params.{e.field}" if e.field else "params"
        raise ApiError(failure(e).status, f"{field}: {e.message}", field) from None
    return run(svc, query.text, params)
