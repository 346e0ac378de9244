"""Every error an API call can meet, turned into a JSON answer: 4xx for the caller, 503 for
Neo4j down, and a bare 500 (logged, no internals) for anything unforeseen. The status of each
engine, graph or indexing error comes from the table in `api/failures.py`."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from unfragile.api.failures import CODES, failure
from unfragile.engine.errors import (
    EngineError,
    GraphError,
    GraphUnavailable,
    ImageRejected,
    IndexingError,
    IndexMustBeRebuilt,
    InvalidInput,
    ModelUnavailable,
    QueryError,
    RenderError,
)

log = logging.getLogger("unfragile.api")


GRAPH_DOWN = "the graph database (Neo4j) is unavailable. Retry shortly."
INTERNAL = "internal error; the server log has the details"


def not_ready_message(e: Exception) -> str:
    """What a caller is told when search cannot run: which part, not where it lives."""
    if isinstance(e, ModelUnavailable):
        part = "the text model could not be loaded"
    else:
        part = "an index must be rebuilt with `unfragile index`"
    return f"search is not ready: {part}; the server log says why."


class ApiError(Exception):
    """An answer other than 200 that a route decides on."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        index: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.field, self.index = status, message, field, index
        self.headers = headers


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body streams in; an HTTPException so FastAPI's body parsing passes it
    through instead of turning it into a 400."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is over the limit of {limit:,} bytes")


class BodyTooDeep(StarletteHTTPException):
    """Raised once the body is in, before any route parses it: JSON nested past `depth`
    would exhaust a recursive parser or encoder downstream."""

    def __init__(self, depth: int):
        super().__init__(422, f"the request body nests more than {depth} levels deep")


def _plain(value: Any) -> Any:
    """JSON cannot carry NaN or infinity: they become null instead of failing the answer."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return value


class SafeJSONResponse(JSONResponse):
    """JSONResponse that never fails on NaN, infinity or bytes (a Cypher row may hold them)."""

    def render(self, content: Any) -> bytes:
        try:
            return json.dumps(
                content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            ).encode("utf-8")
        except (ValueError, TypeError):
            # ASCII escapes carry what UTF-8 cannot: a lone surrogate echoed from the input.
            return json.dumps(
                _plain(content),
                ensure_ascii=True,
                allow_nan=False,
                separators=(",", ":"),
                default=str,
            ).encode("utf-8")


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    index: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": CODES.get(status, "error"), "message": message, "field": field, "index": index}
    return SafeJSONResponse(body, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """('query', 'k') -> 'k'; ('body', 'params', 'x') -> 'params.x'."""
    parts = [p for p in loc[1:] if not isinstance(p, int)] if len(loc) > 1 else list(loc)
    index = next((p for p in loc if isinstance(p, int)), None)
    return (".".join(str(p) for p in parts) or None), index


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.message, e.field, e.index, e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        errors = e.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field, index = _field_of(tuple(first.get("loc", ())))
        where = f"{field}: " if field else ""
        return error_response(422, f"{where}{first.get('msg', 'invalid')}", field, index)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        message = e.detail if isinstance(e.detail, str) else CODES.get(e.status_code, "error")
        return error_response(e.status_code, message, headers=getattr(e, "headers", None))

    @app.exception_handler(EngineError)
    @app.exception_handler(GraphError)
    @app.exception_handler(IndexingError)
    async def failed(request: Request, e: Exception) -> JSONResponse:
        return answer(request, e)

    from neo4j.exceptions import (
        IncompleteCommit,
        ServiceUnavailable,
        SessionExpired,
        TransientError,
    )

    @app.exception_handler(IncompleteCommit)
    @app.exception_handler(ServiceUnavailable)
    @app.exception_handler(SessionExpired)
    @app.exception_handler(TransientError)
    async def driver_down(request: Request, e: Exception) -> JSONResponse:
        # What the graph layer does not translate: a database shutting down or starting
        # (DatabaseUnavailable), a commit cut off mid-way. Retrying is right for both (event
        # writes are idempotent).
        request.app.state.services.lost()
        log.warning("%s %s: Neo4j %s: %s", request.method, request.url.path, type(e).__name__, e)
        return error_response(
            failure(GraphUnavailable).status, GRAPH_DOWN, headers={"Retry-After": "2"}
        )

    @app.exception_handler(Exception)
    async def unforeseen(request: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return error_response(500, INTERNAL)


def answer(request: Request, e: Exception) -> JSONResponse:
    """The JSON answer to an engine, graph or indexing error: the table's status, and a body
    that tells the caller what they can act on (details for the operator go to the log)."""
    status = failure(e).status
    if isinstance(e, GraphUnavailable):
        request.app.state.services.lost()
        # The reason names the Bolt address and the home folder: the log's, not a caller's.
        log.warning("%s %s: %s", request.method, request.url.path, e)
        return error_response(status, GRAPH_DOWN, headers={"Retry-After": "2"})
    if isinstance(e, ModelUnavailable | IndexMustBeRebuilt):
        # A model that cannot load or an index to rebuild: the operator's to fix, not the
        # caller's. The reason names paths under the home folder, so it goes to the log.
        log.error("%s %s: %s", request.method, request.url.path, e)
        return error_response(status, not_ready_message(e))
    if isinstance(e, InvalidInput):
        return error_response(status, str(e), e.field, e.line)
    if isinstance(e, ImageRejected):
        return error_response(status, str(e), "file")
    if isinstance(e, QueryError | RenderError):
        return error_response(status, str(e))
    # A setting or a local server that fails: not the caller's to see.
    log.error("%s %s: %s: %s", request.method, request.url.path, type(e).__name__, e)
    return error_response(500, INTERNAL)
