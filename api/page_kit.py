"""What every page view shares: telling a browser from an API client, the friendly error
pages, rendering, and reading a person's parameters (one clear 4xx message each)."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from unfragile.api.accept import accepted
from unfragile.api.failures import failure
from unfragile.api.render import env
from unfragile.engine.catalog import ArtifactPage, Catalog
from unfragile.engine.errors import GraphUnavailable, IndexMustBeRebuilt, ModelUnavailable

log = logging.getLogger("unfragile.api.web")

templates = Jinja2Templates(env=env)


def wants_page(scope: Scope) -> bool:
    """A browser asking for a page: text/html accepted at least as much as JSON or Markdown,
    and no `format`."""
    if "format" in parse_qs(scope.get("query_string", b"").decode("latin-1")):
        return False
    accept = ""
    for name, value in scope.get("headers", []):
        if name == b"accept":
            accept = value.decode("latin-1")
    quality = {"html": 0.0, "json": 0.0, "markdown": 0.0}
    kinds = {
        "text/html": "html",
        "application/xhtml+xml": "html",
        "application/json": "json",
        "text/markdown": "markdown",
    }
    for media, q in accepted(accept):
        kind = kinds.get(media)
        if kind is not None:
            quality[kind] = max(quality[kind], q)
    return quality["html"] > 0 and quality["html"] >= max(quality["json"], quality["markdown"])


class PageRoute(APIRoute):
    """A route that matches only when `wants_page`; anything else falls through to the API."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not wants_page(scope):
            return Match.NONE, {}
        return match, child


class PageError(Exception):
    """A person's request that gets a friendly page with this status instead of content."""

    def __init__(
        self, status: int, title: str, message: str, candidates: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message
        self.candidates = candidates or []


# Engine messages name CLI commands for operators; a browser page names pages instead.
FOR_PEOPLE = (
    (
        re.compile(r"\?\s*list them with `unfragile leaderboard`"),
        "? The leaderboard lists them all",
    ),
    (
        re.compile(r";?\s*list them with `unfragile leaderboard`"),
        "; the leaderboard lists them all",
    ),
    (
        re.compile(r":?\s*run `unfragile rank`( first)?"),
        ": its scores appear once the catalog is ranked",
    ),
    (re.compile(r"\(?run `unfragile [^`]*`[^.;)]*\)?"), "(the server's operator can fix this)"),
    (re.compile(r"`unfragile [^`]*`"), "the server's operator"),
)


def for_people(message: str) -> str:
    """A message as a page says it: no command lines, a pointer to the page that helps."""
    for pattern, words in FOR_PEOPLE:
        message = pattern.sub(words, message)
    return message


env.globals["for_people"] = for_people


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, e: PageError) -> HTMLResponse:
    response = render(
        request,
        "error.html",
        e.status,
        title=e.title,
        message=for_people(e.message),
        candidates=e.candidates,
        status=e.status,
    )
    if e.status == 503:
        response.headers["Retry-After"] = "5"
    return response


UNREACHABLE = PageError(
    failure(GraphUnavailable).page_status,
    "The graph is unreachable",
    "The graph is unreachable, try again shortly.",
)


NOT_READY = PageError(
    failure(IndexMustBeRebuilt).page_status,
    "Search is not ready",
    "Search is not ready yet (a model or an index is missing); the server log says why.",
)


def friendly(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn the errors a page can meet into pages: 4xx for the person, 503 for Neo4j down."""

    @functools.wraps(view)
    def wrapper(request: Request, **kwargs: Any) -> Response:
        try:
            return view(request, **kwargs)
        except PageError as e:
            return error_page(request, e)
        except GraphUnavailable as e:
            log.warning("page %s: %s", request.url.path, e)
            # Drop the dead connection so a later request reconnects when Neo4j is back.
            request.app.state.services.lost()
            return error_page(request, UNREACHABLE)
        except (ModelUnavailable, IndexMustBeRebuilt) as e:
            log.error("page %s: %s", request.url.path, e)
            # The reason names files under the home folder: the server log has it.
            return error_page(request, NOT_READY)
        except Exception:
            log.exception("page %s failed", request.url.path)
            return error_page(
                request,
                PageError(
                    500,
                    "Something went wrong",
                    "This page could not be built. The error is "
                    "logged on the server; try again, or another page.",
                ),
            )

    return wrapper


# -- parameters ------------------------------------------------------------------------------


def choice(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value not in allowed:
        raise PageError(
            400,
            "Unknown filter",
            f"{name}: unknown value {value!r}; use one of {', '.join(allowed)}.",
        )
    return value


def yes_no(name: str, value: str) -> bool | None:
    value = value.strip().lower()
    if not value:
        return None
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise PageError(400, "Unknown filter", f"{name}: use yes or no (or leave it empty).")


def count(name: str, value: str, default: int, most: int, least: int = 1) -> int:
    value = value.strip()
    if not value:
        return default
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses; and a short
    # run of them, since int() refuses more than 4,300 digits.
    if not re.fullmatch(r"[0-9]{1,9}", value) or not least <= int(value) <= most:
        raise PageError(
            400, "Bad parameter", f"{name}: give a whole number from {least} to {most}."
        )
    return int(value)


def record(catalog: Catalog, artifact_id: str) -> ArtifactPage:
    row = catalog.artifact(artifact_id)
    if row is None:
        raise PageError(404, "No such artifact", f"No artifact has the id {artifact_id!r}.")
    return row
