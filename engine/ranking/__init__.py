"""UnfragileRank: five documented sub-scores, weighted by kind, with a bootstrap interval.

Every formula, its inputs and its references are specified in docs/ranking.md. The modules:
`config` (sub-score names, the weights TOML), `match_graph` (Evidence projected to a
graph, and its PageRank), `subscores` (adoption, quality, ecosystem, freshness),
`alternatives` (ALTERNATIVE_TO, found by search), `compute` (all of it, and the write-back)
and `algorithms` (the numpy maths).
"""

from unfragile.engine.errors import RankError
from unfragile.engine.evidence import MATCH_WEIGHTS
from unfragile.engine.ranking.compute import ArtifactScore, RankReport, compute, rank
from unfragile.engine.ranking.config import ENGINES, SUBSCORES, RankConfig, load_config
from unfragile.engine.ranking.match_graph import (
    MatchGraph,
    build_match_graph,
    centrality,
    match_graph_scores,
    read_evidence,
)
from unfragile.engine.ranking.subscores import checklist_quality
from unfragile.graph import (
    projection,  # the graph reads the ranking uses; tests call them through it
)

__all__ = [
    "ENGINES",
    "MATCH_WEIGHTS",
    "SUBSCORES",
    "ArtifactScore",
    "MatchGraph",
    "RankConfig",
    "RankError",
    "RankReport",
    "build_match_graph",
    "centrality",
    "checklist_quality",
    "compute",
    "load_config",
    "match_graph_scores",
    "projection",
    "rank",
    "read_evidence",
]
