"""The web page: search, artifact, comparison and leaderboard pages as server-rendered HTML.

Every page reads through the engine (search, and the catalog for pages and listings); no Cypher
is written here,
and user text reaches Neo4j only as query parameters inside those functions. Templates are
Jinja2 with autoescape on. `/compare` and `/leaderboard` share their paths with the JSON API:
their routes here match only a browser's request for a page (an Accept header that prefers
text/html, and no `format` parameter), so include this router before the API's routes and
every other request falls through to the API.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from unfragile.api.accept import accepted
from unfragile.api.failures import failure
from unfragile.api.render import STATIC, STYLESHEET, env
from unfragile.api.state import Services, services
from unfragile.engine.catalog import ArtifactPage, Catalog
from unfragile.engine.errors import (
    AmbiguousName,
    CompareError,
    GraphUnavailable,
    IndexMustBeRebuilt,
    ModelUnavailable,
    SearchError,
    UnknownArtifact,
)
from unfragile.engine.figures import evidence_note
from unfragile.engine.records import KINDS, MODALITIES, PRICING
from unfragile.engine.search import Filters
from unfragile.engine.search_terms import label_evidence

log = logging.getLogger(__name__)

RESULTS_DEFAULT, RESULTS_MAX = 10, 50
LEADERBOARD_DEFAULT, LEADERBOARD_MAX = 50, 1000
SEARCH_PARAMS = (
    "q",
    "k",
    "kind",
    "pricing",
    "open_weights",
    "modality",
    "alternatives_to",
    "literal",
)
CANDIDATES_SHOWN = 10

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


router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
ServicesDep = Annotated[Services, Depends(services)]


class PageError(Exception):
    """A person's request that gets a friendly page with this status instead of content."""

    def __init__(
        self, status: int, title: str, message: str, candidates: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.status, self.title, self.message = status, title, message
        self.candidates = candidates or []


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, e: PageError) -> HTMLResponse:
    response = render(
        request,
        "error.html",
        e.status,
        title=e.title,
        message=e.message,
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


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
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


def _yes_no(name: str, value: str) -> bool | None:
    value = value.strip().lower()
    if not value:
        return None
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise PageError(400, "Unknown filter", f"{name}: use yes or no (or leave it empty).")


def _count(name: str, value: str, default: int, most: int) -> int:
    value = value.strip()
    if not value:
        return default
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses; and a short
    # run of them, since int() refuses more than 4,300 digits.
    if not re.fullmatch(r"[0-9]{1,9}", value) or not 1 <= int(value) <= most:
        raise PageError(400, "Bad parameter", f"{name}: give a whole number from 1 to {most}.")
    return int(value)


def _record(catalog: Catalog, artifact_id: str) -> ArtifactPage:
    row = catalog.artifact(artifact_id)
    if row is None:
        raise PageError(404, "No such artifact", f"No artifact has the id {artifact_id!r}.")
    return row


# -- pages ---------------------------------------------------------------------------------


@router.get("/static/" + STYLESHEET)
def stylesheet() -> FileResponse:
    return FileResponse(
        STATIC / STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/")
@friendly
def search_page(request: Request, svc: ServicesDep) -> Response:
    """'Need something different?': the search box, and results with their evidence."""
    params = request.query_params
    form = {name: params.get(name, "") for name in SEARCH_PARAMS}
    try:
        answer, heading, anchor = _search(svc, params, form)
    except PageError as e:
        return render(
            request,
            "search.html",
            e.status,
            form=form,
            results=None,
            heading=None,
            anchor=None,
            error=e,
        )
    return render(
        request,
        "search.html",
        form=form,
        heading=heading,
        anchor=anchor,
        results=None if answer is None else [_with_why(r.as_dict()) for r in answer.results],
        understood=None if answer is None else answer.understood,
        no_good_match=answer is not None and answer.no_good_match,
        error=None,
        catalog_as_of=_as_of(svc, needed=answer is not None),
    )


def _with_why(result: dict[str, Any]) -> dict[str, Any]:
    """The result with `why`: its evidence rows grouped one line per past search (a search
    may have led to the artifact and to one of its capabilities: one line, both targets), each
    saying whether its sessions are sample events; the heading counts these lines."""
    lines: dict[str, dict[str, Any]] = {}
    for e in result["evidence"]:
        line = lines.setdefault(
            e["query"], {"query": e["query"], "targets": [], "sessions": 0, "samples": 0}
        )
        line["targets"].append(e)
        line["sessions"] += e["sessions"] or 0
        line["samples"] += e.get("sample_sessions") or 0
    why = list(lines.values())
    for line in why:
        line["sample"] = (
            "all"
            if line["samples"] and line["samples"] >= line["sessions"]
            else "some"
            if line["samples"]
            else ""
        )
    samples = sum(1 for line in why if line["sample"])
    result["why"] = why
    result["why_samples"] = (
        "all" if why and samples == len(why) else f"{samples}" if samples else ""
    )
    return result


def _as_of(svc: Services, needed: bool = True) -> str | None:
    """'Catalog as of' for the footer. The bare search box works without Neo4j (`needed`
    false): then an unreachable graph only leaves the date out."""
    try:
        return svc.catalog().as_of()
    except GraphUnavailable:
        if needed:
            raise
        svc.lost()
        return None


def _search(svc: Services, params: Any, form: dict[str, str]) -> tuple[Any, ...]:
    """(answer, heading, anchor): what the search page shows for these parameters."""
    unknown = sorted(set(params) - set(SEARCH_PARAMS))
    if unknown:
        raise PageError(
            400,
            "Unknown filter",
            f"{unknown[0]}: unknown parameter; the search takes {', '.join(SEARCH_PARAMS)}.",
        )
    filters = Filters(
        kind=_choice("kind", form["kind"], KINDS),
        pricing=_choice("pricing", form["pricing"], PRICING),
        open_weights=_yes_no("open_weights", form["open_weights"]),
        modality=_choice("modality", form["modality"], MODALITIES),
    )
    k = _count("k", form["k"], RESULTS_DEFAULT, RESULTS_MAX)
    alternatives_to = form["alternatives_to"].strip()
    anchor: dict[str, Any] | None
    try:
        if alternatives_to:
            record = _record(svc.catalog(), alternatives_to)
            anchor = {"id": alternatives_to, "name": record.name}
            answer = svc.search().ask_alternatives(alternatives_to, k, filters)
            label_evidence(svc.graph(), answer.results)
            return answer, f"Alternatives to {anchor['name']}", anchor
        if "q" in params:
            literal = _yes_no("literal", form["literal"]) or False
            answer = svc.search().ask(form["q"], k, filters, literal=literal)
            label_evidence(svc.graph(), answer.results)
            top = answer.results[0] if answer.results else None
            anchor = {"id": top.artifact, "name": top.name} if top else None
            return answer, f"Results for “{form['q'].strip()}”", anchor
    except SearchError as e:
        raise PageError(failure(e).page_status, "Search needs something else", str(e)) from None
    return None, None, None


@router.get("/artifact/{artifact_id:path}")
@friendly
def artifact_page(request: Request, artifact_id: str, svc: ServicesDep) -> Response:
    """One artifact: its record, UnfragileRank with interval and sub-scores, capabilities."""
    row = _record(svc.catalog(), artifact_id)
    props = row.props
    url = props.get("url") or ""
    return render(
        request,
        "artifact.html",
        id=artifact_id,
        a=props,
        capabilities=row.capabilities,
        alternatives=row.alternatives,
        # The figures always travel with their labels (illustrative, as of a day).
        figures=row.figures(),
        evidence_note=evidence_note(row.evidence),
        catalog_as_of=_as_of(svc),
        # Only web links become links: no javascript: or data: URLs from the catalog.
        url=url if url.lower().startswith(("https://", "http://")) else None,
    )


def compare_page(request: Request, svc: ServicesDep) -> Response:
    """Two artifacts side by side, from the same dict the JSON API serves."""
    params = request.query_params
    a_text, b_text = params.get("a", ""), params.get("b", "")
    if not a_text.strip() and not b_text.strip():
        return render(request, "compare_form.html", a=a_text, b=b_text)
    catalog = svc.catalog()
    ids = [_resolve(catalog, text, side) for text, side in ((a_text, "A"), (b_text, "B"))]
    try:
        page = catalog.compare(ids[0], ids[1])
    except CompareError as e:
        raise PageError(failure(e).page_status, "These two cannot be compared", str(e)) from None
    return render(request, "compare.html", page=page)


def _resolve(catalog: Catalog, text: str, side: str) -> str:
    if not text.strip():
        raise PageError(400, "Name two artifacts", f"{side}: give an artifact id or name.")
    try:
        return catalog.resolve(text, side)
    except UnknownArtifact as e:
        raise PageError(failure(e).page_status, "No such artifact", str(e)) from None
    except AmbiguousName as e:
        candidates = catalog.candidates(text)
        raise PageError(
            failure(e).page_status,
            f"Which one did you mean for {side}?",
            str(e),
            candidates[:CANDIDATES_SHOWN],
        ) from None


def leaderboard_page(request: Request, svc: ServicesDep) -> Response:
    """The best-ranked artifacts, optionally of one kind."""
    params = request.query_params
    kind = _choice("kind", params.get("kind", ""), KINDS)
    top = _count("top", params.get("top", ""), LEADERBOARD_DEFAULT, LEADERBOARD_MAX)
    board = svc.catalog().leaderboard(kind, top)
    ranked = board.ranked > 0
    return render(
        request,
        "leaderboard.html",
        rows=board.rows,
        kind=kind or "",
        top=top,
        ranked=ranked,
        catalog_as_of=_as_of(svc),
    )


for _path, _view in (("/compare", compare_page), ("/leaderboard", leaderboard_page)):
    router.add_api_route(
        _path,
        friendly(_view),
        methods=["GET"],
        route_class_override=PageRoute,
        response_class=HTMLResponse,
        include_in_schema=False,
    )
