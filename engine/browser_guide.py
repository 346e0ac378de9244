"""The Neo4j Browser guide of the saved explorations (cypher/explore), for `db start --browser`.

Browser opens it after login (`:play`): per exploration its title, what it shows, a block
setting its parameters to their defaults and a block with the query; a click on a block puts
it in the editor.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from unfragile.engine import explore


def _literal(value: Any) -> str:
    # JSON's strings, numbers, booleans and null read the same as Cypher literals.
    return json.dumps(value, ensure_ascii=True)


def params_command(query: explore.SavedQuery) -> str:
    """`:param name => value;` for every parameter, at its default (null where it has none).
    Browser reads `:params {...}` itself and makes every number a float (LIMIT refuses 10.0);
    `=>` has Neo4j evaluate the value, so an integer stays one."""
    return "\n".join(f":param {p.name} => {_literal(p.default)};" for p in query.params)


def render(queries: list[explore.SavedQuery] | None = None) -> str:
    """The guide's HTML: every saved exploration (default: all of cypher/explore)."""
    queries = explore.saved() if queries is None else queries
    parts = [
        "<!DOCTYPE html>",
        "<html><head><title>Unfragile explorations</title></head><body>",
        '<article class="guide">',
        "<h3>Unfragile: saved explorations</h3>",
        "<p>The Cypher files in cypher/explore, as <code>unfragile cypher --saved NAME</code> runs"
        " them. Click a block to put it in the editor, then run it: first the parameters"
        " (edit them there), then the query.</p>",
        "<ul>",
        *(f"<li>{escape(q.title)} <small>({escape(q.name)})</small></li>" for q in queries),
        "</ul>",
    ]
    for q in queries:
        parts += [f'<section id="{escape(q.name)}" class="exploration">']
        parts += [f"<h4>{escape(q.title)} <small>({escape(q.name)})</small></h4>"]
        parts += [f"<p>{escape(q.description)}</p>"] if q.description else []
        if q.params:
            parts += ["<ul>"]
            parts += [
                f"<li><code>{escape(p.name)}</code> ({p.type}): {escape(p.description)}</li>"
                for p in q.params
            ]
            parts += ["</ul>", f'<pre class="runnable">{escape(params_command(q))}</pre>']
        parts += [f'<pre mode="cypher" class="runnable">{escape(q.text)}</pre>', "</section>"]
    parts += ["</article>", "</body></html>"]
    return "\n".join(parts) + "\n"
