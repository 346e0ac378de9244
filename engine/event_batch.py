"""Search events checked as Arrow columns: a JSONL file validated without a per-event pass.

`validate_file` reads a file of search events in blocks with pyarrow's JSON reader and
checks every field of every row at once (engine/validation.py's `validate_event` is the
rule: types, enums, ranges, ids), derives what it derives (the trimmed texts, the query id,
the UTC time, the id of an event given none, byte for byte) and writes the rows to the
spill as Parquet. It only says yes when it is sure the per-line validator would accept the
file and produce exactly these values; anything else (a bad row, or input where the two
readers could differ: a null, a duplicate key, blank or odd lines, an integer written where
a float may be, non-UTF-8 bytes) returns False, and the caller validates that file line by
line, so the error message stays the one naming the file, line and field.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from unfragile.engine import settings as limits
from unfragile.engine.errors import InvalidInput
from unfragile.engine.event_log import FIELDS, Spill
from unfragile.engine.field_checks import FieldChecker
from unfragile.engine.records import (
    EVENT_FIELDS,
    EVENT_ORIGIN,
    EVENT_TYPES,
    MAX_DWELL_SECONDS,
    MAX_EVENT_ORIGIN_CHARS,
    RawRecord,
    normalise_query,
    parse_time,
)

# Read in blocks of about this many bytes, cut at a line end: memory stays flat.
BLOCK_BYTES = 8 << 20
_STRINGS = ["id", "query", "event", "session", "time", "artifact", "capability"]
_STRINGS += ["winner", "loser", "source"]
_SCHEMA = pa.schema([(name, pa.string()) for name in _STRINGS])
# Printable ASCII with no space at either end: what strip() keeps as it is, with no
# control character, tab or newline, so the per-line checks would return it unchanged.
_PLAIN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
# Printable ASCII without '"' or '\': json.dumps writes it between quotes as it is.
_JSON_PLAIN = r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$"
_TIME = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"
# A JSON null, or an integer literal, as a member's value (or inside a string: then only
# a false alarm, and the file goes line by line).
_NULL = re.compile(rb":\s*null\s*[,}]")
_INTEGER = r":[ \t]*-?[0-9]+[ \t]*[,}]"


class _Unsure(Exception):
    """This block is not certainly valid as read: validate the file line by line."""


def validate_file(
    path: Path, spill: Spill
) -> tuple[int, list[tuple[str, int, str]], list[tuple[str, int]]] | None:
    """Check every event of a JSONL file and spill it: how many events, and what they name
    (`references`, over the whole file). None, with nothing spilled, when the file must go
    through the per-line validator."""
    if path.suffix != ".jsonl":
        return None
    mark = spill.mark()
    line = 1
    memo: dict[str, tuple[str, str, str]] = {}
    named: list[tuple[pa.Table, pa.Table]] = []
    try:
        for block in _blocks(path):
            table = _check(block, memo)
            named.append(_named(table, line))
            spill.add_table(table.select(FIELDS))
            line += table.num_rows
            del table
    except _Unsure:
        spill.rewind(mark)
        return None
    finally:
        # Arrow's allocator keeps what the blocks used; the aggregation needs it next.
        pa.default_memory_pool().release_unused()
    return (line - 1, *_first([a for a, _ in named], [c for _, c in named]))


def _blocks(path: Path) -> Iterator[bytes]:
    """The file in blocks of whole lines (a BOM dropped from the first)."""
    with open(path, "rb") as f:
        rest = f.read(BLOCK_BYTES)
        if not rest:
            raise _Unsure  # an empty file: the per-line reader says what it holds
        rest = rest.removeprefix(b"\xef\xbb\xbf")
        while rest:
            more = f.read(BLOCK_BYTES)
            if not more:
                yield rest
                return
            data = rest + more
            cut = data.rfind(b"\n", 0, len(rest)) + 1 or data.rfind(b"\n") + 1
            if not cut:
                cut = len(data)
            yield data[:cut]
            rest = data[cut:]


def _lines(block: bytes) -> int:
    """How many lines the block holds, each one object alone ({ first, } last), or _Unsure."""
    body = block[:-1] if block.endswith(b"\n") else block
    n = body.count(b"\n") + 1
    if (
        b"\r" in body
        or not body.startswith(b"{")
        or not body.endswith(b"}")
        or body.count(b"\n{") != n - 1
        or body.count(b"}\n") != n - 1
    ):
        raise _Unsure
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unsure from None
    return n


def _check(block: bytes, memo: dict[str, tuple[str, str, str]]) -> pa.Table:
    """The block's events as the per-line validator would make them, or _Unsure."""
    n = _lines(block)
    if b"null" in block and _NULL.search(block):
        raise _Unsure  # null and absent read the same here; not for the per-line checks
    try:
        t = pj.read_json(
            io.BytesIO(block),
            read_options=pj.ReadOptions(block_size=max(1 << 20, len(block) // 2 + 1)),
            parse_options=pj.ParseOptions(explicit_schema=_SCHEMA),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _Unsure from None
    if t.num_rows != n or not set(t.column_names) <= EVENT_FIELDS:
        raise _Unsure
    t = t.combine_chunks()
    raw = {name: t.column(name).chunk(0) for name in t.column_names}
    if raw["query"].null_count:
        raise _Unsure  # a record without a query is an artifact: the files mix
    event = raw["event"]
    _all(pc.is_in(event, pa.array(EVENT_TYPES)))
    prefer = pc.equal(event, "prefer")
    dwell = pc.equal(event, "dwell")
    feedback = pc.equal(event, "feedback")

    query, query_id, query_json = _queries(raw["query"], memo)
    session = _idents(raw["session"], required=True)
    artifact = _idents(_column(raw, "artifact", n, pa.string()))
    capability = _idents(_column(raw, "capability", n, pa.string()))
    winner = _idents(_column(raw, "winner", n, pa.string()))
    loser = _idents(_column(raw, "loser", n, pa.string()))
    given = _idents(_column(raw, "id", n, pa.string()))
    origin = _origins(_column(raw, "source", n, pa.string()))
    when = _times(raw["time"])
    seconds, seconds_json = _seconds(raw, dwell, block, n)
    value = _values(raw, feedback, n)

    # Which fields each kind of event carries (validate_event's rules).
    for name in ("artifact", "capability"):
        _none(pc.and_(prefer, pc.is_valid(_column(raw, name, n, pa.string()))))
    _none(pc.and_(prefer, pc.is_valid(seconds)))
    _none(pc.and_(prefer, pc.is_valid(value)))
    for name in ("winner", "loser"):
        _none(pc.and_(pc.invert(prefer), pc.is_valid(_column(raw, name, n, pa.string()))))
    _all(pc.if_else(prefer, pc.is_valid(winner), pc.is_valid(artifact)))
    _all(pc.if_else(prefer, pc.is_valid(loser), True))
    _none(pc.and_(prefer, pc.equal(winner, loser)))
    _all(pc.if_else(dwell, pc.is_valid(seconds), pc.is_null(seconds)))
    _all(pc.if_else(feedback, pc.is_valid(value), pc.is_null(value)))

    # The id of an event given none: engine/validation.py's _event_hash, byte for byte.
    # (The event's type and its time are plain ASCII by now: quoted as they are.)
    parts = [query_json, _quoted(event), _json(session), _quoted(when), _json(artifact)]
    parts += [_json(capability), seconds_json, pc.cast(value, pa.string()), _json(winner)]
    parts += [_json(loser)]
    parts = [pc.fill_null(p, "null") for p in parts]
    keys = pc.binary_join_element_wise("[", pc.binary_join_element_wise(*parts, ","), "]", "")
    missing = pc.is_null(given)
    if missing.true_count:
        todo = pc.cast(pc.filter(keys, missing), pa.binary()).to_pylist()
        blake2b = hashlib.blake2b
        hashed = [blake2b(k, digest_size=12).hexdigest() for k in todo]
        ids = pc.replace_with_mask(given, missing, pa.array(hashed, pa.string()))
    else:
        ids = given
    return pa.table(
        {
            "id": ids,
            "query": query,
            "query_id": query_id,
            "event": event,
            "session": session,
            "time": when,
            "artifact": artifact,
            "capability": capability,
            "seconds": pc.cast(seconds, pa.float64()),
            "value": pc.cast(value, pa.int64()),
            "winner": winner,
            "loser": loser,
            "origin": origin,
        }
    )


def _column(raw: dict[str, pa.Array], name: str, n: int, kind: pa.DataType) -> pa.Array:
    return raw[name] if name in raw else pa.nulls(n, kind)


def _all(mask: pa.Array) -> None:
    if mask.null_count or not pc.all(mask).as_py():
        raise _Unsure


def _none(mask: pa.Array) -> None:
    if pc.any(pc.fill_null(mask, False)).as_py():
        raise _Unsure


def _checker(name: str, value: Any) -> FieldChecker:
    return FieldChecker(RawRecord("", 0, {name: value}), {name}, "a search event")


def _each_distinct(
    col: pa.Array, fix: Callable[[str], Any], plain: str | None = _PLAIN, max_chars: int = 0
) -> pa.Array:
    """`fix` applied to each distinct value, except the plain ones (kept as they are);
    _Unsure when `fix` raises InvalidInput or ValueError."""
    keep = pc.is_null(col)
    if plain is not None:
        short = pc.less_equal(pc.binary_length(col), max_chars)
        keep = pc.or_kleene(keep, pc.and_(pc.match_substring_regex(col, plain), short))
    keep = pc.fill_null(keep, True)
    if keep.false_count == 0:
        return col
    others = pc.unique(pc.filter(col, pc.invert(keep)))
    try:
        fixed = pa.array([fix(v) for v in others.to_pylist()], col.type)
    except (InvalidInput, ValueError, OverflowError):
        raise _Unsure from None
    mapped = pc.take(fixed, pc.index_in(col, others))
    return pc.if_else(keep, col, mapped)


def _idents(col: pa.Array, required: bool = False) -> pa.Array:
    """FieldChecker.ident of each value: trimmed, checked; an empty optional one None."""
    if required and col.null_count:
        raise _Unsure
    check = _checker("f", None)
    return _each_distinct(
        col, lambda v: check.ident("f", v, required=required), max_chars=limits.MAX_ID_CHARS
    )


def _queries(
    col: pa.Array, memo: dict[str, tuple[str, str, str]]
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The trimmed query, its normalised id (not empty) and that id as JSON, per distinct
    text; `memo` keeps them across the file's blocks (popular queries recur)."""
    check = _checker("query", None)
    uniq = pc.unique(col)
    try:
        for v in uniq.to_pylist():
            if v not in memo:
                text = check.text("query", limits.MAX_QUERY_CHARS, True, v)
                qid = normalise_query(text)
                if not qid:
                    raise _Unsure
                memo[v] = (text, qid, json.dumps(qid))
    except InvalidInput:
        raise _Unsure from None
    known = [memo[v] for v in uniq.to_pylist()]
    at = pc.index_in(col, uniq)
    return (
        pc.take(pa.array([k[0] for k in known], pa.string()), at),
        pc.take(pa.array([k[1] for k in known], pa.string()), at),
        pc.take(pa.array([k[2] for k in known], pa.string()), at),
    )


def _origins(col: pa.Array) -> pa.Array:
    check = _checker("source", None)

    def fix(v: str) -> str | None:
        origin = check.text("source", MAX_EVENT_ORIGIN_CHARS, False, v)
        if origin is not None and not EVENT_ORIGIN.fullmatch(origin):
            raise ValueError(origin)
        return origin

    return _each_distinct(col, fix, plain=None)


def _times(col: pa.Array) -> pa.Array:
    """Each time as validate_event writes it (UTC, microseconds); the common shape
    (YYYY-MM-DDTHH:MM:SS[.f]Z) read as columns, checked by formatting it back."""
    if col.null_count:
        raise _Unsure
    head = pc.utf8_slice_codeunits(col, 0, 19)
    stamp = pc.strptime(head, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True)
    # Read back as text (a cast: far quicker than strftime), it must be what was written:
    # 2025-02-30 would have become 2025-03-02.
    same = pc.equal(
        pc.cast(stamp, pa.string()), pc.replace_substring(head, "T", " ", max_replacements=1)
    )
    simple = pc.fill_null(pc.and_(pc.match_substring_regex(col, _TIME), same), False)
    frac = pc.utf8_rpad(pc.utf8_slice_codeunits(col, 20, -1), width=6, padding="0")
    fast = pc.binary_join_element_wise(head, ".", frac, "Z", "")
    if simple.false_count == 0:
        return fast
    check = _checker("time", None)

    def fix(v: str) -> str:
        return parse_time(check.text("time", 64, True, v)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    others = pc.filter(col, pc.invert(simple))
    try:
        fixed = pa.array([fix(v) for v in others.to_pylist()], pa.string())
    except (InvalidInput, ValueError, OverflowError):
        raise _Unsure from None
    return pc.replace_with_mask(fast, pc.invert(simple), fixed)


def _seconds(
    raw: dict[str, pa.Array], dwell: pa.Array, block: bytes, n: int
) -> tuple[pa.Array, pa.Array]:
    """Dwell seconds (FieldChecker.number: a finite number, 0 to MAX_DWELL_SECONDS) and each
    as json.dumps writes it: an int as an int, a float as its repr."""
    col = raw.get("seconds")
    if col is None:
        return pa.nulls(n, pa.float64()), pa.nulls(n, pa.string())
    if pa.types.is_int64(col.type):
        as_json = pc.cast(col, pa.string())
    elif pa.types.is_float64(col.type):
        # A float column may hold integers written as such (json.dumps: 20, not 20.0):
        # only when every integer literal in the block is a feedback's value is it sure.
        values = raw.get("value")
        ints = pc.count_substring_regex(pa.array([block], pa.large_binary()), _INTEGER)
        if ints[0].as_py() != (0 if values is None else len(values) - values.null_count):
            raise _Unsure
        uniq = pc.unique(col)
        as_json = pc.take(
            pa.array([None if v is None else repr(v) for v in uniq.to_pylist()], pa.string()),
            pc.index_in(col, uniq),
        )
    elif pa.types.is_null(col.type):
        raise _Unsure
    else:
        raise _Unsure  # a string, a boolean, an object: the per-line message says which
    if pa.types.is_float64(col.type):
        _none(pc.invert(pc.is_finite(col)))
    _none(pc.less(col, 0))
    _none(pc.greater(col, MAX_DWELL_SECONDS))
    return col, as_json


def _values(raw: dict[str, pa.Array], feedback: pa.Array, n: int) -> pa.Array:
    """Feedback values: integers 1 or -1 (a 1.0 goes line by line)."""
    col = raw.get("value")
    if col is None:
        return pa.nulls(n, pa.int64())
    if not pa.types.is_int64(col.type):
        raise _Unsure
    _all(pc.or_(pc.is_null(col), pc.is_in(col, pa.array([1, -1]))))
    return col


def _quoted(col: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', col, '"', "")


def _json(col: pa.Array) -> pa.Array:
    """json.dumps of each string (ensure_ascii, as _event_hash writes it); null stays null."""
    plain = pc.fill_null(pc.match_substring_regex(col, _JSON_PLAIN), True)
    quoted = _quoted(col)
    if plain.false_count == 0:
        return quoted
    others = pc.unique(pc.filter(col, pc.invert(plain)))
    dumped = pa.array([json.dumps(v) for v in others.to_pylist()], pa.string())
    return pc.if_else(plain, quoted, pc.take(dumped, pc.index_in(col, others)))


def _named(table: pa.Table, first_line: int) -> tuple[pa.Table, pa.Table]:
    """A block's artifact names (ref, at, name) and artifact-and-capability keys (key, at),
    each once with where it first appears: `at` orders them (line, then winner/artifact
    before loser)."""
    n = table.num_rows
    prefer = pc.equal(table["event"], "prefer")
    lines = pa.array(range(first_line, first_line + n), pa.int64())
    first = pa.table(
        {
            "ref": pa.concat_arrays(
                [
                    pc.if_else(prefer, table["winner"], table["artifact"]).combine_chunks(),
                    table["loser"].combine_chunks(),
                ]
            ),
            "at": pa.concat_arrays([pc.multiply(lines, 2), pc.add(pc.multiply(lines, 2), 1)]),
        }
    ).filter(pc.is_valid(pc.field("ref")))
    first = first.group_by("ref").aggregate([("at", "min")]).rename_columns(["ref", "at"])
    row = pc.subtract(pc.divide(first["at"], 2), first_line)
    name = pc.if_else(
        pc.equal(pc.bit_wise_and(first["at"], 1), 1),
        "loser",
        pc.if_else(pc.take(prefer, row), "winner", "artifact"),
    )
    keys = pc.binary_join_element_wise(table["artifact"], table["capability"], "\x1f")
    caps = (
        pa.table({"key": keys, "at": lines})
        .filter(pc.is_valid(pc.field("key")))
        .group_by("key")
        .aggregate([("at", "min")])
        .rename_columns(["key", "at"])
    )
    return first.append_column("name", name), caps


def _first(
    artifacts: list[pa.Table], capabilities: list[pa.Table]
) -> tuple[list[tuple[str, int, str]], list[tuple[str, int]]]:
    """The blocks' names, each once where it first appears in the file, in that order."""
    refs = pa.concat_tables(artifacts).sort_by("at")
    refs = refs.group_by("ref", use_threads=False).aggregate([("at", "first"), ("name", "first")])
    refs = refs.sort_by("at_first")
    caps = pa.concat_tables(capabilities).group_by("key").aggregate([("at", "min")])
    caps = caps.sort_by("at_min")
    return (
        list(
            zip(
                refs["ref"].to_pylist(),
                [at // 2 for at in refs["at_first"].to_pylist()],
                refs["name_first"].to_pylist(),
                strict=True,
            )
        ),
        list(zip(caps["key"].to_pylist(), caps["at_min"].to_pylist(), strict=True)),
    )
