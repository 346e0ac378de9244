"""The append-only search-event log: Parquet parts under the home, every accepted event once.

Layout, under `<home>/events/<log id>/` (the log id is kept in the graph's one `EventLog`
node, so emptying the graph starts a new, empty log and the two never disagree):

    day=YYYY-MM-DD/part-<seq>-<rand>.parquet   the events, by the day they were logged
    applied/<part name>                        marks a part whose edges are in the graph
    retract/part-<seq>-<rand>.parquet          capabilities dropped at <seq>: their earlier
                                               events no longer count (as deleting their
                                               Evidence did)

A part is written under a temporary name and renamed into place, so a crash leaves no torn
part visible. Its events are deduplicated by id against the log before the rename; the
aggregates count distinct ids as well, so two writers racing with the same event still
count it once. A part without its `applied` mark is the journal: the next writer
re-aggregates its pairs (engine/aggregate.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import operator
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from unfragile.graph import store
from unfragile.graph.connection import Graph

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("query", pa.string()),
        ("query_id", pa.string()),
        ("event", pa.string()),
        ("session", pa.string()),
        ("time", pa.string()),
        ("artifact", pa.string()),
        ("capability", pa.string()),
        ("seconds", pa.float64()),
        ("value", pa.int64()),
        ("winner", pa.string()),
        ("loser", pa.string()),
        ("origin", pa.string()),
        # Derived once when logged (_DERIVED), so aggregation only groups.
        ("target_kind", pa.string()),
        ("target", pa.string()),
        ("pair", pa.string()),
        ("key", pa.string()),
        # When it was logged (ns, the part's) and its place in its input: "first" means this.
        ("seq", pa.int64()),
        ("ord", pa.int64()),
    ]
)
_FIELDS = SCHEMA.names[:13]  # EventRecord's own fields, id … origin
FIELDS = _FIELDS
RETRACT_SCHEMA = pa.schema([("target", pa.string()), ("seq", pa.int64())])
CHUNK = 50_000
_thread_lock = threading.Lock()


def home_of(graph: Graph) -> Path:
    """The home whose log goes with this graph: the one it was opened for, else the env's."""
    home = getattr(graph, "home", None)
    if home is None:
        from unfragile.engine.settings import Settings

        home = Settings.from_env().home
    return Path(home)


def for_graph(graph: Graph, create: bool = False) -> EventLog | None:
    """This graph's log; None when it has none yet and `create` is false. A new log first
    takes in the Evidence nodes of a graph from before the log (`migrate`)."""
    log_id = store.event_log_id(graph)
    if log_id is None and create:
        log_id = store.event_log_id(graph, create=True)
        assert log_id is not None
        migrate(graph, EventLog(home_of(graph) / "events" / log_id))
    if log_id is None:
        return None
    return EventLog(home_of(graph) / "events" / log_id)


def migrate(graph: Graph, log: EventLog) -> int:
    """Move per-session Evidence nodes (the graph before the log) into the log as events
    that fold back to exactly the same rows, then delete them; returns how many there were.

    Each node becomes one event per id it kept (a click, a dwell of its longest seconds, its
    latest feedback at its time, matches for the rest, at its first and last times, carrying
    its sources); the fold caps events at 32 per session as before, so every edge figure is
    unchanged. The edges already in the graph are right: the part is marked applied.
    """
    rows = store.legacy_evidence(graph)
    if rows is None:
        return 0

    def events() -> Iterator[tuple[Any, ...]]:
        for e in rows:
            ids = list(e["events"] or [])
            kinds = (["click"] if e["clicked"] else []) + (["dwell"] if e["dwell"] else [])
            origins = list(e["origins"])
            first, last, fb_time = e["first_seen"], e["last_seen"], e["feedback_time"]
            n = max(len(ids), len(kinds) + bool(fb_time), len(origins), 1 + (first != last))
            ids += [f"{e['id']}:{i}" for i in range(len(ids), n)]
            kinds += ["match"] * (n - len(kinds))
            times = [first] * (n - 1) + [last]
            if fb_time:
                # The feedback sits where its time keeps the first and last times in place.
                at = 1 if n >= 3 else (0 if fb_time == first or n == 1 else 1)
                kinds.insert(at, "feedback")
                kinds.pop()  # a match made room for it (n counts it)
                times[at] = fb_time
            prefer = e["kind"] == "Prefer"
            for i, (id_, kind) in enumerate(zip(ids, kinds, strict=True)):
                yield (
                    id_,
                    e["query"],
                    e["query"],
                    "prefer" if prefer else kind,
                    e["session"],
                    times[i],
                    e["target"] if e["kind"] == "Artifact" else None,
                    e["target"] if e["kind"] == "Capability" else None,
                    float(e["dwell"]) if kind == "dwell" else None,
                    e["feedback"] if kind == "feedback" else None,
                    e["target"] if prefer else None,
                    e["loser"] if prefer else None,
                    origins[i] if i < len(origins) else None,
                )

    part, _ = log.append(events())
    if part is not None:
        log.mark_applied([part])
    store.delete_legacy_evidence(graph)
    return len(rows)


@dataclass
class EventLog:
    root: Path

    def parts(self) -> list[Path]:
        """The log's parts in the order they were written; while a compaction is finishing,
        its new part stands for the ones it replaces."""
        parts = sorted(self.root.glob("day=*/part-*.parquet"), key=lambda p: p.name)
        gone: set[Path] = set()
        for note in self.root.glob("day=*/.compact-*.json"):
            with contextlib.suppress(OSError, ValueError):
                plan = json.loads(note.read_text())
                if (note.parent / plan["part"]).exists():
                    gone.update(note.parent / name for name in plan["replaces"])
        return [p for p in parts if p not in gone] if gone else parts

    def retractions(self) -> list[Path]:
        return sorted((self.root / "retract").glob("part-*.parquet"))

    def pending(self) -> list[Path]:
        """Parts whose edges may not be in the graph yet (the journal)."""
        applied = self.root / "applied"
        return [p for p in self.parts() if not (applied / p.name).exists()]

    def mark_applied(self, parts: list[Path]) -> None:
        applied = self.root / "applied"
        applied.mkdir(parents=True, exist_ok=True)
        for p in parts:
            (applied / p.name).touch()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One aggregation at a time, across threads and processes: each sees every part
        appended before it took the lock, so the last write of an edge is never stale."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _thread_lock, open(self.root / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                self._finish_compaction()
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def append(self, records: Iterator[Any], chunk: int = CHUNK) -> tuple[Path | None, int]:
        """Append the events not in the log yet as one part; returns (part, events added).
        `records`: EventRecords, or tuples of their first 13 fields (id … origin)."""
        seq = time.time_ns()
        name = f"part-{seq:020d}-{uuid.uuid4().hex[:8]}.parquet"
        self.root.mkdir(parents=True, exist_ok=True)
        raw = self.root / f".tmp-{name}"
        try:
            with pq.ParquetWriter(raw, RAW_SCHEMA) as writer:
                ord_ = 0
                batch: list[Any] = []
                for ev in records:
                    batch.append(ev)
                    if len(batch) >= chunk:
                        writer.write_table(_table(batch, seq, ord_))
                        ord_ += len(batch)
                        batch = []
                if batch or not ord_:
                    writer.write_table(_table(batch, seq, ord_))
            return self._add(_scan([raw]), seq, name)
        finally:
            raw.unlink(missing_ok=True)

    def append_spill(self, spill: Spill) -> tuple[Path | None, int]:
        """Append the validated events of a spill (engine/ingest.py), as `append` does,
        reading its Parquet files straight into the log's part."""
        paths = spill.paths()
        if not paths:
            return None, 0
        seq = time.time_ns()
        name = f"part-{seq:020d}-{uuid.uuid4().hex[:8]}.parquet"
        self.root.mkdir(parents=True, exist_ok=True)
        cols = ", ".join(_FIELDS)
        return self._add(
            f"(SELECT {cols}, {seq}::BIGINT AS seq, ord FROM {_scan(paths)})", seq, name
        )

    def _add(self, src: str, seq: int, name: str) -> tuple[Path | None, int]:
        """Dedupe the raw events of `src` (SQL) into a part named `name`, renamed in."""
        ready = self.root / f".ready-{name}"
        try:
            # Checked against the log and renamed in under the lock: two writers with the
            # same event never both add it, so the log holds each id once.
            with self.locked():
                added = self._dedupe(src, ready)
                if not added:
                    return None, 0
                day = self.root / f"day={time.strftime('%Y-%m-%d', time.gmtime(seq / 1e9))}"
                day.mkdir(exist_ok=True)
                part = day / name
                os.replace(ready, part)
            return part, added
        finally:
            ready.unlink(missing_ok=True)

    def _dedupe(self, src: str, out: Path) -> int:
        """Write to `out` the events of `src` (a table expression) whose ids the log lacks,
        each id once."""
        existing = self.parts()
        with connect(self.root) as con:
            row = con.execute(f"SELECT count(*), count(DISTINCT id) FROM {src}").fetchone()
            # A repeated id within the input is rare: only then the (slower) window.
            once = (
                ""
                if row is None or row[0] == row[1]
                else "QUALIFY row_number() OVER (PARTITION BY id ORDER BY ord) = 1"
            )
            old = f"WHERE id NOT IN (SELECT id FROM {_scan(existing)})" if existing else ""
            fresh = _DERIVED % {"src": f"(SELECT * FROM {src} {old} {once})"}
            con.execute(f"COPY ({fresh}) TO {_lit(out)} (FORMAT parquet)")
        return pq.read_metadata(out).num_rows

    def _finish_compaction(self) -> None:
        """Complete a compaction a crash interrupted: once its part is in place, the parts it
        replaces go; if it never got there, its leftovers go."""
        applied = self.root / "applied"
        for note in self.root.glob("day=*/.compact-*.json"):
            plan = json.loads(note.read_text())
            if (note.parent / plan["part"]).exists():
                for name in plan["replaces"]:
                    (note.parent / name).unlink(missing_ok=True)
                    (applied / name).unlink(missing_ok=True)
            else:
                (note.parent / f".tmp-{plan['part']}").unlink(missing_ok=True)
                (applied / plan["part"]).unlink(missing_ok=True)
            note.unlink()

    def retract(self, capabilities: list[str]) -> None:
        """Capabilities dropped now: the events logged before this no longer count."""
        if not capabilities:
            return
        folder = self.root / "retract"
        folder.mkdir(parents=True, exist_ok=True)
        seq = time.time_ns()
        name = f"part-{seq:020d}-{uuid.uuid4().hex[:8]}.parquet"
        table = pa.table({"target": capabilities, "seq": [seq] * len(capabilities)})
        pq.write_table(table.cast(RETRACT_SCHEMA), folder / f".tmp-{name}")
        os.replace(folder / f".tmp-{name}", folder / name)

    def compact(self, before_day: str) -> dict[str, int]:
        """Fold each day's applied parts older than `before_day` (YYYY-MM-DD) into one part,
        dropping duplicate ids; pending parts stay as they are for the journal."""
        folded = {"days": 0, "parts": 0, "events": 0}
        applied = self.root / "applied"
        with self.locked():
            for day in sorted(self.root.glob("day=*")):
                if day.name[4:] >= before_day:
                    continue
                parts = [
                    p for p in sorted(day.glob("part-*.parquet")) if (applied / p.name).exists()
                ]
                if len(parts) < 2:
                    continue
                seq = time.time_ns()
                name = f"part-{seq:020d}-c{uuid.uuid4().hex[:7]}.parquet"
                tmp = day / f".tmp-{name}"
                with connect() as con:
                    con.execute(
                        f"COPY (SELECT * FROM {_scan(parts)} "
                        "QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq, ord) = 1 "
                        f"ORDER BY seq, ord) TO {_lit(tmp)} (FORMAT parquet)"
                    )
                    row = con.execute(f"SELECT count(*) FROM {_scan([tmp])}").fetchone()
                # Marked before it appears, so it is never taken for pending; the note names
                # the parts it replaces, so a crash after the rename still removes them
                # (`_finish_compaction`, first thing under the lock) before any read.
                self.mark_applied([day / name])
                note = day / f".compact-{name}.json"
                note.write_text(json.dumps({"part": name, "replaces": [p.name for p in parts]}))
                os.replace(tmp, day / name)
                self._finish_compaction()
                folded["days"] += 1
                folded["parts"] += len(parts)
                folded["events"] += int(row[0]) if row else 0
        return folded


_values = operator.attrgetter(*SCHEMA.names[:13])
RAW_SCHEMA = pa.schema(
    [f for f in SCHEMA if f.name not in ("target_kind", "target", "pair", "key")]
)
SPILL_SCHEMA = pa.schema([f for f in RAW_SCHEMA if f.name != "seq"])


def _table(batch: list[Any], seq: int, start: int) -> pa.Table:
    """Raw rows from events (EventRecord, or tuples of its first 13 fields in order)."""
    rows = [ev if isinstance(ev, tuple) else _values(ev) for ev in batch]
    if rows:
        cols: dict[str, Any] = dict(zip(_FIELDS, zip(*rows, strict=True), strict=True))
    else:
        cols = {name: [] for name in _FIELDS}
    cols["seconds"] = [None if x is None else float(x) for x in cols["seconds"]]
    cols["seq"] = [seq] * len(rows)
    cols["ord"] = list(range(start, start + len(rows)))
    return pa.table(cols, schema=RAW_SCHEMA)


class Spill:
    """Validated events on their way to the log, in input order: Parquet files (the 13
    fields and `ord`, the place in the input) in a temporary folder, removed by close()."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="unfragile-events-"))
        self.files: list[Path] = []
        self.count = 0
        self._pending: list[Any] = []

    def add(self, ev: Any) -> None:
        """One event (an EventRecord) from the per-line validator."""
        self._pending.append(_values(ev))
        if len(self._pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._write(_table(self._pending, 0, self.count).drop_columns(["seq"]))
            self._pending = []

    def add_table(self, table: pa.Table) -> None:
        """Checked events as columns, in SPILL_SCHEMA's first 13 fields' order."""
        self.flush()
        n = table.num_rows
        ords = pa.array(range(self.count, self.count + n), pa.int64())
        self._write(table.append_column("ord", ords).cast(SPILL_SCHEMA))

    def _write(self, table: pa.Table) -> None:
        path = self.dir / f"{len(self.files):06d}.parquet"
        # Read back once, soon: written uncompressed, the quickest both ways.
        pq.write_table(table, path, compression="none")
        self.files.append(path)
        self.count += table.num_rows

    def mark(self) -> tuple[int, int]:
        self.flush()
        return len(self.files), self.count

    def rewind(self, mark: tuple[int, int]) -> None:
        """Drop what was added since `mark`."""
        for path in self.files[mark[0] :]:
            path.unlink(missing_ok=True)
        del self.files[mark[0] :]
        self.count = mark[1]

    def paths(self) -> list[Path]:
        self.flush()
        return list(self.files)

    def records(self) -> Iterator[Any]:
        """The events as tuples of the 13 fields, in order."""
        for path in self.paths():
            table = pq.read_table(path, columns=_FIELDS)
            yield from zip(*(table.column(name).to_pylist() for name in _FIELDS), strict=True)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# What an event feeds, as engine/evidence.py defines it (target_of; the pair: one MATCHED or
# PREFERRED_OVER edge; the key: one (query, target, session)), computed by DuckDB per row.
_KIND = (
    "CASE WHEN event = 'prefer' THEN 'Prefer' "
    "WHEN coalesce(capability, '') <> '' THEN 'Capability' ELSE 'Artifact' END"
)
_TARGET = (
    "CASE WHEN event = 'prefer' THEN coalesce(winner, '') "
    "WHEN coalesce(capability, '') <> '' THEN capability ELSE coalesce(artifact, '') END"
)
_DERIVED = f"""
SELECT id, query, query_id, event, session, time, artifact, capability, seconds, value, winner,
       CASE WHEN event = 'prefer' THEN loser END AS loser, origin, target_kind, target,
       pair, md5(concat_ws(chr(31), pair, query_id, session)) AS key, seq, ord
FROM (SELECT *, CASE WHEN target_kind = 'Prefer'
                     THEN md5(concat_ws(chr(31), 'prefer', target, coalesce(loser, '')))
                     ELSE md5(concat_ws(chr(31), query_id, target_kind, target)) END AS pair
      FROM (SELECT *, {_KIND} AS target_kind, {_TARGET} AS target FROM %(src)s))
"""


def _lit(path: Path) -> str:
    """A DuckDB string literal of a file name (a home may hold a quote)."""
    return "'" + str(path).replace("'", "''") + "'"


def open_events(log: EventLog) -> duckdb.DuckDBPyConnection | None:
    """A connection with `ev`: every event of the log that still counts (a capability's
    events before its retraction do not); None when the log has no part."""
    parts = log.parts()
    if not parts:
        return None
    con = connect(log.root)
    retracted = log.retractions()
    where = (
        f"WHERE NOT EXISTS (SELECT 1 FROM {_scan(retracted)} r "
        "WHERE e.target_kind = 'Capability' AND r.target = e.target AND r.seq > e.seq)"
        if retracted
        else ""
    )
    con.execute(f"CREATE TEMP VIEW ev AS SELECT e.* FROM {_scan(parts)} e {where}")
    return con


def _scan(paths: list[Path]) -> str:
    """read_parquet of these files, as they are: a part's `day=` folder is not a column."""
    return "read_parquet([" + ", ".join(_lit(p) for p in paths) + "], hive_partitioning = false)"


def connect(spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory and threads (the log itself is the store);
    past the limit it spills under `spill` (a log's root)."""
    con = duckdb.connect(":memory:")
    con.execute("SET memory_limit = '512MB'")
    if spill is not None:
        con.execute(f"SET temp_directory = {_lit(spill / '.spill')}")
    con.execute(f"SET threads = {min(4, os.cpu_count() or 1)}")
    con.execute("SET preserve_insertion_order = false")
    return con
