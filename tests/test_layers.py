"""The layer rule, read from the source: front ends → engine → (graph, indexing), nothing upward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("api", "engine", "graph", "indexing")
# What each layer may import of the others (the README's "Architecture" section).
ALLOWED = {
    "api": {"engine"},
    "engine": {"graph", "indexing"},
    "graph": set(),
    "indexing": set(),
}
# "About 500" (issue 12): search.py, at ~510, carries its fusion formula in its docstring.
MAX_LINES = 520


def imported_layers(path: Path) -> set[str]:
    """The unfragile layers a module imports, at top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] in LAYERS:
                found.add(f"bare {parts[0]}")  # the old top-level names: never again
            if parts[0] == "unfragile" and len(parts) > 1 and parts[1] in LAYERS:
                found.add(parts[1])
    return found


def modules(layer: str) -> list[Path]:
    return sorted((REPO / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_below(layer: str) -> None:
    wrong = {
        str(path.relative_to(REPO)): sorted(imported_layers(path) - ALLOWED[layer] - {layer})
        for path in modules(layer)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for layer in LAYERS
        for path in modules(layer)
    }
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}


def test_every_module_starts_with_a_docstring() -> None:
    missing = [
        str(path.relative_to(REPO))
        for layer in LAYERS
        for path in modules(layer)
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []
