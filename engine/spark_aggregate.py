"""Search events aggregated by an Apache Spark job (engine/aggregate.py's fold) into Neo4j."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from unfragile.engine import event_log
from unfragile.engine.errors import InvalidInput, SettingsError
from unfragile.engine.evidence import EVENTS_PER_SESSION, MATCH_WEIGHTS
from unfragile.engine.settings import Settings
from unfragile.graph import spark_connector
from unfragile.graph.store import TARGET_LABELS

INSTALL_HINT = "pip install '.[spark]'"

# The fold of engine/aggregate.py in Spark SQL, clause for clause (its comments say why):
# one row per (query, target, session) key, then the per-edge and per-query sums. The job
# folds the whole log, so every pair and query in it is written, as if every part were
# pending. `raw` is every logged event; `ev` those that still count (not retracted).
SESSIONS = f"""
SELECT key, first(pair, true) AS pair, first(query_id, true) AS query_id,
       first(target_kind, true) AS target_kind, first(target, true) AS target,
       first(loser, true) AS loser, first(session, true) AS session,
       least(count(*), {EVENTS_PER_SESSION}) AS events, count(*) AS logged,
       coalesce(bool_or(event = 'click'), false) AS clicked,
       coalesce(max(seconds) FILTER (WHERE event = 'dwell'), 0.0D) AS dwell,
       coalesce(max_by(value, struct(time, -value))
                FILTER (WHERE event = 'feedback'), 0) AS feedback,
       coalesce(max(time) FILTER (WHERE event = 'feedback'), '') AS feedback_time,
       coalesce(bool_or(origin = 'sample'), false) AS sample,
       min(time) AS first_seen, max(time) AS last_seen
FROM ev
GROUP BY key
"""

MATCHED = f"""
SELECT pair, first(query_id, true) AS query_id, first(target, true) AS target,
       first(target_kind, true) AS target_kind,
       sum(events) AS count, count(*) AS sessions, sum(CAST(clicked AS BIGINT)) AS clicks,
       sum(dwell) AS dwell,
       sum(CAST(dwell >= {MATCH_WEIGHTS["long_dwell_s"]!r}D AS BIGINT)) AS long_dwells,
       sum(feedback) AS feedback, sum(CAST(sample AS BIGINT)) AS sample_sessions,
       min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM sess WHERE target_kind <> 'Prefer'
GROUP BY pair
"""

PREFERRED = """
SELECT pair, first(target, true) AS target, first(loser, true) AS loser,
       count(DISTINCT session) AS sessions, sum(events) AS count, max(last_seen) AS last_seen
FROM sess WHERE target_kind = 'Prefer'
GROUP BY pair
"""

ARTIFACTS = """
SELECT ta.artifact AS id, count(DISTINCT e.session) AS sessions,
       count(DISTINCT CASE WHEN e.origin = 'sample' THEN e.session END) AS sample_sessions
FROM (SELECT DISTINCT artifact FROM raw
      WHERE target_kind IN ('Artifact', 'Capability')) ta
LEFT JOIN (SELECT artifact, session, origin FROM ev
           WHERE target_kind IN ('Artifact', 'Capability')) e ON e.artifact = ta.artifact
GROUP BY ta.artifact
"""

QUERIES = """
SELECT tq.query_id AS id, first(t.text, true) AS text, count(DISTINCT s.session) AS sessions,
       coalesce(sum(s.events), 0) AS count, max(s.last_seen) AS last_seen
FROM (SELECT DISTINCT query_id FROM raw) tq
LEFT JOIN sess s ON s.query_id = tq.query_id
LEFT JOIN (SELECT query_id, min_by(query, struct(seq, ord)) AS text FROM ev GROUP BY query_id) t
  ON t.query_id = tq.query_id
GROUP BY tq.query_id
"""

# A capability dropped at seq r no longer counts the events logged before r.
COUNTING = """
SELECT e.* FROM raw e
LEFT JOIN (SELECT target, max(seq) AS seq FROM retracted GROUP BY target) r
  ON e.target_kind = 'Capability' AND r.target = e.target
WHERE r.seq IS NULL OR r.seq <= e.seq
"""


def run(
    settings: Settings,
    log: str | None = None,
    master: str | None = None,
    batch_size: int = 5000,
    spark: Any = None,
) -> dict[str, Any]:
    """Fold the whole event log with Spark and write Query nodes, MATCHED and PREFERRED_OVER
    edges and the artifacts' session counts to the graph; returns what it wrote.

    `log`: a folder or any Hadoop-compatible URL (hdfs://, s3a://, file://) of a log; by
    default this graph's own, whose parts are then held locked and marked applied, as the
    embedded path does. `spark`: a running session to use (left running)."""
    from unfragile.engine.db import open_graph

    with open_graph(settings, apply_schema=True) as graph:
        own = event_log.for_graph(graph)
        target = _target(settings, graph.database)
    source: event_log.EventLog | str | None = own
    if log is not None:
        source = log if "://" in log else event_log.EventLog(Path(log))
        if isinstance(source, event_log.EventLog) and not source.root.is_dir():
            raise InvalidInput(log, None, "log", "no event log here (not a folder)")
    counts: dict[str, Any] = {k: 0 for k in ("events", "queries", "matched", "preferred")}
    counts["artifacts"] = 0
    if source is None:
        return counts | {"seconds": 0.0}
    started = time.monotonic()
    made = spark is None and _active() is None
    spark = spark or _active() or session(settings, master)
    try:
        if isinstance(source, str):
            counts |= _job(spark, _remote(spark, source), target, batch_size)
        else:
            with source.locked():
                parts = source.parts()
                frames = _local(spark, source, parts)
                if frames is not None:
                    counts |= _job(spark, frames, target, batch_size)
                if own is not None and source.root.resolve() == own.root.resolve():
                    own.mark_applied(parts)
    finally:
        if made:
            spark.stop()
    return counts | {"seconds": round(time.monotonic() - started, 3)}


def session(settings: Settings, master: str | None = None) -> Any:
    """A Spark session with the connector's jars: on `master` (default local[*], or what
    spark-submit set)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SettingsError(f"Apache Spark (pyspark) is not installed: {INSTALL_HINT}") from None
    home = os.environ.get("JAVA_HOME")
    if not (home and (Path(home) / "bin" / "java").exists()) and shutil.which("java") is None:
        raise SettingsError(
            "Apache Spark needs Java 17 (set JAVA_HOME or put java on PATH); "
            f"pyspark itself: {INSTALL_HINT}"
        )
    builder = SparkSession.builder.appName("unfragile events aggregate")
    # Under spark-submit (it hands Python its gateway) the master is the one submitted.
    if master is not None or "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = master or "local[*]"
        builder = builder.master(master)
    jars = spark_connector.jars(settings.cache_dir)
    if jars is None:
        builder = builder.config("spark.jars.packages", spark_connector.PACKAGE)
    else:
        builder = builder.config("spark.jars", ",".join(jars))
    if master is not None and master.startswith("local"):
        # One machine: a partition per core, no web UI (nor its port), and no whole-stage
        # code generation (compiling each plan cost more than it saved: a first run took
        # 115 s with it off, 167 s on, at load ~10 on 2 cores, 20k synthetic events).
        builder = builder.config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2))
        builder = builder.config("spark.ui.enabled", "false")
        builder = builder.config("spark.sql.codegen.wholeStage", "false")
        # The JVM's quick compiler only: a job here is short, and the optimising compiler's
        # warm-up cost more than it saved (22k events: 106 s cold / 36 s warm with both
        # compilers, 45 s / 17 s with this, at load ~9 on 2 cores).
        builder = builder.config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _active() -> Any:
    """The Spark session already running in this process, if any (it is left running)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    return SparkSession.getActiveSession()


def _target(settings: Settings, database: str) -> dict[str, str]:
    """Where the connector writes: the same server, user and database as the engine's."""
    if settings.external_neo4j:
        assert settings.neo4j_uri is not None and settings.neo4j_password is not None
        uri, user, password = settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password
    else:
        from unfragile.engine.db import local_server

        server = local_server(settings)
        info = server.info()
        assert info is not None  # open_graph answered
        uri, user, password = info.uri, "neo4j", server.password()
    return {"uri": uri, "user": user, "password": password, "database": database}


def _local(spark: Any, log: event_log.EventLog, parts: list[Path]) -> tuple[Any, Any] | None:
    """(raw, retracted) frames of a log on this machine: its parts as the log lists them
    (while a compaction finishes, its new part stands for those it replaces)."""
    if not parts:
        return None
    raw = spark.read.parquet(*[str(p) for p in parts])
    retracted = log.retractions()
    return raw, spark.read.parquet(*[str(p) for p in retracted]) if retracted else None


def _remote(spark: Any, url: str) -> tuple[Any, Any]:
    """(raw, retracted) frames of a log at a URL, read as engine/event_log.py lays it out."""
    root = url.rstrip("/")
    raw = _read(spark, f"{root}/day=*/part-*.parquet")
    if raw is None:
        raise InvalidInput(url, None, "log", "no event-log parts (day=*/part-*.parquet) here")
    # A compaction caught halfway shows its rows twice, as exact copies: keep one.
    return raw.dropDuplicates(["id"]), _read(spark, f"{root}/retract/part-*.parquet")


def _read(spark: Any, pattern: str) -> Any:
    from pyspark.errors import AnalysisException

    try:
        return spark.read.parquet(pattern)
    except AnalysisException as e:
        if "PATH_NOT_FOUND" in str(e) or "Path does not exist" in str(e):
            return None
        raise


def _job(
    spark: Any, frames: tuple[Any, Any], target: dict[str, str], batch_size: int
) -> dict[str, Any]:
    """Fold, then write: queries first (the edges MATCH them), then edges and artifacts.
    Each result is counted from its cached rows, then written from them."""
    from pyspark import StorageLevel

    raw, retracted = frames
    raw.select(*event_log.SCHEMA.names).createOrReplaceTempView("raw")
    if retracted is None:
        retracted = spark.createDataFrame([], "target STRING, seq BIGINT")
    retracted.createOrReplaceTempView("retracted")
    clock = time.monotonic()
    # The events that count are read once and kept: every result reads them again.
    ev = spark.sql(COUNTING).persist(StorageLevel.MEMORY_AND_DISK)
    ev.createOrReplaceTempView("ev")
    sess = spark.sql(SESSIONS).persist(StorageLevel.MEMORY_AND_DISK)
    sess.createOrReplaceTempView("sess")
    counts: dict[str, Any] = {"sessions": sess.count()}
    counts["events"] = sess.selectExpr("coalesce(sum(logged), 0)").first()[0]
    seconds = {"fold": time.monotonic() - clock}
    matched: list[tuple[str | None, str, int]] = [
        (f"target_kind = '{kind}'", spark_connector.matched(label, MATCH_WEIGHTS), 1)
        for kind, label in TARGET_LABELS.items()
    ]
    steps: list[tuple[str, str, list[tuple[str | None, str, int]]]] = [
        ("queries", QUERIES, [(None, spark_connector.QUERIES, 4)]),
        ("matched", MATCHED, matched),
        ("preferred", PREFERRED, [(None, spark_connector.PREFERRED, 1)]),
        ("artifacts", ARTIFACTS, [(None, spark_connector.ARTIFACTS, 4)]),
    ]
    try:
        for name, sql, writes in steps:
            clock = time.monotonic()
            frame = spark.sql(sql).persist(StorageLevel.MEMORY_AND_DISK)
            counts[name] = frame.count()
            for where, statement, partitions in writes:
                rows = frame.where(where) if where else frame
                spark_connector.write(rows, statement, target, batch_size, partitions)
            frame.unpersist()
            seconds[name] = time.monotonic() - clock
    finally:
        sess.unpersist()
        ev.unpersist()
    return counts | {"step_seconds": {k: round(v, 3) for k, v in seconds.items()}}
