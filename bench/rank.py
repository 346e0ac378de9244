"""Ranking benchmark: full recompute (projection, centrality, bootstrap, write-back), compare.

    python bench/rank.py                                   # 10k artifacts, 100k caps, 1M events
    python bench/rank.py --artifacts 1000 --capabilities 10000 --events 100000

Generates the same seeded synthetic data as bench/ingest.py (its `generate`), loads it with the
engine's own ingest into a throw-away Neo4j (a fresh temporary UNFRAGILE_HOME, stopped at the
end), then times `engine.ranking.rank` with the networkx centrality and, where GDS is loaded,
with GDS, side by side; then `compare` (name resolution, reads, verdict, markdown) on random
pairs. Targets (issue 5): full recompute ≤ 30 s, compare ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=int, default=10_000)
    p.add_argument("--capabilities", type=int, default=100_000)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--compares", type=int, default=50)
    args = p.parse_args(argv)

    from ingest import generate  # bench/ingest.py

    from engine.compare import build_page, render_md
    from engine.db import local_server, open_graph
    from engine.ingest import ingest
    from engine.ranking import load_config, rank
    from engine.settings import Settings
    from graph import algorithms

    command = shlex.join([sys.executable, *sys.argv])
    work = Path(tempfile.mkdtemp(prefix="unfragile-rank-bench-"))
    settings = Settings.from_env().with_(home=work / "home")
    say = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    server = local_server(settings)
    try:
        t0 = time.perf_counter()
        gen = generate(
            work / "data",
            args.artifacts,
            args.capabilities,
            args.events,
            args.queries,
            max(1, args.events // 5),
            1.0,
            args.seed,
        )
        say(f"generated {gen['events']:,} events in {time.perf_counter() - t0:.0f}s")
        server.start(timeout_s=settings.neo4j_start_timeout_s)
        graph = open_graph(settings, apply_schema=True)
        t0 = time.perf_counter()
        ingest(graph, work / "data" / "catalog.jsonl", show_progress=False)
        ingest(graph, work / "data" / "events.jsonl", show_progress=False)
        load_s = time.perf_counter() - t0
        say(f"loaded in {load_s:.0f}s")
        config = load_config()
        engines = ["networkx"] + (["gds"] if algorithms.gds_available(graph) else [])
        reports = {
            e: rank(graph, config, engine=e, settings=settings, show_progress=False)
            for e in engines
        }
        ids = [r["id"] for r in graph.read("MATCH (a:Artifact) RETURN a.id AS id")]
        rng = random.Random(1)
        build_page(graph, ids[0], ids[1])  # warm the driver and the query plans
        lat = []
        for _ in range(args.compares):
            a, b = rng.sample(ids, 2)
            t = time.perf_counter()
            render_md(build_page(graph, a, b))
            lat.append((time.perf_counter() - t) * 1000)
        graph.close()
    finally:
        server.stop()
    r0 = next(iter(reports.values()))
    print(f"command: {command}")
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print(
        f"data: {args.artifacts:,} artifacts, {args.capabilities:,} capabilities, "
        f"{gen['events']:,} events -> {r0.evidence_rows:,} Evidence rows, "
        f"{r0.sessions:,} sessions; projection {r0.projection_nodes:,} nodes, "
        f"{r0.projection_edges:,} edges (load {load_s:.0f}s, not counted)"
    )
    stages = [
        "read",
        "project",
        "centrality",
        "subscores",
        "bootstrap",
        "alternatives",
        "write",
        "total",
    ]
    print(f"{'stage (s)':<14}" + "".join(f"{e:>12}" for e in reports))
    for s in stages:
        print(f"{s:<14}" + "".join(f"{r.seconds.get(s, 0):>12.2f}" for r in reports.values()))
    print(
        "full recompute target <= 30 s: "
        + ", ".join(
            f"{e} {'ok' if r.seconds['total'] <= 30 else 'MISSED'}" for e, r in reports.items()
        )
    )
    print(
        f"compare ({args.compares} random pairs): median {statistics.median(lat):.1f} ms, "
        f"p95 {sorted(lat)[int(0.95 * (len(lat) - 1))]:.1f} ms, max {max(lat):.1f} ms "
        f"(target <= 50 ms: {'ok' if statistics.median(lat) <= 50 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
