"""`unfragile index` (build the search indexes) and `unfragile search`."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from unfragile.api.cli import remote
from unfragile.api.cli.main import app, fail, friendly, get_settings
from unfragile.engine.errors import InvalidInput, UnknownAlternative
from unfragile.engine.settings import Settings

FILTERS = ("kind", "pricing", "open_weights", "modality", "provider")
# A standalone search slower than this (loading the model, mostly) suggests `unfragile serve`.
SLOW_S = 3.0
TIP = "tip: `unfragile serve` keeps the models loaded; searches then take under a second"


@app.command()
@friendly
def index(
    ctx: typer.Context,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild every index from scratch.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Build missing indexes and update changed ones (capabilities, queries, artifacts, images)."""
    from unfragile.engine import training
    from unfragile.engine.db import open_graph
    from unfragile.engine.indexer import Indexer

    settings = get_settings(ctx)
    with open_graph(settings) as graph:
        reports = Indexer(settings, graph).sync_all(rebuild=rebuild)
        # The learned ranking follows the log: retrained only when the log changed.
        trained = training.train(settings, graph, only_if_changed=True)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports]))
        return
    for r in reports:
        typer.echo(
            f"{r.collection:>12}: {r.total} vectors ({r.index_type}); +{r.added} new, "
            f"{r.updated} updated, -{r.removed} removed in {r.seconds:.1f}s"
        )
    if trained is not None:
        from unfragile.api.cli.train import render as render_training

        typer.echo(render_training(trained))


@app.command()
@friendly
def search(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="What you need, in words.")] = None,
    image: Annotated[
        Path | None, typer.Option(help="Find artifacts whose images look like this one.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(help="A file of queries, one a line; writes one JSON line per query."),
    ] = None,
    alternatives_to: Annotated[
        str | None, typer.Option("--alternatives-to", help="Artifacts that do what this one does.")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100)] = 10,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    pricing: Annotated[str | None, typer.Option(help="Only this pricing tier.")] = None,
    open_weights: Annotated[
        bool | None,
        typer.Option("--open-weights/--closed-weights", help="Only open (or closed) weights."),
    ] = None,
    modality: Annotated[str | None, typer.Option(help="Only with this modality.")] = None,
    provider: Annotated[str | None, typer.Option(help="Only from this provider.")] = None,
    literal: Annotated[
        bool,
        typer.Option(
            "--literal",
            help="Search the literal words: no artifact names, intents or constraints read "
            "from the query.",
        ),
    ] = False,
    local: Annotated[
        bool,
        typer.Option("--local", help="Search in this process even when `unfragile serve` runs."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find artifacts for a need, ranked, with the capability and evidence behind each.

    A running `unfragile serve` of the same home answers it when there is one (the models
    stay loaded there); otherwise this process searches by itself."""
    started = time.monotonic()
    settings = get_settings(ctx)
    modes = sum(x is not None for x in (query, image, batch, alternatives_to))
    if modes != 1:
        fail("give one of: QUERY, --image PATH, --batch FILE or --alternatives-to ID.", 2)
    # GET /search's parameters: the same names, whether a server or this process answers.
    request: dict[str, Any] = {
        name: value
        for name, value in (
            ("q", query),
            ("k", top_k),
            ("kind", kind),
            ("pricing", pricing),
            ("open_weights", open_weights),
            ("modality", modality),
            ("provider", provider),
            ("alternatives_to", alternatives_to),
            ("literal", literal or None),
        )
        if value is not None
    }
    if image is not None or batch is not None:
        _search_files(settings, request, image, batch, as_json)
        return
    server = None if local else remote.live(settings)
    answer = _ask(server, request) if server is not None else None
    if answer is None:
        answer = _search_here(settings, request)
        if server is None and not local and time.monotonic() - started > SLOW_S:
            typer.echo(TIP, err=True)
    typer.echo(json.dumps(answer) if as_json else "\n".join(render(answer)))


def _filters(request: dict[str, Any]) -> Any:
    from unfragile.engine.search import Filters

    return Filters(**{name: request.get(name) for name in FILTERS})


def _check_input(request: dict[str, Any]) -> None:
    """The checks this process makes before it searches, without the graph: each raises the
    very error a standalone search would."""
    from unfragile.engine.search import check_query

    _filters(request).check()
    if "q" in request:
        check_query(request["q"])


def _search_here(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """Answer in this process (loading the text model), in GET /search's response shape."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.search import SearchEngine, check_providers
    from unfragile.engine.search_terms import label_evidence

    filters = _filters(request)
    filters.check()
    k = request["k"]
    with open_graph(settings) as graph:
        check_providers(graph, filters)
        engine = SearchEngine(settings, graph)
        if "q" in request:
            answer = engine.ask(
                request["q"],
                k,
                filters,
                literal=bool(request.get("literal")),
                alternatives_to=request.get("alternatives_to"),
            )
        else:
            answer = engine.ask_alternatives(request["alternatives_to"], k, filters)
        label_evidence(graph, answer.results)
    applied = {name: request[name] for name in (*FILTERS, "alternatives_to") if name in request}
    return {"k": k, "filters": applied, **answer.as_dict()}


def _ask(server: remote.Server, request: dict[str, Any]) -> dict[str, Any] | None:
    """The server's answer; its refusal as the error a standalone search would raise; None
    when it cannot answer (this process then searches by itself)."""
    try:
        reply = server.search(request)
    except OSError as e:
        _note(server, f"did not answer ({e})")
        return None
    if reply.status == 200 and isinstance(reply.body, dict):
        # The CLI prints one page of k results and has no paging: the API's paging fields
        # (offset, total) are left out so both ways print the same JSON.
        return {key: value for key, value in reply.body.items() if key not in ("offset", "total")}
    if 400 <= reply.status < 500:
        # The input's fault, most likely: the standalone checks raise their own message.
        _check_input(request)
        field = reply.body.get("field") if isinstance(reply.body, dict) else None
        if reply.status == 404 and field == "alternatives_to":
            raise UnknownAlternative(request["alternatives_to"])
        # Refused for what only the graph knows (an unknown provider, …): this process
        # asks the graph itself and says it in its own words.
        return None
    _note(server, f"answered HTTP {reply.status}")
    return None


def _note(server: remote.Server, what: str) -> None:
    typer.echo(
        f"note: `unfragile serve` (pid {server.pid}) {what}; searching here instead.", err=True
    )


def render(answer: dict[str, Any]) -> list[str]:
    """The lines `unfragile search` prints for GET /search's answer, wherever it came from."""
    lines = []
    understood = answer.get("understood") or {}
    if understood.get("text"):
        hint = "" if understood.get("literal") else "  (search the literal words: --literal)"
        lines.append(f"Understood: {understood['text']}{hint}")
    results = answer["results"]
    if not results:
        lines.append("No match. Try other words, or fewer filters.")
    elif answer.get("no_good_match"):
        lines.append("Nothing in the catalog does this well; the nearest:")
    for rank, r in enumerate(results, start=1):
        match = f"  match {round(r['match'])}/100" if r.get("match") is not None else ""
        status = "" if r.get("status", "active") == "active" else f", {r['status']}"
        lines.append(
            f"{rank:>2}. {r['name']} [{r['artifact']}, {r['kind']}{status}]{match}  "
            f"score {r['score']:.3f}  "
            + " ".join(f"{n} {v:.2f}" for n, v in r["components"].items())
        )
        if r.get("capability"):
            lines.append(f"    capability: {r['capability']['title']}")
        for e in r.get("evidence") or []:
            lines.append(
                f'    searched as "{e["query"]}" (similarity {e["similarity"]:.2f}, '
                f"{e['sessions']} session{'s' * (e['sessions'] != 1)}, "
                f"{e['clicks']} click{'s' * (e['clicks'] != 1)})" + _sample_note(e)
            )
    return lines


def _sample_note(e: dict[str, Any]) -> str:
    """' [sample events]' when the sessions behind a shown past search are samples."""
    samples = e.get("sample_sessions") or 0
    if not samples:
        return ""
    return " [sample events]" if samples >= (e["sessions"] or 0) else f" [{samples} sample]"


def _search_files(
    settings: Settings,
    request: dict[str, Any],
    image: Path | None,
    batch: Path | None,
    as_json: bool,
) -> None:
    """--image and --batch: always in this process."""
    from unfragile.engine.db import open_graph

    filters = _filters(request)
    filters.check()
    with open_graph(settings) as graph:
        if image is not None:
            from unfragile.engine.indexer import Indexer

            found = Indexer(settings, graph).search_image(image, request["k"])
            _print_image_results(found, image, as_json)
            return
        from unfragile.engine.search import SearchEngine, check_providers

        check_providers(graph, filters)
        assert batch is not None
        _search_batch(SearchEngine(settings, graph), batch, request["k"], filters)


def _search_batch(engine: Any, path: Path, top_k: int, filters: Any) -> None:
    """One JSON line per input line; a bad line is reported (stderr) and skipped."""
    from unfragile.engine.errors import SearchError
    from unfragile.engine.search import check_query

    failures = 0
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as e:
        raise InvalidInput(str(path), None, None, f"cannot read it ({e.strerror})") from None
    pending: list[tuple[int, str]] = []

    def flush() -> None:
        if pending:
            answers = engine.search_many([q for _, q in pending], top_k, filters)
            for (_, q), results in zip(pending, answers, strict=True):
                typer.echo(
                    json.dumps(
                        {
                            "query": q,
                            "results": [
                                {
                                    "artifact": r.artifact,
                                    "score": r.score,
                                    "capability": r.capability,
                                    "components": r.components,
                                    "evidence": r.evidence,
                                }
                                for r in results
                            ],
                        }
                    )
                )
            pending.clear()

    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            failures += 1
            typer.echo(f"error: {path}:{number}: not valid UTF-8; skipped", err=True)
            continue
        if not text.strip():
            continue
        try:
            pending.append((number, check_query(text)))
        except SearchError as e:
            failures += 1
            typer.echo(f"error: {path}:{number}: query {e.message}; skipped", err=True)
            continue
        if len(pending) >= 64:
            flush()
    flush()
    if failures:
        raise typer.Exit(2)


def _print_image_results(results: list[dict[str, Any]], image: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"image": str(image), "results": results}))
        return
    if not results:
        typer.echo("No indexed images yet: add some with `unfragile images add`.")
    for rank, r in enumerate(results, start=1):
        typer.echo(f"{rank:>2}. {r['artifact']}  ({r['kind']})  score {r['score']:.3f}")
