"""The Jinja templates (api/templates) and one renderer per format of the comparison page, shared
by the web pages, GET /compare and `unfragile compare`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2

from unfragile.engine.figures import (
    adoption_basis,
    benchmark_label,
    figures_note,
    quality_basis,
    signal_label,
)
from unfragile.engine.records import KINDS, MODALITIES, PRICING
from unfragile.engine.verdict import LABELS, SUBSCORES, shown

HERE = Path(__file__).resolve().parent
TEMPLATES, STATIC = HERE / "templates", HERE / "static"
STYLESHEET = "unfragile.css"
FORMATS = ("md", "json", "html")  # of the comparison page


def link(path: str, **params: Any) -> str:
    """A local URL with its parameters percent-encoded (None and "" left out)."""
    kept = {k: v for k, v in params.items() if v is not None and v != ""}
    return f"{path}?{urlencode(kept)}" if kept else path


def md_cell(value: Any) -> str:
    """Text safe in a Markdown table cell or list item: no column breaks, one line."""
    return str(value).replace("|", "\\|").replace("\n", " ")


env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    # Every HTML page escapes; templates never mark user text safe. Markdown is plain text.
    autoescape=jinja2.select_autoescape(
        enabled_extensions=("html",), disabled_extensions=("md",), default=True
    ),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(
    KINDS=KINDS,
    PRICING=PRICING,
    MODALITIES=MODALITIES,
    SUBSCORES=SUBSCORES,
    LABELS=LABELS,
    shown=shown,
    STYLESHEET=STYLESHEET,
    link=link,
    figures_note=figures_note,
    quality_basis=quality_basis,
    adoption_basis=adoption_basis,
)
env.filters["num"] = lambda v, digits=3: "–" if v is None else f"{float(v):.{digits}f}"
env.filters["md"] = md_cell
env.filters["signal_name"] = signal_label
env.filters["benchmark_name"] = benchmark_label


def compare_html(page: dict[str, Any], standalone: bool = False) -> str:
    """The comparison page as the web page shows it; `standalone` puts the stylesheet inside
    (a file read without the server), else it links /static/unfragile.css."""
    css = (STATIC / STYLESHEET).read_text(encoding="utf-8") if standalone else None
    return env.get_template("compare.html").render(page=page, standalone_css=css)


def compare_md(page: dict[str, Any]) -> str:
    return env.get_template("compare.md").render(page=page)


def compare(page: dict[str, Any], fmt: str) -> str:
    """The comparison page (engine.compare.build_page) in one of FORMATS, as a file."""
    if fmt == "json":
        return json.dumps(page, ensure_ascii=False, indent=2)
    return compare_html(page, standalone=True) if fmt == "html" else compare_md(page)
