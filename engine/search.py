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
3. ranking (engine/answer.py, engine/ranker.py) — the learned LightGBM ranker when
   `unfragile train` made one, else documented default weights; an artifact the query names
   goes first; each result gets a calibrated 0–100 match, and an answer whose best match is
   low says so (no_good_match);
4. explanation — one result per artifact with its best capability, every feature, and the
   past queries behind the evidence.

What is held in memory and when it is reloaded. Rows of artifacts and capabilities, the BM25
tables, names and the artifact vectors are loaded once and kept; every search makes ONE Cypher
read: the MATCHED edges of the neighbouring past queries (and, for "alternative to X", of the
searches that led to X; evidence is always live) together with a stamp of the graph from
Neo4j's count store (artifacts, capabilities, MATCHED edges). A batch's read goes to a reader
thread as soon as the nearest past queries are known, and Neo4j answers it while this thread
works out the capability and description look-ups and BM25. A search reloads, under a lock
and only the parts concerned, when an index manifest on disk changed (`unfragile index` or
`unfragile train` wrote it), when the graph stamp changed, and every ARTIFACT_REFRESH_S for
artifact rows (a new UnfragileRank or an edited filter field changes no count). Searches
already running keep the snapshot they started with, so one engine can serve many threads.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from unfragile.engine import intent
from unfragile.engine.answer import answer
from unfragile.engine.candidates import (
    REFERENCES_USED,
    Lexical,
    Plan,
    Tables,
    lexical_of,
    nearest_described,
    plan_for,
    query_vector,
)
from unfragile.engine.encodings import EncodingCache
from unfragile.engine.errors import NotIndexed, UnknownAlternative
from unfragile.engine.features import Vocabulary
from unfragile.engine.indexer import artifact_text
from unfragile.engine.names import Names
from unfragile.engine.ranker import (
    LinearScorer,
    Scorer,
    load_scorer,
)
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
ENCODING_CACHE = 2048  # query embeddings kept (least recently used out)
ARTIFACT_REFRESH_S = 300.0  # artifact rows (filters, rank) are re-read at least this often
COLLECTIONS = ("capabilities", "queries", "artifacts")


@dataclass(frozen=True)
class Prepared:
    """Some queries' plans, the vectors the indexes were asked with, what the indexes and BM25
    found, and the graph read under way (started as soon as the past queries were found)."""

    plans: list[Plan]
    vectors: np.ndarray
    cap_hits: list[list[tuple[str, float]]]
    described: list[list[tuple[str, float]] | None]  # the nearest by name + description
    lexical: list[Lexical]
    close: list[list[tuple[str, float]]]  # past queries close enough to each typed query
    refs: list[tuple[str, ...]]  # the artifacts whose past searches describe each need
    read: Future[retrieval.EvidenceRead]


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
            retrieval.evidence_and_stamp(graph, [], [], 0)[1],
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
        if not texts:
            return []
        snap = self._ready()
        ready = self._prepare(snap, texts, literal, alternatives_to, understood)
        return self._finish(snap, ready, k, filters, leave_out)

    def _prepare(
        self,
        snap: Snapshot,
        texts: list[str],
        literal: bool,
        alternatives_to: str | None,
        understood: list[intent.Understanding] | None,
    ) -> Prepared:
        """Understanding, encoding, the index look-ups and BM25 of some queries; a batch's
        graph read starts once the nearest past queries are known, and Neo4j answers it (on
        the other core) while the rest is worked out here."""
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
        found_queries: list[list[tuple[str, float]]] = [[] for _ in plans]
        if snap.queries and typed:
            by_text = np.stack([encoded[t] for t in typed]).astype(np.float32)
            found_queries = snap.queries.search(by_text, NEIGHBOUR_QUERIES)
        close = [
            [(q, s) for q, s in found if s >= NEIGHBOUR_MIN_SIMILARITY] for found in found_queries
        ]
        # "X but for Y" wants Y: the searches that led to X describe nothing wanted.
        refs = [
            () if p.understood.for_other else p.understood.reference[:REFERENCES_USED]
            for p in plans
        ]
        asked = (
            self.graph,
            sorted({q for near in close for q, _ in near}),
            sorted({a for r in refs for a in r}),
            NEIGHBOUR_QUERIES * 5,
        )
        # One query's read is made here: it is short, and a reader thread would cost about as
        # much in hand-offs of the GIL as it saves (bench/search_latency.py, BENCHMARKS.md).
        if len(plans) > 1:
            read = retrieval.evidence_and_stamp_later(*asked)
        else:
            read = Future()
            read.set_result(retrieval.evidence_and_stamp(*asked))
        vectors = np.stack(
            [
                query_vector(snap.tables, snap.capabilities, p, encoded, snap.description_of)
                for p in plans
            ]
        ).astype(np.float32)
        # Room for the capabilities of what is left out (a few per artifact, up to a bound).
        # One FAISS search serves the batch; each query keeps only its own room, so a query
        # is answered the same whatever else is in its batch.
        rooms = [min(len(p.exclude) * 8, EXCLUDED_ROOM) for p in plans]
        assert snap.capabilities is not None  # _ready checked
        found = snap.capabilities.search(vectors, CAPABILITY_CANDIDATES + max(rooms))
        cap_hits = [h[: CAPABILITY_CANDIDATES + r] for h, r in zip(found, rooms, strict=True)]
        described, lexical = self._lexical_and_described(snap, plans, vectors)
        return Prepared(plans, vectors, cap_hits, described, lexical, close, refs, read)

    @staticmethod
    def _lexical_and_described(
        snap: Snapshot, plans: list[Plan], vectors: np.ndarray
    ) -> tuple[list[list[tuple[str, float]] | None], list[Lexical]]:
        """The nearest by name + description (collect works out the other candidates') and
        the BM25 matches, from `snap`."""
        described = nearest_described(snap.art_store, snap.art_vectors, snap.art_keys, vectors)
        return described, [lexical_of(snap.tables, p) for p in plans]

    def _finish(
        self,
        snap: Snapshot,
        ready: Prepared,
        k: int,
        filters: Filters,
        leave_out: list[str] | None,
    ) -> list[Answer]:
        """The graph read's evidence and the answers of prepared queries."""
        plans, vectors = ready.plans, ready.vectors
        edges, stamp, led_to = ready.read.result()
        neighbours = self._neighbours(plans, ready, led_to, leave_out)
        described, lexical = ready.described, ready.lexical
        if stamp != snap.stamp:  # the graph changed: what was worked out from rows is redone
            snap = self._fresh(stamp)
            described, lexical = self._lexical_and_described(snap, plans, vectors)
        return [
            answer(snap, self.scorer, plan, hits, near, edges, desc, vectors[i], k, filters, lex)
            for i, (plan, hits, near, desc, lex) in enumerate(
                zip(plans, ready.cap_hits, neighbours, described, lexical, strict=True)
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

    @staticmethod
    def _neighbours(
        plans: list[Plan],
        ready: Prepared,
        led_to: dict[str, list[str]],
        leave_out: list[str] | None,
    ) -> list[list[tuple[str, float]]]:
        """Each query's past queries to follow: those close to its typed words and, for a
        reference, those that led to the artifact referred to (`led_to`, from the read)."""
        out = []
        owns: list[str | None] = list(leave_out) if leave_out else [None] * len(plans)
        for plan, near, used, own in zip(plans, ready.close, ready.refs, owns, strict=True):
            near = list(near)
            seen = {q for q, _ in near}
            sim = REFERENCE_SIMILARITY_QUALIFIED if plan.telling else REFERENCE_SIMILARITY
            for a in used:
                for q in led_to.get(a, ()):
                    if q not in seen:
                        seen.add(q)
                        near.append((q, sim))
            # Training asks the log's own queries: none may find its answer in itself.
            out.append([(q, s) for q, s in near if q != own])
        return out
