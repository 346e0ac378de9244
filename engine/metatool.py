"""Import the MetaTool benchmark: its tools as artifacts, its labelled queries as match events."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from unfragile.engine import settings as limits
from unfragile.engine.decompose import decompose
from unfragile.engine.errors import InvalidInput
from unfragile.engine.records import RawRecord, slug

# texts -> unit vectors, one row per text (indexing.text.TextEncoder.encode)
Embed = Callable[[list[str]], np.ndarray]

# The benchmark's queries carry no time; one fixed time keeps re-imports identical.
QUERY_TIME = "2023-10-01T00:00:00Z"
FILES = ("plugin_des.json", "big_tool_des.json", "plugin_info.json", "queries.csv")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(str(path), None, None, "not valid UTF-8") from None
    except json.JSONDecodeError as e:
        raise InvalidInput(str(path), e.lineno, None, f"broken JSON: {e.msg}") from None


def embedder(text_model: str) -> Embed:
    """`embed` with the text model `text_model`, loaded at the first call (so a wrong folder
    fails before the model is loaded)."""

    def embed(texts: list[str]) -> Any:
        from unfragile.indexing.text import TextEncoder

        return TextEncoder(text_model).encode(texts)

    return embed


def metatool_records(
    folder: Path,
    with_queries: bool = True,
    decompose_fn: Callable = decompose,
    keep_query: Callable[[str], bool] | None = None,
    embed: Embed | None = None,
    group: bool = True,
) -> list[RawRecord]:
    """Convert the benchmark's files to catalog records (artifacts first, then events).

    `embed` places the plugins that are not tools of their own in the merged tool they belong
    to (see `merged_members`); None loads the default text model for it. `group=False` leaves
    them out (for comparisons).
    """
    folder = Path(folder)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise InvalidInput(
            str(folder), None, None, f"not a MetaTool folder: missing {', '.join(missing)}"
        )
    descriptions: dict[str, str] = _load_json(folder / "plugin_des.json")
    merged: dict[str, str] = _load_json(folder / "big_tool_des.json")
    info = {
        p["name_for_model"]: p
        for p in _load_json(folder / "plugin_info.json")
        if isinstance(p, dict) and "name_for_model" in p
    }
    tools = dict(descriptions)
    for name, text in merged.items():
        tools.setdefault(name, text)

    descriptions_of = {
        name: text if name not in merged or merged[name] == text else f"{text} {merged[name]}"
        for name, text in tools.items()
    }
    orphans = [p for name, p in info.items() if name not in tools]
    members = (
        merged_members({n: descriptions_of[n] for n in tools if n in merged}, orphans, embed)
        if group
        else {}
    )

    records: list[RawRecord] = []
    source = str(folder / "plugin_des.json")
    for line, (name, text) in enumerate(tools.items(), start=2):
        plugin = info.get(name, {})
        long_text = plugin.get("description_for_model") or ""
        human = plugin.get("description_for_human") or text
        # The long model-facing text holds several abilities; the short one stands alone.
        parts = (
            decompose_fn(long_text, fallback=human)
            if long_text
            else decompose_fn(text, fallback=text)
        )
        capabilities = [{"title": p.title, "text": p.text} for p in parts]
        for member in members.get(name, []):
            add_member_capabilities(capabilities, member, decompose_fn)
        records.append(
            RawRecord(
                source,
                line,
                {
                    "id": name,
                    "name": plugin.get("name_for_human") or name,
                    "kind": "tool",
                    "description": descriptions_of[name],
                    "pricing": "unknown",
                    "modalities": ["text"],
                    "categories": ["metatool-merged" if name in merged else "metatool-plugin"],
                    "capabilities": capabilities[: limits.MAX_CAPABILITIES],
                },
            )
        )
    if with_queries:
        records.extend(
            e
            for e in _query_events(folder / "queries.csv", set(tools))
            if keep_query is None or keep_query(e.data["query"])
        )
    return records


def merged_members(
    merged: dict[str, str], plugins: list[dict[str, Any]], embed: Embed | None
) -> dict[str, list[dict[str, Any]]]:
    """The plugins each merged tool stands for: every plugin goes to its nearest merged tool.

    MetaTool replaced groups of similar plugins (several crypto price plugins, several podcast
    searches, ...) by one merged tool each and relabelled their queries, but publishes no
    mapping; `plugin_info.json` still describes every plugin. A plugin that is not a tool of
    its own was merged into some merged tool, so it joins the one whose description is nearest
    to its own (both of its descriptions embedded, the vectors summed). Word overlap (BM25)
    places them far worse: cold R@1 0.605 against 0.649 (salt A, bench/quality_ceiling.py).
    """
    if not merged or not plugins:
        return {}
    if embed is None:
        from unfragile.indexing.text import TextEncoder

        embed = TextEncoder().encode
    names = list(merged)
    human = [
        str(p.get("description_for_human") or p.get("name_for_human") or p["name_for_model"])
        for p in plugins
    ]
    model = [str(p.get("description_for_model") or h) for p, h in zip(plugins, human, strict=True)]
    # One call: a caller may load its model on the first call.
    found = embed([merged[n] for n in names] + human + model)
    tools, n = found[: len(names)], len(plugins)
    vectors = found[len(names) : len(names) + n] + found[len(names) + n :]
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    nearest = np.argmax(vectors @ tools.T, axis=1)
    out: dict[str, list[dict[str, Any]]] = {}
    for plugin, i in zip(plugins, nearest.tolist(), strict=True):
        out.setdefault(names[i], []).append(plugin)
    return out


def add_member_capabilities(
    capabilities: list[dict[str, str]], plugin: dict[str, Any], decompose_fn: Callable
) -> None:
    """Append a merged-in plugin's abilities: its own short description, then its long one's."""
    human_name = str(plugin.get("name_for_human") or plugin["name_for_model"])
    human = str(plugin.get("description_for_human") or "").strip()
    long_text = str(plugin.get("description_for_model") or "")
    items = [(human_name, human)] if human else []
    items += [
        (p.title, p.text)
        for p in (decompose_fn(long_text, fallback=human or None) if long_text else [])
    ]
    seen = {slug(c["title"]) for c in capabilities}
    for title, text in items:
        if slug(title) in seen:
            title = f"{title} ({human_name})"
        title = title[: limits.MAX_TITLE_CHARS]
        if slug(title) in seen or not text:
            continue  # the same ability under the same name twice: once is enough
        seen.add(slug(title))
        capabilities.append({"title": title, "text": text[: limits.MAX_TEXT_CHARS]})


def _query_events(path: Path, tools: set[str]) -> list[RawRecord]:
    source = str(path)
    events = []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"query", "tool"} <= set(reader.fieldnames):
                raise InvalidInput(source, 1, None, "expected the columns query,tool")
            for row in reader:
                line = reader.line_num
                # Each labelled row stands for one search session that matched its tool.
                events.append(
                    RawRecord(
                        source,
                        line,
                        {
                            "query": row["query"],
                            "artifact": row["tool"],
                            "session": f"metatool-{line}",
                            "event": "match",
                            "time": QUERY_TIME,
                        },
                    )
                )
    except UnicodeDecodeError:
        raise InvalidInput(source, None, None, "not valid UTF-8") from None
    return events
