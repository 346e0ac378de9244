"""`unfragile import huggingface`: models from the Hugging Face Hub as model artifacts."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from typing import Annotated

import typer

from unfragile.api.cli.main import friendly, get_settings, import_app

SORTS = ("lastModified", "downloads", "likes")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date as YYYY-MM-DD") from None


def _sort(text: str) -> str:
    if text not in SORTS:
        raise typer.BadParameter(f"{text!r}: use {', '.join(SORTS)}")
    return text


@import_app.command(
    "huggingface",
    help="Import models from the Hugging Face Hub, with real downloads and likes.\n\n"
    "Each model becomes an artifact hf:<org>:<name>; when the catalog already has an artifact "
    "linking to the same Hub page, that artifact's Hub figures are refreshed instead. The "
    "card's prose is decomposed into capabilities; base models become DERIVED_FROM links.\n\n"
    "A run stopped by an error or Ctrl-C keeps its complete batches: the same command "
    "continues from there. 429 and 5xx answers are retried, honouring Retry-After.",
    epilog="Reads https://huggingface.co, or $HF_ENDPOINT / --endpoint (a mirror; the tests "
    "serve the Hub's JSON from 127.0.0.1). HF_TOKEN, when set, is sent to the Hub (gated and "
    "private models) and never printed. Run `unfragile index` and `unfragile rank` afterwards "
    "to search and rank what came in.",
)
@friendly
def import_huggingface(
    ctx: typer.Context,
    task: Annotated[
        str | None,
        typer.Option(help="A pipeline tag: text-generation, image-classification, …"),
    ] = None,
    author: Annotated[str | None, typer.Option(help="A user or organisation, e.g. google.")] = None,
    search: Annotated[
        str | None, typer.Option(help="Text the model ids must contain, e.g. llama.")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Import at most this many models in this run. Sorted by lastModified, the "
            "next run carries on where this one stopped.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE", help="Only models modified on or after this day (YYYY-MM-DD)."
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            metavar="lastModified|downloads|likes",
            help="lastModified (default, newest first) imports incrementally: a later run "
            "asks only for models changed since. downloads or likes take a snapshot of the "
            "top models (use --limit).",
        ),
    ] = "lastModified",
    endpoint: Annotated[
        str | None,
        typer.Option(help="The Hub's address (default: $HF_ENDPOINT or https://huggingface.co)."),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(min=1, help="Models written per batch; progress is saved after each batch."),
    ] = 200,
    workers: Annotated[
        int,
        typer.Option(min=1, max=16, help="Model details and cards read at once."),
    ] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Import models from the Hugging Face Hub, with real downloads and likes."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.importers.huggingface import HubFilters, import_models

    filters = HubFilters(
        task=task,
        author=author,
        search=search,
        sort=_sort(sort),
        since=_day(since) if since else None,
        limit=limit,
    )
    settings = get_settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        report = import_models(
            graph,
            settings.home,
            filters,
            endpoint=endpoint,
            token=os.environ.get("HF_TOKEN") or None,
            batch_size=batch_size,
            workers=workers,
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    refreshed = report.updated_existing
    lines = [
        f"Imported {report.imported} models from the Hugging Face Hub "
        f"({report.capabilities} capabilities; {report.bases} of them base models named by "
        f"others) in {report.batches} batch(es), {report.seconds:.1f}s.",
        f"Listed {report.listed}; {report.skipped} already imported and unchanged, "
        f"{report.unavailable} no longer available, {report.dropped_links} base-model links "
        "dropped (not readable on the Hub).",
    ]
    if refreshed:
        shown = ", ".join(refreshed[:5]) + (
            f" and {len(refreshed) - 5} more" if refreshed[5:] else ""
        )
        lines.append(f"Refreshed the Hub figures of {len(refreshed)} catalog artifact(s): {shown}.")
    if not report.complete:
        lines.append("Stopped at --limit: the next run continues with older changes.")
    elif report.up_to:
        when = datetime.fromisoformat(report.up_to.replace("Z", "+00:00"))
        lines.append(f"Up to date with the Hub to {when:%Y-%m-%d %H:%M} UTC for these filters.")
    lines.append("Run `unfragile index` and `unfragile rank` to search and rank them.")
    typer.echo("\n".join(lines))
