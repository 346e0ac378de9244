"""Test fixtures: one real Neo4j for the session, an empty graph for each test that asks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from unfragile.engine.db import local_server, open_graph  # noqa: E402
from unfragile.engine.settings import Settings  # noqa: E402
from unfragile.graph import store  # noqa: E402
from unfragile.graph.connection import Graph  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METATOOL = Path(os.environ.get("UNFRAGILE_METATOOL_DIR", REPO.parent / "shared" / "metatool"))
CATALOG = REPO / "data" / "catalog"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings for the test Neo4j: `make test`'s home, else a fresh one started here."""
    settings = Settings.from_env()
    if "UNFRAGILE_HOME" not in os.environ and not settings.external_neo4j:
        settings = settings.with_(home=tmp_path_factory.mktemp("home"))
    started_here = False
    if not settings.external_neo4j:
        server = local_server(settings)
        if server.info() is None:
            server.start(timeout_s=settings.neo4j_start_timeout_s)
            started_here = True
    yield settings
    if started_here:
        local_server(settings).stop()


@pytest.fixture(scope="session")
def graph_session(settings: Settings) -> Iterator[Graph]:
    graph = open_graph(settings, apply_schema=True)
    yield graph
    graph.close()


@pytest.fixture
def graph(graph_session: Graph) -> Graph:
    """The test Neo4j, emptied before the test."""
    _shared_catalog.clear()
    store.delete_everything(graph_session)
    return graph_session


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random ViT saved like a real one, loaded through the same code."""
    from tests.tiny_models import build_tiny_vit

    return build_tiny_vit(tmp_path_factory.mktemp("tiny-vit"))


@pytest.fixture(scope="session")
def tiny_diffusion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Stable Diffusion pipeline saved like a real one."""
    from tests.tiny_models import build_tiny_diffusion

    return build_tiny_diffusion(tmp_path_factory.mktemp("tiny-diffusion"))


@pytest.fixture
def cli(settings: Settings):
    """Run the real `unfragile` command in a subprocess against the test home."""

    def run(
        *args: str,
        input: str | None = None,
        check: bool = False,
        timeout: float = 300,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        env = dict(os.environ, UNFRAGILE_HOME=str(settings.home), **(env or {}))
        result = subprocess.run(
            [sys.executable, "-m", "unfragile.api.cli", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"unfragile {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture(scope="session")
def second_home(settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A second local Neo4j in its own home (no GDS, a small heap), started once, for the tests
    that run two homes side by side or stop and restart a server: stopping it leaves the
    session's Neo4j, and every other test, alone. Yields its settings and its server."""
    if settings.external_neo4j:
        pytest.skip("starts and stops a local Neo4j of its own")
    own = settings.with_(home=tmp_path_factory.mktemp("second-home"), gds=False, neo4j_heap="512m")
    server = local_server(own)
    server.start(timeout_s=own.neo4j_start_timeout_s)
    try:
        yield own, server
    finally:
        server.stop()


@pytest.fixture
def cli_here(settings: Settings):
    """Run the real `unfragile` command in this process (typer's runner), answering like `cli`.

    The same command code, options, messages and exit codes, without a new interpreter: a
    subprocess that embeds anything spends 10–15 s importing torch and transformers before the
    command starts. Tests that are about the process itself (a server, a signal, what the
    command imports, an environment read at import time) keep `cli`."""
    from typer.testing import CliRunner

    from unfragile.api.cli import app

    runner = CliRunner()

    def run(
        *args: str,
        input: str | None = None,
        check: bool = False,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        # A bug (an exception no message is made for) fails the test with its traceback.
        result = runner.invoke(
            app,
            list(args),
            input=input,
            env={"UNFRAGILE_HOME": str(settings.home), **(env or {})},
            catch_exceptions=False,
        )
        done = subprocess.CompletedProcess(
            ["unfragile", *args], result.exit_code, result.stdout, result.stderr
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"unfragile {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    return run


@pytest.fixture(scope="session")
def encoder():
    """The real text model (all-MiniLM-L6-v2, offline), loaded once."""
    from unfragile.indexing.text import TextEncoder

    return TextEncoder()


def index_graph(graph: Graph, settings: Settings, encoder) -> Any:
    """Index what the graph holds (capabilities, past queries, artifacts) into a fresh index
    folder, starting from the kept copy of the bundled catalog's indexes when there is one.

    The indexer checks every fingerprint against the graph, so it encodes only what differs
    from the bundled catalog (a test's own records) and drops what the graph lacks: the
    indexes come out as `unfragile index` would leave them, without encoding the catalog's
    thousands of texts again (tens of seconds each time on this CPU)."""
    from unfragile.engine.indexer import Indexer

    shutil.rmtree(settings.index_dir, ignore_errors=True)
    kept = settings.home / "catalog-indexes"
    if kept.is_dir():
        shutil.copytree(kept, settings.index_dir)
    indexer = Indexer(settings, graph, text_encoder=encoder)
    for name in ("capabilities", "queries", "artifacts"):
        indexer.sync_text(name, show_progress=False)
    return indexer


def _indexes_cache() -> Path:
    """Where the bundled catalog's indexes are kept between test runs on this machine, named
    by what they depend on: the catalog's files, the indexing code and the pinned libraries (so
    a changed store format never meets an old copy). Stale entries cost only encoding: the
    indexer checks every fingerprint against the graph."""
    digest = hashlib.sha256()
    for path in sorted(
        [
            *CATALOG.glob("*.jsonl"),
            *(REPO / "indexing").glob("*.py"),
            REPO / "engine" / "indexer.py",
            REPO / "constraints.txt",  # the versions of FAISS and the model's libraries
        ]
    ):
        digest.update(path.name.encode() + path.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "unfragile" / "test-catalog-indexes" / digest.hexdigest()[:16]


def _keep(source: Path, target: Path) -> None:
    """Copy a folder into place atomically (other test runs may be reading or writing it)."""
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.copytree(source, partial, dirs_exist_ok=True)
    try:
        partial.rename(target)
    except OSError:  # another run put it there first
        shutil.rmtree(partial, ignore_errors=True)


def load_catalog(graph: Graph, settings: Settings, encoder) -> Any:
    """Ingest the bundled catalog and its events (into an empty graph) and index them; the
    indexer. The indexes are kept aside for `index_graph`, and between runs on this machine."""
    from unfragile.engine.ingest import ingest

    ingest(graph, CATALOG, show_progress=False)
    kept, cached = settings.home / "catalog-indexes", _indexes_cache()
    if not kept.is_dir() and cached.is_dir():
        _keep(cached, kept)
    indexer = index_graph(graph, settings, encoder)
    if not kept.is_dir():
        _keep(settings.index_dir, kept)
    if not cached.is_dir():
        cached.parent.mkdir(parents=True, exist_ok=True)
        _keep(settings.index_dir, cached)
    return indexer


@pytest.fixture(scope="session")
def catalog_indexes(graph_session: Graph, settings: Settings, encoder) -> Path:
    """The kept indexes of the bundled catalog alone, built now (on an emptied graph) if no
    test built them yet; for module fixtures that index the catalog plus records of their own."""
    kept = settings.home / "catalog-indexes"
    if not kept.is_dir():
        _shared_catalog.clear()
        store.delete_everything(graph_session)
        load_catalog(graph_session, settings, encoder)
    return kept


@pytest.fixture
def catalog(graph, settings, encoder):
    """The bundled catalog and its events, indexed (capabilities, past queries, artifacts)."""
    return load_catalog(graph, settings, encoder)


# What the last `catalog_readonly` loaded: its indexer and the graph's and indexes' fingerprint.
_shared_catalog: dict[str, Any] = {}


def _fingerprint(graph: Graph, settings: Settings) -> tuple:
    """Node and relationship counts (Neo4j's count store: instant) and the index files' stamps."""
    counts = graph.read(
        "CALL { MATCH (n) RETURN count(n) AS nodes } "
        "CALL { MATCH ()-[r]->() RETURN count(r) AS rels } RETURN nodes, rels"
    )[0]
    files = sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns)
        for p in settings.index_dir.rglob("*")
        if p.is_file()
    )
    return counts["nodes"], counts["rels"], tuple(files)


@pytest.fixture
def catalog_readonly(graph_session, settings, encoder):
    """The `catalog` fixture for tests that only read it: loaded once and handed to the next
    such test as long as nothing changed it (no `graph` or `catalog` fixture since, the same
    node and relationship counts, the same index files). A test that writes must not use it."""
    if _shared_catalog.get("fingerprint") == _fingerprint(graph_session, settings):
        return _shared_catalog["indexer"]
    store.delete_everything(graph_session)
    indexer = load_catalog(graph_session, settings, encoder)
    _shared_catalog.update(indexer=indexer, fingerprint=_fingerprint(graph_session, settings))
    return indexer
