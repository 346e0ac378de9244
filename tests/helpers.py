"""Small builders of catalog and event records shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from unfragile.graph.connection import Graph


def artifact(artifact_id: str, n_caps: int = 3, **extra: Any) -> dict[str, Any]:
    record = {
        "id": artifact_id,
        "name": artifact_id.replace("-", " ").title(),
        "kind": "model",
        "provider": "Example Labs",
        "pricing": "free",
        "license": "apache-2.0",
        "open_weights": True,
        "modalities": ["text"],
        "released": "2024-01-15",
        "signals": {"downloads": 1000, "illustrative": True},
        "frameworks": ["pytorch"],
        "categories": ["testing"],
        "capabilities": [
            {
                "title": f"Ability {i}",
                "text": f"{artifact_id} can do thing number {i}.",
                "unique": "Only here.",
                "vs_alternatives": "Better than most.",
            }
            for i in range(n_caps)
        ],
    }
    record.update(extra)
    return record


def event(
    query: str,
    artifact_id: str,
    session: str,
    kind: str = "match",
    time: str = "2026-10-01T12:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    record = {
        "query": query,
        "artifact": artifact_id,
        "session": session,
        "event": kind,
        "time": time,
    }
    record.update(extra)
    return record


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def snapshot(graph: Graph) -> dict[str, Any]:
    """Everything ingest writes, as plain sorted data, to compare two graphs exactly."""
    return {
        "nodes": graph.read(
            "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props "
            "ORDER BY labels, coalesce(n.id, n.key, n.name)"
        ),
        "edges": graph.read(
            "MATCH (a)-[r]->(b) RETURN type(r) AS type, coalesce(a.id, a.key, a.name) AS a, "
            "coalesce(b.id, b.key, b.name) AS b, properties(r) AS props "
            "ORDER BY type, a, b"
        ),
    }


def match_edge(graph: Graph, query: str, target: str) -> dict[str, Any]:
    rows = graph.read(
        "MATCH (q:Query {id: $q})-[m:MATCHED]->(t {id: $t}) RETURN properties(m) AS m",
        q=query,
        t=target,
    )
    assert len(rows) == 1, rows
    return rows[0]["m"]
