"""`unfragile train`: learn the search ranking from the match graph (or say why not)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from unfragile.api.cli.main import app, friendly, get_settings


@app.command()
@friendly
def train(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Learn the search ranking (LightGBM lambdarank) from past searches, cross-validated.

    Needs at least 100 past queries that led somewhere; with fewer, or when the learned
    ranking does no better than the default weights on held-out queries, search keeps the
    documented default weights and this says why. `unfragile index` runs it when the
    search log changed.
    """
    from unfragile.engine.db import open_graph
    from unfragile.engine.training import train as run

    settings = get_settings(ctx)
    with open_graph(settings) as graph:
        report = run(settings, graph)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    typer.echo(render(report))


def render(report: object) -> str:
    """The report as the lines `train` and `index` print."""
    from unfragile.engine.training import TrainReport

    assert isinstance(report, TrainReport)
    if report.status != "trained":
        return f"ranking: default weights ({report.reason})."
    cv = report.cv
    return (
        f"ranking: learned — {report.reason}, {report.rows} candidates, in {report.seconds:.1f}s; "
        f"held-out nDCG@5 {cv['model_ndcg@5']:.3f} (default weights {cv['default_ndcg@5']:.3f}), "
        f"hit@1 {cv['model_hit@1']:.3f} ({cv['default_hit@1']:.3f})."
    )
