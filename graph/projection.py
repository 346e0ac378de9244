"""Reads that project the match and ecosystem graph for ranking, and the batched write-back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import neo4j

from unfragile.graph.connection import Graph

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

# Large reads come back as one row of parallel lists (compact columns): the driver decodes a
# few long lists far faster than hundreds of thousands of records. collect() skips nulls, so
# every collected value is made non-null to keep the columns aligned.
CAPABILITY_OWNERS = """
MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c:Capability)
RETURN collect(c.id) AS id, collect(a.id) AS artifact
"""

PREFERENCES = """
MATCH (w:Artifact)-[p:PREFERRED_OVER]->(l:Artifact)
RETURN w.id AS winner, l.id AS loser, p.sessions AS sessions
"""

# The properties `write_scores` sets on Artifact, in the order of its columns.
SCORE_PROPERTIES = (
    "adoption",
    "quality",
    "quality_source",
    "ecosystem",
    "match_graph",
    "freshness",
    "times_matched",
    "unfragile_rank",
    "rank_low",
    "rank_high",
    "rank_reference_date",
)

# Write-back, one transaction per batch of artifacts, so a crash leaves each batch either
# before or after. Scores are written first; the ALTERNATIVE_TO edges follow in their own
# batches, because they are found by search, which reads the new UnfragileRank (its prior).
# An artifact's edges are made to equal its new list: the edges it has are read first and
# diffed in Python, stale ones deleted and changed ones updated by element id, and only
# missing edges created — with CREATE, which costs a third of a MERGE (the diff already knows
# the edge is absent); unchanged edges are not touched, which spares most writes on a
# recompute. Only `unfragile rank` writes these edges. Parameters are compact parallel lists,
# not row maps.
WRITE_SCORES = (
    """
UNWIND range(0, size($ids) - 1) AS i
MATCH (a:Artifact {id: $ids[i]})
SET a += {"""
    + ", ".join(f"{p}: $columns.{p}[i]" for p in SCORE_PROPERTIES)
    + """}
"""
)

EXISTING_ALTERNATIVES = """
UNWIND range(0, size($ids) - 1) AS i
MATCH (a:Artifact {id: $ids[i]})-[x:ALTERNATIVE_TO]->(b:Artifact)
RETURN collect(i) AS i, collect(b.id) AS b, collect([x.score, x.match, x.position]) AS props,
       collect(elementId(x)) AS eid
"""

DELETE_ALTERNATIVES = """
UNWIND $eids AS eid
MATCH ()-[x:ALTERNATIVE_TO]->() WHERE elementId(x) = eid
DELETE x
"""

UPDATE_ALTERNATIVES = """
UNWIND range(0, size($eids) - 1) AS k
MATCH ()-[x:ALTERNATIVE_TO]->() WHERE elementId(x) = $eids[k]
SET x.score = $score[k], x.match = $match[k], x.position = $position[k]
"""

# $nodes: the ids the new edges touch, looked up once; $src, $dst index into it.
CREATE_ALTERNATIVES = """
UNWIND $nodes AS id
OPTIONAL MATCH (n:Artifact {id: id})
WITH collect([n]) AS nodes
UNWIND range(0, size($src) - 1) AS k
WITH nodes[$src[k]][0] AS a, nodes[$dst[k]][0] AS b, k
WHERE a IS NOT NULL AND b IS NOT NULL
CREATE (a)-[:ALTERNATIVE_TO {score: $score[k], match: $match[k], position: $position[k]}]->(b)
"""

# An artifact's alternatives as every reader shows them: in the order `unfragile rank` stored
# (position 1 is the best; edges from before positions existed come after, best score first).
ALTERNATIVES_OF = """
MATCH (a)-[x:ALTERNATIVE_TO]->(b:Artifact)
WHERE $kind IS NULL OR b.kind = $kind
RETURN {id: b.id, name: b.name, kind: b.kind, position: x.position, match: x.match,
        score: x.score}
ORDER BY x.position, x.score DESC, b.id
LIMIT $top
"""
ALTERNATIVES = (
    "MATCH (a:Artifact {id: $id})\nRETURN COLLECT {" + ALTERNATIVES_OF + "} AS alternatives\n"
)
PAGE_ALTERNATIVES = 5  # shown on an artifact's page

LEADERBOARD = """
MATCH (a:Artifact)
WHERE a.unfragile_rank IS NOT NULL AND ($kind IS NULL OR a.kind = $kind)
RETURN a.id AS id, a.name AS name, a.kind AS kind, a.unfragile_rank AS unfragile_rank,
       a.rank_low AS rank_low, a.rank_high AS rank_high, a.adoption AS adoption,
       a.quality AS quality, a.quality_source AS quality_source, a.ecosystem AS ecosystem,
       a.match_graph AS match_graph, a.freshness AS freshness, a.times_matched AS times_matched,
       coalesce(a.signals_illustrative, false) AS signals_illustrative,
       a.signals_as_of AS signals_as_of, coalesce(a.benchmark_names, []) AS benchmark_names
ORDER BY a.unfragile_rank DESC, a.match_graph DESC, a.id
LIMIT $top
"""

RANKED_COUNT = "MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL RETURN count(a) AS n"

# The newest day the catalog's own data carries (dates are stored as YYYY-MM-DD text). Also
# the tail of a comparison's one read (graph/pages.py), so that page needs no read for it.
CATALOG_AS_OF = """
MATCH (a:Artifact)
WITH max(a.released) AS released, max(a.updated) AS updated, max(a.signals_as_of) AS read
RETURN [d IN [released, updated, read] WHERE d IS NOT NULL] AS days
"""

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
# The same exact lookup for several texts in one read (a comparison names two): row i
# answers $texts[i].
RESOLVE_EXACT_MANY = """
UNWIND range(0, size($texts) - 1) AS i
CALL (i) {
  MATCH (a:Artifact {id: $texts[i]}) RETURN a
  UNION
  MATCH (a:Artifact) WHERE a.name_lower = $lowers[i] RETURN a
}
RETURN i, a.id AS id, a.name AS name, a.kind AS kind ORDER BY i, id
"""
RESOLVE_LOOSE = """
MATCH (a:Artifact)
WHERE toLower(a.id) = $lower
   OR ($substring AND (toLower(a.id) CONTAINS $lower OR a.name_lower CONTAINS $lower))
RETURN a.id AS id, a.name AS name, a.kind AS kind, toLower(a.id) = $lower AS exact
ORDER BY exact DESC, id
LIMIT 25
"""

# What an artifact's page reads of artifact `a` ($top alternatives, of $kind when given); a
# comparison reads the same fields for both sides (graph/pages.py).
PAGE_FIELDS = (
    """properties(a) AS props,
       COLLECT { MATCH (a)-[:HAS_CAPABILITY]->(c:Capability)
                 RETURN c {.id, .title, .text, .unique, .vs_alternatives, .position}
                 ORDER BY c.position, c.id } AS capabilities,
       COLLECT {"""
    + ALTERNATIVES_OF
    + """} AS alternatives"""
)
ARTIFACT_PAGE = "MATCH (a:Artifact {id: $id})\nRETURN " + PAGE_FIELDS + "\n"


def _values(graph: Graph, query: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows as tuples; faster than dicts for the large projection reads."""

    def work(tx: neo4j.ManagedTransaction) -> list[tuple[Any, ...]]:
        return [tuple(rec) for rec in tx.run(query, params)]

    with graph._translate(), graph.session() as session:
        return session.execute_read(work)


def artifacts(graph: Graph) -> list[dict[str, Any]]:
    return graph.read(ARTIFACTS)


def _columns(graph: Graph, query: str, **params: Any) -> dict[str, list[Any]]:
    """The single row of a collect() query as {column: list}."""

    def work(tx: neo4j.ManagedTransaction) -> dict[str, list[Any]]:
        record = tx.run(query, params).single(strict=True)
        return dict(zip(record.keys(), record.values(), strict=True))

    with graph._translate(), graph.session() as session:
        return session.execute_read(work)


def capability_owners(graph: Graph) -> dict[str, str]:
    cols = _columns(graph, CAPABILITY_OWNERS)
    return dict(zip(cols["id"], cols["artifact"], strict=True))


def preferences(graph: Graph) -> list[tuple[str, str, int]]:
    return [(w, loser, int(s or 0)) for w, loser, s in _values(graph, PREFERENCES)]


def write_scores(
    graph: Graph,
    ids: list[str],
    columns: dict[str, list[Any]],
    batch_size: int = 2500,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Write the scores, one transaction per batch of artifacts.

    `columns` maps each of SCORE_PROPERTIES to one value per artifact of `ids`.
    """
    missing = set(SCORE_PROPERTIES) - set(columns)
    if missing:
        raise ValueError(f"write_scores: no column for {sorted(missing)}")
    for start in range(0, len(ids), batch_size):
        end = min(start + batch_size, len(ids))
        cols = {p: columns[p][start:end] for p in SCORE_PROPERTIES}
        graph.write(
            lambda tx, i=ids[start:end], c=cols: tx.run(WRITE_SCORES, ids=i, columns=c).consume()
        )
        if on_batch is not None:
            on_batch(end - start)


def _write_alternatives_batch(
    tx: neo4j.ManagedTransaction, ids: list[str], alternatives: list[list[tuple[str, float, int]]]
) -> None:
    have = tx.run(EXISTING_ALTERNATIVES, ids=ids).single(strict=True)
    # (score, match, position) each edge should have; position counts from 1.
    wanted = [
        {b: (score, match, n) for n, (b, score, match) in enumerate(alts, start=1)}
        for alts in alternatives
    ]
    stale: list[str] = []
    update: dict[str, list[Any]] = {"eids": [], "score": [], "match": [], "position": []}
    kept: set[tuple[int, str]] = set()
    for i, b, old, eid in zip(have["i"], have["b"], have["props"], have["eid"], strict=True):
        new = wanted[i].get(b)
        if new is None or (i, b) in kept:  # not wanted any more, or a duplicate
            stale.append(eid)
            continue
        kept.add((i, b))
        if tuple(old) != new:
            for key, value in zip(("eids", "score", "match", "position"), (eid, *new), strict=True):
                update[key].append(value)
    if stale:
        tx.run(DELETE_ALTERNATIVES, eids=stale).consume()
    if update["eids"]:
        tx.run(UPDATE_ALTERNATIVES, dict(update)).consume()
    node_index: dict[str, int] = {a: i for i, a in enumerate(ids)}
    new_edges: dict[str, list[Any]] = {
        "src": [],
        "dst": [],
        "score": [],
        "match": [],
        "position": [],
    }
    for i, alts in enumerate(alternatives):
        for n, (b, score, match) in enumerate(alts, start=1):
            if (i, b) not in kept:
                new_edges["src"].append(i)
                new_edges["dst"].append(node_index.setdefault(b, len(node_index)))
                new_edges["score"].append(score)
                new_edges["match"].append(match)
                new_edges["position"].append(n)
    if new_edges["src"]:
        tx.run(CREATE_ALTERNATIVES, {"nodes": list(node_index), **new_edges}).consume()


def write_alternatives(
    graph: Graph,
    ids: list[str],
    alternatives: list[list[tuple[str, float, int]]],
    batch_size: int = 2500,
) -> None:
    """Make each artifact's ALTERNATIVE_TO edges equal its list, one transaction per batch.

    `alternatives[i]` is artifact i's [(other id, score, match), ...], best first; each edge
    gets score, match and its position in the list (1 = best). Artifacts not in `ids` keep
    their edges.
    """
    for start in range(0, len(ids), batch_size):
        end = min(start + batch_size, len(ids))
        batch = (ids[start:end], alternatives[start:end])
        graph.write(lambda tx, b=batch: _write_alternatives_batch(tx, *b))


def alternatives(
    graph: Graph, artifact_id: str, top: int, kind: str | None = None
) -> list[dict[str, Any]] | None:
    """The artifact's stored alternatives (of `kind` only, when given), at most `top`, in
    their stored order; None when no artifact has this id."""
    rows = graph.read(ALTERNATIVES, id=artifact_id, top=top, kind=kind)
    return rows[0]["alternatives"] if rows else None


def leaderboard(graph: Graph, kind: str | None, top: int) -> list[dict[str, Any]]:
    return graph.read(LEADERBOARD, kind=kind, top=top)


def ranked_count(graph: Graph) -> int:
    return graph.read(RANKED_COUNT)[0]["n"]


def catalog_as_of(graph: Graph) -> str | None:
    """The newest released, updated or signals_as_of day among the artifacts; None if none."""
    return newest_day(graph.read(CATALOG_AS_OF)[0]["days"])


def newest_day(days: list[str]) -> str | None:
    """The newest of CATALOG_AS_OF's days; None for an empty catalog."""
    return max(days) if days else None


def resolve_exact(graph: Graph, texts: list[str]) -> list[list[dict[str, Any]]]:
    """For each text, the artifacts whose id or name it is exactly (RESOLVE_EXACT's rows):
    one read for all."""
    found: list[list[dict[str, Any]]] = [[] for _ in texts]
    rows = graph.read(
        RESOLVE_EXACT_MANY,
        texts=[t.strip() for t in texts],
        lowers=[t.strip().lower() for t in texts],
    )
    for r in rows:
        found[r.pop("i")].append(r)
    return found


def resolve(
    graph: Graph, text: str, exact: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Artifacts a user's text names: exact id or name first, else loose matches. `exact`:
    the exact matches when `resolve_exact` has read them already."""
    lower = text.strip().lower()
    rows = graph.read(RESOLVE_EXACT, text=text.strip(), lower=lower) if exact is None else exact
    if rows:
        return rows
    rows = graph.read(RESOLVE_LOOSE, lower=lower, substring=False)
    if rows:
        return rows
    return graph.read(RESOLVE_LOOSE, lower=lower, substring=len(lower) >= 2)


def artifact_page(graph: Graph, artifact_id: str) -> dict[str, Any] | None:
    rows = graph.read(ARTIFACT_PAGE, id=artifact_id, top=PAGE_ALTERNATIVES, kind=None)
    return rows[0] if rows else None
