"""Server-drawn SVG pictures for the pages (no script): sub-score bars, rank sparklines and
the match-graph neighbourhood. Every text is escaped; colours come from attributes, since the
page policy allows no inline <style>."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from unfragile.engine.neighbourhood import Picture
from unfragile.engine.verdict import LABELS, SUBSCORES, shown

COLOURS = ("#2952cc", "#d9822b")  # first series, second series
TRACK, INK, MUTED = "#e6e9ef", "#1d2230", "#5b6475"
NODE_FILL = {
    "artifact": "#2952cc",
    "capability": "#e8eefc",
    "search": "#f5f7fa",
    "alternative": "#fff4e5",
}
NODE_INK = {"artifact": "#ffffff"}
LABEL_W, BAR_W, ROW_H, BAR_H = 118, 300, 8, 16


def _svg(width: float, height: float, body: list[str], label: str, cls: str) -> Markup:
    return Markup(
        f'<svg class="{cls}" viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMinYMin meet">' + "".join(body) + "</svg>"
    )


def score_bars(series: list[tuple[str, dict[str, Any]]], label: str) -> Markup:
    """Horizontal bars, one group per sub-score, one bar per series (name, scores), each
    with its shown value written at its end; an unknown score says so instead of a bar."""
    body: list[str] = []
    y = 4.0
    legend = len(series) > 1
    if legend:
        x = LABEL_W
        for i, (name, _) in enumerate(series):
            body.append(
                f'<rect x="{x}" y="{y}" width="12" height="12" rx="2" fill="{COLOURS[i]}"/>'
                f'<text x="{x + 16}" y="{y + 10.5}" font-size="12" fill="{INK}">'
                f"{escape(name)}</text>"
            )
            x += 24 + 7 * len(name)
        y += 22
    for s in SUBSCORES:
        top = y
        for i, (name, scores) in enumerate(series):
            value = scores.get(s)
            by = y + i * (BAR_H + 3)
            body.append(
                f'<rect x="{LABEL_W}" y="{by}" width="{BAR_W}" height="{BAR_H}" rx="3" '
                f'fill="{TRACK}"/>'
            )
            if value is None:
                body.append(
                    f'<text class="bar-value" x="{LABEL_W + 6}" y="{by + 12}" font-size="12" '
                    f'fill="{MUTED}">unknown</text>'
                )
                continue
            v = max(0, min(100, shown(value)))
            w = BAR_W * v / 100
            body.append(
                f'<g class="bar" data-series="{escape(name)}" data-score="{s}" data-value="{v}">'
                f"<title>{escape(name)}: {LABELS[s]} {v} of 100</title>"
                f'<rect x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{BAR_H}" rx="3" '
                f'fill="{COLOURS[i % 2]}"/>'
                f'<text class="bar-value" x="{LABEL_W + w + 5:.1f}" y="{by + 12}" '
                f'font-size="12" font-weight="600" fill="{INK}">{v}</text></g>'
            )
        rows = len(series)
        mid = top + (rows * (BAR_H + 3) - 3) / 2 + 4
        body.append(
            f'<text x="0" y="{mid:.1f}" font-size="13" fill="{MUTED}">'
            f"{LABELS[s].capitalize()}</text>"
        )
        y += rows * (BAR_H + 3) + ROW_H
    return _svg(LABEL_W + BAR_W + 36, y, body, label, "chart score-chart")


def sparkline(points: list[dict[str, Any]], label: str) -> Markup:
    """UnfragileRank over the snapshots, oldest to newest, its interval as a band, the
    first and last values written."""
    width, height, pad = 320.0, 64.0, 6.0
    ranks = [p for p in points if p.get("rank") is not None]
    if not ranks:
        return Markup("")
    n = len(ranks)

    def x(i: int) -> float:
        return pad + (width - 2 * pad - 40) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * max(0.0, min(100.0, float(v))) / 100

    band_top = [f"{x(i):.1f},{y(p.get('high', p['rank'])):.1f}" for i, p in enumerate(ranks)]
    band_low = [f"{x(i):.1f},{y(p.get('low', p['rank'])):.1f}" for i, p in enumerate(ranks)]
    line = [f"{x(i):.1f},{y(p['rank']):.1f}" for i, p in enumerate(ranks)]
    body = [
        f'<rect x="0" y="0" width="{width - 40}" height="{height}" fill="#ffffff"/>',
        f'<polygon points="{" ".join(band_top + band_low[::-1])}" fill="#e8eefc"/>',
        f'<polyline points="{" ".join(line)}" fill="none" stroke="{COLOURS[0]}" stroke-width="2"/>',
    ]
    for i, p in enumerate(ranks):
        body.append(
            f'<circle class="point" cx="{x(i):.1f}" cy="{y(p["rank"]):.1f}" r="2.5" '
            f'fill="{COLOURS[0]}"><title>{escape(p.get("at", ""))}: {p["rank"]}</title></circle>'
        )
    last = ranks[-1]
    body.append(
        f'<text class="last-value" x="{x(n - 1) + 6:.1f}" y="{y(last["rank"]) + 4:.1f}" '
        f'font-size="12" font-weight="600" fill="{INK}">{last["rank"]}</text>'
    )
    return _svg(width, height, body, label, "chart sparkline")


def neighbourhood(picture: Picture, label: str) -> Markup:
    """The match-graph picture: edges first, then each node as a labelled box (alternatives
    link to their pages)."""
    body: list[str] = []
    box_h, char_w = 26.0, 6.6
    for e in picture.edges:
        a, b = picture.nodes[e["from"]], picture.nodes[e["to"]]
        dash = ' stroke-dasharray="5 4"' if e["kind"] == "alternative" else ""
        width = 1 + 2.5 * float(e.get("confidence") or 0) if e["kind"] == "matched" else 1.2
        body.append(
            f'<line class="edge edge-{e["kind"]}" x1="{a["x"]}" y1="{a["y"]}" x2="{b["x"]}" '
            f'y2="{b["y"]}" stroke="#9aa3b2" stroke-width="{width:.1f}"{dash}/>'
        )
    for n in picture.nodes:
        w = min(210.0, 16 + char_w * len(n["label"]))
        fill, ink = NODE_FILL[n["kind"]], NODE_INK.get(n["kind"], INK)
        node = (
            f'<g class="node node-{n["kind"]}" data-kind="{n["kind"]}">'
            f"<title>{escape(n['title'])}</title>"
            f'<rect x="{n["x"] - w / 2:.1f}" y="{n["y"] - box_h / 2:.1f}" width="{w:.1f}" '
            f'height="{box_h}" rx="6" fill="{fill}" stroke="#9aa3b2"/>'
            f'<text x="{n["x"]}" y="{n["y"] + 4:.1f}" font-size="11.5" text-anchor="middle" '
            f'fill="{ink}">{escape(n["label"])}</text></g>'
        )
        if n.get("href"):
            node = f'<a href="/artifact/{escape(quote(n["href"], safe=""))}">{node}</a>'
        body.append(node)
    return _svg(picture.width, picture.height, body, label, "graph-picture")


def json_ld(data: dict[str, Any]) -> Markup:
    """schema.org data for a <script type="application/ld+json"> block: no '<' survives, so
    no text can close the block."""
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))
