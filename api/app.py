"""The HTTP API: create_app() builds the FastAPI app; `unfragile serve` runs it with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from unfragile.api import errors
from unfragile.api.config import ApiConfig
from unfragile.api.limits import MULTIPART_SLACK, BodyLimit
from unfragile.api.routes import artifacts, compare, cypher, events, health, search
from unfragile.api.security import Security, install_docs
from unfragile.api.state import Services
from unfragile.engine.settings import Settings

log = logging.getLogger("unfragile.api")

DESCRIPTION = """Find, rank and compare AI models and tools.

Errors are JSON: `{"error", "message", "field", "index"}`. Unknown ids are 404, bad
parameters 422 naming the field, Neo4j down 503 (the API reconnects by itself when it is back).
`POST /events` needs an `X-API-Key` header (keys from `UNFRAGILE_API_KEYS`). Requests must
name this server by a loopback Host (localhost, 127.0.0.1, [::1]) or one listed in
`UNFRAGILE_ALLOWED_HOSTS`; others get 421.
"""


def _warm(svc: Services) -> None:
    """Open the graph and load the encoder and indexes now, so the first search is fast.
    Failing here is fine: /healthz says why and requests retry."""
    try:
        svc.search()
    except Exception as e:  # noqa: BLE001 - any failure is retried by the next request
        log.warning("not ready yet: %s", e)
        svc.lost()


def create_app(
    settings: Settings | None = None, config: ApiConfig | None = None, warm: bool = True
) -> FastAPI:
    """The API over `settings` (default: from the environment) and `config` (keys, CORS,
    limits; default: from the environment)."""
    settings = settings or Settings.from_env()
    config = config or ApiConfig.from_env()
    svc = Services(settings, config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            await run_in_threadpool(_warm, svc)
        yield
        svc.close()

    app = FastAPI(
        title="Unfragile",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=errors.SafeJSONResponse,
        # Served by install_docs instead, with Swagger UI and ReDoc from this server (no
        # internet needed), each page with its own Content-Security-Policy.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = svc
    install_docs(app)
    errors.install(app)
    try:  # the web page, built alongside; the API works without it
        from unfragile.api import web
    except ImportError as e:
        if e.name != "unfragile.api.web":
            log.warning("the web page is off: %s", e)
        web = None
    if web is not None:
        # First: its routes take only a browser's page requests and let the rest through.
        app.include_router(web.router)
    for module in (health, search, artifacts, compare, events, cypher):
        app.include_router(module.router)
    app.add_middleware(
        BodyLimit,
        default=config.max_body_bytes,
        per_path={"/search/image": config.max_image_bytes + MULTIPART_SLACK},
    )
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
        )
    # Last added, so outermost: a foreign Host is refused before anything else runs, and
    # every answer (a 413 from BodyLimit too) carries the security headers.
    app.add_middleware(Security, allowed_hosts=config.allowed_hosts)
    return app
