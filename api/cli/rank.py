"""`unfragile rank`, `leaderboard` and `compare`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from unfragile.api.cli.main import app, fail, friendly, get_settings


@app.command()
@friendly
def rank(
    ctx: typer.Context,
    engine: Annotated[
        str,
        typer.Option(
            help="Where PageRank runs: networkx (default) or gds (Neo4j Graph Data Science)."
        ),
    ] = "networkx",
    weights: Annotated[
        Path | None,
        typer.Option(
            help="A TOML file of weights (default: $UNFRAGILE_RANK_WEIGHTS or the "
            "built-in engine/ranking/rank_weights.toml)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Recompute UnfragileRank, sub-scores and ALTERNATIVE_TO edges; write them back."""
    from unfragile.engine import rank_history
    from unfragile.engine.db import open_graph
    from unfragile.engine.ranking import load_config
    from unfragile.engine.ranking import rank as run_rank

    settings = get_settings(ctx)
    config = load_config(weights)
    with open_graph(settings, apply_schema=True) as graph:
        report = run_rank(
            graph, config, engine=engine, settings=settings, batch_size=settings.batch_size
        )
        # A dated snapshot of every artifact's scores: the pages' rank history.
        rank_history.snapshot(graph)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(
            f"Ranked {report.artifacts} artifacts ({report.matched_artifacts} with "
            f"match evidence from {report.sessions} sessions) with {report.engine} in "
            f"{report.seconds['total']:.1f}s; {report.alternative_edges} ALTERNATIVE_TO "
            f"edges ({report.alternatives_source}); freshness reference "
            f"{report.reference_date}."
        )


@app.command()
@friendly
def leaderboard(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="How many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The best-ranked artifacts, with their interval and sub-scores."""
    from unfragile.engine.catalog import Catalog
    from unfragile.engine.db import open_graph
    from unfragile.engine.records import KINDS

    if kind is not None and kind not in KINDS:
        fail(f"--kind {kind!r}: use one of {', '.join(KINDS)}.", 2)
    with open_graph(get_settings(ctx)) as graph:
        board = Catalog(graph).leaderboard(kind, top)
        rows = board.rows
        if not rows and not board.ranked:
            fail("nothing is ranked yet: run `unfragile rank` first.", 2)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for n, r in enumerate(rows, start=1):
        # Unknown adoption (no figures) says so; illustrative figures are marked.
        adoption = "unknown" if r["adoption"] is None else f"{r['adoption']:.0f}"
        if r.get("signals_illustrative"):
            adoption += " (illustrative figures)"
        typer.echo(
            f"{n:>3}. {r['unfragile_rank']:>3} [{r['rank_low']}-{r['rank_high']}]  "
            f"{r['name']} ({r['id']}, {r['kind']})  adoption {adoption}  "
            f"quality {r['quality']:.0f} ({r['quality_basis']})  ecosystem "
            f"{r['ecosystem']:.0f}  match graph {r['match_graph']:.0f}  freshness "
            f"{r['freshness']:.0f}  matched {r['times_matched']}"
        )


@app.command()
@friendly
def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="An artifact id or name.")],
    b: Annotated[str, typer.Argument(help="Another artifact id or name.")],
    fmt: Annotated[str, typer.Option("--format", help="md (default), json or html.")] = "md",
) -> None:
    """Compare two artifacts: verdict, scores table, capabilities, where to look instead."""
    from unfragile.api.render import FORMATS
    from unfragile.api.render import compare as render
    from unfragile.engine.catalog import Catalog
    from unfragile.engine.db import open_graph

    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: use one of {', '.join(FORMATS)}.", 2)
    with open_graph(get_settings(ctx)) as graph:
        page = Catalog(graph).compare(a, b)
    typer.echo(render(page, fmt), nl=False)
