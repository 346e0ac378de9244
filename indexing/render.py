"""Sample renders of open text-to-image models with diffusers, reproducible by prompt and seed."""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from tqdm import tqdm

from unfragile.indexing.errors import ModelUnavailable, RenderError
from unfragile.indexing.images import local_folder, one_line, quiet_loading_bars
from unfragile.indexing.text import default_device

if TYPE_CHECKING:
    import torch
    from diffusers import DiffusionPipeline

__all__ = [
    "MAX_PROMPTS",
    "MAX_PROMPT_CHARS",
    "Render",
    "load_pipeline",
    "read_prompts",
    "render",
]

MAX_PROMPTS = 200
MAX_PROMPT_CHARS = 1000
# 200 prompts of 1000 characters plus comments fit many times over; anything larger is not a
# prompts file, and is refused before it is read into memory.
MAX_PROMPTS_FILE_BYTES = 1024 * 1024

PIPELINE_HINT = (
    "Name a local folder saved by DiffusionPipeline.save_pretrained (model_index.json and "
    ".safetensors weights) as the artifact's diffusers_pipeline (or a hub id when the hub is "
    "reachable)."
)


@dataclass(frozen=True)
class Render:
    """One rendered prompt: the image, its PNG encoding and the PNG's sha256 (the Image id)."""

    prompt: str
    seed: int
    image: Image.Image  # RGB
    png: bytes
    sha256: str


def load_pipeline(
    pipeline: str | os.PathLike[str], device: str | None = None, dtype: torch.dtype | None = None
) -> DiffusionPipeline:
    """Load a diffusers text-to-image pipeline (hub id or local folder) from safetensors weights.

    Runs on `device` (default: CUDA when present, else CPU) in `dtype` (default: float16 on CUDA,
    float32 elsewhere). Any failure raises `ModelUnavailable` naming the pipeline and how to point
    at a local copy.
    """
    import torch

    name = str(pipeline)
    device = device or default_device()
    dtype = dtype or (torch.float16 if device.startswith("cuda") else torch.float32)

    def fail(what: str) -> ModelUnavailable:
        return ModelUnavailable(
            f"could not load diffusers pipeline {name}: {what}. {PIPELINE_HINT}"
        )

    source = name
    folder = local_folder(name)
    if folder is not None:
        if not folder.is_dir():
            raise fail(f"no such folder {str(folder)!r}")
        if not (folder / "model_index.json").is_file():
            raise fail(f"{str(folder)!r} has no model_index.json")
        source = str(folder)
    try:
        # Imported here: diffusers takes seconds to import and only rendering needs it.
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging
    except ImportError:
        # An optional extra: the engine runs without it, only rendering needs it.
        raise fail(
            "the diffusers package is not installed; install the extra with "
            "`pip install 'unfragile[render]'` (`make setup` does)"
        ) from None
    try:
        # diffusers warns on every load that `accelerate` is missing, and logs each failure
        # (at ERROR) before raising it, which is reported below in one line; hush it for the
        # load only.
        verbosity = diffusers_logging.get_verbosity()
        diffusers_logging.set_verbosity(diffusers_logging.CRITICAL)
        try:
            with quiet_loading_bars():
                pipe = DiffusionPipeline.from_pretrained(source, use_safetensors=True, dtype=dtype)
        finally:
            diffusers_logging.set_verbosity(verbosity)
    except Exception as error:  # network, files, config, missing safetensors: one message
        raise fail(one_line(error)) from error
    if "prompt" not in inspect.signature(pipe.__call__).parameters:
        raise fail(f"{type(pipe).__name__} is not a text-to-image pipeline (it takes no prompt)")
    try:
        pipe.to(device)
    except Exception as error:  # e.g. a CUDA device that is not there
        raise fail(f"cannot move it to {device}: {one_line(error)}") from error
    return pipe


def render(
    pipe: Any,  # a DiffusionPipeline subclass: its __call__ and progress bar live there
    prompts: list[str],
    seed: int = 0,
    steps: int = 4,
    size: int | None = None,
    show_progress: bool = False,
    guidance_scale: float | None = None,
) -> list[Render]:
    """Render each prompt once with the generator seeded by `seed`, in order.

    Raises `RenderError` for bad arguments, a failed render or a prompt the pipeline's safety
    checker blocked; nothing is returned for the other prompts then. Every prompt gets the
    same seed, so a prompt's image depends only on (pipeline, prompt, seed,
    steps, size): adding or reordering prompts does not change the others, and rendering again
    gives the same PNG bytes (on the same device and library versions). `size` is the side in
    pixels (default: the pipeline's own); `guidance_scale` overrides the pipeline's default
    (distilled "turbo" models want 0).
    """
    import torch

    if steps < 1:
        raise RenderError(f"steps must be at least 1, not {steps}")
    if size is not None and (size < 8 or size % 8):
        raise RenderError(f"size must be a positive multiple of 8, not {size}")
    extra: dict[str, object] = {}
    if size is not None:
        extra["height"] = extra["width"] = size
    if guidance_scale is not None:
        extra["guidance_scale"] = guidance_scale
    # Our own bar counts prompts; the pipeline's per-step bar would print one line per prompt.
    pipe.set_progress_bar_config(disable=True)
    renders = []
    bar = tqdm(
        prompts,
        desc="rendering",
        unit="prompt",
        file=sys.stderr,
        leave=False,
        disable=not (show_progress and sys.stderr.isatty()),
    )
    for number, prompt in enumerate(bar, start=1):
        # One prompt per call, with a CPU generator: the starting noise is then the same on any
        # device and does not depend on the batch a prompt happens to be in.
        generator = torch.Generator(device="cpu").manual_seed(seed)
        try:
            with torch.inference_mode():
                output = pipe(
                    prompt=prompt,
                    num_inference_steps=steps,
                    generator=generator,
                    output_type="pil",
                    **extra,
                )
        except Exception as error:  # bad size for this model, out of memory, ...
            raise RenderError(
                f"rendering prompt {number} ({_short(prompt)}) failed: {one_line(error)}"
            ) from error
        flagged = getattr(output, "nsfw_content_detected", None)
        if flagged and flagged[0]:
            # Stable Diffusion's safety checker blanks flagged images; a black square stored as
            # the artifact's sample would mislead every comparison made with it.
            raise RenderError(
                f"prompt {number} ({_short(prompt)}) was blocked by the pipeline's safety "
                "checker; change or remove it"
            )
        image = output.images[0].convert("RGB")
        buffer = io.BytesIO()
        # Pillow writes no timestamp into PNGs, so equal pixels give equal bytes and ids.
        image.save(buffer, format="PNG")
        png = buffer.getvalue()
        renders.append(
            Render(
                prompt=prompt,
                seed=seed,
                image=image,
                png=png,
                sha256=hashlib.sha256(png).hexdigest(),
            )
        )
    return renders


def _short(prompt: str, limit: int = 60) -> str:
    return repr(prompt if len(prompt) <= limit else prompt[: limit - 1] + "…")


def read_prompts(path: Path | str) -> list[str]:
    """Read one prompt per line; blank lines and lines starting with '#' are skipped.

    Raises `RenderError("<file>:<line>: <what is wrong>")` for a missing file, bytes that are
    not UTF-8, a prompt over `MAX_PROMPT_CHARS` characters, more than `MAX_PROMPTS` prompts, or
    a file with no prompt at all. Leading and trailing whitespace of a prompt is dropped.
    """
    name = str(path)
    try:
        size = os.stat(path).st_size
        if size > MAX_PROMPTS_FILE_BYTES:
            raise RenderError(
                f"{name}: file is {size:,} bytes; the limit is {MAX_PROMPTS_FILE_BYTES:,} bytes"
            )
        with open(path, "rb") as file:
            data = file.read(MAX_PROMPTS_FILE_BYTES + 1)
    except FileNotFoundError as error:
        raise RenderError(f"{name}: no such file") from error
    except OSError as error:
        raise RenderError(f"{name}: cannot read: {error.strerror or error}") from error
    try:
        # utf-8-sig: files saved by Windows editors start with a byte-order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RenderError(
            f"{name}:{line}: not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from error
    prompts: list[str] = []
    # split('\n') rather than splitlines(): line numbers must match what an editor shows, and
    # splitlines() also breaks at form feeds and Unicode separators.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        prompt = raw.strip()
        if not prompt or prompt.startswith("#"):
            continue
        if len(prompt) > MAX_PROMPT_CHARS:
            raise RenderError(
                f"{name}:{number}: prompt is {len(prompt):,} characters long; "
                f"the limit is {MAX_PROMPT_CHARS:,}"
            )
        if len(prompts) == MAX_PROMPTS:
            raise RenderError(f"{name}:{number}: more than {MAX_PROMPTS} prompts")
        prompts.append(prompt)
    if not prompts:
        what = "the file is empty" if not text.strip() else "only comments and blank lines"
        raise RenderError(f"{name}:{max(len(lines), 1)}: no prompts ({what})")
    return prompts
