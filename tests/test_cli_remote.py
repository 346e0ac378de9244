"""The fast CLI: `unfragile` starts without the heavy libraries, and `unfragile search` asks a
running `unfragile serve` of the same home (a real subprocess over the session's Neo4j)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, load_catalog
from unfragile.api.cli import remote
from unfragile.graph import store

HEAVY = ("torch", "sentence_transformers", "faiss", "scipy", "numpy", "neo4j", "transformers")
QUERY = "open source alternative to midjourney"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    proc: subprocess.Popen
    port: int
    log: Path
    replaced: dict  # the stale record the server found and replaced

    def requests(self) -> list[str]:
        """The access log's request lines so far ("GET /search?q=... HTTP/1.1" 200)."""
        return [
            line.split(" - ", 1)[1]
            for line in self.log.read_text(errors="replace").splitlines()
            if ' - "GET ' in line
        ]

    def searches(self) -> list[str]:
        return [r for r in self.requests() if r.startswith('"GET /search?')]


def _start_serve(settings, log: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = dict(os.environ, UNFRAGILE_HOME=str(settings.home), PYTHONUNBUFFERED="1")
    out = open(log, "wb")  # noqa: SIM115 - the child writes to it until it stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "unfragile.api.cli", "serve", "--port", str(port), *extra],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return proc, port


def _wait_for_record(settings, proc: subprocess.Popen, log: Path) -> dict:
    """The run file once it names `proc` (the server is warm and listening then)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            entry = json.loads(remote.run_file(settings).read_text())
        except (OSError, ValueError):
            entry = None
        if entry and entry.get("pid") == proc.pid:
            return entry
        time.sleep(0.2)
    raise AssertionError(f"serve did not record itself:\n{log.read_text()[-3000:]}")


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def _stale(settings, pid: int, port: int, **changes) -> dict:
    return {
        "pid": pid,
        "host": "127.0.0.1",
        "port": port,
        "started": "2020-01-01T00:00:00+0000",
        "version": "0.1.0",
        "settings": {**remote.same_settings(settings), **changes},
    }


@pytest.fixture(scope="module")
def served(settings, graph_session, tmp_path_factory, encoder):
    """The bundled catalog, indexed, and `unfragile serve --access-log` over it, started
    where a stale run file (a dead pid) lies."""
    store.delete_everything(graph_session)
    load_catalog(graph_session, settings, encoder)
    stale = _stale(settings, _dead_pid(), _free_port())
    remote.run_file(settings).parent.mkdir(parents=True, exist_ok=True)
    remote.run_file(settings).write_text(json.dumps(stale))
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    proc, port = _start_serve(settings, log, "--access-log")
    try:
        _wait_for_record(settings, proc, log)
        yield Served(proc, port, log, stale)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def test_the_cli_starts_without_heavy_libraries(tmp_path):
    for module in ("unfragile.api.cli.main", "unfragile.api.cli"):
        code = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        loaded = set(json.loads(done.stdout))
        assert [m for m in HEAVY if m in loaded] == [], module
    help_ = subprocess.run(
        [sys.executable, "-m", "unfragile.api.cli", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, UNFRAGILE_HOME=str(tmp_path / "nowhere")),
    )
    assert help_.returncode == 0 and "search" in help_.stdout, help_.stderr


def test_serve_records_itself_privately_replacing_a_stale_record(served, settings):
    path = remote.run_file(settings)
    entry = json.loads(path.read_text())
    assert entry["pid"] == served.proc.pid != served.replaced["pid"]
    assert (entry["host"], entry["port"]) == ("127.0.0.1", served.port)
    assert entry["settings"] == remote.same_settings(settings) and entry["version"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["serve.json"]  # no temporary left
    found = remote.live(settings)
    assert found is not None and (found.pid, found.port) == (served.proc.pid, served.port)


def test_search_asks_the_server_and_prints_what_a_local_search_prints(served, cli, cli_here):
    for args in ((QUERY, "--top-k", "5"), ("--alternatives-to", "midjourney", "--top-k", "4")):
        before = len(served.searches())
        answered = cli("search", *args, check=True)
        asked = served.searches()[before:]
        assert len(asked) == 1 and asked[0].endswith(" 200 OK"), asked
        local = cli_here("search", *args, "--local", check=True)
        assert len(served.searches()) == before + 1  # --local never asks
        assert answered.stdout.strip() and answered.stdout == local.stdout
        assert "tip:" not in answered.stderr + local.stderr
        as_json = json.loads(cli("search", *args, "--json", check=True).stdout)
        assert len(served.searches()) == before + 2
        assert as_json == json.loads(
            cli_here("search", *args, "--json", "--local", check=True).stdout
        )
        assert as_json["results"] and as_json["k"] == int(args[-1])
    first = served.searches()[-4]
    assert "q=open+source+alternative+to+midjourney" in first and "k=5" in first


def test_search_passes_literal_and_filters_to_the_server(served, cli):
    before = len(served.searches())
    cli("search", QUERY, "--literal", "--open-weights", "--kind", "model", check=True)
    (asked,) = served.searches()[before:]
    assert "literal=true" in asked and "open_weights=true" in asked and "kind=model" in asked


@pytest.mark.parametrize(
    "args",
    [
        ("anything", "--kind", "robot"),  # refused by the API's schema
        ("anything", "--provider", "Nobody Inc"),  # refused by the engine on the server
        ("--alternatives-to", "no-such-artifact"),  # 404 from the server
    ],
)
def test_server_refusals_are_the_cli_errors_and_exit_codes(served, cli, cli_here, args):
    before = len(served.searches())
    refused = cli("search", *args)
    (asked,) = served.searches()[before:]
    assert " 4" in asked.rsplit('"', 1)[1], asked  # the server answered 4xx
    local = cli_here("search", *args, "--local")
    assert refused.returncode == local.returncode == 2
    assert refused.stderr == local.stderr and refused.stderr.startswith("error: ")
    assert refused.stdout == local.stdout == ""


def test_stale_or_foreign_run_files_are_ignored(served, cli_here, settings):
    path = remote.run_file(settings)
    real = path.read_text()
    # A live process that is no server: its pid answers, its port does not.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    cases = {
        "dead pid": _stale(settings, _dead_pid(), served.port),
        "port not answering": _stale(settings, sleeper.pid, _free_port()),
        "another home": _stale(settings, served.proc.pid, served.port, home="/elsewhere"),
        "another text model": _stale(settings, served.proc.pid, served.port, text_model="x"),
    }
    try:
        for what, entry in cases.items():
            path.write_text(json.dumps(entry))
            assert remote.live(settings) is None, what
        path.write_text("{not json")
        assert remote.live(settings) is None
        path.write_text(json.dumps(cases["dead pid"]))
        before = len(served.searches())
        alone = cli_here("search", QUERY, "--top-k", "3", check=True)
        assert served.searches()[before:] == []  # answered here, not by the server
        assert alone.stderr in ("", remote_tip())
        local = cli_here("search", QUERY, "--top-k", "3", "--local", check=True)
        assert alone.stdout == local.stdout
    finally:
        sleeper.kill()
        sleeper.wait()
        path.write_text(real)
    assert remote.live(settings) is not None


def remote_tip() -> str:
    from unfragile.api.cli.search import TIP

    return TIP + "\n"


def test_serve_removes_its_record_when_it_stops(served, settings, tmp_path):
    """SIGTERM, as a service manager stops it: uvicorn shuts down, then dies of the signal."""
    path = remote.run_file(settings)
    real = path.read_text()
    path.unlink()  # the shared server stays up, unrecorded, while this one runs
    log = tmp_path / "serve.log"
    proc, _ = _start_serve(settings, log)
    try:
        _wait_for_record(settings, proc, log)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        left = path.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        path.write_text(real)
    assert code == -signal.SIGTERM and not left, log.read_text()[-2000:]
    assert "Traceback" not in log.read_text()


def test_a_second_serve_leaves_the_live_record_alone(served, settings, tmp_path):
    """Another server of the same home: it says so, records nothing, and Ctrl-C stops it
    cleanly (exit 0) without touching the live server's record."""
    path = remote.run_file(settings)
    real = path.read_text()
    log = tmp_path / "serve.log"
    proc, _ = _start_serve(settings, log)
    try:
        deadline = time.monotonic() + 300
        while "another `unfragile serve` of this home" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0, log.read_text()[-2000:]
    assert f"(pid {served.proc.pid})" in log.read_text() and "Traceback" not in log.read_text()
    assert path.read_text() == real and remote.live(settings) is not None
