"""Comparison pages: two artifacts side by side, as one JSON-ready dict rendered to md or html."""

from __future__ import annotations

import html
from typing import Any

from unfragile.engine.errors import (
    AmbiguousName,
    MissingName,
    NotRanked,
    SameArtifact,
    UnknownArtifact,
)
from unfragile.engine.verdict import LABELS, SUBSCORES, decide, shown
from unfragile.graph import projection
from unfragile.graph.connection import Graph

CAPABILITIES_SHOWN = 3
FORMATS = ("md", "json", "html")


def resolve(graph: Graph, text: str, field_name: str = "artifact") -> str:
    """The id of the one artifact `text` names (id or name, case-insensitive)."""
    if not text.strip():
        raise MissingName(field_name, f"{field_name}: give an artifact id or name")
    rows = projection.resolve(graph, text)
    exact = [r for r in rows if r.get("exact", True)]
    candidates = exact or rows
    if len(candidates) == 1:
        return candidates[0]["id"]
    if not candidates:
        raise UnknownArtifact(
            field_name,
            f"no artifact has the id or name {text!r}; list them with `unfragile leaderboard`",
        )
    listed = "; ".join(f"{r['id']} ({r['name']})" for r in candidates[:10])
    more = f"; and {len(candidates) - 10} more" if len(candidates) > 10 else ""
    raise AmbiguousName(
        field_name, f"{text!r} is ambiguous: it could be {listed}{more}. Use the id."
    )


def _side(graph: Graph, artifact_id: str) -> dict[str, Any]:
    row = projection.artifact_page(graph, artifact_id)
    if row is None:
        raise UnknownArtifact("artifact", f"no artifact has the id {artifact_id!r}")
    p = row["props"]
    if p.get("unfragile_rank") is None:
        raise NotRanked(
            "artifact", f"{artifact_id!r} is not ranked yet: run `unfragile rank` first"
        )
    caps = row["capabilities"]
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
        "alternatives": row["alternatives"],
        "_capabilities": caps,
    }


def build_page(
    graph: Graph, a_text: str, b_text: str, shown_caps: int = CAPABILITIES_SHOWN
) -> dict[str, Any]:
    """Everything the page says, as fields; md and html render from this alone."""
    a_id, b_id = resolve(graph, a_text, "A"), resolve(graph, b_text, "B")
    if a_id == b_id:
        raise SameArtifact("B", f"both names are {a_id!r}: compare two different artifacts")
    a, b = _side(graph, a_id), _side(graph, b_id)
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


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_md(page: dict[str, Any]) -> str:
    out = [
        f"# {page['title']}",
        "",
        page["verdict"]["sentence"],
        "",
        f"| | {_md_cell(page['a']['name'])} | {_md_cell(page['b']['name'])} |",
        "|---|---|---|",
    ]
    out += [f"| {r['label']} | {_md_cell(r['a'])} | {_md_cell(r['b'])} |" for r in page["table"]]
    for key in ("a", "b"):
        caps = page["capabilities"][key]
        out += ["", f"## {caps['name']}: capabilities", ""]
        for c in caps["shown"]:
            out.append(f"- **{_md_cell(c['title'])}** — {_md_cell(c['text'])}")
            if c.get("unique"):
                out.append(f"  - Unique: {_md_cell(c['unique'])}")
            if c.get("vs_alternatives"):
                out.append(f"  - Vs alternatives: {_md_cell(c['vs_alternatives'])}")
        if caps["more"]:
            out.append(f"- +{caps['more']} more capabilities")
    hint = page["something_different"]
    out += ["", "## Need something different?", "", hint["text"], ""]
    out += [f"    {c}" for c in hint["commands"]]
    return "\n".join(out) + "\n"


def render_html(page: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><th>{e(str(r['label']))}</th><td>{e(str(r['a']))}</td><td>{e(str(r['b']))}</td></tr>"
        for r in page["table"]
    )
    sections = []
    for key in ("a", "b"):
        caps = page["capabilities"][key]
        items = []
        for c in caps["shown"]:
            extra = ""
            if c.get("unique"):
                extra += f"<p><em>Unique:</em> {e(c['unique'])}</p>"
            if c.get("vs_alternatives"):
                extra += f"<p><em>Vs alternatives:</em> {e(c['vs_alternatives'])}</p>"
            items.append(
                f"<li><strong>{e(c['title'] or '')}</strong> — {e(c['text'] or '')}{extra}</li>"
            )
        if caps["more"]:
            items.append(f'<li class="more">+{caps["more"]} more capabilities</li>')
        sections.append(
            f"<section><h2>{e(caps['name'])}: capabilities</h2><ul>{''.join(items)}</ul></section>"
        )
    hint = page["something_different"]
    commands = "".join(f"<li><code>{e(c)}</code></li>" for c in hint["commands"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(page['title'])}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;"
        "text-align:left}.verdict{font-size:1.15rem}</style></head><body>"
        f"<h1>{e(page['title'])}</h1>"
        f'<p class="verdict">{e(page["verdict"]["sentence"])}</p>'
        f"<table><thead><tr><th></th><th>{e(page['a']['name'])}</th>"
        f"<th>{e(page['b']['name'])}</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{''.join(sections)}"
        f"<section><h2>Need something different?</h2><p>{e(hint['text'])}</p>"
        f"<ul>{commands}</ul></section></body></html>\n"
    )


def render(page: dict[str, Any], fmt: str) -> str:
    import json

    if fmt == "json":
        return json.dumps(page, ensure_ascii=False, indent=2)
    return render_html(page) if fmt == "html" else render_md(page)
