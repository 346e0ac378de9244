"""Logs must never hurt: MetaTool R@1 as the search log grows from nothing to the whole log half.

    python bench/search_log_share.py                 # salt A, 1,000 dev queries, JSON saved
    python bench/search_log_share.py --limit 0       # every dev query (slow)

The split is bench/search_quality.py's (salt A: half the distinct query texts are the log,
the other half dev queries). The tools are imported and indexed with no log (0%), then the
log half is loaded in nested steps — 2%, 5%, 20%, 50%, 100% of its texts, chosen by a salted
hash so each step holds the previous one — indexing the queries after each step. At every
step the dev subsample is searched with the default weights, then `unfragile train` runs and
the engine is searched as it would run after it (the learned model when training kept one,
else the default weights again). R@1, R@5 and MRR@10 per step; the claim checked is that
R@1 never falls below the cold R@1 and rises with the share.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time

from common import RESULTS, command, machine, metatool_dir, say, throwaway_neo4j, workdir
from search_quality import (
    CachedEncoder,
    evaluate,
    learned_row,
    split_queries,
    subsample,
    to_json,
)

from unfragile.engine.records import normalise_query
from unfragile.engine.search import SearchEngine, Weights

STEPS = (0.02, 0.05, 0.2, 0.5, 1.0)


def step_of(salt: str, norm: str) -> float:
    digest = hashlib.blake2b(f"{salt}\x1fshare\x1f{norm}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--salt", default="A")
    p.add_argument("--limit", type=int, default=1000, help="dev queries (0: all)")
    args = p.parse_args(argv)
    from unfragile.engine.indexer import Indexer
    from unfragile.engine.ingest import ingest
    from unfragile.engine.metatool import metatool_records
    from unfragile.indexing.text import TextEncoder

    folder = metatool_dir()
    split = split_queries(folder / "queries.csv", args.salt)
    dev = subsample(split.dev, args.limit or None, args.salt)
    say(f"split {args.salt!r}: {len(split.logs)} log texts; evaluating {len(dev)} dev queries")
    table: list[dict[str, object]] = []
    timings: dict[str, object] = {}
    with workdir("unfragile-logshare-") as work, throwaway_neo4j(work / "home") as neo:
        settings, graph = neo.settings, neo.graph
        encoder = CachedEncoder(TextEncoder(settings.text_model))
        encoder.prime([t for t, _ in dev])
        indexer = Indexer(settings, graph, text_encoder=encoder.encoder)
        tools = metatool_records(folder, with_queries=False, embed=encoder.encoder.encode)
        ingest(graph, records=tools, show_progress=False)
        for name in ("capabilities", "queries", "artifacts"):
            indexer.sync_text(name, show_progress=False)
        loaded = 0.0
        for share in (0.0, *STEPS):
            t0 = time.perf_counter()
            if share > 0:
                wanted = {q for q in split.logs if loaded <= step_of(args.salt, q) < share}
                records = metatool_records(
                    folder,
                    keep_query=lambda q, w=wanted: normalise_query(q) in w,  # type: ignore[misc]
                    embed=encoder.encoder.encode,
                )
                records = [r for r in records if "query" in r.data]  # the tools are in already
                ingest(graph, records=records, show_progress=False)
                indexer.sync_text("queries", show_progress=False)
                loaded = share
            texts = sum(1 for q in split.logs if step_of(args.salt, q) < share)
            engine = SearchEngine(settings, graph, encoder=encoder, weights=Weights())
            m, ms, _ = evaluate(engine, dev)
            after, report = learned_row(settings, graph, encoder, dev, f"{share:g}", timings)
            row = {
                "share": share,
                "log_texts": texts,
                "default": m,
                "after_train": {k: getattr(after, k) for k in ("r1", "r5", "mrr10")},
                "train": report["status"],
                "train_reason": report["reason"],
                "cv": report["cv"],
                "median_ms": ms,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            table.append(row)
            say(f"  {share:>5.0%}: {row}")
    cold = table[0]["default"]["r1"]  # type: ignore[index]
    print(f"MetaTool log share, salt {args.salt}, {len(dev)} dev queries")
    print("| log share | log texts | R@1 default weights | R@1 after train | ranker | R@5 |")
    print("|---:|---:|---:|---:|---|---:|")
    for r in table:
        d, a = r["default"], r["after_train"]
        print(
            f"| {r['share']:.0%} | {r['log_texts']:,} | {d['r1']:.3f} | {a['r1']:.3f} | "  # type: ignore[index]
            f"{r['train']} | {a['r5']:.3f} |"  # type: ignore[index]
        )
    worst = min(min(r["default"]["r1"], r["after_train"]["r1"]) for r in table)  # type: ignore[index]
    print(f"cold R@1 {cold:.3f}; lowest R@1 at any share {worst:.3f}")
    result = {
        "command": command(short=True),
        "machine": machine("torch"),
        "salt": args.salt,
        "dev": len(dev),
        "rows": table,
        "timings": timings,
    }
    path = RESULTS / f"search_log_share_{args.salt}.json"
    path.write_text(to_json(result) + "\n")
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
