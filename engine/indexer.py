"""Keep the FAISS indexes in step with the graph: capabilities, past queries and images."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from unfragile.engine.settings import Settings
from unfragile.graph import retrieval, store
from unfragile.graph.connection import Graph
from unfragile.indexing.vectors import VectorStore


@dataclass
class SyncReport:
    collection: str
    added: int
    updated: int
    removed: int
    total: int
    index_type: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3)}


def capability_text(row: dict[str, Any]) -> str:
    """What a capability is embedded as: its title, then its text."""
    return f"{row['title']}: {row['text']}"


def artifact_text(row: dict[str, Any]) -> str:
    """What an artifact is embedded (and matched by words) as: its name, then its description."""
    name = row.get("name") or row["id"]
    return f"{name}: {row['description']}" if row.get("description") else name


def fingerprint(model: str, text: str) -> str:
    return hashlib.blake2b(f"{model}\x1f{text}".encode(), digest_size=12).hexdigest()


class Indexer:
    """Builds and updates the indexes under `<home>/indexes`; encoders load on first use."""

    def __init__(
        self, settings: Settings, graph: Graph, text_encoder: Any = None, image_encoder: Any = None
    ):
        self.settings = settings
        self.graph = graph
        # Loaded on first use unless given (a server or a test shares one across indexers).
        self._text_encoder = text_encoder
        self._image_encoder = image_encoder

    # -- encoders ------------------------------------------------------------------------
    def text_encoder(self):
        if self._text_encoder is None:
            from unfragile.indexing.text import TextEncoder

            self._text_encoder = TextEncoder(
                self.settings.text_model, cache_dir=self.settings.cache_dir
            )
        return self._text_encoder

    def image_encoder(self):
        if self._image_encoder is None:
            from unfragile.indexing.images import ImageEncoder

            self._image_encoder = ImageEncoder(self.settings.image_model)
        return self._image_encoder

    def open_store(
        self, collection: str, model: str, dim: int, rebuild: bool = False
    ) -> VectorStore:
        opener = VectorStore.create if rebuild else VectorStore.open
        return opener(
            self.settings.index_dir,
            collection,
            model,
            dim,
            exact_limit=self.settings.exact_limit,
            kind=self.settings.index_kind,
        )

    # -- text ----------------------------------------------------------------------------
    def sync_text(
        self, collection: str, rebuild: bool = False, show_progress: bool = True
    ) -> SyncReport:
        """Encode what was added or edited since the last run, drop what was deleted."""
        started = time.perf_counter()
        if collection == "capabilities":
            rows = store.capability_texts(self.graph)
            texts = {r["id"]: capability_text(r) for r in rows}
        elif collection == "artifacts":
            texts = {r["id"]: artifact_text(r) for r in retrieval.artifact_rows(self.graph)}
        else:
            rows = store.query_texts(self.graph)
            texts = {r["id"]: r["text"] or r["id"] for r in rows}
        model = self.settings.text_model
        encoder = None
        dim = self._known_dim(collection)
        if dim is None:
            encoder = self.text_encoder()
            dim = encoder.dim
        vectors = self.open_store(collection, model, dim, rebuild)
        wanted = {key: fingerprint(model, text) for key, text in texts.items()}
        have = vectors.fingerprints()
        removed = [key for key in have if key not in wanted]
        changed = [key for key, fp in wanted.items() if have.get(key) != fp]
        updated = sum(1 for key in changed if key in have)
        if removed:
            vectors.remove(removed)
        if changed:
            encoder = encoder or self.text_encoder()
            embedded = encoder.encode([texts[k] for k in changed], show_progress=show_progress)
            vectors.upsert(changed, [wanted[k] for k in changed], embedded)
        if removed or changed or rebuild or not vectors.exists():
            vectors.save()
        return SyncReport(
            collection,
            len(changed) - updated,
            updated,
            len(removed),
            len(vectors),
            vectors.index_type,
            time.perf_counter() - started,
        )

    def _known_dim(self, collection: str) -> int | None:
        """The dimension recorded for this collection, so an unchanged index needs no model."""
        return VectorStore.recorded_dim(self.settings.index_dir, collection)

    # -- images --------------------------------------------------------------------------
    def image_dir(self) -> Path:
        return self.settings.home / "images"

    def keep_image_file(self, sha256: str, data: bytes, suffix: str) -> Path:
        """Copy an image into the home (write then rename), named by its content hash."""
        folder = self.image_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{sha256}{suffix}"
        if not target.exists():
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return target

    def add_images(
        self,
        paths: list[Path],
        artifact: str,
        relation: str = "DEPICTS",
        extras: list[dict[str, Any]] | None = None,
    ) -> list[str]:
        """Validate every image, then store files, graph nodes and vectors for them."""
        from unfragile.indexing.images import load_image

        loaded = [load_image(Path(p)) for p in paths]  # refuses bad files before any write
        self.store_images(loaded, artifact, relation, extras)
        self.sync_images(show_progress=False)
        return [img.sha256 for img in loaded]

    def store_images(
        self,
        loaded: list[Any],
        artifact: str,
        relation: str = "DEPICTS",
        extras: list[dict[str, Any]] | None = None,
    ) -> None:
        rows = []
        for img, extra in zip(loaded, extras or [{}] * len(loaded), strict=True):
            suffix = "." + img.format.lower().replace("jpeg", "jpg")
            kept = self.keep_image_file(img.sha256, Path(img.path).read_bytes(), suffix)
            rows.append(
                {
                    "id": img.sha256,
                    "artifact": artifact,
                    "file": str(kept),
                    "source": str(img.path),
                    "width": img.width,
                    "height": img.height,
                    "format": img.format,
                    "bytes": kept.stat().st_size,
                    "relation": relation,
                    "prompt": None,
                    "seed": None,
                    **extra,
                }
            )
        store.upsert_images(self.graph, rows)

    def sync_images(self, rebuild: bool = False, show_progress: bool = True) -> SyncReport:
        """Index every Image node's file; drop vectors of images no longer in the graph."""
        from unfragile.indexing.errors import ImageRejected
        from unfragile.indexing.images import load_image

        started = time.perf_counter()
        self._import_catalog_images()
        rows = store.image_files(self.graph)
        model = self.settings.image_model
        dim = VectorStore.recorded_dim(self.settings.index_dir, "images")
        if dim is None and not rows:
            return SyncReport("images", 0, 0, 0, 0, "none", time.perf_counter() - started)
        if dim is None or rebuild:
            dim = self.image_encoder().dim
        vectors = self.open_store("images", model, dim, rebuild)
        wanted = {r["id"]: fingerprint(model, r["id"]) for r in rows}
        have = vectors.fingerprints()
        removed = [key for key in have if key not in wanted]
        changed = [r for r in rows if have.get(r["id"]) != wanted[r["id"]]]
        if removed:
            vectors.remove(removed)
        if changed:
            images, keys = [], []
            for r in changed:
                try:
                    images.append(load_image(Path(r["file"])).image)
                    keys.append(r["id"])
                except (ImageRejected, OSError):
                    continue  # the file went missing from the home: skip, keep the node
            if images:
                embedded = self.image_encoder().encode(images, show_progress=show_progress)
                vectors.upsert(keys, [wanted[k] for k in keys], embedded)
        vectors.save()
        return SyncReport(
            "images",
            len(changed),
            0,
            len(removed),
            len(vectors),
            vectors.index_type,
            time.perf_counter() - started,
        )

    def _import_catalog_images(self) -> None:
        """Images named in catalog records become Image nodes the first time we index."""
        from unfragile.indexing.images import load_image

        known = {r["id"] for r in store.image_files(self.graph)}
        for row in store.artifact_image_paths(self.graph):
            # Hashing the bytes is enough to skip known images; only new ones are decoded
            # (and checked) on every index run.
            fresh = [load_image(Path(p)) for p in row["paths"] if _file_sha256(p) not in known]
            if fresh:
                self.store_images(fresh, row["id"])
                known.update(img.sha256 for img in fresh)

    def sync_all(self, rebuild: bool = False, show_progress: bool = True) -> list[SyncReport]:
        return [
            self.sync_text("capabilities", rebuild, show_progress),
            self.sync_text("queries", rebuild, show_progress),
            self.sync_text("artifacts", rebuild, show_progress),
            self.sync_images(rebuild, show_progress),
        ]

    # -- image search --------------------------------------------------------------------
    def search_image(self, path: Path, k: int = 10) -> list[dict[str, Any]]:
        """Artifacts whose images look most like the given one, best first."""
        from unfragile.indexing.images import load_image

        query = load_image(Path(path))
        dim = VectorStore.recorded_dim(self.settings.index_dir, "images")
        if dim is None:
            return []
        vectors = self.open_store("images", self.settings.image_model, dim)
        embedded = self.image_encoder().encode([query.image])
        hits = vectors.search(embedded, k * 5)[0]
        scores = dict(hits)
        links = store.image_artifacts(self.graph, [key for key, _ in hits])
        best: dict[str, dict[str, Any]] = {}
        for link in links:
            score = scores[link["image"]]
            current = best.get(link["artifact"])
            if current is None or score > current["score"]:
                best[link["artifact"]] = {
                    "artifact": link["artifact"],
                    "name": link["name"],
                    "kind": link["kind"],
                    "score": round(score, 6),
                    "image": link["image"],
                    "relation": link["relation"],
                    "prompt": link["prompt"],
                }
        return sorted(best.values(), key=lambda r: (-r["score"], r["artifact"]))[:k]


def _file_sha256(path: str) -> str | None:
    """The content hash an Image node is keyed by, or None when the file cannot be read."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
