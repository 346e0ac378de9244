"""ALTERNATIVE_TO: each artifact's alternatives as search finds them (SearchEngine.alternatives).

There is one meaning of "alternatives" (README, "What alternatives means"): the artifacts that
do what X does, leaving out X and its family — exactly what `unfragile search --alternatives-to
X` and the query "alternative to <X's name>" answer. `unfragile rank` stores the top
`alternatives_top_n` of that answer as edges, so the pages, the API and the Cypher exploration
read the same list in the same order. It needs the capability index; without it (rank before
`unfragile index`) nothing is computed and the edges already in the graph are kept.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from unfragile.engine.errors import IndexMustBeRebuilt, NotIndexed, UnknownAlternative
from unfragile.engine.settings import Settings
from unfragile.graph.connection import Graph

# Each answer waits mostly on two small Neo4j reads: a few searches at a time overlap them
# (the engine is safe to share between threads). 67 artifacts: 5.0 s one at a time, 1.7 s
# with four, on the shared 2-CPU machine under load.
WORKERS = 4

Alternative = tuple[str, float, int]  # (artifact id, score, match 0–100)


@dataclass
class Found:
    """The alternatives found, best first, per artifact; `kept` lists the artifacts whose edges
    stay as they are (not in the capability index), `why` says why, when none was found."""

    lists: dict[str, list[Alternative]] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    why: str | None = None

    @property
    def source(self) -> str:
        """What the report line says about where the edges came from."""
        if self.why is not None:
            return f"none written: {self.why}; the existing edges are kept"
        text = "search: what each does, its family left out"
        if self.kept:
            text += f"; {len(self.kept)} not in the capability index kept their edges"
        return text


def find(settings: Settings | None, graph: Graph, ids: list[str], top_n: int) -> Found:
    """Each artifact's top `top_n` alternatives, with one search engine for all of them."""
    if settings is None:
        return Found(kept=list(ids), why="no settings, so no capability index to search")
    from unfragile.engine.search import SearchEngine  # loads FAISS: only when ranking needs it
    from unfragile.indexing.vectors import VectorStore

    again = "run `unfragile index`, then `unfragile rank`"
    # Checked before the engine is built: building it reads every artifact and capability
    # row and their BM25 tables (53 s of a 237 s rank at 10M events; BENCHMARKS.md).
    if VectorStore.recorded_dim(settings.index_dir, "capabilities") is None:
        return Found(kept=list(ids), why=f"no capability index yet; {again}")
    try:
        engine = SearchEngine(settings, graph)
    except IndexMustBeRebuilt as e:
        return Found(kept=list(ids), why=f"the capability index cannot be used ({e}); {again}")

    def one(artifact_id: str) -> list[Alternative] | None:
        try:
            results = engine.alternatives(artifact_id, top_n)
        except (NotIndexed, UnknownAlternative):  # added since the last `unfragile index`
            return None
        return [(r.artifact, r.score, r.match) for r in results]

    found = Found()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for artifact_id, alts in zip(ids, pool.map(one, ids), strict=True):
            if alts is None:
                found.kept.append(artifact_id)
            else:
                found.lists[artifact_id] = alts
    return found
