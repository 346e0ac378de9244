"""The one reader the front ends use for pages and listings: an artifact's page, the leaderboard,
resolving a name, alternatives, existence and counts; no front end reads the graph itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from unfragile.engine.aggregate import sources
from unfragile.engine.errors import AmbiguousName, MissingName, UnknownArtifact
from unfragile.engine.figures import quality_basis
from unfragile.engine.names import Names
from unfragile.graph import pages, projection, retrieval, store
from unfragile.graph.connection import Graph

if TYPE_CHECKING:  # engine/compare.py imports this module
    from unfragile.engine.compare import Comparison

CANDIDATES_LISTED = 10  # names listed in an "ambiguous" message


@dataclass(frozen=True)
class ArtifactPage:
    """An artifact as its pages show it: the stored properties (record and scores), its
    capabilities in order, and its first ALTERNATIVE_TO edges in their stored order (at most
    five)."""

    id: str
    props: dict[str, Any]
    capabilities: list[dict[str, Any]]
    alternatives: list[dict[str, Any]]
    # The sessions behind its evidence, and how many of them are sample events.
    evidence: dict[str, int] = field(default_factory=lambda: {"sessions": 0, "sample_sessions": 0})

    @property
    def name(self) -> str:
        return self.props.get("name") or self.id

    @property
    def signals(self) -> dict[str, Any]:
        """The popularity figures as recorded (downloads, likes, api_calls, ...)."""
        names = self.props.get("signal_names") or []
        return {n: self.props.get(f"signal_{n}") for n in names if n != "illustrative"}

    @property
    def signals_illustrative(self) -> bool:
        """True when the record marks its figures as illustrative (not measured)."""
        return bool(self.props.get("signals_illustrative"))

    @property
    def signals_as_of(self) -> str | None:
        """The day the figures were read, when the record says."""
        return self.props.get("signals_as_of")

    @property
    def benchmarks(self) -> dict[str, Any]:
        names = self.props.get("benchmark_names") or []
        return {n: self.props.get(f"benchmark_{n}") for n in names}

    def figures(self) -> dict[str, Any]:
        """What every front end shows of the figures, with their labels (never one without
        the other): signals, whether they are illustrative, their day, and benchmarks."""
        return {
            "signals": self.signals,
            "signals_illustrative": self.signals_illustrative,
            "signals_as_of": self.signals_as_of,
            "benchmarks": self.benchmarks,
        }


@dataclass(frozen=True)
class Pair:
    """What a comparison shows of the catalog, read at once: each side's page (by id; an
    unknown id is absent), the catalog's newest day, and who else the same searches led to."""

    pages: dict[str, ArtifactPage]
    as_of: str | None
    also: list[dict[str, Any]]


@dataclass(frozen=True)
class Leaderboard:
    """The best-ranked artifacts (optionally of one kind) and how many are ranked at all."""

    rows: list[dict[str, Any]]
    ranked: int


class Catalog:
    """Reads over one graph connection, shaped for the front ends."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def artifact(self, artifact_id: str) -> ArtifactPage | None:
        """The artifact's page, or None when no artifact has this id."""
        row = projection.artifact_page(self.graph, artifact_id)
        return None if row is None else self._page(artifact_id, row)

    def _page(self, artifact_id: str, row: dict[str, Any]) -> ArtifactPage:
        return ArtifactPage(
            artifact_id,
            row["props"],
            row["capabilities"],
            row["alternatives"],
            self._evidence(artifact_id, row["props"]),
        )

    def _evidence(self, artifact_id: str, props: dict[str, Any]) -> dict[str, int]:
        """The sessions behind the artifact's evidence and how many are samples: counted when
        the event log was aggregated and kept on the artifact (engine/aggregate.py); counted
        from the log now for an artifact from a graph older than those counts."""
        if props.get("evidence_sessions") is not None:
            return {
                "sessions": int(props["evidence_sessions"]),
                "sample_sessions": int(props.get("evidence_sample_sessions") or 0),
            }
        return sources(
            self.graph, [artifact_id, *retrieval.capabilities_of(self.graph, artifact_id)]
        )

    def exists(self, artifact_id: str) -> bool:
        return bool(retrieval.artifacts(self.graph, [artifact_id]))

    def leaderboard(self, kind: str | None, top: int) -> Leaderboard:
        rows = projection.leaderboard(self.graph, kind, top)
        for r in rows:
            r["quality_basis"] = quality_basis(r)
        return Leaderboard(rows, projection.ranked_count(self.graph))

    def candidates(
        self, text: str, exact: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Artifacts a person's text names: exact id or name first, else loose matches.
        `exact`: that text's row of `exact_matches`, when read already."""
        return projection.resolve(self.graph, text, exact)

    def exact_matches(self, texts: list[str]) -> list[list[dict[str, Any]] | None]:
        """Each text's exact id or name matches, all in one read, for `resolve`. Nothing is
        read when a text is blank (all None): that is bad input, said before the graph is
        asked, so it stays a 400 with Neo4j down."""
        if not all(t.strip() for t in texts):
            return [None for _ in texts]
        return list(projection.resolve_exact(self.graph, texts))

    def resolve_all(self, named: list[tuple[str, str]]) -> list[str]:
        """`resolve` of each (text, field name), in order (the first one's error first), with
        the exact lookups in one read."""
        exact = self.exact_matches([text for text, _ in named])
        return [self.resolve(text, f, found) for (text, f), found in zip(named, exact, strict=True)]

    def resolve(
        self,
        text: str,
        field_name: str = "artifact",
        exact: list[dict[str, Any]] | None = None,
    ) -> str:
        """The id of the one artifact `text` names: an exact id or name (any case), else the
        best fuzzy match of engine/names.py ("FLUX.1 Pro", "flux pro", "gpt4o"); an unknown
        name gets "did you mean" suggestions, an ambiguous one the candidates. `exact`: the
        text's row of `exact_matches`, when read already."""
        if not text.strip():
            raise MissingName(field_name, f"{field_name}: give an artifact id or name")
        rows = self.candidates(text, exact)
        candidates = [r for r in rows if r.get("exact", True)]
        if not candidates:
            names = Names(retrieval.artifact_rows(self.graph))
            found = names.resolve(text)
            top = found[0][1] if found else 0.0
            best = [a for a, score in found if score >= top - 1e-9]
            candidates = [{"id": a, "name": names.rows[a]["name"]} for a in best] or rows
            if not candidates:
                guesses = names.suggest(text)
                hint = (
                    "did you mean " + " or ".join(f"{a} ({n})" for a, n in guesses) + "? "
                    if guesses
                    else ""
                )
                raise UnknownArtifact(
                    field_name,
                    f"no artifact has the id or name {text!r}; {hint}"
                    "list them with `unfragile leaderboard`",
                )
        if len(candidates) == 1:
            return candidates[0]["id"]
        listed = "; ".join(f"{r['id']} ({r['name']})" for r in candidates[:CANDIDATES_LISTED])
        more = (
            f"; and {len(candidates) - CANDIDATES_LISTED} more"
            if len(candidates) > CANDIDATES_LISTED
            else ""
        )
        raise AmbiguousName(
            field_name, f"{text!r} is ambiguous: it could be {listed}{more}. Use the id."
        )

    def alternatives(
        self, artifact_id: str, top: int = projection.PAGE_ALTERNATIVES, kind: str | None = None
    ) -> list[dict[str, Any]] | None:
        """The artifact's alternatives as `unfragile rank` stored them (ALTERNATIVE_TO: what
        `search --alternatives-to` answered then), in their order, at most `top`, of `kind`
        only when given; None for an unknown id."""
        return projection.alternatives(self.graph, artifact_id, top, kind)

    def compare(self, a_text: str, b_text: str) -> dict[str, Any]:
        """The comparison page's data (engine/compare.py): every format renders from it."""
        from unfragile.engine.compare import build_page

        return build_page(self.graph, a_text, b_text)

    def comparison(self, a_id: str, b_id: str, also: int = 0) -> Comparison:
        """The comparison of two resolved ids with what the browser's page adds: short
        names, every capability and (`also` > 0) who else the same searches led to; one
        read (engine/compare.py)."""
        from unfragile.engine.compare import compare_ids

        return compare_ids(self, a_id, b_id, also=also)

    def pair(self, ids: list[str], also: int = 0) -> Pair:
        """Both sides of a comparison, the catalog's newest day and (`also` > 0) who else
        the same searches led to: one read instead of one per side and one for the date."""
        found = pages.compare_pair(self.graph, ids, also)
        return Pair(
            {a: self._page(a, row) for a, row in found["pages"].items()},
            found["as_of"],
            found["also"],
        )

    def as_of(self) -> str | None:
        """'Catalog as of': the newest released, updated or signals_as_of day among the
        artifacts — the data's own newest date, not the day it was loaded (loading an old
        file today would claim a freshness it does not have); None for an empty catalog."""
        return projection.catalog_as_of(self.graph)

    def counts(self) -> dict[str, int]:
        """Artifacts, capabilities, queries, match edges and images."""
        return store.stats(self.graph)
