"""MCP Registry import throughput: the 2025 seed (471 records) from its file and from a local
registry serving it in today's list shape, into a throw-away Neo4j.

    python bench/import_mcp.py              # median of 5 runs each
    python bench/import_mcp.py --repeat 3 --json

Each run empties the graph, then times `read` (fetch or read the file, check every record,
keep the latest version of each server) and `write` (the ingest: validation with the
descriptions decomposed, then the batched writes, then marking what is gone removed). A
re-import into the filled graph (every server updated in place) is timed as well.
records/s = records read (blank ones included) / seconds. The local server runs in this
process (a thread), so its JSON encoding counts against the URL figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from common import ROOT, command, describe, machine, say, stamp_lines, throwaway_neo4j, workdir

SEED = ROOT.parent / "shared" / "mcp-registry" / "seed_2025_05_16.json"


def live_shape(seed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seed's records as today's list items: server.json and the registry's _meta (the
    7 blank placeholders left out: today's registry has none)."""
    from tests.registry_server import entry

    items = []
    for r in seed:
        if not r["name"]:
            continue
        detail = r.get("version_detail") or {}
        packages = [
            {
                "registryType": p.get("registry_name"),
                "identifier": p.get("name"),
                "version": p.get("version"),
                "transport": {"type": "stdio"},
            }
            for p in r.get("packages") or []
        ]
        items.append(
            entry(
                r["name"],
                r["description"],
                version=detail.get("version") or "0.0.0",
                published=detail.get("release_date") or "2025-05-16T00:00:00Z",
                repository=r.get("repository"),
                packages=packages,
                remotes=[
                    {"type": x.get("transport_type"), "url": x.get("url")}
                    for x in r.get("remotes") or []
                ],
            )
        )
    return items


def run(graph: Any, source: str) -> dict[str, float]:
    from unfragile.engine.importers.mcp_registry import Fetcher, read_listing, write_listing
    from unfragile.graph import store

    store.delete_everything(graph)
    t0 = time.perf_counter()
    listing = read_listing(source, Fetcher(), show_progress=False)
    t1 = time.perf_counter()
    report = write_listing(graph, listing, show_progress=False)
    t2 = time.perf_counter()
    again = write_listing(graph, read_listing(source, Fetcher(), show_progress=False), False, False)
    t3 = time.perf_counter()
    assert again.servers == report.servers and again.removed == 0
    return {
        "records": report.records,
        "servers": report.servers,
        "read_s": t1 - t0,
        "write_s": t2 - t1,
        "total_s": t2 - t0,
        "reimport_s": t3 - t2,
    }


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    records = runs[0]["records"]
    med = {k: statistics.median(r[k] for r in runs) for k in ("read_s", "write_s", "total_s")}
    med["reimport_s"] = statistics.median(r["reimport_s"] for r in runs)
    return {
        "records": records,
        "servers": runs[0]["servers"],
        **{k: round(v, 3) for k, v in med.items()},
        "records_per_s": round(records / med["total_s"], 1),
        "reimport_records_per_s": round(records / med["reimport_s"], 1),
        "runs": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per source (median)")
    parser.add_argument("--page-size", type=int, default=100, help="the local server's pages")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if not SEED.is_file():
        raise SystemExit(f"the MCP Registry seed is not at {SEED}")
    from tests.registry_server import LocalRegistry

    stamp = machine("neo4j")
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    runs: dict[str, list[dict[str, float]]] = {"file": [], "url": []}
    with (
        workdir("bench-mcp-") as home,
        throwaway_neo4j(Path(home)) as neo,
        LocalRegistry(live_shape(seed), page_size=args.page_size) as registry,
    ):
        for _ in range(2):  # warm-up: the JVM's JIT, caches, the decomposer's regexes
            run(neo.graph, str(SEED))
        # The two sources take turns, so a machine that warms up or gets busy favours neither.
        for i in range(args.repeat):
            for name, source in (("file", str(SEED)), ("url", registry.url)):
                runs[name].append(run(neo.graph, source))
                say(f"{name} run {i + 1}: {runs[name][-1]['total_s']:.2f}s")
    results = {name: summary(r) for name, r in runs.items()}
    report = {"command": command(short=True), "machine": stamp, "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for line in stamp_lines(stamp, command(short=True)):
        print(line)
    print(f"MCP seed import, {describe(stamp)}; median of {args.repeat} runs")
    print(
        f"{'source':<6} {'records':>7} {'read s':>7} {'write s':>8} {'total s':>8} "
        f"{'rec/s':>7} {'re-import s':>12} {'rec/s':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<6} {r['records']:>7} {r['read_s']:>7.3f} {r['write_s']:>8.3f} "
            f"{r['total_s']:>8.3f} {r['records_per_s']:>7.1f} {r['reimport_s']:>12.3f} "
            f"{r['reimport_records_per_s']:>7.1f}"
        )


if __name__ == "__main__":
    main()
