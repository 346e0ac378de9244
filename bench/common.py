"""Shared by the bench scripts: machine stamp, throwaway Neo4j, CPU and latency figures, tables."""

from __future__ import annotations

import importlib
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # a script run as bench/<name>.py imports the engine from here
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"


def metatool_dir() -> Path:
    """MetaTool's folder: UNFRAGILE_METATOOL_DIR, else ../shared/metatool beside the repo."""
    return Path(os.environ.get("UNFRAGILE_METATOOL_DIR") or ROOT.parent / "shared" / "metatool")


def say(*parts: Any) -> None:
    """Progress on stderr: stdout carries only the report."""
    print(*parts, file=sys.stderr, flush=True)


def command(short: bool = False) -> str:
    """The command line that ran the bench; `short` names the interpreter without its path."""
    return shlex.join([Path(sys.executable).name if short else sys.executable, *sys.argv])


# -- machine stamp -------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def loadavg() -> str | None:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg writes them."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return None


def git_state() -> dict[str, Any]:
    """HEAD's short hash and the tracked files with uncommitted changes ("?" without git)."""

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", *a], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout.rstrip("\n")
        except (OSError, subprocess.CalledProcessError):
            return "?"

    return {
        "head": git("rev-parse", "--short", "HEAD").strip(),
        "modified": [
            line[3:]
            for line in git("status", "--porcelain").splitlines()
            if line[:2].strip() and not line.startswith("??")
        ],
    }


def versions(*modules: str) -> dict[str, str | None]:
    """`__version__` of each module (None where it is not installed)."""
    out: dict[str, str | None] = {}
    for name in modules:
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:  # informational only
            out[name] = None
    return out


def machine(*modules: str) -> dict[str, Any]:
    """The machine stamp: CPUs, memory, platform, load now, git state, versions of `modules`."""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "ram_gb": ram_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg": loadavg(),
        "git": git_state(),
        "versions": versions(*modules),
    }


def describe(m: dict[str, Any]) -> str:
    """'2 CPUs (model), 7.8 GB RAM, Python 3.11.2' from a machine stamp."""
    return (
        f"{m.get('nproc')} CPUs ({m.get('cpu', '?')}), {m.get('ram_gb', '?')} GB RAM, "
        f"Python {m.get('python')}"
    )


def code(git: dict[str, Any]) -> str:
    """'HEAD abc1234, uncommitted changes in a.py, b.py' (the first five; the stamp has all)."""
    modified = git["modified"]
    more = f" and {len(modified) - 5} more" if len(modified) > 5 else ""
    return f"HEAD {git['head']}" + (
        f", uncommitted changes in {', '.join(modified[:5])}{more}" if modified else ""
    )


def stamp_lines(m: dict[str, Any], cmd: str) -> list[str]:
    """The header of a report: command, load, machine, code, versions."""
    lines = [
        f"command:  {cmd}",
        f"load:     {m['loadavg']} (1/5/15-min load average; the machine may be shared)",
        f"machine:  {describe(m)}, {m['platform']}",
        f"code:     {code(m['git'])}",
    ]
    if m["versions"]:
        lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    return lines


# -- CPU and memory ------------------------------------------------------------------------


def cpu_s() -> float:
    """CPU seconds this process has used, all threads, user + system."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def maxrss_mb() -> float:
    # Linux reports kilobytes, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def proc_cpu_s(pid: int | None) -> float | None:
    """CPU seconds process `pid` has used (None without /proc or without a pid)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def system_busy_s() -> float | None:
    """CPU seconds all processes of the machine have used since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextmanager
def cpu_window(server_pid: int | None, out: dict[str, Any]) -> Iterator[None]:
    """What this process, Neo4j and everything else used of the CPUs during the block.

    The machine is shared: CPU that other processes took meanwhile makes wall times worse.
    """
    wall0, own0 = time.perf_counter(), cpu_s()
    srv0, sys0 = proc_cpu_s(server_pid), system_busy_s()
    load0 = loadavg()
    try:
        yield
    finally:
        wall = time.perf_counter() - wall0
        own = cpu_s() - own0
        srv1, sys1 = proc_cpu_s(server_pid), system_busy_s()
        server = None if srv0 is None or srv1 is None else srv1 - srv0
        total = None if sys0 is None or sys1 is None else sys1 - sys0
        out.update(
            {
                "wall_s": wall,
                "loadavg_start": load0,
                "loadavg_end": loadavg(),
                "bench_cpu_s": own,
                "neo4j_cpu_s": server,
                "others_cpu_s": None if total is None else max(0.0, total - own - (server or 0.0)),
            }
        )
        if out["others_cpu_s"] is not None and wall > 0:
            out["others_share_of_machine"] = out["others_cpu_s"] / (wall * (os.cpu_count() or 1))


# -- latency figures -----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """numpy's percentile (linear interpolation); nan for no values."""
    import numpy as np

    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def ms_summary(ms: Sequence[float]) -> dict[str, float]:
    return {
        "mean_ms": statistics.fmean(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
    }


def p50_p99_ms(seconds: Sequence[float]) -> tuple[float, float]:
    ms = [s * 1e3 for s in seconds]
    return percentile(ms, 50), percentile(ms, 99)


# -- tables --------------------------------------------------------------------------------


def verdict(good: bool) -> str:
    return "PASS" if good else "MISS"


class Columns:
    """A fixed-width text table: each column a title and the format spec of its cells."""

    def __init__(self, *columns: tuple[str, str], indent: str = "  ", sep: str = "  "):
        self.columns, self.indent, self.sep = columns, indent, sep

    def header(self) -> str:
        # A title takes its column's alignment and width, not the number format.
        return self.row(*(t for t, _ in self.columns), titles=True)

    def row(self, *cells: Any, titles: bool = False) -> str:
        specs = [s for _, s in self.columns]
        if titles:
            specs = [re.match(r"[<>^]?\d*", s).group(0) for s in specs]  # type: ignore[union-attr]
        return self.indent + self.sep.join(format(c, s) for c, s in zip(cells, specs, strict=True))


# -- a throwaway Neo4j ---------------------------------------------------------------------


@contextmanager
def workdir(prefix: str, keep: bool = False, log: Callable[..., None] = say) -> Iterator[Path]:
    """A fresh temporary folder, deleted at the end unless `keep`."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@dataclass
class Throwaway:
    settings: Any  # engine.settings.Settings, with UNFRAGILE_HOME the throwaway home
    graph: Any  # graph.connection.Graph, open
    pid: int | None  # the local server's process; None for the server in NEO4J_URI
    start_s: float | None  # how long the local server took to start


@contextmanager
def throwaway_neo4j(
    home: Path, external: bool = False, schema: bool = True, log: Callable[..., None] = say
) -> Iterator[Throwaway]:
    """A graph on a fresh local Neo4j in `home` (never the user's data), stopped at the end
    whatever happens. With `external` and NEO4J_URI set, that server instead: nothing is
    started, and guarding its data is the caller's job. Indexes go under `home` either way."""
    from unfragile.engine.db import local_server, open_graph
    from unfragile.engine.settings import Settings

    # A kill (SIGTERM) still runs the `finally` below, which stops the server. (SIGINT is
    # ignored by jobs a non-interactive shell puts in the background.)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = Settings.from_env()
    server = pid = start_s = None
    if external and settings.external_neo4j:
        settings = settings.with_(home=home)
    else:
        settings = settings.with_(home=home, neo4j_uri=None)
        server = local_server(settings)
    try:
        if server is not None:
            log(f"starting Neo4j in {home} ...")
            t0 = time.perf_counter()
            pid = server.start(timeout_s=settings.neo4j_start_timeout_s)[0].pid
            start_s = time.perf_counter() - t0
        graph = open_graph(settings, apply_schema=schema)
        try:
            yield Throwaway(settings, graph, pid, start_s)
        finally:
            graph.close()
    finally:
        if server is not None:
            server.stop()


def neo4j_info(graph: Any, settings: Any) -> dict[str, Any]:
    """Version, edition and memory settings of the server, for the report."""
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
