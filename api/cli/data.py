"""Loading data: `unfragile ingest`, `events ingest|compact|aggregate`, imports and `stats`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from unfragile.api.cli.main import app, events_app, friendly, get_settings, import_app


@app.command()
@friendly
def ingest(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .jsonl/.json file or a folder of them.")],
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            help="Records per batch; up to 10,000 events are written in one transaction.",
        ),
    ] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Load artifacts and search events; validates everything before writing anything."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.ingest import ingest as run_ingest

    settings = get_settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        report = run_ingest(graph, path, batch_size=batch_size)
    _report(report.as_dict(), as_json)


@events_app.command("ingest")
@friendly
def events_ingest(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .jsonl/.json file or folder.")],
    batch_size: Annotated[int, typer.Option(min=1)] = 2000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add search events (match, click, dwell, feedback, prefer); then run `unfragile index`."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.ingest import ingest as run_ingest

    settings = get_settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        report = run_ingest(graph, path, batch_size=batch_size, events_only=True)
    _report(report.as_dict(), as_json)


@events_app.command("compact")
@friendly
def events_compact(
    ctx: typer.Context,
    before: Annotated[
        str | None,
        typer.Option(help="Fold days before this one (YYYY-MM-DD, UTC); default: today."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fold each old day of the event log into one part (each event once); the graph's
    figures do not change."""
    import datetime

    from unfragile.engine import event_log
    from unfragile.engine.db import open_graph

    day = before or datetime.datetime.now(datetime.UTC).date().isoformat()
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(
            f"{day!r} is not a date YYYY-MM-DD", param_hint="--before"
        ) from None
    with open_graph(get_settings(ctx)) as graph:
        log = event_log.for_graph(graph)
        folded = log.compact(day) if log is not None else {"days": 0, "parts": 0, "events": 0}
    if as_json:
        typer.echo(json.dumps(folded))
    else:
        typer.echo(
            f"Folded {folded['parts']} parts of {folded['days']} days before {day} "
            f"({folded['events']} events)."
        )


@events_app.command("aggregate")
@friendly
def events_aggregate(
    ctx: typer.Context,
    batch_size: Annotated[int, typer.Option(min=1)] = 2000,
    engine: Annotated[
        str,
        typer.Option(
            help="embedded: DuckDB, the parts not yet in the graph. spark: an Apache Spark "
            "job over the whole log, written through the Neo4j Connector for Apache Spark "
            "(pip install '.[spark]').",
        ),
    ] = "embedded",
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master URL (spark://host:7077, yarn, local[4]); default local[*]."
        ),
    ] = None,
    log: Annotated[
        str | None,
        typer.Option(
            help="Spark: the event log to read, a folder or a Hadoop-compatible URL "
            "(hdfs://, s3a://); default this graph's own."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write the aggregates of event-log parts not yet in the graph (what an interrupted
    ingest left; every ingest does this first anyway), or of the whole log with Spark."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.ingest import complete_journal

    if engine not in ("embedded", "spark"):
        raise typer.BadParameter(f"{engine!r}: use embedded or spark", param_hint="--engine")
    if engine == "spark":
        from unfragile.engine import spark_aggregate

        done = spark_aggregate.run(get_settings(ctx), log, master, batch_size)
        typer.echo(
            json.dumps(done)
            if as_json
            else f"Spark folded {done['events']} events: {done['queries']} queries, "
            f"{done['matched']} matched pairs, {done['preferred']} preferences in "
            f"{done['seconds']:.1f}s."
        )
        return
    if master is not None or log is not None:
        raise typer.BadParameter("--master and --log go with --engine spark", param_hint="--log")
    with open_graph(get_settings(ctx), apply_schema=True) as graph:
        parts = complete_journal(graph, batch_size)
    typer.echo(json.dumps({"parts": parts}) if as_json else f"Applied {parts} pending parts.")


@import_app.command("metatool")
@friendly
def import_metatool(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="The MetaTool data folder.")],
    no_queries: Annotated[
        bool, typer.Option("--no-queries", help="Load the tools alone, not queries.csv.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import MetaTool: 199 tools as artifacts, its labelled queries as match events."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.ingest import ingest as run_ingest
    from unfragile.engine.metatool import embedder, metatool_records

    settings = get_settings(ctx)
    # The model groups merged-away plugins under their merged tool (engine.metatool); it is
    # loaded once the folder has been read, so a wrong folder fails without waiting for it.
    records = metatool_records(
        folder,
        with_queries=not no_queries,
        embed=embedder(settings.text_model),
    )
    with open_graph(settings, apply_schema=True) as graph:
        report = run_ingest(graph, records=records)
    _report(report.as_dict(), as_json)


def _report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report))
    else:
        typer.echo(
            f"Loaded {report['artifacts']} artifacts ({report['capabilities']} "
            f"capabilities) and {report['events']} events in {report['seconds']:.1f}s."
        )


@app.command()
@friendly
def stats(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Count artifacts, capabilities, queries, match edges and images."""
    from unfragile.engine.catalog import Catalog
    from unfragile.engine.db import open_graph

    with open_graph(get_settings(ctx)) as graph:
        counts = Catalog(graph).counts()
    if as_json:
        typer.echo(json.dumps(counts))
    else:
        for name, value in counts.items():
            typer.echo(f"{name:>13}: {value}")
