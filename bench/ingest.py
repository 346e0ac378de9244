"""Ingest benchmark: synthetic catalog + search events, loaded into a throw-away Neo4j.

    python bench/ingest.py                       # 10k artifacts, 100k capabilities, 1M events
    python bench/ingest.py --artifacts 1000 --capabilities 10000 --events 100000
    python bench/ingest.py --repeat 3 --json     # median of three runs, as JSON

What it does:

1. Generates a deterministic (seeded) synthetic data set as JSONL in a temporary folder, in a
   *subprocess*, so the generator's own memory never shows in the loader's peak RSS:
   `catalog.jsonl` (artifacts with ~capabilities/artifacts capabilities each) and
   `events.jsonl` (match / click / dwell / feedback events in the format of engine/records.py,
   queries drawn Zipf-like from a pool of distinct texts, events grouped by session).
2. Starts its own Neo4j in a fresh temporary UNFRAGILE_HOME (never the user's data), unless
   NEO4J_URI is set, in which case it uses that server and refuses to touch a non-empty graph
   unless --wipe-external is given. The local server is stopped at the end, whatever happens.
3. Times, for the catalog file and then the events file: the validation pass alone
   (engine.ingest.validate), then the full engine.ingest.ingest (which validates again, then
   writes). "write" = ingest − validate. Records the loader's peak RSS (ru_maxrss), the Python
   process's CPU time and, for the local server, the JVM's CPU time over each ingest.

Targets (from the issue): ≥ 20,000 capabilities/s, ≥ 50,000 events/s, loader peak < 1 GB.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import platform
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_CAPS_PER_S = 20_000
TARGET_EVENTS_PER_S = 50_000
TARGET_PEAK_MB = 1024

# Share of each event type among all events; click/dwell/feedback follow a match in the same
# session on the same target, so they fold into the same Evidence node as that match.
MIX = {"match": 0.70, "click": 0.15, "dwell": 0.10, "feedback": 0.05}

# -- synthetic data ------------------------------------------------------------------------

_VERBS = """summarize translate transcribe generate classify extract detect rank search answer
draft rewrite caption segment embed forecast cluster tag redact compare explain debug review
refactor plan schedule monitor index parse convert compress upscale denoise colorize animate
narrate dub score recommend route moderate verify label annotate""".split()
_OBJECT_LIST = [
    "legal contracts",
    "support tickets",
    "product photos",
    "podcast episodes",
    "meeting notes",
    "python code",
    "sql queries",
    "medical reports",
    "financial statements",
    "research papers",
    "customer emails",
    "invoices",
    "receipts",
    "resumes",
    "news articles",
    "chat transcripts",
    "log files",
    "web pages",
    "pdf documents",
    "scanned forms",
    "satellite images",
    "x-ray scans",
    "song lyrics",
    "video clips",
    "slide decks",
    "spreadsheets",
    "api specs",
    "unit tests",
    "commit messages",
    "bug reports",
    "user reviews",
    "social posts",
    "recipes",
    "product listings",
    "real estate listings",
    "insurance claims",
    "patent filings",
    "lecture videos",
    "game assets",
    "3d meshes",
    "floor plans",
    "voice memos",
    "sensor readings",
    "time series",
    "survey answers",
    "job postings",
    "tax forms",
    "menus",
    "street signs",
    "handwritten notes",
    "source repositories",
    "email threads",
    "product manuals",
    "clinical notes",
    "bank transactions",
    "shipping labels",
    "legal briefs",
    "audio books",
    "code reviews",
    "design mockups",
]
_QUALIFIERS = """in spanish|for free|offline|on device|with citations|in real time|at scale
|for beginners|for lawyers|for doctors|for developers|without an api key|open source|locally
|in bulk|from a url|in the browser|with gpt-4 quality|under 1 second|with high accuracy
|for small business|for students|in german|in japanese|with speaker labels|as json
|as markdown|with tables|privately|via api|in excel|in slack|in vs code|on mobile|on a laptop
|with low latency|cheaply|self hosted|with fine tuning|zero shot|few shot|multilingual
|for ecommerce|for marketing|for hr|for finance|for healthcare|for education|for gaming
|with streaming|with long context|step by step""".replace("\n", "").split("|")
_HOW = """best|fast|cheap|free|accurate|open|small|lightweight|private|reliable|simple|tiny
|robust|secure|easy|popular|new|local|multilingual|enterprise""".replace("\n", "").split("|")
_SENTENCES = [
    "It handles {obj} of any length and keeps the original structure intact.",
    "Outputs are returned as structured JSON with confidence scores for each item.",
    "Works {qual}, so sensitive {obj} never leave your infrastructure.",
    "Supports batch jobs of up to ten thousand {obj} through a single API call.",
    "Quality is on par with much larger models on public {obj} benchmarks.",
    "A web interface lets non-technical teams review and correct the results.",
    "Latency stays below a few hundred milliseconds on commodity hardware.",
    "Fine-tuning on your own {obj} takes minutes and needs no labelled data.",
    "Integrates with common storage buckets, webhooks and workflow tools.",
    "Each result links back to the exact passage of the source it came from.",
    "Handles noisy, partial or badly formatted {obj} gracefully.",
    "Pricing is per request, with a generous free tier for experiments.",
]
_ORGS = """acme|openlab|deepforge|modelworks|neuralis|tensorhub|vectorly|brightml|sparkai
|cortexa|lumen|quantia|synapse|hyperion|nimbus|polaris|zenith|atlas|orbit|helix|kite|nova
|pixelmind|sonica|verbum|codecraft|datasmith|mosaic|prism|quill""".replace("\n", "").split("|")
_FRAMEWORKS = [
    "pytorch",
    "tensorflow",
    "jax",
    "onnx",
    "transformers",
    "diffusers",
    "langchain",
    "llamaindex",
    "vllm",
    "gguf",
    "mlx",
    "coreml",
]
_CATEGORIES = [
    "nlp",
    "vision",
    "speech",
    "code",
    "search",
    "agents",
    "data",
    "creative",
    "productivity",
    "healthcare",
    "finance",
    "legal",
    "education",
    "devtools",
]
_KINDS = ["model", "api", "web-app", "mcp-server", "cli", "agent", "tool", "library"]
_LICENSES = ["mit", "apache-2.0", "cc-by-4.0", "llama3", "proprietary", "gpl-3.0"]
_MODALITIES = ["text", "image", "audio", "video", "code", "embedding", "tabular", "3d"]


def _query_texts(count: int, rng: random.Random) -> list[str]:
    """`count` distinct query texts (distinct after normalisation), in random order."""
    shapes = len(_HOW) + 1, len(_VERBS), len(_OBJECT_LIST), len(_QUALIFIERS) + 1
    space = math.prod(shapes)
    if count > space:
        raise SystemExit(
            f"--queries {count} is more than the {space} distinct texts the generator can build"
        )
    out = []
    for index in rng.sample(range(space), count):
        how, index = index % shapes[0], index // shapes[0]
        verb, index = index % shapes[1], index // shapes[1]
        obj, qual = index % shapes[2], index // shapes[2]
        words = [_VERBS[verb], _OBJECT_LIST[obj]]
        if how:
            words.insert(0, _HOW[how - 1])
        if qual:
            words.append(_QUALIFIERS[qual - 1])
        out.append(" ".join(words))
    return out


def _text(rng: random.Random, obj: str, low: int, high: int) -> str:
    target = rng.randint(low, high)
    parts: list[str] = []
    length = 0
    while length < target:
        s = rng.choice(_SENTENCES).format(obj=obj, qual=rng.choice(_QUALIFIERS))
        if parts and length + 1 + len(s) > high:
            break
        parts.append(s)
        length += len(s) + (1 if len(parts) > 1 else 0)
    return " ".join(parts)[:high]


def _split(total: int, parts: int, rng: random.Random, low: int = 1, high: int = 100) -> list[int]:
    """`parts` integers in [low, high] summing to `total`, spread around the mean."""
    if not low * parts <= total <= high * parts:
        raise SystemExit(f"cannot give {parts} artifacts {total} capabilities ({low}–{high} each)")
    base, extra = divmod(total, parts)
    counts = [base + (1 if i < extra else 0) for i in range(parts)]
    rng.shuffle(counts)
    spread = max(1, base // 2)
    for _ in range(parts):  # move capabilities between random pairs, keeping the sum
        i, j = rng.randrange(parts), rng.randrange(parts)
        step = rng.randint(0, spread)
        step = min(step, counts[i] - low, high - counts[j])
        if i != j and step > 0:
            counts[i] -= step
            counts[j] += step
    return counts


def generate(
    out: Path,
    artifacts: int,
    capabilities: int,
    events: int,
    queries: int,
    sessions: int,
    zipf_s: float,
    seed: int,
) -> dict[str, Any]:
    """Write catalog.jsonl and events.jsonl under `out`; return what was written."""
    from engine.records import slug  # the engine's own rule for capability ids

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    counts = _split(capabilities, artifacts, rng)
    cap_ids: list[list[str]] = []
    art_ids: list[str] = []
    catalog = out / "catalog.jsonl"
    with open(catalog, "w", encoding="utf-8") as f:
        for i in range(artifacts):
            org = rng.choice(_ORGS)
            verb, obj = rng.choice(_VERBS), rng.choice(_OBJECT_LIST)
            name = f"{org.title()} {verb.title()}-{obj.split()[0].title()} {i}"
            art_id = f"{org}/{slug(name)}"
            art_ids.append(art_id)
            caps, titles, seen = [], [], set()
            for _ in range(counts[i]):
                c_obj = rng.choice(_OBJECT_LIST)
                title = f"{rng.choice(_VERBS).title()} {c_obj} {rng.choice(_QUALIFIERS)}"
                n = 2
                while slug(title) in seen:
                    title = f"{title.rsplit(' #', 1)[0]} #{n}"
                    n += 1
                seen.add(slug(title))
                titles.append(f"{art_id}/{slug(title)}")
                cap: dict[str, Any] = {"title": title, "text": _text(rng, c_obj, 100, 300)}
                if rng.random() < 0.3:
                    cap["unique"] = _text(rng, c_obj, 60, 160)
                if rng.random() < 0.2:
                    cap["vs_alternatives"] = _text(rng, c_obj, 60, 160)
                caps.append(cap)
            cap_ids.append(titles)
            record: dict[str, Any] = {
                "id": art_id,
                "name": name,
                "kind": rng.choice(_KINDS),
                "task": f"{verb} {obj}",
                "provider": org.title(),
                "description": _text(rng, obj, 300, 900),
                "pricing": rng.choice(["free", "freemium", "paid", "usage-based"]),
                "license": rng.choice(_LICENSES),
                "open_weights": rng.random() < 0.4,
                "modalities": rng.sample(_MODALITIES, rng.randint(1, 3)),
                "released": f"20{rng.randint(20, 25)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "url": f"https://example.org/{art_id}",
                "signals": {
                    "downloads": rng.randint(0, 5_000_000),
                    "likes": rng.randint(0, 50_000),
                },
                "benchmarks": {"mmlu": round(rng.random(), 3)} if rng.random() < 0.3 else {},
                "frameworks": rng.sample(_FRAMEWORKS, rng.randint(0, 3)),
                "categories": rng.sample(_CATEGORIES, rng.randint(1, 3)),
                "capabilities": caps,
            }
            if rng.random() < 0.3:
                record["parameters"] = rng.randint(10**6, 10**11)
            if i and rng.random() < 0.1:
                record["derived_from"] = [art_ids[rng.randrange(i)]]
            if i and rng.random() < 0.2:
                record["integrates_with"] = sorted(
                    {art_ids[rng.randrange(i)] for _ in range(rng.randint(1, 3))}
                )
            f.write(json.dumps(record) + "\n")

    texts = _query_texts(queries, rng)
    cum, acc = [], 0.0
    for rank in range(queries):
        acc += 1.0 / (rank + 1) ** zipf_s
        cum.append(acc)
    p_click = MIX["click"] / MIX["match"]
    p_dwell = MIX["dwell"] / MIX["click"]  # given a click
    p_feedback = MIX["feedback"] / MIX["click"]  # given a click
    interactions = events / (1 + p_click + p_click * (p_dwell + p_feedback))
    per_session = max(1.0, interactions / max(1, sessions))
    p_more = 1 - 1 / per_session  # geometric number of interactions per session
    rank_weights = [1 / (k + 1) for k in range(10)]  # position bias among a query's results
    written = {kind: 0 for kind in MIX}
    used_queries: set[int] = set()
    with_capability = 0
    session_count = 0
    clock = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    step = 86_400 * 30 / max(1, sessions)  # the sessions span about a month

    def stamp(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"

    with open(out / "events.jsonl", "w", encoding="utf-8") as f:
        total = 0
        while total < events:
            session = f"sess-{seed}-{session_count:07d}"
            session_count += 1
            clock += rng.expovariate(1 / step)
            t = clock
            while total < events:
                rank = bisect.bisect_left(cum, rng.random() * acc)
                used_queries.add(rank)
                text = texts[rank]
                if rng.random() < 0.1:  # as typed: same Query node after normalisation
                    text = text.capitalize() if rng.random() < 0.5 else f" {text.upper()} "
                k = rng.choices(range(3 + rank % 8), rank_weights[: 3 + rank % 8])[0]
                a = (rank * 2_654_435_761 + k * 40_503 + seed) % artifacts
                base = {"query": text, "artifact": art_ids[a], "session": session}
                if rng.random() < 0.5:
                    caps = cap_ids[a]
                    base["capability"] = caps[min(len(caps) - 1, int(rng.expovariate(0.5)))]
                    with_capability += 1
                kinds = ["match"]
                if rng.random() < p_click:
                    kinds.append("click")
                    if rng.random() < p_dwell:
                        kinds.append("dwell")
                    if rng.random() < p_feedback:
                        kinds.append("feedback")
                for kind in kinds:
                    if total >= events:
                        break
                    t += rng.uniform(0.5, 20)
                    ev = {**base, "event": kind, "time": stamp(t)}
                    if kind == "dwell":
                        ev["seconds"] = round(rng.lognormvariate(3.0, 1.0), 1)
                    elif kind == "feedback":
                        ev["value"] = 1 if rng.random() < 0.8 else -1
                    f.write(json.dumps(ev) + "\n")
                    written[kind] += 1
                    total += 1
                if rng.random() >= p_more:
                    break
    return {
        "dir": str(out),
        "artifacts": artifacts,
        "capabilities": capabilities,
        "events": sum(written.values()),
        "event_mix": written,
        "interactions_naming_capability": with_capability,
        "distinct_queries_pool": queries,
        "distinct_queries_used": len(used_queries),
        "sessions": session_count,
        "zipf_s": zipf_s,
        "seed": seed,
        "catalog_bytes": catalog.stat().st_size,
        "events_bytes": (out / "events.jsonl").stat().st_size,
    }


# -- measurement ---------------------------------------------------------------------------


def _maxrss_mb() -> float:
    # Linux reports kilobytes, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _proc_cpu_s(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _system_busy_s() -> float | None:
    """CPU seconds all processes of the machine have used since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str | None:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return None


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_end": _loadavg(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        import neo4j

        info["neo4j_driver"] = neo4j.__version__
        from neo4j._codec.packstream import v1

        info["neo4j_rust_ext"] = v1._rust_pack is not None
    except Exception:  # pragma: no cover - informational only
        pass
    return info


def _count(graph: Any, query: str) -> int:
    return graph.read(query)[0]["n"]


def _statement_names() -> list[tuple[str, str]]:
    from graph import store

    names = [
        (value.strip().split("%(")[0][:120], name)
        for name, value in vars(store).items()
        if name.isupper() and isinstance(value, str) and "\n" in value.strip()
    ]
    return sorted(names, key=lambda kv: -len(kv[0]))


class _TimedResult:
    """A fully read result: the records, and consume() giving the summary back."""

    def __init__(self, records: list[Any], summary: Any):
        self._records, self._summary = records, summary

    def __iter__(self) -> Any:
        return iter(self._records)

    def consume(self) -> Any:
        return self._summary


class _TimedTx:
    """Wraps a managed transaction; adds each statement's time to `times`.

    `run` = the driver's tx.run(): packing the parameters, sending them, and waiting for the
    server's answer, which for these updating statements comes after it has executed them.
    `fetch` = reading the rest of the result.
    """

    def __init__(self, tx: Any, times: dict[str, list[float]], names: list[tuple[str, str]]):
        self._tx, self._times, self._names = tx, times, names

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kw: Any) -> Any:
        head = query.strip()
        name = next((n for prefix, n in self._names if head.startswith(prefix)), head[:40])
        t0 = time.perf_counter()
        result = self._tx.run(query, parameters, **kw)
        t1 = time.perf_counter()
        records = list(result)
        summary = result.consume()
        t2 = time.perf_counter()
        entry = self._times.setdefault(name, [0.0, 0.0, 0])
        entry[0] += t1 - t0
        entry[1] += t2 - t1
        entry[2] += 1
        return _TimedResult(records, summary)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class _TimedGraph:
    """A Graph whose write transactions time each Cypher statement (see _TimedTx)."""

    def __init__(self, graph: Any):
        self._graph = graph
        self.times: dict[str, list[float]] = {}
        self._names = _statement_names()

    def write(self, work: Any) -> Any:
        before = sum(v[0] + v[1] for v in self.times.values())
        t0 = time.perf_counter()
        out = self._graph.write(lambda tx: work(_TimedTx(tx, self.times, self._names)))
        rest = time.perf_counter() - t0 - (sum(v[0] + v[1] for v in self.times.values()) - before)
        entry = self.times.setdefault("(commit + tx overhead)", [0.0, 0.0, 0])
        entry[1] += rest
        entry[2] += 1
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._graph, name)


def _one_run(
    graph: Any, files: Path, batch_size: int, server_pid: int | None, profile: Path | None = None
) -> dict[str, Any]:
    from engine.ingest import ingest, validate

    r: dict[str, Any] = {"statements": {}, "loadavg_start": _loadavg()}
    for phase, name in (("catalog", "catalog.jsonl"), ("events", "events.jsonl")):
        path = files / name
        t0 = time.perf_counter()
        plan = validate(graph, path, show_progress=False)
        r[f"{phase}_validate_s"] = time.perf_counter() - t0
        del plan
        r[f"{phase}_rss_before_mb"] = _maxrss_mb()
        cpu0, srv0, sys0 = _cpu_s(), _proc_cpu_s(server_pid), _system_busy_s()
        profiler = None
        if profile is not None and phase == "events":
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        timed = _TimedGraph(graph)
        t0 = time.perf_counter()
        report = ingest(timed, path, batch_size=batch_size, show_progress=False)
        seconds = time.perf_counter() - t0
        r["statements"][phase] = {
            name: {"run_s": round(v[0], 3), "fetch_s": round(v[1], 3), "calls": v[2]}
            for name, v in timed.times.items()
        }
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        srv1, sys1 = _proc_cpu_s(server_pid), _system_busy_s()
        r[f"{phase}_ingest_s"] = seconds
        r[f"{phase}_write_s"] = max(0.0, seconds - r[f"{phase}_validate_s"])
        r[f"{phase}_client_cpu_s"] = _cpu_s() - cpu0
        r[f"{phase}_server_cpu_s"] = None if srv0 is None or srv1 is None else srv1 - srv0
        # CPU that other processes took meanwhile: a busy machine makes wall times worse.
        r[f"{phase}_others_cpu_s"] = (
            None
            if sys0 is None or sys1 is None
            else max(
                0.0, sys1 - sys0 - r[f"{phase}_client_cpu_s"] - (r[f"{phase}_server_cpu_s"] or 0)
            )
        )
        r[f"{phase}_rss_after_mb"] = _maxrss_mb()
        if phase == "catalog":
            r["artifacts"], r["capabilities"] = report.artifacts, report.capabilities
            r["capabilities_per_s"] = report.capabilities / seconds
            r["artifacts_per_s"] = report.artifacts / seconds
        else:
            r["events"] = report.events
            r["events_per_s"] = report.events / seconds
    r["graph"] = {
        "artifacts": _count(graph, "MATCH (a:Artifact) RETURN count(a) AS n"),
        "capabilities": _count(graph, "MATCH (c:Capability) RETURN count(c) AS n"),
        "queries": _count(graph, "MATCH (q:Query) RETURN count(q) AS n"),
        "evidence": _count(graph, "MATCH (e:Evidence) RETURN count(e) AS n"),
        "matched_edges": _count(graph, "MATCH ()-[m:MATCHED]->() RETURN count(m) AS n"),
    }
    return r


def _neo4j_info(graph: Any, settings: Any) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        row = graph.read(
            "CALL dbms.components() YIELD name, versions, edition "
            "RETURN versions[0] AS version, edition"
        )[0]
        info.update(version=row["version"], edition=row["edition"])
    except Exception:
        pass
    if settings.external_neo4j:
        info["server"] = f"external ({settings.neo4j_uri})"
    else:
        info.update(
            server="local (temporary UNFRAGILE_HOME)",
            heap=settings.neo4j_heap,
            pagecache=settings.neo4j_pagecache,
        )
    try:
        rows = graph.read(
            "SHOW SETTINGS YIELD name, value WHERE name IN "
            "['server.memory.pagecache.size', 'server.memory.heap.max_size', "
            "'db.memory.transaction.total.max'] RETURN name, value"
        )
        info["settings"] = {row["name"]: row["value"] for row in rows}
    except Exception:
        pass
    return info


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and all(isinstance(r.get(key), int | float) for r in runs)
        ):
            values = [r[key] for r in runs]
            out[key] = values[0] if len(set(values)) == 1 else statistics.median(values)
        else:
            out[key] = value
    # Peak memory is a peak: the highest of all runs, not the median.
    for key in ("catalog_rss_after_mb", "events_rss_after_mb"):
        out[key] = max(r[key] for r in runs)
    return out


def _profile_group(file: str, func: str) -> str:
    f = file.replace("\\", "/")
    if "recv" in func or "select" in func or func.endswith("poll"):
        return "waiting on server (socket recv/select)"
    if "sendall" in func:
        return "sending to server (socket sendall)"
    if "/neo4j/" in f and ("packstream" in f or "_codec" in f or "hydration" in f):
        return "driver: packstream encode/decode"
    if "/neo4j/" in f:
        return "driver: other (sessions, tx, bolt protocol)"
    if f.endswith("engine/records.py") or "/json/" in f:
        return "read + validate (engine/records.py, json)"
    if f.endswith("engine/evidence.py"):
        return "fold (engine/evidence.py)"
    if f.endswith("engine/ingest.py") or f.endswith("graph/store.py"):
        return "ingest/store glue (engine/ingest.py, graph/store.py)"
    if f.endswith("bench/ingest.py"):
        return "bench wrapper"
    return f"other ({Path(f).name})"


def _profile_summary(path: Path, top: int = 25) -> str:
    """Self time of the profiled events ingest, grouped by where it is spent.

    A built-in function's time (any(), str.join, unicodedata.category, …) goes to the group
    of the code that called it, so it lands with the work that needed it.
    """
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    groups: dict[str, float] = {}
    rows = []
    total = 0.0
    for (file, line, func), (_cc, nc, tt, ct, callers) in stats.items():
        total += tt
        rows.append((tt, ct, nc, f"{Path(file).name}:{line}({func})"))
        own = _profile_group(file, func)
        if file == "~" and not own.startswith(("waiting", "sending")) and callers:
            for (cfile, _cline, cfunc), edge in callers.items():
                g = _profile_group(cfile, cfunc)
                groups[g] = groups.get(g, 0.0) + edge[2]
        else:
            groups[own] = groups.get(own, 0.0) + tt
    lines = [
        f"profile of the events ingest (self time, {total:.1f}s under cProfile, "
        "which inflates Python-heavy code):"
    ]
    small = 0.0
    for g, tt in sorted(groups.items(), key=lambda kv: -kv[1]):
        if tt < 0.005 * total:
            small += tt
        else:
            lines.append(f"  {tt:8.2f}s {100 * tt / total:5.1f}%  {g}")
    if small:
        lines.append(f"  {small:8.2f}s {100 * small / total:5.1f}%  everything else")
    lines.append(f"  top {top} functions by self time:")
    for tt, ct, nc, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"    {tt:7.2f}s self {ct:7.2f}s cum {nc:>9} calls  {name}")
    return "\n".join(lines)


def _table(result: dict[str, Any]) -> str:
    r, m, n = result["figures"], result["machine"], result["neo4j"]
    g = result["generated"]

    def row(label: str, value: str, note: str = "") -> str:
        return f"  {label:<34} {value:>14}  {note}"

    def ok(good: bool) -> str:
        return "PASS" if good else "MISS"

    def server_cpu(key: str) -> str:
        return f"{r[key]:.1f}s" if r.get(key) is not None else "n/a"

    lines = [
        f"command: {result['command']}",
        f"machine: {m.get('nproc')} CPUs ({m.get('cpu', '?')}), {m.get('ram_gb', '?')} GB RAM, "
        f"Python {m.get('python')}, neo4j driver {m.get('neo4j_driver', '?')} (rust ext "
        f"{'on' if m.get('neo4j_rust_ext') else 'off'}); load average {r.get('loadavg_start')} "
        f"at start, {m.get('loadavg_end')} at end",
        f"neo4j:   {n.get('edition', '')} {n.get('version', '?')} {n.get('server', '')}, "
        f"heap {n.get('heap', '?')}, pagecache {n.get('pagecache', '?')}"
        + (f", settings {n['settings']}" if n.get("settings") else ""),
        f"data:    {g['artifacts']:,} artifacts, {g['capabilities']:,} capabilities "
        f"({g['catalog_bytes'] / 1e6:.0f} MB), {g['events']:,} events "
        f"({g['events_bytes'] / 1e6:.0f} MB), mix {g['event_mix']}, "
        f"{g['distinct_queries_used']:,} distinct queries used (Zipf s={g['zipf_s']}), "
        f"{g['sessions']:,} sessions, batch size {result['batch_size']}, "
        f"runs {result['repeat']}" + (" (median)" if result["repeat"] > 1 else ""),
        "",
        row("catalog: validate only", f"{r['catalog_validate_s']:.2f}s"),
        row(
            "catalog: ingest (validate + write)",
            f"{r['catalog_ingest_s']:.2f}s",
            f"write ≈ {r['catalog_write_s']:.2f}s; Python CPU {r['catalog_client_cpu_s']:.1f}s, "
            f"Neo4j CPU {server_cpu('catalog_server_cpu_s')}, "
            f"other processes {server_cpu('catalog_others_cpu_s')}",
        ),
        row(
            "capabilities/s",
            f"{r['capabilities_per_s']:,.0f}",
            f"{ok(r['capabilities_per_s'] >= TARGET_CAPS_PER_S)} (target ≥ "
            f"{TARGET_CAPS_PER_S:,}); {r['artifacts_per_s']:,.0f} artifacts/s",
        ),
        row(
            "events: validate only",
            f"{r['events_validate_s']:.2f}s",
            f"{r['events'] / r['events_validate_s']:,.0f} events/s",
        ),
        row(
            "events: ingest (validate + write)",
            f"{r['events_ingest_s']:.2f}s",
            f"write ≈ {r['events_write_s']:.2f}s; Python CPU {r['events_client_cpu_s']:.1f}s, "
            f"Neo4j CPU {server_cpu('events_server_cpu_s')}, "
            f"other processes {server_cpu('events_others_cpu_s')}",
        ),
        row(
            "events/s",
            f"{r['events_per_s']:,.0f}",
            f"{ok(r['events_per_s'] >= TARGET_EVENTS_PER_S)} (target ≥ {TARGET_EVENTS_PER_S:,})",
        ),
        row(
            "loader peak RSS",
            f"{r['events_rss_after_mb']:,.0f} MB",
            f"{ok(r['events_rss_after_mb'] < TARGET_PEAK_MB)} (target < {TARGET_PEAK_MB} MB); "
            f"{r['catalog_rss_before_mb']:,.0f} MB before any ingest, "
            f"{r['catalog_rss_after_mb']:,.0f} MB after the catalog",
        ),
        row("graph after", "", ", ".join(f"{k} {v:,}" for k, v in r["graph"].items())),
    ]
    busy = [
        (r.get(f"{ph}_others_cpu_s") or 0) / (r[f"{ph}_ingest_s"] * (m.get("nproc") or 1))
        for ph in ("catalog", "events")
    ]
    if max(busy) > 0.15:
        lines.append(
            f"  warning: other processes used up to {100 * max(busy):.0f}% of the machine's CPU "
            "during an ingest, so wall-clock rates are lower than on an idle machine"
        )
    lines.append("")
    lines.append(
        "  wall time per Cypher statement, seen from the client (run = pack + send + "
        "server executes; fetch = read the rest; commit = the rest of graph.write):"
    )
    for phase, statements in r["statements"].items():
        for name, t in sorted(
            statements.items(), key=lambda kv: -kv[1]["run_s"] - kv[1]["fetch_s"]
        ):
            total = t["run_s"] + t["fetch_s"]
            detail = (
                ""
                if name.startswith("(")
                else f"  (run {t['run_s']:.2f}s + fetch {t['fetch_s']:.2f}s)"
            )
            lines.append(f"    {phase:<8} {name:<22} {t['calls']:>6} calls {total:9.2f}s{detail}")
    return "\n".join(lines)


def _generate_in_subprocess(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_generate",
        str(out),
        "--artifacts",
        str(args.artifacts),
        "--capabilities",
        str(args.capabilities),
        "--events",
        str(args.events),
        "--queries",
        str(args.queries),
        "--sessions",
        str(args.sessions),
        "--zipf",
        str(args.zipf),
        "--seed",
        str(args.seed),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--artifacts", type=int, default=10_000)
    p.add_argument("--capabilities", type=int, default=100_000, help="in total")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=100_000, help="distinct query texts")
    p.add_argument(
        "--sessions",
        type=int,
        default=None,
        help="about this many sessions (default: events / 5, i.e. 200k for 1M)",
    )
    p.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of query popularity")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="records per transaction (default: the engine's, Settings.batch_size)",
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs on a fresh graph each; the median is reported"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--save", type=Path, default=None, help="also write the JSON result here")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="after the measured runs, one more run with the events ingest under "
        "cProfile, saved to this .prof file, and print a breakdown",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument(
        "--wipe-external",
        action="store_true",
        help="with NEO4J_URI: allow emptying a non-empty graph (DESTROYS its data)",
    )
    p.add_argument("--_generate", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.sessions is None:
        args.sessions = max(1, args.events // 5)
    if args._generate is not None:
        print(
            json.dumps(
                generate(
                    args._generate,
                    args.artifacts,
                    args.capabilities,
                    args.events,
                    args.queries,
                    args.sessions,
                    args.zipf,
                    args.seed,
                )
            )
        )
        return 0

    from engine import ingest as _ingest  # noqa: F401
    from engine.db import local_server, open_graph
    from engine.settings import Settings
    from graph import store
    from graph.connection import Graph  # noqa: F401  (imported before the baseline RSS)

    command = shlex.join([sys.executable, *sys.argv])
    work = Path(tempfile.mkdtemp(prefix="unfragile-bench-"))
    settings = Settings.from_env()
    server = None
    graph = None
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    try:
        say(f"generating data in {work / 'data'} ...")
        t0 = time.perf_counter()
        generated = _generate_in_subprocess(args, work / "data")
        say(
            f"  {generated['events']:,} events, {generated['capabilities']:,} capabilities "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        if settings.external_neo4j:
            graph = open_graph(settings, apply_schema=True)
            if any(store.stats(graph).values()) and not args.wipe_external:
                raise SystemExit(
                    f"the graph at {settings.neo4j_uri} is not empty: the bench "
                    "would mix with (and then delete) its data. Point NEO4J_URI "
                    "at an empty database, or pass --wipe-external."
                )
            server_pid = None
        else:
            settings = settings.with_(home=work / "home")
            server = local_server(settings)
            say(f"starting Neo4j in {settings.home} ...")
            info, _ = server.start(timeout_s=settings.neo4j_start_timeout_s)
            server_pid = info.pid
            graph = open_graph(settings, apply_schema=True)
        neo4j_info = _neo4j_info(graph, settings)
        batch_size = args.batch_size or settings.batch_size
        runs = []
        for i in range(args.repeat):
            if i or settings.external_neo4j:
                store.delete_everything(graph)
            say(f"run {i + 1}/{args.repeat} ...")
            run = _one_run(graph, work / "data", batch_size, server_pid)
            say(
                f"  {run['capabilities_per_s']:,.0f} capabilities/s, "
                f"{run['events_per_s']:,.0f} events/s, peak RSS "
                f"{run['events_rss_after_mb']:,.0f} MB"
            )
            runs.append(run)
        if args.profile is not None:
            say("extra run under cProfile (not counted in the figures) ...")
            store.delete_everything(graph)
            _one_run(graph, work / "data", batch_size, server_pid, args.profile)
        if settings.external_neo4j:
            store.delete_everything(graph)
        figures = _median(runs) if len(runs) > 1 else runs[0]
        result = {
            "command": command,
            "machine": _machine(),
            "neo4j": neo4j_info,
            "generated": generated,
            "batch_size": batch_size,
            "repeat": args.repeat,
            "figures": figures,
            "runs": runs,
            "targets": {
                "capabilities_per_s": TARGET_CAPS_PER_S,
                "events_per_s": TARGET_EVENTS_PER_S,
                "peak_rss_mb": TARGET_PEAK_MB,
            },
        }
        if args.save is not None:
            args.save.write_text(json.dumps(result, indent=2, default=str) + "\n")
        if args.json:
            print(json.dumps(result, indent=2, default=str))
        else:
            print(_table(result))
            if args.profile is not None:
                print()
                print(_profile_summary(args.profile))
        return 0
    finally:
        if graph is not None:
            graph.close()
        if server is not None:
            server.stop()
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
