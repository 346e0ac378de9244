"""FAISS and Neo4j's native vector index on the same vectors, side by side: latency and recall@k.

    python bench/neo4j_vectors.py                       # 100k x 384, 300 timed queries, k=10
    python bench/neo4j_vectors.py --n 20000 --queries 100 --json

In one run, on the clustered, L2-normalised vectors and held-out queries of
bench/vector_search.py (same mixture, same seeds):

1. ground truth: faiss.IndexFlatIP, batched; its top-k of every query is what recall counts.
2. FAISS in-process, through indexing.vectors.VectorStore: kind "exact" (flat) for reference and
   kind "auto" with exact_limit 0, which makes it IVF at any size with the store's own nlist
   and nprobe. FAISS runs on one OpenMP thread while single queries are timed.
3. Neo4j: a throwaway local server in a temp UNFRAGILE_HOME (the project's own Neo4j 5, see
   graph/server.py), or the server in NEO4J_URI when that is set (its :Vec nodes and vec_idx
   are removed afterwards). The vectors become (:Vec {id, embedding}) nodes, loaded in UNWIND
   batches with db.create.setNodeVectorProperty (a float32 array); then a cosine vector index
   is created and awaited. Single queries go through the Python driver, one session, one
   auto-commit query each:
       CALL db.index.vector.queryNodes('vec_idx', $candidates, $q) YIELD node, score
       RETURN node.id, score ORDER BY score DESC LIMIT $k
   with candidates = k (the plain call) and, since Neo4j 5 exposes no search-effort knob,
   larger candidate counts cut back to k, which is how recall is bought there.

Every latency is p50/p99 over --queries held-out queries, one at a time, after a warm-up pass
over --warmup other queries, median over --repeat passes. FAISS is measured in-process; Neo4j
over Bolt on loopback, so its figures include the driver's round trip and parameter packing:
the rows `RETURN 1` and `RETURN size($q)` (the same 384-float parameter, no search) are that
floor. Latencies on a shared machine are noisy; medians over passes damp that, not remove it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import neo4j
import numpy as np
from common import Columns, command, machine, p50_p99_ms, stamp_lines, throwaway_neo4j, workdir
from synthetic import Mixture

from unfragile.indexing.vectors import VectorStore

LOAD = (
    "UNWIND $rows AS row CREATE (v:Vec {id: row.id}) WITH v, row "
    "CALL db.create.setNodeVectorProperty(v, 'embedding', row.embedding)"
)
INDEX = (
    "CREATE VECTOR INDEX vec_idx IF NOT EXISTS FOR (v:Vec) ON v.embedding OPTIONS "
    "{{indexConfig: {{`vector.dimensions`: {dim}, `vector.similarity_function`: 'cosine'}}}}"
)
SEARCH = (
    "CALL db.index.vector.queryNodes('vec_idx', $candidates, $q) YIELD node, score "
    "RETURN node.id AS id, score ORDER BY score DESC LIMIT $k"
)


def measure(search, queries, warmup, repeat: int) -> tuple[list, float, float]:
    """Run `search` on each query alone: (results of the first pass, p50 ms, p99 ms)."""
    for q in warmup:
        search(q)
    first, passes = [], []
    for _ in range(repeat):
        times, results = [], []
        for q in queries:
            t0 = time.perf_counter()
            results.append(search(q))
            times.append(time.perf_counter() - t0)
        first = first or results
        passes.append(p50_p99_ms(times))
    return (
        first,
        statistics.median(p[0] for p in passes),
        statistics.median(p[1] for p in passes),
    )


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return (
        sum(len(set(row) & set(t.tolist())) for row, t in zip(found, truth, strict=True))
        / truth.size
    )


def faiss_rows(data, queries, warmup, truth, args) -> list[dict]:
    keys = [str(i) for i in range(len(data))]
    rows = []
    faiss.omp_set_num_threads(args.threads)
    # exact_limit 0: "auto" goes approximate at any size (the engine's default is 50,000).
    # The stores are never saved, so their folder is only a formality.
    for kind in ("exact", "auto"):
        t0 = time.perf_counter()
        store = VectorStore(Path(tempfile.gettempdir()), "bench", "synthetic", args.dim, 0, kind)
        store.upsert(keys, keys, data)
        build = time.perf_counter() - t0
        faiss.omp_set_num_threads(1)
        hits, p50, p99 = measure(
            lambda q, s=store: s.search(q, args.k)[0],
            [queries[i : i + 1] for i in range(len(queries))],
            [warmup[i : i + 1] for i in range(len(warmup))],
            args.repeat,
        )
        faiss.omp_set_num_threads(args.threads)
        name = f"faiss {store.index_type}"
        if store.search_effort is not None:
            name += f" nprobe {store.search_effort}"
        found = [[int(key) for key, _ in h] for h in hits]
        rows.append(row(name, p50, p99, recall(found, truth), build_s=build))
        print_row(rows[-1])
        del store
    return rows


def row(name: str, p50: float, p99: float, rec: float | None, **extra) -> dict:
    return {"name": name, "p50_ms": p50, "p99_ms": p99, "recall": rec, **extra}


def columns(k: int) -> Columns:
    return Columns(
        ("", "<44"), ("p50 ms", ">8.3f"), ("p99 ms", ">8.3f"), (f"recall@{k}", ">9"), sep=" "
    )


def print_row(r: dict) -> None:
    rec = "" if r["recall"] is None else f"{r['recall']:.4f}"
    print(columns(0).row(r["name"], r["p50_ms"], r["p99_ms"], rec), flush=True)


def neo4j_rows(data, queries, warmup, truth, args) -> tuple[list[dict], dict]:
    """Load, index and query; return the latency rows and the setup figures."""
    with (
        workdir("unfragile-neo4j-bench-") as tmp,
        throwaway_neo4j(tmp, external=True, schema=False) as neo,
    ):
        settings, info = neo.settings, {}
        if settings.external_neo4j:
            info["server"] = settings.neo4j_uri
        else:
            info["start_s"] = neo.start_s
            info["server"] = f"local Neo4j, heap {settings.neo4j_heap}, "
            info["server"] += f"pagecache {settings.neo4j_pagecache}, home {tmp}"
        with neo.graph.driver.session(database=settings.neo4j_database) as session:
            nodes = session.run("MATCH (v:Vec) RETURN count(v) > 0").single()[0]
            index = session.run("SHOW INDEXES WHERE name = 'vec_idx'").single()
            if nodes or index is not None:
                raise SystemExit("the server already has :Vec nodes or vec_idx; use another")
            try:
                return run_neo4j(session, data, queries, warmup, truth, args, info), info
            finally:
                if settings.external_neo4j:  # someone else's server: leave it as it was
                    session.run("DROP INDEX vec_idx IF EXISTS").consume()
                    session.run(
                        "MATCH (v:Vec) CALL { WITH v DETACH DELETE v } "
                        "IN TRANSACTIONS OF 10000 ROWS"
                    ).consume()


def run_neo4j(session: neo4j.Session, data, queries, warmup, truth, args, info) -> list[dict]:
    info["version"] = session.run(
        "CALL dbms.components() YIELD versions RETURN versions[0]"
    ).single()[0]
    print(f"  server: {info['server']} (Neo4j {info['version']})", flush=True)
    if "start_s" in info:
        print(f"  started in {info['start_s']:.1f} s", flush=True)

    t0 = time.perf_counter()
    for start in range(0, len(data), args.batch):
        rows = [
            {"id": start + i, "embedding": v.tolist()}
            for i, v in enumerate(data[start : start + args.batch])
        ]
        session.execute_write(lambda tx, rows=rows: tx.run(LOAD, rows=rows).consume())
    info["load_s"] = time.perf_counter() - t0
    print(f"  loaded {len(data):,} :Vec nodes in {info['load_s']:.1f} s", flush=True)

    t0 = time.perf_counter()
    session.run(INDEX.format(dim=args.dim)).consume()
    session.run("CALL db.awaitIndex('vec_idx', $s)", s=args.index_timeout).consume()
    info["index_s"] = time.perf_counter() - t0
    record = session.run(
        "SHOW INDEXES YIELD name, indexProvider, options WHERE name = 'vec_idx' "
        "RETURN indexProvider, options.indexConfig AS config"
    ).single()
    info["index_provider"], info["index_config"] = record["indexProvider"], record["config"]
    print(f"  vector index built and online in {info['index_s']:.1f} s", flush=True)
    print(f"  {info['index_provider']} {info['index_config']}", flush=True)

    qs, ws = [q.tolist() for q in queries], [q.tolist() for q in warmup]
    out = []
    floors = {
        "RETURN 1": lambda q: session.run("RETURN 1").values(),
        "RETURN size($q)": lambda q: session.run("RETURN size($q)", q=q).values(),
    }
    for name, floor in floors.items():
        _, p50, p99 = measure(floor, qs, ws, args.repeat)
        out.append(row(f"neo4j floor: {name}", p50, p99, None))
        print_row(out[-1])
    for candidates in args.candidates:
        found, p50, p99 = measure(
            lambda q, c=candidates: session.run(SEARCH, q=q, candidates=c, k=args.k).values(),
            qs,
            ws,
            args.repeat,
        )
        rec = recall([[r[0] for r in rows] for rows in found], truth)
        out.append(row(f"neo4j queryNodes k={candidates}", p50, p99, rec, candidates=candidates))
        print_row(out[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="stored vectors")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300, help="held-out queries timed")
    parser.add_argument("--warmup", type=int, default=50, help="other queries run first")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--centres", type=int, default=2000, help="mixture centres")
    parser.add_argument("--topics", type=int, default=100, help="topics the centres group into")
    parser.add_argument(
        "--candidates",
        default="10,50,100",
        help="comma-separated queryNodes k values (results cut back to --k)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="latency passes per row")
    parser.add_argument("--batch", type=int, default=1000, help="nodes per UNWIND transaction")
    parser.add_argument("--index-timeout", type=int, default=3600, help="seconds to await")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="FAISS threads for building"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    args.candidates = [int(c) for c in args.candidates.split(",")]
    sys.stdout.reconfigure(line_buffering=True)

    stamp = {**machine("faiss", "numpy", "neo4j"), "command": command()}
    print("\n".join(stamp_lines(stamp, stamp["command"])))
    print(
        f"data:     {args.n:,} x {args.dim} float32, L2-normalised, clustered ({args.centres} "
        f"centres, {args.topics} topics); {args.queries} held-out queries timed after "
        f"{args.warmup} warm-up queries, {args.repeat} passes; k={args.k}"
    )

    mixture = Mixture(args.dim, args.centres, args.topics, args.seed)
    data = mixture.sample(args.n, seed=args.seed + 1)
    queries = mixture.sample(args.queries, seed=args.seed + 2)
    warmup = mixture.sample(args.warmup, seed=args.seed + 3)
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(data)
    _, truth = flat.search(queries, args.k)
    del flat

    header = columns(args.k).header()
    print(f"\nFAISS, in-process (VectorStore, 1 thread while timing)\n{header}")
    rows = faiss_rows(data, queries, warmup, truth, args)
    print("\nNeo4j, over Bolt on loopback (Python driver, one session)")
    neo4j_list, info = neo4j_rows(data, queries, warmup, truth, args)
    rows += neo4j_list

    print(f"\nside by side: {args.n:,} x {args.dim}, {args.queries} single queries, k={args.k}")
    print(header)
    for r in rows:
        print_row(r)
    builds = ", ".join(f"{r['name']} {r['build_s']:.1f} s" for r in rows if "build_s" in r)
    print(f"  build: {builds}")
    print(f"  neo4j: load {info['load_s']:.1f} s, vector index {info['index_s']:.1f} s")
    if args.json:
        result = {"machine": stamp, "args": vars(args), "neo4j": info, "rows": rows}
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
