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

    def weights(self, session_weight: np.ndarray | None = None) -> np.ndarray:
        """log1p of the (re-weighted) vote mass on each edge; ground edges are constant."""
        vote = (
            self.ev_vote
            if session_weight is None
            else self.ev_vote * session_weight[self.ev_session]
        )
        qt = np.bincount(self.ev_edge, vote, self.n_qt_edges)
        cap_rows, cap_edges = self._cap_rows, self._cap_edges
        if cap_rows is None or cap_edges is None:  # rows with a capability, and their edge
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


def _compact(codes: np.ndarray, names: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Drop names no code uses any more; codes keep the sorted order."""
    used = np.bincount(codes, minlength=len(names)) > 0
    new_code = np.cumsum(used) - 1
    return new_code[codes], [n for n, u in zip(names, used.tolist(), strict=True) if u]


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
            sp.csr_array((n_art, 0)),
            0,
        )
    if coded:
        # Session names only count: their codes stand for them.
        s_all, s_names = ev["session_code"], list[Any](range(ev["n_sessions"]))
        q_all, q_names = ev["query_code"], ev["query_names"]
    else:
        s_all, s_names = _codes(ev["session"])
        q_all, q_names = _codes(ev["query"])
    s_idx, s_names = _compact(s_all[kept], s_names)
    q_idx, q_names = _compact(q_all[kept], q_names)
    c_kept = c_all[kept]
    c_idx = np.zeros(len(kept), dtype=np.int64)  # 0 = no capability, then capabilities + 1
    has = c_kept >= 0
    c_code_kept, real_caps = _compact(c_kept[has], cap_names)
    c_idx[has] = c_code_kept + 1
    a_idx = a_idx[kept]
    vote = np.maximum(np.asarray(ev["z"], dtype=np.float64)[kept], 0.0)
    order = np.lexsort((a_idx, c_idx, q_idx, s_idx))
    s_idx, q_idx, c_idx, a_idx, vote = (x[order] for x in (s_idx, q_idx, c_idx, a_idx, vote))
    cap_code = c_idx - 1  # -1 = evidence on the artifact itself

    # One session, one vote: its rows share one unit in proportion to their z.
    per_session = np.bincount(s_idx, vote, minlength=len(s_names))
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
    q_base = cap_base + len(real_caps)
    ground = q_base + len(q_names)
    n_nodes = ground + 1
    node_names = (
        [f"a:{art_ids[i]}" for i in matched]
        + [f"c:{c}" for c in real_caps]
        + [f"q:{q}" for q in q_names]
        + ["ground"]
    )

    target_node = np.where(cap_code >= 0, cap_base + cap_code, artifact_nodes[a_idx])
    qt_key = q_idx * n_nodes + target_node
    qt_keys, ev_edge = np.unique(qt_key, return_inverse=True)
    src_qt = q_base + qt_keys // n_nodes
    dst_qt = qt_keys % n_nodes
    on_cap = cap_code >= 0
    ca_key = np.where(on_cap, cap_code * n_art + a_idx, -1)
    ca_keys, ca_inv = np.unique(ca_key[on_cap], return_inverse=True)
    ev_cap_edge = np.full(len(vote), -1, dtype=np.int64)
    ev_cap_edge[on_cap] = ca_inv
    src_ca = cap_base + ca_keys // n_art
    dst_ca = artifact_nodes[ca_keys % n_art]

    positive = vote > 0
    pair_key = _sorted_unique(s_idx[positive] * n_art + a_idx[positive])
    return MatchGraph(
        n_nodes=n_nodes,
        artifact_nodes=artifact_nodes,
        node_names=node_names,
        ev_session=s_idx,
        ev_vote=vote,
        ev_edge=ev_edge.ravel(),
        ev_cap_edge=ev_cap_edge,
        src=np.concatenate([src_qt, src_ca, q_base + np.arange(len(q_names))]),
        dst=np.concatenate([dst_qt, dst_ca, np.full(len(q_names), ground)]),
        n_qt_edges=len(qt_keys),
        n_ground_edges=len(q_names),
        pair_session=pair_key // n_art,
        pair_artifact=pair_key % n_art,
        n_sessions=len(s_names),
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


def centrality(
    mg: MatchGraph, alpha: float, engine: str = "networkx", graph: Graph | None = None
) -> np.ndarray:
    """PageRank of every projection node, by networkx (default) or Neo4j GDS."""
    w = mg.weights()
    if mg.n_nodes == 0:
        return np.zeros(0)
    if engine == "gds":
        if graph is None or not gds.gds_available(graph):
            raise RankError(
                "engine",
                "Graph Data Science is not available on this server; use --engine networkx",
            )
        return gds.gds_pagerank_arrays(graph, mg.n_nodes, mg.src, mg.dst, w, alpha)
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
