"""GET /healthz: Neo4j answers and the search indexes are loaded, or 503 with the reason."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends

from unfragile.api.errors import SafeJSONResponse, not_ready_message
from unfragile.api.models import Health
from unfragile.api.state import Services, services
from unfragile.engine.errors import GraphUnavailable, IndexMustBeRebuilt, ModelUnavailable

router = APIRouter(tags=["health"])
log = logging.getLogger("unfragile.api")

# Anyone may call /healthz: the reason says what is wrong, never where (home folder, Bolt
# address); the server log has the full message.
NEO4J_DOWN = "Neo4j is not reachable"


def _down(reason: str, neo4j: bool) -> SafeJSONResponse:
    body = Health(status="unavailable", neo4j=neo4j, reason=reason)
    return SafeJSONResponse(body.model_dump(), status_code=503)


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Neo4j down or no indexes"}},
)
def healthz(svc: Annotated[Services, Depends(services)]) -> Health | SafeJSONResponse:
    """200 when Neo4j answers and the capability index is loaded; 503 with a reason if not."""
    try:
        svc.graph().check()
        engine = svc.search()
    except GraphUnavailable as e:
        log.warning("healthz: %s", e)
        svc.lost()
        return _down(NEO4J_DOWN, neo4j=False)
    except (ModelUnavailable, IndexMustBeRebuilt) as e:
        log.error("healthz: %s", e)
        return _down(not_ready_message(e), neo4j=True)
    if engine.capabilities is None:
        return _down("no capability index yet: run `unfragile index`", neo4j=True)
    indexes = {
        "capabilities": len(engine.capabilities),
        "queries": len(engine.queries) if engine.queries is not None else 0,
    }
    return Health(status="ok", neo4j=True, indexes=indexes)
