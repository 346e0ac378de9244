"""Ingest benchmark: synthetic catalog + search events, loaded into a throw-away Neo4j.

    python bench/ingest.py                       # 10k artifacts, 100k capabilities, 1M events
    python bench/ingest.py --artifacts 1000 --capabilities 10000 --events 100000
    python bench/ingest.py --repeat 3 --json     # median of three runs, as JSON

What it does:

1. Generates a deterministic (seeded) synthetic data set (bench/synthetic.py's `generate`) as
   JSONL in a temporary folder, in a *subprocess*, so the generator's own memory never shows
   in the loader's peak RSS:
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
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    code,
    command,
    cpu_window,
    describe,
    loadavg,
    machine,
    maxrss_mb,
    neo4j_info,
    throwaway_neo4j,
    verdict,
    workdir,
)
from common import say as progress
from synthetic import generate

TARGET_CAPS_PER_S = 20_000
TARGET_EVENTS_PER_S = 50_000
TARGET_PEAK_MB = 1024

# -- measurement ---------------------------------------------------------------------------


def _rust_ext() -> bool | None:
    """Whether the neo4j driver packs with its Rust extension."""
    try:
        from neo4j._codec.packstream import v1

        return v1._rust_pack is not None
    except Exception:  # informational only
        return None


def _server_threads(pid: int | None) -> dict[str, float]:
    """The server's CPU seconds so far by kind of JVM thread: the JIT compilers, the garbage
    collector, the Bolt workers that run the statements, and the rest."""
    out = {"jit": 0.0, "gc": 0.0, "bolt": 0.0, "other": 0.0}
    if pid is None:
        return out
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            name = Path(f"/proc/{pid}/task/{task}/comm").read_text().strip()
            fields = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        cpu = (int(fields[11]) + int(fields[12])) / tick
        kind = (
            "jit"
            if "Compiler" in name
            else "gc"
            if name.startswith(("GC ", "G1 ", "VM Thread"))
            else "bolt"
            if "Bolt" in name
            else "other"
        )
        out[kind] += cpu
    return out


def _store_bytes(home: Path) -> dict[str, int]:
    """Bytes on disk of the database's store and its transaction logs (du)."""
    data = home / "neo4j" / "dbms" / "data"
    out = {}
    for key, folder in (
        ("store", data / "databases" / "neo4j"),
        ("tx_logs", data / "transactions" / "neo4j"),
    ):
        if folder.is_dir():
            du = subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True)
            out[key] = int(du.stdout.split()[0]) if du.returncode == 0 else -1
    return out


def _count(graph: Any, query: str) -> int:
    return graph.read(query)[0]["n"]


def _statement_names() -> list[tuple[str, str]]:
    from unfragile.graph import store

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
    graph: Any,
    files: Path,
    batch_size: int,
    server_pid: int | None,
    profile: Path | None = None,
    validate_pass: bool = True,
) -> dict[str, Any]:
    from unfragile.engine.ingest import ingest, validate

    r: dict[str, Any] = {"statements": {}, "loadavg_start": loadavg()}
    for phase, name in (("catalog", "catalog.jsonl"), ("events", "events.jsonl")):
        path = files / name
        if validate_pass or phase == "catalog":
            t0 = time.perf_counter()
            plan = validate(graph, path, show_progress=False)
            r[f"{phase}_validate_s"] = time.perf_counter() - t0
            del plan
        else:
            r[f"{phase}_validate_s"] = float("nan")  # not measured (--no-validate-pass)
        threads0 = _server_threads(server_pid)
        r[f"{phase}_rss_before_mb"] = maxrss_mb()
        window: dict[str, Any] = {}
        with cpu_window(server_pid, window):
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
        r[f"{phase}_ingest_s"] = seconds
        r[f"{phase}_write_s"] = max(0.0, seconds - r[f"{phase}_validate_s"])
        r[f"{phase}_client_cpu_s"] = window["bench_cpu_s"]
        r[f"{phase}_server_cpu_s"] = window["neo4j_cpu_s"]
        # CPU that other processes took meanwhile: a busy machine makes wall times worse.
        r[f"{phase}_others_cpu_s"] = window["others_cpu_s"]
        threads1 = _server_threads(server_pid)
        r[f"{phase}_server_threads_s"] = {k: round(threads1[k] - threads0[k], 2) for k in threads1}
        r[f"{phase}_rss_after_mb"] = maxrss_mb()
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
        "nodes": _count(graph, "MATCH (n) RETURN count(n) AS n"),
        "relationships": _count(graph, "MATCH ()-[r]->() RETURN count(r) AS n"),
    }
    r["log"] = _log_size(graph)
    return r


def _log_size(graph: Any) -> dict[str, Any]:
    """The event log: parts, bytes, and its per-session rows (what were Evidence nodes)."""
    from unfragile.engine import event_log
    from unfragile.engine.event_log import open_events

    log = event_log.for_graph(graph)
    if log is None:
        return {}
    parts = log.parts()
    con = open_events(log)
    assert con is not None
    with con:
        row = con.execute("SELECT count(*), count(DISTINCT key) FROM ev").fetchone()
    assert row is not None
    return {
        "parts": len(parts),
        "bytes": sum(p.stat().st_size for p in parts),
        "events": int(row[0]),
        "session_rows": int(row[1]),
    }


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


def _neo4j_s(r: dict[str, Any], phase: str) -> float:
    """Client wall time in Cypher statements and commits during one phase's ingest."""
    return sum(t["run_s"] + t["fetch_s"] for t in r["statements"].get(phase, {}).values())


def _table(result: dict[str, Any]) -> str:
    r, m, n = result["figures"], result["machine"], result["neo4j"]
    g = result["generated"]

    def row(label: str, value: str, note: str = "") -> str:
        return f"  {label:<34} {value:>14}  {note}"

    def server_cpu(key: str) -> str:
        return f"{r[key]:.1f}s" if r.get(key) is not None else "n/a"

    lines = [
        f"command: {result['command']}",
        f"machine: {describe(m)}, neo4j driver {m['versions'].get('neo4j', '?')} (rust ext "
        f"{'on' if m.get('neo4j_rust_ext') else 'off'}); load average {r.get('loadavg_start')} "
        f"at start, {m.get('loadavg')} at end",
        f"code:    {code(m['git'])}",
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
            f"{verdict(r['capabilities_per_s'] >= TARGET_CAPS_PER_S)} (target ≥ "
            f"{TARGET_CAPS_PER_S:,}); {r['artifacts_per_s']:,.0f} artifacts/s",
        ),
        row(
            "events: validate only",
            f"{r['events_validate_s']:.2f}s"
            if r["events_validate_s"] == r["events_validate_s"]
            else "not run",
            f"{r['events'] / r['events_validate_s']:,.0f} events/s"
            if r["events_validate_s"] == r["events_validate_s"]
            else "(--no-validate-pass)",
        ),
        row(
            "events: ingest (validate + write)",
            f"{r['events_ingest_s']:.2f}s",
            f"write ≈ {r['events_write_s']:.2f}s; Python CPU {r['events_client_cpu_s']:.1f}s, "
            f"Neo4j CPU {server_cpu('events_server_cpu_s')}, "
            f"other processes {server_cpu('events_others_cpu_s')}",
        ),
        row(
            "events: Neo4j CPU by thread",
            "",
            ", ".join(f"{k} {v:.1f}s" for k, v in r.get("events_server_threads_s", {}).items()),
        ),
        row(
            "events: where the ingest went",
            "",
            f"validate ≈ {r['events_validate_s']:.2f}s (the pass above), Neo4j statements + "
            f"commits {_neo4j_s(r, 'events'):.2f}s, append + DuckDB aggregation ≈ "
            f"{max(0.0, r['events_write_s'] - _neo4j_s(r, 'events')):.2f}s",
        ),
        row(
            "events/s",
            f"{r['events_per_s']:,.0f}",
            f"{verdict(r['events_per_s'] >= TARGET_EVENTS_PER_S)} "
            f"(target ≥ {TARGET_EVENTS_PER_S:,})",
        ),
        row(
            "loader peak RSS",
            f"{r['events_rss_after_mb']:,.0f} MB",
            f"{verdict(r['events_rss_after_mb'] < TARGET_PEAK_MB)} (target < {TARGET_PEAK_MB} MB); "
            f"{r['catalog_rss_before_mb']:,.0f} MB before any ingest, "
            f"{r['catalog_rss_after_mb']:,.0f} MB after the catalog",
        ),
        row("graph after", "", ", ".join(f"{k} {v:,}" for k, v in r["graph"].items())),
        row(
            "store on disk after (du)",
            "",
            ", ".join(f"{k} {v / 1e6:,.1f} MB" for k, v in r.get("store_bytes", {}).items()),
        ),
        row("event log after", "", ", ".join(f"{k} {v:,}" for k, v in r.get("log", {}).items())),
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
    p.add_argument(
        "--server-pid",
        type=int,
        default=None,
        help="with NEO4J_URI on this machine: the server's pid, to report its CPU time",
    )
    p.add_argument(
        "--no-validate-pass",
        action="store_true",
        help="skip the separate validate-only pass over the events (saves its time at 10M)",
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

    from unfragile.engine import ingest as _ingest  # noqa: F401
    from unfragile.graph import store
    from unfragile.graph.connection import Graph  # noqa: F401  (imported before the baseline RSS)

    say = (lambda *a: None) if args.json else progress
    with workdir("unfragile-bench-", args.keep, say) as work:
        say(f"generating data in {work / 'data'} ...")
        t0 = time.perf_counter()
        generated = _generate_in_subprocess(args, work / "data")
        say(
            f"  {generated['events']:,} events, {generated['capabilities']:,} capabilities "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        with throwaway_neo4j(work / "home", external=True, log=say) as neo:
            graph, settings = neo.graph, neo.settings
            if settings.external_neo4j and any(store.stats(graph).values()):
                if not args.wipe_external:
                    raise SystemExit(
                        f"the graph at {settings.neo4j_uri} is not empty: the bench "
                        "would mix with (and then delete) its data. Point NEO4J_URI "
                        "at an empty database, or pass --wipe-external."
                    )
            info = neo4j_info(graph, settings)
            batch_size = args.batch_size or settings.batch_size
            runs = []
            for i in range(args.repeat):
                if i or settings.external_neo4j:
                    store.delete_everything(graph)
                say(f"run {i + 1}/{args.repeat} ...")
                run = _one_run(
                    graph,
                    work / "data",
                    batch_size,
                    neo.pid or args.server_pid,
                    validate_pass=not args.no_validate_pass,
                )
                say(
                    f"  {run['capabilities_per_s']:,.0f} capabilities/s, "
                    f"{run['events_per_s']:,.0f} events/s, peak RSS "
                    f"{run['events_rss_after_mb']:,.0f} MB"
                )
                runs.append(run)
            if args.profile is not None:
                say("extra run under cProfile (not counted in the figures) ...")
                store.delete_everything(graph)
                _one_run(graph, work / "data", batch_size, neo.pid, args.profile)
            if settings.external_neo4j:
                store.delete_everything(graph)
        if not settings.external_neo4j:
            # After the server stopped: a clean stop checkpoints, so the store files hold
            # everything (before, much of it is only in the transaction logs).
            runs[-1]["store_bytes"] = _store_bytes(work / "home")
    result = {
        "command": command(),
        "machine": {**machine("neo4j"), "neo4j_rust_ext": _rust_ext()},
        "neo4j": info,
        "generated": generated,
        "batch_size": batch_size,
        "repeat": args.repeat,
        "figures": _median(runs) if len(runs) > 1 else runs[0],
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


if __name__ == "__main__":
    sys.exit(main())
