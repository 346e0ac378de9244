"""Rank history: every `unfragile rank` appends a dated snapshot of each artifact's scores.

The snapshots live on the Artifact node itself (`rank_history`, a list of compact JSON
strings, the last KEEP of them): an artifact page reads its history in the same round trip
as the record, the size is bounded per artifact (KEEP × ~120 bytes), and the history goes
with the artifact through backups and `db` commands; a file under the home would have to be
read whole (every artifact's history) to draw one page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from unfragile.graph import pages as reads
from unfragile.graph.connection import Graph

KEEP = 30
FIELDS = ("rank", "low", "high", "adoption", "quality", "ecosystem", "match_graph", "freshness")


def snapshot(graph: Graph, at: datetime | None = None, keep: int = KEEP) -> int:
    """Append the current scores of every ranked artifact, dated `at` (now, UTC); returns
    how many artifacts got a snapshot."""
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    for r in reads.ranked_scores(graph):
        entry: dict[str, Any] = {"at": when}
        for name in FIELDS:
            value = r.get(name)
            if value is not None:
                entry[name] = round(float(value), 2) if isinstance(value, float) else value
        rows.append({"id": r["id"], "entry": json.dumps(entry, separators=(",", ":"))})
    reads.append_history(graph, rows, keep)
    return len(rows)


def history(graph: Graph, artifact_id: str) -> list[dict[str, Any]] | None:
    """The artifact's snapshots, oldest first ({at, rank, low, high, sub-scores}); None for
    an unknown id."""
    stored = reads.history(graph, artifact_id)
    return None if stored is None else parse(stored)


def parse(stored: list[str] | None) -> list[dict[str, Any]]:
    """Snapshots from the stored `rank_history` property (an artifact page has it already)."""
    out = []
    for text in stored or []:
        try:
            out.append(json.loads(text))
        except ValueError:
            continue  # a damaged entry is left out, not fatal to the page
    return out
