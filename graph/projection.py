"""Reads that project the match and ecosystem graph for ranking, and the batched write-back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import neo4j

from graph.connection import Graph

# One row per artifact: the record fields the sub-scores read, and ecosystem degrees.
ARTIFACTS = """
MATCH (a:Artifact)
RETURN a.id AS id, a.name AS name, a.kind AS kind, a.provider AS provider,
       a.pricing AS pricing, a.task AS task, a.license AS license, a.url AS url,
       size(coalesce(a.description, '')) AS description_chars,
       a.modalities AS modalities, a.released AS released, a.updated AS updated,
       a.signals_illustrative AS illustrative,
       coalesce(a.signal_names, []) AS signal_names,
       [k IN coalesce(a.signal_names, []) | a['signal_' + k]] AS signal_values,
       coalesce(a.benchmark_names, []) AS benchmark_names,
       [k IN coalesce(a.benchmark_names, []) | a['benchmark_' + k]] AS benchmark_values,
       size(coalesce(a.image_paths, [])) AS image_paths,
       COUNT { (a)-[:SUPPORTS]->() } AS frameworks,
       COUNT { (a)-[:IN_CATEGORY]->() } AS categories,
       COUNT { (a)-[:INTEGRATES_WITH]->() } AS integrates,
       COUNT { (a)<-[:INTEGRATES_WITH]-() } AS integrated_by,
       COUNT { (a)<-[:DERIVED_FROM]-() } AS derivatives,
       COUNT { (a)-[:DERIVED_FROM]->() } AS derived_from,
       COUNT { (a)<-[:DEPICTS|GENERATED_BY]-(:Image) } AS images,
       COUNT { (a)-[:HAS_CAPABILITY]->() } AS capabilities,
       COUNT { (a)-[:HAS_CAPABILITY]->(c) WHERE trim(coalesce(c.unique, '')) <> '' }
         AS with_unique,
       COUNT { (a)-[:HAS_CAPABILITY]->(c) WHERE trim(coalesce(c.vs_alternatives, '')) <> '' }
         AS with_vs
ORDER BY id
"""

CAPABILITY_OWNERS = """
MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c:Capability)
RETURN c.id AS id, a.id AS artifact
"""

# Per-session evidence behind every MATCHED edge (Prefer evidence feeds PREFERRED_OVER).
EVIDENCE = """
MATCH (e:Evidence)
WHERE e.target_kind IN ['Capability', 'Artifact']
RETURN e.session AS session, e.query AS query, e.target AS target,
       e.target_kind = 'Capability' AS is_capability, e.clicked AS clicked,
       e.dwell AS dwell, e.feedback AS feedback
"""

PREFERENCES = """
MATCH (w:Artifact)-[p:PREFERRED_OVER]->(l:Artifact)
RETURN w.id AS winner, l.id AS loser, p.sessions AS sessions
"""

# Everything for one artifact in one transaction: its scores replace the old ones and its
# ALTERNATIVE_TO edges are replaced, so a crash leaves each artifact either before or after.
WRITE_SCORES = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.id})
SET a += r.props
WITH a, r
OPTIONAL MATCH (a)-[old:ALTERNATIVE_TO]->()
DELETE old
WITH DISTINCT a, r
CALL (a, r) {
  UNWIND r.alternatives AS alt
  MATCH (b:Artifact {id: alt.id})
  MERGE (a)-[x:ALTERNATIVE_TO]->(b)
  SET x.score = alt.score
}
"""

LEADERBOARD = """
MATCH (a:Artifact)
WHERE a.unfragile_rank IS NOT NULL AND ($kind IS NULL OR a.kind = $kind)
RETURN a.id AS id, a.name AS name, a.kind AS kind, a.unfragile_rank AS unfragile_rank,
       a.rank_low AS rank_low, a.rank_high AS rank_high, a.adoption AS adoption,
       a.quality AS quality, a.quality_source AS quality_source, a.ecosystem AS ecosystem,
       a.match_graph AS match_graph, a.freshness AS freshness, a.times_matched AS times_matched
ORDER BY a.unfragile_rank DESC, a.match_graph DESC, a.id
LIMIT $top
"""

RANKED_COUNT = "MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL RETURN count(a) AS n"

# Name resolution, cheapest first: the id (unique index), the lower-case name (index), then
# case-insensitive id and substring scans only when those find nothing.
RESOLVE_EXACT = """
CALL () {
  MATCH (a:Artifact {id: $text}) RETURN a
  UNION
  MATCH (a:Artifact) WHERE a.name_lower = $lower RETURN a
}
RETURN a.id AS id, a.name AS name, a.kind AS kind ORDER BY id
"""
RESOLVE_LOOSE = """
MATCH (a:Artifact)
WHERE toLower(a.id) = $lower
   OR ($substring AND (toLower(a.id) CONTAINS $lower OR a.name_lower CONTAINS $lower))
RETURN a.id AS id, a.name AS name, a.kind AS kind, toLower(a.id) = $lower AS exact
ORDER BY exact DESC, id
LIMIT 25
"""

ARTIFACT_PAGE = """
MATCH (a:Artifact {id: $id})
RETURN properties(a) AS props,
       COLLECT { MATCH (a)-[:HAS_CAPABILITY]->(c:Capability)
                 RETURN c {.id, .title, .text, .unique, .vs_alternatives, .position}
                 ORDER BY c.position, c.id } AS capabilities,
       COLLECT { MATCH (a)-[x:ALTERNATIVE_TO]->(b:Artifact)
                 RETURN {id: b.id, name: b.name, score: x.score}
                 ORDER BY x.score DESC, b.id LIMIT 5 } AS alternatives
"""


def _values(graph: Graph, query: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows as tuples; faster than dicts for the large projection reads."""

    def work(tx: neo4j.ManagedTransaction) -> list[tuple[Any, ...]]:
        return [tuple(rec) for rec in tx.run(query, params)]

    with graph._translate(), graph.driver.session(database=graph.database) as session:
        return session.execute_read(work)


def artifacts(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(ARTIFACTS)


def capability_owners(graph: Graph) -> dict[str, str]:
    return dict(_values(graph, CAPABILITY_OWNERS))


def evidence(graph: Graph) -> list[tuple[Any, ...]]:
    """(session, query, target, is_capability, clicked, dwell, feedback) per Evidence node."""
    return _values(graph, EVIDENCE)


def preferences(graph: Graph) -> list[tuple[str, str, int]]:
    return [(w, loser, int(s or 0)) for w, loser, s in _values(graph, PREFERENCES)]


def write_scores(
    graph: Graph,
    rows: list[dict[str, Any]],
    batch_size: int = 2000,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Write {id, props, alternatives} rows in UNWIND batches, one transaction each."""
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        graph.write(lambda tx, b=batch: tx.run(WRITE_SCORES, rows=b).consume())
        if on_batch is not None:
            on_batch(len(batch))


def leaderboard(graph: Graph, kind: str | None, top: int) -> list[dict[str, Any]]:
    return graph.read(LEADERBOARD, kind=kind, top=top)


def ranked_count(graph: Graph) -> int:
    return graph.read(RANKED_COUNT)[0]["n"]


def resolve(graph: Graph, text: str) -> list[dict[str, Any]]:
    """Artifacts a user's text names: exact id or name first, else loose matches."""
    lower = text.strip().lower()
    rows = graph.read(RESOLVE_EXACT, text=text.strip(), lower=lower)
    if rows:
        return rows
    rows = graph.read(RESOLVE_LOOSE, lower=lower, substring=False)
    if rows:
        return rows
    return graph.read(RESOLVE_LOOSE, lower=lower, substring=len(lower) >= 2)


def artifact_page(graph: Graph, artifact_id: str) -> dict[str, Any] | None:
    rows = graph.read(ARTIFACT_PAGE, id=artifact_id)
    return rows[0] if rows else None
