"""Batched, idempotent writes and the counts: every statement is UNWIND … MERGE on stable ids."""

from __future__ import annotations

from typing import Any

import neo4j

from unfragile.graph.connection import Graph

# Which label an event's target_kind names. Labels cannot be parameters in Cypher, so the
# few allowed ones are spelled out here and never taken from input.
TARGET_LABELS = {"Capability": "Capability", "Artifact": "Artifact"}

UPSERT_ARTIFACTS = """
UNWIND $rows AS r
MERGE (a:Artifact {id: r.id})
// No evidence yet: engine/aggregate.py keeps these counts from the first event on.
ON CREATE SET a.evidence_sessions = 0, a.evidence_sample_sessions = 0
SET a += r.props
WITH a, r
OPTIONAL MATCH (a)-[old:PROVIDED_BY|SUPPORTS|IN_CATEGORY]->()
DELETE old
WITH DISTINCT a, r
FOREACH (name IN CASE WHEN r.provider IS NULL THEN [] ELSE [r.provider] END |
    MERGE (o:Organization {name: name}) MERGE (a)-[:PROVIDED_BY]->(o))
FOREACH (name IN r.frameworks | MERGE (f:Framework {name: name}) MERGE (a)-[:SUPPORTS]->(f))
FOREACH (name IN r.categories | MERGE (c:Category {name: name}) MERGE (a)-[:IN_CATEGORY]->(c))
"""

SET_ARTIFACT_SESSIONS = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.id})
SET a.evidence_sessions = r.sessions, a.evidence_sample_sessions = r.sample_sessions
"""

UPSERT_CAPABILITIES = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.artifact})
MERGE (c:Capability {id: r.id})
SET c.title = r.title, c.text = r.text, c.unique = r.unique,
    c.vs_alternatives = r.vs_alternatives, c.artifact = r.artifact, c.position = r.position
MERGE (a)-[:HAS_CAPABILITY]->(c)
"""

# Capabilities an artifact no longer lists go, with their MATCHED edges; the events that
# pointed at them stay in the log and stop counting (engine/event_log.py, retract).
STALE_CAPABILITIES = """
UNWIND $rows AS r
MATCH (:Artifact {id: r.id})-[:HAS_CAPABILITY]->(c:Capability)
WHERE NOT c.id IN r.capability_ids
RETURN c.id AS id
"""

DELETE_CAPABILITIES = """
UNWIND $ids AS id
MATCH (c:Capability {id: id})
DETACH DELETE c
"""

LINK_ARTIFACTS = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.id})
OPTIONAL MATCH (a)-[old:DERIVED_FROM|INTEGRATES_WITH]->()
DELETE old
WITH DISTINCT a, r
CALL (a, r) {
  UNWIND r.derived_from AS other
  MATCH (b:Artifact {id: other})
  MERGE (a)-[:DERIVED_FROM]->(b)
}
CALL (a, r) {
  UNWIND r.integrates_with AS other
  MATCH (b:Artifact {id: other})
  MERGE (a)-[:INTEGRATES_WITH]->(b)
}
"""

# Search events reach the graph aggregated (engine/aggregate.py): Query nodes with their
# counts, then MATCHED and PREFERRED_OVER edges. Each SET replaces values computed from the
# whole event log, so writing the same rows again, in any batching, changes nothing.
SET_QUERIES = """
UNWIND $rows AS r
MERGE (q:Query {id: r.id})
  ON CREATE SET q.text = r.text
SET q.sessions = r.sessions, q.count = r.count, q.last_seen = r.last_seen
"""

# The confidence is computed here, by the expression it always had (README, "The match
# graph"), so it is the same float to the last bit.
SET_MATCHED = """
UNWIND $rows AS r
MATCH (q:Query {id: r.query_id})
MATCH (t:%(label)s {id: r.target})
WITH q, t, r,
     r.sessions * $w_session + r.clicks * $w_click + r.long_dwells * $w_long_dwell
       + r.feedback * $w_feedback AS z
MERGE (q)-[m:MATCHED]->(t)
SET m.count = r.count, m.sessions = r.sessions, m.clicks = r.clicks, m.dwell = r.dwell,
    m.long_dwells = r.long_dwells, m.feedback = r.feedback, m.sample_sessions = r.sample_sessions,
    m.first_seen = r.first_seen, m.last_seen = r.last_seen,
    m.confidence = CASE WHEN z <= 0 THEN 0.0 ELSE 1.0 - exp(-z / $confidence_scale) END
"""

SET_PREFERRED = """
UNWIND $rows AS r
MATCH (w:Artifact {id: r.target})
MATCH (l:Artifact {id: r.loser})
MERGE (w)-[m:PREFERRED_OVER]->(l)
SET m.sessions = r.sessions, m.count = r.count, m.last_seen = r.last_seen
"""

# Per-session Evidence nodes of a graph from before the event log, a page at a time, for
# their one-off move into the log (engine/event_log.py, migrate).
LEGACY_EVIDENCE = """
MATCH (e:Evidence) WHERE e.key > $after
RETURN e.key AS id, e.query AS query, e.target AS target, e.target_kind AS kind,
       e.loser AS loser, e.session AS session, e.clicked AS clicked, e.dwell AS dwell,
       e.feedback AS feedback, e.feedback_time AS feedback_time, e.events AS events,
       coalesce(e.origins, []) AS origins, e.first_seen AS first_seen, e.last_seen AS last_seen
ORDER BY e.key LIMIT $limit
"""
HAS_LEGACY_EVIDENCE = "MATCH (e:Evidence) RETURN count(e) > 0 AS any"
DELETE_LEGACY_EVIDENCE = """
MATCH (e:Evidence) CALL (e) { DELETE e } IN TRANSACTIONS OF 10000 ROWS
"""

# The one node naming this graph's event log: emptying the graph starts a new log.
EVENT_LOG_ID = "MATCH (l:EventLog {name: 'events'}) RETURN l.id AS id"
NEW_EVENT_LOG = """
MERGE (l:EventLog {name: 'events'})
  ON CREATE SET l.id = $id
RETURN l.id AS id
"""

EXISTING_ARTIFACTS = "UNWIND $ids AS id MATCH (a:Artifact {id: id}) RETURN a.id AS id"
EXISTING_CAPABILITIES = """
UNWIND $ids AS id MATCH (c:Capability {id: id}) RETURN c.id AS id, c.artifact AS artifact
"""

STATS = """
CALL () { MATCH (a:Artifact) RETURN count(a) AS artifacts }
CALL () { MATCH (c:Capability) RETURN count(c) AS capabilities }
CALL () { MATCH (q:Query) RETURN count(q) AS queries }
CALL () { MATCH ()-[m:MATCHED]->() RETURN count(m) AS match_edges }
CALL () { MATCH (i:Image) RETURN count(i) AS images }
RETURN artifacts, capabilities, queries, match_edges, images
"""

DELETE_EVERYTHING = """
MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
"""


def upsert_artifacts(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> list[str]:
    """Write artifacts and their capabilities; return the ids of capabilities dropped."""
    tx.run(UPSERT_ARTIFACTS, rows=rows).consume()
    capabilities = [cap for r in rows for cap in r["capabilities"]]
    tx.run(UPSERT_CAPABILITIES, rows=capabilities).consume()
    keep = [{"id": r["id"], "capability_ids": [c["id"] for c in r["capabilities"]]} for r in rows]
    stale = [rec["id"] for rec in tx.run(STALE_CAPABILITIES, rows=keep)]
    if stale:
        tx.run(DELETE_CAPABILITIES, ids=stale).consume()
    return stale


def link_artifacts(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run(LINK_ARTIFACTS, rows=rows).consume()


def set_queries(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """Query nodes (created with their first text) and their counts."""
    tx.run(SET_QUERIES, rows=rows).consume()


def set_matched(
    tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]], weights: dict[str, float]
) -> None:
    """MATCHED edges from aggregated rows; a target that is gone gets no edge."""
    for kind, label in TARGET_LABELS.items():
        batch = [r for r in rows if r["target_kind"] == kind]
        if batch:
            tx.run(SET_MATCHED % {"label": label}, {"rows": batch, **weights}).consume()


def set_artifact_sessions(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    """The distinct sessions (and sample sessions) behind each artifact's evidence."""
    tx.run(SET_ARTIFACT_SESSIONS, rows=rows).consume()


def set_preferred(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run(SET_PREFERRED, rows=rows).consume()


def legacy_evidence(graph: Graph) -> list[dict[str, Any]] | None:
    """Every Evidence node of a graph from before the event log; None when it has none."""
    if not graph.read(HAS_LEGACY_EVIDENCE)[0]["any"]:
        return None
    return paged(graph, LEGACY_EVIDENCE)


def delete_legacy_evidence(graph: Graph) -> None:
    with graph.session() as session:
        session.run(DELETE_LEGACY_EVIDENCE).consume()


def event_log_id(graph: Graph, create: bool = False) -> str | None:
    """The id of this graph's event log; with `create`, made when there is none."""
    rows = graph.read(EVENT_LOG_ID)
    if rows or not create:
        return rows[0]["id"] if rows else None
    import uuid

    new = uuid.uuid4().hex
    return graph.write(lambda tx: [r["id"] for r in tx.run(NEW_EVENT_LOG, id=new)][0])


def existing_artifacts(graph: Graph, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 10000):
        found.update(
            r["id"] for r in graph.read(EXISTING_ARTIFACTS, ids=ids[start : start + 10000])
        )
    return found


def existing_capabilities(graph: Graph, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ids), 10000):
        for r in graph.read(EXISTING_CAPABILITIES, ids=ids[start : start + 10000]):
            found[r["id"]] = r["artifact"]
    return found


def stats(graph: Graph) -> dict[str, int]:
    return graph.read(STATS)[0]


def delete_everything(graph: Graph) -> None:
    """Empty the graph (constraints and indexes stay), in chunks so memory stays flat."""
    # Auto-commit (CALL … IN TRANSACTIONS needs it), with the Graph's bookmarks so that the
    # next read sees the graph empty.
    with graph.session() as session:
        session.run(DELETE_EVERYTHING).consume()


# -- what the indexes are built from ------------------------------------------------------

CAPABILITY_TEXTS = """
MATCH (c:Capability)
WHERE c.id > $after
RETURN c.id AS id, c.title AS title, c.text AS text
ORDER BY c.id LIMIT $limit
"""

QUERY_TEXTS = """
MATCH (q:Query)
WHERE q.id > $after
RETURN q.id AS id, q.text AS text
ORDER BY q.id LIMIT $limit
"""

IMAGE_FILES = """
MATCH (i:Image)
RETURN i.id AS id, i.file AS file ORDER BY i.id
"""

ARTIFACT_IMAGE_PATHS = """
MATCH (a:Artifact) WHERE size(coalesce(a.image_paths, [])) > 0
RETURN a.id AS id, a.image_paths AS paths ORDER BY a.id
"""

UPSERT_IMAGES = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.artifact})
MERGE (i:Image {id: r.id})
SET i.file = r.file, i.source = r.source, i.width = r.width, i.height = r.height,
    i.format = r.format, i.bytes = r.bytes
FOREACH (_ IN CASE WHEN r.relation = 'DEPICTS' THEN [1] ELSE [] END |
    MERGE (i)-[:DEPICTS]->(a))
FOREACH (_ IN CASE WHEN r.relation = 'GENERATED_BY' THEN [1] ELSE [] END |
    MERGE (i)-[g:GENERATED_BY]->(a) SET g.prompt = r.prompt, g.seed = r.seed)
"""

IMAGE_ARTIFACTS = """
UNWIND $ids AS id
MATCH (i:Image {id: id})-[r:DEPICTS|GENERATED_BY]->(a:Artifact)
RETURN i.id AS image, a.id AS artifact, a.name AS name, a.kind AS kind, type(r) AS relation,
       r.prompt AS prompt
"""


def paged(graph: Graph, query: str, page: int = 10000) -> list[dict[str, Any]]:
    """All rows of an id-ordered query, fetched a page at a time (keyset pagination)."""
    rows: list[dict[str, Any]] = []
    after = ""
    while True:
        batch = graph.read(query, after=after, limit=page)
        rows.extend(batch)
        if len(batch) < page:
            return rows
        after = batch[-1]["id"]


def capability_texts(graph: Graph) -> list[dict[str, Any]]:
    return paged(graph, CAPABILITY_TEXTS)


def query_texts(graph: Graph) -> list[dict[str, Any]]:
    return paged(graph, QUERY_TEXTS)


def image_files(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(IMAGE_FILES)


def artifact_image_paths(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(ARTIFACT_IMAGE_PATHS)


def upsert_images(graph: Graph, rows: list[dict[str, Any]]) -> None:
    graph.write(lambda tx: tx.run(UPSERT_IMAGES, rows=rows).consume())


def image_artifacts(graph: Graph, image_ids: list[str]) -> list[dict[str, Any]]:
    return graph.read(IMAGE_ARTIFACTS, ids=image_ids)
