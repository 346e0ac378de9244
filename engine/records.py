"""Catalog and search-event records: their shapes, and reading JSON/JSONL files into raw records."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unfragile.engine.errors import InvalidInput

KINDS = ("model", "api", "web-app", "mcp-server", "cli", "agent", "tool", "library")
PRICING = ("free", "freemium", "paid", "usage-based", "unknown")
MODALITIES = ("text", "image", "audio", "video", "code", "embedding", "tabular", "3d")
EVENT_TYPES = ("match", "click", "dwell", "feedback", "prefer")
# Where an artifact stands upstream: `removed` is what an importer marks when the source no
# longer lists it (kept, not deleted, so its evidence and history stay readable).
STATUSES = ("active", "archived", "superseded", "removed")

ARTIFACT_FIELDS = {
    "id",
    "name",
    "short_name",
    "kind",
    "status",
    "superseded_by",
    "task",
    "provider",
    "description",
    "pricing",
    "license",
    "open_weights",
    "gated",
    "private",
    "modalities",
    "parameters",
    "released",
    "updated",
    "url",
    "signals",
    "signals_as_of",
    "benchmarks",
    "frameworks",
    "categories",
    "derived_from",
    "integrates_with",
    "images",
    "diffusers_pipeline",
    "capabilities",
    # Facts an importer keeps as read (e.g. the MCP Registry's packages and remotes, as
    # "<registry> <identifier> <version> <transport>" / "<transport> <url>" strings), and
    # which importer brought the artifact in, so a later run knows its own.
    "packages",
    "remotes",
    "imported_from",
}
CAPABILITY_FIELDS = {"id", "title", "text", "unique", "vs_alternatives"}
EVENT_FIELDS = {
    "id",
    "query",
    "artifact",
    "capability",
    "session",
    "event",
    "time",
    "seconds",
    "value",
    "winner",
    "loser",
    "source",
}
# Where a search event came from: `sample` (made up, e.g. the bundled events), `api` (POST
# /events), or `import:<name>` (an importer). Pages label evidence from sample events.
EVENT_ORIGIN = re.compile(r"(sample|api|import:[a-z0-9][a-z0-9._-]*)")
MAX_EVENT_ORIGIN_CHARS = 100


# The largest number a dwell may last: a day. Longer is a clock or client bug, and an
# unbounded one (1e308 twice) summed into a MATCHED edge's dwell becomes infinity.
MAX_DWELL_SECONDS = 86_400
# Neo4j stores integers as 64-bit: a larger one would pass validation and fail the write.
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class RawRecord:
    source: str
    line: int
    data: dict[str, Any]


@dataclass
class CapabilityRecord:
    id: str
    title: str
    text: str
    unique: str | None = None
    vs_alternatives: str | None = None
    position: int = 0


@dataclass
class ArtifactRecord:
    id: str
    props: dict[str, Any]
    provider: str | None
    frameworks: list[str]
    categories: list[str]
    derived_from: list[str]
    integrates_with: list[str]
    capabilities: list[CapabilityRecord]
    source: str = ""
    line: int = 0


@dataclass
class EventRecord:
    id: str
    query: str  # the text as typed (trimmed)
    query_id: str  # the normalised text: the Query node's id
    event: str
    session: str
    time: str  # ISO 8601, UTC, microseconds: sorts as text
    artifact: str | None = None
    capability: str | None = None
    seconds: float | None = None
    value: int | None = None
    winner: str | None = None
    loser: str | None = None
    origin: str | None = None  # the event's own `source` field (EVENT_ORIGIN); None: not said
    source: str = ""  # the file (or request) the event was read from
    line: int = 0
    artifact_refs: list[str] = field(default_factory=list)


# -- reading -------------------------------------------------------------------------------


def input_files(path: Path) -> list[Path]:
    """The JSON/JSONL files a path names: the file itself, or those under a folder, sorted."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(str(path), None, None, "no such file or folder")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".jsonl", ".json"))
    if not files:
        raise InvalidInput(str(path), None, None, "folder holds no .json or .jsonl files")
    return files


def read_records(path: Path) -> Iterator[RawRecord]:
    """Yield every record of one file with its line number; JSONL line by line (streaming)."""
    source = str(path)
    if path.suffix == ".json":
        yield from _read_json(path)
        return
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InvalidInput(
                    source, number, None, f"not valid UTF-8 (byte {e.start + 1} of the line)"
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise InvalidInput(
                    source, number, None, f"broken JSON at column {e.colno}: {e.msg}"
                ) from None
            except RecursionError:
                raise InvalidInput(source, number, None, TOO_DEEP) from None
            except ValueError as e:  # an integer over Python's 4,300-digit limit
                raise InvalidInput(source, number, None, f"broken JSON: {e}") from None
            if not isinstance(data, dict):
                raise InvalidInput(
                    source, number, None, f"expected a JSON object, got {type_name(data)}"
                )
            yield RawRecord(source, number, data)


def _read_json(path: Path) -> Iterator[RawRecord]:
    source = str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InvalidInput(source, line, None, "not valid UTF-8") from None
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    try:
        if pos < len(text) and text[pos] == "[":
            pos = _skip_ws(text, pos + 1)
            if pos < len(text) and text[pos] == "]":
                return
            while True:
                start = pos
                data, pos = decoder.raw_decode(text, pos)
                line = text.count("\n", 0, start) + 1
                if not isinstance(data, dict):
                    raise InvalidInput(
                        source, line, None, f"expected a JSON object, got {type_name(data)}"
                    )
                yield RawRecord(source, line, data)
                pos = _skip_ws(text, pos)
                if pos < len(text) and text[pos] == ",":
                    pos = _skip_ws(text, pos + 1)
                    continue
                if pos < len(text) and text[pos] == "]":
                    break
                raise json.JSONDecodeError("expected ',' or ']'", text, pos)
        else:
            data, _ = decoder.raw_decode(text, pos)
            if not isinstance(data, dict):
                raise InvalidInput(source, 1, None, "expected a JSON object or array of objects")
            yield RawRecord(source, text.count("\n", 0, pos) + 1, data)
    except json.JSONDecodeError as e:
        raise InvalidInput(
            source, e.lineno, None, f"broken JSON at column {e.colno}: {e.msg}"
        ) from None
    except RecursionError:
        raise InvalidInput(source, text.count("\n", 0, pos) + 1, None, TOO_DEEP) from None
    except ValueError as e:  # an integer over Python's 4,300-digit limit
        raise InvalidInput(
            source, text.count("\n", 0, pos) + 1, None, f"broken JSON: {e}"
        ) from None


TOO_DEEP = "JSON nested too deeply (no record of ours nests more than a few levels)"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# -- validation ----------------------------------------------------------------------------


def is_event(raw: RawRecord) -> bool:
    return "query" in raw.data


@functools.lru_cache(maxsize=1 << 16)
def normalise_query(text: str) -> str:
    """The Query node id: Unicode NFKC, lower case, runs of white space as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "capability"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time ("Z" or an offset; none means UTC) as an aware datetime in UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), "a value")
