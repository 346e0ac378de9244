"""Reads behind search: match-graph evidence, artifact and capability rows, a graph stamp."""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import neo4j

from unfragile.graph import store
from unfragile.graph.connection import Graph

EVIDENCE = """
UNWIND $queries AS query_id
MATCH (q:Query {id: query_id})-[m:MATCHED]->(t)
RETURN q.id AS query, q.text AS text, t.id AS target, coalesce(t.artifact, t.id) AS artifact,
       'Capability' IN labels(t) AS is_capability, m.confidence AS confidence,
       m.sessions AS sessions, m.clicks AS clicks, m.count AS count, m.feedback AS feedback,
       m.last_seen AS last_seen
"""

ARTIFACTS = """
UNWIND $ids AS id
MATCH (a:Artifact {id: id})
RETURN a.id AS id, a.name AS name, a.kind AS kind, a.pricing AS pricing,
       a.open_weights AS open_weights, a.modalities AS modalities, a.provider AS provider,
       a.unfragile_rank AS rank
"""

CAPABILITIES_OF = """
MATCH (:Artifact {id: $id})-[:HAS_CAPABILITY]->(c:Capability)
RETURN c.id AS id ORDER BY c.position
"""

# Everything search keeps in memory, read once per reload (keyset-paged like graph.store).
ARTIFACT_ROWS = """
MATCH (a:Artifact)
WHERE a.id > $after
RETURN a.id AS id, a.name AS name, a.kind AS kind, a.pricing AS pricing,
       a.open_weights AS open_weights, a.modalities AS modalities, a.provider AS provider,
       a.unfragile_rank AS rank, a.description AS description, a.license AS license,
       a.parameters AS parameters, a.task AS task, coalesce(a.status, 'active') AS status,
       COLLECT { MATCH (a)-[:DERIVED_FROM]->(p:Artifact) RETURN p.id } AS derived_from,
       COLLECT { MATCH (a)-[:INTEGRATES_WITH]-(p:Artifact) RETURN DISTINCT p.id } AS integrates_with
ORDER BY a.id LIMIT $limit
"""

CAPABILITY_ROWS = """
MATCH (c:Capability)
WHERE c.id > $after
RETURN c.id AS id, c.artifact AS artifact, c.title AS title, c.text AS text,
       c.vs_alternatives AS vs_alternatives
ORDER BY c.id LIMIT $limit
"""

# The one read a search makes: the past queries that led to each artifact referred to
# ("alternative to X": to X or one of its capabilities, the most confident first, at most $per
# each), the MATCHED edges of those and of the neighbouring past queries, and a cheap stamp of
# the graph (node and relationship counts come from Neo4j's count store in O(1)) that tells the
# engine when the rows it holds in memory may be out of date.
EVIDENCE_AND_STAMP = """
CALL () { MATCH (a:Artifact) RETURN count(a) AS artifacts }
CALL () { MATCH (c:Capability) RETURN count(c) AS capabilities }
CALL () { MATCH ()-[m:MATCHED]->() RETURN count(m) AS matched }
CALL () {
  UNWIND $referred AS id
  MATCH (a:Artifact {id: id})
  CALL (a) {
    OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c)
    WITH a, collect(c) + [a] AS targets
    UNWIND targets AS t
    MATCH (q:Query)-[m:MATCHED]->(t)
    WITH q, max(m.confidence) AS confidence
    ORDER BY confidence DESC, q.id
    LIMIT $per
    RETURN collect(q.id) AS queries
  }
  RETURN collect({artifact: a.id, queries: queries}) AS led_to
}
CALL (led_to) {
  UNWIND $queries + reduce(ids = [], l IN led_to | ids + l.queries) AS query_id
  WITH DISTINCT query_id
  MATCH (q:Query {id: query_id})-[m:MATCHED]->(t)
  RETURN collect({query: q.id, text: q.text, target: t.id,
                  artifact: coalesce(t.artifact, t.id),
                  is_capability: 'Capability' IN labels(t), confidence: m.confidence,
                  sessions: m.sessions, clicks: m.clicks, count: m.count,
                  feedback: m.feedback, last_seen: m.last_seen}) AS edges
}
RETURN artifacts, capabilities, matched, led_to, edges
"""

# What learning to rank learns from: every past query with the artifacts it led to and how
# confidently (capability edges count for their artifact; the strongest edge wins). Edges
# whose sessions are all sample events are left out: samples are the catalog's assumptions
# about searches, not what people did, and a ranker fitted to them learns those assumptions.
TRAINING_LABELS = """
MATCH (q:Query)-[m:MATCHED]->(t)
WHERE coalesce(m.sample_sessions, 0) < coalesce(m.sessions, 0)
WITH q, coalesce(t.artifact, t.id) AS artifact, max(m.confidence) AS confidence
WHERE confidence > 0
RETURN q.id AS query, q.text AS text, artifact, confidence
ORDER BY query, artifact
"""

LATEST_EVIDENCE = "MATCH (:Query)-[m:MATCHED]->() RETURN max(m.last_seen) AS latest"

# How many sessions of each shown MATCHED edge are sample events (read for the few rows a
# page shows, not during ranking); p.target is the capability, or the artifact itself.
EVIDENCE_SAMPLES = """
UNWIND $pairs AS p
MATCH (q:Query {id: p.query})-[m:MATCHED]->(t)
WHERE t.id = p.target AND coalesce(t.artifact, t.id) = p.artifact
RETURN p.query AS query, p.target AS target, m.sessions AS sessions,
       coalesce(m.sample_sessions, 0) AS sample_sessions
"""

FILTER_VALUES = """
CALL () { MATCH (o:Organization) RETURN collect(o.name) AS providers }
RETURN providers
"""


def evidence(graph: Graph, query_ids: list[str]) -> list[dict[str, Any]]:
    return graph.read(EVIDENCE, queries=query_ids) if query_ids else []


def training_labels(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(TRAINING_LABELS)


def artifacts(graph: Graph, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in graph.read(ARTIFACTS, ids=ids)} if ids else {}


def capabilities_of(graph: Graph, artifact_id: str) -> list[str]:
    return [r["id"] for r in graph.read(CAPABILITIES_OF, id=artifact_id)]


def artifact_rows(graph: Graph) -> list[dict[str, Any]]:
    """Every artifact with what search filters, shows and indexes (name, description)."""
    return store.paged(graph, ARTIFACT_ROWS)


def capability_rows(graph: Graph) -> list[dict[str, Any]]:
    return store.paged(graph, CAPABILITY_ROWS)


_local = threading.local()


def _hot_read(graph: Graph, query: str, **params: Any) -> list[dict[str, Any]]:
    """A read on a session this thread keeps open (auto-commit, read access).

    Opening a session and a managed transaction per read costs ~3 ms here against ~0.6 ms for
    a statement on a kept session (bench/search_latency.py, diagnostics), so the read every
    search makes reuses one session per thread and driver. A failed read drops the session (the
    next read opens a fresh one); errors are translated as Graph.read translates them.
    """
    held = getattr(_local, "sessions", None)
    if held is None:
        held = _local.sessions = {}
    entry = held.get(id(graph.driver))
    if entry is None or entry[0] is not graph.driver:
        # Auto-commit on a kept session (latency, above); its bookmarks are the Graph's, so it
        # sees what this process wrote last.
        session = graph.session(default_access_mode=neo4j.READ_ACCESS)
        entry = held[id(graph.driver)] = (graph.driver, session)
    try:
        with graph._translate():
            # dict(record), not record.data(): these reads return plain maps and lists, and
            # data()'s recursive conversion cost ~1 ms a search on the evidence rows.
            return [dict(r) for r in entry[1].run(query, params)]
    except BaseException:
        held.pop(id(graph.driver), None)
        with contextlib.suppress(Exception):  # discarded after a failure either way
            entry[1].close()
        raise


# What evidence_and_stamp returns: MATCHED edges by query, the graph stamp, and the past
# queries that led to each artifact referred to.
EvidenceRead = tuple[dict[str, list[dict[str, Any]]], tuple[int, int, int], dict[str, list[str]]]


def evidence_and_stamp(
    graph: Graph, query_ids: list[str], referred: list[str], per: int
) -> EvidenceRead:
    """In one read: the MATCHED edges, by query, of `query_ids` and of the (at most `per`,
    most confident first) past queries that led to each `referred` artifact; the graph's
    (artifacts, capabilities, matched edges) counts; and those past queries per artifact."""
    row = _hot_read(graph, EVIDENCE_AND_STAMP, queries=query_ids, referred=referred, per=per)[0]
    edges: dict[str, list[dict[str, Any]]] = {}
    for e in row["edges"]:
        edges.setdefault(e["query"], []).append(e)
    led_to = {r["artifact"]: r["queries"] for r in row["led_to"]}
    return edges, (row["artifacts"], row["capabilities"], row["matched"]), led_to


# Reader threads for evidence_and_stamp_later; each keeps its own session (_hot_read). A few,
# so that several searching threads (the HTTP server's) do not queue behind one read.
READER_THREADS = 4
_readers: tuple[int, ThreadPoolExecutor] | None = None  # (the process it was made in, pool)
_readers_lock = threading.Lock()


def evidence_and_stamp_later(
    graph: Graph, query_ids: list[str], referred: list[str], per: int
) -> Future[EvidenceRead]:
    """evidence_and_stamp on a reader thread: the caller works on while Neo4j answers (on
    another core), and takes the result, or the read's error, from the future."""
    global _readers
    with _readers_lock:
        # A forked child has none of its parent's threads: it makes its own pool.
        if _readers is None or _readers[0] != os.getpid():
            _readers = (
                os.getpid(),
                ThreadPoolExecutor(READER_THREADS, thread_name_prefix="unfragile-read"),
            )
        pool = _readers[1]
    return pool.submit(evidence_and_stamp, graph, query_ids, referred, per)


def evidence_samples(graph: Graph, pairs: list[dict[str, str]]) -> dict[tuple[str, str], int]:
    """{(query id, target id): sample sessions} for these {query, target, artifact} pairs."""
    if not pairs:
        return {}
    return {
        (r["query"], r["target"]): r["sample_sessions"]
        for r in graph.read(EVIDENCE_SAMPLES, pairs=pairs)
    }


def latest_evidence(graph: Graph) -> str | None:
    return graph.read(LATEST_EVIDENCE)[0]["latest"]


def providers(graph: Graph) -> set[str]:
    return set(graph.read(FILTER_VALUES)[0]["providers"])
