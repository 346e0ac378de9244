"""A sentence-transformers text model run by ONNX Runtime: the same vectors, no torch at query time.

A BERT-style model with mean pooling (all-MiniLM-L6-v2 and its kind) is exported once per
machine with torch's ONNX exporter into `<cache>/onnx-text/<key>/model.onnx` (`model_path`);
then a process loads only `tokenizers` and `onnxruntime`. On this project's CPUs that encodes
a query about three times faster than PyTorch and starts a standalone `unfragile search`
without importing torch or transformers (BENCHMARKS.md, "Search latency with the text model
on ONNX Runtime").
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

# Part of the cache key: bump when the exported graph or its inputs change.
EXPORT_VERSION = "1"
SUPPORTED_TYPES = {"bert"}  # inputs: input_ids, attention_mask, token_type_ids
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json")
SAMPLE_BYTES = 4 << 20


def available() -> bool:
    """Whether ONNX Runtime is installed (it is a dependency; a trimmed install may lack it)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def supported(folder: Path) -> dict[str, Any] | None:
    """What the encoder needs from a sentence-transformers folder, or None when this runner
    does not reproduce its vectors exactly (another architecture or pooling): the caller then
    uses PyTorch."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        st_config = json.loads((folder / "sentence_bert_config.json").read_text())
    except (OSError, ValueError):
        return None
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    try:
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError):
        return None
    modes = {key for key, on in pooling.items() if key.startswith("pooling_mode_") and on}
    if (
        config.get("model_type") not in SUPPORTED_TYPES
        or modes != {"pooling_mode_mean_tokens"}
        or not (folder / "tokenizer.json").is_file()
    ):
        return None
    return {
        "dim": int(pooling["word_embedding_dimension"]),
        "max_length": min(
            int(st_config.get("max_seq_length") or 512),
            int(config.get("max_position_embeddings") or 512),
        ),
        "lower_case": bool(st_config.get("do_lower_case")),
    }


def model_path(folder: Path, cache_dir: Path) -> Path:
    """Where this model's export is kept: keyed by its files' contents, not their path, so a
    fresh checkout or virtual environment with the same model reuses it."""
    h = hashlib.blake2b(EXPORT_VERSION.encode(), digest_size=10)
    for name in MODEL_FILES:
        path = folder / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        h.update(f"\x1f{name}\x1f{size}\x1f".encode())
        with open(path, "rb") as f:
            # Both ends of a weights file (and all of a small one): enough to tell models
            # apart without reading 90 MB on every start.
            h.update(f.read(SAMPLE_BYTES))
            if size > 2 * SAMPLE_BYTES:
                f.seek(size - SAMPLE_BYTES)
                h.update(f.read())
    return cache_dir / "onnx-text" / h.hexdigest() / "model.onnx"


def export(folder: Path, target: Path) -> None:
    """Write the model's transformer as ONNX (token states out; pooling stays in numpy)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder)).eval()

    class States(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(
                input_ids=ids, attention_mask=mask, token_type_ids=types
            ).last_hidden_state

    sample = torch.ones((1, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a process that dies mid-export leaves no
    # half-written model that a later one would load.
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        with torch.inference_mode():
            torch.onnx.export(
                States(model),
                (sample, sample, torch.zeros_like(sample)),
                tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["states"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "states": axes,
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


class OnnxTextModel:
    """Tokenise with `tokenizers`, run the exported transformer, mean-pool and normalise."""

    def __init__(self, folder: Path, path: Path, spec: dict[str, Any], threads: int | None = None):
        """`path`: the exported transformer (`export`); `spec`: what `supported` said;
        `threads`: ONNX Runtime's threads for one batch (None: OMP_NUM_THREADS, else one per
        core)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.dim: int = spec["dim"]
        self.lower_case: bool = spec["lower_case"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The file's own truncation and fixed padding (128 for MiniLM) are not what
        # sentence-transformers uses: its max_seq_length, padding to the batch's longest.
        self.tokenizer.enable_truncation(max_length=spec["max_length"])
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        # Like torch, one thread per core unless `threads` or OMP_NUM_THREADS says otherwise.
        if threads is None:
            threads = int(os.environ.get("OMP_NUM_THREADS") or 0)
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: its warnings are not the person's concern
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows for one batch of texts."""
        if self.lower_case:
            texts = [t.lower() for t in texts]
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        (states,) = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
