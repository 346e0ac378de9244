"""FAISS index families (flat, IVF, HNSW): build one from vectors, tune it, read back what it is."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, TypeAlias

import faiss
import numpy as np

# faiss's SWIG classes are typed as the base Index; the attributes used here (hnsw, nlist,
# invlists, …) live on the subclasses that downcast_index returns, so indexes are Any here.
FaissIndex: TypeAlias = Any

# IVF: about 4*sqrt(n) lists, each trained from at least 39 points (faiss warns below that and
# the centroids get noisy). The k-means sample is capped at 64 points per list because training
# time grows linearly with it (faiss's own cap is 256): at 1M vectors that is 256k points and
# already most of a ~200 s build on 2 cores.
IVF_MIN_POINTS_PER_LIST = 39
IVF_TRAIN_POINTS_PER_LIST = 64
# HNSW: 32 links per node, a common balance of recall and memory for a few hundred dimensions.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def stable_id(key: str) -> int:
    """The int64 FAISS id of a graph key: 63 bits of its blake2b digest (never negative)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def ivf_nlist(n: int) -> int:
    """Number of IVF lists for n vectors: ~4*sqrt(n), but never under-trained."""
    return max(1, min(round(4 * math.sqrt(n)), n // IVF_MIN_POINTS_PER_LIST))


def ivf_nprobe(nlist: int) -> int:
    """Lists searched per query: ~1.5% of them, at least 16.

    Calibrated with bench/vector_search.py on 1M clustered 384-d vectors (4000 lists, 2-core
    CPU): 62 probes gave recall@10 0.976 at p50 1.1 ms; 48 was the least to reach 0.95.
    """
    return min(nlist, max(16, nlist // 64))


def family(index_type: str) -> str:
    """The family of an index type: "ivf4096,flat" -> "ivf"."""
    match = re.match(r"[a-z]*", index_type)
    return match.group() if match else ""


def build(family: str, dim: int, ids: np.ndarray, vectors: np.ndarray) -> FaissIndex:
    """A new index of `family` holding `vectors` under `ids` (None when there are none)."""
    if len(ids) == 0:
        return None
    if family == "flat":
        index: FaissIndex = faiss.index_factory(dim, "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)
    elif family == "hnsw":
        index = faiss.index_factory(dim, f"IDMap2,HNSW{HNSW_M},Flat", faiss.METRIC_INNER_PRODUCT)
        inner(index).hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    else:
        nlist = ivf_nlist(len(ids))
        index = faiss.index_factory(dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1  # tiny forced-IVF stores: nlist is 1 anyway
        sample = vectors
        if len(vectors) > IVF_TRAIN_POINTS_PER_LIST * nlist:
            # A fixed seed keeps rebuilds of the same content reproducible.
            rows = np.random.default_rng(0).choice(
                len(vectors), IVF_TRAIN_POINTS_PER_LIST * nlist, replace=False
            )
            sample = vectors[np.sort(rows)]
        index.train(sample)
        # A hash table (not an array) maps arbitrary 63-bit ids to list entries, which is what
        # remove_ids and reconstruct need.
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    index.add_with_ids(vectors, ids)
    tune(index)
    return index


def inner(index: FaissIndex) -> FaissIndex:
    """The index an IDMap2 wraps, as its own class (HNSW, Flat)."""
    return faiss.downcast_index(index.index)


def tune(index: FaissIndex) -> None:
    """Set the search-time parameters (they follow the code, not what the file holds)."""
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = ivf_nprobe(index.nlist)
    elif isinstance(index, faiss.IndexIDMap2):
        wrapped = inner(index)
        if isinstance(wrapped, faiss.IndexHNSW):
            wrapped.hnsw.efSearch = HNSW_EF_SEARCH


def index_type(index: FaissIndex) -> str:
    if isinstance(index, faiss.IndexIVF):
        return f"ivf{index.nlist},flat"
    if isinstance(index, faiss.IndexIDMap2):
        wrapped = inner(index)
        if isinstance(wrapped, faiss.IndexHNSW):
            return f"hnsw{wrapped.hnsw.nb_neighbors(1)},flat"  # type: ignore[attr-defined]
    return "flat"


def index_ids(index: FaissIndex) -> np.ndarray:
    """Every id stored in the index, in no particular order."""
    if isinstance(index, faiss.IndexIDMap2):
        return faiss.vector_to_array(index.id_map)
    lists = index.invlists
    parts = []
    for no in range(index.nlist):
        size = lists.list_size(no)
        if size:
            ptr = lists.get_ids(no)
            parts.append(faiss.rev_swig_ptr(ptr, size).copy())
            lists.release_ids(no, ptr)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
