"""BM25's cost of matching the longer words a query word begins, at 100k capability texts.

    python bench/lexical_forms.py                    # 100,000 texts, 3 rounds
    python bench/lexical_forms.py --texts 20000      # a quicker run

The texts are bench/synthetic.py's capability texts (seeded); the queries are its 300 test
queries and the questions of bench/queries/probes-session13.txt. Each query is asked of one
BM25 index (indexing/lexical.py) twice, taking turns so the machine's drifting load hits both
alike: with `typed=""` (no word stands for the longer words it begins: whole words only, the
baseline) and as the engine asks (every typed word of 5+ letters also finds its longer forms).
Prints per-query p50 / p99 ms of each and the ratio of the medians, per round.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import synthetic
from common import ROOT, describe, loadavg, machine, percentile

from unfragile.indexing.lexical import BM25


def texts(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    i = 0
    while len(out) < count:
        caps, _ = synthetic._capabilities(rng, f"a{i}", 10)
        out += [f"{c['title']} {c['text']}" for c in caps]
        i += 1
    return out[:count]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    index = BM25(texts(args.texts))
    probes = ROOT / "bench" / "queries" / "probes-session13.txt"
    queries = synthetic.test_queries(300, 11, set())
    queries += [q.strip() for q in probes.read_text(encoding="utf-8").splitlines() if q.strip()]
    print(f"BM25 over {args.texts:,} synthetic capability texts, {len(queries)} queries, top 50")
    for r in range(args.rounds):
        whole: list[float] = []
        forms: list[float] = []
        for q in queries:
            for typed, into in (("", whole), (None, forms)):
                t = time.perf_counter()
                index.top_arrays(q, 50, typed)
                into.append((time.perf_counter() - t) * 1e3)
        print(
            f"round {r + 1}: whole words p50 {statistics.median(whole):.2f} ms, p99 "
            f"{percentile(whole, 99):.2f} | with longer forms p50 {statistics.median(forms):.2f} "
            f"ms, p99 {percentile(forms, 99):.2f} | ratio of medians "
            f"{statistics.median(forms) / statistics.median(whole):.2f}"
        )
    print(f"{describe(machine())}, load {loadavg()}")


if __name__ == "__main__":
    main()
