"""Spike: how far do other scorers get on MetaTool, cold and with logs? (offline, no Neo4j)

    python bench/quality_ceiling.py                  # salts A and B, printed
    python bench/quality_ceiling.py --json           # saved as bench/results/quality_ceiling.json

The split, labels and metrics are bench/search_quality.py's own. Everything is scored in numpy
from MiniLM vectors of the texts the engine indexes (`capability_text`, `artifact_text`), so it
replicates the engine's dense signals, not its whole fusion:

- base = best capability cosine + the artifact's name + description cosine (the engine's
  dense + description, weight 1 each);
- cold: base with the merged tools' plugins left out, grouped by BM25 (the plugin's two
  descriptions as the query, the merged tools' name + description as documents), and grouped
  by the text model (what `unfragile import metatool` does);
- with logs (grouped by the model): the vote of the 20 nearest past queries (weight
  exp(10 (sim - 1)), floor 0.3, as a share: the engine's evidence), base/2 + 1.5 × vote (about
  the engine's fusion), and what a scorer could add on top of that: each artifact's centroid of
  the past queries that matched it; a lexical vote (BM25 over the past queries' texts, the 20
  best, weight exp(5 (score/best - 1)), as a share); and a logistic regression trained on the
  log half (word 1-2-gram and character 2-5-gram tf-idf next to the MiniLM vector, C 30).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from common import RESULTS, command, machine, metatool_dir  # noqa: E402
from search_quality import metrics, split_queries  # noqa: E402

from unfragile.engine.decompose import decompose  # noqa: E402
from unfragile.engine.indexer import artifact_text, capability_text  # noqa: E402
from unfragile.engine.metatool import (  # noqa: E402
    add_member_capabilities,
    merged_members,
    metatool_records,
)
from unfragile.engine.records import normalise_query  # noqa: E402
from unfragile.indexing.lexical import BM25  # noqa: E402
from unfragile.indexing.text import TextEncoder  # noqa: E402


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def ranks(scores: np.ndarray, labels: list[set[int]]) -> list[int | None]:
    order = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    out: list[int | None] = []
    for row, want in zip(order, labels, strict=True):
        out.append(next((i + 1 for i, t in enumerate(row.tolist()) if t in want), None))
    return out


def tool_data(folder: Path, encode: Any) -> dict[str, Any]:
    """Tools as imported ungrouped, plus the merged-away plugins and two ways to place them."""
    plain = [r.data for r in metatool_records(folder, with_queries=False, group=False)]
    names = [d["id"] for d in plain]
    merged = set(json.loads((folder / "big_tool_des.json").read_text(encoding="utf-8")))
    info = {
        p["name_for_model"]: p
        for p in json.loads((folder / "plugin_info.json").read_text(encoding="utf-8"))
    }
    orphans = [p for n, p in info.items() if n not in set(names)]
    targets = [i for i, n in enumerate(names) if n in merged]
    docs = [artifact_text(plain[i]) for i in targets]
    both = [
        (p.get("description_for_human") or "", p.get("description_for_model") or "")
        for p in orphans
    ]
    bm = BM25(docs)
    by_words = []
    for human, model in both:
        hit = bm.top(f"{human} {model}", 1)
        by_words.append(targets[hit[0][0]] if hit else None)
    groups = merged_members(
        {names[i]: plain[i]["description"] for i in targets}, orphans, encode
    )  # the import's own placement
    home = {p["name_for_model"]: names.index(tool) for tool, ps in groups.items() for p in ps}
    by_model = [home[p["name_for_model"]] for p in orphans]
    return {
        "plain": plain,
        "names": names,
        "orphans": orphans,
        "by_words": by_words,
        "by_model": by_model,
    }


def grouped(tools: dict[str, Any], placement: list[int | None] | None) -> list[dict[str, Any]]:
    out = [dict(d, capabilities=list(d["capabilities"])) for d in tools["plain"]]
    for plugin, home in zip(tools["orphans"], placement or [], strict=False):
        if home is not None:
            add_member_capabilities(out[home]["capabilities"], plugin, decompose)
    return out


def base_scores(records: list[dict[str, Any]], q: np.ndarray, encode: Any) -> np.ndarray:
    caps = [(i, capability_text(c)) for i, d in enumerate(records) for c in d["capabilities"]]
    owner = np.array([i for i, _ in caps])
    sims = q @ encode([t for _, t in caps]).T
    best = np.full((len(q), len(records)), -1.0, dtype=np.float32)
    for i in range(len(records)):
        best[:, i] = sims[:, owner == i].max(axis=1)
    return best + q @ encode([artifact_text(d) for d in records]).T


def share(weights: np.ndarray) -> np.ndarray:
    return weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)


def run_salt(
    salt: str,
    folder: Path,
    texts: dict[str, str],
    vectors: dict[str, np.ndarray],
    tools: dict[str, Any],
    cold: dict[str, np.ndarray],
    say: Any,
) -> dict[str, Any]:
    split = split_queries(folder / "queries.csv", salt)
    index = {n: i for i, n in enumerate(tools["names"])}
    logs = sorted(split.logs)
    dev_norm = [normalise_query(t) for t, _ in split.dev]
    position = {n: i for i, n in enumerate(sorted(texts))}
    dev_rows = [position[n] for n in dev_norm]
    labels = [{index[t] for t in tools_} for _, tools_ in split.dev]
    out: dict[str, Any] = {"salt": salt, "dev": len(dev_rows), "logs": len(logs), "rows": {}}

    def record(name: str, scores: np.ndarray) -> None:
        m = metrics(ranks(scores, labels))
        out["rows"][name] = m
        say(f"  {salt} {name:<58} {m['r1']:.3f}  {m['r5']:.3f}  {m['mrr10']:.3f}")

    for name, scores in cold.items():
        record(f"cold: {name}", scores[dev_rows])
    n_tools = len(tools["names"])
    y = np.zeros((len(logs), n_tools), dtype=np.float32)
    for k, n in enumerate(logs):
        for t in split.logs[n]:
            y[k, index[t]] = 1.0 / len(split.logs[n])
    q_log = np.stack([vectors[n] for n in logs])
    q_dev = np.stack([vectors[n] for n in dev_norm])
    sim = q_dev @ q_log.T
    top = np.argpartition(-sim, 20, axis=1)[:, :20]
    near = np.take_along_axis(sim, top, axis=1)
    w = np.where(near >= 0.3, np.exp(10.0 * (near - 1.0)), 0.0)
    vote = share(np.einsum("dk,dkt->dt", w, y[top]))
    base = cold["grouped by the text model (the import)"][dev_rows]
    record("logs: vote of the 20 nearest past queries", vote)
    fused = base / 2.0 + 1.5 * vote
    record("logs: base/2 + 1.5 vote (about the engine)", fused)
    centroid = unit(y.T @ q_log)
    record("logs: + 0.75 x query centroid", fused + 0.75 * (q_dev @ centroid.T))
    bm = BM25([texts[n] for n in logs])
    lexical = np.zeros_like(vote)
    for d, n in enumerate(dev_norm):
        hits = bm.top(texts[n], 20)
        for j, s in hits:
            lexical[d] += np.exp(5.0 * (s / hits[0][1] - 1.0)) * y[j]
    lexical = share(lexical)
    record("logs: + 1.5 x lexical vote", fused + 1.5 * lexical)
    record("logs: + both", fused + 1.5 * lexical + 0.75 * (q_dev @ centroid.T))

    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    log_texts, dev_texts = [texts[n] for n in logs], [texts[n] for n in dev_norm]
    x_log = hstack(
        [words.fit_transform(log_texts), chars.fit_transform(log_texts), csr_matrix(q_log)]
    ).tocsr()
    x_dev = hstack(
        [words.transform(dev_texts), chars.transform(dev_texts), csr_matrix(q_dev)]
    ).tocsr()
    model = LogisticRegression(C=30.0, max_iter=500)
    model.fit(x_log, [min(index[t] for t in split.logs[n]) for n in logs])
    proba = np.zeros_like(vote)
    proba[:, model.classes_] = model.predict_proba(x_dev)
    out["logreg_s"] = round(time.perf_counter() - t0, 1)
    record("logs: logistic regression (tf-idf + MiniLM)", proba)
    record("logs: logistic regression + vote + 0.3 base", proba + vote + 0.3 * base)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--salts", default="A,B", help="comma-separated split salts (default A,B)")
    p.add_argument(
        "--json",
        nargs="?",
        const=str(RESULTS / "quality_ceiling.json"),
        default=None,
        metavar="PATH",
        help="also write the results as JSON",
    )
    args = p.parse_args(argv)

    def say(*a: Any) -> None:
        print(*a, flush=True)

    t0 = time.perf_counter()
    folder = metatool_dir()
    encoder = TextEncoder(device="cpu")
    texts: dict[str, str] = {}
    with open(folder / "queries.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            n = normalise_query(row["query"])
            if n and n not in texts:
                texts[n] = row["query"].strip()
    say(f"encoding {len(texts)} distinct query texts ...")
    norms = sorted(texts)
    vectors = dict(zip(norms, encoder.encode([texts[n] for n in norms]), strict=True))
    q_all = np.stack([vectors[n] for n in norms])
    tools = tool_data(folder, encoder.encode)
    cold = {}
    for name, placement in (
        ("merged tools alone (before)", None),
        ("grouped by BM25", tools["by_words"]),
        ("grouped by the text model (the import)", tools["by_model"]),
    ):
        cold[name] = base_scores(grouped(tools, placement), q_all, encoder.encode)
    say(f"  {'salt':<4} {'scorer':<58} {'R@1':>5}  {'R@5':>5}  {'MRR':>5}")
    results = [run_salt(s, folder, texts, vectors, tools, cold, say) for s in args.salts.split(",")]
    report = {
        "command": command(short=True),
        "machine": machine(),
        "seconds": round(time.perf_counter() - t0, 1),
        "salts": results,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        say(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
