"""'Need something different?' search: capabilities, descriptions, words and match-graph evidence.

A query is answered in three steps:

1. candidates — the nearest capabilities in the capability index (dense), the artifacts whose
   name and description embed nearest (description), BM25 matches of capability text and of
   artifact name + description held in memory (lexical), and the nearest *past queries* in the
   query index followed along their MATCHED edges to capabilities and artifacts (evidence);
2. fusion — one score per artifact:
       score = W_DENSE · dense + W_DESCRIPTION · description + W_LEXICAL · lexical
               + W_EVIDENCE · evidence + W_PRIOR · prior
   where dense is the best cosine of one of its capabilities, description the cosine of its
   name + description, lexical the mean of its best capability's and its own BM25 score, each
   relative to the query's best hit, evidence the similarity-weighted share of the neighbouring
   past queries' match confidence that points at the artifact (with recency decay), and prior
   its UnfragileRank / 100 when ranked. Evidence carries the largest weight: when close past
   queries agree it decides, and the other signals order what it leaves open;
3. grouping and explanation — one result per artifact with its best capability, each score
   component, and the past queries behind the evidence.

What is held in memory and when it is reloaded. Rows of artifacts and capabilities, the BM25
tables and the artifact vectors are loaded once and kept; every search makes ONE Cypher read:
the MATCHED edges of the neighbouring past queries (evidence is always live) together with a
stamp of the graph from Neo4j's count store (artifacts, capabilities, MATCHED edges). A search
reloads, under a lock and only the parts concerned, when an index manifest on disk changed
(`unfragile index` wrote it), when the graph stamp changed, and every ARTIFACT_REFRESH_S for
artifact rows (a new UnfragileRank or an edited filter field changes no count). Searches
already running keep the snapshot they started with, so one engine can serve many threads.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np

from unfragile.engine.errors import NotIndexed, UnknownAlternative
from unfragile.engine.indexer import artifact_text
from unfragile.engine.ranking.algorithms import exp_decay
from unfragile.engine.records import parse_time
from unfragile.engine.search_terms import (  # the weights, filters and checks: re-exported
    COMPONENTS,
    W_DENSE,  # noqa: F401
    W_DESCRIPTION,  # noqa: F401
    W_EVIDENCE,  # noqa: F401
    W_LEXICAL,  # noqa: F401
    W_PRIOR,  # noqa: F401
    Filters,
    Result,
    Weights,
    check_providers,  # noqa: F401
    check_query,  # noqa: F401
)
from unfragile.engine.settings import Settings
from unfragile.graph import retrieval
from unfragile.graph.connection import Graph
from unfragile.indexing.lexical import BM25
from unfragile.indexing.vectors import VectorStore

CAPABILITY_CANDIDATES = 100
ARTIFACT_CANDIDATES = 50
LEXICAL_CANDIDATES = 50
NEIGHBOUR_QUERIES = 20
NEIGHBOUR_MIN_SIMILARITY = 0.3
NEIGHBOUR_SHARPNESS = 10.0  # weight of a past query: exp(sharpness · (similarity − 1))
RECENCY_HALF_LIFE_DAYS = 180.0
EVIDENCE_SHOWN = 3
ENCODING_CACHE = 2048  # query embeddings kept (least recently used out)
ARTIFACT_REFRESH_S = 300.0  # artifact rows (filters, rank) are re-read at least this often
COLLECTIONS = ("capabilities", "queries", "artifacts")


@dataclass(frozen=True)
class _Snapshot:
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
    art_lexical: BM25
    caps: dict[str, dict[str, Any]]
    caps_of: dict[str, list[str]]
    cap_keys: list[str]
    cap_lexical: BM25
    latest: datetime | None


class SearchEngine:
    """Holds the encoder, the indexes and the rows search needs; evidence is read live."""

    def __init__(
        self, settings: Settings, graph: Graph, encoder: Any = None, weights: Weights | None = None
    ):
        from unfragile.indexing.text import TextEncoder

        self.weights = weights or Weights()
        self.settings = settings
        self.graph = graph
        self.encoder = encoder or TextEncoder(settings.text_model)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.reloads = 0  # how many times the in-memory snapshot was (partly) rebuilt
        self._snap = self._load(
            None,
            set(COLLECTIONS) | {"latest"},
            self._files(),
            retrieval.evidence_and_stamp(graph, [])[1],
        )

    # -- what is loaded ------------------------------------------------------------------
    @property
    def capabilities(self) -> VectorStore | None:
        return self._snap.capabilities

    @property
    def queries(self) -> VectorStore | None:
        return self._snap.queries

    def _files(self) -> tuple[Any, ...]:
        """A cheap fingerprint of the index manifests: `unfragile index` replaces them."""
        out: list[tuple[int, int, int] | None] = []
        for name in COLLECTIONS:
            try:
                st = os.stat(self.settings.index_dir / f"{name}.manifest.json")
                out.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def _store(self, name: str) -> VectorStore | None:
        dim = VectorStore.recorded_dim(self.settings.index_dir, name)
        if dim is None:
            return None
        return VectorStore.open(
            self.settings.index_dir,
            name,
            self.settings.text_model,
            dim,
            exact_limit=self.settings.exact_limit,
            kind=self.settings.index_kind,
        )

    def _load(
        self,
        old: _Snapshot | None,
        parts: set[str],
        files: tuple[Any, ...],
        stamp: tuple[int, int, int],
    ) -> _Snapshot:
        """A snapshot with `parts` read afresh and the rest taken from `old`."""
        new: dict[str, Any] = {"files": files, "stamp": stamp}
        if "queries" in parts:
            new["queries"] = self._store("queries")
        if "capabilities" in parts:
            rows = retrieval.capability_rows(self.graph)
            caps = {r["id"]: r for r in rows}
            caps_of: dict[str, list[str]] = {}
            for r in rows:
                caps_of.setdefault(r["artifact"], []).append(r["id"])
            new.update(
                capabilities=self._store("capabilities"),
                caps=caps,
                caps_of=caps_of,
                cap_keys=[r["id"] for r in rows],
                cap_lexical=BM25([f"{r['title']} {r['text']}" for r in rows]),
            )
        if "artifacts" in parts:
            rows = retrieval.artifact_rows(self.graph)
            texts = [artifact_text(r) for r in rows]
            new.update(artifacts={r["id"]: r for r in rows}, refreshed=time.monotonic())
            same = (
                old is not None
                and texts == old.art_texts
                and files[2] == old.files[2]
                and [r["id"] for r in rows] == old.art_lex_keys
            )
            if not same:  # a periodic refresh with nothing renamed or re-indexed reuses these
                store = self._store("artifacts")
                found = {} if store is None else {r["id"]: store.vector(r["id"]) for r in rows}
                vectors = {a: v for a, v in found.items() if v is not None}
                keys = list(vectors)
                new.update(
                    art_keys=keys,
                    art_pos={a: i for i, a in enumerate(keys)},
                    art_lex_keys=[r["id"] for r in rows],
                    art_texts=texts,
                    art_lexical=BM25(texts),
                    art_vectors=np.stack([vectors[a] for a in keys]).astype(np.float32)
                    if keys
                    else None,
                )
        if "latest" in parts:
            latest = retrieval.latest_evidence(self.graph)
            new["latest"] = _parse_time(latest) if latest else None
        self.reloads += 1
        return _Snapshot(**new) if old is None else replace(old, **new)

    def _fresh(self, stamp: tuple[int, int, int] | None = None) -> _Snapshot:
        """The snapshot to answer with, reloading what the files or the stamp say changed."""
        snap = self._snap
        files = self._files()
        due = time.monotonic() - snap.refreshed > ARTIFACT_REFRESH_S
        if files == snap.files and (stamp is None or stamp == snap.stamp) and not due:
            return snap
        with self._lock:
            snap = self._snap  # another thread may have reloaded meanwhile
            parts = {
                name for name, a, b in zip(COLLECTIONS, files, snap.files, strict=True) if a != b
            }
            if stamp is not None and stamp != snap.stamp:
                if stamp[0] != snap.stamp[0]:
                    parts.add("artifacts")
                if stamp[1] != snap.stamp[1]:
                    parts.add("capabilities")
                if stamp[2] != snap.stamp[2]:
                    parts.add("latest")
            if time.monotonic() - snap.refreshed > ARTIFACT_REFRESH_S:
                parts |= {"artifacts", "latest"}
            if parts or files != snap.files:
                self._snap = self._load(snap, parts, files, snap.stamp if stamp is None else stamp)
            return self._snap

    # -- encoding ------------------------------------------------------------------------
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts`, recent ones from a small LRU cache."""
        found: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for t in texts:
                v = self._cache.get(t)
                if v is not None:
                    self._cache.move_to_end(t)
                    found[t] = v
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = np.asarray(self.encoder.encode(missing), dtype=np.float32)
            with self._cache_lock:
                for t, v in zip(missing, vectors, strict=True):
                    found[t] = v
                    self._cache[t] = v
                while len(self._cache) > ENCODING_CACHE:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts]).astype(np.float32)

    def forget_encodings(self) -> None:
        """Empty the query-embedding cache (benchmarks that must time encoding use it)."""
        with self._cache_lock:
            self._cache.clear()

    # -- searching -----------------------------------------------------------------------
    def search(
        self,
        text: str,
        k: int = 10,
        filters: Filters | None = None,
        alternatives_to: str | None = None,
    ) -> list[Result]:
        return self.search_many([text], k, filters, alternatives_to)[0]

    def search_many(
        self,
        texts: list[str],
        k: int = 10,
        filters: Filters | None = None,
        alternatives_to: str | None = None,
    ) -> list[list[Result]]:
        """Answer several queries; encoding, index look-ups and the graph read are batched."""
        filters = filters or Filters()
        filters.check()
        texts = [check_query(t) for t in texts]
        snap = self._fresh()
        if snap.capabilities is None:
            raise NotIndexed("no capability index yet: run `unfragile index`")
        vectors = self._encode(texts)
        cap_hits = snap.capabilities.search(vectors, CAPABILITY_CANDIDATES)
        query_hits = (
            snap.queries.search(vectors, NEIGHBOUR_QUERIES) if snap.queries else [[] for _ in texts]
        )
        neighbours = [
            [(q, s) for q, s in hits if s >= NEIGHBOUR_MIN_SIMILARITY] for hits in query_hits
        ]
        edges, snap = self._evidence(snap, neighbours)
        desc = vectors @ snap.art_vectors.T if snap.art_vectors is not None else None
        return [
            self._answer(
                snap,
                text,
                caps,
                near,
                edges,
                None if desc is None else desc[i],
                k,
                filters,
                exclude=alternatives_to,
            )
            for i, (text, caps, near) in enumerate(zip(texts, cap_hits, neighbours, strict=True))
        ]

    def _evidence(
        self, snap: _Snapshot, neighbours: list[list[tuple[str, float]]]
    ) -> tuple[dict[str, list[dict[str, Any]]], _Snapshot]:
        """The MATCHED edges of every neighbour (one read), and the snapshot to use."""
        ids = sorted({q for near in neighbours for q, _ in near})
        rows, stamp = retrieval.evidence_and_stamp(self.graph, ids)
        by_query: dict[str, list[dict[str, Any]]] = {}
        for e in rows:
            by_query.setdefault(e["query"], []).append(e)
        if stamp != snap.stamp:
            snap = self._fresh(stamp)
        return by_query, snap

    def alternatives(
        self, artifact_id: str, k: int = 10, filters: Filters | None = None
    ) -> list[Result]:
        """Artifacts that do what `artifact_id` does, excluding it: its capabilities as query."""
        filters = filters or Filters()
        filters.check()
        snap = self._fresh()
        if snap.capabilities is None:
            raise NotIndexed("no capability index yet: run `unfragile index`")
        caps = snap.caps_of.get(artifact_id) or retrieval.capabilities_of(self.graph, artifact_id)
        if not caps:
            raise UnknownAlternative(artifact_id)
        stored = [v for v in (snap.capabilities.vector(c) for c in caps) if v is not None]
        if not stored:
            raise NotIndexed(f"{artifact_id!r} is not indexed yet: run `unfragile index`")
        centre = np.mean(stored, axis=0, keepdims=True).astype(np.float32)
        centre /= max(float(np.linalg.norm(centre)), 1e-9)
        cap_hits = snap.capabilities.search(centre, CAPABILITY_CANDIDATES + len(caps))[0]
        # Past queries that led to the artifact lead to its alternatives too.
        past = [(q, 1.0) for q in retrieval.co_matched_queries(self.graph, artifact_id)]
        past = past[: NEIGHBOUR_QUERIES * 5]
        edges, snap = self._evidence(snap, [past])
        info = snap.artifacts.get(artifact_id)
        title = info["name"] if info else artifact_id
        desc = centre[0] @ snap.art_vectors.T if snap.art_vectors is not None else None
        return self._answer(
            snap, title, cap_hits, past, edges, desc, k, filters, exclude=artifact_id
        )

    # -- fusion --------------------------------------------------------------------------
    def _answer(
        self,
        snap: _Snapshot,
        text: str,
        cap_hits: list[tuple[str, float]],
        neighbours: list[tuple[str, float]],
        edges: dict[str, list[dict[str, Any]]],
        desc: np.ndarray | None,
        k: int,
        filters: Filters,
        exclude: str | None,
    ) -> list[Result]:
        w = self.weights
        cap_owner: dict[str, str] = {}
        dense: dict[str, tuple[float, str]] = {}
        cap_score: dict[str, float] = {}
        for cap_id, sim in cap_hits:
            row = snap.caps.get(cap_id)
            if row is None:
                continue  # indexed but deleted since: `unfragile index` will drop it
            owner = cap_owner[cap_id] = row["artifact"]
            cap_score[cap_id] = cap_score.get(cap_id, 0.0) + sim
            if sim > dense.get(owner, (-1.0, ""))[0]:
                dense[owner] = (sim, cap_id)
        # An artifact none of whose capabilities came back is at most as close as the last hit.
        dense_floor = min((s for _, s in cap_hits), default=0.0) if w.dense else 0.0

        description: dict[str, float] = {}
        if desc is not None and w.description:
            top = np.argpartition(-desc, min(ARTIFACT_CANDIDATES, len(desc)) - 1)
            for i in top[:ARTIFACT_CANDIDATES].tolist():
                description[snap.art_keys[i]] = float(desc[i])

        lex: dict[str, float] = {}
        if w.lexical:
            hits = snap.cap_lexical.top(text, LEXICAL_CANDIDATES)
            best = hits[0][1] if hits else 0.0
            for i, score in hits:
                cap_id = snap.cap_keys[i]
                owner = cap_owner[cap_id] = snap.caps[cap_id]["artifact"]
                value = score / best
                lex[owner] = max(lex.get(owner, 0.0), value / 2.0)
                cap_score[cap_id] = cap_score.get(cap_id, 0.0) + w.lexical * value
            own = snap.art_lexical.top(text, LEXICAL_CANDIDATES)
            best = own[0][1] if own else 0.0
            for i, score in own:
                a = snap.art_lex_keys[i]
                lex[a] = lex.get(a, 0.0) + score / best / 2.0

        weight = {q: math.exp(NEIGHBOUR_SHARPNESS * (s - 1.0)) for q, s in neighbours}
        similarity = dict(neighbours)
        per_query_best: dict[str, float] = {}
        support: dict[str, dict[str, float]] = {}
        shown: dict[str, list[dict[str, Any]]] = {}
        for q, _ in neighbours:
            for e in edges.get(q, ()):
                strength = (e["confidence"] or 0.0) * self._recency(snap, e["last_seen"])
                if strength <= 0:
                    continue
                owner = e["artifact"]
                per_query_best[q] = max(per_query_best.get(q, 0.0), strength)
                support.setdefault(owner, {})
                support[owner][q] = max(support[owner].get(q, 0.0), strength)
                if e["is_capability"]:
                    cap_score[e["target"]] = (
                        cap_score.get(e["target"], 0.0) + w.evidence * weight[q] * strength
                    )
                    cap_owner[e["target"]] = owner
                shown.setdefault(owner, []).append(
                    {
                        "query": e["text"] or q,
                        "similarity": round(similarity[q], 4),
                        "sessions": e["sessions"],
                        "clicks": e["clicks"],
                        "count": e["count"],
                        "confidence": round(e["confidence"] or 0.0, 4),
                        "capability": e["target"] if e["is_capability"] else None,
                    }
                )
        total = sum(weight[q] * per_query_best[q] for q in per_query_best) or 1.0
        evidence = {
            a: sum(weight[q] * s for q, s in qs.items()) / total for a, qs in support.items()
        }

        candidates = set(dense) | set(lex) | set(evidence) | set(description)
        candidates.discard(exclude)
        scored = []
        for a in candidates:
            info = snap.artifacts.get(a)
            if info is None or not filters.allows(info):
                continue
            prior = (info["rank"] or 0) / 100.0
            d = description.get(a)
            if d is None:
                position = snap.art_pos.get(a) if desc is not None and w.description else None
                d = 0.0 if position is None or desc is None else float(desc[position])
            parts = (
                dense[a][0] if a in dense else dense_floor,
                d,
                lex.get(a, 0.0),
                evidence.get(a, 0.0),
                prior,
            )
            score = (
                w.dense * parts[0]
                + w.description * d
                + w.lexical * parts[2]
                + w.evidence * parts[3]
                + w.prior * prior
            )
            scored.append((score, a, parts))
        scored = heapq.nsmallest(k, scored, key=lambda t: (-t[0], t[1]))
        shown_ids = {a for _, a, _ in scored}
        best_of: dict[str, tuple[float, str]] = {}
        for c, s in cap_score.items():
            owner = cap_owner.get(c)
            if owner in shown_ids and (s, c) > best_of.get(owner, (-math.inf, "")):
                best_of[owner] = (s, c)
        results = []
        for score, a, values in scored:
            info = snap.artifacts[a]
            named = dict(zip(COMPONENTS, values, strict=True))
            best_cap = best_of[a][1] if a in best_of else None
            if best_cap is None and snap.caps_of.get(a):
                best_cap = snap.caps_of[a][0]
            cap = snap.caps.get(best_cap) if best_cap else None
            proof = sorted(shown.get(a, []), key=lambda r: (-r["similarity"], r["query"]))
            results.append(
                Result(
                    artifact=a,
                    name=info["name"],
                    kind=info["kind"],
                    score=round(score, 6),
                    components={n: round(v, 6) for n, v in named.items()},
                    capability=None
                    if cap is None
                    else {"id": cap["id"], "title": cap["title"], "text": cap["text"]},
                    evidence=proof[:EVIDENCE_SHOWN],
                )
            )
        return results

    @staticmethod
    def _recency(snap: _Snapshot, last_seen: str | None) -> float:
        """Evidence loses half its weight every half-life, counted back from the newest."""
        if not last_seen or snap.latest is None:
            return 1.0
        age = (snap.latest - _parse_time(last_seen)).total_seconds() / 86400.0
        return exp_decay(age, RECENCY_HALF_LIFE_DAYS)


# Evidence times repeat across searches: parse each once.
_parse_time = lru_cache(maxsize=65536)(parse_time)
