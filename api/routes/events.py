"""POST /events: search events (issue 2's format), one or a list, with an API key."""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from unfragile.api.errors import ApiError
from unfragile.api.failures import failure
from unfragile.api.models import EVENT_SCHEMA, ErrorBody, EventsAccepted
from unfragile.api.state import Services, services
from unfragile.engine.errors import InvalidInput
from unfragile.engine.records import RawRecord
from unfragile.engine.validation import validate_event

router = APIRouter(tags=["events"])

SOURCE = "request"


def require_key(svc: Services, key: str | None, what: str = "writes") -> None:
    """401 without a valid key; 403 when the server has no keys at all (`what` disabled)."""
    keys = svc.config.api_keys
    if not keys:
        raise ApiError(
            403,
            f"{what} are disabled: this server has no API keys configured "
            "(set UNFRAGILE_API_KEYS=key1,key2 and restart it)",
        )
    if not key:
        raise ApiError(
            401,
            f"{what} need an API key: send one in the X-API-Key header",
            "X-API-Key",
            headers={"WWW-Authenticate": "X-API-Key"},
        )
    # Compare against every key in constant time, so timing tells nothing about a key.
    matches = [hmac.compare_digest(key.encode(), k.encode()) for k in keys]
    if not any(matches):
        raise ApiError(
            401,
            "the API key in X-API-Key is not valid",
            "X-API-Key",
            headers={"WWW-Authenticate": "X-API-Key"},
        )


def _invalid(e: InvalidInput) -> ApiError:
    what = f"field '{e.field}': " if e.field else ""
    where = f"event {e.line}: " if e.line is not None else ""
    return ApiError(failure(e).status, f"{where}{what}{e.message}", e.field, e.line)


@router.post(
    "/events",
    response_model=EventsAccepted,
    responses={
        401: {"model": ErrorBody, "description": "no or a wrong X-API-Key"},
        403: {"model": ErrorBody, "description": "no API keys configured"},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody, "description": "names the field and the index"},
        503: {"model": ErrorBody},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            EVENT_SCHEMA,
                            {"type": "array", "items": EVENT_SCHEMA, "minItems": 1},
                        ]
                    }
                }
            },
        }
    },
)
async def post_events(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None,
) -> dict[str, Any]:
    """Add search events (match, click, dwell, feedback, prefer). Everything is validated
    before anything is written, and a batch is written whole or not at all; an event's id
    (given, or derived from its content) makes a retry change nothing. New past-query
    vectors wait for `unfragile index`."""
    require_key(svc, x_api_key)
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(422, "the body is not valid JSON", "body") from None
    except RecursionError:  # BodyLimit refuses deep bodies first; this is the backstop
        raise ApiError(422, "the body nests too deeply", "body") from None
    except ValueError:  # an integer over Python's 4,300-digit limit
        raise ApiError(422, "the body holds a number too long to read", "body") from None
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise ApiError(422, "the list of events is empty", "body")
    if len(items) > svc.config.max_events:
        raise ApiError(
            413,
            f"{len(items):,} events in one request; the limit is {svc.config.max_events:,}",
            "body",
        )
    records = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError(422, f"event {index}: must be a JSON object", None, index)
        if item.get("source") is None:
            # An event posted without a source is marked as the API's; a client may say
            # `sample` (honest about synthetic events) or `import:<name>` itself.
            item = {**item, "source": "api"}
        records.append(RawRecord(SOURCE, index, item))
    try:
        ids = [validate_event(r).id for r in records]
    except InvalidInput as e:
        raise _invalid(e) from None
    await run_in_threadpool(_write, svc, records)
    return {"events": len(ids), "ids": ids}


def _write(svc: Services, records: list[RawRecord]) -> None:
    from unfragile.engine.ingest import ingest

    try:
        # The same validation again, now with references to the graph (artifacts exist),
        # then the batch is appended to the event log (each event id once) and its
        # aggregates written in one transaction; if that fails the logged part stays
        # pending and the next events write (a retry of this one too) applies it.
        ingest(
            svc.graph(),
            records=records,
            show_progress=False,
            events_only=True,
            one_transaction=True,
            finish_journal=False,
        )
    except InvalidInput as e:
        raise _invalid(e) from None
