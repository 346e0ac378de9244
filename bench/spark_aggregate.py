"""Spark (local mode) vs the embedded (DuckDB) aggregation on the same synthetic events.

    python bench/spark_aggregate.py                  # 100k events, Spark local[*]
    python bench/spark_aggregate.py --events 1000000 --json

Generates the ingest bench's synthetic catalog and events (bench/synthetic.py), loads them
into a throwaway Neo4j with `engine.ingest.ingest` (the embedded path: validate, append,
aggregate, write), then times, each from a graph with no aggregates:
1. the embedded aggregation alone (every part marked pending again, `aggregate.apply_pending`);
2. the Spark job (`engine.spark_aggregate.run`; its session's start timed apart),
and checks that both leave identical Query nodes, MATCHED edges (every property; dwell, a
float sum, to 1e-12) and PREFERRED_OVER edges. Prints the load average before and after.

    python bench/spark_aggregate.py --home H --driver-memory 8g [--restore]

uses the running server and event log of an existing home H instead (e.g. the kept 10M one):
streams the aggregates in its graph to a Parquet file, wipes them, runs the Spark job into
the empty aggregate set, streams them again and compares the two files in DuckDB; prints the
load average (sampled while it runs), the driver JVM's peak RSS and its local dir's peak size.
If the Spark run fails or differs (or with --restore), the embedded aggregation is run again
(wipe, every part pending, `aggregate.apply_pending`, timed): that is also how to restore
such a home by hand, should this script be killed half way.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import code, command, loadavg, machine, throwaway_neo4j, workdir
from common import say as progress
from synthetic import generate

AGGREGATES = {
    "queries": "MATCH (q:Query) RETURN q.id AS id, properties(q) AS p ORDER BY id",
    "matched": "MATCH (q:Query)-[m:MATCHED]->(t) "
    "RETURN q.id AS q, labels(t)[0] AS l, t.id AS t, properties(m) AS p ORDER BY q, l, t",
    "preferred": "MATCH (w)-[m:PREFERRED_OVER]->(l) "
    "RETURN w.id AS w, l.id AS l, properties(m) AS p ORDER BY w, l",
    "artifacts": "MATCH (a:Artifact) RETURN a.id AS id, a.evidence_sessions AS s, "
    "a.evidence_sample_sessions AS ss ORDER BY id",
}


def aggregates(graph: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: graph.read(query) for name, query in AGGREGATES.items()}


def wipe(graph: Any) -> None:
    """Remove every aggregate (queries and their edges, preferences, artifacts' counts)."""
    with graph.session() as session:  # CALL IN TRANSACTIONS runs outside a transaction
        session.run("MATCH (q:Query) CALL (q) { DETACH DELETE q } IN TRANSACTIONS").consume()
        session.run("MATCH ()-[p:PREFERRED_OVER]->() DELETE p").consume()
        session.run(
            "MATCH (a:Artifact) REMOVE a.evidence_sessions, a.evidence_sample_sessions"
        ).consume()


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """Rows that differ per kind; MATCHED dwell compared to 1e-12 (and counted apart when not
    bit-equal)."""
    out = {"rows_differing": 0, "dwell_not_bit_equal": 0}
    for name in AGGREGATES:
        if len(a[name]) != len(b[name]):
            out["rows_differing"] += abs(len(a[name]) - len(b[name]))
        for x, y in zip(a[name], b[name], strict=False):
            if name == "matched":
                px, py = dict(x["p"]), dict(y["p"])
                dx, dy = px.pop("dwell"), py.pop("dwell")
                out["dwell_not_bit_equal"] += dx != dy
                same = {**x, "p": px} == {**y, "p": py} and math.isclose(dx, dy, rel_tol=1e-12)
            else:
                same = x == y
            out["rows_differing"] += not same
    return out


# --home: each aggregate as one row (kind, key, its other properties as sorted JSON, dwell),
# streamed to Parquet rather than held as dicts (1.1M MATCHED edges at 10M events).
SNAPSHOT = {
    "queries": "MATCH (q:Query) RETURN q.id AS key, properties(q) AS p",
    "matched": "MATCH (q:Query)-[m:MATCHED]->(t) "
    "RETURN q.id + '|' + labels(t)[0] + '|' + t.id AS key, properties(m) AS p",
    "preferred": "MATCH (w)-[m:PREFERRED_OVER]->(l) RETURN w.id + '|' + l.id AS key, "
    "properties(m) AS p",
    "artifacts": "MATCH (a:Artifact) RETURN a.id AS key, "
    "{s: a.evidence_sessions, ss: a.evidence_sample_sessions} AS p",
}


def _plain(value: Any) -> Any:
    # differences() compares with ==, where 3 == 3.0: keep that here.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def snapshot(graph: Any, path: Path, batch: int = 50_000) -> dict[str, int]:
    """Stream every aggregate of the graph into one Parquet file; returns rows per kind."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [("kind", pa.string()), ("key", pa.string()), ("p", pa.string()), ("dwell", pa.float64())]
    )
    counts: dict[str, int] = {}
    with pq.ParquetWriter(path, schema) as writer, graph.session() as session:
        for kind, query in SNAPSHOT.items():
            counts[kind] = 0
            keys: list[str] = []
            props: list[str] = []
            dwells: list[float | None] = []
            for record in session.run(query):
                p = dict(record["p"])
                dwells.append(p.pop("dwell", None))
                props.append(
                    json.dumps({k: _plain(v) for k, v in p.items()}, sort_keys=True, default=str)
                )
                keys.append(record["key"])
                if len(keys) >= batch:
                    writer.write_table(pa.table([[kind] * len(keys), keys, props, dwells], schema))
                    counts[kind] += len(keys)
                    keys, props, dwells = [], [], []
            if keys:
                writer.write_table(pa.table([[kind] * len(keys), keys, props, dwells], schema))
                counts[kind] += len(keys)
    return counts


def compare(before: Path, after: Path, work: Path) -> dict[str, Any]:
    """differences() over two snapshots, in DuckDB: rows present on one side only or with any
    property unequal (dwell to 1e-12, relative, as math.isclose), and dwell not bit-equal."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit='1GB'; SET temp_directory='{work / 'duckdb-tmp'}'")
    con.execute("SET enable_progress_bar = false")  # stderr carries progress lines only
    a, b = f"read_parquet('{before}')", f"read_parquet('{after}')"
    out: dict[str, Any] = {}
    row = con.execute(
        f"""SELECT
          count(*) FILTER (WHERE a.key IS NULL OR b.key IS NULL OR a.p <> b.p
            OR (a.dwell IS DISTINCT FROM b.dwell AND (a.dwell IS NULL OR b.dwell IS NULL
              OR abs(a.dwell - b.dwell) > 1e-12 * greatest(abs(a.dwell), abs(b.dwell))))),
          count(*) FILTER (WHERE a.key IS NOT NULL AND b.key IS NOT NULL
            AND a.dwell IS DISTINCT FROM b.dwell)
        FROM {a} a FULL OUTER JOIN {b} b ON a.kind = b.kind AND a.key = b.key"""
    ).fetchone()
    assert row is not None
    out["rows_differing"], out["dwell_not_bit_equal"] = int(row[0]), int(row[1])
    for name, src in (("duplicate_keys_before", a), ("duplicate_keys_after", b)):
        dup = con.execute(f"SELECT count(*) - count(DISTINCT (kind, key)) FROM {src}").fetchone()
        out[name] = int(dup[0]) if dup else None
    con.close()
    return out


class Watch:
    """Samples the 1-minute load average and the size of Spark's local dir every `every` s."""

    def __init__(self, local_dir: Path, every: float = 15.0) -> None:
        self.local_dir, self.every = local_dir, every
        self.loads: list[float] = []
        self.local_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.loads.append(os.getloadavg()[0])
            size = 0
            for root, _, files in os.walk(self.local_dir):
                for f in files:
                    try:
                        size += os.path.getsize(os.path.join(root, f))
                    except OSError:
                        pass  # a shuffle file removed meanwhile
            self.local_peak = max(self.local_peak, size)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        loads = self.loads or [os.getloadavg()[0]]
        return {
            "load_1min_min_mean_max": [
                round(min(loads), 2),
                round(sum(loads) / len(loads), 2),
                round(max(loads), 2),
            ],
            "samples": len(self.loads),
            "spark_local_dir_peak_mb": round(self.local_peak / 2**20, 1),
        }


def _vm_hwm_mb(pid: int) -> float | None:
    """Peak RSS of a process (VmHWM in /proc), None where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def restore(graph: Any, log: Any) -> dict[str, Any]:
    """The embedded aggregation from scratch: wipe, every part pending, apply_pending."""
    from unfragile.engine import aggregate

    t0 = time.perf_counter()
    wipe(graph)
    wiped = time.perf_counter() - t0
    shutil.rmtree(log.root / "applied", ignore_errors=True)
    t0 = time.perf_counter()
    parts = aggregate.apply_pending(graph, log)
    return {
        "wipe_s": round(wiped, 2),
        "embedded_aggregate_s": round(time.perf_counter() - t0, 2),
        "parts": parts,
    }


def run_home(args: argparse.Namespace) -> int:
    """--home: the Spark job on an existing home's log and server (see the module's doc)."""
    from unfragile.engine import event_log, spark_aggregate
    from unfragile.engine.db import open_graph
    from unfragile.engine.settings import Settings

    os.environ["UNFRAGILE_HOME"] = str(args.home)
    settings = Settings.from_env()
    result: dict[str, Any] = {
        "command": command(short=True),
        "machine": machine("pyspark", "duckdb", "neo4j"),
        "load_before": loadavg(),
    }
    work = Path(tempfile.mkdtemp(prefix="unfragile-spark-home-"))
    local_dir = work / "spark-local"
    local_dir.mkdir()
    if "PYSPARK_SUBMIT_ARGS" not in os.environ:
        # Read when the driver JVM is launched: its heap, and where shuffles and spills go.
        memory = f"--driver-memory {args.driver_memory} " if args.driver_memory else ""
        os.environ["PYSPARK_SUBMIT_ARGS"] = (
            f"{memory}--conf spark.local.dir={local_dir} pyspark-shell"
        )
    result["pyspark_submit_args"] = os.environ["PYSPARK_SUBMIT_ARGS"]
    ok = False
    with open_graph(settings) as graph:
        log = event_log.for_graph(graph)
        if log is None:
            progress(f"no event log in {args.home}")
            return 2
        result["parts"] = len(log.parts())
        try:
            progress("snapshot of the embedded aggregates ...")
            t0 = time.perf_counter()
            result["counts_before"] = snapshot(graph, work / "before.parquet")
            result["snapshot_s"] = round(time.perf_counter() - t0, 2)
            progress(f"{result['counts_before']}; wiping ...")
            t0 = time.perf_counter()
            wipe(graph)
            result["wipe_s"] = round(time.perf_counter() - t0, 2)
            with Watch(local_dir) as watch:
                progress("spark session ...")
                t0 = time.perf_counter()
                spark = spark_aggregate.session(settings, args.master)
                result["spark_session_start_s"] = round(time.perf_counter() - t0, 2)
                jvm = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
                try:
                    progress("spark run ...")
                    t0 = time.perf_counter()
                    result["spark_run"] = spark_aggregate.run(settings, spark=spark)
                    result["spark_job_s"] = round(time.perf_counter() - t0, 2)
                    result["driver_jvm_peak_rss_mb"] = _vm_hwm_mb(jvm)
                finally:
                    spark.stop()
            result["watch"] = watch.summary()
            total = result["spark_session_start_s"] + result["spark_job_s"]
            result["events_per_s"] = round(result["spark_run"]["events"] / total)
            progress("snapshot of the Spark aggregates ...")
            result["counts_after"] = snapshot(graph, work / "after.parquet")
            result["spark_vs_embedded"] = compare(
                work / "before.parquet", work / "after.parquet", work
            )
            ok = result["spark_vs_embedded"]["rows_differing"] == 0
            # On stderr before the (long) restore, so a run stopped there keeps its figures.
            progress(json.dumps({k: v for k, v in result.items() if k != "machine"}))
        finally:
            if not ok or args.restore:
                progress("restoring the embedded aggregates ...")
                result["restore"] = restore(graph, log)
    shutil.rmtree(work, ignore_errors=True)
    _report(result, args.json)
    return 0 if ok else 1


def _report(result: dict[str, Any], as_json: bool) -> None:
    """Print the run's figures (JSON, or a line a key), with the load and code at the end."""
    result["load_after"] = loadavg()
    result["code"] = code(result["machine"]["git"])
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        for key, value in result.items():
            if key != "machine":
                print(f"{key}: {value}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--artifacts", type=int, default=1000)
    p.add_argument("--capabilities", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--master", default="local[*]")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--home", type=Path, help="an existing home with a running server")
    p.add_argument("--driver-memory", default=None, help="Spark driver memory, e.g. 8g")
    p.add_argument(
        "--restore", action="store_true", help="--home: re-run the embedded aggregation after"
    )
    args = p.parse_args()
    if args.home is not None:
        return run_home(args)

    from unfragile.engine import aggregate, event_log, spark_aggregate
    from unfragile.engine.ingest import ingest

    result: dict[str, Any] = {
        "command": command(short=True),
        "machine": machine("pyspark", "duckdb", "neo4j"),
        "load_before": loadavg(),
    }
    with workdir("unfragile-spark-bench-", args.keep) as work:
        progress(f"generating {args.events} events ...")
        result["data"] = generate(
            work / "data",
            args.artifacts,
            args.capabilities,
            args.events,
            max(1, args.events // 10),
            max(1, args.events // 5),
            1.0,
            args.seed,
        )
        with throwaway_neo4j(work / "home") as neo:
            graph, settings = neo.graph, neo.settings
            progress("embedded ingest ...")
            ingest(graph, work / "data" / "catalog.jsonl", show_progress=False)
            t0 = time.perf_counter()
            ingest(graph, work / "data" / "events.jsonl", show_progress=False, events_only=True)
            result["embedded_ingest_s"] = round(time.perf_counter() - t0, 2)
            first = aggregates(graph)
            log = event_log.for_graph(graph)
            assert log is not None

            progress("embedded aggregation alone ...")
            wipe(graph)
            shutil.rmtree(log.root / "applied")  # every part pending again
            t0 = time.perf_counter()
            parts = aggregate.apply_pending(graph, log)
            result["embedded_aggregate_s"] = round(time.perf_counter() - t0, 2)
            result["parts"] = parts
            embedded = aggregates(graph)
            result["embedded_vs_ingest"] = differences(first, embedded)

            progress("spark ...")
            wipe(graph)
            t0 = time.perf_counter()
            spark = spark_aggregate.session(settings, args.master)
            result["spark_session_start_s"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            result["spark_run"] = spark_aggregate.run(settings, spark=spark)
            result["spark_job_s"] = round(time.perf_counter() - t0, 2)
            spark.stop()
            result["spark_vs_embedded"] = differences(embedded, aggregates(graph))
            result["counts"] = {k: len(v) for k, v in embedded.items()}
    _report(result, args.json)
    return 1 if result["spark_vs_embedded"]["rows_differing"] else 0


if __name__ == "__main__":
    sys.exit(main())
