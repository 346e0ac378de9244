"""Synthetic bench data, deterministic by seed: catalog, search events, query texts, vectors."""

from __future__ import annotations

import bisect
import json
import math
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, TextIO

import numpy as np


def _words(text: str) -> list[str]:
    return text.replace("\n", "").split("|")


# Share of each event type among all events; click/dwell/feedback follow a match in the same
# session on the same target, so they fold into the same Evidence node as that match.
MIX = {"match": 0.70, "click": 0.15, "dwell": 0.10, "feedback": 0.05}

VERBS = """summarize translate transcribe generate classify extract detect rank search answer
draft rewrite caption segment embed forecast cluster tag redact compare explain debug review
refactor plan schedule monitor index parse convert compress upscale denoise colorize animate
narrate dub score recommend route moderate verify label annotate""".split()
OBJECTS = _words("""legal contracts|support tickets|product photos|podcast episodes|meeting notes
|python code|sql queries|medical reports|financial statements|research papers|customer emails
|invoices|receipts|resumes|news articles|chat transcripts|log files|web pages|pdf documents
|scanned forms|satellite images|x-ray scans|song lyrics|video clips|slide decks|spreadsheets
|api specs|unit tests|commit messages|bug reports|user reviews|social posts|recipes
|product listings|real estate listings|insurance claims|patent filings|lecture videos
|game assets|3d meshes|floor plans|voice memos|sensor readings|time series|survey answers
|job postings|tax forms|menus|street signs|handwritten notes|source repositories
|email threads|product manuals|clinical notes|bank transactions|shipping labels|legal briefs
|audio books|code reviews|design mockups""")
QUALIFIERS = _words("""in spanish|for free|offline|on device|with citations|in real time|at scale
|for beginners|for lawyers|for doctors|for developers|without an api key|open source|locally
|in bulk|from a url|in the browser|with gpt-4 quality|under 1 second|with high accuracy
|for small business|for students|in german|in japanese|with speaker labels|as json
|as markdown|with tables|privately|via api|in excel|in slack|in vs code|on mobile|on a laptop
|with low latency|cheaply|self hosted|with fine tuning|zero shot|few shot|multilingual
|for ecommerce|for marketing|for hr|for finance|for healthcare|for education|for gaming
|with streaming|with long context|step by step""")
HOWS = _words("""best|fast|cheap|free|accurate|open|small|lightweight|private|reliable|simple|tiny
|robust|secure|easy|popular|new|local|multilingual|enterprise""")
ORGS = _words("""acme|openlab|deepforge|modelworks|neuralis|tensorhub|vectorly|brightml|sparkai
|cortexa|lumen|quantia|synapse|hyperion|nimbus|polaris|zenith|atlas|orbit|helix|kite|nova
|pixelmind|sonica|verbum|codecraft|datasmith|mosaic|prism|quill""")
SENTENCES = [
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
FRAMEWORKS = _words("""pytorch|tensorflow|jax|onnx|transformers|diffusers|langchain|llamaindex
|vllm|gguf|mlx|coreml""")
CATEGORIES = _words("""nlp|vision|speech|code|search|agents|data|creative|productivity|healthcare
|finance|legal|education|devtools""")
KINDS = _words("model|api|web-app|mcp-server|cli|agent|tool|library")
LICENSES = _words("mit|apache-2.0|cc-by-4.0|llama3|proprietary|gpl-3.0")
MODALITIES = _words("text|image|audio|video|code|embedding|tabular|3d")

# Search-like strings for timing: the same vocabulary, phrased as people type.
TEMPLATES = [
    "i need a tool to {verb} {obj} {qual}",
    "looking for something that can {verb} my {obj}",
    "how do i {verb} {obj} {qual}",
    "{how} api to {verb} {obj}",
    "{verb} {obj} automatically {qual}",
    "app that will {verb} our {obj} for the whole team",
    "is there a model that can {verb} {obj} {qual}?",
    "{obj}: {verb} them {qual}",
    "alternative to {org} for {obj}, need to {verb} them {qual}",
    "help me {verb} a batch of {obj}",
    "{how} {verb} {obj} tool",
    "want to {verb} {obj} and {verb2} {obj2}",
    "{verb} {obj}",
    "something {how} that can {verb} {obj} {qual} without much setup",
]

# -- texts ---------------------------------------------------------------------------------


def query_texts(count: int, rng: random.Random) -> list[str]:
    """`count` distinct query texts (distinct after normalisation), in random order."""
    shapes = len(HOWS) + 1, len(VERBS), len(OBJECTS), len(QUALIFIERS) + 1
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
        words = [VERBS[verb], OBJECTS[obj]]
        if how:
            words.insert(0, HOWS[how - 1])
        if qual:
            words.append(QUALIFIERS[qual - 1])
        out.append(" ".join(words))
    return out


def test_queries(count: int, seed: int, past: set[str]) -> list[str]:
    """Realistic search strings built from the same vocabulary, none a past query verbatim."""
    from unfragile.engine.records import normalise_query

    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        text = rng.choice(TEMPLATES).format(
            verb=rng.choice(VERBS),
            obj=rng.choice(OBJECTS),
            qual=rng.choice(QUALIFIERS),
            how=rng.choice(HOWS),
            org=rng.choice(ORGS).title(),
            verb2=rng.choice(VERBS),
            obj2=rng.choice(OBJECTS),
        )
        key = normalise_query(text)
        if key in past or key in seen:
            continue
        seen.add(key)
        out.append(" ".join(text.split()))
    return out


_OBJECTS_LONGEST_FIRST = sorted(range(len(OBJECTS)), key=lambda i: -len(OBJECTS[i]))
_QUALS_LONGEST_FIRST = sorted(range(len(QUALIFIERS)), key=lambda i: -len(QUALIFIERS[i]))
_VERB_INDEX = {v: i for i, v in enumerate(VERBS)}
_HOW_INDEX = {h: i for i, h in enumerate(HOWS)}


def topic(text: str) -> tuple[int, int, int | None, int | None]:
    """(verb, object, qualifier, adjective) indexes of a generated title or query text.

    Titles read "<Verb> <object> <qualifier>[ #n]", past queries "[adjective] <verb> <object>
    [qualifier]". A text that does not parse gets a verb/object from its hash.
    """
    low = " ".join(text.lower().split())
    words = low.split()
    verb = next((_VERB_INDEX[w] for w in words if w in _VERB_INDEX), None)
    how = _HOW_INDEX.get(words[0]) if words else None
    obj, end = None, 0
    for i in _OBJECTS_LONGEST_FIRST:
        at = low.find(OBJECTS[i])
        if at >= 0:
            obj, end = i, at + len(OBJECTS[i])
            break
    rest = low[end:]
    qual = next((i for i in _QUALS_LONGEST_FIRST if QUALIFIERS[i] in rest), None)
    if verb is None or obj is None:
        h = int.from_bytes(low.encode()[:16].ljust(16, b"\0"), "big")
        verb, obj = (
            verb if verb is not None else h % len(VERBS),
            obj if obj is not None else (h // 97) % len(OBJECTS),
        )
    return verb, obj, qual, how


def _text(rng: random.Random, obj: str, low: int, high: int) -> str:
    target = rng.randint(low, high)
    parts: list[str] = []
    length = 0
    while length < target:
        s = rng.choice(SENTENCES).format(obj=obj, qual=rng.choice(QUALIFIERS))
        if parts and length + 1 + len(s) > high:
            break
        parts.append(s)
        length += len(s) + (1 if len(parts) > 1 else 0)
    return " ".join(parts)[:high]


# -- catalog -------------------------------------------------------------------------------


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


def _capabilities(rng: random.Random, art_id: str, count: int) -> tuple[list[dict], list[str]]:
    """`count` capability records of one artifact, and their ids (titles unique by slug)."""
    from unfragile.engine.records import slug  # the engine's own rule for capability ids

    caps, ids, seen = [], [], set()
    for _ in range(count):
        c_obj = rng.choice(OBJECTS)
        title = f"{rng.choice(VERBS).title()} {c_obj} {rng.choice(QUALIFIERS)}"
        n = 2
        while slug(title) in seen:
            title = f"{title.rsplit(' #', 1)[0]} #{n}"
            n += 1
        seen.add(slug(title))
        ids.append(f"{art_id}/{slug(title)}")
        cap: dict[str, Any] = {"title": title, "text": _text(rng, c_obj, 100, 300)}
        if rng.random() < 0.3:
            cap["unique"] = _text(rng, c_obj, 60, 160)
        if rng.random() < 0.2:
            cap["vs_alternatives"] = _text(rng, c_obj, 60, 160)
        caps.append(cap)
    return caps, ids


def write_catalog(
    path: Path, artifacts: int, capabilities: int, rng: random.Random
) -> tuple[list[str], list[list[str]]]:
    """catalog.jsonl: `artifacts` records sharing `capabilities`; returns artifact and cap ids."""
    from unfragile.engine.records import slug

    counts = _split(capabilities, artifacts, rng)
    cap_ids: list[list[str]] = []
    art_ids: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(artifacts):
            org = rng.choice(ORGS)
            verb, obj = rng.choice(VERBS), rng.choice(OBJECTS)
            name = f"{org.title()} {verb.title()}-{obj.split()[0].title()} {i}"
            art_id = f"{org}/{slug(name)}"
            art_ids.append(art_id)
            caps, ids = _capabilities(rng, art_id, counts[i])
            cap_ids.append(ids)
            record: dict[str, Any] = {
                "id": art_id,
                "name": name,
                "kind": rng.choice(KINDS),
                "task": f"{verb} {obj}",
                "provider": org.title(),
                "description": _text(rng, obj, 300, 900),
                "pricing": rng.choice(["free", "freemium", "paid", "usage-based"]),
                "license": rng.choice(LICENSES),
                "open_weights": rng.random() < 0.4,
                "modalities": rng.sample(MODALITIES, rng.randint(1, 3)),
                "released": f"20{rng.randint(20, 25)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "url": f"https://example.org/{art_id}",
                "signals": {
                    "downloads": rng.randint(0, 5_000_000),
                    "likes": rng.randint(0, 50_000),
                },
                "benchmarks": {"mmlu": round(rng.random(), 3)} if rng.random() < 0.3 else {},
                "frameworks": rng.sample(FRAMEWORKS, rng.randint(0, 3)),
                "categories": rng.sample(CATEGORIES, rng.randint(1, 3)),
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
    return art_ids, cap_ids


# -- events --------------------------------------------------------------------------------


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def _zipf(count: int, s: float) -> tuple[list[float], float]:
    """Cumulative Zipf weights of ranks 0..count-1 and their total (for bisect)."""
    cum, acc = [], 0.0
    for rank in range(count):
        acc += 1.0 / (rank + 1) ** s
        cum.append(acc)
    return cum, acc


# Of the matches a click follows; of the clicks a dwell, and feedback.
P_CLICK = MIX["click"] / MIX["match"]
P_DWELL = MIX["dwell"] / MIX["click"]
P_FEEDBACK = MIX["feedback"] / MIX["click"]


def _as_typed(rng: random.Random, text: str) -> str:
    if rng.random() < 0.1:  # as typed: the same Query node after normalisation
        return text.capitalize() if rng.random() < 0.5 else f" {text.upper()} "
    return text


def _kinds(rng: random.Random) -> list[str]:
    """A match and what follows it in the session: click, then maybe dwell and feedback."""
    kinds = ["match"]
    if rng.random() < P_CLICK:
        kinds.append("click")
        if rng.random() < P_DWELL:
            kinds.append("dwell")
        if rng.random() < P_FEEDBACK:
            kinds.append("feedback")
    return kinds


def _write(
    f: TextIO, rng: random.Random, base: dict, kinds: list[str], t: float, written: Counter
) -> float:
    """One event of each kind, a few seconds apart after `t`; returns the last one's time."""
    for kind in kinds:
        t += rng.uniform(0.5, 20)
        ev = {**base, "event": kind, "time": _stamp(t)}
        if kind == "dwell":
            ev["seconds"] = round(rng.lognormvariate(3.0, 1.0), 1)
        elif kind == "feedback":
            ev["value"] = 1 if rng.random() < 0.8 else -1
        f.write(json.dumps(ev) + "\n")
        written[kind] += 1
    return t


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
    """Write catalog.jsonl and events.jsonl under `out` (the ingest bench's); say what was written.

    Queries are drawn Zipf-like from `queries` distinct texts, events grouped by session.
    """
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    catalog = out / "catalog.jsonl"
    art_ids, cap_ids = write_catalog(catalog, artifacts, capabilities, rng)

    texts = query_texts(queries, rng)
    cum, acc = _zipf(queries, zipf_s)
    interactions = events / (1 + P_CLICK + P_CLICK * (P_DWELL + P_FEEDBACK))
    per_session = max(1.0, interactions / max(1, sessions))
    p_more = 1 - 1 / per_session  # geometric number of interactions per session
    rank_weights = [1 / (k + 1) for k in range(10)]  # position bias among a query's results
    written = Counter(dict.fromkeys(MIX, 0))
    used_queries: set[int] = set()
    with_capability = 0
    session_count = 0
    clock = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    step = 86_400 * 30 / max(1, sessions)  # the sessions span about a month
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
                text = _as_typed(rng, texts[rank])
                k = rng.choices(range(3 + rank % 8), rank_weights[: 3 + rank % 8])[0]
                a = (rank * 2_654_435_761 + k * 40_503 + seed) % artifacts
                base = {"query": text, "artifact": art_ids[a], "session": session}
                if rng.random() < 0.5:
                    caps = cap_ids[a]
                    base["capability"] = caps[min(len(caps) - 1, int(rng.expovariate(0.5)))]
                    with_capability += 1
                kinds = _kinds(rng)[: events - total]
                t = _write(f, rng, base, kinds, t, written)
                total += len(kinds)
                if rng.random() >= p_more:
                    break
    return {
        "dir": str(out),
        "artifacts": artifacts,
        "capabilities": capabilities,
        "events": sum(written.values()),
        "event_mix": dict(written),
        "interactions_naming_capability": with_capability,
        "distinct_queries_pool": queries,
        "distinct_queries_used": len(used_queries),
        "sessions": session_count,
        "zipf_s": zipf_s,
        "seed": seed,
        "catalog_bytes": catalog.stat().st_size,
        "events_bytes": (out / "events.jsonl").stat().st_size,
    }


def _targets(catalog: Path) -> tuple[dict, dict]:
    """(artifact, capability) pairs of the catalog by (verb, object) of the title, and by object."""
    from unfragile.engine.records import slug

    by_pair: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    by_object: dict[int, list[tuple[str, str]]] = defaultdict(list)
    with open(catalog, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            for cap in record["capabilities"]:
                verb, obj, _, _ = topic(cap["title"])
                target = (record["id"], f"{record['id']}/{slug(cap['title'])}")
                by_pair[(verb, obj)].append(target)
                by_object[obj].append(target)
    return by_pair, by_object


def search_events(
    out: Path, queries: int, events: int, zipf_s: float, seed: int
) -> tuple[dict[str, Any], list[str]]:
    """events.jsonl over `queries` distinct texts, every one used; returns its summary and texts.

    For the catalog.jsonl already in `out`. Each search matches capabilities about the query's
    verb and object (or, failing enough of those, its object), so the match graph points where
    the capability vectors do; popular queries (Zipf) are searched again in other sessions and
    the events span a year, so recency counts.
    """
    rng = random.Random(seed * 1_000_003 + 11)
    by_pair, by_object = _targets(out / "catalog.jsonl")
    texts = query_texts(queries, rng)
    cum, acc = _zipf(queries, zipf_s)
    searches = max(queries, round(events / (1 + P_CLICK * (1 + P_DWELL + P_FEEDBACK))))
    extra = searches - queries
    order = list(range(queries)) + [
        min(queries - 1, bisect.bisect_left(cum, rng.random() * acc)) for _ in range(extra)
    ]
    rng.shuffle(order)
    results: dict[int, list[tuple[str, str]]] = {}
    written: Counter = Counter()
    sessions = 0
    with_capability = 0
    start = 1_735_689_600.0  # 2025-01-01T00:00:00Z; the events span 365 days
    span = 365 * 86_400.0
    i = 0
    with open(out / "events.jsonl", "w", encoding="utf-8") as f:
        while i < len(order):
            session = f"sess-{seed}-{sessions:07d}"
            sessions += 1
            size = 1 + min(7, int(rng.expovariate(1 / 2.0)))  # searches in this session
            t = start + span * i / len(order) + rng.uniform(0, 3600)
            for rank in order[i : i + size]:
                text = texts[rank]
                if rank not in results:
                    verb, obj, _, _ = topic(text)
                    pool = by_pair.get((verb, obj), [])
                    if len(pool) < 5:
                        pool = pool + by_object.get(obj, [])
                    rrng = random.Random(f"{seed}:{rank}")
                    results[rank] = rrng.sample(pool, min(8, len(pool)))
                shown = results[rank]
                if not shown:
                    continue
                k = rng.choices(range(len(shown)), [1 / (j + 1) for j in range(len(shown))])[0]
                artifact, capability = shown[k]
                base = {"query": _as_typed(rng, text), "artifact": artifact, "session": session}
                if rng.random() < 0.5:
                    base["capability"] = capability
                    with_capability += 1
                t = _write(f, rng, base, _kinds(rng), t, written)
            i += size
    summary = {
        "events": sum(written.values()),
        "event_mix": dict(written),
        "searches": len(order),
        "distinct_queries": queries,
        "interactions_naming_capability": with_capability,
        "sessions": sessions,
        "zipf_s": zipf_s,
        "events_bytes": (out / "events.jsonl").stat().st_size,
    }
    return summary, texts


# -- vectors -------------------------------------------------------------------------------


def unit(x: np.ndarray) -> np.ndarray:
    """`x` with every row scaled to length 1, in place."""
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


class Mixture:
    """A two-level Gaussian mixture on the unit sphere (topics -> centres -> points).

    Clustered like real sentence embeddings: uniformly random vectors would make IVF look worse
    than it is on real data.
    """

    def __init__(self, dim: int, centres: int, topics: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        topic_vectors = unit(rng.standard_normal((topics, dim)).astype(np.float32))
        parent = rng.integers(0, topics, centres)
        # Centres sit around their topic (cosine ~0.7), so neighbouring clusters overlap the
        # way related sub-topics do.
        noise = rng.standard_normal((centres, dim)).astype(np.float32) / np.sqrt(dim)
        self.centres = unit(topic_vectors[parent] + noise)
        # Uneven cluster sizes (a few big topics, a long tail) and uneven spreads: per-centre
        # noise so points have cosine ~0.6-0.85 to their centre.
        weights = rng.pareto(1.5, centres) + 1.0
        self.weights = weights / weights.sum()
        self.spread = rng.uniform(0.6, 1.3, centres).astype(np.float32) / np.sqrt(dim)
        self.dim = dim

    def sample(self, n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), dtype=np.float32)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            which = rng.choice(len(self.centres), m, p=self.weights)
            noise = rng.standard_normal((m, self.dim), dtype=np.float32)
            block = self.centres[which] + noise * self.spread[which, None]
            out[start : start + m] = unit(block)
        return out
