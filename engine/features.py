"""Per-(query, artifact) ranking features: what the scorer (engine/ranker.py) ranks by.

Every candidate artifact of a query gets the values of FEATURES:

- dense: the best cosine between the query and one of its capabilities;
- description: the cosine between the query and its name + description;
- lexical: BM25 of its best capability and of its name + description, relative to the query's
  best hit (0–1);
- evidence: how strongly past searches close to this one led to it, on an ABSOLUTE scale: each
  neighbouring past query counts with the probability p(similarity) that a query that close
  wants the same thing (a logistic curve, EVIDENCE_MIDPOINT/EVIDENCE_SLOPE, fitted on MetaTool:
  bench/search_quality.py --calibrate), times its match confidence and recency; the
  neighbours combine as a noisy-OR. Weak neighbours (similarity 0.35) add almost nothing, so a
  sparse log cannot decide a ranking, while near-duplicates of a past query still do;
- evidence_best: the similarity of the closest past query that led to it (0 if none);
- evidence_share: its share of the neighbours' evidence (the relative vote, a tie-break);
- name: how well the whole query names it (engine/names.py), 1 for "gpt-4o" → GPT-4o;
- coverage: the idf-weighted share of the query's telling words found in its texts — a query
  about video against artifacts none of which mention video scores low everywhere;
- core: the same share over the query's CORE_WORDS rarest words that some artifact has (a
  word no artifact has cannot tell them apart): "video" in "generate a video from a text
  prompt" decides whether an image generator fits;
- phrase: the share of the query's consecutive telling-word pairs found in its texts in the
  same order ("text to speech" is not "speech to text");
- constraint: 0 when the query sets none, else the mean satisfaction of its constraints
  (free, open, local, api, cheap, commercial, small) minus 1, so −1 breaks them all;
- kind: −1 when the query asks for a kind ("MCP server", "CLI") and this is another, else 0;
- same_kind: 1 when it is of the kind of the artifact the query refers to ("alternative to X");
- same_task: 1 when it does the task of the artifact referred to (text-to-speech,
  speech-recognition, text-generation ...);
- reference: 1 when the query refers to an artifact (the same for all its candidates: it
  tells the scorer and the match score that the similarities are to X, not to words);
- prior: its UnfragileRank / 100 (0 if unranked);
- compared: 1 when the catalog's records compare it with the artifact referred to (a
  capability's `vs_alternatives` naming one from the other: engine/compared_with.py), times
  the share of the query's constraints it meets (a comparison does not lift what breaks them).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from unfragile.engine.intent import Understanding
from unfragile.engine.names import GENERIC
from unfragile.engine.query_words import ACCEPTS, FILLER
from unfragile.indexing.lexical import beginning_with

FEATURES = (
    "dense",
    "description",
    "lexical",
    "evidence",
    "evidence_best",
    "evidence_share",
    "name",
    "coverage",
    "core",
    "phrase",
    "constraint",
    "kind",
    "same_kind",
    "same_task",
    "reference",
    "prior",
    "compared",
)

EVIDENCE_MIDPOINT = 0.72  # similarity at which a past query is as likely right as wrong
EVIDENCE_SLOPE = 14.0

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP = frozenset(
    "about above after again all also am an any are as at be because been before being below "
    "between both by can could did do does doing down during each few from further had has "
    "have having he her here hers him his how if into is just me more most my no nor not now "
    "off once only other our out over own same she should so some such than that their them "
    "then there these they this those through too under until up very was we were what when "
    "where which while who whom why will you your best good great get use using used make "
    "help something thing things way ways lets let like need needs want wants looking find "
    "recommend recommendation tool tools app apps model models software service ai".split()
)
OPEN_LICENSES = frozenset(
    "mit apache-2.0 bsd-2-clause bsd-3-clause gpl-3.0 agpl-3.0 lgpl-3.0 mpl-2.0 isc "
    "openrail openrail++ cc-by-4.0 unlicense".split()
)
NON_COMMERCIAL = ("non-commercial", "noncommercial", "cpml", "cc-by-nc")
LOCAL_KINDS = frozenset(("cli", "library", "tool", "agent", "mcp-server"))
SMALL_PARAMETERS = 15e9
MIN_PREFIX = 4  # a query word this long or longer also matches words it begins
CORE_WORDS = 2
EXPANSIONS_KEPT = 4096  # query words whose vocabulary expansions are remembered
COVERING_KEPT = 32 << 20  # bytes of the query words' coverage masks remembered


def stem(word: str) -> str:
    """A crude English stem, the same on both sides: 'images' → 'image', 'libraries' →
    'library'; other endings are left to prefix matching (Vocabulary.coverage)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower())]


def _telling(w: str) -> bool:
    return w not in STOP and w not in FILLER and w not in GENERIC and len(w) > 1


def telling_words(text: str) -> list[str]:
    """The query's words that say what is needed: no stop, filler or generic words."""
    return [w for w in dict.fromkeys(words(text)) if _telling(w)]


def pairs(text: str) -> set[tuple[str, str]]:
    """Consecutive telling words, in order: "text to speech" is (text, speech), which
    "speech to text" is not."""
    seq = [w for w in words(text) if _telling(w)]
    return set(zip(seq, seq[1:], strict=False))


def evidence_probability(similarity: float) -> float:
    return 1.0 / (1.0 + math.exp(-EVIDENCE_SLOPE * (similarity - EVIDENCE_MIDPOINT)))


class Vocabulary:
    """Each artifact's stemmed words (name, description, capabilities), their ordered word
    pairs, and each word's idf; a query word of MIN_PREFIX letters or more also matches the
    words it begins ("postgres" finds "PostgreSQL"), looked up in the sorted vocabulary."""

    def __init__(self, texts: dict[str, str]):
        self.words_of = {a: frozenset(words(t)) for a, t in texts.items()}
        self.pairs_of = {a: frozenset(pairs(t)) for a, t in texts.items()}
        self.index = {a: i for i, a in enumerate(self.words_of)}  # positions, for arrays
        # Each word's artifacts (positions, ascending): its document frequency is their count.
        self._postings: dict[str, list[int]] = {}
        for i, ws in enumerate(self.words_of.values()):
            for w in ws:
                self._postings.setdefault(w, []).append(i)
        n = max(len(self.words_of), 1)
        self.idf = {w: math.log(1.0 + n / len(p)) for w, p in self._postings.items()}
        self.unseen_idf = math.log(1.0 + n)
        self._sorted = sorted(self._postings)
        self._expanded: dict[str, frozenset[str]] = {}
        self._covering: dict[str, np.ndarray] = {}
        self._covering_size = 0

    @classmethod
    def build(cls, texts: dict[str, str]) -> Vocabulary:
        return cls(texts)

    def expand(self, w: str) -> frozenset[str]:
        """The vocabulary's words `w` stands for: itself, and those it begins."""
        found = self._expanded.get(w)
        if found is None:
            out = {w} if w in self.idf else set()
            if len(w) >= MIN_PREFIX:
                out.update(beginning_with(self._sorted, w))
            found = frozenset(out)
            if len(self._expanded) > EXPANSIONS_KEPT:
                self._expanded.clear()
            self._expanded[w] = found
        return found

    def coverage(self, telling: list[str], artifact: str) -> float:
        if not telling:
            return 1.0
        have = self.words_of.get(artifact, frozenset())
        total = found = 0.0
        for w in telling:
            weight = self.idf.get(w, self.unseen_idf)
            total += weight
            if w in have or not have.isdisjoint(self.expand(w)):
                found += weight
        return found / total if total else 1.0

    def covering(self, w: str) -> np.ndarray:
        """Which artifacts' words include one that `w` stands for (`expand`), as a mask over
        the positions of `index` and one more, always False, that position −1 reads. It is
        where `coverage` finds `w`; remembered, up to COVERING_KEPT bytes in all."""
        found = self._covering.get(w)
        if found is None:
            found = np.zeros(len(self.index) + 1, dtype=bool)
            for v in self.expand(w):
                found[self._postings[v]] = True
            if self._covering_size + len(found) > COVERING_KEPT:
                self._covering.clear()
                self._covering_size = 0
            self._covering[w] = found
            self._covering_size += len(found)
        return found

    def coverage_many(self, telling: list[str], at: np.ndarray) -> np.ndarray:
        """`coverage` of the artifacts at positions `at` (−1: none), with the same sums."""
        if not telling:
            return np.ones(len(at))
        total = 0.0
        found = np.zeros(len(at))
        for w in telling:
            weight = self.idf.get(w, self.unseen_idf)
            total += weight
            found = found + self.covering(w)[at] * weight  # + 0.0 where not: the same sum
        return found / total if total else np.ones(len(at))

    def phrase_many(self, wanted: set[tuple[str, str]], artifacts: list[str]) -> list[float]:
        """`phrase` of each of `artifacts`."""
        if not wanted:
            return [0.0] * len(artifacts)
        get, n = self.pairs_of.get, len(wanted)
        empty: frozenset[tuple[str, str]] = frozenset()
        return [len(wanted & get(a, empty)) / n for a in artifacts]

    def core(self, telling: list[str]) -> list[str]:
        """The query's CORE_WORDS rarest words that some artifact's text holds."""
        seen = [w for w in telling if self.expand(w)]
        return sorted(seen, key=lambda w: (-self.idf.get(w, self.unseen_idf), w))[:CORE_WORDS]

    def phrase(self, wanted: set[tuple[str, str]], artifact: str) -> float:
        if not wanted:
            return 0.0
        return len(wanted & self.pairs_of.get(artifact, frozenset())) / len(wanted)


def satisfaction(constraint: str, a: dict[str, Any]) -> float:
    """How far artifact row `a` meets one constraint, 0–1."""
    pricing = a.get("pricing") or "unknown"
    license_ = (a.get("license") or "").lower()
    kind = a.get("kind")
    open_ = bool(a.get("open_weights")) or license_ in OPEN_LICENSES
    local = bool(a.get("open_weights")) or (
        kind in LOCAL_KINDS and pricing == "free" and license_ != "proprietary"
    )
    if constraint == "free":
        return {"free": 1.0, "freemium": 0.5}.get(pricing, 0.0)
    if constraint == "open":
        return 1.0 if open_ else 0.0
    if constraint == "local":
        return 1.0 if local else 0.0
    if constraint == "api":
        if kind == "api":
            return 1.0
        return 0.7 if kind == "model" and pricing == "usage-based" else 0.0
    if constraint == "cheap":
        return {"free": 1.0, "freemium": 0.7, "usage-based": 0.4}.get(pricing, 0.0)
    if constraint == "commercial":
        if any(t in license_ for t in NON_COMMERCIAL):
            return 0.0
        return 0.5 if "community" in license_ else 1.0
    if constraint == "small":
        parameters = a.get("parameters")
        if not local:
            return 0.0
        return 1.0 if parameters is None or parameters <= SMALL_PARAMETERS else 0.3
    return 1.0


def constraint_value(u: Understanding, a: dict[str, Any]) -> float:
    if not u.constraints:
        return 0.0
    return sum(satisfaction(c, a) for c in u.constraints) / len(u.constraints) - 1.0


def kind_value(u: Understanding, a: dict[str, Any]) -> float:
    if u.kind is None:
        return 0.0
    return 0.0 if a.get("kind") in ACCEPTS.get(u.kind, (u.kind,)) else -1.0
