"""FAISS vector indexes, one per collection, saved atomically next to a JSON manifest.

Layout in the index folder, for a store named `capabilities`:

    capabilities.manifest.json          what is current: model, dim, count, index type, files
    capabilities.<token>.faiss          the FAISS index (faiss.write_index)
    capabilities.<token>.ids.json       graph keys, their int64 ids and content fingerprints

Every save writes files under a fresh <token> and only then replaces the manifest, so the
manifest rename is the commit point: a crash at any moment leaves the previous manifest
pointing at the previous, complete files. Files no manifest names are removed on the next save.
One writer at a time per store (the engine runs one `unfragile index` at a time).

Index kinds. "auto" (the default) searches exactly (inner product over every vector) up to
`exact_limit` vectors (EXACT_LIMIT = 50,000 unless overridden) and switches to IVF-Flat when
an upsert takes the collection past it: the IVF quantizer is trained on the stored vectors
and every vector moves over. Once approximate, a store stays approximate when it shrinks
(until a rebuild), so results do not flip between exact and approximate around the limit.
An IVF index is retrained the same way when the collection has grown RETRAIN_GROWTH times
past the size it was trained at, so lists stay about sqrt(n) long. "exact", "ivf" and "hnsw"
force one kind. HNSW cannot delete vectors, so removing or replacing vectors in an HNSW store
rebuilds its graph from the vectors that remain (one rebuild per call).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from unfragile.indexing import faiss_index as fx
from unfragile.indexing.errors import IndexDamaged, IndexMismatch, IndexMustBeRebuilt
from unfragile.indexing.faiss_index import FaissIndex, ivf_nlist, stable_id

FORMAT = 1
EXACT_LIMIT = 50_000
KINDS = ("auto", "exact", "ivf", "hnsw")
RETRAIN_GROWTH = 4

_REBUILD = "run `unfragile index --rebuild`"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SUFFIXES = (".faiss", ".ids.json", ".tmp")
_FORCED = {"exact": "flat", "ivf": "ivf", "hnsw": "hnsw"}  # kind setting -> index family


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write `path` through a temp file in the same folder: fsync, then rename over it."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    # Makes the renames themselves durable; without it a power cut can undo them.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class VectorStore:
    """The vectors of one collection, keyed by graph id, searched by inner product."""

    def __init__(
        self,
        folder: Path,
        name: str,
        model: str,
        dim: int,
        exact_limit: int = EXACT_LIMIT,
        kind: str = "auto",
    ) -> None:
        """An empty store; use `open` (reads what is on disk) or `create` (ignores it)."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"index name {name!r}: use letters, digits, '-' and '_'")
        if kind not in KINDS:
            raise ValueError(f"index kind {kind!r}: expected one of {', '.join(KINDS)}")
        if dim < 1 or exact_limit < 0:
            raise ValueError(f"index {name}: dim must be positive and exact_limit non-negative")
        self.folder = Path(folder)
        self.name = name
        self.model = model
        self.dim = dim
        self.exact_limit = exact_limit
        self.kind = kind
        self._index: FaissIndex = None
        self._key_to_id: dict[str, int] = {}
        self._id_to_key: dict[int, str] = {}
        self._fingerprints: dict[str, str] = {}
        self._trained_on = 0
        self._created = _now()
        self._dirty = True

    @classmethod
    def open(
        cls,
        folder: Path,
        name: str,
        model: str,
        dim: int,
        exact_limit: int = EXACT_LIMIT,
        kind: str = "auto",
    ) -> VectorStore:
        """The store saved in `folder` under `name`, or an empty one when there is none."""
        store = cls(folder, name, model, dim, exact_limit, kind)
        if store.manifest_path.exists():
            store._load()
        return store

    @classmethod
    def create(
        cls,
        folder: Path,
        name: str,
        model: str,
        dim: int,
        exact_limit: int = EXACT_LIMIT,
        kind: str = "auto",
    ) -> VectorStore:
        """An empty store that replaces whatever is on disk at its first save (for --rebuild).

        The old files are not read, so a damaged or mismatched index is no obstacle.
        """
        return cls(folder, name, model, dim, exact_limit, kind)

    @staticmethod
    def recorded_dim(folder: Path, name: str) -> int | None:
        """The dimension in the saved manifest of `name` (None when there is none).

        Lets a caller open an unchanged index without loading the model just to learn its
        dimension; the full checks still happen in `open`.
        """
        path = Path(folder) / f"{name}.manifest.json"
        try:
            dim = json.loads(path.read_text(encoding="utf-8"))["dim"]
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise IndexDamaged(
                f"index '{name}' in {folder} is damaged: cannot read {path.name} ({exc}); "
                f"{_REBUILD}"
            ) from exc
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise IndexDamaged(
                f"index '{name}' in {folder} is damaged: {path.name} records dim {dim!r}; "
                f"{_REBUILD}"
            )
        return dim

    @property
    def manifest_path(self) -> Path:
        return self.folder / f"{self.name}.manifest.json"

    def exists(self) -> bool:
        """Whether a saved manifest for this store is on disk."""
        return self.manifest_path.exists()

    # -- reading -------------------------------------------------------------------------

    def _damaged(self, what: str) -> IndexDamaged:
        return IndexDamaged(f"index '{self.name}' in {self.folder} is damaged: {what}; {_REBUILD}")

    def _load(self) -> None:
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._damaged(f"cannot read {self.manifest_path.name} ({exc})") from exc
        if not isinstance(manifest, dict):
            raise self._damaged(f"{self.manifest_path.name} is not a JSON object")
        if "format" not in manifest:
            raise self._damaged(f"{self.manifest_path.name} has no format field")
        if manifest["format"] != FORMAT:
            raise IndexMismatch(
                f"index '{self.name}' has format {manifest.get('format')!r}; this version reads "
                f"format {FORMAT}; {_REBUILD}"
            )
        if manifest.get("model") != self.model or manifest.get("dim") != self.dim:
            raise IndexMismatch(
                f"index '{self.name}' was built with model {manifest.get('model')!r} "
                f"(dim {manifest.get('dim')}) but the configured model is {self.model!r} "
                f"(dim {self.dim}); {_REBUILD}"
            )
        try:
            count = int(manifest["count"])
            index_type = str(manifest["index_type"])
            index_file, ids_file = manifest["index_file"], str(manifest["ids_file"])
            trained_on = int(manifest.get("trained_on", 0))
            created = str(manifest["created"])
        except (KeyError, TypeError, ValueError) as exc:
            raise self._damaged(f"{self.manifest_path.name} lacks a field ({exc})") from exc
        wanted = _FORCED.get(self.kind)
        if wanted and index_file is not None and fx.family(index_type) != wanted:
            raise IndexMismatch(
                f"index '{self.name}' is {index_type} but the setting asks for {self.kind}; "
                f"{_REBUILD}"
            )

        index = None
        if index_file is not None:
            path = self._file(str(index_file), manifest.get("index_bytes"))
            try:
                index = faiss.read_index(str(path))
            except RuntimeError as exc:
                # FAISS prefixes its message with the C++ function and source line: drop that.
                reason = re.sub(r"^Error in .*? at \S+:\d+: ", "", str(exc).strip()) or "unreadable"
                raise self._damaged(f"faiss cannot read {path.name} ({reason})") from exc
        try:
            raw = self._file(ids_file, manifest.get("ids_bytes")).read_text(encoding="utf-8")
            table = json.loads(raw)
            keys, ids, fps = table["keys"], table["ids"], table["fingerprints"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise self._damaged(f"cannot read {ids_file} ({exc})") from exc

        ntotal = 0 if index is None else index.ntotal
        if not (len(keys) == len(ids) == len(fps) == count == ntotal):
            raise self._damaged(
                f"counts disagree (manifest {count}, index {ntotal}, id map {len(keys)})"
            )
        if index is not None and index.d != self.dim:
            raise self._damaged(f"it holds {index.d}-d vectors, the manifest says {self.dim}")
        if len(set(keys)) != count or [stable_id(k) for k in keys] != ids:
            raise self._damaged(f"{ids_file} has duplicate keys or ids that do not match them")
        if index is not None and set(fx.index_ids(index).tolist()) != set(ids):
            raise self._damaged(f"{index_file} and {ids_file} hold different ids")

        self._index = index
        if index is not None:
            fx.tune(index)
        self._key_to_id = dict(zip(keys, ids, strict=True))
        self._id_to_key = dict(zip(ids, keys, strict=True))
        self._fingerprints = dict(zip(keys, fps, strict=True))
        self._trained_on = trained_on
        self._created = created
        if manifest.get("fingerprint") != self.fingerprint():
            raise self._damaged(f"{ids_file} does not match the manifest's fingerprint")
        self._dirty = False

    def _file(self, file_name: str, expected_bytes: object) -> Path:
        """A data file named by the manifest, checked to exist with the size it records."""
        if Path(file_name).name != file_name or not file_name.startswith(f"{self.name}."):
            raise self._damaged(f"the manifest names an unexpected file {file_name!r}")
        path = self.folder / file_name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise self._damaged(f"{file_name} is missing ({exc.strerror})") from exc
        if size != expected_bytes:
            raise self._damaged(f"{file_name} has {size} bytes, the manifest says {expected_bytes}")
        return path

    # -- content -------------------------------------------------------------------------

    def __len__(self) -> int:
        return 0 if self._index is None else self._index.ntotal

    @property
    def index_type(self) -> str:
        """One of "flat", "ivf<nlist>,flat" or "hnsw<M>,flat" ("flat" while empty)."""
        return fx.index_type(self._index)

    @property
    def search_effort(self) -> int | None:
        """nprobe (IVF) or efSearch (HNSW); None for exact search. Settable, not saved."""
        if isinstance(self._index, faiss.IndexIVF):
            return int(self._index.nprobe)
        if fx.family(self.index_type) == "hnsw":
            return int(fx.inner(self._index).hnsw.efSearch)
        return None

    @search_effort.setter
    def search_effort(self, value: int) -> None:
        if isinstance(self._index, faiss.IndexIVF):
            self._index.nprobe = int(value)
        elif fx.family(self.index_type) == "hnsw":
            fx.inner(self._index).hnsw.efSearch = int(value)

    def fingerprints(self) -> dict[str, str]:
        """Graph key -> fingerprint of the content each vector was built from."""
        return dict(self._fingerprints)

    def fingerprint(self) -> str:
        """A digest of the sorted (key, fingerprint) pairs: what the index was built from."""
        digest = hashlib.blake2b(digest_size=16)
        for key in sorted(self._fingerprints):
            fp = self._fingerprints[key]
            # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
            digest.update(f"{len(key)}:{key}{len(fp)}:{fp}\n".encode())
        return digest.hexdigest()

    def vector(self, key: str) -> np.ndarray | None:
        """The stored vector of `key`, or None when the key is not in the index."""
        vid = self._key_to_id.get(key)
        return None if vid is None else self._index.reconstruct(vid)

    def _target_family(self, count: int) -> str:
        forced = _FORCED.get(self.kind)
        if forced:
            return forced
        current = fx.family(self.index_type) if self._index is not None else "flat"
        if current != "flat":
            return current
        return "ivf" if count > self.exact_limit else "flat"

    def upsert(self, keys: list[str], fingerprints: list[str], vectors: np.ndarray) -> None:
        """Add vectors under `keys`, replacing the vectors of keys already present."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"index {self.name}: expected vectors of shape (n, {self.dim})")
        if not (len(keys) == len(fingerprints) == len(vectors)):
            raise ValueError(f"index {self.name}: keys, fingerprints and vectors differ in length")
        if len(set(keys)) != len(keys):
            raise ValueError(f"index {self.name}: a key appears twice in one upsert")
        if not np.isfinite(vectors).all():
            raise ValueError(f"index {self.name}: vectors contain NaN or infinity")
        if not keys:
            return
        ids = [stable_id(k) for k in keys]
        self._check_collisions(keys, ids)

        replaced = [k for k in keys if k in self._key_to_id]
        count = len(self) - len(replaced) + len(keys)
        family = self._target_family(count)
        current = fx.family(self.index_type) if self._index is not None else None
        id_array = np.array(ids, dtype=np.int64)
        grown = (
            current == "ivf"
            and count > RETRAIN_GROWTH * self._trained_on
            and ivf_nlist(count) > self._index.nlist
        )
        if current != family or grown or (replaced and family == "hnsw"):
            self._rebuild(family, drop=replaced, ids=id_array, vectors=vectors)
        else:
            if replaced:
                self._index.remove_ids(np.array([self._key_to_id[k] for k in replaced], np.int64))
            self._index.add_with_ids(vectors, id_array)

        for key, vid, fp in zip(keys, ids, fingerprints, strict=True):
            self._key_to_id[key] = vid
            self._id_to_key[vid] = key
            self._fingerprints[key] = fp
        self._dirty = True

    def _check_collisions(self, keys: list[str], ids: list[int]) -> None:
        # 63-bit ids collide with probability ~n^2/2^64 (about 1e-7 at a million keys), but a
        # collision would silently overwrite another key's vector, so refuse it loudly.
        seen: dict[int, str] = {}
        for key, vid in zip(keys, ids, strict=True):
            other = seen.get(vid) or self._id_to_key.get(vid)
            if other is not None and other != key:
                raise IndexMustBeRebuilt(
                    f"index '{self.name}': graph ids {other!r} and {key!r} hash to the same "
                    "63-bit id; rename one of them"
                )
            seen[vid] = key

    def remove(self, keys: list[str]) -> None:
        """Remove the vectors of `keys`; keys that are not in the index are ignored."""
        present = [k for k in dict.fromkeys(keys) if k in self._key_to_id]
        if not present:
            return
        if fx.family(self.index_type) == "hnsw":
            self._rebuild("hnsw", drop=present)
        else:
            self._index.remove_ids(np.array([self._key_to_id[k] for k in present], np.int64))
        for key in present:
            del self._id_to_key[self._key_to_id.pop(key)]
            del self._fingerprints[key]
        self._dirty = True

    def _rebuild(
        self,
        family: str,
        drop: list[str],
        ids: np.ndarray | None = None,
        vectors: np.ndarray | None = None,
    ) -> None:
        """Build a fresh index of `family` from the kept vectors plus `vectors`."""
        dropped = set(drop)
        kept = np.array(
            [vid for key, vid in self._key_to_id.items() if key not in dropped], dtype=np.int64
        )
        parts_ids, parts_vectors = [kept], [np.empty((0, self.dim), np.float32)]
        if len(kept):
            parts_vectors[0] = self._index.reconstruct_batch(kept)
        if ids is not None:
            parts_ids.append(ids)
            assert vectors is not None  # given with ids
            parts_vectors.append(vectors)
        all_ids = np.concatenate(parts_ids)
        self._index = fx.build(family, self.dim, all_ids, np.concatenate(parts_vectors))
        if family == "ivf":
            self._trained_on = len(all_ids)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """For each query, up to k (key, inner product) pairs, best first."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise ValueError(f"index {self.name}: queries must have {self.dim} columns")
        if len(self) == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        scores, ids = self._index.search(queries, min(k, len(self)))
        results = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            # IVF returns id -1 where the probed lists hold fewer than k vectors.
            hits = zip(row_ids.tolist(), row_scores.tolist(), strict=True)
            results.append([(self._id_to_key[i], s) for i, s in hits if i >= 0])
        return results

    # -- writing -------------------------------------------------------------------------

    def save(self) -> None:
        """Write the index, then its id map, then the manifest, each atomically (see above)."""
        if not self._dirty and self.manifest_path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # A fresh token per save: the new files never overwrite the ones the current manifest
        # names, so until the manifest is replaced the previous index stays whole.
        token = f"{time.time_ns():x}{secrets.token_hex(3)}"
        index_file = f"{self.name}.{token}.faiss" if self._index is not None else None
        ids_file = f"{self.name}.{token}.ids.json"
        keys = sorted(self._key_to_id)
        table = {
            "format": FORMAT,
            "keys": keys,
            "ids": [self._key_to_id[k] for k in keys],
            "fingerprints": [self._fingerprints[k] for k in keys],
        }
        written: list[Path] = []
        try:
            if index_file is not None:
                written.append(self.folder / index_file)
                _write_atomic(written[-1], lambda tmp: faiss.write_index(self._index, str(tmp)))
            written.append(self.folder / ids_file)
            _write_atomic(written[-1], lambda tmp: tmp.write_text(json.dumps(table), "utf-8"))
            manifest = {
                "format": FORMAT,
                "name": self.name,
                "model": self.model,
                "dim": self.dim,
                "count": len(self),
                "index_type": self.index_type,
                "trained_on": self._trained_on,
                "fingerprint": self.fingerprint(),
                "created": self._created,
                "updated": _now(),
                "index_file": index_file,
                "index_bytes": (self.folder / index_file).stat().st_size if index_file else None,
                "ids_file": ids_file,
                "ids_bytes": (self.folder / ids_file).stat().st_size,
            }
            text = json.dumps(manifest, indent=2) + "\n"
            _write_atomic(self.manifest_path, lambda tmp: tmp.write_text(text, "utf-8"))
        except BaseException:
            # The manifest was not replaced, so these files belong to no index.
            for path in written:
                path.unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)
        self._dirty = False
        self._remove_stale({self.manifest_path.name, ids_file, index_file})

    def _remove_stale(self, keep: set[str | None]) -> None:
        """Delete this store's superseded files and temp files left by interrupted saves."""
        for path in self.folder.iterdir():
            name = path.name
            ours = name.startswith(f"{self.name}.") or name.startswith(f".{self.name}.")
            if ours and name not in keep and name.endswith(_SUFFIXES):
                path.unlink(missing_ok=True)
