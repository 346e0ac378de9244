"""What the web pages show beyond a record: card badges, boards, the home page, co-matching.

Front ends read these through `Pages` (engine → graph/pages.py), never the graph itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from unfragile.engine.figures import quality_basis
from unfragile.engine.records import KINDS
from unfragile.graph import pages as reads
from unfragile.graph.connection import Graph

SHORT_NAME_CHARS = 24  # a display name longer than this is cut at a word
SORTS = tuple(reads.SORTS)
DIRECTIONS = ("asc", "desc")
HOME_BEST = 3
COMPARED_TOP = 5


def short_name(props: dict[str, Any]) -> str:
    """The name pages repeat: the record's short_name, else its name without a bracketed
    tail ('Llama 4 Scout (17B active, 16 experts)' → 'Llama 4 Scout'), cut at a word."""
    given = (props.get("short_name") or "").strip()
    if given:
        return given
    name = (props.get("name") or props.get("id") or "").strip()
    bare = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip() or name
    if len(bare) <= SHORT_NAME_CHARS:
        return bare
    cut = bare[:SHORT_NAME_CHARS].rsplit(" ", 1)[0].rstrip(" -–:,")
    return (cut or bare[:SHORT_NAME_CHARS]) + "…"


@dataclass(frozen=True)
class Board:
    """One page of a filtered leaderboard: its rows, how many pass the filters (`total`)
    and how many artifacts are ranked in all (`ranked`)."""

    rows: list[dict[str, Any]]
    total: int
    ranked: int
    offset: int


class Pages:
    """Reads over one graph connection, shaped for the pages."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def card_facts(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Per artifact id: pricing, license, open_weights, UnfragileRank (with interval),
        task and its short display name."""
        facts = reads.card_facts(self.graph, ids)
        for row in facts.values():
            row["display_name"] = short_name(row)
        return facts

    def compare_extras(
        self, ids: list[str], top: int = COMPARED_TOP
    ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """Per id its short display name and every capability in order; and the artifacts
        the same past searches led to (co-matching), most shared searches first."""
        sides, also = reads.compare_extras(self.graph, ids, top)
        for row in [*sides.values(), *also]:
            row["display_name"] = short_name(row)
        return sides, also

    def board(
        self,
        kind: str | None = None,
        task: str | None = None,
        pricing: str | None = None,
        open_weights: bool | None = None,
        sort: str = "rank",
        direction: str = "desc",
        offset: int = 0,
        limit: int = 50,
    ) -> Board:
        """Ranked artifacts that pass the filters, sorted by one of SORTS, one page of them."""
        if sort not in SORTS or direction not in DIRECTIONS:
            raise ValueError(f"sort {sort!r} {direction!r}: use one of {SORTS}, asc or desc")
        filters = {"kind": kind, "task": task, "pricing": pricing, "open_weights": open_weights}
        rows, total = reads.board(self.graph, filters, sort, direction, offset, limit)
        for r in rows:
            r["display_name"] = short_name(r)
            r["quality_basis"] = quality_basis(r)
        ranked = total if not any(v is not None for v in filters.values()) else None
        if ranked is None:
            ranked = reads.board(self.graph, dict.fromkeys(filters), "rank", "desc", 0, 0)[1]
        return Board(rows, total, ranked, offset)

    def tasks(self) -> list[dict[str, Any]]:
        """The tasks of ranked artifacts with how many each: the boards per task."""
        return reads.tasks(self.graph)

    def best_of_kinds(self, per: int = HOME_BEST) -> list[dict[str, Any]]:
        """The best `per` ranked artifacts of each kind, kinds in their usual order."""
        found = reads.best_of_kinds(self.graph, per)
        out = []
        for kind in KINDS:
            best = found.get(kind) or []
            for b in best:
                b["display_name"] = short_name(b)
            if best:
                out.append({"kind": kind, "best": best})
        return out

    def image_file(self, image_id: str) -> dict[str, Any] | None:
        return reads.image_file(self.graph, image_id)
