"""PageRank in Neo4j Graph Data Science: the ranking's centrality, computed by the server."""

from __future__ import annotations

import numpy as np

from unfragile.graph.connection import Graph

GDS_AVAILABLE = "SHOW PROCEDURES YIELD name WHERE name = 'gds.pageRank.stream' RETURN count(*) AS n"
GDS_DROP = "CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName"
# Cypher aggregation projection from integer node ids: the edge list is exactly the one the
# networkx path uses, so the two differ only in the algorithm's implementation. The edges
# arrive as three parallel lists (compact columns), not as one small list per edge.
GDS_PROJECT = """
UNWIND range(0, size($src) - 1) AS i
WITH gds.graph.project($name, $src[i], $dst[i], {relationshipProperties: {weight: $w[i]}},
                       {undirectedRelationshipTypes: ['*']}) AS g
RETURN g.nodeCount AS nodes, g.relationshipCount AS relationships
"""
GDS_PAGERANK = """
CALL gds.pageRank.stream($name, {relationshipWeightProperty: 'weight', dampingFactor: $alpha,
                                 maxIterations: $max_iter, tolerance: $tol})
YIELD nodeId, score
RETURN collect(nodeId) AS ids, collect(score) AS scores
"""


def gds_available(graph: Graph) -> bool:
    """Whether the server has Graph Data Science's PageRank."""
    try:
        return bool(graph.read(GDS_AVAILABLE)[0]["n"])
    except Exception:  # noqa: BLE001 - an older server without SHOW PROCEDURES: treat as absent
        return False


def gds_pagerank_arrays(
    graph: Graph,
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    w: np.ndarray,
    alpha: float = 0.85,
    tol: float = 1.0e-11,
    max_iter: int = 200,
    name: str = "unfragile-rank",
) -> np.ndarray:
    """`engine.ranking.algorithms.pagerank_arrays` computed by GDS's `gds.pageRank` on an
    in-memory projection.

    GDS scores are not normalised (they sum to about n); they are divided by their sum so they
    compare with the networkx result. `tol` means what it means for `pagerank_arrays` (stop
    when the L1 change of the normalised scores is below n·tol); GDS stops when every score
    changes by less than its `tolerance`, in its units of about n times the normalised score,
    so an L1 change below n·tol is guaranteed by tolerance = n·tol (max change ≤ L1 change).
    Edges of weight 0 are dropped (GDS would keep them as links); nodes left without an edge
    are projected as lone nodes, so both count the same n. GDS does not pass on the score of
    such dangling nodes, networkx spreads it uniformly: a difference of order 1e-9 here.
    At 134k nodes the two agree to 1e-6 per normalised score with the default `tol`.

    Complexity: O(E) to ship the edges (three flat lists) plus GDS's O(iterations · (V + E)).

    References
    ----------
    Neo4j Graph Data Science manual, "PageRank" and "Projecting graphs using Cypher".
    """
    keep = w > 0
    src_l, dst_l, w_l = src[keep].tolist(), dst[keep].tolist(), w[keep].tolist()
    # Nodes left without an edge join as lone nodes (a null target), so GDS counts the same n
    # nodes for the teleport share as networkx does.
    lone = np.setdiff1d(np.arange(n), np.concatenate([src[keep], dst[keep]])).tolist()
    src_l += lone
    dst_l += [None] * len(lone)
    w_l += [None] * len(lone)
    scores = np.full(n, (1.0 - alpha))
    with graph.driver.session(database=graph.database) as session:
        session.run(GDS_DROP, name=name).consume()
        try:
            session.run(GDS_PROJECT, name=name, src=src_l, dst=dst_l, w=w_l).consume()
            record = session.run(
                GDS_PAGERANK, name=name, alpha=alpha, max_iter=max_iter, tol=n * tol
            ).single(strict=True)
            scores[np.asarray(record["ids"], dtype=np.int64)] = record["scores"]
        finally:
            session.run(GDS_DROP, name=name).consume()
    return scores / scores.sum()
