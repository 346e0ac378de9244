"""Search quality on the bundled catalog, judged by people's questions (issue 13).

    python bench/catalog_quality.py                         # dev split, throwaway home
    python bench/catalog_quality.py --split test --misses   # test split, each failure listed
    python bench/catalog_quality.py --home /tmp/cq --json   # load once into /tmp/cq, reuse after

What it does:

1. Reads bench/queries/catalog.jsonl (or --queries FILE): one JSON object a line,
   {"id", "query", "type", "acceptable", "best"?, "not"?, "split"?}. Types: need, alternative,
   name, constraint, none ("none": the catalog has nothing that does it; acceptable is []).
   A bad line stops the run with one message naming the file, the line and the field.
2. Loads the bundled catalog (data/catalog: artifacts and past searches) into a fresh
   temporary UNFRAGILE_HOME the way `make run` does (`unfragile ingest`, `index`, `rank`, run as
   commands so whatever those steps do, this does), on its own local Neo4j, stopped and deleted
   at the end. With `--home DIR` that home is used and kept: loaded the first time, reused as it
   is when its graph already holds artifacts; a Neo4j already running there is left running.
3. Asks the real engine each query of the split (`SearchEngine.ask(text, k=10)`, not literal)
   and reads its results and its "nothing here" flag (`no_good_match`). Nothing is written:
   the graph's counts are compared before and after, and a change fails the run.

Figures, by query type and over all answerable queries (every type but "none"):
- hit@1, hit@3: the first (any of the first three) results is acceptable.
- nDCG@5 with grades best = 2, other acceptable = 1 (gain 2^grade - 1, log2 discount), over
  the ideal order of the judged artifacts. A row without "best" grades all acceptable as 1.
- X or family in top 3: queries whose first three results hold an id of their "not" list
  (for "alternative" queries this must be 0).
- "nothing here", both ways: said on "none" queries (recall; precision = share of all the
  times it was said that were right) and not said on answerable ones (same, the other way).

Who is X's family (the `not` list of an "alternative to X" query), as judged when the query
file was written; the rule, applied to the records of data/catalog/artifacts.jsonl:
- X itself;
- the same provider and the same name stem: FLUX.1 [pro]/[dev]/[schnell]; Whisper large-v3
  and tiny; Llama 3.1 8B and 70B; Stable Diffusion XL and 3.5; Midjourney and Midjourney V6;
- derived_from in either direction: whisper.cpp is derived from the Whisper models;
- a product or API of the same provider that serves X, or the model X serves (the app, the
  model, the API to it): ChatGPT, GPT-4o and the OpenAI API are one family, with DALL·E 3 where
  X is ChatGPT, the OpenAI API or DALL·E 3 (both serve it), and text-embedding-3-small where X
  is the OpenAI API or that model; claude.ai, Claude 3.5 Sonnet and the Anthropic API; the
  Stability AI API with Stable Diffusion.
- Not family: third-party hosts and front ends (Replicate, Hugging Face, Poe, ComfyUI), tools
  that merely integrate with X, and same-provider products with another stem (Mistral 7B vs
  Mixtral, CLIP vs GPT-4o, llama.cpp vs whisper.cpp). Those may be acceptable answers.

Targets (issue 13, on the test split): hit@1 >= 0.85, hit@3 >= 0.95, zero X-for-alternative-
to-X, "nothing here" right >= 0.8 of the time both ways. Tune on dev only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import ROOT, Columns, command, say, verdict, workdir

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

QUERIES = ROOT / "bench" / "queries" / "catalog.jsonl"
CATALOG = ROOT / "data" / "catalog"
TYPES = ("need", "alternative", "name", "constraint", "none")
ANSWERABLE = TYPES[:-1]
K = 10  # results asked of the engine
TARGETS = {"hit1": 0.85, "hit3": 0.95, "family_top3": 0, "said_recall": 0.8, "unsaid_recall": 0.8}


class QueryFileError(ValueError):
    """A line of the query file that cannot be used; the message names file, line and field."""


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    type: str
    acceptable: frozenset[str]
    best: frozenset[str]
    family: frozenset[str]  # the `not` list: X and its family
    split: str | None

    def grade(self, artifact: str) -> int:
        if artifact in self.best:
            return 2
        return 1 if artifact in self.acceptable else 0


# -- the query file ------------------------------------------------------------------------


def load_queries(path: Path, known: set[str]) -> list[Query]:
    """Every line of `path` as a Query; ids must be artifacts of the catalog (`known`)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise QueryFileError(f"{path}: cannot read it ({e})") from None
    out: list[Query] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise QueryFileError(f"{where}: not JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise QueryFileError(f"{where}: must be a JSON object")
        q = _query(row, where, known)
        if q.id in seen:
            raise QueryFileError(f"{where}: field 'id': {q.id!r} is used twice")
        seen.add(q.id)
        out.append(q)
    if not out:
        raise QueryFileError(f"{path}: holds no queries")
    return out


def _query(row: dict[str, Any], where: str, known: set[str]) -> Query:
    def text(name: str, required: bool = True) -> str | None:
        value = row.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise QueryFileError(f"{where}: field {name!r}: must be non-empty text")
        return value

    def ids(name: str) -> frozenset[str]:
        value = row.get(name, [])
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise QueryFileError(f"{where}: field {name!r}: must be a list of artifact ids")
        unknown = sorted(set(value) - known)
        if unknown:
            raise QueryFileError(f"{where}: field {name!r}: not in the catalog: {unknown}")
        return frozenset(value)

    kind = text("type")
    if kind not in TYPES:
        raise QueryFileError(f"{where}: field 'type': must be one of {', '.join(TYPES)}")
    split = text("split", required=False)
    if split not in (None, "dev", "test"):
        raise QueryFileError(f"{where}: field 'split': must be dev or test")
    acceptable, best, family = ids("acceptable"), ids("best"), ids("not")
    if not best <= acceptable:
        raise QueryFileError(f"{where}: field 'best': {sorted(best - acceptable)} not acceptable")
    if acceptable & family:
        raise QueryFileError(f"{where}: field 'not': {sorted(acceptable & family)} acceptable")
    if (kind == "none") != (not acceptable):
        raise QueryFileError(
            f"{where}: field 'acceptable': must be empty exactly when the type is 'none'"
        )
    return Query(str(text("id")), str(text("query")), kind, acceptable, best, family, split)


# -- the loaded home -----------------------------------------------------------------------


def _cli(home: Path, *args: str) -> None:
    """One `unfragile` command on `home`, as `make run` runs it; its output goes to stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEO4J_URI", "NEO4J_PASSWORD")}
    env["UNFRAGILE_HOME"] = str(home)
    say(f"$ unfragile {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "unfragile.api.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    for line in (done.stdout + done.stderr).splitlines():
        say(f"  {line}")
    if done.returncode != 0:
        raise SystemExit(f"error: `unfragile {' '.join(args)}` failed ({done.returncode})")


@contextmanager
def loaded_home(home: Path) -> Iterator[tuple[Any, Any]]:
    """(settings, graph) on `home`'s own Neo4j with the bundled catalog loaded, indexed and
    ranked; loads only when the graph holds no artifact. A server started here is stopped."""
    from unfragile.engine.catalog import Catalog
    from unfragile.engine.db import local_server, open_graph
    from unfragile.engine.settings import Settings

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server
    settings = Settings.from_env().with_(home=home, neo4j_uri=None)
    server = local_server(settings)
    say(f"Neo4j in {home} ...")
    started = server.start(timeout_s=settings.neo4j_start_timeout_s)[1]
    try:
        with open_graph(settings) as graph:
            loaded = Catalog(graph).counts()["artifacts"] > 0
        if loaded:
            say(f"reusing the loaded home {home}")
        else:
            for step in (("ingest", str(CATALOG)), ("index",), ("rank",)):
                _cli(home, *step)
        graph = open_graph(settings)
        try:
            yield settings, graph
        finally:
            graph.close()
    finally:
        if started:
            server.stop()


# -- evaluation ----------------------------------------------------------------------------


@dataclass
class Outcome:
    query: Query
    top: list[tuple[str, int]]  # (artifact id, match score 0-100), best first
    flagged: bool  # the engine said "nothing here does that"
    understood: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [a for a, _ in self.top]

    @property
    def hit1(self) -> bool:
        return bool(self.ids[:1]) and self.ids[0] in self.query.acceptable

    @property
    def hit3(self) -> bool:
        return any(a in self.query.acceptable for a in self.ids[:3])

    @property
    def family_top3(self) -> list[str]:
        return [a for a in self.ids[:3] if a in self.query.family]

    @property
    def ndcg5(self) -> float:
        def dcg(grades: list[int]) -> float:
            return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(grades[:5]))

        ideal = dcg(sorted((self.query.grade(a) for a in self.query.acceptable), reverse=True))
        return dcg([self.query.grade(a) for a in self.ids]) / ideal if ideal else 0.0

    @property
    def misses(self) -> list[str]:
        """Why this query counts against the engine (empty when it does not)."""
        why = []
        if self.query.type == "none":
            if not self.flagged:
                why.append("nothing-here not said")
        else:
            if not self.hit1:
                why.append("miss@1" if self.hit3 else "miss@3")
            if self.flagged:
                why.append("nothing-here said")
        if self.family_top3:
            why.append(f"X or family in top 3: {', '.join(self.family_top3)}")
        return why


def evaluate(engine: Any, queries: list[Query]) -> list[Outcome]:
    out = []
    for q in queries:
        answer = engine.ask(q.text, k=K)
        top = [(r.artifact, int(r.match)) for r in answer.results]
        out.append(Outcome(q, top, bool(answer.no_good_match), answer.understood.as_dict()))
    return out


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def figures(outcomes: list[Outcome]) -> dict[str, Any]:
    """The table's figures: per type, over all answerable queries, family, nothing-here."""
    rows: dict[str, Any] = {}
    groups = [(t, [o for o in outcomes if o.query.type == t]) for t in TYPES]
    groups.append(("answerable", [o for o in outcomes if o.query.type != "none"]))
    for name, group in groups:
        n, judged = len(group), name != "none"
        rows[name] = {
            "n": n,
            "hit1": _ratio(sum(o.hit1 for o in group), n) if judged else None,
            "hit3": _ratio(sum(o.hit3 for o in group), n) if judged else None,
            "ndcg5": (sum(o.ndcg5 for o in group) / n if n else None) if judged else None,
            "family_top3": sum(bool(o.family_top3) for o in group),
            "with_family": sum(bool(o.query.family) for o in group),
            "flagged": sum(o.flagged for o in group),
        }
    none = [o for o in outcomes if o.query.type == "none"]
    answerable = [o for o in outcomes if o.query.type != "none"]
    said_right = sum(o.flagged for o in none)
    said = said_right + sum(o.flagged for o in answerable)
    unsaid_right = sum(not o.flagged for o in answerable)
    unsaid = unsaid_right + sum(not o.flagged for o in none)
    return {
        "by_type": rows,
        "nothing_here": {
            "said_precision": _ratio(said_right, said),
            "said_recall": _ratio(said_right, len(none)),
            "unsaid_precision": _ratio(unsaid_right, unsaid),
            "unsaid_recall": _ratio(unsaid_right, len(answerable)),
        },
        "alternative_family_top3": rows["alternative"]["family_top3"],
    }


def targets_met(f: dict[str, Any]) -> dict[str, bool]:
    a, nh = f["by_type"]["answerable"], f["nothing_here"]
    return {
        "hit@1 >= 0.85": (a["hit1"] or 0) >= TARGETS["hit1"],
        "hit@3 >= 0.95": (a["hit3"] or 0) >= TARGETS["hit3"],
        "no X for alternative-to-X": f["alternative_family_top3"] == TARGETS["family_top3"],
        "nothing-here said on none >= 0.8": (nh["said_recall"] or 0) >= TARGETS["said_recall"],
        "not said on answerable >= 0.8": (nh["unsaid_recall"] or 0) >= TARGETS["unsaid_recall"],
    }


# -- report --------------------------------------------------------------------------------


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def print_report(f: dict[str, Any], outcomes: list[Outcome], split: str, misses: bool) -> None:
    print(f"Catalog search quality, split {split} ({len(outcomes)} queries); {command(True)}")
    table = Columns(
        ("type", "<11"),
        ("n", ">4"),
        ("hit@1", ">6"),
        ("hit@3", ">6"),
        ("nDCG@5", ">7"),
        ("X/family@3", ">10"),
        ("nothing-here said", ">17"),
    )
    print(table.header())
    for name in (*TYPES, "answerable"):
        r = f["by_type"][name]
        fam = f"{r['family_top3']}/{r['with_family']}" if r["with_family"] else "-"
        print(
            table.row(
                name, r["n"], _f(r["hit1"]), _f(r["hit3"]), _f(r["ndcg5"]), fam,
                f"{r['flagged']}/{r['n']}",
            )
        )  # fmt: skip
    nh = f["nothing_here"]
    print(
        f'"nothing here" said on none-queries: precision {_f(nh["said_precision"])}, '
        f"recall {_f(nh['said_recall'])}; not said on answerable ones: precision "
        f"{_f(nh['unsaid_precision'])}, recall {_f(nh['unsaid_recall'])}"
    )
    print("targets (issue 13; they apply to the test split):")
    for name, ok in targets_met(f).items():
        print(f"  {verdict(ok)}  {name}")
    if misses:
        failing = [o for o in outcomes if o.misses]
        print(f"\nmisses ({len(failing)}):")
        for o in failing:
            top = ", ".join(f"{a} {m}" for a, m in o.top[:3]) or "(no result)"
            print(f"  {o.query.id} [{o.query.type}] {o.query.text!r}: {'; '.join(o.misses)}")
            print(f"      top 3: {top}")
            if o.query.acceptable:
                print(f"      acceptable: {', '.join(sorted(o.query.acceptable))}")
            if o.understood:
                print(f"      understood: {json.dumps(o.understood, ensure_ascii=False)}")


def as_json(f: dict[str, Any], outcomes: list[Outcome], split: str) -> dict[str, Any]:
    return {
        "command": command(True),
        "split": split,
        "figures": f,
        "targets_met": targets_met(f),
        "queries": [
            {
                "id": o.query.id,
                "type": o.query.type,
                "query": o.query.text,
                "top": o.top[:5],
                "no_good_match": o.flagged,
                "misses": o.misses,
                "understood": o.understood,
            }
            for o in outcomes
        ],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    p.add_argument("--queries", type=Path, default=QUERIES, help="the query file (JSON lines)")
    p.add_argument("--home", type=Path, help="use and keep this home (loaded if empty)")
    p.add_argument("--misses", action="store_true", help="list each failing query, top 3")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)

    known = {
        record["id"]
        for path in sorted(CATALOG.glob("*.jsonl"))
        for record in map(json.loads, path.read_text(encoding="utf-8").splitlines())
        if "kind" in record  # artifacts; the other files hold search events
    }
    try:
        queries = load_queries(args.queries, known)
    except QueryFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.split != "all":
        queries = [q for q in queries if q.split == args.split]
        if not queries:
            print(f"error: {args.queries} has no {args.split} queries", file=sys.stderr)
            return 2

    from unfragile.engine.catalog import Catalog
    from unfragile.engine.search import SearchEngine

    # A throwaway home unless --home names one to keep.
    where = nullcontext(args.home.resolve()) if args.home else workdir("unfragile-catalog-q-")
    with where as base:
        with loaded_home(base if args.home else base / "home") as (settings, graph):
            before = Catalog(graph).counts()
            t0 = time.perf_counter()
            outcomes = evaluate(SearchEngine(settings, graph), queries)
            say(f"{len(outcomes)} queries asked in {time.perf_counter() - t0:.1f}s")
            after = Catalog(graph).counts()
    if after != before:
        print(f"error: evaluating changed the graph: {before} -> {after}", file=sys.stderr)
        return 1
    f = figures(outcomes)
    if args.json:
        print(json.dumps(as_json(f, outcomes, args.split), indent=1, ensure_ascii=False))
    else:
        print_report(f, outcomes, args.split, args.misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
