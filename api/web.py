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

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from unfragile.api import svg
from unfragile.api.cards import badges, paging, why_line
from unfragile.api.failures import failure
from unfragile.api.page_kit import (
    PageError,
    PageRoute,
    choice,
    count,
    friendly,
    record,
    render,
    yes_no,
)
from unfragile.api.render import STATIC, STYLESHEET, link
from unfragile.api.state import Services, services
from unfragile.engine import rank_history
from unfragile.engine.candidates import PRESELECT, PRESELECT_MARGIN
from unfragile.engine.catalog import Catalog
from unfragile.engine.compare import Comparison
from unfragile.engine.errors import (
    AmbiguousName,
    CompareError,
    GraphUnavailable,
    SearchError,
    UnknownArtifact,
)
from unfragile.engine.figures import evidence_note
from unfragile.engine.neighbourhood import neighbourhood
from unfragile.engine.pages import COMPARED_TOP, DIRECTIONS, SORTS, Pages, short_name
from unfragile.engine.records import KINDS, MODALITIES, PRICING
from unfragile.engine.search import Filters
from unfragile.engine.search_terms import label_evidence
from unfragile.engine.verdict import sentence

log = logging.getLogger(__name__)

RESULTS_DEFAULT, RESULTS_MAX = 10, 50
# A search orders its first SEARCH_POOL results the same whatever k it is asked for: a page
# asks for at least that many and shows its slice ("11–20 of 30"), page 1 being exactly the
# top 10 every front end shows.
SEARCH_POOL = PRESELECT - PRESELECT_MARGIN
LEADERBOARD_DEFAULT, LEADERBOARD_MAX = 50, 1000
OFFSET_MAX = 1_000_000
SEARCH_PARAMS = (
    "q",
    "k",
    "offset",
    "kind",
    "pricing",
    "open_weights",
    "modality",
    "alternatives_to",
    "literal",
)
BOARD_PARAMS = ("kind", "task", "pricing", "open_weights", "sort", "order", "top", "offset")
CANDIDATES_SHOWN = 10
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
EXAMPLES = (
    "classify images",
    "transcribe a meeting recording",
    "an open-weights alternative to GPT-4o",
    "generate a video from text",
    "a vector database I can run locally",
    "free text to speech",
)


router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
ServicesDep = Annotated[Services, Depends(services)]


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
        answer, heading, anchor, shown, pages = _search(svc, params, form)
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
            home=None,
        )
    results = None
    if answer is not None:
        facts = Pages(svc.graph()).card_facts([r.artifact for r in shown])
        results = [
            _card(r.as_dict(), facts, anchor if form["alternatives_to"] else None) for r in shown
        ]
    return render(
        request,
        "search.html",
        form=form,
        heading=heading,
        anchor=anchor,
        results=results,
        paging=pages,
        understood=None if answer is None else answer.understood,
        no_good_match=answer is not None and answer.no_good_match,
        error=None,
        home=_home(svc) if answer is None else None,
        catalog_as_of=_as_of(svc, needed=answer is not None),
    )


def _card(
    result: dict[str, Any], facts: dict[str, dict[str, Any]], anchor: dict[str, Any] | None
) -> dict[str, Any]:
    """A result as a decision card: the evidence lines, a plain why, badges."""
    result = _with_why(result)
    result["why_line"] = why_line(result, anchor["short"] if anchor else None)
    result["badges"] = badges(result, facts.get(result["artifact"]))
    return result


def _home(svc: Services) -> dict[str, Any] | None:
    """What the bare search page offers: example searches and the best three of each kind
    (without them when Neo4j is unreachable: the search box still works)."""
    try:
        best = Pages(svc.graph()).best_of_kinds()
    except GraphUnavailable:
        svc.lost()
        best = []
    return {"examples": EXAMPLES, "best": best}


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
        kind=choice("kind", form["kind"], KINDS),
        pricing=choice("pricing", form["pricing"], PRICING),
        open_weights=yes_no("open_weights", form["open_weights"]),
        modality=choice("modality", form["modality"], MODALITIES),
    )
    k = count("k", form["k"], RESULTS_DEFAULT, RESULTS_MAX)
    offset = count("offset", form["offset"], 0, OFFSET_MAX, least=0)
    asked = max(SEARCH_POOL, offset + k)
    alternatives_to = form["alternatives_to"].strip()
    anchor: dict[str, Any] | None
    try:
        if alternatives_to:
            found = record(svc.catalog(), alternatives_to)
            anchor = {
                "id": alternatives_to,
                "name": found.name,
                "short": short_name(found.props),
            }
            answer = svc.search().ask_alternatives(alternatives_to, asked, filters)
            heading = f"Alternatives to {anchor['name']}"
        elif "q" in params:
            literal = yes_no("literal", form["literal"]) or False
            answer = svc.search().ask(form["q"], asked, filters, literal=literal)
            top = answer.results[0] if answer.results else None
            anchor = {"id": top.artifact, "name": top.name} if top else None
            heading = f"Results for “{form['q'].strip()}”"
        else:
            return None, None, None, [], None
    except SearchError as e:
        raise PageError(failure(e).page_status, "Search needs something else", str(e)) from None
    # This page is a slice of one search; what it found is the total.
    shown = answer.results[offset : offset + k]
    label_evidence(svc.graph(), shown)
    kept = {name: form[name] for name in SEARCH_PARAMS if form[name].strip()}
    total = len(answer.results)
    pages = paging("/", kept, offset, len(shown), total, k, capped=total >= asked)
    return answer, heading, anchor, shown, pages


@router.get("/artifact/{artifact_id:path}")
@friendly
def artifact_page(request: Request, artifact_id: str, svc: ServicesDep) -> Response:
    """One artifact: its record, UnfragileRank with interval and sub-scores, capabilities."""
    row = record(svc.catalog(), artifact_id)
    props = row.props
    url = props.get("url") or ""
    short = short_name(props)
    picture = neighbourhood(svc.graph(), artifact_id)
    history = rank_history.parse(props.get("rank_history"))
    ranked = props.get("unfragile_rank") is not None
    return render(
        request,
        "artifact.html",
        id=artifact_id,
        a=props,
        short=short,
        capabilities=row.capabilities,
        alternatives=row.alternatives,
        # The figures always travel with their labels (illustrative, as of a day).
        figures=row.figures(),
        evidence_note=evidence_note(row.evidence),
        catalog_as_of=_as_of(svc),
        # Only web links become links: no javascript: or data: URLs from the catalog.
        url=url if url.lower().startswith(("https://", "http://")) else None,
        chart=svg.score_bars([(short, props)], f"Sub-scores of {short}") if ranked else None,
        picture=picture,
        graph_svg=svg.neighbourhood(picture, f"The match graph around {short}")
        if picture
        else None,
        history=history,
        sparkline=svg.sparkline(history, f"UnfragileRank of {short} over time"),
        images=picture.images if picture else [],
    )


@router.get("/image/{image_id}")
@friendly
def image_file(request: Request, image_id: str, svc: ServicesDep) -> Response:
    """A sample image the graph records, served from the home's image folder only."""
    found = Pages(svc.graph()).image_file(image_id)
    path = Path(found["file"]).resolve() if found and found.get("file") else None
    folder = svc.settings.home.resolve()
    if path is None or not path.is_file() or folder not in path.parents:
        raise PageError(404, "No such image", "No sample image has this id.")
    media = IMAGE_TYPES.get(path.suffix.lower())
    if media is None:
        raise PageError(404, "No such image", "No sample image has this id.")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})


def compare_page(request: Request, svc: ServicesDep) -> Response:
    """Two artifacts side by side, from the same dict the JSON API serves."""
    params = request.query_params
    a_text, b_text = params.get("a", ""), params.get("b", "")
    if not a_text.strip() and not b_text.strip():
        return render(request, "compare_form.html", a=a_text, b=b_text)
    catalog = svc.catalog()
    # Two reads in all: both names' exact matches at once, then everything the page shows
    # (both sides, the footer's date, "people also compared").
    exact = catalog.exact_matches([a_text, b_text])
    ids = [
        _resolve(catalog, text, side, rows)
        for text, side, rows in ((a_text, "A", exact[0]), (b_text, "B", exact[1]))
    ]
    try:
        found = catalog.comparison(ids[0], ids[1], also=COMPARED_TOP)
    except CompareError as e:
        raise PageError(failure(e).page_status, "These two cannot be compared", str(e)) from None
    return render(request, "compare.html", page=found.page, extras=compare_extras(found, request))


def compare_extras(found: Comparison, request: Request) -> dict[str, Any]:
    """What the browser's comparison page adds to the shared page: short names, the chart,
    every capability (the "+N more" open in place), who else the same searches led to, and
    the link preview (meta description, Open Graph, schema.org JSON-LD)."""
    page, short, also = found.page, found.short, found.also
    url = str(request.url)
    v = page["verdict"]
    return {
        "short": short,
        # The same verdict, built from the same fields, naming each side by its short name.
        "verdict": sentence(
            short["a"],
            short["b"],
            v["a_rank"],
            v["b_rank"],
            v["higher"],
            v["a_leads"],
            v["b_leads"],
            v["ties"],
        ),
        # What "+N more" opens: every capability the page does not show already.
        "more": {
            key: [
                c
                for c in found.capabilities[key]
                if (c["title"], c["text"])
                not in {(x["title"], x["text"]) for x in page["capabilities"][key]["shown"]}
            ]
            for key in ("a", "b")
        },
        "chart": svg.score_bars(
            [(short["a"], page["a"]["scores"]), (short["b"], page["b"]["scores"])],
            f"Sub-scores of {short['a']} and {short['b']}",
        ),
        "also": also,
        "url": url,
        "json_ld": svg.json_ld(
            {
                "@context": "https://schema.org",
                "@type": "WebPage",
                "name": page["title"],
                "description": page["verdict"]["sentence"],
                "url": url,
                "about": [
                    {
                        "@type": "SoftwareApplication",
                        "name": page[key]["name"],
                        "applicationCategory": page[key]["kind"],
                        "url": str(request.url_for("artifact_page", artifact_id=page[key]["id"])),
                    }
                    for key in ("a", "b")
                ],
            }
        ),
    }


def _resolve(
    catalog: Catalog, text: str, side: str, exact: list[dict[str, Any]] | None = None
) -> str:
    if not text.strip():
        raise PageError(400, "Name two artifacts", f"{side}: give an artifact id or name.")
    try:
        return catalog.resolve(text, side, exact)
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
    """The best-ranked artifacts: a board per kind and task, filters, sortable, in pages."""
    params = request.query_params
    unknown = sorted(set(params) - set(BOARD_PARAMS))
    if unknown:
        raise PageError(
            400,
            "Unknown filter",
            f"{unknown[0]}: unknown parameter; the leaderboard takes {', '.join(BOARD_PARAMS)}.",
        )
    form = {name: params.get(name, "").strip() for name in BOARD_PARAMS}
    # Every parameter is checked before the graph is asked: bad input is a 400 even when
    # Neo4j is down.
    kind = choice("kind", form["kind"], KINDS)
    pricing = choice("pricing", form["pricing"], PRICING)
    open_weights = yes_no("open_weights", form["open_weights"])
    sort = choice("sort", form["sort"], SORTS) or "rank"
    order = choice("order", form["order"], DIRECTIONS) or ("asc" if sort == "name" else "desc")
    top = count("top", form["top"], LEADERBOARD_DEFAULT, LEADERBOARD_MAX)
    offset = count("offset", form["offset"], 0, OFFSET_MAX, least=0)
    pages = Pages(svc.graph())
    tasks = pages.tasks()
    task = form["task"] or None
    if task is not None and task not in {t["task"] for t in tasks}:
        raise PageError(
            404,
            "No such board",
            f"task: no ranked artifact has the task {task!r}; the leaderboard lists the tasks.",
        )
    board = pages.board(kind, task, pricing, open_weights, sort, order, offset, top)
    kept = {k: v for k, v in form.items() if v}
    return render(
        request,
        "leaderboard.html",
        rows=board.rows,
        form=form,
        kind=kind or "",
        task=task or "",
        tasks=tasks,
        sort=sort,
        order=order,
        # Column headers link to this board sorted by them (again: the other way round).
        sort_links={
            key: link(
                "/leaderboard",
                **{k: v for k, v in kept.items() if k not in ("sort", "order", "offset")},
                sort=key,
                order=("asc" if order == "desc" else "desc")
                if key == sort
                else ("asc" if key == "name" else "desc"),
            )
            for key in SORTS
        },
        paging=paging("/leaderboard", kept, offset, len(board.rows), board.total, top),
        total=board.total,
        ranked=board.ranked > 0,
        ranked_all=board.ranked,
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
