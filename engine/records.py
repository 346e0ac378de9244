"""Catalog and search-event records: reading JSON/JSONL files and validating every field."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from unfragile.engine import settings as limits
from unfragile.engine.errors import InvalidInput

KINDS = ("model", "api", "web-app", "mcp-server", "cli", "agent", "tool", "library")
PRICING = ("free", "freemium", "paid", "usage-based", "unknown")
MODALITIES = ("text", "image", "audio", "video", "code", "embedding", "tabular", "3d")
EVENT_TYPES = ("match", "click", "dwell", "feedback", "prefer")

ARTIFACT_FIELDS = {
    "id",
    "name",
    "kind",
    "task",
    "provider",
    "description",
    "pricing",
    "license",
    "open_weights",
    "modalities",
    "parameters",
    "released",
    "updated",
    "url",
    "signals",
    "benchmarks",
    "frameworks",
    "categories",
    "derived_from",
    "integrates_with",
    "images",
    "diffusers_pipeline",
    "capabilities",
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
}


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
    source: str = ""
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
                    source, number, None, f"expected a JSON object, got {_type_name(data)}"
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
                        source, line, None, f"expected a JSON object, got {_type_name(data)}"
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


# Unicode category Cc (C0 and C1 controls) except tab and newline, in one C-speed search.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_FROM_RECORD: Any = object()  # marks "read the field from the record itself"


class _Checker:
    """Field checks for one record; every failure names the record's file, line and field."""

    def __init__(self, raw: RawRecord, allowed: set[str], what: str):
        self.raw, self.data = raw, raw.data
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            self.fail(
                unknown[0], f"unknown field for {what} (allowed: {', '.join(sorted(allowed))})"
            )

    def fail(self, name: str | None, message: str) -> None:
        raise InvalidInput(self.raw.source, self.raw.line, name, message)

    def text(
        self,
        name: str,
        max_chars: int,
        required: bool = False,
        value: Any = _FROM_RECORD,
        label: str | None = None,
    ) -> str | None:
        label = label or name
        value = self.data.get(name) if value is _FROM_RECORD else value
        if value is None:
            if required:
                self.fail(label, "is required")
            return None
        if not isinstance(value, str):
            self.fail(label, f"must be a string, got {_type_name(value)}")
        value = value.strip()
        if required and not value:
            self.fail(label, "must not be empty")
        if len(value) > max_chars:
            self.fail(label, f"is {len(value)} characters long; the limit is {max_chars}")
        if _CONTROL.search(value):
            self.fail(label, "contains control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            # JSON's \ud800 escapes decode to a lone surrogate: valid JSON, not text, and
            # the driver cannot send it to Neo4j.
            self.fail(
                label,
                f"contains a lone surrogate (U+{ord(value[e.start]):04X} at character "
                f"{e.start + 1}), which is not valid Unicode text",
            )
        return value or None

    def ident(
        self, name: str, value: Any = _FROM_RECORD, label: str | None = None, required: bool = True
    ) -> str | None:
        value = self.text(name, limits.MAX_ID_CHARS, required=required, value=value, label=label)
        if value is not None and any(ch in value for ch in "\n\t"):
            self.fail(label or name, "must be on one line")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if value not in options:
            self.fail(name, f"must be one of {', '.join(options)}; got {_shown(value)}")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, bool):
            self.fail(name, f"must be true or false, got {_type_name(value)}")
        return value

    def number(
        self,
        name: str,
        integer: bool = False,
        minimum: float | None = 0,
        maximum: float | None = None,
    ) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
        ):
            self.fail(
                name, f"must be {'an integer' if integer else 'a number'}, got {_type_name(value)}"
            )
        if not _finite(value):
            self.fail(name, _NOT_FINITE[isinstance(value, int)])
        if minimum is not None and value < minimum:
            self.fail(name, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self.fail(name, f"must be at most {maximum:,}")
        return value

    def string_list(
        self,
        name: str,
        max_items: int = 100,
        options: tuple[str, ...] | None = None,
        ident: bool = False,
    ) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, f"must be a list, got {_type_name(value)}")
        if len(value) > max_items:
            self.fail(name, f"has {len(value)} items; the limit is {max_items}")
        out: list[str] = []
        for i, item in enumerate(value):
            label = f"{name}[{i}]"
            item = (
                self.ident(name, item, label)
                if ident
                else self.text(name, limits.MAX_NAME_CHARS, required=True, value=item, label=label)
            )
            if options is not None and item not in options:
                self.fail(label, f"must be one of {', '.join(options)}; got {item!r}")
            if item not in out:
                out.append(item)
        return out

    def day(self, name: str) -> str | None:
        value = self.text(name, 40)
        if value is None:
            return None
        try:
            return (
                date.fromisoformat(value[:10]).isoformat()
                if len(value) == 10
                else _parse_time(value).date().isoformat()
            )
        except (ValueError, OverflowError):
            self.fail(name, f"must be a date as YYYY-MM-DD; got {value!r}")
        return None

    def number_map(self, name: str, allow_flags: tuple[str, ...] = ()) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(name, f"must be an object, got {_type_name(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            label = f"{name}.{key}"
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", key):
                self.fail(label, "keys must be identifiers of letters, digits and '_'")
            if key in allow_flags:
                if not isinstance(item, bool):
                    self.fail(label, "must be true or false")
            elif isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
                self.fail(label, "must be a non-negative number")
            elif not _finite(item):
                self.fail(label, _NOT_FINITE[isinstance(item, int)])
            out[key] = item
        return out


def validate_artifact(raw: RawRecord, decompose_fn: Any) -> ArtifactRecord:
    """Check an artifact record; decompose its description when it lists no capabilities."""
    c = _Checker(raw, ARTIFACT_FIELDS, "an artifact")
    artifact_id = c.ident("id")
    name = c.text("name", limits.MAX_NAME_CHARS, required=True)
    kind = c.choice("kind", KINDS)
    if kind is None:
        c.fail("kind", f"is required (one of {', '.join(KINDS)})")
    description = c.text("description", limits.MAX_DESCRIPTION_CHARS)
    url = c.text("url", 2000)
    if url is not None and not re.match(r"https?://\S+$", url):
        c.fail("url", "must be an http(s) address")
    signals = c.number_map("signals", allow_flags=("illustrative",))
    benchmarks = c.number_map("benchmarks")
    props: dict[str, Any] = {
        "name": name,
        "name_lower": name.lower(),
        "kind": kind,
        "task": c.text("task", 100),
        "description": description,
        "pricing": c.choice("pricing", PRICING, default="unknown"),
        "license": c.text("license", 100),
        "open_weights": bool(c.boolean("open_weights")),
        "modalities": c.string_list("modalities", 10, MODALITIES),
        "parameters": c.number("parameters", integer=True),
        "released": c.day("released"),
        "updated": c.day("updated"),
        "url": url,
        "diffusers_pipeline": c.text("diffusers_pipeline", 500),
        "image_paths": _image_paths(c),
        "signals_illustrative": bool(signals.pop("illustrative", False)) if signals else None,
    }
    # Raw signals and benchmarks become flat properties so Cypher can read them directly.
    for key, value in signals.items():
        props[f"signal_{key}"] = value
    for key, value in benchmarks.items():
        props[f"benchmark_{key}"] = value
    props["signal_names"] = sorted(signals)
    props["benchmark_names"] = sorted(benchmarks)

    provider = c.text("provider", limits.MAX_NAME_CHARS)
    props["provider"] = provider  # also an Organization node; kept here for filters
    capabilities = _capabilities(c, artifact_id, description, decompose_fn)
    if not capabilities:
        c.fail(
            "capabilities",
            "an artifact needs a capability list or a description to decompose into capabilities",
        )
    return ArtifactRecord(
        id=artifact_id,
        props=props,
        provider=provider,
        frameworks=c.string_list("frameworks", 50),
        categories=c.string_list("categories", 50),
        derived_from=c.string_list("derived_from", 50, ident=True),
        integrates_with=c.string_list("integrates_with", 100, ident=True),
        capabilities=capabilities,
        source=raw.source,
        line=raw.line,
    )


def _image_paths(c: _Checker) -> list[str]:
    """Image paths, relative to the record's file, resolved and checked to exist."""
    base = Path(c.raw.source).parent
    paths = []
    for i, name in enumerate(c.string_list("images", 50)):
        path = (base / name).resolve()
        if not path.is_file():
            c.fail(f"images[{i}]", f"no such image file: {path}")
        paths.append(str(path))
    return paths


def _capabilities(
    c: _Checker, artifact_id: str, description: str | None, decompose_fn: Any
) -> list[CapabilityRecord]:
    value = c.data.get("capabilities")
    if value is None:
        if not description:
            return []
        return [
            CapabilityRecord(
                id=f"{artifact_id}/{slug(d.title)}", title=d.title, text=d.text, position=i
            )
            for i, d in enumerate(_unique_titles(decompose_fn(description)))
        ]
    if not isinstance(value, list):
        c.fail("capabilities", f"must be a list, got {_type_name(value)}")
    if len(value) > limits.MAX_CAPABILITIES:
        c.fail("capabilities", f"has {len(value)} items; the limit is {limits.MAX_CAPABILITIES}")
    out: list[CapabilityRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        label = f"capabilities[{i}]"
        if not isinstance(item, dict):
            c.fail(label, f"must be an object, got {_type_name(item)}")
        unknown = sorted(set(item) - CAPABILITY_FIELDS)
        if unknown:
            c.fail(
                f"{label}.{unknown[0]}",
                f"unknown field for a capability (allowed: {', '.join(sorted(CAPABILITY_FIELDS))})",
            )
        title = c.text("title", limits.MAX_TITLE_CHARS, True, item.get("title"), f"{label}.title")
        text = c.text("text", limits.MAX_TEXT_CHARS, True, item.get("text"), f"{label}.text")
        cap_id = (
            c.ident("id", item.get("id"), f"{label}.id", required=False)
            or f"{artifact_id}/{slug(title)}"
        )
        if cap_id in seen:
            c.fail(f"{label}.title", f"capability id {cap_id!r} appears twice in this artifact")
        seen.add(cap_id)
        out.append(
            CapabilityRecord(
                id=cap_id,
                title=title,
                text=text,
                position=i,
                unique=c.text(
                    "unique",
                    limits.MAX_NOTE_CHARS,
                    value=item.get("unique"),
                    label=f"{label}.unique",
                ),
                vs_alternatives=c.text(
                    "vs_alternatives",
                    limits.MAX_NOTE_CHARS,
                    value=item.get("vs_alternatives"),
                    label=f"{label}.vs_alternatives",
                ),
            )
        )
    return out


def _unique_titles(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        if slug(item.title) not in seen:
            seen.add(slug(item.title))
            out.append(item)
    return out


def validate_event(raw: RawRecord) -> EventRecord:
    """Check a search event: its type decides which of the other fields it needs."""
    c = _Checker(raw, EVENT_FIELDS, "a search event")
    query = c.text("query", limits.MAX_QUERY_CHARS, required=True)
    kind = c.choice("event", EVENT_TYPES)
    if kind is None:
        c.fail("event", f"is required (one of {', '.join(EVENT_TYPES)})")
    session = c.ident("session")
    time_text = c.text("time", 64, required=True)
    try:
        when = _parse_time(time_text)
    except ValueError:
        c.fail("time", f"must be an ISO 8601 time such as 2026-10-03T14:22:05Z; got {time_text!r}")
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is a time, but before year 1 in UTC (and 9999-12-31
        # late with a negative offset, after 9999): no datetime can hold it.
        c.fail("time", f"is outside years 1 to 9999 once converted to UTC; got {time_text!r}")
    ev = EventRecord(
        id="",
        query=query,
        query_id=normalise_query(query),
        event=kind,
        session=session,
        time=when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        source=raw.source,
        line=raw.line,
    )
    if not ev.query_id:
        c.fail("query", "must not be empty")
    if kind == "prefer":
        for name in ("artifact", "capability", "seconds", "value"):
            if name in c.data:
                c.fail(name, "a prefer event names a winner and a loser instead")
        ev.winner, ev.loser = c.ident("winner"), c.ident("loser")
        if ev.winner == ev.loser:
            c.fail("loser", "must differ from the winner")
        ev.artifact_refs = [ev.winner, ev.loser]
    else:
        for name in ("winner", "loser"):
            if name in c.data:
                c.fail(name, "only prefer events name a winner and a loser")
        ev.artifact = c.ident("artifact")
        ev.capability = c.ident("capability", required=False)
        ev.artifact_refs = [ev.artifact]
    if kind == "dwell":
        ev.seconds = c.number("seconds", maximum=MAX_DWELL_SECONDS)
        if ev.seconds is None:
            c.fail("seconds", "is required for a dwell event")
    elif "seconds" in c.data:
        c.fail("seconds", "only dwell events carry seconds")
    if kind == "feedback":
        value = c.data.get("value")
        if value not in (1, -1) or isinstance(value, bool):
            c.fail("value", f"must be 1 or -1 for a feedback event; got {_shown(value)}")
        ev.value = int(value)
    elif "value" in c.data:
        c.fail("value", "only feedback events carry a value")
    ev.id = c.ident("id", required=False) or _event_hash(ev)
    return ev


def _event_hash(ev: EventRecord) -> str:
    """A stable id for an event given none: the same event loaded twice counts once."""
    key = json.dumps(
        [
            ev.query_id,
            ev.event,
            ev.session,
            ev.time,
            ev.artifact,
            ev.capability,
            ev.seconds,
            ev.value,
            ev.winner,
            ev.loser,
        ],
        separators=(",", ":"),
    )
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_NOT_FINITE = {
    False: "must be a finite number",
    True: "is too large: whole numbers must fit in 64 bits (at most 9223372036854775807)",
}


def _finite(value: int | float) -> bool:
    """A float that is not NaN or infinite, or an integer Neo4j can store (64 bits)."""
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    return math.isfinite(value)


def _shown(value: Any) -> str:
    """A value for a message: short scalars as written, anything bigger by its type, so a
    message never grows with the input (nor recurses into a deeply nested one)."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return _type_name(value)


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), "a value")
