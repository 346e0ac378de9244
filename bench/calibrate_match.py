"""Fit the match score (engine/ranker.py MATCH_BIAS, MATCH_COEF, NO_GOOD_MATCH) on the dev split.

    python bench/calibrate_match.py --home /tmp/cq      # a home bench/catalog_quality.py loaded

The engine's top 3 for every dev query of bench/queries/catalog.jsonl, each labelled 1 when
the query's judges accepted it (0 for every result of a query the catalog cannot answer), are
the data; scikit-learn's LogisticRegression fits P(acceptable | features) on them (the match
score is that probability × 100). The threshold of "nothing here" is then the value of the best
match among the 10 results (as the engine decides) that does best on dev for the worse of its
two recalls (said on unanswerable queries, not said on answerable ones), the way issue 13
judges it. It prints the constants to paste into engine/ranker.py; test queries are not read.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from unfragile.engine.features import FEATURES

TOP = 3  # the results a person reads: the score is fitted where the decision is made
REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO / "bench" / "queries" / "catalog.jsonl"
# Every ranking feature but those that only order candidates among themselves.
USED = tuple(f for f in FEATURES if f not in ("evidence_best", "evidence_share", "prior"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, required=True, help="a loaded, indexed home")
    p.add_argument("--queries", type=Path, default=QUERIES)
    args = p.parse_args()
    os.environ["UNFRAGILE_HOME"] = str(args.home)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sklearn.linear_model import LogisticRegression

    from unfragile.engine.db import open_graph
    from unfragile.engine.search import SearchEngine
    from unfragile.engine.settings import Settings

    rows = [json.loads(line) for line in args.queries.read_text().splitlines() if line.strip()]
    dev = [r for r in rows if r.get("split") == "dev"]
    settings = Settings.from_env()
    x: list[list[float]] = []
    y: list[int] = []
    group: list[int] = []
    with open_graph(settings) as graph:
        engine = SearchEngine(settings, graph)
        answers = engine.ask_many([r["query"] for r in dev], k=10)
    for g, (r, answer) in enumerate(zip(dev, answers, strict=True)):
        ok = set(r["acceptable"])
        for res in answer.results[:TOP]:
            x.append([res.components[f] for f in USED])
            y.append(int(res.artifact in ok))
            group.append(g)
    X, Y = np.array(x), np.array(y)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(X, Y)
    coef = dict(zip(USED, model.coef_[0].round(3).tolist(), strict=True))
    bias = float(model.intercept_[0].round(3))
    # The engine says "nothing here" from the best match among all the results it returns.
    best = np.zeros(len(dev))
    for g, answer in enumerate(answers):
        rows = np.array([[r.components[f] for f in USED] for r in answer.results])
        if len(rows):
            best[g] = np.rint(100 * model.predict_proba(rows)[:, 1]).max() / 100
    answerable = np.array([bool(r["acceptable"]) for r in dev])
    thresholds = np.arange(5, 95, 1)
    scores = []
    named = np.array([bool(a.understood.named) for a in answers])
    for t in thresholds:
        said = (best * 100 < t) & ~named
        tpr = (said & ~answerable).sum() / max((~answerable).sum(), 1)
        tnr = (~said & answerable).sum() / max(answerable.sum(), 1)
        scores.append((min(tpr, tnr), tnr, tpr))
    best_i = max(range(len(scores)), key=lambda i: scores[i])
    t_best = int(thresholds[best_i])
    print(f"{len(dev)} dev queries, {len(Y)} results, {Y.mean():.3f} acceptable")
    print(f"MATCH_BIAS = {bias}")
    print(f"MATCH_COEF = {json.dumps(coef)}")
    _, tnr, tpr = scores[best_i]
    print(
        f"NO_GOOD_MATCH = {t_best}  (on dev: said on {tpr:.3f} of the unanswerable, "
        f"not said on {tnr:.3f} of the answerable)"
    )


if __name__ == "__main__":
    main()
