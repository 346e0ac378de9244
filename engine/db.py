"""Which Neo4j the engine talks to: an external server from NEO4J_URI, or the home's own."""

from __future__ import annotations

from unfragile.engine.settings import Settings
from unfragile.graph.connection import Graph

# Re-exported for the front ends, which never import the graph layer: the connection type and
# the Cypher guard's length limit (request schemas check it before a query is read).
from unfragile.graph.cypher_scan import MAX_CYPHER_CHARS
from unfragile.graph.errors import GraphUnavailable
from unfragile.graph.server import LocalServer, ServerInfo

__all__ = [
    "MAX_CYPHER_CHARS",
    "Graph",
    "empty_graph",
    "local_server",
    "open_graph",
    "start_local",
]


def local_server(settings: Settings) -> LocalServer:
    return LocalServer(
        settings.home,
        settings.cache_dir,
        heap=settings.neo4j_heap,
        pagecache=settings.neo4j_pagecache,
        gds=settings.gds,
        browser=settings.neo4j_browser,
    )


def start_local(settings: Settings) -> tuple[ServerInfo, bool]:
    """Start the home's Neo4j unless it runs (with Neo4j Browser and its guide of the saved
    explorations when settings.neo4j_browser); return (info, started_now)."""
    server = local_server(settings)
    if settings.neo4j_browser:
        from unfragile.engine import browser_guide

        # Written on every start, so the guide lists the explorations of this version.
        server.write_guide(browser_guide.render())
    return server.start(timeout_s=settings.neo4j_start_timeout_s)


def open_graph(
    settings: Settings, apply_schema: bool = False, retry_s: float | None = None
) -> Graph:
    """Connect, check the server answers, and (for writers) make sure the schema is there."""
    if settings.external_neo4j:
        if settings.neo4j_password is None:
            raise GraphUnavailable(
                "NEO4J_URI is set but NEO4J_PASSWORD is not: set both "
                "(and NEO4J_USER if it is not 'neo4j')."
            )
        assert settings.neo4j_uri is not None  # external_neo4j says so
        graph = Graph(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password,
            settings.neo4j_database,
            where=settings.neo4j_uri,
            retry_s=retry_s,
        )
    else:
        server = local_server(settings)
        info = server.info()
        if info is None:
            raise GraphUnavailable(
                f"Neo4j is not running for UNFRAGILE_HOME={settings.home}: "
                "start it with `unfragile db start` (or set NEO4J_URI)."
            )
        graph = Graph(
            info.uri,
            "neo4j",
            server.password(),
            settings.neo4j_database,
            where=f"{info.uri} (UNFRAGILE_HOME={settings.home})",
            retry_s=retry_s,
        )
    graph.home = settings.home  # where its event log lives
    try:
        graph.check()
        if apply_schema:
            graph.apply_schema()
    except BaseException:
        graph.close()
        raise
    return graph


def empty_graph(graph: Graph) -> None:
    """Delete every node and edge (the schema stays): `unfragile db reset`."""
    from unfragile.graph import store

    store.delete_everything(graph)
