"""'Need something different?' search: read the question, gather candidates, rank, explain.

A query is answered in four steps:

1. understanding (engine/intent.py) — an artifact it refers to ("alternative to X": X and
   its family are left out, X's capabilities and the searches that led to X describe the
   need), constraint and kind words, and whether the whole query names an artifact; with
   `literal` the words are taken as typed;
2. candidates (engine/candidates.py) — the nearest capabilities in the capability index, the
   artifacts whose name + description embed nearest, BM25 matches, and the nearest *past
   queries* in the query index followed along their MATCHED edges (evidence), each with the
   features of engine/features.py;
3. ranking (engine/ranker.py) — the learned LightGBM ranker when `unfragile train` made one,
   else documented default weights; an artifact the query names goes first; each result gets
   a calibrated 0–100 match, and an answer whose best match is low says so (no_good_match);
4. explanation — one result per artifact with its best capability, every feature, and the
   past queries behind the evidence.

What is held in memory and when it is reloaded. Rows of artifacts and capabilities, the BM25
tables, names and the artifact vectors are loaded once and kept; every search makes ONE Cypher
read (two for "alternative to X"): the MATCHED edges of the neighbouring past queries (evidence
is always live) together with a stamp of the graph from Neo4j's count store (artifacts,
capabilities, MATCHED edges). A search reloads, under a lock and only the parts concerned, when
an index manifest on disk changed (`unfragile index` or `unfragile train` wrote it), when the
graph stamp changed, and every ARTIFACT_REFRESH_S for artifact rows (a new UnfragileRank or an
edited filter field changes no count). Searches already running keep the snapshot they started
with, so one engine can serve many threads.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, replace
from functools import lru_cache
from typing import Any

import numpy as np

from unfragile.engine import intent, query_words
from unfragile.engine.candidates import (
    REFERENCES_USED,
    Plan,
    Tables,
    collect,
    nearest_described,
    plan_for,
    query_vector,
)
from unfragile.engine.encodings import EncodingCache
from unfragile.engine.errors import NotIndexed, UnknownAlternative
from unfragile.engine.features import FEATURES, Vocabulary
from unfragile.engine.indexer import artifact_text
from unfragile.engine.names import Names
from unfragile.engine.ranker import (
    LinearScorer,
    Scorer,
    load_scorer,
    match_scores,
    no_good_match,
    settle,
)
from unfragile.engine.ranking.algorithms import exp_decay
from unfragile.engine.records import parse_time
from unfragile.engine.search_terms import (  # the weights, filters and checks: re-exported
    W_DENSE,  # noqa: F401
    W_DESCRIPTION,  # noqa: F401
    W_EVIDENCE,  # noqa: F401
    W_LEXICAL,  # noqa: F401
    W_PRIOR,  # noqa: F401
    Answer,
    Filters,
    Result,
    Weights,
    check_providers,  # noqa: F401
    check_query,  # noqa: F401
)
from unfragile.engine.settings import Settings
from unfragile.engine.snapshot import Snapshot, asdict_shallow
from unfragile.graph import retrieval
from unfragile.graph.connection import Graph
from unfragile.indexing.lexical import BM25
from unfragile.indexing.vectors import VectorStore

CAPABILITY_CANDIDATES = 100
EXCLUDED_ROOM = 100
NEIGHBOUR_QUERIES = 20
NEIGHBOUR_MIN_SIMILARITY = 0.3
# A past query that led to the artifact referred to counts as this close to the question;
# less when it adds a need ("like ollama but with a gui"): those searches wanted X as it is.
REFERENCE_SIMILARITY = 0.8
REFERENCE_SIMILARITY_QUALIFIED = 0.6
RECENCY_HALF_LIFE_DAYS = 180.0
ENCODING_CACHE = 2048  # query embeddings kept (least recently used out)
ARTIFACT_REFRESH_S = 300.0  # artifact rows (filters, rank) are re-read at least this often
COLLECTIONS = ("capabilities", "queries", "artifacts")


class SearchEngine:
    """Holds the encoder, the indexes and the rows search needs; evidence is read live."""

    def __init__(
        self, settings: Settings, graph: Graph, encoder: Any = None, weights: Weights | None = None
    ):
        # Fixed weights (benchmarks compare configurations with them), else the trained
        # ranker or the default weights, whichever is on disk: see engine/ranker.py.
        self.weights = weights
        self.settings = settings
        self.graph = graph
        self._encoder = encoder  # loaded on first use: alternatives need no encoding
        self._lock = threading.Lock()
        self._encodings = EncodingCache(ENCODING_CACHE)
        self.reloads = 0  # how many times the in-memory snapshot was (partly) rebuilt
        self._snap = self._load(
            None,
            set(COLLECTIONS) | {"latest", "ranker"},
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
        for name in (*COLLECTIONS, "ranker"):
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
        old: Snapshot | None,
        parts: set[str],
        files: tuple[Any, ...],
        stamp: tuple[int, int, int],
    ) -> Snapshot:
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
                    art_store=store,
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
            new["latest"] = parse_time(latest) if latest else None
        if "ranker" in parts:
            new["scorer"] = load_scorer(self.settings.index_dir)
        if parts & {"artifacts", "capabilities"}:
            got = {**(asdict_shallow(old) if old else {}), **new}
            corpus = {a: artifact_text(r) for a, r in got["artifacts"].items()}
            for c in got["caps"].values():
                if c["artifact"] in corpus:
                    corpus[c["artifact"]] += f" {c['title']} {c['text']}"
            new["names"] = Names(got["artifacts"].values())
            new["tables"] = Tables(
                artifacts=got["artifacts"],
                art_keys=got["art_keys"],
                art_pos=got["art_pos"],
                art_vectors=got["art_vectors"],
                art_lex_keys=got["art_lex_keys"],
                art_lexical=got["art_lexical"],
                caps=got["caps"],
                caps_of=got["caps_of"],
                cap_keys=got["cap_keys"],
                cap_lexical=got["cap_lexical"],
                vocab=Vocabulary.build(corpus),
            )
        self.reloads += 1
        return Snapshot(**new) if old is None else replace(old, **new)

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            from unfragile.indexing.text import TextEncoder

            self._encoder = TextEncoder(self.settings.text_model, cache_dir=self.settings.cache_dir)
        return self._encoder

    @encoder.setter
    def encoder(self, encoder: Any) -> None:
        self._encoder = encoder

    @property
    def scorer(self) -> Scorer:
        if self.weights is not None:
            return LinearScorer.of(asdict(self.weights))
        return self._snap.scorer

    def _fresh(self, stamp: tuple[int, int, int] | None = None) -> Snapshot:
        """The snapshot to answer with, reloading what the files or the stamp say changed."""
        snap = self._snap
        files = self._files()
        due = time.monotonic() - snap.refreshed > ARTIFACT_REFRESH_S
        if files == snap.files and (stamp is None or stamp == snap.stamp) and not due:
            return snap
        with self._lock:
            snap = self._snap  # another thread may have reloaded meanwhile
            parts = {
                name
                for name, a, b in zip((*COLLECTIONS, "ranker"), files, snap.files, strict=True)
                if a != b
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
        return self._encodings.encode(texts, self.encoder.encode)

    def forget_encodings(self) -> None:
        """Empty the query-embedding cache (benchmarks that must time encoding use it)."""
        self._encodings.clear()

    # -- searching -----------------------------------------------------------------------
    def search(
        self,
        text: str,
        k: int = 10,
        filters: Filters | None = None,
        alternatives_to: str | None = None,
    ) -> list[Result]:
        return self.ask(text, k, filters, alternatives_to=alternatives_to).results

    def search_many(
        self,
        texts: list[str],
        k: int = 10,
        filters: Filters | None = None,
        alternatives_to: str | None = None,
    ) -> list[list[Result]]:
        return [
            a.results for a in self.ask_many(texts, k, filters, alternatives_to=alternatives_to)
        ]

    def ask(
        self,
        text: str,
        k: int = 10,
        filters: Filters | None = None,
        literal: bool = False,
        alternatives_to: str | None = None,
    ) -> Answer:
        """One question answered: what was understood, the results, and whether any is good."""
        return self.ask_many([text], k, filters, literal, alternatives_to)[0]

    def ask_many(
        self,
        texts: list[str],
        k: int = 10,
        filters: Filters | None = None,
        literal: bool = False,
        alternatives_to: str | None = None,
        understood: list[intent.Understanding] | None = None,
        leave_out: list[str] | None = None,
    ) -> list[Answer]:
        """Answer several queries; encoding, index look-ups and the graph read are batched.
        `alternatives_to` (an id) adds "and not this one or its family" to each; `leave_out`
        names, per query, a past query not to use as evidence (training asks the log's own
        queries, and must not find each one's answer in itself)."""
        filters = filters or Filters()
        filters.check()
        texts = [check_query(t) for t in texts]
        snap = self._ready()
        given = understood or [
            intent.literal(t) if literal else intent.understand(t, snap.names) for t in texts
        ]
        plans = [plan_for(snap.tables, snap.names, u, alternatives_to) for u in given]
        # Every typed query is embedded whole (past queries are found by it); a reference's
        # remaining words are embedded too, to blend with the artifact referred to.
        typed = [] if understood else [p.understood.matched for p in plans]
        needs = [p.understood.need for p in plans if p.understood.reference and p.understood.need]
        wanted = list(dict.fromkeys(typed + needs))
        encoded = dict(zip(wanted, self._encode(wanted), strict=True)) if wanted else {}
        vectors = np.stack(
            [
                query_vector(snap.tables, snap.capabilities, p, encoded, snap.description_of)
                for p in plans
            ]
        ).astype(np.float32)
        by_text = np.stack([encoded[t] for t in typed]).astype(np.float32) if typed else None
        # Room for the capabilities of what is left out (a few per artifact, up to a bound:
        # one FAISS search serves the batch, so one "alternative to <a provider>" must not
        # widen it for all).
        extra = min(max((len(p.exclude) for p in plans), default=0) * 8, EXCLUDED_ROOM)
        assert snap.capabilities is not None  # _ready checked
        cap_hits = snap.capabilities.search(vectors, CAPABILITY_CANDIDATES + extra)
        neighbours = self._neighbours(snap, plans, by_text)
        if leave_out is not None:
            neighbours = [
                [(q, sim) for q, sim in near if q != own]
                for near, own in zip(neighbours, leave_out, strict=True)
            ]
        edges, snap = self._evidence(snap, neighbours)
        # The nearest by name + description; collect works out the other candidates'.
        described = nearest_described(snap.art_store, snap.art_vectors, snap.art_keys, vectors)
        return [
            self._answer(snap, plan, hits, near, edges, desc, vectors[i], k, filters)
            for i, (plan, hits, near, desc) in enumerate(
                zip(plans, cap_hits, neighbours, described, strict=True)
            )
        ]

    def alternatives(
        self, artifact_id: str, k: int = 10, filters: Filters | None = None
    ) -> list[Result]:
        """Artifacts that do what `artifact_id` does, leaving out it and its family: the one
        meaning of "alternatives" ("alternative to <its name>" read as a reference, without
        the evidence of past searches worded like the typed question)."""
        return self.ask_alternatives(artifact_id, k, filters).results

    def ask_alternatives(
        self, artifact_id: str, k: int = 10, filters: Filters | None = None
    ) -> Answer:
        snap = self._ready()
        if artifact_id not in snap.artifacts:
            raise UnknownAlternative(artifact_id)
        name = snap.artifacts[artifact_id]["name"]
        asked = intent.Understanding(
            text=f"alternatives to {name}",
            need="",
            reference=(artifact_id,),
            reference_name=name,
            excluded=tuple(sorted(snap.names.family(artifact_id))),
        )
        return self.ask_many([asked.text], k, filters, understood=[asked])[0]

    def _ready(self) -> Snapshot:
        snap = self._fresh()
        if snap.capabilities is None:
            raise NotIndexed("no capability index yet: run `unfragile index`")
        return snap

    def _neighbours(
        self, snap: Snapshot, plans: list[Plan], vectors: np.ndarray | None
    ) -> list[list[tuple[str, float]]]:
        """Past queries close to each typed query; for a reference, also those that led to
        the artifact referred to."""
        hits = (
            snap.queries.search(vectors, NEIGHBOUR_QUERIES)
            if snap.queries and vectors is not None
            else [[] for _ in plans]
        )
        referred = sorted({a for p in plans for a in p.understood.reference[:REFERENCES_USED]})
        led_to = retrieval.co_matched_many(self.graph, referred, NEIGHBOUR_QUERIES * 5)
        out = []
        for plan, found in zip(plans, hits, strict=True):
            near = [(q, s) for q, s in found if s >= NEIGHBOUR_MIN_SIMILARITY]
            seen = {q for q, _ in near}
            u = plan.understood
            sim = REFERENCE_SIMILARITY_QUALIFIED if plan.telling else REFERENCE_SIMILARITY
            for a in () if u.for_other else u.reference[:REFERENCES_USED]:
                for q in led_to.get(a, ()):
                    if q not in seen:
                        seen.add(q)
                        near.append((q, sim))
            out.append(near)
        return out

    def _evidence(
        self, snap: Snapshot, neighbours: list[list[tuple[str, float]]]
    ) -> tuple[dict[str, list[dict[str, Any]]], Snapshot]:
        """The MATCHED edges of every neighbour (one read), and the snapshot to use."""
        ids = sorted({q for near in neighbours for q, _ in near})
        rows, stamp = retrieval.evidence_and_stamp(self.graph, ids)
        by_query: dict[str, list[dict[str, Any]]] = {}
        for e in rows:
            by_query.setdefault(e["query"], []).append(e)
        if stamp != snap.stamp:
            snap = self._fresh(stamp)
        return by_query, snap

    # -- scoring -------------------------------------------------------------------------
    def _answer(
        self,
        snap: Snapshot,
        plan: Plan,
        cap_hits: list[tuple[str, float]],
        neighbours: list[tuple[str, float]],
        edges: dict[str, list[dict[str, Any]]],
        desc: list[tuple[str, float]] | None,
        vector: np.ndarray,
        k: int,
        filters: Filters,
    ) -> Answer:
        found = collect(
            snap.tables,
            plan,
            cap_hits,
            neighbours,
            edges,
            desc,
            vector,
            None if filters.none else filters.allows,
            lambda seen: self._recency(snap, seen),
            k,
        )
        matrix = np.asarray(found.rows, dtype=np.float64).reshape(len(found.rows), len(FEATURES))
        scores = self.scorer.score(matrix) if len(matrix) else np.zeros(0)
        order = sorted(range(len(found.ids)), key=lambda i: (-scores[i], found.ids[i]))
        named = dict(plan.understood.named)
        order = settle(order, match_scores(matrix), found.ids, snap.artifacts, plan.understood)[:k]
        match = match_scores(matrix[order]) if order else np.zeros(0, dtype=int)
        results = []
        for rank, i in enumerate(order):
            a = found.ids[i]
            info = snap.artifacts[a]
            cap = snap.caps.get(found.best_capability.get(a, ""))
            results.append(
                Result(
                    artifact=a,
                    name=info["name"],
                    kind=info["kind"],
                    score=round(float(scores[i]), 6),
                    match=int(match[rank]),
                    components={
                        f: round(v, 6) for f, v in zip(FEATURES, found.rows[i], strict=True)
                    },
                    capability=None
                    if cap is None
                    else {"id": cap["id"], "title": cap["title"], "text": cap["text"]},
                    evidence=found.shown.get(a, []),
                    status=info.get("status") or "active",
                )
            )
        # Asked for a kind, only that kind can match well: a library is no MCP server. An
        # "agent" or a "framework" is a looser word: a library can be what was meant.
        kind = plan.understood.kind if plan.understood.kind in query_words.STRICT_KINDS else None
        best = max((r.match for r in results if kind is None or r.kind == kind), default=None)
        return Answer(
            query=plan.understood.text,
            understood=plan.understood,
            results=results,
            no_good_match=no_good_match(
                best, bool(named) and bool(results), like=bool(plan.understood.reference)
            ),
            scorer=self.scorer.name,
        )

    @staticmethod
    def _recency(snap: Snapshot, last_seen: str | None) -> float:
        """Evidence loses half its weight every half-life, counted back from the newest."""
        return 1.0 if not last_seen or snap.latest is None else _decayed(snap.latest, last_seen)


@lru_cache(maxsize=65536)  # evidence times repeat across searches: work each out once
def _decayed(latest: Any, last_seen: str) -> float:
    age = (latest - parse_time(last_seen)).total_seconds() / 86400.0
    return exp_decay(age, RECENCY_HALF_LIFE_DAYS)
