"""`unfragile index` (build the search indexes) and `unfragile search`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from unfragile.api.cli.main import app, fail, friendly, get_settings
from unfragile.engine.db import open_graph
from unfragile.engine.errors import InvalidInput


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
    from unfragile.engine.indexer import Indexer

    settings = get_settings(ctx)
    with open_graph(settings) as graph:
        reports = Indexer(settings, graph).sync_all(rebuild=rebuild)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports]))
        return
    for r in reports:
        typer.echo(
            f"{r.collection:>12}: {r.total} vectors ({r.index_type}); +{r.added} new, "
            f"{r.updated} updated, -{r.removed} removed in {r.seconds:.1f}s"
        )


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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find artifacts for a need, ranked, with the capability and evidence behind each."""
    from unfragile.engine.search import Filters

    settings = get_settings(ctx)
    modes = sum(x is not None for x in (query, image, batch, alternatives_to))
    if modes != 1:
        fail("give one of: QUERY, --image PATH, --batch FILE or --alternatives-to ID.", 2)
    filters = Filters(
        kind=kind, pricing=pricing, open_weights=open_weights, modality=modality, provider=provider
    )
    filters.check()
    shown_query: str | None
    with open_graph(settings) as graph:
        if image is not None:
            from unfragile.engine.indexer import Indexer

            _print_image_results(
                Indexer(settings, graph).search_image(image, top_k), image, as_json
            )
            return
        from unfragile.engine.search import SearchEngine, check_providers

        check_providers(graph, filters)
        engine = SearchEngine(settings, graph)
        if batch is not None:
            _search_batch(engine, batch, top_k, filters)
            return
        if alternatives_to is not None:
            results = engine.alternatives(alternatives_to, top_k, filters)
            shown_query = f"alternatives to {alternatives_to}"
        else:
            results = engine.search(query, top_k, filters)
            shown_query = query
    if as_json:
        typer.echo(json.dumps({"query": shown_query, "results": [r.as_dict() for r in results]}))
        return
    if not results:
        typer.echo("No match. Try other words, or fewer filters.")
    for rank, r in enumerate(results, start=1):
        typer.echo(
            f"{rank:>2}. {r.name} [{r.artifact}, {r.kind}]  score {r.score:.3f}  "
            + " ".join(f"{n} {v:.2f}" for n, v in r.components.items())
        )
        if r.capability:
            typer.echo(f"    capability: {r.capability['title']}")
        for e in r.evidence:
            typer.echo(
                f'    searched as "{e["query"]}" (similarity {e["similarity"]:.2f}, '
                f"{e['sessions']} session{'s' * (e['sessions'] != 1)}, "
                f"{e['clicks']} click{'s' * (e['clicks'] != 1)})"
            )


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
