"""Search events aggregated over the log with DuckDB; only the results are written to Neo4j.

The per-(query, target, session) fold (engine/evidence.py's semantics: clicked, longest
dwell, latest feedback, at most EVENTS_PER_SESSION distinct events, sample or not) and the
per-edge sums run here; Neo4j receives Query nodes with their counts, MATCHED edges with
their properties (confidence computed in Cypher, by the same expression as ever) and
PREFERRED_OVER edges. A batch re-aggregates only the pairs and queries its parts touch,
from the whole log, so the result never depends on batching or order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from unfragile.engine import vote_fold
from unfragile.engine.event_log import EventLog, _scan, for_graph, open_events
from unfragile.engine.evidence import EVENTS_PER_SESSION, MATCH_WEIGHTS
from unfragile.engine.vote_fold import FOLD_CLICKED, FOLD_DWELL, FOLD_FEEDBACK, open_votes
from unfragile.graph import store
from unfragile.graph.connection import Graph

# One vote's weight in confidence units (engine/evidence.py's MATCH_WEIGHTS), over the kept
# votes (engine/vote_fold.py).
VOTE_Z = (
    "($w_session + CASE WHEN clicked THEN $w_click ELSE 0.0 END "
    " + CASE WHEN dwell >= $long_dwell_s THEN $w_long_dwell ELSE 0.0 END "
    " + $w_feedback * feedback)::DOUBLE"
)

# One row per (query, target, session) key: what one session did after one search.
SESSIONS = f"""
SELECT key, any_value(pair) AS pair, any_value(query_id) AS query_id,
       any_value(target_kind) AS target_kind, any_value(target) AS target,
       any_value(loser) AS loser, any_value(session) AS session,
       -- the log holds each id once (engine/event_log.py dedupes under its lock)
       least(count(*), {EVENTS_PER_SESSION}) AS events,
       {FOLD_CLICKED} AS clicked, {FOLD_DWELL} AS dwell, {FOLD_FEEDBACK} AS feedback,
       coalesce(max(time) FILTER (WHERE event = 'feedback'), '') AS feedback_time,
       coalesce(bool_or(origin = 'sample'), false) AS sample,
       min(time) AS first_seen, max(time) AS last_seen
FROM ev %(where)s
GROUP BY key
"""

MATCHED = f"""
SELECT pair, any_value(query_id) AS query_id, any_value(target) AS target,
       any_value(target_kind) AS target_kind,
       sum(events) AS count, count(*) AS sessions, sum(clicked::INTEGER) AS clicks,
       sum(dwell) AS dwell, sum((dwell >= {MATCH_WEIGHTS["long_dwell_s"]})::INTEGER) AS long_dwells,
       sum(feedback) AS feedback, sum(sample::INTEGER) AS sample_sessions,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM sess WHERE target_kind <> 'Prefer' %(and)s
GROUP BY pair
"""

PREFERRED = """
SELECT pair, any_value(target) AS target, any_value(loser) AS loser,
       count(DISTINCT session) AS sessions, sum(events) AS count, max(last_seen) AS last_seen
FROM sess WHERE target_kind = 'Prefer' %(and)s
GROUP BY pair
"""

# The distinct sessions behind each touched artifact's evidence (on it or its capabilities),
# and how many of them hold sample events: kept on the artifact, so its page reads them with
# its record instead of folding the log per view. From ta, so a touched artifact left with no
# counting events is set to zero.
ARTIFACTS = """
SELECT ta.artifact AS id, count(DISTINCT e.session) AS sessions,
       count(DISTINCT e.session) FILTER (WHERE e.origin = 'sample') AS sample_sessions
FROM ta LEFT JOIN (SELECT artifact, session, origin FROM ev
                   WHERE target_kind IN ('Artifact', 'Capability')) e USING (artifact)
GROUP BY ta.artifact
"""

# From tq (the touched queries), so a query left with no counting events is set to zero.
QUERIES = """
SELECT tq.query_id AS id, any_value(t.text) AS text, count(DISTINCT session) AS sessions,
       coalesce(sum(events), 0) AS count, max(last_seen) AS last_seen
FROM tq LEFT JOIN sess USING (query_id)
LEFT JOIN (SELECT query_id, arg_min(query, struct_pack(s := seq, o := ord)) AS text
           FROM ev WHERE query_id IN (SELECT query_id FROM tq) GROUP BY query_id) t
  USING (query_id)
GROUP BY tq.query_id
"""


# Aggregated rows per statement (and transaction): this many times the ingest's batch size.
ROWS_PER_BATCH = 10

T = TypeVar("T")


def apply_pending(
    graph: Graph, log: EventLog, batch_size: int = 2000, one_transaction: bool = False
) -> int:
    """Re-aggregate the pairs and queries of every part not yet in the graph, write the
    results, then mark the parts; returns how many parts that was. Safe to rerun at any
    point: each write sets values computed from the whole log."""
    with log.locked():
        pending = log.pending()
        if pending:
            _write(graph, log, pending, None, batch_size, one_transaction)
            log.mark_applied(pending)
        return len(pending)


def refresh_targets(graph: Graph, log: EventLog, capabilities: list[str]) -> None:
    """Recount the queries whose events pointed at these (now dropped) capabilities."""
    if capabilities:
        with log.locked():
            _write(graph, log, [], capabilities, 2000, False)


def _write(
    graph: Graph,
    log: EventLog,
    parts: list[Path],
    capabilities: list[str] | None,
    batch_size: int,
    one_transaction: bool,
) -> None:
    con = open_events(log)
    if con is None:
        return
    with con:
        if capabilities is not None:
            # Dropped capabilities: their edges went with them; only their queries change.
            con.execute(
                "CREATE TEMP TABLE tq AS SELECT DISTINCT query_id FROM "
                "read_parquet($p, hive_partitioning = false) "
                "WHERE target_kind = 'Capability' AND list_contains($c, target)",
                {"p": [str(p) for p in log.parts()], "c": capabilities},
            )
            con.execute("CREATE TEMP TABLE tp (pair VARCHAR)")
            con.execute(
                "CREATE TEMP TABLE ta AS SELECT DISTINCT artifact FROM "
                "read_parquet($p, hive_partitioning = false) "
                "WHERE target_kind = 'Capability' AND list_contains($c, target)",
                {"p": [str(p) for p in log.parts()], "c": capabilities},
            )
        else:
            src = f"{_scan(parts)}"
            con.execute(f"CREATE TEMP TABLE tp AS SELECT DISTINCT pair FROM {src}")
            con.execute(f"CREATE TEMP TABLE tq AS SELECT DISTINCT query_id FROM {src}")
            con.execute(
                f"CREATE TEMP TABLE ta AS SELECT DISTINCT artifact FROM {src} "
                "WHERE target_kind IN ('Artifact', 'Capability')"
            )
        # When the parts are the whole log (a first ingest), every pair and query is
        # touched: the filters would only cost time.
        whole = capabilities is None and set(parts) == set(log.parts())
        touched = "" if whole else "AND pair IN (SELECT * FROM tp)"
        con.execute(
            "CREATE TEMP TABLE sess AS "
            + SESSIONS
            % {
                "where": ""
                if whole
                else "WHERE pair IN (SELECT pair FROM tp) OR query_id IN (SELECT query_id FROM tq)"
            }
        )
        # Aggregated rows are a few numbers each: many go in one statement and transaction.
        size = batch_size * ROWS_PER_BATCH
        steps: list[tuple[str, Iterator[list[dict[str, Any]]]]] = [
            ("queries", _rows(con, QUERIES, size)),
            ("matched", _rows(con, MATCHED % {"and": touched}, size)),
            ("preferred", _rows(con, PREFERRED % {"and": touched}, size)),
            ("artifacts", _rows(con, ARTIFACTS, size)),
        ]
        if one_transaction:
            everything = [(kind, rows) for kind, chunks in steps for rows in chunks]
            graph.write(lambda tx: _send_all(tx, everything))
            return
        # The next chunk is computed (DuckDB, Arrow to dicts) while Neo4j writes this one:
        # the loader waits on the server most of the time, and there are two cores.
        chunks = ((kind, rows) for kind, step in steps for rows in step)
        for kind, rows in _ahead(chunks):
            graph.write(lambda tx, kind=kind, rows=rows: _send(tx, kind, rows))


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """`items` in order, each next one made in a thread while the caller uses the last.

    Only that thread touches `items` (and so the DuckDB connection behind it); when the
    caller stops early or fails, the thread is stopped and joined before this returns."""
    slot: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                slot.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not offer((True, item)):
                    return
            offer((False, None))
        except BaseException as error:  # handed to the caller, raised there
            offer((False, error))
        finally:
            # Here, before the caller closes the connection the items are read from.
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=make, name="aggregate-ahead", daemon=True)
    worker.start()
    try:
        while True:
            more, value = slot.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        worker.join()


def _send_all(tx: Any, everything: list[tuple[str, list[dict[str, Any]]]]) -> None:
    for kind, rows in everything:
        _send(tx, kind, rows)


def _send(tx: Any, kind: str, rows: list[dict[str, Any]]) -> None:
    if kind == "queries":
        store.set_queries(tx, rows)
    elif kind == "matched":
        store.set_matched(tx, rows, MATCH_WEIGHTS)
    elif kind == "artifacts":
        store.set_artifact_sessions(tx, rows)
    else:
        store.set_preferred(tx, rows)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, size: int) -> Iterator[list[dict[str, Any]]]:
    """The result in lists of `size` row dicts, read as Arrow batches (no per-value fetch)."""
    reader = con.sql(sql).to_arrow_reader(size)
    # Integer sums are HUGEINT, decimal(38, 0) in Arrow: whole numbers, sent as integers.
    ints = pa.schema(
        [
            pa.field(f.name, pa.int64()) if pa.types.is_decimal(f.type) and f.type.scale == 0 else f
            for f in reader.schema
        ]
    )
    pending: list[dict[str, Any]] = []
    for batch in reader:
        pending.extend(batch.cast(ints).to_pylist())
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


# -- what ranking and pages read from the log ------------------------------------------------


def _sessions(
    graph: Graph, where: str = "", params: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection | None:
    log = for_graph(graph)
    con = open_events(log) if log is not None else None
    if con is not None:
        con.execute("CREATE TEMP TABLE sess AS " + SESSIONS % {"where": where}, params or {})
    return con


def _votes(graph: Graph) -> duckdb.DuckDBPyConnection | None:
    """A connection with `sess`: the kept per-session votes (engine/vote_fold.py)."""
    log = for_graph(graph)
    return open_votes(log) if log is not None else None


def votes(
    graph: Graph, weights: dict[str, float], kinds: tuple[str, ...] = ("Capability", "Artifact")
) -> dict[str, list[Any]]:
    """Per-session votes behind the MATCHED edges, as parallel lists session, query, target,
    is_capability and z (confidence units: engine/evidence.py's MATCH_WEIGHTS)."""
    empty: dict[str, list[Any]] = {
        k: [] for k in ("session", "query", "target", "is_capability", "z")
    }
    con = _votes(graph)
    if con is None:
        return empty
    with con:
        cols = con.execute(
            "SELECT session, query_id AS query, target, "
            f"target_kind = 'Capability' AS is_capability, {VOTE_Z} AS z "
            "FROM sess WHERE list_contains($kinds, target_kind) ORDER BY key",
            _vote_params(weights, kinds),
        ).fetchnumpy()
    return {k: cols[k].tolist() for k in empty}


def _vote_params(weights: dict[str, float], kinds: tuple[str, ...]) -> dict[str, Any]:
    names = ("w_session", "w_click", "w_long_dwell", "w_feedback", "long_dwell_s")
    return {**{k: float(weights[k]) for k in names}, "kinds": list(kinds)}


def vote_codes(
    graph: Graph, weights: dict[str, float], kinds: tuple[str, ...] = ("Capability", "Artifact")
) -> dict[str, Any] | None:
    """`votes` with session, query and target as integer codes (numpy) into their sorted
    distinct values, read from the kept fold (engine/vote_fold.py, `codes`); None when
    there is no log. The same rows, not necessarily in the same order."""
    log = for_graph(graph)
    return vote_fold.codes(log, weights, kinds) if log is not None else None


def sessions(graph: Graph) -> list[dict[str, Any]]:
    """Every (query, target, session) row of the log, as the old Evidence nodes held it
    (for tests and inspection; ranking reads `votes`)."""
    con = _sessions(graph)
    if con is None:
        return []
    with con:
        # The events' sources in the order they came, each once.
        cur = con.execute(
            "WITH o AS (SELECT key, list(origin ORDER BY seq, ord) AS origins FROM ev "
            "WHERE origin IS NOT NULL GROUP BY key) "
            "SELECT s.key, pair, query_id AS query, target, target_kind, loser, session, events, "
            "clicked, dwell, feedback, feedback_time, coalesce(o.origins, []) AS origins, "
            "first_seen, last_seen "
            "FROM sess s LEFT JOIN o USING (key) ORDER BY s.key"
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["origins"] = list(dict.fromkeys(r["origins"]))
    return rows


def sources(graph: Graph, targets: list[str]) -> dict[str, int]:
    """Distinct sessions behind evidence on these targets (an artifact and its capabilities),
    and how many of them hold sample events."""
    # Only these targets' events are folded: a page view never scans the whole log's fold.
    where = "WHERE target_kind IN ('Artifact', 'Capability') AND list_contains($t, target)"
    con = _sessions(graph, where, {"t": targets}) if targets else None
    if con is None:
        return {"sessions": 0, "sample_sessions": 0}
    with con:
        row = con.execute(
            "SELECT count(DISTINCT session), count(DISTINCT session) FILTER (WHERE sample) "
            "FROM sess"
        ).fetchone()
    return {"sessions": int(row[0]), "sample_sessions": int(row[1])} if row else {}
