"""Reads (and the rank-history write) behind the web pages: card facts, boards, neighbourhoods.

Every query here is a constant; what a person typed reaches Neo4j only as a parameter, and a
board's sort column is picked from SORTS by a key the caller checked, never spliced from text.
"""

from __future__ import annotations

from typing import Any

from unfragile.graph import projection
from unfragile.graph.connection import Graph

# The badges of a result card: what search's rows do not carry.
CARD_FACTS = """
UNWIND $ids AS id
MATCH (a:Artifact {id: id})
RETURN a.id AS id, a.name AS name, a.short_name AS short_name, a.pricing AS pricing,
       a.license AS license,
       a.open_weights AS open_weights, a.unfragile_rank AS unfragile_rank,
       a.rank_low AS rank_low, a.rank_high AS rank_high, a.task AS task
"""

# The artifacts that the searches which led to either of $ids also led to ("people also
# compared"), most shared searches first, at most $also.
ALSO_COMPARED = """
CALL () {
  UNWIND $ids AS id
  MATCH (a:Artifact {id: id})
  OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c:Capability)
  WITH a, collect(c) + [a] AS targets
  UNWIND targets AS t
  MATCH (q:Query)-[:MATCHED]->(t)
  WITH DISTINCT q
  MATCH (q)-[:MATCHED]->(t2)
  WITH coalesce(t2.artifact, t2.id) AS other, count(DISTINCT q) AS shared
  WHERE NOT other IN $ids
  MATCH (o:Artifact {id: other})
  WITH o, shared ORDER BY shared DESC, o.unfragile_rank DESC, o.id LIMIT $also
  RETURN collect(o {.id, .name, .short_name, .kind, shared: shared}) AS also
}
"""
# The two sides of a comparison (names and every capability, in order) and who else the same
# searches led to: one read.
COMPARE_EXTRAS = (
    """
CALL () {
  UNWIND $ids AS id
  MATCH (a:Artifact {id: id})
  RETURN collect({id: a.id, name: a.name, short_name: a.short_name,
                  capabilities: COLLECT { MATCH (a)-[:HAS_CAPABILITY]->(c:Capability)
                                          RETURN c {.id, .title, .text, .unique,
                                                    .vs_alternatives, .position}
                                          ORDER BY c.position, c.id }}) AS sides
}"""
    + ALSO_COMPARED
    + "RETURN sides, also\n"
)
# Everything a comparison page reads, in one round trip: each side's page (the fields of an
# artifact's page), the catalog's newest days for its footer, and (COMPARE_PAIR_ALSO) who
# else the same searches led to. The footer's date is read here rather than kept in the
# process, so a write by any process shows on the next page.
_PAIR_READS = (
    """
CALL () {
  UNWIND $ids AS id
  MATCH (a:Artifact {id: id})
  WITH id, """
    + projection.PAGE_FIELDS
    + """
  RETURN collect({id: id, props: props, capabilities: capabilities,
                  alternatives: alternatives}) AS sides
}
CALL () {"""
    + projection.CATALOG_AS_OF
    + "}\n"
)
COMPARE_PAIR = _PAIR_READS + "RETURN sides, days, [] AS also\n"
COMPARE_PAIR_ALSO = _PAIR_READS + ALSO_COMPARED + "RETURN sides, days, also\n"

BOARD_WHERE = """
MATCH (a:Artifact)
WHERE a.unfragile_rank IS NOT NULL AND ($kind IS NULL OR a.kind = $kind)
  AND ($task IS NULL OR a.task = $task) AND ($pricing IS NULL OR a.pricing = $pricing)
  AND ($open_weights IS NULL OR coalesce(a.open_weights, false) = $open_weights)
"""
BOARD_ROWS = (
    BOARD_WHERE
    + """
RETURN a.id AS id, a.name AS name, a.short_name AS short_name, a.kind AS kind, a.task AS task,
       a.pricing AS pricing, a.open_weights AS open_weights, a.license AS license,
       a.unfragile_rank AS unfragile_rank, a.rank_low AS rank_low, a.rank_high AS rank_high,
       a.adoption AS adoption, a.quality AS quality, a.quality_source AS quality_source,
       a.ecosystem AS ecosystem, a.match_graph AS match_graph, a.freshness AS freshness,
       a.times_matched AS times_matched,
       coalesce(a.signals_illustrative, false) AS signals_illustrative,
       a.signals_as_of AS signals_as_of, coalesce(a.benchmark_names, []) AS benchmark_names
ORDER BY {order}, a.unfragile_rank DESC, a.id
SKIP $offset LIMIT $limit
"""
)
BOARD_COUNT = BOARD_WHERE + "RETURN count(a) AS n"
# Sortable columns: key -> the ORDER BY terms, {d} the direction (a missing sub-score sorts
# as -1, below every real one).
SORTS = {
    "rank": "a.unfragile_rank {d}, a.match_graph {d}",
    "name": "toLower(coalesce(a.short_name, a.name, a.id)) {d}",
    "adoption": "coalesce(a.adoption, -1.0) {d}",
    "quality": "coalesce(a.quality, -1.0) {d}",
    "ecosystem": "coalesce(a.ecosystem, -1.0) {d}",
    "match_graph": "coalesce(a.match_graph, -1.0) {d}",
    "freshness": "coalesce(a.freshness, -1.0) {d}",
    "matched": "coalesce(a.times_matched, 0) {d}",
}
BOARD_QUERIES = {
    (key, direction): BOARD_ROWS.replace("{order}", terms.replace("{d}", direction.upper()))
    for key, terms in SORTS.items()
    for direction in ("asc", "desc")
}

TASKS = """
MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL AND a.task IS NOT NULL
RETURN a.task AS task, count(*) AS n ORDER BY n DESC, task
"""

# The best `per` artifacts of every kind, for the home page.
BEST_OF_KINDS = """
MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL
WITH a ORDER BY a.unfragile_rank DESC, a.id
WITH a.kind AS kind, collect(a {.id, .name, .short_name, .unfragile_rank, .pricing,
                                 .open_weights})[..$per] AS best
RETURN kind, best ORDER BY kind
"""

# The match graph around one artifact: its capabilities, the past searches that led to it or
# to them (most confident first), and its first stored alternatives.
NEIGHBOURHOOD = """
MATCH (a:Artifact {id: $id})
CALL (a) {
  OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c:Capability)
  WITH a, c ORDER BY c.position, c.id
  WITH a, collect(c)[..$caps] AS caps
  RETURN [c IN caps | c {.id, .title}] AS capabilities, caps + [a] AS targets
}
CALL (targets) {
  UNWIND targets AS t
  MATCH (q:Query)-[m:MATCHED]->(t)
  WITH q, t, m ORDER BY m.confidence DESC, m.sessions DESC, q.id
  LIMIT $queries
  RETURN collect({query: q.id, text: q.text, target: t.id, confidence: m.confidence,
                  sessions: m.sessions}) AS searches
}
RETURN a.id AS id, a.name AS name, a.short_name AS short_name, a.kind AS kind,
       capabilities, searches,
       COLLECT { MATCH (i:Image)-[r:GENERATED_BY|DEPICTS]->(a)
                 RETURN i {.id, .width, .height, relation: type(r), prompt: r.prompt,
                           seed: r.seed}
                 ORDER BY type(r) DESC, i.id LIMIT $images } AS images,
       COLLECT { MATCH (a)-[x:ALTERNATIVE_TO]->(b:Artifact)
                 RETURN b {.id, .name, .short_name, .kind, match: x.match}
                 ORDER BY x.position, x.score DESC, b.id LIMIT $alternatives } AS alternatives
"""

IMAGE_FILE = "MATCH (i:Image {id: $id}) RETURN i.file AS file, i.format AS format"

# Rank history: the last `keep` snapshots of each artifact's scores, on the artifact itself.
RANKED_SCORES = """
MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL
RETURN a.id AS id, a.unfragile_rank AS rank, a.rank_low AS low, a.rank_high AS high,
       a.adoption AS adoption, a.quality AS quality, a.ecosystem AS ecosystem,
       a.match_graph AS match_graph, a.freshness AS freshness
"""
APPEND_HISTORY = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.id})
SET a.rank_history = (coalesce(a.rank_history, []) + [r.entry])[-$keep..]
"""
HISTORY_OF = "MATCH (a:Artifact {id: $id}) RETURN coalesce(a.rank_history, []) AS history"


def card_facts(graph: Graph, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in graph.read(CARD_FACTS, ids=ids)}


def compare_extras(
    graph: Graph, ids: list[str], top: int
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """({id: name, short_name, capabilities}, the `top` co-matched artifacts)."""
    row = graph.read(COMPARE_EXTRAS, ids=ids, also=top)[0]
    return {r["id"]: r for r in row["sides"]}, row["also"]


def compare_pair(graph: Graph, ids: list[str], also: int) -> dict[str, Any]:
    """What a comparison of `ids` shows, in one read: {"pages": {id: props, capabilities and
    alternatives as projection.artifact_page reads them}, "as_of": the catalog's newest day,
    "also": the `also` co-matched artifacts ([] when 0)}."""
    row = graph.read(
        COMPARE_PAIR_ALSO if also else COMPARE_PAIR,
        ids=ids,
        top=projection.PAGE_ALTERNATIVES,
        kind=None,
        also=also,
    )[0]
    return {
        "pages": {r.pop("id"): r for r in row["sides"]},
        "as_of": projection.newest_day(row["days"]),
        "also": row["also"],
    }


def board(
    graph: Graph, filters: dict[str, Any], sort: str, direction: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the ranked artifacts that pass `filters` (kind, task, pricing,
    open_weights), sorted by SORTS[sort], and how many pass in all."""
    query = BOARD_QUERIES[(sort, direction)]
    rows = graph.read(query, **filters, offset=offset, limit=limit)
    total = graph.read(BOARD_COUNT, **filters)[0]["n"]
    return rows, total


def tasks(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(TASKS)


def best_of_kinds(graph: Graph, per: int) -> dict[str, list[dict[str, Any]]]:
    return {r["kind"]: r["best"] for r in graph.read(BEST_OF_KINDS, per=per)}


def neighbourhood(
    graph: Graph, artifact_id: str, caps: int, queries: int, alternatives: int, images: int
) -> dict[str, Any] | None:
    """The match graph around the artifact, and its sample images (one read for both)."""
    rows = graph.read(
        NEIGHBOURHOOD,
        id=artifact_id,
        caps=caps,
        queries=queries,
        alternatives=alternatives,
        images=images,
    )
    return rows[0] if rows else None


def image_file(graph: Graph, image_id: str) -> dict[str, Any] | None:
    rows = graph.read(IMAGE_FILE, id=image_id)
    return rows[0] if rows else None


def ranked_scores(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(RANKED_SCORES)


def append_history(graph: Graph, rows: list[dict[str, str]], keep: int, batch: int = 5000) -> None:
    """Append one entry to each artifact's rank_history, keeping its last `keep`."""
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        graph.write(lambda tx, p=part: tx.run(APPEND_HISTORY, rows=p, keep=keep).consume())


def history(graph: Graph, artifact_id: str) -> list[str] | None:
    rows = graph.read(HISTORY_OF, id=artifact_id)
    return rows[0]["history"] if rows else None
