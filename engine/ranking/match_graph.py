"""The match graph: Evidence projected to query — capability — artifact, and its PageRank."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from unfragile.engine.errors import RankError
from unfragile.engine.evidence import MATCH_WEIGHTS
from unfragile.engine.ranking import algorithms
from unfragile.graph import gds
from unfragile.graph.connection import Graph

# Weight of each query's edge to the ground node: one session's worth of votes, log1p(1).
GROUND_WEIGHT = math.log1p(1.0)


@dataclass
class MatchGraph:
    """The projection as arrays: nodes 0..n-1 (artifacts first), edges, and what feeds them."""

    n_nodes: int
    artifact_nodes: np.ndarray  # node index of each artifact (all artifacts, -1 if none)
    node_names: list[str]
    # per evidence row (sorted canonically)
    ev_session: np.ndarray
    ev_vote: np.ndarray
    ev_edge: np.ndarray  # index into the query–target edges
    ev_cap_edge: np.ndarray  # index into capability–artifact edges, -1 if none
    # edges
    src: np.ndarray
    dst: np.ndarray
    n_qt_edges: int
    # per (session, artifact) pair with a positive vote: for times matched
    pair_session: np.ndarray
    pair_artifact: np.ndarray
    n_sessions: int

    n_ground_edges: int = 0
    _cap_rows: np.ndarray | None = None
    _cap_edges: np.ndarray | None = None
    _pagerank: algorithms.UndirectedPageRank | None = None
    _by_session: tuple[Any, Any, Any] | None = None

    def weights(self, session_weight: np.ndarray | None = None) -> np.ndarray:
        """log1p of the (re-weighted) vote mass on each edge; ground edges are constant."""
        vote = (
            self.ev_vote
            if session_weight is None
            else self.ev_vote * session_weight[self.ev_session]
        )
        qt = np.bincount(self.ev_edge, vote, self.n_qt_edges)
        cap_rows, cap_edges = self._cap_rows, self._cap_edges
        # Rows with a capability, and their edge; threads may fill these at once, harmlessly:
        # each computes the same arrays and reads its own.
        if cap_rows is None or cap_edges is None:
            cap_rows = self._cap_rows = np.flatnonzero(self.ev_cap_edge >= 0)
            cap_edges = self._cap_edges = self.ev_cap_edge[cap_rows]
        ca = np.bincount(
            cap_edges,
            vote[cap_rows],
            len(self.src) - self.n_qt_edges - self.n_ground_edges,
        )
        return np.concatenate(
            [np.log1p(np.concatenate([qt, ca])), np.full(self.n_ground_edges, GROUND_WEIGHT)]
        )

    def _session_columns(self) -> tuple[Any, Any, Any]:
        """Votes on query–target edges, votes on capability–artifact edges and (session,
        artifact) pairs as sparse (edge or artifact × session) matrices. They are stored by
        session, which is the rows' own order (nothing is sorted or copied but the capability
        rows), so a product with them adds each edge's votes session by session, in the order
        `weights` and `times_matched` add them: the same sums, to the bit."""
        if self._by_session is None:
            n_s, n_qt = self.n_sessions, self.n_qt_edges
            n_ca = len(self.src) - n_qt - self.n_ground_edges
            cap_rows = np.flatnonzero(self.ev_cap_edge >= 0)

            def by_session(session: np.ndarray, col: np.ndarray, data: np.ndarray, n: int) -> Any:
                indptr = np.zeros(n_s + 1, dtype=np.int64)
                np.cumsum(np.bincount(session, minlength=n_s), out=indptr[1:])
                return sp.csr_array((data, col, indptr), shape=(n_s, n), copy=False).T

            self._by_session = (
                by_session(self.ev_session, self.ev_edge, self.ev_vote, n_qt),
                by_session(
                    self.ev_session[cap_rows],
                    self.ev_cap_edge[cap_rows],
                    self.ev_vote[cap_rows],
                    n_ca,
                ),
                by_session(
                    self.pair_session,
                    self.pair_artifact,
                    np.ones(len(self.pair_session)),
                    len(self.artifact_nodes),
                ),
            )
        return self._by_session

    def weights_many(self, session_weights: np.ndarray) -> np.ndarray:
        """`weights(w)` for each column w of a (sessions × k) array, as the columns of one
        (edges × k) array: one sparse product for k replicates reads each vote once, not k
        times (~3x less work per replicate at 10M events)."""
        by_qt, by_cap, _ = self._session_columns()
        n_qt, n_ca = by_qt.shape[0], by_cap.shape[0]
        out = np.empty((len(self.src), session_weights.shape[1]))
        np.log1p(by_qt @ session_weights, out=out[:n_qt])
        np.log1p(by_cap @ session_weights, out=out[n_qt : n_qt + n_ca])
        out[n_qt + n_ca :] = GROUND_WEIGHT
        return out

    def times_matched_many(self, session_weights: np.ndarray) -> np.ndarray:
        """`times_matched(all artifacts, w)` for each column w, as the columns of one array."""
        return np.asarray(self._session_columns()[2] @ session_weights, dtype=np.float64)

    def pagerank_operator(self) -> algorithms.UndirectedPageRank:
        """PageRank on these edges (`algorithms.UndirectedPageRank`), built once and kept."""
        if self._pagerank is None:
            self._pagerank = algorithms.UndirectedPageRank(self.n_nodes, self.src, self.dst)
        return self._pagerank

    def times_matched(
        self, n_artifacts: int, session_weight: np.ndarray | None = None
    ) -> np.ndarray:
        w = None if session_weight is None else session_weight[self.pair_session]
        return np.bincount(self.pair_artifact, w, n_artifacts).astype(np.float64)


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer codes in sorted order of the distinct values (stable across read orders)."""
    uniq = sorted(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(uniq)}
    return np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values)), uniq


def _recode(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 renumbered over those in use, keeping their order, and which are."""
    used = np.bincount(codes, minlength=n) > 0
    if used.all():  # the usual case: nothing to renumber
        return codes, used
    return (np.cumsum(used) - 1)[codes], used


def _compact(codes: np.ndarray, names: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Drop names no code uses any more; codes keep the sorted order."""
    codes, used = _recode(codes, len(names))
    return codes, [n for n, u in zip(names, used.tolist(), strict=True) if u]


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is slower on these int keys)."""
    k = np.sort(keys)
    return k[np.concatenate([[True], k[1:] != k[:-1]])] if len(k) else k


def read_evidence(graph: Graph, pool: ThreadPoolExecutor | None = None) -> dict[str, Any]:
    """Per-session votes as compact columns, aggregated from the event log (not the graph:
    it holds only their sums); `pool` is accepted for callers and unused."""
    from unfragile.engine.aggregate import votes

    return votes(graph, MATCH_WEIGHTS)


def read_vote_codes(graph: Graph) -> dict[str, Any]:
    """The same votes with sessions, queries and targets as integer codes into sorted names
    (engine/aggregate.py, vote_codes): what ranking reads, as strings cost gigabytes at 10M."""
    from unfragile.engine.aggregate import vote_codes

    coded = vote_codes(graph, MATCH_WEIGHTS)
    if coded is None:
        empty = np.zeros(0, dtype=np.int64)
        return {
            "session_code": empty,
            "query_code": empty,
            "target_code": empty,
            "is_capability": np.zeros(0, dtype=bool),
            "z": np.zeros(0),
            "n_sessions": 0,
            "query_names": [],
            "cap_names": [],
            "art_names": [],
        }
    return coded


def build_match_graph(art_ids: list[str], owners: dict[str, str], ev: dict[str, Any]) -> MatchGraph:
    """Project Evidence columns into the query — capability — artifact graph (docs/ranking.md).

    `ev` holds parallel lists session, query, target, is_capability and z (confidence units
    per Evidence node), as `read_evidence` returns them, or the same coded as
    `read_vote_codes` returns them.
    """
    art_index = {a: i for i, a in enumerate(art_ids)}
    n_art = len(art_ids)
    is_cap = np.asarray(ev["is_capability"], dtype=bool)
    coded = "target_code" in ev
    cap_rows = np.flatnonzero(is_cap)
    art_rows = np.flatnonzero(~is_cap)
    if coded:
        cap_code, cap_names = ev["target_code"][cap_rows], ev["cap_names"]
        tgt_code, tgt_names = ev["target_code"][art_rows], ev["art_names"]
    else:
        targets = ev["target"]
        cap_code, cap_names = _codes([targets[i] for i in cap_rows.tolist()])
        tgt_code, tgt_names = _codes([targets[i] for i in art_rows.tolist()])
    a_idx = np.full(len(is_cap), -1, dtype=np.int64)
    cap_owner = np.array([art_index.get(owners.get(c, ""), -1) for c in cap_names], np.int64)
    tgt_owner = np.array([art_index.get(t, -1) for t in tgt_names], np.int64)
    a_idx[cap_rows] = cap_owner[cap_code]
    a_idx[art_rows] = tgt_owner[tgt_code]
    c_all = np.full(len(is_cap), -1, dtype=np.int64)  # -1 = evidence on the artifact itself
    c_all[cap_rows] = cap_code
    kept = np.flatnonzero(a_idx >= 0)  # drop evidence for something deleted since
    if not len(kept):
        empty = np.zeros(0, dtype=np.int64)
        return MatchGraph(
            0,
            np.full(n_art, -1),
            [],
            empty,
            np.zeros(0),
            empty,
            empty,
            empty,
            empty,
            0,
            empty,
            empty,
            0,
        )
    if coded:
        s_all, n_s = ev["session_code"], ev["n_sessions"]
        q_all, q_names = ev["query_code"], ev["query_names"]
    else:
        s_all, s_names = _codes(ev["session"])
        n_s = len(s_names)
        q_all, q_names = _codes(ev["query"])
    # Session names only count: their codes stand for them.
    sel = slice(None) if len(kept) == len(is_cap) else kept  # a slice copies nothing
    s_idx, s_used = _recode(s_all[sel], n_s)
    n_sessions = int(np.count_nonzero(s_used))
    q_idx, q_names = _compact(q_all[sel], q_names)
    c_kept = c_all[sel]
    has = c_kept >= 0
    c_code_kept, real_caps = _compact(c_kept[has], cap_names)
    n_caps = len(real_caps)
    a_idx = a_idx[sel]
    vote = np.maximum(np.asarray(ev["z"], dtype=np.float64)[sel], 0.0)
    owner_of = np.zeros(n_caps, dtype=np.int64)  # each capability's one owner
    owner_of[c_code_kept] = a_idx[has]
    # Target key: the artifact (0..n_art-1) or n_art + its capability's code. A capability
    # has one owner, so the key orders rows as (capability or none, artifact) do.
    n_t = n_art + n_caps
    t_key = a_idx.copy()
    t_key[has] = n_art + c_code_kept
    # Rows in (session, query, capability, artifact) order, ties in read order: a stable sort
    # by (query, target) then by session (np.lexsort on the four, ~10x faster at 7M rows).
    by_qt, qt_sorted = algorithms.stable_argsort(q_idx * n_t + t_key, len(q_names) * n_t)
    by_s, s_idx = algorithms.stable_argsort(s_idx[by_qt], n_s)
    order = by_qt[by_s]
    # Query–target edges in (query, target) order, numbered from the first sort's runs.
    first = np.ones(len(qt_sorted), dtype=bool)
    np.not_equal(qt_sorted[1:], qt_sorted[:-1], out=first[1:])
    ev_edge = (np.cumsum(first) - 1)[by_s]
    qt_keys = qt_sorted[first]
    del qt_sorted, first, by_qt, by_s
    vote, t_key = vote[order], t_key[order]
    on_cap = t_key >= n_art
    ev_cap_edge = np.where(on_cap, t_key - n_art, -1)  # capability–artifact edge = capability
    a_idx = t_key
    a_idx[on_cap] = owner_of[ev_cap_edge[on_cap]]

    # One session, one vote: its rows share one unit in proportion to their z.
    per_session = np.bincount(s_idx, vote, minlength=n_s)
    vote = np.where(
        per_session[s_idx] > 0,
        vote / np.where(per_session[s_idx] > 0, per_session[s_idx], 1.0),
        0.0,
    )

    # Nodes: matched artifacts, then capabilities, then queries.
    matched = np.flatnonzero(np.bincount(a_idx, minlength=n_art))
    artifact_nodes = np.full(n_art, -1, dtype=np.int64)
    artifact_nodes[matched] = np.arange(len(matched))
    cap_base = len(matched)
    q_base = cap_base + n_caps
    ground = q_base + len(q_names)
    n_nodes = ground + 1
    node_names = (
        [f"a:{art_ids[i]}" for i in matched]
        + [f"c:{c}" for c in real_caps]
        + [f"q:{q}" for q in q_names]
        + ["ground"]
    )

    qt_target = qt_keys % n_t
    to_cap = qt_target >= n_art
    dst_qt = np.where(to_cap, cap_base + qt_target - n_art, 0)
    dst_qt[~to_cap] = artifact_nodes[qt_target[~to_cap]]
    src_ca = cap_base + np.arange(n_caps)
    dst_ca = artifact_nodes[owner_of]

    positive = vote > 0
    pair_key = _sorted_unique(s_idx[positive] * n_art + a_idx[positive])
    return MatchGraph(
        n_nodes=n_nodes,
        artifact_nodes=artifact_nodes,
        node_names=node_names,
        ev_session=s_idx,
        ev_vote=vote,
        ev_edge=ev_edge,
        ev_cap_edge=ev_cap_edge,
        src=np.concatenate([q_base + qt_keys // n_t, src_ca, q_base + np.arange(len(q_names))]),
        dst=np.concatenate([dst_qt, dst_ca, np.full(len(q_names), ground)]),
        n_qt_edges=len(qt_keys),
        n_ground_edges=len(q_names),
        pair_session=pair_key // n_art,
        pair_artifact=pair_key % n_art,
        n_sessions=n_sessions,
    )


def to_networkx(mg: MatchGraph, weights: np.ndarray | None = None, labels: bool = True) -> Any:
    """The projection as a weighted undirected networkx graph: nodes named by their 'a:', 'c:',
    'q:' ids, or with labels=False by their index 0..n-1 (cheaper to build and to hash)."""
    import networkx as nx

    w = mg.weights() if weights is None else weights
    G = nx.Graph()
    src, dst = mg.src.tolist(), mg.dst.tolist()
    if labels:
        names = mg.node_names
        G.add_nodes_from(names)
        G.add_weighted_edges_from(
            (names[u], names[v], x) for u, v, x in zip(src, dst, w.tolist(), strict=True)
        )
    else:
        G.add_nodes_from(range(mg.n_nodes))
        G.add_weighted_edges_from(zip(src, dst, w.tolist(), strict=True))
    return G


# Above this many projection edges `centrality` runs networkx's PageRank on arrays
# (`algorithms.UndirectedPageRank`, the same iteration, pinned to networkx.pagerank by
# tests/test_ranking.py): networkx builds a Python object per edge, ~20 s at 1.3M edges.
NETWORKX_MAX_EDGES = 100_000


def pagerank_engine(
    mg: MatchGraph, engine: str, networkx_max_edges: int = NETWORKX_MAX_EDGES
) -> str:
    """What `centrality` runs for `engine`: 'gds', 'networkx', or 'scipy' (the same PageRank
    by power iteration over a scipy sparse matrix, for graphs above `networkx_max_edges`)."""
    if engine == "gds":
        return "gds"
    return "networkx" if len(mg.src) <= networkx_max_edges else "scipy"


def centrality(
    mg: MatchGraph,
    alpha: float,
    engine: str = "networkx",
    graph: Graph | None = None,
    networkx_max_edges: int = NETWORKX_MAX_EDGES,
) -> np.ndarray:
    """PageRank of every projection node, by networkx (default), or for graphs above
    `networkx_max_edges` edges the same iteration on arrays, or by Neo4j GDS."""
    w = mg.weights()
    if mg.n_nodes == 0:
        return np.zeros(0)
    ran = pagerank_engine(mg, engine, networkx_max_edges)
    if ran == "gds":
        if graph is None or not gds.gds_available(graph):
            raise RankError(
                "engine",
                "Graph Data Science is not available on this server; use --engine networkx",
            )
        return gds.gds_pagerank_arrays(graph, mg.n_nodes, mg.src, mg.dst, w, alpha)
    if ran == "scipy":  # with the tolerance and iteration cap of the networkx call below
        return mg.pagerank_operator().run(w, alpha, tol=1.0e-10, max_iter=500)
    import networkx as nx

    G = to_networkx(mg, w, labels=False)
    pr = nx.pagerank(G, alpha=alpha, weight="weight", tol=1.0e-10, max_iter=500)
    return np.fromiter(map(pr.__getitem__, range(mg.n_nodes)), dtype=np.float64, count=mg.n_nodes)


def match_graph_scores(
    mg: MatchGraph, pr: np.ndarray, times: np.ndarray, session_half: float
) -> np.ndarray:
    """match_graph per artifact from node PageRank and distinct sessions (docs/ranking.md)."""
    out = np.zeros(len(mg.artifact_nodes))
    has = mg.artifact_nodes >= 0
    if not has.any():
        return out
    art_pr = pr[mg.artifact_nodes[has]]
    mean = art_pr.mean()
    x = art_pr / mean if mean > 0 else np.zeros_like(art_pr)
    top = np.log1p(x.max()) if x.size else 0.0
    shape = np.log1p(x) / top if top > 0 else np.zeros_like(x)
    evidence = times[has] / (times[has] + session_half)
    out[has] = 100.0 * evidence * shape
    return out
