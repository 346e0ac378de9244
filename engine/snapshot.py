"""What a search engine holds in memory: one immutable snapshot, replaced whole on reload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from unfragile.engine.candidates import Tables
from unfragile.engine.names import Names
from unfragile.engine.ranker import Scorer
from unfragile.indexing.lexical import BM25
from unfragile.indexing.vectors import VectorStore


@dataclass(frozen=True)
class Snapshot:
    """What search holds in memory; replaced whole on reload, never changed in place."""

    files: tuple[Any, ...]
    stamp: tuple[int, int, int]
    refreshed: float
    capabilities: VectorStore | None
    queries: VectorStore | None
    artifacts: dict[str, dict[str, Any]]
    art_keys: list[str]
    art_pos: dict[str, int]
    art_lex_keys: list[str]
    art_texts: list[str]
    art_vectors: np.ndarray | None
    art_store: VectorStore | None  # the artifacts' name + description vectors, searchable
    art_lexical: BM25
    caps: dict[str, dict[str, Any]]
    caps_of: dict[str, list[str]]
    cap_keys: list[str]
    cap_lexical: BM25
    latest: datetime | None
    names: Names
    tables: Tables
    scorer: Scorer

    def description_of(self, artifact_id: str) -> np.ndarray | None:
        """The artifact's name + description vector, if indexed."""
        i = self.art_pos.get(artifact_id)
        return None if i is None or self.art_vectors is None else self.art_vectors[i]


def asdict_shallow(snap: Snapshot) -> dict[str, Any]:
    """The snapshot's fields, not copied (dataclasses.asdict would deep-copy the indexes)."""
    return {f: getattr(snap, f) for f in snap.__dataclass_fields__}
