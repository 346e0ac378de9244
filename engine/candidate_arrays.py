"""Per-snapshot arrays over the artifacts and capabilities that one query's candidates index."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from unfragile.engine.features import Vocabulary, satisfaction
from unfragile.engine.intent import Understanding
from unfragile.engine.query_words import ACCEPTS
from unfragile.indexing.lexical import BM25

NONE = -1  # a position for "not there": an artifact or capability the snapshot lacks


class Arrays:
    """The snapshot's artifacts as positions 0..n-1 (in the artifact rows' order), and what
    every query would otherwise look up again per candidate: each capability's owner, each
    artifact's rank in id order (the tie-break), its prior, kind and task as codes, its row
    in the artifact vectors and in the vocabulary, and (on first use) each constraint's
    satisfaction. Built once per snapshot; read-only after, so threads can share it."""

    def __init__(
        self,
        artifacts: dict[str, dict[str, Any]],
        art_pos: dict[str, int],
        art_lex_keys: list[str],
        caps: dict[str, dict[str, Any]],
        cap_keys: list[str],
        vocab: Vocabulary,
    ):
        self.ids = list(artifacts)
        self.rows = list(artifacts.values())
        pos = self.pos = {a: i for i, a in enumerate(self.ids)}
        n = len(self.ids)
        self.id_rank = np.empty(n, dtype=np.int64)
        self.id_rank[sorted(range(n), key=self.ids.__getitem__)] = np.arange(n)
        self.prior = np.array([(r["rank"] or 0) / 100.0 for r in self.rows], dtype=np.float64)
        self.kinds: dict[Any, int] = {}
        self.kind = _codes((r.get("kind") for r in self.rows), self.kinds, n)
        self.tasks: dict[Any, int] = {}
        self.task = _codes((r.get("task") for r in self.rows), self.tasks, n)
        self.vec_row = _positions(self.ids, art_pos, n)
        self.voc_pos = _positions(self.ids, vocab.index, n)
        self.lex_art = _positions(art_lex_keys, pos, len(art_lex_keys))
        self.cap_keys = cap_keys
        self.cap_pos = {c: i for i, c in enumerate(cap_keys)}
        self.cap_owner = [caps[c]["artifact"] for c in cap_keys]
        self.cap_art = _positions(self.cap_owner, pos, len(cap_keys))
        self._satisfied: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def known(self, items: Iterable[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """The positions and values of the (id, value) pairs whose ids the snapshot holds."""
        get = self.pos.get
        at, values = [], []
        for a, v in items:
            p = get(a)
            if p is not None:
                at.append(p)
                values.append(v)
        return np.array(at, dtype=np.int64), np.array(values, dtype=np.float64)

    def satisfied(self, constraint: str) -> np.ndarray:
        """Every artifact's satisfaction of one constraint (features.satisfaction), worked
        out on first use: the rows do not change for the life of a snapshot."""
        found = self._satisfied.get(constraint)
        if found is None:
            with self._lock:
                found = self._satisfied.get(constraint)
                if found is None:
                    found = np.array(
                        [satisfaction(constraint, r) for r in self.rows], dtype=np.float64
                    )
                    self._satisfied[constraint] = found
        return found

    def constraint(self, u: Understanding, at: np.ndarray) -> np.ndarray:
        """features.constraint_value for the artifacts at positions `at`, summed in the
        same order (the same floats)."""
        if not u.constraints:
            return np.zeros(len(at))
        total: np.ndarray | float = 0.0
        for c in u.constraints:
            total = total + self.satisfied(c)[at]
        return np.asarray(total, dtype=np.float64) / len(u.constraints) - 1.0

    def kind_value(self, u: Understanding, at: np.ndarray) -> np.ndarray:
        """features.kind_value for the artifacts at `at`: −1 where the kind asked for
        accepts not theirs."""
        if u.kind is None:
            return np.zeros(len(at))
        return self.same(self.kind[at], self.kinds, ACCEPTS.get(u.kind, (u.kind,))) - 1.0

    def same(self, codes: np.ndarray, table: dict[Any, int], wanted: Iterable[Any]) -> np.ndarray:
        """1.0 where the code is one of `wanted`'s (kinds or tasks), else 0.0."""
        want = [table[w] for w in wanted if w in table]
        if not want:
            return np.zeros(len(codes))
        return np.isin(codes, want).astype(np.float64)

    def cheap_top(self, cand: np.ndarray, cheap: np.ndarray, n: int) -> np.ndarray:
        """Indices into `cand` of the n best by cheap score, ties by id (heapq.nsmallest
        over (−cheap, id))."""
        order = np.lexsort((self.id_rank[cand], -cheap))
        return order[:n]

    def by_id(self, at: np.ndarray) -> np.ndarray:
        """`at` (positions) in id order."""
        return at[np.argsort(self.id_rank[at], kind="stable")]


def combine(
    cand: np.ndarray,
    at: np.ndarray,
    values: np.ndarray,
    ufunc: np.ufunc | None,
    start: float,
) -> np.ndarray:
    """One value per candidate (`cand`, sorted positions): `values` at positions `at`
    combined by `ufunc` (np.maximum, np.add: in the given order, from `start`), or put in
    place (None: `at` holds each position once); positions not among `cand` are dropped."""
    out = np.full(len(cand), start, dtype=np.float64)
    if len(at) and len(cand):
        slot = np.minimum(np.searchsorted(cand, at), len(cand) - 1)
        ok = cand[slot] == at
        if ufunc is None:
            out[slot[ok]] = values[ok]
        else:
            ufunc.at(out, slot[ok], values[ok])
    return out


def lexical_hits(
    index: BM25, text: str, n: int, typed: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """BM25's top n (document indices, scores) as arrays, best first; empty for no text.
    `typed`: the words the person typed (BM25.top)."""
    if not text:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return index.top_arrays(text, n, typed)


def _codes(values: Iterable[Any], table: dict[Any, int], n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.int64)
    for i, v in enumerate(values):
        out[i] = table.setdefault(v, len(table))
    return out


def _positions(keys: list[str], pos: dict[str, int], n: int) -> np.ndarray:
    get = pos.get
    return np.array([get(a, NONE) for a in keys], dtype=np.int64).reshape(n)
