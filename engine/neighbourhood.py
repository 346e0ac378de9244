"""The match graph around one artifact, laid out for a picture: searches → capabilities →
the artifact → its nearest alternatives, one column each (networkx's multipartite layout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from unfragile.engine.pages import short_name
from unfragile.graph import pages as reads
from unfragile.graph.connection import Graph

CAPABILITIES, SEARCHES, ALTERNATIVES, IMAGES = 6, 8, 4, 6
LAYERS = {"search": 0, "capability": 1, "artifact": 2, "alternative": 3}
WIDTH, ROW, PAD = 960, 46, 20  # the picture's user units: width, height per row, margin
X_MARGIN = 110  # half the widest box: the outer columns' boxes stay inside
LABEL_CHARS = 30


def _label(text: str | None, fallback: str) -> str:
    text = " ".join((text or fallback).split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


@dataclass
class Picture:
    """Nodes with positions (x, y in user units), edges as node index pairs, and the size;
    and the artifact's sample images (generated first, with prompt and seed), read with it."""

    width: int
    height: int
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for n in self.nodes if n["kind"] == kind)


def neighbourhood(graph: Graph, artifact_id: str) -> Picture | None:
    """The artifact's neighbourhood as a Picture; None for an unknown id."""
    row = reads.neighbourhood(graph, artifact_id, CAPABILITIES, SEARCHES, ALTERNATIVES, IMAGES)
    if row is None:
        return None
    g = nx.Graph()
    info: dict[str, dict[str, Any]] = {}

    def add(key: str, kind: str, label: str, title: str, href: str | None = None) -> None:
        if key not in info:
            info[key] = {"key": key, "kind": kind, "label": label, "title": title, "href": href}
            g.add_node(key)

    me = f"a:{artifact_id}"
    add(me, "artifact", _label(short_name(row), artifact_id), row["name"] or artifact_id)
    for c in row["capabilities"]:
        add(f"c:{c['id']}", "capability", _label(c["title"], c["id"]), c["title"] or c["id"])
        g.add_edge(f"c:{c['id']}", me, kind="has")
    for s in row["searches"]:
        key = f"q:{s['query']}"
        add(key, "search", _label(f"“{s['text']}”", s["query"]), s["text"] or s["query"])
        target = f"c:{s['target']}" if f"c:{s['target']}" in info else me
        g.add_edge(key, target, kind="matched", confidence=s["confidence"] or 0.0)
    for b in row["alternatives"]:
        key = f"a:{b['id']}"
        add(key, "alternative", _label(short_name(b), b["id"]), b["name"] or b["id"], b["id"])
        g.add_edge(me, key, kind="alternative", match=b.get("match"))
    tallest = max(
        sum(1 for n in info.values() if LAYERS[n["kind"]] == layer) for layer in LAYERS.values()
    )
    height = max(3, tallest) * ROW + 2 * PAD
    # Layers as ordered lists (the most confident search, the first capability on top): with
    # a node attribute networkx groups them through a set, whose order changes by process.
    layers: dict[int, list[str]] = {}
    for key, node in info.items():
        layers.setdefault(LAYERS[node["kind"]], []).append(key)
    pos = nx.multipartite_layout(g, subset_key=layers, align="vertical")
    # Columns by layer (an empty layer keeps its place); rows in networkx's order, the
    # tallest column spanning the height and the others centred.
    ys = [float(p[1]) for p in pos.values()]
    low, high = min(ys), max(ys)
    step = (WIDTH - 2 * X_MARGIN) / max(1, len(LAYERS) - 1)
    picture = Picture(WIDTH, height, images=row["images"])
    index = {}
    for key, (_x, y) in pos.items():
        layer = LAYERS[info[key]["kind"]]
        fy = 0.5 if high == low else (float(y) - low) / (high - low)
        index[key] = len(picture.nodes)
        picture.nodes.append(
            {
                **info[key],
                "x": round(X_MARGIN + layer * step, 1),
                "y": round(PAD + ROW / 2 + fy * (height - 2 * PAD - ROW), 1),
            }
        )
    for u, v, data in g.edges(data=True):
        a, b = sorted((index[u], index[v]), key=lambda i: picture.nodes[i]["x"])
        picture.edges.append({"from": a, "to": b, **data})
    return picture
