"""Comparison pages: two artifacts side by side, as one JSON-ready dict; the front ends render
it with one template per format (api/templates/compare.html, compare.md)."""

from __future__ import annotations

from typing import Any

from unfragile.engine.catalog import Catalog
from unfragile.engine.errors import NotRanked, SameArtifact, UnknownArtifact
from unfragile.engine.verdict import LABELS, SUBSCORES, decide, shown
from unfragile.graph.connection import Graph

CAPABILITIES_SHOWN = 3


def _side(catalog: Catalog, artifact_id: str) -> dict[str, Any]:
    row = catalog.artifact(artifact_id)
    if row is None:
        raise UnknownArtifact("artifact", f"no artifact has the id {artifact_id!r}")
    p = row.props
    if p.get("unfragile_rank") is None:
        raise NotRanked(
            "artifact", f"{artifact_id!r} is not ranked yet: run `unfragile rank` first"
        )
    caps = row.capabilities
    return {
        "id": artifact_id,
        "name": p.get("name") or artifact_id,
        "kind": p.get("kind"),
        "pricing": p.get("pricing") or "unknown",
        "provider": p.get("provider"),
        "unfragile_rank": p["unfragile_rank"],
        "rank_low": p.get("rank_low"),
        "rank_high": p.get("rank_high"),
        "scores": {s: p.get(s) for s in SUBSCORES},
        "quality_source": p.get("quality_source"),
        "times_matched": p.get("times_matched") or 0,
        "capabilities_count": len(caps),
        "alternatives": row.alternatives,
        "_capabilities": caps,
    }


def build_page(
    graph: Graph, a_text: str, b_text: str, shown_caps: int = CAPABILITIES_SHOWN
) -> dict[str, Any]:
    """Everything the page says, as fields; md and html render from this alone."""
    catalog = Catalog(graph)
    a_id, b_id = catalog.resolve(a_text, "A"), catalog.resolve(b_text, "B")
    if a_id == b_id:
        raise SameArtifact("B", f"both names are {a_id!r}: compare two different artifacts")
    a, b = _side(catalog, a_id), _side(catalog, b_id)
    v = decide(
        a["name"],
        {"unfragile_rank": a["unfragile_rank"], **a["scores"]},
        b["name"],
        {"unfragile_rank": b["unfragile_rank"], **b["scores"]},
    )
    capabilities = {}
    for key, side in (("a", a), ("b", b)):
        caps = side.pop("_capabilities")
        capabilities[key] = {
            "artifact": side["id"],
            "name": side["name"],
            "total": len(caps),
            "shown": [
                {
                    "title": c.get("title"),
                    "text": c.get("text"),
                    "unique": c.get("unique"),
                    "vs_alternatives": c.get("vs_alternatives"),
                }
                for c in caps[:shown_caps]
            ],
            "more": max(0, len(caps) - shown_caps),
        }

    def row(label: str, fa: Any, fb: Any) -> dict[str, Any]:
        return {"label": label, "a": fa, "b": fb}

    table = [
        row("Type", a["kind"], b["kind"]),
        row(
            "UnfragileRank",
            f"{shown(a['unfragile_rank'])}/100 [{a['rank_low']}–{a['rank_high']}]",
            f"{shown(b['unfragile_rank'])}/100 [{b['rank_low']}–{b['rank_high']}]",
        ),
    ]
    for s in SUBSCORES:
        fa, fb = shown(a["scores"][s]), shown(b["scores"][s])
        if s == "quality":
            fa, fb = f"{fa} ({a['quality_source']})", f"{fb} ({b['quality_source']})"
        table.append(row(LABELS[s].capitalize(), fa, fb))
    table += [
        row("Pricing", a["pricing"], b["pricing"]),
        row(
            "Capabilities",
            f"{a['capabilities_count']} decomposed",
            f"{b['capabilities_count']} decomposed",
        ),
        row("Times matched", a["times_matched"], b["times_matched"]),
    ]
    return {
        "title": f"{a['name']} vs {b['name']}",
        "a": a,
        "b": b,
        "verdict": v.as_dict(),
        "table": table,
        "capabilities": capabilities,
        "something_different": {
            "text": "Search for artifacts that do what either of these does:",
            "commands": [
                f"unfragile search --alternatives-to {a['id']}",
                f"unfragile search --alternatives-to {b['id']}",
            ],
        },
    }
