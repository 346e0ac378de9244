"""Import the MetaTool benchmark: its tools as artifacts, its labelled queries as match events."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.decompose import decompose
from engine.records import InputError, RawRecord

# The benchmark's queries carry no time; one fixed time keeps re-imports identical.
QUERY_TIME = "2023-10-01T00:00:00Z"
FILES = ("plugin_des.json", "big_tool_des.json", "plugin_info.json", "queries.csv")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(str(path), None, None, "not valid UTF-8") from None
    except json.JSONDecodeError as e:
        raise InputError(str(path), e.lineno, None, f"broken JSON: {e.msg}") from None


def metatool_records(folder: Path, with_queries: bool = True,
                     decompose_fn: Callable = decompose,
                     keep_query: Callable[[str], bool] | None = None) -> list[RawRecord]:
    """Convert the benchmark's files to catalog records (artifacts first, then events)."""
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise InputError(str(folder), None, None,
                         f"not a MetaTool folder: missing {', '.join(missing)}")
    descriptions: dict[str, str] = _load_json(folder / "plugin_des.json")
    merged: dict[str, str] = _load_json(folder / "big_tool_des.json")
    info = {p["name_for_model"]: p for p in _load_json(folder / "plugin_info.json")
            if isinstance(p, dict) and "name_for_model" in p}
    tools = dict(descriptions)
    for name, text in merged.items():
        tools.setdefault(name, text)

    records: list[RawRecord] = []
    source = str(folder / "plugin_des.json")
    for line, (name, text) in enumerate(tools.items(), start=2):
        plugin = info.get(name, {})
        long_text = plugin.get("description_for_model") or ""
        human = plugin.get("description_for_human") or text
        # The long model-facing text holds several abilities; the short one stands alone.
        parts = decompose_fn(long_text, fallback=human) if long_text else \
            decompose_fn(text, fallback=text)
        records.append(RawRecord(source, line, {
            "id": name,
            "name": plugin.get("name_for_human") or name,
            "kind": "tool",
            "description": text if name not in merged or merged[name] == text
            else f"{text} {merged[name]}",
            "pricing": "unknown",
            "modalities": ["text"],
            "categories": ["metatool-merged" if name in merged else "metatool-plugin"],
            "capabilities": [{"title": p.title, "text": p.text} for p in parts],
        }))
    if with_queries:
        records.extend(e for e in _query_events(folder / "queries.csv", set(tools))
                       if keep_query is None or keep_query(e.data["query"]))
    return records


def _query_events(path: Path, tools: set[str]) -> list[RawRecord]:
    source = str(path)
    events = []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"query", "tool"} <= set(reader.fieldnames):
                raise InputError(source, 1, None, "expected the columns query,tool")
            for row in reader:
                line = reader.line_num
                # Each labelled row stands for one search session that matched its tool.
                events.append(RawRecord(source, line, {
                    "query": row["query"], "artifact": row["tool"],
                    "session": f"metatool-{line}", "event": "match", "time": QUERY_TIME,
                }))
    except UnicodeDecodeError:
        raise InputError(source, None, None, "not valid UTF-8") from None
    return events
