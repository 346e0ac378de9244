"""Hugging Face Hub import benchmark: a synthetic 50,000-model listing served on 127.0.0.1.

    python bench/import_hf.py                     # 50,000 models, one run
    python bench/import_hf.py --models 5000 --repeat 3 --json

What it does:

1. Serves tests/hub_server.py's synthetic Hub in a subprocess (its own CPU, so the server's
   Python does not share the importer's GIL): 50,000 models, newest first a minute apart,
   pages of 1,000 joined by `Link` headers, a third of them fine-tuned from an older model
   (`base_model`), each with a short card (front matter, two sentences, a training section).
2. Starts a throwaway Neo4j (or uses NEO4J_URI; it must be empty).
3. Per run, on an empty graph and a fresh progress state: `engine.importers.huggingface
   .import_models` end to end, as `unfragile import huggingface` runs it (listing, details
   and card per model, mapping, ingest in batches with decomposition, progress saved after
   each batch); then the same import again, which finds nothing new (the incremental case).
4. Where the time goes, measured apart on the same server: reading the whole listing;
   reading details + card for a sample of models (with the importer's thread pool);
   mapping and validating (card prose, decomposition) that sample. Writing is the rest.

Records/s = models imported per second of the end-to-end run (the median over --repeat).
The server's and Neo4j's CPU seconds over the run are reported: on a small shared machine
they compete with the importer for the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    command,
    cpu_s,
    describe,
    machine,
    neo4j_info,
    proc_cpu_s,
    say,
    throwaway_neo4j,
    workdir,
)


def serve(models: int, page_size: int) -> tuple[subprocess.Popen, str]:
    """The synthetic Hub in a subprocess; its URL. It stops when its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.hub_server", "--synthetic", str(models)]
        + ["--page-size", str(page_size)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"the synthetic Hub did not start (said {url!r})")
    return proc, url


def one_run(graph: Any, home: Path, url: str, args: argparse.Namespace, pids: dict) -> dict:
    from unfragile.engine.importers.huggingface import HubFilters, import_models
    from unfragile.graph import store

    store.delete_everything(graph)
    shutil.rmtree(home / "imports", ignore_errors=True)
    before = {name: proc_cpu_s(pid) for name, pid in pids.items()}
    own0, t0 = cpu_s(), time.perf_counter()
    report = import_models(
        graph,
        home,
        HubFilters(),
        endpoint=url,
        batch_size=args.batch_size,
        workers=args.workers,
        show_progress=False,
    )
    wall = time.perf_counter() - t0
    cpu = {"importer": cpu_s() - own0}
    for name, pid in pids.items():
        after = proc_cpu_s(pid)
        cpu[name] = None if after is None or before[name] is None else after - before[name]
    t1 = time.perf_counter()
    again = import_models(graph, home, HubFilters(), endpoint=url, show_progress=False)
    again_s = time.perf_counter() - t1
    counts = graph.read(
        "MATCH (a:Artifact) WITH count(a) AS artifacts "
        "OPTIONAL MATCH ()-[d:DERIVED_FROM]->() RETURN artifacts, count(d) AS derived"
    )[0]
    return {
        "seconds": wall,
        "models": report.imported,
        "records_per_s": report.imported / wall,
        "capabilities": report.capabilities,
        "bases_fetched_early": report.bases,
        "batches": report.batches,
        "artifacts_in_graph": counts["artifacts"],
        "derived_from_edges": counts["derived"],
        "cpu_s": cpu,
        "second_run": {"seconds": again_s, "listed": again.listed, "imported": again.imported},
    }


def phases(graph: Any, url: str, sample: int, workers: int, batch_size: int) -> dict[str, Any]:
    """Each phase alone: the whole listing; for `sample` models, details + card, mapping +
    validation (with decomposition), and writing them through ingest to an empty graph."""
    import functools
    from concurrent.futures import ThreadPoolExecutor
    from datetime import date

    from unfragile.engine.decompose import decompose
    from unfragile.engine.importers import hub_records as hr
    from unfragile.engine.importers.hub_client import HubClient
    from unfragile.engine.ingest import ingest
    from unfragile.engine.records import RawRecord
    from unfragile.engine.validation import validate_artifact
    from unfragile.graph import store

    client = HubClient(url, None)
    t0 = time.perf_counter()
    listed = list(client.listing(None, None, None, "lastModified"))
    listing_s = time.perf_counter() - t0
    ids = [m.repo_id for m in listed[:sample]]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        models = [m for m in pool.map(client.model, ids) if m is not None]
    fetch_s = time.perf_counter() - t0
    today = date.today().isoformat()
    t0 = time.perf_counter()
    records = []
    for m in models:
        record = hr.model_record(m.info, m.card, [], today)
        validate_artifact(RawRecord("bench", 1, record), decompose)
        records.append(RawRecord("bench", 1, record))
    map_s = time.perf_counter() - t0
    store.delete_everything(graph)
    t0 = time.perf_counter()
    for start in range(0, len(records), batch_size):
        # As the importer does: validation and writing share one decomposition per card.
        once = functools.lru_cache(maxsize=None)(decompose)
        batch = records[start : start + batch_size]
        ingest(graph, records=batch, show_progress=False, decompose_fn=once)
    ingest_s = time.perf_counter() - t0
    n = max(1, len(models))
    return {
        "listed": len(listed),
        "listing_s": listing_s,
        "sample": len(models),
        "fetch_ms_per_model": 1000 * fetch_s / n,
        "map_validate_ms_per_model": 1000 * map_s / n,
        "ingest_ms_per_model": 1000 * ingest_s / n,
    }


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["records_per_s"])[len(runs) // 2]


def table(result: dict) -> str:
    f, p = result["figures"], result["phases"]
    n = f["models"]
    fetch_s = p["fetch_ms_per_model"] * n / 1000
    map_s = p["map_validate_ms_per_model"] * n / 1000
    ingest_s = p["ingest_ms_per_model"] * n / 1000
    cpu = f["cpu_s"]
    lines = [
        f"command:  {result['command']}",
        f"machine:  {describe(result['machine'])}",
        f"models:   {result['models']:,} served, pages of {result['page_size']:,}; "
        f"batch {result['batch_size']}, {result['workers']} workers",
        "",
        f"end to end:   {f['models']:,} models in {f['seconds']:.1f}s = "
        f"{f['records_per_s']:,.0f} records/s (median of {result['repeat']})",
        f"              {f['capabilities']:,} capabilities, {f['derived_from_edges']:,} "
        f"DERIVED_FROM, {f['bases_fetched_early']:,} base models fetched ahead of the listing",
        f"second run:   nothing new: {f['second_run']['seconds']:.2f}s, listed "
        f"{f['second_run']['listed']}",
        "",
        f"where the time goes: each phase alone ({p['sample']:,} models, scaled to "
        f"{n:,}); in the run, details are read ahead while the batch before is written",
        f"  listing (all pages)         {p['listing_s']:7.1f}s",
        f"  details + card per model    {fetch_s:7.1f}s  ({p['fetch_ms_per_model']:.2f} ms/model, "
        f"{result['workers']} at once)",
        f"  map + validate + decompose  {map_s:7.1f}s  ({p['map_validate_ms_per_model']:.2f} "
        "ms/model)",
        f"  ingest (validate + write)   {ingest_s:7.1f}s  ({p['ingest_ms_per_model']:.2f} "
        "ms/model, on an empty graph)",
        "",
        "CPU seconds during the run: "
        + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if v is not None),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", type=int, default=50_000)
    p.add_argument("--page-size", type=int, default=1000, help="models per listing page")
    p.add_argument("--batch-size", type=int, default=200, help="models per ingest batch")
    p.add_argument("--workers", type=int, default=4, help="details and cards read at once")
    p.add_argument("--sample", type=int, default=2000, help="models timed per phase")
    p.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    p.add_argument("--json", action="store_true")
    p.add_argument("--save", type=Path, default=None, help="also write the JSON result here")
    args = p.parse_args(argv)
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "0"
    log = (lambda *a: None) if args.json else say

    server, url = serve(args.models, args.page_size)
    try:
        with workdir("unfragile-bench-hf-", log=log) as work:
            os.environ["HF_HOME"] = str(work / "hf-home")
            with throwaway_neo4j(work / "home", external=True, log=log) as neo:
                from unfragile.graph import store

                if neo.settings.external_neo4j and any(store.stats(neo.graph).values()):
                    raise SystemExit(f"the graph at {neo.settings.neo4j_uri} is not empty")
                runs = []
                for i in range(args.repeat):
                    log(f"run {i + 1}/{args.repeat}: importing {args.models:,} models ...")
                    pids = {"hub_server": server.pid, "neo4j": neo.pid}
                    runs.append(one_run(neo.graph, work / "home", url, args, pids))
                    log(f"  {runs[-1]['records_per_s']:,.0f} records/s")
                log("timing the phases apart ...")
                result = {
                    "command": command(),
                    "machine": machine("neo4j", "huggingface_hub"),
                    "neo4j": neo4j_info(neo.graph, neo.settings),
                    "models": args.models,
                    "page_size": args.page_size,
                    "batch_size": args.batch_size,
                    "workers": args.workers,
                    "repeat": args.repeat,
                    "figures": median_run(runs),
                    "runs": runs,
                    "phases": phases(neo.graph, url, args.sample, args.workers, args.batch_size),
                }
                store.delete_everything(neo.graph)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
