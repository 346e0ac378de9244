"""Page render time: the compare and artifact pages, in-process (FastAPI TestClient).

    python bench/pages.py                        # a throwaway Neo4j with the bundled catalog
    python bench/pages.py --home ~/.local/share/unfragile   # an already loaded home instead
    python bench/pages.py --runs 50 --json

What it does:

1. Unless --home is given, starts its own Neo4j in a fresh temporary home and loads the
   bundled catalog (ingest, index, rank), then takes two rank-history snapshots so every
   artifact page draws its sparkline.
2. Builds the app as `unfragile serve` does and asks it for pages as a browser does (Accept:
   text/html) through the TestClient: no network, but routing, the graph reads, networkx's
   layout, the SVG drawing and Jinja all count. Each page is fetched once to warm up.
3. Times `--runs` rounds over 10 artifact pages (the best-ranked 9 and ViT-Base) and 10
   comparisons (ViT-Base vs FLUX.1 [pro] and the best-ranked 9 against the 10th), and prints
   the median, p90 and slowest render of each page type.
4. Times the graph reads those pages make, each alone: an artifact page's record and its
   match-graph picture; a comparison's two (both names' exact matches, then both sides, the
   footer's date and "people also compared"); and a bare `RETURN 1`, the round trip's floor.

Target (issue 15): median <= 50 ms for both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, percentile, say, stamp_lines, throwaway_neo4j  # noqa: E402

A, B = "vit-base-patch16-224", "flux-1-pro"
TARGET_MS = 50.0


def load(settings: Any, graph: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from unfragile.engine import rank_history, ranking
    from unfragile.engine.indexer import Indexer
    from unfragile.engine.ingest import ingest

    say("loading the bundled catalog ...")
    ingest(graph, ROOT / "data" / "catalog", show_progress=False)
    indexer = Indexer(settings, graph)
    for name in ("capabilities", "queries"):
        indexer.sync_text(name, show_progress=False)
    ranking.rank(graph, ranking.load_config(env={}), settings=settings, show_progress=False)
    now = datetime.now(UTC)
    for days in (1, 0):
        rank_history.snapshot(graph, now - timedelta(days=days))


def measure(settings: Any, runs: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    app = create_app(settings, ApiConfig(allowed_hosts=("testserver",)), warm=False)
    client = TestClient(app, headers={"accept": "text/html"})
    graph = app.state.services.graph()
    best = [
        r["id"]
        for r in graph.read(
            "MATCH (a:Artifact) WHERE a.unfragile_rank IS NOT NULL RETURN a.id AS id "
            "ORDER BY a.unfragile_rank DESC, a.id LIMIT 10"
        )
    ]
    paths = {
        "artifact": [f"/artifact/{x}" for x in [A, *[b for b in best if b != A][:9]]],
        "compare": [f"/compare?a={A}&b={B}"]
        + [f"/compare?a={x}&b={best[-1]}" for x in best[:9] if x != best[-1]],
    }
    times: dict[str, list[float]] = {kind: [] for kind in paths}
    for urls in paths.values():
        for url in urls:  # warm-up: connections, templates, first reads
            r = client.get(url)
            if r.status_code != 200:
                raise SystemExit(f"{url}: HTTP {r.status_code}")
    for _ in range(runs):
        for kind, urls in paths.items():
            for url in urls:
                t0 = time.perf_counter()
                r = client.get(url)
                times[kind].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, url
    # Where the time goes: the reads the pages make, timed alone.
    from unfragile.engine.neighbourhood import neighbourhood
    from unfragile.engine.pages import COMPARED_TOP
    from unfragile.graph import pages, projection

    ids = [u.removeprefix("/artifact/") for u in paths["artifact"]]
    pairs = [[A, B], *[[x, best[-1]] for x in best[:9] if x != best[-1]]]
    parts: dict[str, Any] = {
        "artifact: record (projection.artifact_page)": lambda n: projection.artifact_page(
            graph, ids[n % len(ids)]
        ),
        "artifact: match-graph picture (read + networkx layout)": lambda n: neighbourhood(
            graph, ids[n % len(ids)]
        ),
        "compare: both names' exact matches (projection.resolve_exact)": lambda n: (
            projection.resolve_exact(graph, pairs[n % len(pairs)])
        ),
        "compare: both sides, date, people also compared (pages.compare_pair)": lambda n: (
            pages.compare_pair(graph, pairs[n % len(pairs)], COMPARED_TOP)
        ),
        "a trivial read (RETURN 1)": lambda n: graph.read("RETURN 1 AS one"),
    }
    breakdown = {}
    for name, work in parts.items():
        ms = []
        for n in range(max(1, runs // 2) * len(ids)):
            t0 = time.perf_counter()
            work(n)
            ms.append((time.perf_counter() - t0) * 1000)
        breakdown[name] = round(statistics.median(ms), 1)
    app.state.services.close()
    return {"breakdown_ms": breakdown} | {
        kind: {
            "pages": len(paths[kind]),
            "renders": len(ms),
            "median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(percentile(ms, 90), 1),
            "max_ms": round(max(ms), 1),
            "target_met": statistics.median(ms) <= TARGET_MS,
        }
        for kind, ms in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds over the pages")
    parser.add_argument("--home", type=Path, help="an UNFRAGILE_HOME already loaded and ranked")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    m = machine("fastapi", "jinja2", "networkx", "neo4j")
    if args.home:
        from unfragile.engine.settings import Settings

        result = measure(Settings.from_env().with_(home=args.home.expanduser()), args.runs)
    else:
        with tempfile.TemporaryDirectory(prefix="unfragile-pages-") as tmp:
            with throwaway_neo4j(Path(tmp)) as t:
                load(t.settings, t.graph)
                result = measure(t.settings, args.runs)
    if args.json:
        print(json.dumps({"machine": m, "runs": args.runs, "pages": result}, indent=2))
        return
    for line in stamp_lines(m, " ".join(sys.argv)):
        print(line)
    print(f"\n| page | pages × runs | median | p90 | slowest | target ≤ {TARGET_MS:.0f} ms |")
    print("|---|---:|---:|---:|---:|---|")
    breakdown = result.pop("breakdown_ms")
    for kind, r in result.items():
        print(
            f"| {kind} | {r['pages']} × {args.runs} | {r['median_ms']} ms | {r['p90_ms']} ms "
            f"| {r['max_ms']} ms | {'met' if r['target_met'] else 'missed'} |"
        )

    print("\n| one read, alone | median |\n|---|---:|")
    for name, ms in breakdown.items():
        print(f"| {name} | {ms} ms |")


if __name__ == "__main__":
    main()
