"""Ranking benchmark: full recompute (projection, centrality, bootstrap, write-back), compare.

    python bench/rank.py                                   # 10k artifacts, 100k caps, 1M events
    python bench/rank.py --artifacts 1000 --capabilities 10000 --events 100000

Generates the same seeded synthetic data as bench/ingest.py (synthetic.generate), loads it with the
engine's own ingest into a throw-away Neo4j (a fresh temporary UNFRAGILE_HOME, stopped at the
end), then times `engine.ranking.rank` with the networkx centrality and, where GDS is loaded,
with GDS, side by side in the same process: for each engine a *cold* run (no ALTERNATIVE_TO
edge yet, so every edge is created, as on the first rank of a graph) and a *recompute* (edges
and scores already there, as on every later rank). The engines take turns (cold nx, cold GDS,
recompute nx, recompute GDS) so the shared machine's drifting load hits both alike; the load
average and the CPU other processes took during each run are printed with it. Then `compare`
(name resolution, reads, verdict, markdown) on random pairs. Targets (issue 5): full
recompute ≤ 30 s, compare ≤ 50 ms. `--json PATH` also writes the figures there.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

from common import command, cpu_window, machine, say, stamp_lines, throwaway_neo4j, workdir
from synthetic import generate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--artifacts", type=int, default=10_000)
    p.add_argument("--capabilities", type=int, default=100_000)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--compares", type=int, default=50)
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args(argv)

    from unfragile.api.render import compare_md
    from unfragile.engine.compare import build_page
    from unfragile.engine.ingest import ingest
    from unfragile.engine.ranking import load_config, rank
    from unfragile.graph import gds

    with workdir("unfragile-rank-bench-") as work:
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
        with throwaway_neo4j(work / "home") as neo:
            graph, settings = neo.graph, neo.settings
            t0 = time.perf_counter()
            ingest(graph, work / "data" / "catalog.jsonl", show_progress=False)
            ingest(graph, work / "data" / "events.jsonl", show_progress=False)
            load_s = time.perf_counter() - t0
            say(f"loaded in {load_s:.0f}s")
            config = load_config()
            engines = ["networkx"] + (["gds"] if gds.gds_available(graph) else [])

            def timed(engine: str) -> dict:
                window: dict = {}
                with cpu_window(neo.pid, window):
                    r = rank(graph, config, engine=engine, settings=settings, show_progress=False)
                own = others = None
                if window["neo4j_cpu_s"] is not None and window["others_cpu_s"] is not None:
                    own, others = (
                        window["bench_cpu_s"] + window["neo4j_cpu_s"],
                        window["others_cpu_s"],
                    )
                return {
                    "report": r,
                    "wall_s": round(window["wall_s"], 2),
                    "loadavg_start": float((window["loadavg_start"] or "nan").split()[0]),
                    # CPU this process and its Neo4j used (all threads), and everything else
                    "own_cpu_s": None if own is None else round(own, 1),
                    "others_cpu_s": None if others is None else round(others, 1),
                }

            runs: dict[str, dict[str, dict]] = {"cold": {}, "recompute": {}}
            for phase in runs:
                for e in engines:
                    if phase == "cold":  # the first rank of this graph: no derived edge yet
                        graph.write(
                            lambda tx: tx.run("MATCH ()-[x:ALTERNATIVE_TO]->() DELETE x").consume()
                        )
                    runs[phase][e] = timed(e)
            ids = [r["id"] for r in graph.read("MATCH (a:Artifact) RETURN a.id AS id")]
            rng = random.Random(1)
            build_page(graph, ids[0], ids[1])  # warm the driver and the query plans
            lat = []
            for _ in range(args.compares):
                a, b = rng.sample(ids, 2)
                t = time.perf_counter()
                compare_md(build_page(graph, a, b))
                lat.append((time.perf_counter() - t) * 1000)
    r0 = runs["cold"]["networkx"]["report"]
    cmd = command()
    lines = [
        *stamp_lines(machine(), cmd),
        f"data: {args.artifacts:,} artifacts, {args.capabilities:,} capabilities, "
        f"{gen['events']:,} events -> {r0.evidence_rows:,} Evidence rows, "
        f"{r0.sessions:,} sessions; projection {r0.projection_nodes:,} nodes, "
        f"{r0.projection_edges:,} edges, {r0.alternative_edges:,} ALTERNATIVE_TO edges "
        f"(load {load_s:.0f}s, not counted)",
    ]
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
    cols = [(phase, e) for phase in runs for e in runs[phase]]
    lines.append(f"{'stage (s)':<14}" + "".join(f"{p + ' ' + e:>20}" for p, e in cols))
    for st in stages:
        lines.append(
            f"{st:<14}"
            + "".join(f"{runs[p][e]['report'].seconds.get(st, 0):>20.2f}" for p, e in cols)
        )
    for key in ("wall_s", "loadavg_start", "own_cpu_s", "others_cpu_s"):
        lines.append(f"{key:<14}" + "".join(f"{str(runs[p][e][key]):>20}" for p, e in cols))
    lines.append(
        "full recompute target <= 30 s: "
        + ", ".join(
            f"{p} {e} {'ok' if runs[p][e]['report'].seconds['total'] <= 30 else 'MISSED'}"
            for p, e in cols
        )
    )
    lines.append(
        f"compare ({args.compares} random pairs): median {statistics.median(lat):.1f} ms, "
        f"p95 {sorted(lat)[int(0.95 * (len(lat) - 1))]:.1f} ms, max {max(lat):.1f} ms "
        f"(target <= 50 ms: {'ok' if statistics.median(lat) <= 50 else 'MISSED'})"
    )
    print("\n".join(lines))
    if args.json:
        out = {
            "command": cmd,
            "summary": lines,
            "runs": {
                p: {
                    e: {**{k: v for k, v in r.items() if k != "report"}, **r["report"].as_dict()}
                    for e, r in by_engine.items()
                }
                for p, by_engine in runs.items()
            },
            "compare_ms": sorted(round(x, 2) for x in lat),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
