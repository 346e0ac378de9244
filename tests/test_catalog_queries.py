"""The catalog query set (bench/queries/catalog.jsonl) is well formed: no engine is run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from unfragile.engine.records import normalise_query

REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO / "bench" / "queries" / "catalog.jsonl"
CATALOG = REPO / "data" / "catalog"
TYPES = {"need", "alternative", "name", "constraint", "none"}
KEYS = {"id", "query", "acceptable", "best", "type", "not", "split"}
REQUIRED = KEYS - {"best"}
# Issue 13 asks for at least 150; the brief for this file, at least 170 and this rough mix.
MINIMUM = {"need": 60, "alternative": 30, "name": 20, "constraint": 20, "none": 15}


def _rows() -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(QUERIES.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"{QUERIES.name}:{n}: blank line"
        rows.append(json.loads(line))
    return rows


ROWS = _rows()


def _catalog_records() -> list[dict[str, Any]]:
    """Every record of the bundled catalog's files (artifacts and events alike)."""
    return [
        json.loads(line)
        for path in sorted(CATALOG.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _artifact_ids() -> set[str]:
    return {r["id"] for r in _catalog_records() if "kind" in r}


def _logged_queries() -> set[str]:
    return {normalise_query(r["query"]) for r in _catalog_records() if "event" in r}


def test_enough_queries_of_each_type() -> None:
    counts = Counter(row["type"] for row in ROWS)
    assert len(ROWS) >= 170
    assert {t: counts[t] for t in MINIMUM if counts[t] < MINIMUM[t]} == {}


@pytest.mark.parametrize("row", ROWS, ids=[str(r.get("id")) for r in ROWS])
def test_row_schema(row: dict[str, Any]) -> None:
    assert REQUIRED <= row.keys() <= KEYS
    assert isinstance(row["query"], str) and row["query"].strip() == row["query"] != ""
    assert row["type"] in TYPES
    assert row["split"] in ("dev", "test")
    for key in ("acceptable", "best", "not"):
        value = row.get(key, [])
        assert isinstance(value, list) and all(isinstance(x, str) for x in value), key
        assert len(set(value)) == len(value), f"{key} repeats an id"


@pytest.mark.parametrize("row", ROWS, ids=[str(r.get("id")) for r in ROWS])
def test_row_judgement_is_consistent(row: dict[str, Any]) -> None:
    acceptable, best, nots = set(row["acceptable"]), set(row.get("best", [])), set(row["not"])
    assert best <= acceptable, "best must be a subset of acceptable"
    assert not acceptable & nots, "X or its family cannot be a right answer"
    if row["type"] == "none":
        assert acceptable == set() and best == set()
    else:
        assert acceptable, "an answerable query needs at least one acceptable artifact"
    if row["type"] == "alternative":
        assert nots, "an alternative-to-X query names X (and its family) in `not`"


def test_every_id_is_in_the_bundled_catalog() -> None:
    ids = _artifact_ids()
    unknown = {
        row["id"]: sorted(set(row["acceptable"] + row.get("best", []) + row["not"]) - ids)
        for row in ROWS
    }
    assert {q: a for q, a in unknown.items() if a} == {}


def test_no_duplicates() -> None:
    ids = Counter(row["id"] for row in ROWS)
    texts = Counter(normalise_query(row["query"]) for row in ROWS)
    assert [i for i, n in ids.items() if n > 1] == []
    assert [t for t, n in texts.items() if n > 1] == []


def test_ids_are_sequential() -> None:
    assert [row["id"] for row in ROWS] == [f"q{n:03d}" for n in range(1, len(ROWS) + 1)]


def test_no_query_is_a_logged_search() -> None:
    # The bundled events become past queries in the graph: a query that is one of them would
    # be answered by its own log entry, and measure nothing.
    logged = _logged_queries()
    assert [row["query"] for row in ROWS if normalise_query(row["query"]) in logged] == []


def test_split_is_half_and_half_within_each_type() -> None:
    for kind in TYPES:
        splits = Counter(row["split"] for row in ROWS if row["type"] == kind)
        assert abs(splits["dev"] - splits["test"]) <= 1, (kind, dict(splits))
