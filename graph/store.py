"""Batched, idempotent writes and the counts: every statement is UNWIND … MERGE on stable ids."""

from __future__ import annotations

from typing import Any

import neo4j

from unfragile.graph.connection import Graph

# Which label an Evidence target_kind names. Labels cannot be parameters in Cypher, so the
# few allowed ones are spelled out here and never taken from input.
TARGET_LABELS = {"Capability": "Capability", "Artifact": "Artifact"}

UPSERT_ARTIFACTS = """
UNWIND $rows AS r
MERGE (a:Artifact {id: r.id})
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

UPSERT_CAPABILITIES = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.artifact})
MERGE (c:Capability {id: r.id})
SET c.title = r.title, c.text = r.text, c.unique = r.unique,
    c.vs_alternatives = r.vs_alternatives, c.artifact = r.artifact, c.position = r.position
MERGE (a)-[:HAS_CAPABILITY]->(c)
"""

# Capabilities an artifact no longer lists go, with the evidence that pointed at them.
STALE_CAPABILITIES = """
UNWIND $rows AS r
MATCH (:Artifact {id: r.id})-[:HAS_CAPABILITY]->(c:Capability)
WHERE NOT c.id IN r.capability_ids
RETURN c.id AS id
"""

DELETE_CAPABILITIES = """
UNWIND $ids AS id
MATCH (c:Capability {id: id})
OPTIONAL MATCH (e:Evidence {target: id, target_kind: 'Capability'})
WITH c, collect(e) AS evidence, collect(DISTINCT e.query) AS queries
FOREACH (e IN evidence | DELETE e)
DETACH DELETE c
WITH queries UNWIND queries AS q
RETURN DISTINCT q AS query
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

# Evidence merges are set-like (OR, MAX, latest-by-time, union of event ids and of the events'
# origins: sample, api, import:<name>) so that loading
# the same events again, in any batching, leaves every property as it was.
# With $stale, the Query is marked as the journal of a batched ingest: its evidence may be
# ahead of its edges until the ingest's last step (or the next ingest) recomputes them.
MERGE_QUERIES = """
UNWIND $rows AS r
MERGE (q:Query {id: r.id})
  ON CREATE SET q.text = r.text
FOREACH (_ IN CASE WHEN $stale THEN [1] ELSE [] END | SET q.stale = true)
"""

# A new Evidence node takes the row as it is (one write per property); only an existing one
# needs the set-like merge.
MERGE_EVIDENCE = """
UNWIND $rows AS r
MERGE (e:Evidence {key: r.key})
  ON CREATE SET e.pair = r.pair, e.query = r.query_id, e.target = r.target,
                e.target_kind = r.target_kind, e.loser = r.loser, e.session = r.session,
                e.clicked = r.clicked, e.dwell = r.dwell, e.feedback = r.feedback,
                e.feedback_time = r.feedback_time, e.events = r.events[..$events_per_session],
                e.origins = r.origins, e.first_seen = r.first_seen, e.last_seen = r.last_seen
  ON MATCH SET
    e.clicked = e.clicked OR r.clicked,
    e.dwell = CASE WHEN r.dwell > e.dwell THEN r.dwell ELSE e.dwell END,
    e.feedback = CASE
        WHEN r.feedback_time > e.feedback_time THEN r.feedback
        WHEN r.feedback_time = e.feedback_time AND r.feedback_time <> ''
             AND r.feedback < e.feedback THEN r.feedback
        ELSE e.feedback END,
    e.feedback_time = CASE WHEN r.feedback_time > e.feedback_time
        THEN r.feedback_time ELSE e.feedback_time END,
    e.events = e.events + [x IN r.events WHERE NOT x IN e.events]
                          [..($events_per_session - size(e.events))],
    e.origins = coalesce(e.origins, []) + [x IN r.origins WHERE NOT x IN coalesce(e.origins, [])],
    e.first_seen = CASE WHEN r.first_seen < e.first_seen THEN r.first_seen ELSE e.first_seen END,
    e.last_seen = CASE WHEN r.last_seen > e.last_seen THEN r.last_seen ELSE e.last_seen END
"""

# The MATCHED edge is a pure function of its Evidence nodes, recomputed for touched pairs.
# sample_sessions: how many of its sessions hold events whose source is `sample` (pages say so).
REFRESH_MATCHED = """
UNWIND $pairs AS p
MATCH (q:Query {id: p.query_id})
MATCH (t:%(label)s {id: p.target})
CALL (p) {
  MATCH (e:Evidence {pair: p.pair})
  RETURN count(e) AS sessions, sum(size(e.events)) AS events,
         sum(CASE WHEN e.clicked THEN 1 ELSE 0 END) AS clicks,
         sum(e.dwell) AS dwell,
         sum(CASE WHEN e.dwell >= $long_dwell_s THEN 1 ELSE 0 END) AS long_dwells,
         sum(e.feedback) AS feedback,
         sum(CASE WHEN 'sample' IN coalesce(e.origins, []) THEN 1 ELSE 0 END) AS samples,
         min(e.first_seen) AS first_seen, max(e.last_seen) AS last_seen
}
WITH q, t, sessions, events, clicks, dwell, long_dwells, feedback, first_seen, last_seen, samples,
     sessions * $w_session + clicks * $w_click + long_dwells * $w_long_dwell
       + feedback * $w_feedback AS z
MERGE (q)-[m:MATCHED]->(t)
SET m.count = events, m.sessions = sessions, m.clicks = clicks, m.dwell = dwell,
    m.long_dwells = long_dwells, m.feedback = feedback, m.sample_sessions = samples,
    m.first_seen = first_seen, m.last_seen = last_seen,
    m.confidence = CASE WHEN z <= 0 THEN 0.0 ELSE 1.0 - exp(-z / $confidence_scale) END
"""

REFRESH_PREFERRED = """
UNWIND $pairs AS p
MATCH (w:Artifact {id: p.target})
MATCH (l:Artifact {id: p.loser})
CALL (p) {
  MATCH (e:Evidence {pair: p.pair})
  RETURN count(DISTINCT e.session) AS sessions, sum(size(e.events)) AS events,
         max(e.last_seen) AS last_seen
}
MERGE (w)-[m:PREFERRED_OVER]->(l)
SET m.sessions = sessions, m.count = events, m.last_seen = last_seen
"""

REFRESH_QUERIES = """
UNWIND $ids AS id
MATCH (q:Query {id: id})
CALL (id) {
  MATCH (e:Evidence {query: id})
  RETURN count(DISTINCT e.session) AS sessions, sum(size(e.events)) AS events,
         max(e.last_seen) AS last_seen
}
SET q.sessions = sessions, q.count = events, q.last_seen = last_seen
"""
# The same, once every pair of these queries is recomputed: the journal mark goes.
REFRESH_QUERIES_DONE = REFRESH_QUERIES + "REMOVE q.stale\n"

# What a batched ingest that stopped half-way left: marked queries, and the pairs of all
# their evidence (a superset of what it wrote; recomputing a pair is always safe).
STALE_QUERIES = "MATCH (q:Query) WHERE q.stale RETURN q.id AS id"
STALE_PAIRS = """
UNWIND $ids AS id
MATCH (e:Evidence {query: id})
RETURN DISTINCT e.pair AS pair, e.query AS query_id, e.target AS target, e.loser AS loser,
       e.target_kind AS target_kind
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
    """Write artifacts and their capabilities; return ids of queries whose evidence was cut."""
    tx.run(UPSERT_ARTIFACTS, rows=rows).consume()
    capabilities = [cap for r in rows for cap in r["capabilities"]]
    tx.run(UPSERT_CAPABILITIES, rows=capabilities).consume()
    keep = [{"id": r["id"], "capability_ids": [c["id"] for c in r["capabilities"]]} for r in rows]
    stale = [rec["id"] for rec in tx.run(STALE_CAPABILITIES, rows=keep)]
    if not stale:
        return []
    return [rec["query"] for rec in tx.run(DELETE_CAPABILITIES, ids=stale) if rec["query"]]


def link_artifacts(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    tx.run(LINK_ARTIFACTS, rows=rows).consume()


def merge_evidence(
    tx: neo4j.ManagedTransaction,
    rows: list[dict[str, Any]],
    weights: dict[str, float],
    events_per_session: int,
    refresh: bool = True,
    journal: bool = False,
) -> None:
    """Merge per-session evidence; with `refresh`, recompute the edges it feeds as well;
    with `journal`, mark its queries stale until `refresh_queries(..., done=True)`."""
    queries: dict[str, dict[str, str]] = {}
    for r in rows:
        queries.setdefault(r["query_id"], {"id": r["query_id"], "text": r["query_text"]})
    tx.run(MERGE_QUERIES, rows=list(queries.values()), stale=journal).consume()
    tx.run(MERGE_EVIDENCE, rows=rows, events_per_session=events_per_session).consume()
    if refresh:
        refresh_pairs(tx, list({r["pair"]: pair_of(r) for r in rows}.values()), weights)
        refresh_queries(tx, sorted(queries))


def pair_of(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "pair": row["pair"],
        "query_id": row["query_id"],
        "target": row["target"],
        "loser": row["loser"],
        "target_kind": row["target_kind"],
    }


def refresh_pairs(
    tx: neo4j.ManagedTransaction, pairs: list[dict[str, Any]], weights: dict[str, float]
) -> None:
    """Recompute MATCHED / PREFERRED_OVER for these pairs from all their Evidence."""
    for kind, label in TARGET_LABELS.items():
        batch = [p for p in pairs if p["target_kind"] == kind]
        if batch:
            params: dict[str, Any] = {"pairs": batch, **weights}
            tx.run(REFRESH_MATCHED % {"label": label}, params).consume()
    prefer = [p for p in pairs if p["target_kind"] == "Prefer"]
    if prefer:
        tx.run(REFRESH_PREFERRED, pairs=prefer).consume()


def refresh_queries(tx: neo4j.ManagedTransaction, query_ids: list[str], done: bool = False) -> None:
    """Recompute these Query nodes' counts; `done` also clears their journal mark."""
    if query_ids:
        tx.run(REFRESH_QUERIES_DONE if done else REFRESH_QUERIES, ids=query_ids).consume()


def stale_queries(graph: Graph) -> list[str]:
    """Queries a batched ingest marked and did not finish (it crashed or lost Neo4j)."""
    return [r["id"] for r in graph.read(STALE_QUERIES)]


def stale_pairs(graph: Graph, query_ids: list[str]) -> list[dict[str, Any]]:
    """Every pair the evidence of these queries feeds, once each."""
    pairs: dict[str, dict[str, Any]] = {}
    for start in range(0, len(query_ids), 10000):
        for r in graph.read(STALE_PAIRS, ids=query_ids[start : start + 10000]):
            pairs.setdefault(r["pair"], r)
    return list(pairs.values())


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
    with graph.driver.session(database=graph.database) as session:
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
