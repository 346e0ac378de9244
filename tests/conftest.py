"""Test fixtures: one real Neo4j for the session, an empty graph for each test that asks."""

from __future__ import annotations

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
def encoder():
    """The real text model (all-MiniLM-L6-v2, offline), loaded once."""
    from unfragile.indexing.text import TextEncoder

    return TextEncoder()


def load_catalog(graph: Graph, settings: Settings, encoder) -> Any:
    """Ingest the bundled catalog and its events and build the text indexes; the indexer.

    The indexes built the first time are kept aside and copied in for the next tests: the
    indexer then checks every fingerprint against the graph and finds nothing to encode, so
    each test still gets indexes that `unfragile index` would call current, without encoding
    the catalog's thousands of texts again (minutes a session on this CPU)."""
    from unfragile.engine.indexer import Indexer
    from unfragile.engine.ingest import ingest

    shutil.rmtree(settings.index_dir, ignore_errors=True)
    ingest(graph, CATALOG, show_progress=False)
    kept = settings.home / "catalog-indexes"
    if kept.is_dir():
        shutil.copytree(kept, settings.index_dir)
    indexer = Indexer(settings, graph, text_encoder=encoder)
    for name in ("capabilities", "queries", "artifacts"):
        indexer.sync_text(name, show_progress=False)
    if not kept.is_dir():
        shutil.copytree(settings.index_dir, kept.with_suffix(".partial"), dirs_exist_ok=True)
        kept.with_suffix(".partial").rename(kept)
    return indexer


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
