"""Spike: does fine-tuning MiniLM on the search logs lift search quality on the dev queries?

    python bench/tune_text_model.py                      # salt A, 1 epoch, batch 32, lr 3e-5
    python bench/tune_text_model.py --salt B --json      # saved as bench/results/tune_B.json

Offline and without Neo4j. The split is bench/search_quality.py's own (`split_queries`, the
same salted hash of the normalised query text), the tool texts are what it imports
(`metatool_records(..., with_queries=False)`, each tool's `description`).

1. Training pairs: one per (distinct log text, tool), the log text as first written in the
   csv -> the tool's description. MultipleNegativesRankingLoss (sentence-transformers' own,
   scale 20, in-batch negatives), AdamW, linear warm-up over 10% of the steps then linear
   decay, seed fixed; batches never hold two pairs of one tool (a second pair of the same tool
   would be a false in-batch negative). No dev query is ever seen by the training. The tuned
   model lives in a temporary directory that is deleted at the end.
2. Both models, base and tuned, are evaluated on every dev query with numpy/FAISS:
   - dense: cosine of the query to each tool's description;
   - vote: the 20 nearest log texts (FAISS inner product over unit vectors), each with a
     similarity >= 0.3 voting for its tool(s) with weight exp(10 (sim - 1)); the score is the
     tool's share of the total weight (the engine's evidence with confidence 1, no decay);
   - fusion: dense + 3 * vote share (the engine's W_EVIDENCE).
   R@1, R@5 and MRR@10 (a dev text with two labels counts as found when either is).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from common import RESULTS, command, loadavg, machine, metatool_dir, say, workdir  # noqa: E402
from search_quality import K, metrics, split_queries  # noqa: E402

from unfragile.engine.metatool import metatool_records  # noqa: E402
from unfragile.engine.records import normalise_query  # noqa: E402
from unfragile.indexing.text import resolve_text_model  # noqa: E402

NEIGHBOURS = 20
MIN_SIMILARITY = 0.3
SHARPNESS = 10.0
W_EVIDENCE = 3.0


# -- data ----------------------------------------------------------------------------------


def load(salt: str) -> dict[str, Any]:
    folder = metatool_dir()
    split = split_queries(folder / "queries.csv", salt)
    tools = metatool_records(folder, with_queries=False)
    names = sorted(r.data["id"] for r in tools)
    descriptions = {r.data["id"]: r.data["description"] for r in tools}
    # The log texts as first written (split.logs is keyed by the normalised text).
    first: dict[str, str] = {}
    with open(folder / "queries.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            norm = normalise_query(row["query"])
            if norm in split.logs and norm not in first:
                first[norm] = row["query"].strip()
    logs = [(first[n], sorted(split.logs[n])) for n in sorted(split.logs)]
    return {"split": split, "names": names, "descriptions": descriptions, "logs": logs}


def batches(pairs: list[tuple[str, str]], size: int, seed: int) -> list[list[tuple[str, str]]]:
    """Shuffled batches in which no tool appears twice (the rest roll into later batches).

    The tail, once fewer than half a batch of distinct tools is left, is dropped."""
    rng = random.Random(seed)
    pending = pairs[:]
    rng.shuffle(pending)
    out = []
    while pending:
        batch, seen, rest = [], set(), []
        for q, tool in pending:
            if len(batch) < size and tool not in seen:
                batch.append((q, tool))
                seen.add(tool)
            else:
                rest.append((q, tool))
        if len(batch) < max(2, size // 2):
            break  # the leftovers of the biggest tools: too few distinct tools for negatives
        out.append(batch)
        pending = rest
    return out


# -- training ------------------------------------------------------------------------------


def train(
    model: Any,
    pairs: list[tuple[str, str]],
    descriptions: dict[str, str],
    epochs: int,
    batch: int,
    lr: float,
    max_steps: int | None,
    seed: int,
    say: Any,
) -> dict[str, Any]:
    import torch

    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # older sentence-transformers
        from sentence_transformers import losses

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    plan = [b for e in range(epochs) for b in batches(pairs, batch, seed + e)]
    full = len(plan)
    if max_steps is not None:
        plan = plan[:max_steps]
    loss_fn = losses.MultipleNegativesRankingLoss(model)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, int(0.1 * len(plan)))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (len(plan) - step) / max(1, len(plan) - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    device = model.device
    model.train()
    t0 = time.perf_counter()
    losses_seen = []
    for step, b in enumerate(plan):
        feats = []
        for texts in ([q for q, _ in b], [descriptions[t] for _, t in b]):
            f = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
            feats.append({k: v.to(device) if hasattr(v, "to") else v for k, v in f.items()})
        loss = loss_fn(feats, None)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        sched.step()
        losses_seen.append(loss.item())
        if step % 20 == 0 or step == len(plan) - 1:
            say(
                f"  step {step + 1}/{len(plan)} loss {np.mean(losses_seen[-20:]):.4f} "
                f"{time.perf_counter() - t0:.0f} s"
            )
    model.eval()
    used = sum(len(b) for e in range(epochs) for b in batches(pairs, batch, seed + e))
    return {
        "steps": len(plan),
        "steps_full": full,
        "pairs": len(pairs),
        "pairs_in_batches_per_epoch": used // max(1, epochs),
        "train_s": round(time.perf_counter() - t0, 1),
        "loss_first20": round(float(np.mean(losses_seen[:20])), 4),
        "loss_last20": round(float(np.mean(losses_seen[-20:])), 4),
    }


# -- evaluation ----------------------------------------------------------------------------


def ranks(
    scores: np.ndarray,
    names: list[str],
    labels: list[frozenset[str]],
    valid: np.ndarray | None = None,
) -> list[int | None]:
    """Rank of the first label in each row (ties by name; names are sorted, so a stable sort)."""
    out: list[int | None] = []
    order = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    for i, row in enumerate(order):
        hit = None
        for pos, j in enumerate(row, start=1):
            if valid is not None and not valid[i, j]:
                break
            if names[j] in labels[i]:
                hit = pos
                break
        out.append(hit)
    return out


def evaluate(model: Any, data: dict[str, Any]) -> dict[str, dict[str, float]]:
    import faiss

    names = data["names"]
    col = {n: i for i, n in enumerate(names)}
    dev = data["split"].dev
    labels = [lab for _, lab in dev]

    def enc(texts: list[str]) -> np.ndarray:
        return model.encode(
            texts,
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)

    tools = enc([data["descriptions"][n] for n in names])
    queries = enc([t for t, _ in dev])
    logs = enc([t for t, _ in data["logs"]])
    dense = queries @ tools.T

    index = faiss.IndexFlatIP(logs.shape[1])
    index.add(logs)
    sims, ids = index.search(queries, NEIGHBOURS)
    vote = np.zeros_like(dense)
    for i in range(len(dev)):
        total = 0.0
        for s, j in zip(sims[i], ids[i], strict=True):
            if j < 0 or s < MIN_SIMILARITY:
                continue
            w = math.exp(SHARPNESS * (float(s) - 1.0))
            total += w
            for t in data["logs"][j][1]:
                vote[i, col[t]] += w
        if total:
            vote[i] /= total
    return {
        "dense": metrics(ranks(dense, names, labels)),
        "vote": metrics(ranks(vote, names, labels, valid=vote > 0)),
        "fusion": metrics(ranks(dense + W_EVIDENCE * vote, names, labels)),
    }


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--salt", default="A", help="salt of the logs/dev split (default A)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--max-steps", type=int, default=None, help="cap on optimiser steps")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument(
        "--json",
        nargs="?",
        const="",
        default=None,
        help="write the results as JSON (default bench/results/tune_<salt>.json)",
    )
    args = p.parse_args(argv)

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)

    load_start = machine()
    data = load(args.salt)
    pairs = [(q, t) for q, ts in data["logs"] for t in ts]
    say(
        f"split {args.salt!r}: {len(data['logs'])} log texts, {len(pairs)} training pairs, "
        f"{len(data['split'].dev)} dev texts, {len(data['names'])} tools"
    )
    path = resolve_text_model(None)
    result: dict[str, Any] = {
        "salt": args.salt,
        "command": command(short=True),
        "machine": load_start,
        "params": {k: v for k, v in vars(args).items() if k != "json"},
        "dev": len(data["split"].dev),
        "log_texts": len(data["logs"]),
    }
    t0 = time.perf_counter()
    base = SentenceTransformer(path, device="cpu")
    result["base"] = evaluate(base, data)
    result["eval_s"] = round(time.perf_counter() - t0, 1)
    say(f"base: {result['base']} ({result['eval_s']} s)")
    with workdir("unfragile-tune-") as work:
        tuned = SentenceTransformer(path, device="cpu")
        say(f"training: {args.epochs} epoch(s), batch {args.batch}, lr {args.lr}")
        result["training"] = train(
            tuned,
            pairs,
            data["descriptions"],
            args.epochs,
            args.batch,
            args.lr,
            args.max_steps,
            args.seed,
            say,
        )
        tuned.save(str(work / "model"))  # where a real `tune` would write it; deleted below
        result["tuned"] = evaluate(tuned, data)
        say(f"tuned: {result['tuned']}")
    result["machine_end_loadavg"] = loadavg()

    tr = result["training"]
    print(
        f"salt {args.salt}: {result['dev']} dev texts, {result['log_texts']} log texts, "
        f"{tr['pairs']} pairs ({tr['pairs_in_batches_per_epoch']} batched); "
        f"training {tr['steps']}/{tr['steps_full']} steps "
        f"(batch {args.batch}, lr {args.lr}) in {tr['train_s']} s, loss "
        f"{tr['loss_first20']} -> {tr['loss_last20']}; load {load_start.get('loadavg')}"
    )
    print("| retriever | base R@1 | R@5 | MRR@10 | tuned R@1 | R@5 | MRR@10 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("dense", "vote", "fusion"):
        b, t = result["base"][name], result["tuned"][name]
        print(
            f"| {name} | {b['r1']:.3f} | {b['r5']:.3f} | {b['mrr10']:.3f} "
            f"| {t['r1']:.3f} | {t['r5']:.3f} | {t['mrr10']:.3f} |"
        )
    if args.json is not None:
        out = Path(args.json) if args.json else RESULTS / f"tune_{args.salt}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
