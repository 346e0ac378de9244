"""Scoring candidates: a learned LightGBM ranker when one is trained, else documented weights;
and the calibrated 0–100 match score behind "nothing here does that".

The learned model (`unfragile train`, engine/training.py) lives beside the indexes as
`ranker.txt` (LightGBM's own text format: no pickle) with `ranker.manifest.json` (features,
library version, data fingerprint, cross-validation figures). It is used only when its
features are exactly FEATURES; otherwise, and when none was trained (too few labelled
queries), the linear DEFAULT_WEIGHTS score the candidates.

DEFAULT_WEIGHTS: dense and description similarity count equally; BM25 a little; evidence
(absolute, 0–1) counts most, as close past searches that agree are the best signal there is;
a query that names an artifact puts it first (name); unmet constraints (−1 all broken) and a
kind asked for and not met push down; the same kind as the artifact referred to, the telling
words found, the records' own comparisons with it (compared) and UnfragileRank break ties.
Tuned on the dev split of bench/queries/catalog.jsonl and MetaTool's dev half
(bench/catalog_quality.py, bench/search_quality.py; BENCHMARKS.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from unfragile.engine.features import FEATURES
from unfragile.engine.intent import Understanding

DEFAULT_WEIGHTS: dict[str, float] = {
    "dense": 1.0,
    "description": 1.0,
    "lexical": 0.2,
    "evidence": 3.0,
    "evidence_best": 0.0,
    "evidence_share": 0.0,
    "name": 2.0,
    "coverage": 0.4,
    "core": 0.0,
    "phrase": 0.3,
    "constraint": 1.5,
    "kind": 0.6,
    "same_kind": 0.3,
    "same_task": 0.5,
    "reference": 0.0,
    "prior": 0.05,
    "compared": 0.25,
}

# The match score: P(acceptable) from a logistic model over the features below, fitted on the
# top 3 results of each dev query of bench/queries/catalog.jsonl (bench/calibrate_match.py);
# "nothing here" when the best is below NO_GOOD_MATCH (best balanced accuracy on dev).
MATCH_BIAS = -2.851
MATCH_COEF: dict[str, float] = {
    "dense": 2.539,
    "description": 0.663,
    "lexical": 1.151,
    "evidence": 1.968,
    "name": 1.877,
    "coverage": 0.378,
    "core": 0.768,
    "phrase": 0.908,
    "constraint": 0.565,
    "same_kind": 0.194,
    "same_task": 1.555,
    "reference": -0.437,
}
# A result matching below the first of a pair goes below any later one matching at least the
# second (`weak_below`): a soft boost may lift what hardly does the task, never above what
# does it well. The second pair only where a soft boost was asked for (a constraint, a kind):
# elsewhere the scorer (trained on the match graph) knows better than the match.
WEAK_BELOW = ((20, 40), (35, 70))
STATUS_MARGIN = 15  # match points within which an active artifact goes above an inactive one
NO_GOOD_MATCH = 57  # best match below this: "nothing in the catalog does this well"
# "Like X": X is in the catalog and its capabilities are the need, so the need is one the
# catalog knows; nothing is like X only when even the best hardly does what X does (below the
# first WEAK_BELOW tier's second figure). The 21 dev "alternative" queries' best is 67 or more;
# answerable ones first written in bench/queries/probes-session12.txt ("something like chatgpt
# that runs on my own computer": Jan, Open WebUI) are 44-49.
NO_GOOD_MATCH_LIKE = 40

MODEL_FILE = "ranker.txt"
MANIFEST_FILE = "ranker.manifest.json"


class Scorer(Protocol):
    @property
    def name(self) -> str: ...

    def score(self, matrix: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class LinearScorer:
    """score = Σ weight · feature."""

    weights: tuple[float, ...]
    name: str = "default weights"

    @classmethod
    def of(cls, weights: dict[str, float] | None = None) -> LinearScorer:
        w = {**DEFAULT_WEIGHTS, **(weights or {})}
        return cls(tuple(w[f] for f in FEATURES))

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return matrix @ np.asarray(self.weights, dtype=np.float64)


class LearnedScorer:
    """A LightGBM booster read from its text file."""

    def __init__(self, model_file: Path, manifest: dict[str, Any]):
        import lightgbm

        self.booster = lightgbm.Booster(model_file=str(model_file))
        self.manifest = manifest
        self.name = f"learned ({manifest.get('library', 'lightgbm')} lambdarank)"

    def score(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        return np.asarray(self.booster.predict(matrix, num_threads=1), dtype=np.float64)


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((index_dir / MANIFEST_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_scorer(index_dir: Path) -> Scorer:
    """The trained model when there is one for these features, else the default weights."""
    manifest = read_manifest(index_dir)
    model = index_dir / MODEL_FILE
    if manifest is None or not model.exists() or manifest.get("status") != "trained":
        return LinearScorer.of()
    if tuple(manifest.get("features", ())) != FEATURES:
        return LinearScorer.of()  # trained for other features: `unfragile train` again
    return LearnedScorer(model, manifest)


def match_scores(matrix: np.ndarray) -> np.ndarray:
    """Calibrated 0–100 match of each row (a probability that it does what was asked)."""
    if not len(matrix):
        return np.zeros(0, dtype=int)
    coef = np.array([MATCH_COEF.get(f, 0.0) for f in FEATURES], dtype=np.float64)
    z = MATCH_BIAS + matrix @ coef
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))
    return np.rint(100.0 * p).astype(int)


def no_good_match(best: int | None, named: bool = False, like: bool = False) -> bool:
    """Nothing does this well: the best match is low, and the query names no artifact.
    `like`: the query refers to an artifact ("alternative to X"), judged by a lower bar."""
    return not named and (best is None or best < (NO_GOOD_MATCH_LIKE if like else NO_GOOD_MATCH))


def settle(
    order: list[int],
    match: np.ndarray,
    ids: list[str],
    artifacts: dict[str, dict[str, Any]],
    u: Understanding,
) -> list[int]:
    """The scorer's `order` (indices into `ids`) as it is shown: what the query names first,
    whatever the scorer says; a model doing the opposite of the task asked ("speech to
    text": a text-to-speech model) after the rest; hardly matching results below the sound ones
    (`weak_below`); inactive artifacts below active ones that match about as well
    (`active_first`)."""
    named = dict(u.named)
    out = list(order)
    if named:
        top = max(named.values())
        out.sort(key=lambda i: named.get(ids[i], 0.0) < top - 1e-9)
    if u.opposite:  # models only: an API or app may do both ways (ElevenLabs' API does)
        wrong = {
            i
            for i in out
            if ids[i] not in named
            and artifacts[ids[i]].get("kind") == "model"
            and artifacts[ids[i]].get("task") in u.opposite
        }
        out.sort(key=lambda i: i in wrong)
    boosted = bool(u.constraints or u.kind)
    out = weak_below(out, match, {i for i in out if ids[i] in named}, boosted)
    return active_first(out, match, ids, artifacts, named)


def weak_below(
    order: list[int], match: np.ndarray, named: set[int], boosted: bool = True
) -> list[int]:
    """`order` with each result that hardly matches moved below the later ones that match
    soundly, for each pair of WEAK_BELOW: a soft boost (an API asked for, a kind) may lift an
    artifact that does not do the task above one that does ("music generation api": LLM APIs
    above a music model), never to the top of them. Named results stay where they are."""
    out = list(order)
    for weak_under, sound_from in WEAK_BELOW if boosted else WEAK_BELOW[:1]:
        weak = {i for i in out if match[i] < weak_under and i not in named}
        sound = [at for at, i in enumerate(out) if match[i] >= sound_from or i in named]
        if weak and sound:
            head, tail = out[: sound[-1] + 1], out[sound[-1] + 1 :]
            out = [i for i in head if i not in weak] + [i for i in head if i in weak] + tail
    return out


def active_first(
    order: list[int],
    match: np.ndarray,
    ids: list[str],
    artifacts: dict[str, dict[str, Any]],
    named: dict[str, float],
) -> list[int]:
    """`order` with every archived, superseded or removed artifact moved below the active
    ones after it that match about as well (within STATUS_MARGIN points): between two that
    do the same, the one still maintained comes first; a far better match stays ahead, and
    so does one the query names."""
    out = list(order)
    inactive = [
        i
        for i in order
        if artifacts[ids[i]].get("status", "active") != "active" and ids[i] not in named
    ]
    for i in reversed(inactive):
        at = out.index(i)
        while (
            at + 1 < len(out)
            and artifacts[ids[out[at + 1]]].get("status", "active") == "active"
            and match[out[at + 1]] >= match[i] - STATUS_MARGIN
        ):
            out[at], out[at + 1] = out[at + 1], out[at]
            at += 1
    return out
