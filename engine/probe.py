"""Sample renders of open text-to-image artifacts: fixed-seed prompts, stored and indexed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unfragile.engine.errors import InvalidInput
from unfragile.engine.indexer import Indexer
from unfragile.engine.settings import Settings
from unfragile.graph.connection import Graph

ARTIFACT = """
MATCH (a:Artifact {id: $id})
RETURN a.id AS id, a.open_weights AS open_weights, a.diffusers_pipeline AS pipeline
"""


def render_samples(
    settings: Settings,
    graph: Graph,
    artifact: str,
    prompts_file: Path,
    seed: int = 0,
    steps: int = 4,
) -> list[dict[str, Any]]:
    """Render each prompt once with a fixed seed; store images GENERATED_BY the artifact."""
    from unfragile.indexing.images import load_image
    from unfragile.indexing.render import load_pipeline, read_prompts, render

    rows = graph.read(ARTIFACT, id=artifact)
    if not rows:
        raise InvalidInput("--artifact", None, None, f"unknown artifact {artifact!r}")
    record = rows[0]
    if not record["pipeline"]:
        raise InvalidInput(
            "--artifact",
            None,
            None,
            f"{artifact!r} names no diffusers pipeline: add "
            '"diffusers_pipeline" (a hub id or a local folder) to its record',
        )
    if not record["open_weights"]:
        raise InvalidInput(
            "--artifact",
            None,
            None,
            f"{artifact!r} has no open weights: only open models render locally",
        )
    prompts = read_prompts(Path(prompts_file))  # a bad file fails before the model loads
    pipeline = load_pipeline(record["pipeline"])
    renders = render(pipeline, prompts, seed=seed, steps=steps, show_progress=True)
    indexer = Indexer(settings, graph)
    loaded = []
    for r in renders:
        kept = indexer.keep_image_file(r.sha256, r.png, ".png")
        loaded.append(load_image(kept))
    extras = [{"prompt": r.prompt, "seed": r.seed} for r in renders]
    indexer.store_images(loaded, artifact, "GENERATED_BY", extras)
    indexer.sync_images(show_progress=False)
    return [
        {"artifact": artifact, "image": r.sha256, "prompt": r.prompt, "seed": r.seed}
        for r in renders
    ]
