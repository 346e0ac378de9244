"""FAISS vector stores on real FAISS: persistence, incremental updates, damage and crashes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from unfragile.indexing import vectors
from unfragile.indexing.errors import IndexDamaged, IndexMismatch, IndexMustBeRebuilt
from unfragile.indexing.vectors import (
    VectorStore,
    stable_id,
)

DIM = 64
MODEL = "all-MiniLM-L6-v2"


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def open_store(folder: Path, **kwargs) -> VectorStore:
    return VectorStore.open(folder, "capabilities", MODEL, DIM, **kwargs)


def filled(folder: Path, n: int = 300, seed: int = 0, **kwargs) -> VectorStore:
    store = open_store(folder, **kwargs)
    store.upsert(
        [f"cap-{i}" for i in range(n)],
        [f"fp-{i}" for i in range(n)],
        unit(np.random.default_rng(seed), n),
    )
    return store


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_stable_id_is_a_fixed_non_negative_63_bit_hash() -> None:
    # Ids are persisted, so the function must never change: pin one value.
    assert stable_id("vit-base-patch16-224/imagenet-1k-classification") == 4120851352036589948
    ids = {stable_id(f"cap-{i}") for i in range(10_000)}
    assert len(ids) == 10_000
    assert all(0 <= i < 2**63 for i in ids)


def test_a_missing_store_is_empty_and_searchable(tmp_path: Path) -> None:
    store = open_store(tmp_path / "indexes")
    assert len(store) == 0
    assert store.search(unit(np.random.default_rng(0), 2), k=5) == [[], []]
    assert store.vector("anything") is None
    store.save()
    again = open_store(tmp_path / "indexes")
    assert len(again) == 0 and again.fingerprints() == {}
    # An empty store holds no index yet, so any kind setting may take it over.
    assert len(open_store(tmp_path / "indexes", kind="hnsw")) == 0


@pytest.mark.parametrize("kind", ["exact", "ivf", "hnsw"])
def test_save_and_open_give_identical_results(tmp_path: Path, kind: str) -> None:
    store = filled(tmp_path, n=2000, kind=kind)
    queries = unit(np.random.default_rng(1), 20)
    before = store.search(queries, k=10)
    store.save()

    again = open_store(tmp_path, kind=kind)
    assert len(again) == 2000
    assert again.index_type == store.index_type
    assert again.index_type.startswith({"exact": "flat", "ivf": "ivf", "hnsw": "hnsw"}[kind])
    assert again.fingerprints() == store.fingerprints()
    assert again.fingerprint() == store.fingerprint()
    assert again.search(queries, k=10) == before
    np.testing.assert_array_equal(again.vector("cap-7"), store.vector("cap-7"))
    manifest = json.loads((tmp_path / "capabilities.manifest.json").read_text())
    assert manifest["model"] == MODEL and manifest["dim"] == DIM and manifest["count"] == 2000
    assert manifest["index_type"] == store.index_type
    assert manifest["fingerprint"] == store.fingerprint()


def test_recorded_dim_and_exists_read_the_manifest(tmp_path: Path) -> None:
    assert VectorStore.recorded_dim(tmp_path, "capabilities") is None
    store = filled(tmp_path)
    assert not store.exists()
    store.save()
    assert store.exists()
    assert VectorStore.recorded_dim(tmp_path, "capabilities") == DIM
    assert VectorStore.recorded_dim(tmp_path, "queries") is None
    _garble_manifest(tmp_path)
    with pytest.raises(IndexDamaged, match="--rebuild"):
        VectorStore.recorded_dim(tmp_path, "capabilities")


def test_search_ranks_best_first_and_caps_k_at_the_size(tmp_path: Path) -> None:
    store = filled(tmp_path, n=5)
    query = store.vector("cap-3")
    [hits] = store.search(query, k=100)
    assert len(hits) == 5
    assert hits[0][0] == "cap-3" and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("kind", ["exact", "ivf", "hnsw"])
def test_incremental_updates_equal_a_full_rebuild(tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(2)
    content = {f"cap-{i}": (f"fp-{i}", v) for i, v in enumerate(unit(rng, 1500))}
    store = open_store(tmp_path / "incremental", kind=kind)
    store.upsert(
        list(content),
        [fp for fp, _ in content.values()],
        np.stack([v for _, v in content.values()]),
    )
    store.save()

    # The next run: 200 added, 100 edited, 150 deleted.
    added = {f"new-{i}": (f"fp-new-{i}", v) for i, v in enumerate(unit(rng, 200))}
    edited = {f"cap-{i}": (f"fp-{i}-v2", v) for i, v in enumerate(unit(rng, 100))}
    deleted = [f"cap-{i}" for i in range(1000, 1150)]
    changes = added | edited
    store = open_store(tmp_path / "incremental", kind=kind)
    store.upsert(
        list(changes),
        [fp for fp, _ in changes.values()],
        np.stack([v for _, v in changes.values()]),
    )
    store.remove(deleted + ["never-indexed"])
    store.save()
    incremental = open_store(tmp_path / "incremental", kind=kind)

    final = {k: v for k, v in (content | changes).items() if k not in deleted}
    rebuilt = open_store(tmp_path / "rebuilt", kind=kind)
    rebuilt.upsert(
        list(final), [fp for fp, _ in final.values()], np.stack([v for _, v in final.values()])
    )

    assert len(incremental) == len(rebuilt) == 1550
    assert (
        incremental.fingerprints()
        == rebuilt.fingerprints()
        == {k: fp for k, (fp, _) in final.items()}
    )
    assert incremental.fingerprint() == rebuilt.fingerprint()
    for key in ["cap-0", "cap-99", "new-0", "cap-1499"]:
        np.testing.assert_array_equal(incremental.vector(key), final[key][1])
    assert incremental.vector("cap-1000") is None

    queries = unit(rng, 10)
    got = incremental.search(queries, k=10)
    want = rebuilt.search(queries, k=10)
    assert not {key for hits in got for key, _ in hits} & set(deleted)
    if kind == "exact":
        assert [[k for k, _ in hits] for hits in got] == [[k for k, _ in hits] for hits in want]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose([s for _, s in g], [s for _, s in w], atol=1e-5)
    # Whatever the kind, every stored vector (edited ones with their new value) finds itself.
    keys = list(final)
    hits = incremental.search(np.stack([final[k][1] for k in keys]), k=1)
    assert [h[0][0] for h in hits] == keys


def test_an_exact_store_converts_to_ivf_past_the_limit(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = unit(rng, 3000)
    keys = [f"q-{i}" for i in range(3000)]
    store = open_store(tmp_path, exact_limit=2000)
    store.upsert(keys[:1800], keys[:1800], data[:1800])
    assert store.index_type == "flat"
    store.upsert(keys[1800:], keys[1800:], data[1800:])
    assert store.index_type.startswith("ivf")
    assert len(store) == 3000

    hits = store.search(data, k=1)
    assert [h[0][0] for h in hits] == keys
    store.save()
    again = open_store(tmp_path, exact_limit=2000)
    assert again.index_type == store.index_type
    assert [h[0][0] for h in again.search(data, k=1)] == keys

    # Shrinking below the limit keeps the approximate index (no flip-flopping), and IVF removal
    # leaves the rest findable.
    again.remove(keys[:1500])
    assert again.index_type.startswith("ivf")
    assert [h[0][0] for h in again.search(data[1500:], k=1)] == keys[1500:]


def test_ivf_is_retrained_when_the_collection_grows(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    store = open_store(tmp_path, kind="ivf")
    store.upsert([f"a-{i}" for i in range(200)], ["x"] * 200, unit(rng, 200))
    small = store.index_type
    data = unit(rng, 4000)
    keys = [f"b-{i}" for i in range(4000)]
    store.upsert(keys, ["x"] * 4000, data)
    assert store.index_type != small
    assert len(store) == 4200
    assert [h[0][0] for h in store.search(data, k=1)] == keys


def test_another_model_or_dimension_is_a_mismatch(tmp_path: Path) -> None:
    filled(tmp_path).save()
    with pytest.raises(IndexMismatch) as err:
        VectorStore.open(tmp_path, "capabilities", "my-other-model", DIM)
    message = str(err.value)
    assert "--rebuild" in message and MODEL in message and "my-other-model" in message
    with pytest.raises(IndexMismatch, match="--rebuild"):
        VectorStore.open(tmp_path, "capabilities", MODEL, 384)
    with pytest.raises(IndexMismatch, match="--rebuild"):
        open_store(tmp_path, kind="hnsw")


def _truncate_index(folder: Path) -> None:
    path = next(folder.glob("*.faiss"))
    path.write_bytes(path.read_bytes()[:1000])


def _scramble_index(folder: Path) -> None:
    # Same size as before, so only FAISS itself can tell.
    path = next(folder.glob("*.faiss"))
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _garble_manifest(folder: Path) -> None:
    (folder / "capabilities.manifest.json").write_text('{"format": 1, "model": ')


def _delete_id_map(folder: Path) -> None:
    next(folder.glob("*.ids.json")).unlink()


def _drop_a_key(folder: Path) -> None:
    path = next(folder.glob("*.ids.json"))
    table = json.loads(path.read_text())
    for column in ("keys", "ids", "fingerprints"):
        table[column] = table[column][1:]
    text = json.dumps(table)
    path.write_text(text)
    manifest_path = folder / "capabilities.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["ids_bytes"] = len(text)  # keep the size right: only the counts disagree
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage", [_truncate_index, _scramble_index, _garble_manifest, _delete_id_map, _drop_a_key]
)
def test_a_damaged_index_is_a_clear_error(tmp_path: Path, damage) -> None:
    filled(tmp_path).save()
    damage(tmp_path)
    with pytest.raises(IndexDamaged) as err:
        open_store(tmp_path)
    assert "--rebuild" in str(err.value)
    assert "capabilities" in str(err.value)

    # A rebuild does not read the damaged files, and replaces them on save.
    fresh = VectorStore.create(tmp_path, "capabilities", MODEL, DIM)
    fresh.upsert(["a"], ["fp"], unit(np.random.default_rng(1), 1))
    fresh.save()
    assert open_store(tmp_path).fingerprints() == {"a": "fp"}


def test_a_crash_before_the_manifest_rename_keeps_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = filled(tmp_path, n=500)
    store.save()
    saved_files = files(tmp_path)
    queries = unit(np.random.default_rng(5), 5)
    before = store.search(queries, k=10)
    before_prints = store.fingerprints()

    store.upsert(["extra"], ["fp-extra"], unit(np.random.default_rng(6), 1))
    store.remove(["cap-0", "cap-1"])
    real_replace = os.replace

    def crash_on_manifest(src, dst) -> None:
        if str(dst).endswith(".manifest.json"):
            raise OSError("simulated crash")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="simulated crash"):
        store.save()
    monkeypatch.setattr(os, "replace", real_replace)

    assert files(tmp_path) == saved_files
    again = open_store(tmp_path)
    assert again.fingerprints() == before_prints
    assert again.search(queries, k=10) == before

    # A process killed mid-save (kill -9: no clean-up ran) leaves a torn temp file and a new
    # index file no manifest names. Neither gets in the way; the next save removes both.
    token = "dead"
    torn = tmp_path / f".capabilities.{token}.faiss.x1y2.tmp"
    orphan = tmp_path / f"capabilities.{token}.faiss"
    index_bytes = next(tmp_path.glob("*.faiss")).read_bytes()
    torn.write_bytes(index_bytes[: len(index_bytes) // 2])
    orphan.write_bytes(index_bytes)
    again = open_store(tmp_path)
    assert again.search(queries, k=10) == before
    again.upsert(["extra"], ["fp-extra"], unit(np.random.default_rng(6), 1))
    again.save()
    names = files(tmp_path)
    assert torn.name not in names and orphan.name not in names
    assert len(names) == 3  # manifest, index, id map
    assert "extra" in open_store(tmp_path).fingerprints()


def test_saves_replace_their_files_and_skip_when_unchanged(tmp_path: Path) -> None:
    store = filled(tmp_path)
    store.save()
    first = files(tmp_path)
    store.save()  # nothing changed: nothing rewritten
    assert files(tmp_path) == first
    store.remove(["cap-3"])
    store.save()
    second = files(tmp_path)
    assert len(second) == 3 and second != first
    assert len(open_store(tmp_path)) == 299


def test_an_id_collision_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real 63-bit blake2b collision cannot be produced, so force one.
    monkeypatch.setattr(vectors, "stable_id", lambda key: 42)
    store = open_store(tmp_path)
    store.upsert(["a"], ["fp"], unit(np.random.default_rng(0), 1))
    with pytest.raises(IndexMustBeRebuilt, match="'a' and 'b'"):
        store.upsert(["b"], ["fp"], unit(np.random.default_rng(1), 1))
    with pytest.raises(IndexMustBeRebuilt, match="same 63-bit id"):
        open_store(tmp_path / "other").upsert(
            ["c", "d"], ["x", "y"], unit(np.random.default_rng(2), 2)
        )
    store.upsert(["a"], ["fp2"], unit(np.random.default_rng(3), 1))  # replacing is no collision
    assert store.fingerprints() == {"a": "fp2"}


def test_bad_input_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="shape"):
        store.upsert(["a"], ["fp"], unit(rng, 1, dim=DIM + 1))
    with pytest.raises(ValueError, match="twice"):
        store.upsert(["a", "a"], ["fp", "fp"], unit(rng, 2))
    with pytest.raises(ValueError, match="length"):
        store.upsert(["a", "b"], ["fp"], unit(rng, 2))
    with pytest.raises(ValueError, match="name"):
        VectorStore.open(tmp_path, "../escape", MODEL, DIM)
    assert len(store) == 0
