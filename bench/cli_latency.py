"""CLI latency: `unfragile --help`, `unfragile search` standalone and with `unfragile serve`.

    python bench/cli_latency.py                 # 7 runs of each, on the bundled catalog
    python bench/cli_latency.py --runs 3 --json

What it does:

1. Starts its own Neo4j in a fresh temporary UNFRAGILE_HOME (never the user's data; NEO4J_URI
   is ignored) and loads the bundled catalog with `unfragile ingest` and `unfragile index`.
2. Times, as a person at a shell would see it (wall clock of the whole process, the
   interpreter's start included), `--runs` runs each of:
   - `unfragile --help`;
   - `unfragile search QUERY` with no server running: it looks for one, finds none, and
     loads the text model and the indexes itself;
   - `unfragile search QUERY` while `unfragile serve` of the same home runs (started after
     the standalone runs, timed once warm): the CLI finds it through `<home>/run/serve.json`,
     checks GET /healthz and asks GET /search.
   The answer printed by the served runs must be the standalone one, byte for byte, and the
   server's access log must show each served search: the bench stops with an error if not.
3. Prints the median, fastest and slowest run of each, and the ratio to the standalone search.

Targets (issue 13): `unfragile --help` <= 1 s; a search with a running server <= 1 s.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    Columns,
    command,
    machine,
    say,
    stamp_lines,
    throwaway_neo4j,
    verdict,
    workdir,
)

QUERY = "open source alternative to midjourney"


def unfragile() -> list[str]:
    """The `unfragile` console script beside this interpreter, else `python -m`."""
    script = Path(sys.executable).with_name("unfragile")
    return [str(script)] if script.exists() else [sys.executable, "-m", "unfragile.api.cli"]


def timed(args: list[str], env: dict[str, str], runs: int) -> tuple[list[float], str]:
    """Wall seconds of each run, and the stdout (the same every run, or the bench fails)."""
    seconds, outputs = [], set()
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
        seconds.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        outputs.add(done.stdout)
    if len(outputs) != 1:
        raise SystemExit(f"{' '.join(args)} printed different answers on different runs")
    return seconds, outputs.pop()


def wait_for_record(run_file: Path, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if json.loads(run_file.read_text())["pid"] == proc.pid:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise SystemExit("serve did not record itself within 10 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="Runs of each command.")
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--json", action="store_true", help="Print a JSON report.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary home.")
    args = parser.parse_args()
    cli = unfragile()
    stamp = machine("typer", "uvicorn")
    with workdir("unfragile-cli-bench-", keep=args.keep) as work:
        home = work / "home"
        with throwaway_neo4j(home):
            env = dict(os.environ, UNFRAGILE_HOME=str(home))
            env.pop("NEO4J_URI", None)
            env.setdefault("HF_HUB_OFFLINE", "1")
            env.setdefault("TRANSFORMERS_OFFLINE", "1")
            for step in (["ingest", str(ROOT / "data" / "catalog")], ["index"]):
                say("$ unfragile", *step)
                subprocess.run([*cli, *step], env=env, check=True, capture_output=True)
            search = [*cli, "search", args.query]
            say(f"timing {args.runs} runs of each ...")
            help_s, _ = timed([*cli, "--help"], env, args.runs)
            alone_s, alone_out = timed(search, env, args.runs)
            log = work / "serve.log"
            with open(log, "wb") as out:
                server = subprocess.Popen(
                    [*cli, "serve", "--port", str(free_port()), "--access-log"],
                    env={**env, "PYTHONUNBUFFERED": "1"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_for_record(home / "run" / "serve.json", server, log)
                timed(search, env, 1)  # the server's first search warms its caches
                served_s, served_out = timed(search, env, args.runs)
            finally:
                server.terminate()
                server.wait(timeout=60)
            asked = log.read_text().count('"GET /search?')
    if served_out != alone_out:
        raise SystemExit("the served search printed another answer than the standalone one")
    if asked != args.runs + 1:
        raise SystemExit(f"the server answered {asked} searches, not {args.runs + 1}")
    report(args, stamp, cli, {"help": help_s, "alone": alone_s, "served": served_s})


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(
    args: argparse.Namespace,
    stamp: dict[str, Any],
    cli: list[str],
    runs: dict[str, list[float]],
) -> None:
    medians = {name: statistics.median(s) for name, s in runs.items()}
    rows = [
        ("help", "unfragile --help"),
        ("alone", "unfragile search QUERY   (no server)"),
        ("served", "unfragile search QUERY   (serve running)"),
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "machine": stamp,
                    "command": command(),
                    "runs": args.runs,
                    "query": args.query,
                    "seconds": runs,
                    "median_s": medians,
                    "ratio_to_standalone": {k: v / medians["alone"] for k, v in medians.items()},
                },
                indent=2,
            )
        )
        return
    for line in stamp_lines(stamp, command(short=True)):
        print(line)
    print(f"runs:     {args.runs} of each; wall clock of the whole process ({' '.join(cli)})")
    print(f"QUERY:    {args.query!r}")
    table = Columns(
        ("command", "<40"),
        ("median s", ">8.2f"),
        ("min s", ">6.2f"),
        ("max s", ">6.2f"),
        ("vs standalone", ">13.3f"),
    )
    print(table.header())
    for key, title in rows:
        s = runs[key]
        print(table.row(title, medians[key], min(s), max(s), medians[key] / medians["alone"]))
    print(f"--help <= 1 s: {verdict(medians['help'] <= 1.0)}")
    print(f"search with a running server <= 1 s: {verdict(medians['served'] <= 1.0)}")


if __name__ == "__main__":
    main()
