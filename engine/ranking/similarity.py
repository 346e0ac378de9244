"""ALTERNATIVE_TO: co-matching blended with capability-vector similarity from FAISS."""

from __future__ import annotations

from typing import Any

import numpy as np

from unfragile.engine.ranking import algorithms
from unfragile.engine.ranking.config import RankConfig
from unfragile.engine.ranking.match_graph import MatchGraph
from unfragile.engine.settings import Settings


def capability_similarity(
    settings: Settings | None, art_ids: list[str], owners: dict[str, str], k: int
) -> list[list[tuple[int, float]]] | None:
    """Nearest artifacts by the mean vector of their capabilities, when the index exists."""
    if settings is None:
        return None
    try:
        import faiss

        from unfragile.indexing.errors import IndexMustBeRebuilt
        from unfragile.indexing.vectors import VectorStore
    except ImportError:
        return None
    try:
        dim = VectorStore.recorded_dim(settings.index_dir, "capabilities")
        if dim is None:
            return None
        store = VectorStore.open(
            settings.index_dir,
            "capabilities",
            settings.text_model,
            dim,
            exact_limit=settings.exact_limit,
            kind=settings.index_kind,
        )
        index = {a: i for i, a in enumerate(art_ids)}
        sums = np.zeros((len(art_ids), dim), dtype=np.float32)
        for cap, owner in owners.items():
            vec = store.vector(cap)
            if vec is not None and owner in index:
                sums[index[owner]] += vec
    except (IndexMustBeRebuilt, OSError, RuntimeError):
        return None
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    present = norms.ravel() > 0
    if present.sum() < 2:
        return None
    vectors = (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    rows = np.flatnonzero(present)
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors[rows])
    scores, hits = flat.search(vectors[rows], min(k + 1, len(rows)))
    out: list[list[tuple[int, float]]] = [[] for _ in art_ids]
    for r, row in enumerate(rows):
        out[row] = [
            (int(rows[h]), float(s))
            for h, s in zip(hits[r], scores[r], strict=True)
            if h >= 0 and rows[h] != row and s > 0
        ]
    return out


def alternatives(
    mg: MatchGraph,
    art_ids: list[str],
    config: RankConfig,
    capsim: list[list[tuple[int, float]]] | None,
) -> list[list[dict[str, Any]]]:
    n = config.alternatives_top_n
    co = algorithms.top_k_similar(mg.comatch, 3 * n) if len(art_ids) else []
    wco = config.alternatives_comatch_weight if capsim is not None else 1.0
    out = []
    for i in range(len(art_ids)):
        score: dict[int, float] = {}
        for j, s in co[i]:
            score[j] = score.get(j, 0.0) + wco * s
        for j, s in capsim[i] if capsim is not None else []:
            score[j] = score.get(j, 0.0) + (1.0 - wco) * s
        best = sorted(score.items(), key=lambda js: (-js[1], art_ids[js[0]]))[:n]
        out.append([{"id": art_ids[j], "score": round(s, 4)} for j, s in best if s > 0])
    return out
