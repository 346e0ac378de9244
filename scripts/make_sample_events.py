"""Generate data/catalog/sample_events.jsonl: sample search events drawn from the catalog's records.

These events are SAMPLES, not observed behaviour: every one carries "source": "sample". They exist
so that every kind and every task of the bundled catalog has some search evidence, and they are
generated from the assumptions below, so anyone can read, change and regenerate them.

Assumptions (all of them; change the constants to change the data):

- Input: the artifact records of every .json/.jsonl file under the catalog folder (default
  data/catalog), read with the engine's own reader; event files there are skipped. Nothing else
  is read (in particular not the search-quality query set under bench/).
- Searches per artifact, by kind (SEARCHES_BY_KIND): 3 for web apps (most searched by people who
  are not developers), 2 for every other kind. An archived, superseded or removed artifact gets 1.
- Each search aims at one artifact. With probability P_CAPABILITY_QUERY (0.65) it aims at one of
  its listed capabilities (chosen uniformly) and the query is that capability's title as typed
  into a search box: lower case, brackets, punctuation and the articles a/an/the dropped.
  Otherwise it is a category search built from the record's task and kind, in the plural as
  people browse ("vector databases", "text to video apps", "mcp servers for payments"), with "open
  source" in front with probability 0.3 when the licence is not proprietary, or "free" with
  probability 0.3 when pricing is free.
- What the search showed (match events, all at the search's time): the target artifact (with the
  capability when the query came from one) and up to two other artifacts of the same task, chosen
  uniformly (none when the task has no other artifact); a superseded artifact's successor is
  always shown next to it.
- What the person did next:
  - clicks the target with probability P_CLICK_TARGET (0.55; 0.25 for archived, superseded or
    removed artifacts), otherwise clicks one of the other results with probability
    P_CLICK_OTHER (0.15); where the target is superseded and not clicked, its successor is
    clicked with probability 0.5;
  - after a click on the target, a long dwell (60 to 600 s) with probability P_LONG_DWELL (0.6),
    else a short one (5 to 40 s); after a click on another result, always a short dwell;
  - after a long dwell, positive feedback with probability P_FEEDBACK_UP (0.3); after a short
    dwell on another result, negative feedback with probability P_FEEDBACK_DOWN (0.2);
  - after a long dwell on the target with other results shown, a preference for the target over
    one of them with probability P_PREFER (0.15); a click on a superseded artifact's successor is
    followed by a preference for the successor over it with probability 0.5.
- Sessions: 1 to 3 searches each (uniformly), 1 to 10 minutes apart; a session starts at a
  uniformly drawn second between WINDOW_START and WINDOW_END (2026-08-01 to 2026-11-28, UTC). A
  click follows its search by 5 to 60 s, feedback its dwell by 3 to 20 s, a preference by 5 to 40 s.
- A fixed random seed (SEED) and artifacts walked in id order: the same catalog gives a
  byte-identical file. Events are written sorted by time, then in the order they were made.

Usage: .venv/bin/python scripts/make_sample_events.py [--catalog DIR] [--out FILE] [--check]
(--check writes nothing and exits 1 when the file on disk differs from what would be generated).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from unfragile.engine.records import input_files, is_event, read_records, slug

SEED = 20261130
WINDOW_START = datetime(2026, 8, 1, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 28, tzinfo=UTC)
SEARCHES_BY_KIND = {"web-app": 3}
DEFAULT_SEARCHES = 2
RETIRED_SEARCHES = 1
RETIRED = ("archived", "superseded", "removed")
P_CAPABILITY_QUERY = 0.65
P_OPEN_SOURCE_WORDS = 0.3
P_FREE_WORD = 0.3
MAX_OTHERS = 2
P_CLICK_TARGET = 0.55
P_CLICK_RETIRED = 0.25
P_CLICK_OTHER = 0.15
P_CLICK_SUCCESSOR = 0.5
P_LONG_DWELL = 0.6
P_FEEDBACK_UP = 0.3
P_FEEDBACK_DOWN = 0.2
P_PREFER = 0.15
P_PREFER_SUCCESSOR = 0.5
KIND_NOUNS = {
    "model": "models",
    "api": "apis",
    "web-app": "apps",
    "mcp-server": "mcp servers",
    "cli": "cli tools",
    "agent": "agents",
    "tool": "tools",
    "library": "libraries",
}
# Task words that already name the kind of thing ("vector databases tools" reads oddly): the
# task's last word is put in the plural instead.
SELF_NAMING = {
    "server": "servers",
    "database": "databases",
    "framework": "frameworks",
    "runtime": "runtimes",
    "library": "libraries",
    "assistant": "assistants",
    "agent": "agents",
    "builder": "builders",
}
ARTICLES = {"a", "an", "the"}

ROOT = Path(__file__).resolve().parent.parent


def load_artifacts(catalog: Path) -> list[dict[str, Any]]:
    """Every artifact record under the catalog folder (event files skipped), sorted by id."""
    records = {}
    for path in input_files(catalog):
        for raw in read_records(path):
            if not is_event(raw):
                records[raw.data["id"]] = raw.data
    return [records[key] for key in sorted(records)]


def typed(text: str) -> str:
    """A capability title as typed in a search box: lower case, no punctuation or articles."""
    text = re.sub(r"[()\[\]{}:;,!?\"“”]", " ", text.lower())
    return " ".join(w for w in text.split() if w not in ARTICLES)


def task_query(rng: random.Random, artifact: dict[str, Any]) -> str:
    """A category search: the task and the kind in the plural, maybe 'open source' or 'free'."""
    task = (artifact.get("task") or artifact["kind"]).replace("-", " ").split()
    if artifact["kind"] == "mcp-server":
        words = ["mcp servers for", " ".join(task)]
    elif task[-1] in SELF_NAMING:
        words = [" ".join(task[:-1] + [SELF_NAMING[task[-1]]])]
    elif task[-1].endswith("s") and not task[-1].endswith("ss"):  # already plural: "pipelines"
        words = [" ".join(task)]
    else:
        words = [" ".join(task), KIND_NOUNS[artifact["kind"]]]
    licence = (artifact.get("license") or "").lower()
    if licence and licence != "proprietary" and rng.random() < P_OPEN_SOURCE_WORDS:
        words.insert(0, "open source")
    elif artifact.get("pricing") == "free" and rng.random() < P_FREE_WORD:
        words.insert(0, "free")
    return " ".join(words)


def capability_ids(artifact: dict[str, Any]) -> list[tuple[str, str]]:
    """(id, title) of the capabilities the record lists; none for a record left to decompose."""
    return [
        (cap.get("id") or f"{artifact['id']}/{slug(cap['title'])}", cap["title"])
        for cap in artifact.get("capabilities") or []
    ]


class Generator:
    """Walks the artifacts and writes each search's events, with the probabilities above."""

    def __init__(self, artifacts: list[dict[str, Any]]) -> None:
        self.rng = random.Random(SEED)
        self.artifacts = artifacts
        self.by_id = {a["id"]: a for a in artifacts}
        self.by_task: dict[str, list[str]] = {}
        for a in artifacts:
            self.by_task.setdefault(a.get("task") or a["kind"], []).append(a["id"])
        self.events: list[tuple[datetime, int, dict[str, Any]]] = []

    def searches(self) -> list[str]:
        """The target of every search, shuffled so that sessions mix kinds and tasks."""
        targets = []
        for a in self.artifacts:
            if a.get("status", "active") in RETIRED:
                count = RETIRED_SEARCHES
            else:
                count = SEARCHES_BY_KIND.get(a["kind"], DEFAULT_SEARCHES)
            targets += [a["id"]] * count
        self.rng.shuffle(targets)
        return targets

    def run(self) -> list[dict[str, Any]]:
        targets = self.searches()
        number = 0
        while targets:
            number += 1
            session = f"sample-{number:04d}"
            when = WINDOW_START + timedelta(
                seconds=self.rng.randrange(int((WINDOW_END - WINDOW_START).total_seconds()))
            )
            for _ in range(min(self.rng.randint(1, 3), len(targets))):
                self.search(targets.pop(), session, when)
                when += timedelta(seconds=self.rng.randint(60, 600))
        self.events.sort(key=lambda e: (e[0], e[1]))
        return [event for _, _, event in self.events]

    def emit(self, when: datetime, event: dict[str, Any]) -> None:
        event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        event["source"] = "sample"
        self.events.append((when, len(self.events), event))

    def search(self, target_id: str, session: str, when: datetime) -> None:
        rng, target = self.rng, self.by_id[target_id]
        caps = capability_ids(target)
        capability = None
        if caps and rng.random() < P_CAPABILITY_QUERY:
            capability, title = caps[rng.randrange(len(caps))]
            query = typed(title)
        else:
            query = task_query(rng, target)
        peers = [i for i in self.by_task[target.get("task") or target["kind"]] if i != target_id]
        others = rng.sample(peers, min(len(peers), rng.randint(0, MAX_OTHERS)))
        successor = target.get("superseded_by")
        if successor and successor in self.by_id and successor not in others:
            others.append(successor)
        base = {"query": query, "session": session}
        self.emit(when, {**base, "artifact": target_id, "event": "match", "capability": capability})
        for other in others:
            self.emit(when, {**base, "artifact": other, "event": "match"})
        retired = target.get("status", "active") in RETIRED
        clicked, on_target = None, False
        if rng.random() < (P_CLICK_RETIRED if retired else P_CLICK_TARGET):
            clicked, on_target = target_id, True
        elif successor in others and rng.random() < P_CLICK_SUCCESSOR:
            clicked = successor
        elif others and rng.random() < P_CLICK_OTHER:
            clicked = others[rng.randrange(len(others))]
        if clicked is None:
            return
        when += timedelta(seconds=rng.randint(5, 60))
        cap = capability if on_target else None
        self.emit(when, {**base, "artifact": clicked, "event": "click", "capability": cap})
        long_dwell = on_target and rng.random() < P_LONG_DWELL
        seconds = rng.randint(60, 600) if long_dwell else rng.randint(5, 40)
        when += timedelta(seconds=seconds)
        self.emit(
            when,
            {**base, "artifact": clicked, "event": "dwell", "capability": cap, "seconds": seconds},
        )
        if (long_dwell and rng.random() < P_FEEDBACK_UP) or (
            not on_target and clicked != successor and rng.random() < P_FEEDBACK_DOWN
        ):
            when += timedelta(seconds=rng.randint(3, 20))
            value = 1 if long_dwell else -1
            self.emit(when, {**base, "artifact": clicked, "event": "feedback", "value": value})
        loser = None
        if clicked == successor and successor is not None and rng.random() < P_PREFER_SUCCESSOR:
            loser = target_id
        elif long_dwell and others and rng.random() < P_PREFER:
            loser = others[rng.randrange(len(others))]
        if loser is not None:
            when += timedelta(seconds=rng.randint(5, 40))
            self.emit(when, {**base, "winner": clicked, "loser": loser, "event": "prefer"})


# The hand-made events.jsonl's field order, so the two files read alike.
FIELD_ORDER = (
    "query artifact winner loser session event time capability seconds value source".split()
)


def render(events: list[dict[str, Any]]) -> str:
    lines = []
    for event in events:
        ordered = {k: event[k] for k in FIELD_ORDER if event.get(k) is not None}
        lines.append(json.dumps(ordered, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def summary(artifacts: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    """Counts by event type, and a check that every kind and every task has events."""
    ids = {e.get("artifact") for e in events} | {e.get("winner") for e in events}
    kinds = Counter(a["kind"] for a in artifacts if a["id"] in ids)
    tasks = {a.get("task") or a["kind"] for a in artifacts}
    covered = {a.get("task") or a["kind"] for a in artifacts if a["id"] in ids}
    missing_kinds = sorted({a["kind"] for a in artifacts} - set(kinds))
    by_type = Counter(e["event"] for e in events)
    return (
        f"{len(events)} events, {len({e['query'] for e in events})} distinct queries, "
        f"{len({e['session'] for e in events})} sessions; "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_type.items()))
        + f"\nkinds with events: {dict(sorted(kinds.items()))}; missing kinds: {missing_kinds}"
        + f"\ntasks with events: {len(covered)} of {len(tasks)}; missing: {sorted(tasks - covered)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=ROOT / "data" / "catalog")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "data" / "catalog" / "sample_events.jsonl"
    )
    parser.add_argument("--check", action="store_true", help="compare with the file, write nothing")
    args = parser.parse_args()
    artifacts = load_artifacts(args.catalog)
    events = Generator(artifacts).run()
    text = render(events)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run scripts/make_sample_events.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}\n{summary(artifacts, events)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
