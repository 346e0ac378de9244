"""The project's own Neo4j 5 Community: fetched from Maven Central, run on loopback with auth."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from unfragile.graph import browser
from unfragile.graph.errors import PortTaken, ServerError

NEO4J_SOURCES = Path(__file__).resolve().parent / "neo4j"
POM = NEO4J_SOURCES / "pom.xml"
GDS_POM = NEO4J_SOURCES / "gds-pom.xml"
LAUNCHER = NEO4J_SOURCES / "Launcher.java"


# What Neo4j itself refuses, whatever a query says (5.26 Community; issue 11). LOAD CSV may
# not read files (and its import folder is empty) nor fetch any URL: the IP blocklist,
# checked for LOAD CSV's http, https and ftp URLs, covers every IPv4 and IPv6 address.
# Community has no per-user or per-session procedure privileges (those are Enterprise
# RBAC); what it has is which plugin procedures are loaded at all, below.
_REFUSALS = (
    "dbms.security.allow_csv_import_from_file_urls=false",
    "internal.dbms.cypher_ip_blocklist=0.0.0.0/0,::/0",
)
# The Graph Data Science procedures and functions loaded (the allowlist applies to plugins;
# Neo4j's own db.* and dbms.* procedures always load): what `unfragile rank --engine gds`,
# `db status` and the guard's allowed functions use. The rest of GDS, with
# gds.graph.project.cypher (which runs a Cypher query of its own) among it, does not load.
GDS_LOADED = (
    "gds.graph.project",  # the aggregation function the ranking projects with (and, by the
    # same name, the native projection procedure)
    "gds.graph.drop",
    "gds.graph.list",
    "gds.pageRank.stream",
    "gds.version",
    "gds.util.*",
    "gds.similarity.*",
)


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    bolt_port: int
    home: Path
    http_port: int | None = None  # Neo4j Browser's, when started with it
    guide_port: int | None = None

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def browser_url(self) -> str | None:
        return f"http://127.0.0.1:{self.http_port}/browser/" if self.http_port else None


@dataclass(frozen=True)
class Runtime:
    """What the launcher runs with: its classpath and, when GDS resolved, the plugins folder."""

    classpath: str
    plugins: Path | None
    gds_problem: str | None


class LocalServer:
    """One Neo4j DBMS living in `<home>/neo4j`: data, logs, config, password and pid file."""

    def __init__(
        self,
        home: Path,
        cache_dir: Path,
        heap: str = "2g",
        pagecache: str = "512m",
        gds: bool = True,
        browser: bool = False,
    ):
        self.dir = Path(home) / "neo4j"
        self.cache_dir = Path(cache_dir)
        self.heap = heap
        self.pagecache = pagecache
        self.gds = gds
        self.browser = browser

    # -- files -------------------------------------------------------------------------
    @property
    def password_file(self) -> Path:
        return self.dir / "password"

    @property
    def state_file(self) -> Path:
        return self.dir / "server.json"

    @property
    def conf_file(self) -> Path:
        return self.dir / "neo4j.conf"

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / "launcher.log"

    @property
    def guide_file(self) -> Path:
        """The Neo4j Browser guide served beside a server started with the browser."""
        return self.dir / "browser" / browser.GUIDE_NAME

    def write_guide(self, html: str) -> None:
        self.make_private()
        self.guide_file.parent.mkdir(mode=0o700, exist_ok=True)
        _write_private(self.guide_file, html)

    @property
    def import_dir(self) -> Path:
        """LOAD CSV's root for file URLs: empty, and file URLs are refused anyway."""
        return self.dir / "import"

    def make_private(self) -> None:
        """The home and everything under <home>/neo4j for this user only (0700 folders, 0600
        files): the store, transaction logs and logs hold the data and the queries run.

        A home that exists is tightened too when it is ours (it holds neo4j/ or nothing),
        never a folder like /tmp that someone pointed UNFRAGILE_HOME at."""
        home = self.dir.parent
        if not home.exists():
            home.mkdir(mode=0o700, parents=True)
        elif self.dir.is_dir() or not any(home.iterdir()):
            os.chmod(home, 0o700)
        self.dir.mkdir(mode=0o700, exist_ok=True)
        for root, dirs, files in os.walk(self.dir):
            os.chmod(root, 0o700)
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o600)
            # os.walk does not descend into links to folders; a link is left as it is.
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]

    def password(self) -> str:
        """The generated password, created on first use with mode 0600."""
        if not self.password_file.exists():
            self.make_private()
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
        return self.password_file.read_text().strip()

    def info(self) -> ServerInfo | None:
        """The running server recorded in server.json, or None when none is alive."""
        try:
            state = json.loads(self.state_file.read_text())
            info = ServerInfo(
                pid=int(state["pid"]),
                bolt_port=int(state["bolt_port"]),
                home=self.dir.parent,
                http_port=state.get("http_port"),
                guide_port=state.get("guide_port"),
            )
        except (OSError, ValueError, KeyError):
            return None
        return info if _alive(info.pid) and _is_launcher(info.pid) else None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout_s: float = 180.0) -> tuple[ServerInfo, bool]:
        """Start the server unless it runs already; return (info, started_now)."""
        running = self.info()
        if running is not None:
            _wait_for_bolt(running, self, timeout_s)
            return running, False
        runtime = self.runtime()
        self.password()  # the launcher reads it from the file
        port = self._choose_port()
        http = self._choose_port("http_port", browser.HTTP_PORT) if self.browser else None
        for _ in range(3):
            try:
                return self._launch(runtime, port, timeout_s, http), True
            except PortTaken:
                # Another server took a port between our check and its bind: pick again.
                port = _random_free_port()
                http = _random_free_port() if self.browser else None
        raise ServerError("could not find a free port for Bolt after 3 tries")

    def _launch(
        self, runtime: Runtime, port: int, timeout_s: float, http: int | None = None
    ) -> ServerInfo:
        guide = _random_free_port() if http else None
        self._write_conf(port, runtime.plugins, http, guide)
        self.log_file.parent.mkdir(mode=0o700, exist_ok=True)
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        cmd = [
            _java(),
            "-Xms256m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Dfile.encoding=UTF-8",
            "-cp",
            runtime.classpath,
            *(browser.jvm_args(self.guide_file, http, guide) if http and guide else ["Launcher"]),
            str(self.dir / "dbms"),
            str(self.conf_file),
            str(self.password_file),
        ]
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                umask=0o077,  # every file Neo4j creates (store, tx logs, logs) is private
            )
        info = ServerInfo(proc.pid, port, self.dir.parent, http_port=http, guide_port=guide)
        state = {"pid": proc.pid, "bolt_port": port, "http_port": http, "guide_port": guide}
        tmp = self.state_file.with_suffix(".tmp")
        _write_private(tmp, json.dumps(state))
        tmp.replace(self.state_file)
        try:
            _wait_for_bolt(info, self, timeout_s, proc=proc, log_offset=log_offset)
        except ServerError:
            self.stop()
            if _log_since(self.log_file, log_offset).find(b"Address already in use") >= 0:
                raise PortTaken() from None
            raise
        return info

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop the server cleanly (SIGTERM, then SIGKILL after timeout); False if none ran."""
        info = self.info()
        if info is None:
            self.state_file.unlink(missing_ok=True)
            return False
        os.killpg(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(info.pid) and time.monotonic() < deadline:
            _reap(info.pid)
            time.sleep(0.2)
        if _alive(info.pid):
            os.killpg(info.pid, signal.SIGKILL)
            _reap(info.pid)
        self.state_file.unlink(missing_ok=True)
        return True

    # -- provisioning ------------------------------------------------------------------
    def runtime(self) -> Runtime:
        """Resolve the Neo4j jars with mvn and compile the launcher, once per pom+launcher.

        Graph Data Science is resolved too, when enabled; if that fails the DBMS still runs
        without it and `gds_problem` says why.
        """
        sources = POM.read_bytes() + LAUNCHER.read_bytes()
        if self.gds:
            sources += GDS_POM.read_bytes()
        if self.browser:
            sources += browser.sources()
        digest = hashlib.sha256(sources).hexdigest()[:12]
        root = self.cache_dir / f"neo4j-runtime-{digest}"
        if not (root / "complete").exists():
            self._build_runtime(root)
        classpath = f"{(root / 'classpath.txt').read_text().strip()}{os.pathsep}{root / 'classes'}"
        if (root / "browser-classpath.txt").exists():
            classpath += os.pathsep + (root / "browser-classpath.txt").read_text().strip()
        plugins = root / "plugins"
        if plugins.is_dir():
            classpath += os.pathsep + os.pathsep.join(str(j) for j in sorted(plugins.glob("*.jar")))
        problem = root / "gds-problem.txt"
        return Runtime(
            classpath=classpath,
            plugins=plugins if plugins.is_dir() else None,
            gds_problem=problem.read_text().strip()
            if problem.exists()
            else (None if self.gds else "disabled by UNFRAGILE_GDS=0"),
        )

    def _build_runtime(self, root: Path) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServerError(
                "Maven (mvn) is not on PATH: it is needed once to fetch Neo4j "
                "from Maven Central. Install Maven, or set NEO4J_URI, "
                "NEO4J_USER and NEO4J_PASSWORD to use another Neo4j server."
            )
        building = root.with_name(root.name + f".building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        (building / "classes").mkdir(parents=True)
        classpath = _resolve(mvn, POM, building / "classpath.txt")
        _compile(LAUNCHER, classpath, building / "classes")
        if self.browser:
            # No fallback: a server asked for with the browser fails to start without it.
            _resolve(mvn, browser.BROWSER_POM, building / "browser-classpath.txt")
            _compile(browser.GUIDE_SOURCE, str(building / "classes"), building / "classes")
        if self.gds:
            try:
                jars = _resolve(mvn, GDS_POM, building / "gds-classpath.txt").split(os.pathsep)
                (building / "plugins").mkdir()
                for jar in jars:
                    shutil.copy2(jar, building / "plugins" / Path(jar).name)
            except (ServerError, OSError) as e:
                shutil.rmtree(building / "plugins", ignore_errors=True)
                (building / "gds-problem.txt").write_text(
                    f"Graph Data Science could not be resolved: {e}"
                )
        (building / "complete").write_text("ok\n")
        try:
            building.rename(root)
        except OSError:  # another process finished first; use its build
            shutil.rmtree(building, ignore_errors=True)

    def _choose_port(self, key: str = "bolt_port", usual: int = 7687) -> int:
        # Keep the last port when it is free so client configs stay valid across restarts.
        try:
            last = int(json.loads(self.state_file.read_text())[key])
            if _port_free(last):
                return last
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if _port_free(usual):
            return usual
        return _random_free_port()

    def _write_conf(
        self, port: int, plugins: Path | None, http: int | None = None, guide: int | None = None
    ) -> None:
        self.make_private()
        self.import_dir.mkdir(mode=0o700, exist_ok=True)
        lines = [
            "# Written by `unfragile db start` on every start; edits are overwritten.",
            "server.bolt.enabled=true",
            f"server.bolt.listen_address=127.0.0.1:{port}",
            f"server.bolt.advertised_address=127.0.0.1:{port}",
            "server.bolt.tls_level=DISABLED",
            *(browser.conf_lines(http, guide) if http and guide else ["server.http.enabled=false"]),
            "server.https.enabled=false",
            "dbms.security.auth_enabled=true",
            f"server.memory.pagecache.size={self.pagecache}",
            "db.tx_log.rotation.retention_policy=2 files",
            "db.transaction.timeout=0s",
            "dbms.usage_report.enabled=false",
            *_REFUSALS,
            f"server.directories.import={self.import_dir}",
        ]
        if plugins is not None:
            lines += [
                f"server.directories.plugins={plugins}",
                "dbms.security.procedures.unrestricted=gds.*",
                f"dbms.security.procedures.allowlist={','.join(GDS_LOADED)}",
            ]
        _write_private(self.conf_file, "\n".join(lines) + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, mode 0600 whatever the umask (and an existing file's mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _wait_for_bolt(
    info: ServerInfo,
    server: LocalServer,
    timeout_s: float,
    proc: subprocess.Popen | None = None,
    log_offset: int | None = None,
) -> None:
    """Return once Bolt accepts connections (and, for a fresh start, the launcher is ready)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(
                f"Neo4j exited with code {proc.returncode} while starting. "
                f"Last lines of {server.log_file}:\n{_tail_file(server.log_file)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", info.bolt_port), timeout=1):
                pass
            if log_offset is None or _launcher_ready(server.log_file, log_offset):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise ServerError(
        f"Neo4j did not answer on {info.uri} within {timeout_s:.0f}s. "
        f"Last lines of {server.log_file}:\n{_tail_file(server.log_file)}"
    )


def _resolve(mvn: str, pom: Path, output: Path) -> str:
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={output}",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ServerError(
            f"mvn could not resolve {pom.name} from Maven Central:\n"
            + _tail(result.stdout + result.stderr)
        )
    return output.read_text().strip()


def _compile(source: Path, classpath: str, classes: Path) -> None:
    result = subprocess.run(
        [_java("javac"), "-d", str(classes), "-cp", classpath, str(source)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ServerError(
            f"javac could not compile {source.name}:\n" + _tail(result.stdout + result.stderr)
        )


def _log_since(log_file: Path, offset: int) -> bytes:
    try:
        with open(log_file, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return b""


def _launcher_ready(log_file: Path, offset: int) -> bool:
    return b"unfragile-neo4j: ready" in _log_since(log_file, offset)


def _random_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _is_launcher(pid: int) -> bool:
    # Guards against a recycled pid: only a JVM running our Launcher counts as our server.
    try:
        return b"Launcher" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid file


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _java(tool: str = "java") -> str:
    """JAVA_HOME's java (or javac), else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / tool).exists():
        return str(Path(home) / "bin" / tool)
    found = shutil.which(tool)
    if found is None:
        raise ServerError(
            "Java 17 or 21 is needed to run the local Neo4j: none is on PATH. "
            "Install a JDK, or set NEO4J_URI to use another Neo4j server."
            if tool == "java"
            else "javac is needed once to compile the Neo4j launcher: install a JDK."
        )
    return found


def _tail(text: str, chars: int = 2000) -> str:
    return text[-chars:].strip()


def _tail_file(path: Path, chars: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - chars))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
