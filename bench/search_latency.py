"""Search latency: single queries and batches on a synthetic graph of 10k artifacts.

    python bench/search_latency.py                          # 10k artifacts, 100k capabilities,
                                                            # 100k past queries, 300 test queries
    python bench/search_latency.py --sweep-threads --json   # also try torch/FAISS thread counts
    python bench/search_latency.py --artifacts 500 --capabilities 5000 --queries 5000 \\
        --events 10000 --test-queries 60                    # a quick smoke run

What it does:

1. Generates a deterministic (seeded) data set as JSONL in a temporary folder, with
   bench/synthetic.py: the ingest bench's catalog (artifacts with capabilities titled "<Verb>
   <object> <qualifier>"), and search events over `--queries` distinct query texts: every
   query is searched at least once, popular ones (Zipf) again in other sessions; each search
   matches capabilities (half the time naming the capability, else only the artifact) about
   the same verb and object, picked with position bias; clicks, dwell and feedback follow in
   the same session; the events span a year, so recency counts.
2. Starts its own Neo4j in a fresh temporary UNFRAGILE_HOME (never the user's data; NEO4J_URI
   is ignored) and loads both files through the engine's own `engine.ingest.ingest`. The
   server is stopped at the end, whatever happens.
3. Builds the three FAISS stores (capabilities, queries, artifacts) under settings.index_dir
   *without* running MiniLM over 200k texts (about 30 minutes on this CPU). The INDEX VECTORS
   ARE SYNTHETIC, but placed in MiniLM's own space: the real model encodes each "<verb>
   <object>" pair, qualifier and adjective of the generator's vocabulary once (~2,800 short
   phrases), and the vector of a capability or past query is the normalised sum of its parts'
   embeddings plus seeded noise; an artifact's vector is the normalised mean of its
   capabilities'. Real MiniLM query vectors therefore land near the capabilities and past
   queries of their topic with realistic similarities, and the evidence path of the engine
   (neighbour queries above its minimum similarity, then the MATCHED edges) does real work.
   Fingerprints are engine.indexer.fingerprint(model, text) of the exact text the indexer
   embeds, so `unfragile index` considers the stores current (checked with the engine's own
   Indexer.sync_text, which must find nothing to add or update).
4. Opens a SearchEngine(settings, graph) with the real MiniLM encoder: QUERY ENCODING AT
   SEARCH TIME IS REAL (the engine's query-embedding cache is emptied before every timed query
   and batch). After a warm-up it times `--test-queries` realistic query strings (none of them
   a past query verbatim) one at a time through SearchEngine.search, end to end, with a
   breakdown taken by wrapping the engine's calls (no engine code is changed): encoding, FAISS
   (capability and query index), the one Neo4j read (evidence + graph stamp) and the rest
   (BM25, fusion, grouping, checks). Then batch throughput through SearchEngine.search_many in
   batches of `--batch` (median of `--batch-passes` passes over the same queries).
   `--sweep-threads` first compares 1 thread and all CPUs for the query encoder (ONNX
   Runtime) and FAISS, taking turns every 32 queries and every batch, so the shared machine's
   drifting load hits each alike.
5. Diagnostics: the fixed cost of one Neo4j round trip, and the encoder's cost split into
   tokenising, the transformer forward pass and sentence-transformers' own overhead, and an
   int8 dynamically quantised copy of the model (its time and its cosine to the float32
   vectors).

The query encoder's threads are set with --encoder-threads (default 0: one per CPU, as the
engine runs it; in session 14's sweep two threads beat one here, single and batched), FAISS's
with --faiss-threads (default 1), torch's (the diagnostics' PyTorch baseline) with
--torch-threads (default 1); --sweep-threads measures the alternatives. The machine is shared:
load average and the CPU other processes took during the measurement are printed, with a
warning when they are high.

Targets (issue 4): single-query p50 <= 20 ms and p99 <= 60 ms end to end (encoding
included); batch throughput >= 150 queries/s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
from common import (
    code,
    command,
    cpu_window,
    describe,
    loadavg,
    machine,
    ms_summary,
    neo4j_info,
    percentile,
    say,
    throwaway_neo4j,
    verdict,
    workdir,
)
from synthetic import (
    HOWS,
    OBJECTS,
    QUALIFIERS,
    VERBS,
    search_events,
    test_queries,
    topic,
    write_catalog,
)

TARGET_P50_MS = 20.0
TARGET_P99_MS = 60.0
TARGET_QPS = 150.0

# How a synthetic vector is put together from MiniLM embeddings of its parts (all unit
# vectors): "<verb> <object>" + QUAL_WEIGHT * qualifier + HOW_WEIGHT * adjective + noise.
QUAL_WEIGHT = 0.45
HOW_WEIGHT = 0.25
QUERY_NOISE = 0.35
CAPABILITY_NOISE = 0.5

# -- topics of the generator's texts ------------------------------------------------------


class TopicSpace:
    """Real MiniLM embeddings of the vocabulary, and synthetic vectors built from them."""

    def __init__(self, encoder: Any):
        pairs = [f"{v} {o}" for v in VERBS for o in OBJECTS]
        started = time.perf_counter()
        self.pair = encoder.encode(pairs)
        self.qual = encoder.encode(QUALIFIERS)
        self.how = encoder.encode(HOWS)
        self.phrases = len(pairs) + len(QUALIFIERS) + len(HOWS)
        self.seconds = time.perf_counter() - started
        self.dim = self.pair.shape[1]

    def vectors(self, texts: list[str], noise: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            verb, obj, qual, how = topic(text)
            v = self.pair[verb * len(OBJECTS) + obj].copy()
            if qual is not None:
                v += QUAL_WEIGHT * self.qual[qual]
            if how is not None:
                v += HOW_WEIGHT * self.how[how]
            out[row] = v
        jitter = rng.standard_normal(out.shape).astype(np.float32)
        jitter /= np.linalg.norm(jitter, axis=1, keepdims=True)
        out += noise * jitter * np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


# -- measurement --------------------------------------------------------------------------


class Probe:
    """Wraps the engine's collaborators and adds each call's time to the current record."""

    READS = ("evidence_and_stamp",)

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self._undo: list[Callable[[], None]] = []

    def reset(self) -> dict[str, float]:
        done = dict(self.current)
        self.current = defaultdict(float)
        self.calls = Counter()
        return done

    def _timed(self, label: Callable[[], str], fn: Callable) -> Callable:
        def wrapper(*a: Any, **kw: Any) -> Any:
            name = label()
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.current[name] += time.perf_counter() - t0

        return wrapper

    def _counted(self, name: str, fn: Callable) -> Callable:
        def wrapper(*a: Any, **kw: Any) -> Any:
            self.calls[name] += 1
            return fn(*a, **kw)

        return wrapper

    def attach(self, engine: Any) -> None:
        from unfragile.graph import retrieval

        encoder = engine.encoder
        engine.encoder = _TimedEncoder(encoder, self)
        self._undo.append(lambda: setattr(engine, "encoder", encoder))
        for store_name in ("capabilities", "queries"):
            store = getattr(engine, store_name)
            if store is not None:
                store.search = self._timed(lambda n=store_name: f"faiss {n}", store.search)
                self._undo.append(lambda s=store: s.__dict__.pop("search", None))
        for name in self.READS:
            original = getattr(retrieval, name)

            def label(n: str = name) -> str:
                self.calls[f"fn {n}"] += 1
                self.calls["round trips"] += 1  # on the engine's kept session, not graph.read
                return "neo4j evidence + graph stamp (the one read)"

            setattr(retrieval, name, self._timed(label, original))
            self._undo.append(lambda n=name, o=original: setattr(retrieval, n, o))
        graph = engine.graph
        read = graph.read
        graph.read = self._counted("round trips", read)
        self._undo.append(lambda: graph.__dict__.pop("read", None))

    def detach(self) -> None:
        while self._undo:
            self._undo.pop()()


class _TimedEncoder:
    def __init__(self, encoder: Any, probe: Probe):
        self._encoder, self._probe = encoder, probe
        self.dim = encoder.dim

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self._encoder.encode(texts, show_progress)
        finally:
            self._probe.current["encode"] += time.perf_counter() - t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)


def time_one(engine: Any, probe: Probe, text: str, k: int) -> dict[str, Any]:
    """One SearchEngine.search, end to end, with the probe's breakdown (seconds)."""
    probe.reset()
    engine.forget_encodings()  # encoding included, even for a text searched before
    t0 = time.perf_counter()
    found = engine.search(text, k)
    total = time.perf_counter() - t0
    trips = probe.calls["round trips"]
    record: dict[str, Any] = probe.reset()
    record.update(
        total=total,
        trips=trips,
        results=len(found),
        with_evidence=sum(1 for r in found if r.evidence),
    )
    return record


_META = ("total", "trips", "results", "with_evidence")


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles of end-to-end time and of each part over `records` (from time_one)."""
    totals = [r["total"] * 1000 for r in records]
    names = sorted({n for r in records for n in r if n not in _META})
    breakdown = {n: ms_summary([r.get(n, 0.0) * 1000 for r in records]) for n in names}

    def part_sum(r: dict[str, Any], prefix: str = "") -> float:
        return sum(v for n, v in r.items() if n not in _META and n.startswith(prefix))

    other = [(r["total"] - part_sum(r)) * 1000 for r in records]
    breakdown["fusion + other (python)"] = ms_summary(other)
    return {
        "queries": len(records),
        "p50_ms": percentile(totals, 50),
        "p90_ms": percentile(totals, 90),
        "p99_ms": percentile(totals, 99),
        "mean_ms": statistics.fmean(totals),
        "max_ms": max(totals),
        "breakdown": breakdown,
        "groups": {
            "encode": ms_summary([r.get("encode", 0.0) * 1000 for r in records]),
            "faiss": ms_summary([part_sum(r, "faiss") * 1000 for r in records]),
            "neo4j": ms_summary([part_sum(r, "neo4j") * 1000 for r in records]),
            "fusion + other": ms_summary(other),
        },
        "round_trips_per_query": statistics.fmean(r["trips"] for r in records),
        "results_per_query": statistics.fmean(r["results"] for r in records),
        "results_with_evidence_per_query": statistics.fmean(r["with_evidence"] for r in records),
    }


def single_queries(engine: Any, probe: Probe, queries: list[str], k: int) -> dict[str, Any]:
    return summarise([time_one(engine, probe, text, k) for text in queries])


Config = tuple[str, Callable[[], Callable[[], None]]]  # name, apply() -> undo()


def interleaved(
    engine: Any,
    probe: Probe,
    configs: list[Config],
    queries: list[str],
    size: int,
    k: int,
    block: int = 10,
    settle: int = 0,
) -> dict[str, dict[str, Any]]:
    """Each config on the same queries, switched every `block` queries (and every batch).

    The machine is shared and its load drifts over minutes; running the configs one after
    another would compare the load as much as the configs. Here they take turns (the order
    rotates), so every config sees the same stretches of load. `settle` untimed queries run
    after each switch (thread counts: OpenMP workers of the previous setting spin for a while).
    """
    records: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in configs}
    batch_s: dict[str, float] = dict.fromkeys(records, 0.0)

    def under(apply: Callable[[], Callable[[], None]], work: Callable[[], Any]) -> None:
        probe.detach()
        undo = apply()
        probe.attach(engine)
        try:
            work()
        finally:
            probe.detach()
            undo()

    for turn, at in enumerate(range(0, len(queries), block)):
        chunk = queries[at : at + block]
        shift = turn % len(configs)
        for name, apply in configs[shift:] + configs[:shift]:

            def run(n: str = name, c: list[str] = chunk) -> None:
                for text in queries[:settle]:
                    engine.search(text, k)
                records[n].extend(time_one(engine, probe, t, k) for t in c)

            under(apply, run)
    for turn, at in enumerate(range(0, len(queries), size)):
        chunk = queries[at : at + size]
        shift = turn % len(configs)
        for name, apply in configs[shift:] + configs[:shift]:

            def run(n: str = name, c: list[str] = chunk) -> None:
                for text in queries[:settle]:
                    engine.search(text, k)
                engine.forget_encodings()  # the single queries above encoded these already
                t0 = time.perf_counter()
                engine.search_many(c, k)
                batch_s[n] += time.perf_counter() - t0

            under(apply, run)
    probe.attach(engine)
    return {
        name: {**summarise(records[name]), "batch_qps": len(queries) / batch_s[name]}
        for name, _ in configs
    }


def batches(
    engine: Any, probe: Probe, queries: list[str], size: int, k: int, passes: int
) -> dict[str, Any]:
    runs = []
    for _ in range(passes):
        probe.reset()
        seconds = 0.0
        per_batch = []
        for at in range(0, len(queries), size):
            chunk = queries[at : at + size]
            engine.forget_encodings()  # every pass encodes its queries: encoding is included
            t0 = time.perf_counter()
            engine.search_many(chunk, k)
            dt = time.perf_counter() - t0
            seconds += dt
            per_batch.append(round(len(chunk) / dt, 1))
        trips = probe.calls["round trips"]
        parts = probe.reset()
        runs.append(
            {
                "seconds": seconds,
                "qps": len(queries) / seconds,
                "per_batch_qps": per_batch,
                "parts_ms_per_query": {n: 1000 * v / len(queries) for n, v in parts.items()},
                "round_trips_per_query": trips / len(queries),
            }
        )
    runs.sort(key=lambda r: r["qps"])
    median = runs[len(runs) // 2]
    known = sum(median["parts_ms_per_query"].values())
    per_query_ms = 1000 * median["seconds"] / len(queries)
    return {
        "batch": size,
        "queries": len(queries),
        "passes": passes,
        "qps": median["qps"],
        "qps_all_passes": [round(r["qps"], 1) for r in runs],
        "ms_per_query": per_query_ms,
        "parts_ms_per_query": {
            **median["parts_ms_per_query"],
            "fusion + other (python)": per_query_ms - known,
        },
        "per_batch_qps": median["per_batch_qps"],
        "round_trips_per_query": median["round_trips_per_query"],
    }


def set_threads(torch_threads: int, faiss_threads: int) -> None:
    import faiss
    import torch

    torch.set_num_threads(torch_threads)
    faiss.omp_set_num_threads(faiss_threads)


def sweep_threads(
    engine: Any,
    probe: Probe,
    queries: list[str],
    size: int,
    k: int,
    encoders: dict[int, Any],
    faiss_threads: int,
) -> list[dict[str, Any]]:
    """1 thread vs. all CPUs for the query encoder (`encoders`: one per thread count, ONNX
    Runtime fixes its threads when a model loads) and for FAISS, interleaved on the same
    queries."""
    import faiss

    cpus = os.cpu_count() or 1
    combos = sorted({(t, f) for t in encoders for f in (1, cpus)})

    def config(t: int, f: int) -> Config:
        def apply() -> Callable[[], None]:
            was = engine.encoder
            engine.encoder = encoders[t]
            faiss.omp_set_num_threads(f)

            def undo() -> None:
                engine.encoder = was
                faiss.omp_set_num_threads(faiss_threads)

            return undo

        return f"encoder {t} / FAISS {f}", apply

    configs = [config(t, f) for t, f in combos]
    runs = interleaved(engine, probe, configs, queries, size, k, block=32, settle=3)
    out = []
    for (t, f), (name, _) in zip(combos, configs, strict=True):
        r = runs[name]
        out.append(
            {
                "encoder_threads": t,
                "faiss_threads": f,
                "p50_ms": r["p50_ms"],
                "p99_ms": r["p99_ms"],
                "encode_p50_ms": r["groups"]["encode"]["p50_ms"],
                "faiss_p50_ms": r["groups"]["faiss"]["p50_ms"],
                "batch_qps": r["batch_qps"],
                "queries": len(queries),
            }
        )
        say(
            f"  {name}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"batch {r['batch_qps']:.0f} q/s"
        )
    return out


def round_trip_floor(graph: Any, n: int = 200) -> dict[str, Any]:
    """The fixed cost of one read, apart from what the query itself does."""
    import neo4j

    def timed(fn: Callable[[], Any]) -> dict[str, float]:
        for _ in range(20):
            fn()
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1000)
        return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99)}

    out = {
        "graph.read (new session + managed read tx), RETURN 1": timed(
            lambda: graph.read("RETURN 1 AS x")
        )
    }
    with graph.driver.session(
        database=graph.database, default_access_mode=neo4j.READ_ACCESS
    ) as session:
        out["reused session, auto-commit run, RETURN 1"] = timed(
            lambda: session.run("RETURN 1 AS x").data()
        )
        out["reused session, execute_read, RETURN 1"] = timed(
            lambda: session.execute_read(lambda tx: tx.run("RETURN 1 AS x").data())
        )
    return out


def onnx_vs_torch(encoder: Any, queries: list[str]) -> dict[str, Any]:
    """The engine's ONNX Runtime encoder against sentence-transformers on PyTorch (the
    baseline), one query at a time, interleaved, each on `--torch-threads` threads."""
    from unfragile.indexing.text import TextEncoder

    baseline = TextEncoder(encoder.name, backend="torch")
    for text in queries[:5]:
        encoder.encode([text]), baseline.encode([text])
    onnx_ms, torch_ms, cos = [], [], []
    for text in queries:
        t0 = time.perf_counter()
        a = encoder.encode([text])
        t1 = time.perf_counter()
        b = baseline.encode([text])
        t2 = time.perf_counter()
        onnx_ms.append((t1 - t0) * 1000)
        torch_ms.append((t2 - t1) * 1000)
        cos.append(float((a * b).sum()))
    return {
        "queries": len(queries),
        "TextEncoder.encode (all of it)": ms_summary(onnx_ms),
        "PyTorch TextEncoder.encode (baseline)": ms_summary(torch_ms),
        "onnx vs torch cosine": {"mean": statistics.fmean(cos), "min": min(cos)},
        "max_seq_length": None,
        "backend": "onnx",
    }


def encoder_split(encoder: Any, queries: list[str]) -> dict[str, Any]:
    """Single-query encoding: tokenising, the transformer forward pass, the rest (ST's encode)."""
    import torch

    if getattr(encoder, "backend", "torch") != "torch":
        return onnx_vs_torch(encoder, queries)
    model = encoder._model
    tok, fwd, full = [], [], []
    for text in queries[:5]:
        encoder.encode([text])
    for text in queries:
        t0 = time.perf_counter()
        features = (model.preprocess if hasattr(model, "preprocess") else model.tokenize)([text])
        t1 = time.perf_counter()
        with torch.inference_mode():
            model(
                {
                    k: v.to(model.device) if isinstance(v, torch.Tensor) else v
                    for k, v in features.items()
                }
            )
        t2 = time.perf_counter()
        encoder.encode([text])
        t3 = time.perf_counter()
        tok.append((t1 - t0) * 1000)
        fwd.append((t2 - t1) * 1000)
        full.append((t3 - t2) * 1000)
    out = {
        "queries": len(queries),
        "tokenize": ms_summary(tok),
        "forward (incl. pooling)": ms_summary(fwd),
        "TextEncoder.encode (all of it)": ms_summary(full),
        "max_seq_length": getattr(model, "max_seq_length", None),
    }
    # A recommendation candidate, not what the engine does: int8 dynamic quantisation of the
    # Linear layers (torch.ao.quantization.quantize_dynamic), timed the same way, and how close
    # its vectors stay to the float32 ones.
    try:
        import copy
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
            quantized = torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8
            )
        qt, cos = [], []
        for text in queries[:5]:
            quantized.encode([text], normalize_embeddings=True)
        for text in queries:
            t0 = time.perf_counter()
            v = quantized.encode(
                [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            qt.append((time.perf_counter() - t0) * 1000)
            cos.append(float(np.dot(v[0], encoder.encode([text])[0])))
        out["int8 dynamic quantisation, encode"] = ms_summary(qt)
        out["int8 vs float32 cosine"] = {"mean": statistics.fmean(cos), "min": min(cos)}
    except Exception as exc:  # informational only
        out["int8 dynamic quantisation, encode"] = {"error": repr(exc)}
    return out


# -- report ---------------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    m, d, s, b = result["machine"], result["data"], result["single"], result["batch"]
    idx = result["indexes"]
    win = result["measurement_window"]
    lines = [
        f"command: {result['command']}",
        f"machine: {describe(m)}; load average {result['loadavg_start']} at start, "
        f"{m.get('loadavg')} at end",
        f"code:    {code(m['git'])}",
        f"neo4j:   {result['neo4j'].get('edition', '')} {result['neo4j'].get('version', '?')}, "
        f"local temporary server, heap {result['neo4j'].get('heap')}, "
        f"pagecache {result['neo4j'].get('pagecache')}",
        f"threads: encoder {result['threads'].get('encoder', '?')}, torch "
        f"{result['threads']['torch']}, FAISS (OpenMP) "
        f"{result['threads']['faiss']}; encoder {result['encoder']['model']} on "
        f"{result['encoder']['device']}",
        f"data:    {d['graph']['artifacts']:,} artifacts, {d['graph']['capabilities']:,} "
        f"capabilities, {d['graph']['queries']:,} past queries, {d['events']['events']:,} events "
        f"({d['events']['searches']:,} searches in {d['events']['sessions']:,} sessions, "
        f"mix {d['events']['event_mix']}), {d['graph']['matched_edges']:,} MATCHED edges; "
        f"generated in {d['generate_s']:.0f}s, ingested in {d['ingest_s']:.0f}s",
        f"indexes: capabilities {idx['capabilities']['count']:,} vectors "
        f"{idx['capabilities']['index_type']} (nprobe {idx['capabilities']['nprobe']}), queries "
        f"{idx['queries']['count']:,} vectors {idx['queries']['index_type']} (nprobe "
        f"{idx['queries']['nprobe']}); built in {idx['build_s']:.0f}s",
        "         INDEX VECTORS ARE SYNTHETIC (sums of real MiniLM embeddings of each text's "
        "verb+object, qualifier and adjective, plus noise);",
        "         QUERY ENCODING AT SEARCH TIME IS THE REAL MiniLM. Synthetic vs real MiniLM "
        f"vector of the same text: mean cosine {idx['sanity']['queries_mean_cos']:.2f} "
        f"(queries), {idx['sanity']['capabilities_mean_cos']:.2f} (capabilities); "
        f"`unfragile index` would change {idx['sync_check']}",
        "",
        f"single query, end to end (SearchEngine.search, top-{result['top_k']}), "
        f"{s['queries']} queries after {result['warmup']} warm-up:",
        f"  {'p50':<44}{s['p50_ms']:>9.1f} ms  {verdict(s['p50_ms'] <= TARGET_P50_MS)} "
        f"(target <= {TARGET_P50_MS:.0f} ms)",
        f"  {'p99':<44}{s['p99_ms']:>9.1f} ms  {verdict(s['p99_ms'] <= TARGET_P99_MS)} "
        f"(target <= {TARGET_P99_MS:.0f} ms)",
        f"  {'p90 / mean / max':<44}{s['p90_ms']:>9.1f} / {s['mean_ms']:.1f} / "
        f"{s['max_ms']:.1f} ms",
        f"  breakdown per query{'':<25}{'mean':>9} {'p50':>9} {'p99':>9}  (ms)",
    ]
    for name, v in sorted(s["breakdown"].items(), key=lambda kv: -kv[1]["mean_ms"]):
        lines.append(f"    {name:<42}{v['mean_ms']:>9.2f} {v['p50_ms']:>9.2f} {v['p99_ms']:>9.2f}")
    groups = ", ".join(f"{n} {v['mean_ms']:.1f}" for n, v in s["groups"].items())
    lines.append(f"  groups (mean ms): {groups}")
    lines.append(
        f"  Neo4j round trips per query {s['round_trips_per_query']:.2f}; "
        f"results per query {s['results_per_query']:.1f}, of which with match-graph "
        f"evidence {s['results_with_evidence_per_query']:.1f}"
    )
    lines += [
        "",
        f"batch (SearchEngine.search_many, {b['batch']} per call, {b['queries']} queries, median "
        f"of {b['passes']} passes {b['qps_all_passes']}):",
        f"  {'throughput':<44}{b['qps']:>9.1f} q/s {verdict(b['qps'] >= TARGET_QPS)} "
        f"(target >= {TARGET_QPS:.0f} q/s); {b['ms_per_query']:.2f} ms per query",
        f"  per query{'':<35}{'mean':>9}  (ms)",
    ]
    for name, v in sorted(b["parts_ms_per_query"].items(), key=lambda kv: -kv[1]):
        lines.append(f"    {name:<42}{v:>9.2f}")
    lines.append(f"  Neo4j round trips per query {b['round_trips_per_query']:.2f}")
    if result.get("sweep"):
        n = result["sweep"][0]["queries"]
        lines += [
            "",
            f"thread sweep ({n} queries, settings taking turns every 32 queries and "
            "every batch, 3 untimed queries after each switch):",
        ]
        for r in result["sweep"]:
            lines.append(
                f"  encoder {r.get('encoder_threads', r.get('torch_threads'))} / FAISS "
                f"{r['faiss_threads']}: p50 "
                f"{r['p50_ms']:6.1f} ms (encode {r['encode_p50_ms']:.1f}, FAISS "
                f"{r['faiss_p50_ms']:.2f}), p99 {r['p99_ms']:6.1f} ms, batch "
                f"{r['batch_qps']:4.0f} q/s"
            )
    if result.get("variants"):  # results saved by earlier versions of this bench
        v = result["variants"]
        lines += [
            "",
            "end to end with the recommended changes prototyped in this bench by "
            f"patching (same {v['queries']} queries, variants taking turns every 10 "
            f"queries and every batch of {b['batch']}; rows held in memory: "
            f"{v['artifacts_held']:,} artifacts + {v['capabilities_held']:,} "
            f"capabilities, loaded in {v['details_load_s']:.1f}s; same results as "
            f"the engine's reads for {v['memory_prototype_identical_results']} "
            "queries; load average "
            f"{v['loadavg'][0]} -> {v['loadavg'][1]}):",
        ]
        for r in v["runs"]:
            g = r["groups_mean_ms"]
            lines.append(
                f"  {r['variant']:<40} p50 {r['p50_ms']:6.1f} ms, p99 "
                f"{r['p99_ms']:6.1f} ms, batch {r['batch_qps']:4.0f} q/s; mean ms: "
                f"encode {g['encode']:.1f}, neo4j {g['neo4j']:.1f} in "
                f"{r['round_trips_per_query']:.0f} round trips"
            )
    diag = result["diagnostics"]
    lines += ["", "diagnostics:"]
    for name, v in diag["round_trip"].items():
        lines.append(f"  round trip: {name:<58} p50 {v['p50_ms']:.2f} ms, p99 {v['p99_ms']:.2f} ms")
    enc = diag["encoder"]
    for name in (
        "tokenize",
        "forward (incl. pooling)",
        "TextEncoder.encode (all of it)",
        "PyTorch TextEncoder.encode (baseline)",
        "int8 dynamic quantisation, encode",
    ):
        v = enc.get(name, {})
        if "p50_ms" in v:
            lines.append(
                f"  encoder: {name:<58} p50 {v['p50_ms']:.2f} ms, p99 {v['p99_ms']:.2f} ms"
            )
        elif v:
            lines.append(f"  encoder: {name}: {v}")
    if "onnx vs torch cosine" in enc:
        c = enc["onnx vs torch cosine"]
        lines.append(
            f"  encoder: ONNX vs PyTorch vectors, cosine mean {c['mean']:.6f}, min {c['min']:.6f}"
        )
    if "int8 vs float32 cosine" in enc:
        c = enc["int8 vs float32 cosine"]
        lines.append(
            f"  encoder: int8 vs float32 vectors, cosine mean {c['mean']:.4f}, min {c['min']:.4f}"
        )
    lines.append(f"  encoder max_seq_length {enc['max_seq_length']}")
    for name, v in diag.get("combined_reads", {}).items():
        if isinstance(v, dict):
            tail = f", p50 {v['p50_ms']:.2f} ms, p99 {v['p99_ms']:.2f} ms" if "p50_ms" in v else ""
            lines.append(f"  neo4j reads: {name:<56} mean {v['mean_ms']:.2f} ms{tail}")
    lines += [
        "",
        f"machine during the measurement ({win['wall_s']:.0f}s): load average "
        f"{win['loadavg_start']} -> {win['loadavg_end']}; CPU seconds: bench "
        f"{win['bench_cpu_s']:.1f}, Neo4j {win['neo4j_cpu_s'] or 0:.1f}, other processes "
        f"{win.get('others_cpu_s') or 0:.1f}"
        + (
            f" ({100 * win['others_share_of_machine']:.0f}% of the machine)"
            if win.get("others_share_of_machine") is not None
            else ""
        ),
    ]
    for w in result["warnings"]:
        lines.append(f"WARNING: {w}")
    return "\n".join(lines)


def _warnings(result: dict[str, Any]) -> list[str]:
    """Only what other processes did: later load averages include the bench and its Neo4j."""
    out = []
    cpus = result["machine"].get("nproc") or 1
    load = result["loadavg_start"]
    if load and float(load.split()[0]) > 0.5 * cpus:
        out.append(
            f"load average {load.split()[0]} on {cpus} CPUs before the bench started: "
            "the machine is shared and busy, so latencies are worse than on an idle one"
        )
    share = result["measurement_window"].get("others_share_of_machine")
    if share is not None and share > 0.15:
        out.append(
            f"other processes used {100 * share:.0f}% of the machine's CPU during the "
            "measurement, so latencies are worse than on an idle machine"
        )
    return out


# -- main -----------------------------------------------------------------------------------


def build_indexes(settings: Any, graph: Any, encoder: Any, seed: int) -> dict[str, Any]:
    from unfragile.engine.indexer import Indexer, artifact_text, capability_text, fingerprint
    from unfragile.graph import retrieval, store
    from unfragile.indexing.vectors import VectorStore

    started = time.perf_counter()
    space = TopicSpace(encoder)
    say(f"  vocabulary: {space.phrases:,} phrases encoded with MiniLM in {space.seconds:.1f}s")
    model = settings.text_model
    info: dict[str, Any] = {
        "vocabulary_phrases": space.phrases,
        "vocabulary_encode_s": space.seconds,
    }
    sanity: dict[str, float] = {}
    for name, rows, to_text, noise, salt in (
        ("capabilities", store.capability_texts(graph), capability_text, CAPABILITY_NOISE, 1),
        ("queries", store.query_texts(graph), lambda r: r["text"] or r["id"], QUERY_NOISE, 2),
    ):
        t0 = time.perf_counter()
        keys = [r["id"] for r in rows]
        texts = [to_text(r) for r in rows]
        # The vector is built from the title (capabilities) or the text (queries): the parts
        # the generator put together; the fingerprint is of what the indexer would embed.
        sources = [r["title"] for r in rows] if name == "capabilities" else texts
        vectors = space.vectors(sources, noise, seed * 10 + salt)
        vs = VectorStore.create(
            settings.index_dir,
            name,
            model,
            space.dim,
            exact_limit=settings.exact_limit,
            kind=settings.index_kind,
        )
        vs.upsert(keys, [fingerprint(model, t) for t in texts], vectors)
        vs.save()
        sample = np.random.default_rng(seed).choice(len(texts), min(200, len(texts)), replace=False)
        real = encoder.encode([texts[i] for i in sample])
        sanity[f"{name}_mean_cos"] = float(np.mean(np.sum(real * vectors[sample], axis=1)))
        info[name] = {
            "count": len(vs),
            "index_type": vs.index_type,
            "nprobe": vs.search_effort,
            "seconds": time.perf_counter() - t0,
        }
        say(
            f"  {name}: {len(vs):,} vectors, {vs.index_type}, nprobe {vs.search_effort}, "
            f"{time.perf_counter() - t0:.1f}s"
        )
    # Artifacts: the normalised mean of their capabilities' vectors (a description sums up
    # what an artifact does), fingerprinted as the indexer would embed name + description.
    t0 = time.perf_counter()
    caps = VectorStore.open(
        settings.index_dir,
        "capabilities",
        model,
        space.dim,
        exact_limit=settings.exact_limit,
        kind=settings.index_kind,
    )
    owned: dict[str, list[str]] = {}
    for r in retrieval.capability_rows(graph):
        owned.setdefault(r["artifact"], []).append(r["id"])
    rows = retrieval.artifact_rows(graph)
    vectors = np.zeros((len(rows), space.dim), dtype=np.float32)
    for i, r in enumerate(rows):
        own = [caps.vector(c) for c in owned.get(r["id"], [])]
        own = [v for v in own if v is not None]
        if own:
            vectors[i] = np.mean(own, axis=0)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    vs = VectorStore.create(
        settings.index_dir,
        "artifacts",
        model,
        space.dim,
        exact_limit=settings.exact_limit,
        kind=settings.index_kind,
    )
    vs.upsert(
        [r["id"] for r in rows], [fingerprint(model, artifact_text(r)) for r in rows], vectors
    )
    vs.save()
    info["artifacts"] = {
        "count": len(vs),
        "index_type": vs.index_type,
        "nprobe": vs.search_effort,
        "seconds": time.perf_counter() - t0,
    }
    say(f"  artifacts: {len(vs):,} vectors, {vs.index_type}, {time.perf_counter() - t0:.1f}s")
    info["sanity"] = sanity
    indexer = Indexer(settings, graph)
    reports = [
        indexer.sync_text(n, show_progress=False) for n in ("capabilities", "queries", "artifacts")
    ]
    changed = sum(r.added + r.updated + r.removed for r in reports)
    info["sync_check"] = (
        "nothing (all three stores current)"
        if changed == 0
        else f"{changed} vectors: " + "; ".join(str(r.as_dict()) for r in reports)
    )
    info["build_s"] = time.perf_counter() - started
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--artifacts", type=int, default=10_000)
    p.add_argument("--capabilities", type=int, default=100_000, help="in total")
    p.add_argument("--queries", type=int, default=100_000, help="distinct past query texts")
    p.add_argument("--events", type=int, default=200_000, help="about this many events")
    p.add_argument("--zipf", type=float, default=1.0, help="popularity of repeated searches")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--test-queries", type=int, default=300)
    p.add_argument(
        "--warmup",
        type=int,
        default=200,
        help="distinct warm-up queries (the JVM and caches need a few hundred)",
    )
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batch-passes", type=int, default=3)
    p.add_argument(
        "--encoder-threads",
        type=int,
        default=0,
        help="ONNX Runtime threads of the query encoder (0: one per CPU, the engine's default)",
    )
    p.add_argument("--torch-threads", type=int, default=1, help="for the PyTorch baseline")
    p.add_argument("--faiss-threads", type=int, default=1)
    p.add_argument(
        "--sweep-threads",
        action="store_true",
        help="also time short runs with 1 and all CPUs for the encoder and FAISS",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--save", type=Path, default=None, help="also write the JSON result here")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = p.parse_args(argv)
    if args.queries > args.events:
        p.error("--events must be at least --queries (every past query is searched once)")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with workdir("unfragile-latency-", args.keep) as work:
        result = run(args, work)
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(table(result))
    return 0


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Generate, load and index the data, then time the searches; the result for the report."""
    import faiss
    import torch

    from unfragile.engine.ingest import ingest
    from unfragile.engine.records import normalise_query
    from unfragile.engine.search import SearchEngine
    from unfragile.indexing.text import TextEncoder

    loadavg_start = loadavg()
    set_threads(args.torch_threads, args.faiss_threads)
    # torch's OpenMP; the query encoder (ONNX Runtime) is given its own threads below.
    os.environ["OMP_NUM_THREADS"] = str(args.torch_threads)
    cpus = os.cpu_count() or 1
    encoder_threads = args.encoder_threads or cpus
    data = work / "data"
    say(f"generating data in {data} ...")
    t0 = time.perf_counter()
    data.mkdir()
    write_catalog(data / "catalog.jsonl", args.artifacts, args.capabilities, Random(args.seed))
    catalog = {
        "artifacts": args.artifacts,
        "capabilities": args.capabilities,
        "catalog_bytes": (data / "catalog.jsonl").stat().st_size,
    }
    events, past_texts = search_events(data, args.queries, args.events, args.zipf, args.seed)
    generate_s = time.perf_counter() - t0
    say(
        f"  {catalog['capabilities']:,} capabilities, {events['events']:,} events over "
        f"{args.queries:,} queries in {generate_s:.0f}s"
    )
    with throwaway_neo4j(work / "home") as neo:
        graph, settings = neo.graph, neo.settings
        say("ingesting through engine.ingest.ingest ...")
        t0 = time.perf_counter()
        for name in ("catalog.jsonl", "events.jsonl"):
            ingest(graph, data / name, batch_size=settings.batch_size, show_progress=False)
        ingest_s = time.perf_counter() - t0
        counts = {
            "artifacts": "MATCH (a:Artifact) RETURN count(a) AS n",
            "capabilities": "MATCH (c:Capability) RETURN count(c) AS n",
            "queries": "MATCH (q:Query) RETURN count(q) AS n",
            "matched_edges": "MATCH (:Query)-[m:MATCHED]->() RETURN count(m) AS n",
        }
        graph_counts = {k: graph.read(q)[0]["n"] for k, q in counts.items()}
        say(f"  {graph_counts} in {ingest_s:.0f}s")

        say("loading MiniLM and building the FAISS stores (synthetic vectors) ...")
        encoder = TextEncoder(settings.text_model, threads=encoder_threads)
        indexes = build_indexes(settings, graph, encoder, args.seed)

        past = {normalise_query(t) for t in past_texts}
        queries = test_queries(args.test_queries + args.warmup, args.seed + 1, past)
        warm, measured = queries[: args.warmup], queries[args.warmup :]
        engine = SearchEngine(settings, graph, encoder=encoder)
        probe = Probe()
        probe.attach(engine)
        window: dict[str, Any] = {}
        sweep = None
        with cpu_window(neo.pid, window):
            say(f"warm-up: {len(warm)} queries, one at a time and in batches ...")
            for text in warm:
                engine.search(text, args.top_k)
            for at in range(0, len(warm), args.batch):
                engine.search_many(warm[at : at + args.batch], args.top_k)
            if args.sweep_threads:
                say("thread sweep ...")
                sweep = sweep_threads(
                    engine,
                    probe,
                    measured[:64],
                    args.batch,
                    args.top_k,
                    {
                        t: encoder
                        if t == encoder_threads
                        else TextEncoder(settings.text_model, threads=t)
                        for t in sorted({1, cpus})
                    },
                    args.faiss_threads,
                )
            say(f"single queries: {len(measured)} ...")
            single = single_queries(engine, probe, measured, args.top_k)
            say(f"  p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms")
            say(f"batches of {args.batch}: {args.batch_passes} passes ...")
            batch = batches(engine, probe, measured, args.batch, args.top_k, args.batch_passes)
            say(f"  {batch['qps']:.1f} q/s")
        probe.detach()
        say("diagnostics ...")
        diagnostics = {
            "round_trip": round_trip_floor(graph),
            "encoder": encoder_split(encoder, measured[:100]),
        }
        result = {
            "command": command(),
            "machine": machine(),
            "loadavg_start": loadavg_start,
            "neo4j": neo4j_info(graph, settings),
            "threads": {
                "encoder": encoder_threads,
                "torch": torch.get_num_threads(),
                "faiss": faiss.omp_get_max_threads(),
            },
            "encoder": {"model": settings.text_model, "device": encoder.device},
            "data": {
                "catalog": catalog,
                "events": events,
                "graph": graph_counts,
                "generate_s": generate_s,
                "ingest_s": ingest_s,
                "seed": args.seed,
            },
            "indexes": indexes,
            "synthetic_index_vectors": True,
            "real_query_encoding": True,
            "top_k": args.top_k,
            "warmup": args.warmup,
            "test_query_examples": measured[:8],
            "single": single,
            "batch": batch,
            "sweep": sweep,
            "reloads": engine.reloads,
            "diagnostics": diagnostics,
            "measurement_window": window,
            "targets": {"p50_ms": TARGET_P50_MS, "p99_ms": TARGET_P99_MS, "qps": TARGET_QPS},
            "pass": {
                "p50": single["p50_ms"] <= TARGET_P50_MS,
                "p99": single["p99_ms"] <= TARGET_P99_MS,
                "qps": batch["qps"] >= TARGET_QPS,
            },
        }
    result["warnings"] = _warnings(result)
    return result


if __name__ == "__main__":
    sys.exit(main())
