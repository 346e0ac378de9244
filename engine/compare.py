"""Comparison pages: two artifacts side by side, as one JSON-ready dict; the front ends render
it with one template per format (api/templates/compare.html, compare.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unfragile.engine.catalog import ArtifactPage, Catalog
from unfragile.engine.errors import NotRanked, SameArtifact, UnknownArtifact
from unfragile.engine.figures import (
    adoption_basis,
    benchmark_label,
    evidence_note,
    quality_basis,
    signals_text,
)
from unfragile.engine.pages import short_name
from unfragile.engine.verdict import LABELS, SUBSCORES, decide, shown
from unfragile.graph.connection import Graph

CAPABILITIES_SHOWN = 3


@dataclass(frozen=True)
class Comparison:
    """A comparison as the browser's page shows it: the page every format renders, and per
    side ("a", "b") its short display name and every capability in order; and who else the
    same searches led to (each with its display_name), most shared searches first."""

    page: dict[str, Any]
    short: dict[str, str]
    capabilities: dict[str, list[dict[str, Any]]]
    also: list[dict[str, Any]]


def _known(row: ArtifactPage | None, artifact_id: str) -> ArtifactPage:
    if row is None:
        raise UnknownArtifact("artifact", f"no artifact has the id {artifact_id!r}")
    return row


def _side(row: ArtifactPage) -> dict[str, Any]:
    artifact_id = row.id
    p = row.props
    if p.get("unfragile_rank") is None:
        raise NotRanked(
            "artifact", f"{artifact_id!r} is not ranked yet: run `unfragile rank` first"
        )
    caps = row.capabilities
    return {
        **row.figures(),
        "adoption_basis": adoption_basis(p),
        "quality_basis": quality_basis(p),
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
        "evidence": row.evidence,
        "evidence_note": evidence_note(row.evidence),
        "capabilities_count": len(caps),
        "alternatives": row.alternatives,
        "_capabilities": caps,
    }


def build_page(
    graph: Graph, a_text: str, b_text: str, shown_caps: int = CAPABILITIES_SHOWN
) -> dict[str, Any]:
    """Everything the page says, as fields; md and html render from this alone."""
    catalog = Catalog(graph)
    a_id, b_id = catalog.resolve_all([(a_text, "A"), (b_text, "B")])
    return compare_ids(catalog, a_id, b_id, shown_caps).page


def compare_ids(
    catalog: Catalog, a_id: str, b_id: str, shown_caps: int = CAPABILITIES_SHOWN, also: int = 0
) -> Comparison:
    """The comparison of two resolved ids, from one read of the graph (both sides, the
    catalog's date and, when `also` > 0, that many co-matched artifacts)."""
    if a_id == b_id:
        raise SameArtifact("B", f"both names are {a_id!r}: compare two different artifacts")
    pair = catalog.pair([a_id, b_id], also)
    # In the order the checks always ran: A unknown, A not ranked, then B's.
    rows = {"a": _known(pair.pages.get(a_id), a_id)}
    a = _side(rows["a"])
    rows["b"] = _known(pair.pages.get(b_id), b_id)
    b = _side(rows["b"])
    # Quality numbers from different sources (a checklist and benchmarks, or two benchmark
    # sets) are not measured on the same things: the verdict does not weigh one against the
    # other (the table shows both, and a note says why).
    apart = {"quality": None} if a["quality_basis"] != b["quality_basis"] else {}
    v = decide(
        a["name"],
        {"unfragile_rank": a["unfragile_rank"], **a["scores"], **apart},
        b["name"],
        {"unfragile_rank": b["unfragile_rank"], **b["scores"], **apart},
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
        fa, fb = (_score(side, s) for side in (a, b))
        table.append(row(LABELS[s].capitalize(), fa, fb))
        if s == "adoption":
            table.append(
                row(
                    "Popularity figures",
                    *(
                        signals_text(x["signals"], x["signals_illustrative"], x["signals_as_of"])
                        for x in (a, b)
                    ),
                )
            )
    common = [n for n in a["benchmarks"] if n in b["benchmarks"]]
    for name in common:
        table.append(
            row(f"Benchmark {benchmark_label(name)}", a["benchmarks"][name], b["benchmarks"][name])
        )
    if not common and (a["benchmarks"] or b["benchmarks"]):
        table.append(row("Benchmarks in common", *(_unshared(x) for x in (a, b))))
    table += [
        row("Pricing", a["pricing"], b["pricing"]),
        row(
            "Capabilities",
            f"{a['capabilities_count']} decomposed",
            f"{b['capabilities_count']} decomposed",
        ),
        row("Times matched", *(_matched(x) for x in (a, b))),
    ]
    page = {
        "title": f"{a['name']} vs {b['name']}",
        "a": a,
        "b": b,
        "verdict": v.as_dict(),
        "table": table,
        "benchmarks": {
            "common": common,
            "only_a": [n for n in a["benchmarks"] if n not in common],
            "only_b": [n for n in b["benchmarks"] if n not in common],
        },
        "notes": _notes(a, b, common),
        "catalog_as_of": pair.as_of,
        "capabilities": capabilities,
        "something_different": {
            "text": "Search for artifacts that do what either of these does:",
            "commands": [
                f"unfragile search --alternatives-to {a['id']}",
                f"unfragile search --alternatives-to {b['id']}",
            ],
        },
    }
    for other in pair.also:
        other["display_name"] = short_name(other)
    return Comparison(
        page,
        {key: short_name(side.props) for key, side in rows.items()},
        {key: side.capabilities for key, side in rows.items()},
        pair.also,
    )


def _score(side: dict[str, Any], name: str) -> str:
    value = side["scores"][name]
    if value is None:
        return "unknown (no figures)" if name == "adoption" else "unknown"
    if name == "quality":
        return f"{shown(value)} ({side['quality_basis'] or side['quality_source']})"
    return str(shown(value))


def _matched(side: dict[str, Any]) -> str:
    note = side["evidence_note"]
    return f"{side['times_matched']} ({note})" if note else str(side["times_matched"])


def _unshared(side: dict[str, Any]) -> str:
    names = [benchmark_label(n) for n in side["benchmarks"]]
    return f"none (reports {', '.join(names)})" if names else "none (reports none)"


def _notes(a: dict[str, Any], b: dict[str, Any], common: list[str]) -> list[str]:
    """What a reader must know to read the table: the page says it in words."""
    notes = []
    illustrative = [x["name"] for x in (a, b) if x["signals_illustrative"]]
    if illustrative:
        whose = " and ".join(illustrative)
        notes.append(
            f"The popularity figures of {whose} are illustrative (not measured); adoption "
            "is computed from them all the same."
        )
    sources = (a["quality_basis"], b["quality_basis"])
    if sources[0] != sources[1]:
        notes.append(
            f"Quality comes from different sources ({sources[0]} vs {sources[1]}): the two "
            "numbers are not measured on the same things, so the verdict does not compare them."
        )
    if a["benchmarks"] and b["benchmarks"] and not common:
        notes.append("They report no benchmark in common, so none is contrasted here.")
    elif common:
        listed = ", ".join(benchmark_label(n) for n in common)
        notes.append(f"Benchmarks are contrasted only where both report them: {listed}.")
    return notes
