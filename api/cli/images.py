"""`unfragile images add` and `unfragile probe render`: images of artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from unfragile.api.cli.main import friendly, get_settings, images_app, probe_app
from unfragile.engine.errors import InvalidInput


@images_app.command("add")
@friendly
def images_add(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Image files.")],
    artifact: Annotated[str, typer.Option(help="The artifact they depict.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Store images (keyed by content hash) linked to an artifact, and index them."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.indexer import Indexer

    settings = get_settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        _require_artifact(graph, artifact)
        ids = Indexer(settings, graph).add_images(paths, artifact)
    if as_json:
        typer.echo(json.dumps({"artifact": artifact, "images": ids}))
    else:
        typer.echo(f"Added {len(ids)} image(s) to {artifact}.")


@probe_app.command("render")
@friendly
def probe_render(
    ctx: typer.Context,
    artifact: Annotated[str, typer.Option(help="An open text-to-image artifact.")],
    prompts: Annotated[Path, typer.Option(help="A file of prompts, one a line.")],
    seed: Annotated[int, typer.Option(help="The seed of the first prompt.")] = 0,
    steps: Annotated[int, typer.Option(min=1, max=200)] = 4,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Render prompts with the artifact's diffusers pipeline; store and index the images."""
    from unfragile.engine.db import open_graph
    from unfragile.engine.probe import render_samples

    settings = get_settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        rows = render_samples(settings, graph, artifact, prompts, seed=seed, steps=steps)
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            typer.echo(f"{row['image'][:12]}  seed {row['seed']}  {row['prompt']}")


def _require_artifact(graph: Any, artifact: str) -> None:
    from unfragile.engine.catalog import Catalog

    if not Catalog(graph).exists(artifact):
        raise InvalidInput("--artifact", None, None, f"unknown artifact {artifact!r}")
