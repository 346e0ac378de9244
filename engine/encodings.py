"""A small thread-safe LRU of query embeddings: a query typed again is not encoded again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np


class EncodingCache:
    """Unit vectors of recent texts, least recently used out beyond `capacity`."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], encode: Callable[[list[str]], Any]) -> np.ndarray:
        """The vectors of `texts`, calling `encode` once for those not cached."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                v = self._vectors.get(t)
                if v is not None:
                    self._vectors.move_to_end(t)
                    found[t] = v
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = np.asarray(encode(missing), dtype=np.float32)
            with self._lock:
                for t, v in zip(missing, vectors, strict=True):
                    found[t] = v
                    self._vectors[t] = v
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
