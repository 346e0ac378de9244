"""The per-session votes ranking reads, kept folded in one Parquet file beside the event log.

Ranking needs one row per (query, target, session) key: what that session did after that
search (clicked, longest dwell, latest feedback). Folding the whole log for every rank cost
25-45 s at 10M events, so the fold is kept in `<log>/votes/votes.parquet` and refreshed
for the parts appended since: only the keys those parts hold are folded again, from the
whole log, so the kept rows always equal a fold of the log as it is. The file carries the
parts and retractions it covers in its own metadata and is renamed in whole: a crash
leaves the old file or the new one, never half of one, and never a file whose rows and
coverage disagree. A compaction or a retraction (dropped capabilities) folds it all anew.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from unfragile.engine.event_log import EventLog, _lit, _scan, connect, open_events

# How one (query, target, session) key's events fold into what that session did: shared by
# the graph's aggregates (engine/aggregate.py, SESSIONS) and the kept votes here.
FOLD_CLICKED = "coalesce(bool_or(event = 'click'), false)"
FOLD_DWELL = "coalesce(max(seconds) FILTER (WHERE event = 'dwell'), 0.0)"
# The latest feedback; at equal times the lower value, so order never matters.
FOLD_FEEDBACK = (
    "coalesce(arg_max(value, struct_pack(t := time, v := -value)) "
    "FILTER (WHERE event = 'feedback'), 0)"
)

# What ranking reads of each key: SESSIONS' columns for the vote (the same expressions),
# without the rest, which costs a third of the fold at 10M events.
VOTES = f"""
SELECT key, any_value(session) AS session, any_value(query_id) AS query_id,
       any_value(target_kind) AS target_kind, any_value(target) AS target,
       {FOLD_CLICKED} AS clicked, {FOLD_DWELL} AS dwell, {FOLD_FEEDBACK} AS feedback
FROM ev %(where)s
GROUP BY key
"""

# The file's metadata key for what it covers: {"parts": [...], "retractions": [...]}.
COVERS = b"unfragile.covers"


def path(log: EventLog) -> Path:
    return log.root / "votes" / "votes.parquet"


def _covers(log: EventLog, parts: list[Path]) -> dict[str, list[str]]:
    return {
        "parts": sorted(p.name for p in parts),
        "retractions": sorted(p.name for p in log.retractions()),
    }


def _kept_covers(file: Path) -> dict[str, list[str]] | None:
    """What the kept file covers; None when there is none or it cannot be read (refolded)."""
    try:
        meta = pq.read_schema(file).metadata or {}
        covers = json.loads(meta[COVERS])
        return {"parts": list(covers["parts"]), "retractions": list(covers["retractions"])}
    except (OSError, KeyError, ValueError, TypeError):
        return None


def refresh(log: EventLog) -> bool:
    """Bring the kept votes up to the log; the caller holds `log.locked()`. Returns whether
    anything was folded (False: the file already covered the log, or the log is empty)."""
    file = path(log)
    parts = {p.name: p for p in log.parts()}
    now = _covers(log, list(parts.values()))
    kept = _kept_covers(file) if file.exists() else None
    if kept == now:
        return False
    con = open_events(log)
    if con is None:
        file.unlink(missing_ok=True)
        return False
    new = (
        sorted(set(now["parts"]) - set(kept["parts"]))
        if kept is not None
        and kept["retractions"] == now["retractions"]
        and set(kept["parts"]) <= set(now["parts"])
        else None
    )
    with con:
        if new is None:  # nothing kept, or a compaction or retraction since: fold it all
            sql = VOTES % {"where": ""}
        else:
            con.execute(
                "CREATE TEMP TABLE tk AS SELECT DISTINCT key FROM "
                + _scan([parts[name] for name in new])
            )
            sql = (
                f"SELECT * FROM read_parquet({_lit(file)}) WHERE key NOT IN (SELECT key FROM tk) "
                "UNION ALL " + VOTES % {"where": "WHERE key IN (SELECT key FROM tk)"}
            )
        _write(con, sql, file, now)
    return True


def _write(con: duckdb.DuckDBPyConnection, sql: str, file: Path, covers: dict) -> None:
    """The rows of `sql` into `file` with `covers` in its metadata, renamed in whole."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".tmp-{os.getpid()}-{file.name}")
    try:
        reader = con.sql(sql).to_arrow_reader(100_000)
        schema = reader.schema.with_metadata({COVERS: json.dumps(covers).encode()})
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def open_votes(log: EventLog) -> duckdb.DuckDBPyConnection | None:
    """A connection with `sess`: the kept votes, refreshed first; None when the log is empty."""
    with log.locked():
        refresh(log)
        file = path(log)
        if not file.exists():
            return None
    con = connect(log.root)
    # Each reader scans `sess` once, in one statement: a refresh renaming a newer file in
    # meanwhile is seen whole or not at all.
    con.execute(f"CREATE TEMP VIEW sess AS SELECT * FROM read_parquet({_lit(file)})")
    return con


def codes(
    log: EventLog, weights: dict[str, float], kinds: tuple[str, ...]
) -> dict[str, Any] | None:
    """The kept votes of these target kinds as numpy columns, with session, query and target
    as integer codes into their sorted distinct values (targets coded per kind: capabilities,
    artifacts), so that millions of rows never become Python strings; None when the log is
    empty. z is the vote in confidence units (engine/evidence.py's MATCH_WEIGHTS), summed in
    the order engine/aggregate.py's VOTE_Z sums it, so both give the same doubles."""
    with log.locked():
        refresh(log)
        file = path(log)
        if not file.exists():
            return None
        # Read while locked: a refresh may rename a newer file in right after.
        table = pq.read_table(
            file,
            columns=[
                "session",
                "query_id",
                "target_kind",
                "target",
                "clicked",
                "dwell",
                "feedback",
            ],
            read_dictionary=["session", "query_id", "target_kind", "target"],
        )
    k_idx, k_values = _decode(table.column("target_kind"))
    k_names = np.asarray(k_values.to_pylist(), dtype=object)
    keep = np.isin(k_names, list(kinds))[k_idx]
    is_cap = (k_names == "Capability")[k_idx][keep]
    s_idx, s_names = _decode(table.column("session"))
    session, sessions = _sorted_codes(s_idx[keep], s_names)
    q_idx, q_names = _decode(table.column("query_id"))
    query, query_names = _sorted_codes(q_idx[keep], q_names)
    t_idx, t_names = _decode(table.column("target"))
    t_idx = t_idx[keep]
    target = np.zeros(len(t_idx), dtype=np.int64)
    target[is_cap], cap_names = _sorted_codes(t_idx[is_cap], t_names)
    target[~is_cap], art_names = _sorted_codes(t_idx[~is_cap], t_names)
    clicked = table.column("clicked").to_numpy()[keep]
    dwell = table.column("dwell").to_numpy()[keep]
    feedback = table.column("feedback").to_numpy()[keep].astype(np.float64)
    z = (
        weights["w_session"]
        + np.where(clicked, weights["w_click"], 0.0)
        + np.where(dwell >= weights["long_dwell_s"], weights["w_long_dwell"], 0.0)
        + weights["w_feedback"] * feedback
    )
    return {
        "session_code": session,
        "query_code": query,
        "target_code": target,
        "is_capability": is_cap,
        "z": z,
        "n_sessions": len(sessions),
        "query_names": query_names,
        "cap_names": cap_names,
        "art_names": art_names,
    }


def _decode(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """A dictionary column as (indices, values) over one dictionary for all its chunks."""
    if column.num_chunks == 0:
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    column = column.unify_dictionaries()
    idx = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in column.chunks])
    return idx.astype(np.int64), column.chunk(0).dictionary


def _sorted_codes(idx: np.ndarray, values: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Codes into the sorted distinct values that `idx` uses, and those values. Arrow sorts
    strings by their UTF-8 bytes: code point order, as Python and DuckDB sort them."""
    used = np.flatnonzero(np.bincount(idx, minlength=len(values)))
    order = used[pc.array_sort_indices(values.take(used)).to_numpy()]
    code_of = np.full(len(values), -1, dtype=np.int64)
    code_of[order] = np.arange(len(order))
    return code_of[idx], values.take(order).to_pylist()
