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
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--artifacts", type=int, default=1000)
    p.add_argument("--capabilities", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--master", default="local[*]")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args()

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
    result["load_after"] = loadavg()
    result["code"] = code(result["machine"]["git"])
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        for key, value in result.items():
            if key != "machine":
                print(f"{key}: {value}")
    return 1 if result["spark_vs_embedded"]["rows_differing"] else 0


if __name__ == "__main__":
    sys.exit(main())
