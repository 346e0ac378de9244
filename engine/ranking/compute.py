"""UnfragileRank: five documented sub-scores, weighted by kind, with a bootstrap interval.

Every sub-score is 0–100 and a pure function of the graph (no wall clock), so ranking the same
graph twice writes the same numbers.

**Match graph** (inputs: Evidence nodes, i.e. per-session evidence behind MATCHED edges).
Each Evidence row e (one query, one target, one session) carries the README's per-session
confidence units z_e = 1 + clicked + long dwell + 2·feedback (engine/evidence.py, ≤ 5). One
session, one vote: a session's rows share one unit in proportion to their z,
v_e = max(z_e, 0) / Σ_session max(z, 0), so a session weighs the same however many events or
queries it sends, and clicks, dwell and feedback decide where its vote goes. The projection
is an undirected graph query — capability — artifact (and query — artifact for evidence
without a capability): edge weight log1p(Σ v_e) (volume is damped twice: per session, then
logarithmically); a capability's edge to its artifact weighs log1p of its total votes. Every
query is also tied to one *ground* node by an edge of one session's worth, log1p(1): a query
passes its PageRank on in proportion to its votes against that, so a swarm of near-empty
queries (one session spreading its vote thin) sends almost nothing to their artifact.
Artifacts co-matched by the same queries are two hops apart through those queries, so
PageRank (Page et al. 1999; damping `pagerank_alpha`) sees co-matching without double edges.
With x_a = PR_a / mean PR over matched artifacts:

    match_graph = 100 · n_a / (n_a + k) · log1p(x_a) / log1p(max x)

n_a = distinct sessions with a positive vote for the artifact ("times matched"), k =
`session_half`. The first factor is a Bayesian shrinkage by evidence volume (as in
IMDb-style weighted ratings): one session moves it by at most 1/k, which is what bounds the
effect of a single session's spam, while many distinct sessions move it all the way.

**Adoption** (inputs: `signal_*` properties, times matched). For each raw signal (downloads,
likes, stars, users, api_calls, …) log1p(value) is turned into a mid-rank percentile among
artifacts *of the same kind* reporting that signal; the artifact's signal score is their mean.

    adoption = 100 · ((1 − s) · mean signal percentile + s · n_a / (n_a + h))

s = `times_matched_share`, h = `times_matched_half` (saturating, so one session adds ≤ s/h).
Without any signal, adoption is 100 · s · n_a / (n_a + h).

**Quality** — the first source that exists, named in `quality_source`:
1. ``preferences``: Bradley–Terry strengths π (Bradley & Terry 1952, fitted by Hunter's MM
   algorithm 2004) from PREFERRED_OVER edges weighted by distinct sessions, regularised by one
   virtual win and loss against a strength-1 reference; quality = 100 · π / (π + 1), the
   chance of beating an average artifact.
2. ``benchmarks``: per benchmark, the mid-rank percentile among artifacts reporting it when at
   least 3 do, else the value itself read as a share (0–1, or 0–100 as a percentage); mean.
3. ``checklist`` (deterministic, over the record; points sum to 100): description depth
   20 · min(1, chars / 600); capabilities 5 · min(1, n / 3) + 15 · share with `unique` + 15 ·
   share with `vs_alternatives`; fields 20 · share present of task, provider, license, url,
   a date, modalities, known pricing, a category; links and images 7 for a url + 8 for an
   image; provenance 10 for verified signals, 5 for none, 0 for illustrative ones.

**Ecosystem** (inputs: SUPPORTS, INTEGRATES_WITH, DERIVED_FROM, PROVIDED_BY, IN_CATEGORY).
With f(x, s) = 1 − 2^(−x/s):

    ecosystem = 30 f(frameworks, 3) + 20 f(integrates with, 3)
              + 25 f(listed by others as integration or base model, 3)
              + 10 [provider known] + 10 f(other artifacts of the provider, 5)
              + 5 f(categories, 2)

**Freshness** (inputs: `updated`, else `released`): 100 · 2^(−age / `freshness_half_life_days`),
age counted back from a fixed reference — `reference_date`, else the newest released/updated
date in the graph — never from today, so results do not drift. No date: 0.

**UnfragileRank** = round(Σ w_kind,i · sub-score_i) with the weights of engine/rank_weights.toml
(override: UNFRAGILE_RANK_WEIGHTS=path). **[rank_low, rank_high]**: a Poisson bootstrap over
sessions (each distinct session gets a Poisson(1) weight, seeded; Chamandy et al., "Estimating
uncertainty for massive data streams", Google 2012) recomputes match graph and times matched
`bootstrap_replicates` times; the central `interval` of the replicate ranks, widened to contain
the estimate.

**ALTERNATIVE_TO {score}**: top `alternatives_top_n` per artifact by
w · co-matching cosine (artifacts × queries vote matrix) + (1 − w) · cosine of the mean
capability vectors in the FAISS capability index; co-matching alone when there is no index.
"""

from __future__ import annotations

import math
import os
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from engine.evidence import MATCH_WEIGHTS
from engine.records import KINDS, InputError
from engine.settings import Settings
from graph import algorithms, projection
from graph.connection import Graph

# Weight of each query's edge to the ground node: one session's worth of votes, log1p(1).
GROUND_WEIGHT = math.log1p(1.0)
DEFAULT_WEIGHTS_FILE = Path(__file__).resolve().parent / "rank_weights.toml"
SUBSCORES = ("adoption", "quality", "ecosystem", "match_graph", "freshness")
ENGINES = ("networkx", "gds")


class RankError(InputError):
    """A ranking setting or request a person gave that cannot be used."""

    writes = False

    def __init__(self, field_name: str | None, message: str, source: str = "rank"):
        super().__init__(source, None, field_name, message)


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class RankConfig:
    weights: dict[str, dict[str, float]]
    pagerank_alpha: float = 0.85
    session_half: float = 50.0
    times_matched_half: float = 100.0
    times_matched_share: float = 0.15
    freshness_half_life_days: float = 365.0
    reference_date: str = ""
    bootstrap_replicates: int = 50
    bootstrap_seed: int = 20240917
    interval: float = 0.90
    alternatives_top_n: int = 10
    alternatives_comatch_weight: float = 0.6
    source: str = str(DEFAULT_WEIGHTS_FILE)

    def weights_for(self, kind: str) -> dict[str, float]:
        return self.weights.get(kind) or self.weights["model"]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise RankError(None, f"cannot read it ({e.strerror})", str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise RankError(None, f"not valid TOML: {e}", str(path)) from None


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> RankConfig:
    """The defaults, overlaid with `path` or $UNFRAGILE_RANK_WEIGHTS when given."""
    env = os.environ if env is None else env
    data = _read_toml(DEFAULT_WEIGHTS_FILE)
    weights = {k: dict(v) for k, v in data["weights"].items()}
    params = dict(data["parameters"])
    override = path or (
        Path(env["UNFRAGILE_RANK_WEIGHTS"]).expanduser()
        if env.get("UNFRAGILE_RANK_WEIGHTS")
        else None
    )
    source = str(DEFAULT_WEIGHTS_FILE)
    if override is not None:
        user = _read_toml(override)
        source = str(override)
        unknown = set(user) - {"weights", "parameters"}
        if unknown:
            raise RankError(
                sorted(unknown)[0], "unknown table; use [weights.<kind>] or [parameters]", source
            )
        for kind, table in user.get("weights", {}).items():
            if kind not in KINDS:
                raise RankError(
                    f"weights.{kind}", f"unknown kind (one of {', '.join(KINDS)})", source
                )
            for name, value in table.items():
                if name not in SUBSCORES:
                    raise RankError(
                        f"weights.{kind}.{name}",
                        f"unknown sub-score (one of {', '.join(SUBSCORES)})",
                        source,
                    )
                if not isinstance(value, int | float) or value < 0:
                    raise RankError(f"weights.{kind}.{name}", "must be a number >= 0", source)
                weights.setdefault(kind, {})[name] = float(value)
        for name, value in user.get("parameters", {}).items():
            if name not in params:
                raise RankError(f"parameters.{name}", "unknown parameter", source)
            if type(value) is not type(params[name]) and not (
                isinstance(params[name], float) and isinstance(value, int)
            ):
                raise RankError(
                    f"parameters.{name}", f"must be a {type(params[name]).__name__}", source
                )
            params[name] = value
    normalised = {}
    for kind, table in weights.items():
        total = sum(table.get(s, 0.0) for s in SUBSCORES)
        if total <= 0:
            raise RankError(f"weights.{kind}", "weights must not all be 0", source)
        normalised[kind] = {s: table.get(s, 0.0) / total for s in SUBSCORES}
    if params["reference_date"]:
        try:
            date.fromisoformat(params["reference_date"])
        except ValueError:
            raise RankError("parameters.reference_date", "use YYYY-MM-DD", source) from None
    return RankConfig(weights=normalised, source=source, **params)


# -- results -------------------------------------------------------------------------------


@dataclass
class ArtifactScore:
    id: str
    name: str
    kind: str
    adoption: float
    quality: float
    quality_source: str
    ecosystem: float
    match_graph: float
    freshness: float
    times_matched: int
    estimate: float
    unfragile_rank: int
    rank_low: int
    rank_high: int
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def props(self) -> dict[str, Any]:
        """The scores written on the Artifact node (asdict would deep-copy alternatives)."""
        return {
            k: getattr(self, k)
            for k in self.__dataclass_fields__
            if k not in ("id", "name", "kind", "alternatives", "estimate")
        }


@dataclass
class RankReport:
    artifacts: int = 0
    matched_artifacts: int = 0
    evidence_rows: int = 0
    sessions: int = 0
    projection_nodes: int = 0
    projection_edges: int = 0
    alternative_edges: int = 0
    engine: str = "networkx"
    reference_date: str | None = None
    alternatives_source: str = "co-matching"
    quality_sources: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the match graph -----------------------------------------------------------------------


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
    # artifacts × queries vote matrix, for co-matching
    comatch: sp.csr_array
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
        if self._cap_rows is None:  # rows with a capability, and their capability edge
            self._cap_rows = np.flatnonzero(self.ev_cap_edge >= 0)
            self._cap_edges = self.ev_cap_edge[self._cap_rows]
        ca = np.bincount(
            self._cap_edges,
            vote[self._cap_rows],
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


def _compact(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Drop names no code uses any more; codes keep the sorted order."""
    used = np.bincount(codes, minlength=len(names)) > 0
    new_code = np.cumsum(used) - 1
    return new_code[codes], [n for n, u in zip(names, used.tolist(), strict=True) if u]


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is slower on these int keys)."""
    k = np.sort(keys)
    return k[np.concatenate([[True], k[1:] != k[:-1]])] if len(k) else k


def read_evidence(graph: Graph, pool: ThreadPoolExecutor | None = None) -> dict[str, Any]:
    """Evidence as compact columns (see `projection.evidence_columns`); with a pool, the
    capability and the artifact evidence are read side by side."""
    if pool is None:
        return projection.evidence_columns(graph, MATCH_WEIGHTS)
    parts = [
        pool.submit(projection.evidence_columns, graph, MATCH_WEIGHTS, (kind,))
        for kind in ("Capability", "Artifact")
    ]
    return _concat([p.result() for p in parts])


def _concat(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    return {k: [x for part in parts for x in part[k]] for k in parts[0]}


def build_match_graph(art_ids: list[str], owners: dict[str, str], ev: dict[str, Any]) -> MatchGraph:
    """Project Evidence columns into the query — capability — artifact graph (module doc).

    `ev` holds parallel lists session, query, target, is_capability and z (confidence units
    per Evidence node), as `read_evidence` returns them.
    """
    art_index = {a: i for i, a in enumerate(art_ids)}
    n_art = len(art_ids)
    is_cap = np.asarray(ev["is_capability"], dtype=bool)
    targets = ev["target"]
    cap_rows = np.flatnonzero(is_cap)
    art_rows = np.flatnonzero(~is_cap)
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
    cap_rows = cap_code >= 0
    ca_key = np.where(cap_rows, cap_code * n_art + a_idx, -1)
    ca_keys, ca_inv = np.unique(ca_key[cap_rows], return_inverse=True)
    ev_cap_edge = np.full(len(vote), -1, dtype=np.int64)
    ev_cap_edge[cap_rows] = ca_inv
    src_ca = cap_base + ca_keys // n_art
    dst_ca = artifact_nodes[ca_keys % n_art]

    positive = vote > 0
    pair_key = _sorted_unique(s_idx[positive] * n_art + a_idx[positive])
    comatch = sp.csr_array((vote, (a_idx, q_idx)), shape=(n_art, len(q_names)))
    comatch.data = np.log1p(comatch.data)
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
        comatch=comatch,
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
        if graph is None or not algorithms.gds_available(graph):
            raise RankError(
                "engine",
                "Graph Data Science is not available on this server; use --engine networkx",
            )
        return algorithms.gds_pagerank_arrays(graph, mg.n_nodes, mg.src, mg.dst, w, alpha)
    import networkx as nx

    G = to_networkx(mg, w, labels=False)
    pr = nx.pagerank(G, alpha=alpha, weight="weight", tol=1.0e-10, max_iter=500)
    return np.fromiter(map(pr.__getitem__, range(mg.n_nodes)), dtype=np.float64, count=mg.n_nodes)


def match_graph_scores(
    mg: MatchGraph, pr: np.ndarray, times: np.ndarray, session_half: float
) -> np.ndarray:
    """match_graph per artifact from node PageRank and distinct sessions (module doc)."""
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


# -- record-based sub-scores -----------------------------------------------------------------


def adoption_signal_percentiles(arts: list[dict[str, Any]]) -> list[float | None]:
    """Mean within-kind percentile of log1p(signal) over each artifact's signals."""
    groups: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for i, a in enumerate(arts):
        for name, value in zip(a["signal_names"], a["signal_values"], strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                groups.setdefault((a["kind"], name), []).append((i, math.log1p(max(value, 0))))
    sums = [0.0] * len(arts)
    counts = [0] * len(arts)
    for members in groups.values():
        for (i, _), p in zip(
            members, algorithms.midrank_percentiles(v for _, v in members), strict=True
        ):
            sums[i] += p
            counts[i] += 1
    return [sums[i] / counts[i] if counts[i] else None for i in range(len(arts))]


def benchmark_quality(arts: list[dict[str, Any]]) -> list[float | None]:
    groups: dict[str, list[tuple[int, float]]] = {}
    for i, a in enumerate(arts):
        for name, value in zip(a["benchmark_names"], a["benchmark_values"], strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                groups.setdefault(name, []).append((i, float(value)))
    sums = [0.0] * len(arts)
    counts = [0] * len(arts)
    for members in groups.values():
        if len(members) >= 3:
            shares = algorithms.midrank_percentiles(v for _, v in members)
        else:
            shares = [v if 0 <= v <= 1 else v / 100 if 1 < v <= 100 else 0.5 for _, v in members]
        for (i, _), s in zip(members, shares, strict=True):
            sums[i] += s
            counts[i] += 1
    return [100.0 * sums[i] / counts[i] if counts[i] else None for i in range(len(arts))]


def checklist_quality(a: dict[str, Any]) -> float:
    """The documented record checklist (module doc, quality 3); 0–100, never a constant."""
    points = 20.0 * min(1.0, (a.get("description_chars") or 0) / 600.0)
    caps = a.get("capabilities") or 0
    if caps:
        points += 5.0 * min(1.0, caps / 3.0)
        points += 15.0 * (a.get("with_unique") or 0) / caps
        points += 15.0 * (a.get("with_vs") or 0) / caps
    fields = [
        a.get("task"),
        a.get("provider"),
        a.get("license"),
        a.get("url"),
        a.get("updated") or a.get("released"),
        a.get("modalities"),
        a.get("pricing") not in (None, "unknown"),
        (a.get("categories") or 0) > 0,
    ]
    points += 20.0 * sum(bool(f) for f in fields) / len(fields)
    points += 7.0 if a.get("url") else 0.0
    points += 8.0 if (a.get("images") or 0) + (a.get("image_paths") or 0) > 0 else 0.0
    if not a.get("signal_names"):
        points += 5.0
    elif not a.get("illustrative"):
        points += 10.0
    return points


def _f(x: float, scale: float) -> float:
    return 1.0 - math.pow(2.0, -max(x, 0.0) / scale)


def ecosystem_score(a: dict[str, Any], provider_siblings: int) -> float:
    return (
        30.0 * _f(a["frameworks"], 3)
        + 20.0 * _f(a["integrates"], 3)
        + 25.0 * _f(a["integrated_by"] + a["derivatives"], 3)
        + (10.0 if a.get("provider") else 0.0)
        + 10.0 * _f(provider_siblings, 5)
        + 5.0 * _f(a["categories"], 2)
    )


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def reference_day(arts: list[dict[str, Any]], config: RankConfig) -> date | None:
    if config.reference_date:
        return date.fromisoformat(config.reference_date)
    days = [d for a in arts for d in (_day(a.get("released")), _day(a.get("updated"))) if d]
    return max(days) if days else None


def freshness_score(a: dict[str, Any], ref: date | None, half_life: float) -> float:
    days = [d for d in (_day(a.get("updated")), _day(a.get("released"))) if d]
    if not days or ref is None:
        return 0.0
    return 100.0 * algorithms.exp_decay((ref - max(days)).days, half_life)


# -- alternatives ----------------------------------------------------------------------------


def capability_similarity(
    settings: Settings | None, art_ids: list[str], owners: dict[str, str], k: int
) -> list[list[tuple[int, float]]] | None:
    """Nearest artifacts by the mean vector of their capabilities, when the index exists."""
    if settings is None:
        return None
    try:
        import faiss

        from indexing.vectors import IndexProblem, VectorStore
    except ImportError:
        return None
    try:
        dim = VectorStore.recorded_dim(settings.index_dir, "capabilities")
        if dim is None:
            return None
        store = VectorStore.open(
            settings.index_dir,
            "capabilities",
            settings.text_model,
            dim,
            exact_limit=settings.exact_limit,
            kind=settings.index_kind,
        )
        index = {a: i for i, a in enumerate(art_ids)}
        sums = np.zeros((len(art_ids), dim), dtype=np.float32)
        for cap, owner in owners.items():
            vec = store.vector(cap)
            if vec is not None and owner in index:
                sums[index[owner]] += vec
    except (IndexProblem, OSError, RuntimeError):
        return None
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    present = norms.ravel() > 0
    if present.sum() < 2:
        return None
    vectors = (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    rows = np.flatnonzero(present)
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors[rows])
    scores, hits = flat.search(vectors[rows], min(k + 1, len(rows)))
    out: list[list[tuple[int, float]]] = [[] for _ in art_ids]
    for r, row in enumerate(rows):
        out[row] = [
            (int(rows[h]), float(s))
            for h, s in zip(hits[r], scores[r], strict=True)
            if h >= 0 and rows[h] != row and s > 0
        ]
    return out


def alternatives(
    mg: MatchGraph,
    art_ids: list[str],
    config: RankConfig,
    capsim: list[list[tuple[int, float]]] | None,
) -> list[list[dict[str, Any]]]:
    n = config.alternatives_top_n
    co = algorithms.top_k_similar(mg.comatch, 3 * n) if len(art_ids) else []
    wco = config.alternatives_comatch_weight if capsim is not None else 1.0
    out = []
    for i in range(len(art_ids)):
        score: dict[int, float] = {}
        for j, s in co[i]:
            score[j] = score.get(j, 0.0) + wco * s
        for j, s in capsim[i] if capsim is not None else []:
            score[j] = score.get(j, 0.0) + (1.0 - wco) * s
        best = sorted(score.items(), key=lambda js: (-js[1], art_ids[js[0]]))[:n]
        out.append([{"id": art_ids[j], "score": round(s, 4)} for j, s in best if s > 0])
    return out


# -- the whole computation -------------------------------------------------------------------


def _round_rank(x: float) -> int:
    return int(math.floor(x + 0.5))


def compute(
    graph: Graph,
    config: RankConfig | None = None,
    engine: str = "networkx",
    settings: Settings | None = None,
    step: Callable[[str], None] | None = None,
) -> tuple[list[ArtifactScore], RankReport]:
    """Every artifact's sub-scores, UnfragileRank, interval and alternatives (nothing written)."""
    if engine not in ENGINES:
        raise RankError("engine", f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
    config = config or load_config()
    step = step or (lambda _: None)
    report = RankReport(engine=engine)
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = round(report.seconds.get(name, 0.0) + now - clock, 3)
        clock = now
        step(name)

    # The reads are server-bound and independent: run them side by side.
    with ThreadPoolExecutor(max_workers=5) as pool:
        arts_f = pool.submit(projection.artifacts, graph)
        owners_f = pool.submit(projection.capability_owners, graph)
        prefs_f = pool.submit(projection.preferences, graph)
        ev = read_evidence(graph, pool)
        arts, owners, prefs = arts_f.result(), owners_f.result(), prefs_f.result()
    art_ids = [a["id"] for a in arts]
    lap("read")
    mg = build_match_graph(art_ids, owners, ev)
    report.evidence_rows, report.sessions = len(ev["z"]), mg.n_sessions
    report.projection_nodes, report.projection_edges = mg.n_nodes, len(mg.src)
    del ev
    lap("project")
    pr = centrality(mg, config.pagerank_alpha, engine, graph)
    lap("centrality")

    n = len(arts)
    times = mg.times_matched(n)
    report.artifacts, report.matched_artifacts = n, int((times > 0).sum())
    match = match_graph_scores(mg, pr, times, config.session_half)
    signal_pct = adoption_signal_percentiles(arts)
    share, half = config.times_matched_share, config.times_matched_half

    def adoption_of(tm: np.ndarray) -> np.ndarray:
        base = np.array([p if p is not None else 0.0 for p in signal_pct])
        return 100.0 * ((1.0 - share) * base + share * tm / (tm + half))

    adoption = adoption_of(times)
    strengths = algorithms.bradley_terry({(w, lo): s for w, lo, s in prefs if s > 0})
    bench = benchmark_quality(arts)
    quality, sources = [], []
    for i, a in enumerate(arts):
        if a["id"] in strengths:
            pi = strengths[a["id"]]
            quality.append(100.0 * pi / (pi + 1.0))
            sources.append("preferences")
        elif bench[i] is not None:
            quality.append(bench[i])
            sources.append("benchmarks")
        else:
            quality.append(checklist_quality(a))
            sources.append("checklist")
    report.quality_sources = dict(sorted(Counter(sources).items()))
    providers = Counter(a["provider"] for a in arts if a.get("provider"))
    ecosystem = [
        ecosystem_score(a, providers[a["provider"]] - 1 if a.get("provider") else 0) for a in arts
    ]
    ref = reference_day(arts, config)
    report.reference_date = ref.isoformat() if ref else None
    freshness = [freshness_score(a, ref, config.freshness_half_life_days) for a in arts]
    W = (
        np.array([[config.weights_for(a["kind"])[s] for s in SUBSCORES] for a in arts])
        if n
        else np.zeros((0, len(SUBSCORES)))
    )
    fixed = (
        W[:, 1] * np.array(quality) + W[:, 2] * np.array(ecosystem) + W[:, 4] * np.array(freshness)
        if n
        else np.zeros(0)
    )

    def rank_of(adopt: np.ndarray, mgs: np.ndarray) -> np.ndarray:
        return fixed + W[:, 0] * adopt + W[:, 3] * mgs

    estimate = rank_of(adoption, match)
    lap("subscores")

    replicates = []
    if mg.n_sessions and config.bootstrap_replicates > 0:
        rng = np.random.default_rng(config.bootstrap_seed)
        pagerank = algorithms.UndirectedPageRank(mg.n_nodes, mg.src, mg.dst)
        for _ in range(config.bootstrap_replicates):
            omega = rng.poisson(1.0, mg.n_sessions).astype(np.float64)
            w_b = mg.weights(omega)
            pr_b = pagerank.run(w_b, config.pagerank_alpha, tol=1.0e-9, x0=pr)
            tm_b = mg.times_matched(n, omega)
            replicates.append(
                rank_of(adoption_of(tm_b), match_graph_scores(mg, pr_b, tm_b, config.session_half))
            )
    lo_q, hi_q = (1.0 - config.interval) / 2.0, 1.0 - (1.0 - config.interval) / 2.0
    if replicates:
        reps = np.vstack(replicates)
        low = np.quantile(reps, lo_q, axis=0)
        high = np.quantile(reps, hi_q, axis=0)
    else:
        low = high = estimate
    lap("bootstrap")

    capsim = capability_similarity(settings, art_ids, owners, 3 * config.alternatives_top_n)
    report.alternatives_source = (
        "co-matching" if capsim is None else "co-matching + capability similarity"
    )
    alts = alternatives(mg, art_ids, config, capsim)
    report.alternative_edges = sum(len(x) for x in alts)
    lap("alternatives")

    scores = []
    for i, a in enumerate(arts):
        r = _round_rank(float(estimate[i]))
        scores.append(
            ArtifactScore(
                id=a["id"],
                name=a["name"],
                kind=a["kind"],
                adoption=round(float(adoption[i]), 2),
                quality=round(float(quality[i]), 2),
                quality_source=sources[i],
                ecosystem=round(float(ecosystem[i]), 2),
                match_graph=round(float(match[i]), 2),
                freshness=round(float(freshness[i]), 2),
                times_matched=int(times[i]),
                estimate=float(estimate[i]),
                unfragile_rank=r,
                rank_low=min(r, int(math.floor(min(low[i], estimate[i])))),
                rank_high=max(r, int(math.ceil(max(high[i], estimate[i])))),
                alternatives=alts[i],
            )
        )
    return scores, report


def rank(
    graph: Graph,
    config: RankConfig | None = None,
    engine: str = "networkx",
    settings: Settings | None = None,
    batch_size: int = 2500,
    show_progress: bool = True,
) -> RankReport:
    """Compute everything and write it back (scores and ALTERNATIVE_TO) in UNWIND batches."""
    from engine.progress import progress

    stages = ["read", "project", "centrality", "subscores", "bootstrap", "alternatives"]
    with progress(total=len(stages) + 1, desc="rank", enabled=show_progress, unit="step") as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        scores, report = compute(graph, config, engine, settings, step)
        start = time.perf_counter()
        props = [{**s.props(), "rank_reference_date": report.reference_date} for s in scores]
        columns = {p: [d[p] for d in props] for p in projection.SCORE_PROPERTIES}
        projection.write_scores(
            graph,
            [s.id for s in scores],
            columns,
            [[(alt["id"], alt["score"]) for alt in s.alternatives] for s in scores],
            batch_size,
        )
        report.seconds["write"] = round(time.perf_counter() - start, 3)
        bar.update(1)
    report.seconds["total"] = round(sum(report.seconds.values()), 3)
    return report
