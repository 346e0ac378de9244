"""A running `unfragile serve` of the same home: its run file, and calling it from the CLI.

`unfragile serve` records itself in `<home>/run/serve.json` (pid, host, port, started,
version and the settings that decide its answers) while it listens, and removes the file when
it stops. `unfragile search` reads the file of its own home: a server whose pid is alive, whose
settings match and whose GET /healthz answers 200 quickly answers the search instead, with the
models already loaded. Anything else (no file, a stale one, a server still warming up) means
no server, and the CLI searches by itself.

Only the standard library is imported here, so finding a server costs the CLI nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from unfragile.engine.settings import Settings

# /healthz reads one row from Neo4j: a server that takes longer is busy or stuck, and the
# CLI is better off searching by itself than waiting.
HEALTH_TIMEOUT_S = 1.5
# A search on a warm server takes milliseconds; past this the server is in trouble.
SEARCH_TIMEOUT_S = 60.0
# What a wildcard bind is reached at from this machine.
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def run_file(settings: Settings) -> Path:
    return settings.home / "run" / "serve.json"


def same_settings(settings: Settings) -> dict[str, Any]:
    """What must match for a server's answers to be the ones this CLI would give."""
    return {
        "home": str(settings.home.expanduser().resolve()),
        "neo4j_uri": settings.neo4j_uri,
        "neo4j_database": settings.neo4j_database,
        "text_model": settings.text_model,
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("unfragile")
    except PackageNotFoundError:
        return "unknown"


def record(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """Write this process's run file atomically (0600, in a 0700 folder); return what it says."""
    entry = {
        "pid": os.getpid(),
        "host": host,
        "port": port,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "version": _version(),
        "settings": same_settings(settings),
    }
    path = run_file(settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)  # the home's own folder: for this user only, like the home
    # mkstemp creates the file 0600; os.replace makes it appear whole or not at all.
    fd, tmp = tempfile.mkstemp(prefix=".serve-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return entry


def forget(settings: Settings, pid: int | None = None) -> None:
    """Remove the run file if it is this process's (another serve may have replaced it)."""
    path = run_file(settings)
    entry = _read(path)
    if entry is not None and entry["pid"] == (os.getpid() if pid is None else pid):
        path.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any] | None:
    """The run file's entry, or None when it is missing, unreadable or malformed."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entry, dict):
            return None
        entry["pid"], entry["port"] = int(entry["pid"]), int(entry["port"])
        entry["host"] = str(entry["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return entry


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, though surely not our server
        return True
    except (OverflowError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the parsed JSON, or None when the body was not JSON


@dataclass(frozen=True)
class Server:
    """A running `unfragile serve` of this home that answered /healthz."""

    pid: int
    host: str
    port: int

    def get(self, path: str, params: dict[str, Any], timeout: float) -> Reply:
        """GET path?params; raises OSError (http.client's errors included) when it fails."""
        import http.client  # only when a server is recorded: `unfragile --help` skips it

        query = urlencode(
            {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
        )
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", f"{path}?{query}" if query else path)
            response = conn.getresponse()
            raw = response.read()
        except http.client.HTTPException as e:
            raise OSError(str(e)) from e
        finally:
            conn.close()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return Reply(response.status, body)

    def search(self, params: dict[str, Any]) -> Reply:
        return self.get("/search", params, SEARCH_TIMEOUT_S)


def live(settings: Settings) -> Server | None:
    """The recorded server of this home, if it is alive, ours and healthy; else None."""
    entry = _read(run_file(settings))
    if entry is None or entry.get("settings") != same_settings(settings):
        return None
    if entry["pid"] == os.getpid() or not _alive(entry["pid"]):
        return None
    server = Server(entry["pid"], WILDCARDS.get(entry["host"], entry["host"]), entry["port"])
    try:
        health = server.get("/healthz", {}, HEALTH_TIMEOUT_S)
    except OSError:
        return None
    return server if health.status == 200 else None
