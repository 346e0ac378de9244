"""BM25 over short texts, in memory: postings as numpy arrays, one bincount per query."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np

# Plain words, the same tokens Neo4j's full-text index would see after reducing user text.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def beginning_with(words: list[str], prefix: str) -> Iterator[str]:
    """The words of the sorted list `words` that begin with `prefix` (itself included), in
    order: a bisection to the first, then the run."""
    at = bisect_left(words, prefix)
    while at < len(words) and words[at].startswith(prefix):
        yield words[at]
        at += 1


# A word's postings keep only its MAX_POSTINGS highest-weighted documents (impact-ordered
# pruning): a word in more documents than that is a near stop word whose low idf hardly
# moves the top of a ranking, while its full list would dominate the query's cost.
MAX_POSTINGS = 4096
# A query word also matches the longer words it begins ("postgres" finds "PostgreSQL",
# "laugh" "laughter", "detect" "detection"): up to PREFIX_WORDS of them, at most PREFIX_EXTRA
# letters longer, for words of PREFIX_MIN letters or more (shorter ones begin too many:
# "chat" would find "chatterbox"). A document counts the best of a word's forms, not their sum.
PREFIX_MIN = 5
PREFIX_EXTRA = 5
PREFIX_WORDS = 8
# Words whose merged postings (with their longer forms) are remembered: query words repeat
# across searches, and merging a word's forms costs more than the rest of its look-up.
FORMS_KEPT = 4096
_UNSEEN: Any = object()


class BM25:
    """Okapi BM25 (k1, b) over `docs`; `top` returns the best documents by index."""

    def __init__(
        self, docs: list[str], k1: float = 1.2, b: float = 0.75, max_postings: int = MAX_POSTINGS
    ):
        self.size = len(docs)
        counts = [Counter(tokens(d)) for d in docs]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        norm = k1 * (1.0 - b + b * lengths / average)
        rows: dict[str, list[int]] = {}
        freqs: dict[str, list[int]] = {}
        for i, c in enumerate(counts):
            for word, f in c.items():
                rows.setdefault(word, []).append(i)
                freqs.setdefault(word, []).append(f)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for word, docs_of in rows.items():
            idx = np.array(docs_of, dtype=np.int64)
            tf = np.array(freqs[word], dtype=np.float64)
            idf = math.log(1.0 + (self.size - len(idx) + 0.5) / (len(idx) + 0.5))
            weight = idf * tf * (k1 + 1.0) / (tf + norm[idx])
            if len(idx) > max_postings:
                keep = np.sort(np.argpartition(-weight, max_postings - 1)[:max_postings])
                idx, weight = idx[keep], weight[keep]
            self._postings[word] = (idx, weight.astype(np.float32))
        self._words = sorted(self._postings)
        self._merged: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def top(self, text: str, n: int, typed: str | None = None) -> list[tuple[int, float]]:
        """Up to n (document index, score) pairs with a positive score, best first. `typed`:
        the words as the person typed them, when `text` adds others (an abbreviation spelled
        out): only those find the longer words they begin."""
        docs, scores = self.top_arrays(text, n, typed)
        return list(zip(docs.tolist(), scores.tolist(), strict=True))

    def top_arrays(
        self, text: str, n: int, typed: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`top` as two arrays: document indices and their scores, best first (ties by
        index)."""
        own = None if typed is None else set(tokens(typed))
        parts = [
            p
            for w in sorted(set(tokens(text)))
            if (p := self._forms(w, own is None or w in own)) is not None
        ]
        if not parts or n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        docs: np.ndarray
        weights: np.ndarray
        scores: np.ndarray
        if len(parts) == 1:
            docs, weights = parts[0]
            scores = np.zeros(self.size, dtype=np.float64)
            scores[docs] = weights
        else:
            docs = np.concatenate([p[0] for p in parts])
            weights = np.concatenate([p[1] for p in parts])
            scores = np.bincount(docs, weights=weights, minlength=self.size)
        hit = np.flatnonzero(scores > 0)
        if len(hit) > n:
            hit = hit[np.argpartition(-scores[hit], n - 1)[:n]]
        hit = hit[np.lexsort((hit, -scores[hit]))]
        return hit, scores[hit]

    def _forms(self, word: str, longer_too: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """The postings of `word` and (`longer_too`) of the longer words it begins, each
        document once with its best weight; None when no document has any of them."""
        exact = self._postings.get(word)
        if len(word) < PREFIX_MIN or not longer_too:
            return exact
        kept = self._merged.get(word, _UNSEEN)  # one look-up: another thread may clear it
        if kept is not _UNSEEN:
            return kept
        if len(self._merged) >= FORMS_KEPT:
            self._merged.clear()
        merged = self._merged[word] = self._merge(word, exact)
        return merged

    def _merge(
        self, word: str, exact: tuple[np.ndarray, np.ndarray] | None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        longer: list[tuple[np.ndarray, np.ndarray]] = []
        for other in beginning_with(self._words, word):
            if len(longer) == PREFIX_WORDS:
                break
            if other != word and len(other) - len(word) <= PREFIX_EXTRA:
                longer.append(self._postings[other])
        if not longer:
            return exact
        parts = ([exact] if exact is not None else []) + longer
        docs = np.concatenate([p[0] for p in parts])
        weights = np.concatenate([p[1] for p in parts])
        order = np.lexsort((-weights, docs))  # by document, the best weight first
        docs, weights = docs[order], weights[order]
        first = np.ones(len(docs), dtype=bool)
        first[1:] = docs[1:] != docs[:-1]
        return docs[first], weights[first]
