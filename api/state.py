"""What every request handler shares: the settings, one graph connection and the engine's
readers over it (the catalog for pages and listings, the search engine)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request

from unfragile.api.config import ApiConfig
from unfragile.engine.catalog import Catalog
from unfragile.engine.db import Graph
from unfragile.engine.settings import Settings

if TYPE_CHECKING:
    from unfragile.engine.indexer import Indexer
    from unfragile.engine.search import SearchEngine

# The driver's own retry loop waits up to 30 s (with back-off) for a server that is gone; an
# API answers 503 at once instead and reconnects on a later request.
RETRY_S = 1.0


def open_api_graph(settings: Settings) -> Graph:
    """Connect as the engine does (same checks, same messages), with short retries."""
    from unfragile.engine.db import open_graph

    return open_graph(settings, retry_s=RETRY_S)


@dataclass
class Services:
    """Opened lazily, so the server starts (and /healthz answers 503) while Neo4j is down.

    When Neo4j goes away a request calls `lost`, which drops the connection; the next request
    opens a new one, reading the server's address again (a restarted local server may listen
    on another port). Encoders survive reconnects: only the cheap parts are rebuilt.
    """

    settings: Settings
    config: ApiConfig = field(default_factory=ApiConfig)
    _graph: Graph | None = None
    _search: SearchEngine | None = None
    _text_encoder: Any = None
    _image_encoder: Any = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def graph(self) -> Graph:
        """The connection; raises GraphUnavailable while Neo4j cannot be reached."""
        with self._lock:
            if self._graph is None:
                self._graph = open_api_graph(self.settings)
            return self._graph

    def catalog(self) -> Catalog:
        """The reader for artifact pages, the leaderboard, names and alternatives (cheap: a
        view over the current connection)."""
        return Catalog(self.graph())

    def search(self) -> SearchEngine:
        """The search engine: encoder and indexes loaded once; it reloads what `unfragile
        index` or new events change by itself, so only a new connection rebuilds it."""
        graph = self.graph()
        engine = self._search
        if engine is not None and engine.graph is graph:
            return engine
        with self._lock:
            if self._search is None or self._search.graph is not graph:
                from unfragile.engine.search import SearchEngine

                self._search = SearchEngine(self.settings, graph, encoder=self._text_encoder)
                self._text_encoder = self._search.encoder
            return self._search

    def indexer(self) -> Indexer:
        """An indexer on the current connection sharing the loaded encoders."""
        from unfragile.engine.indexer import Indexer

        return Indexer(
            self.settings,
            self.graph(),
            text_encoder=self._text_encoder,
            image_encoder=self._image_encoder,
        )

    def keep_encoders(self, indexer: Indexer) -> None:
        """Keep what an indexer loaded, so the next request does not load it again."""
        with self._lock:
            self._image_encoder = self._image_encoder or indexer._image_encoder
            self._text_encoder = self._text_encoder or indexer._text_encoder

    def lost(self, graph: Graph | None = None) -> None:
        """Neo4j went away: drop the connection (unless another request already replaced it)."""
        with self._lock:
            current = self._graph
            if current is None or (graph is not None and graph is not current):
                return
            self._graph = None
            self._search = None
        try:
            current.close()
        except Exception:  # noqa: BLE001 - closing a dead driver may fail; nothing to keep
            pass

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
            self._graph = self._search = None


def services(request: Request) -> Services:
    """FastAPI dependency: the app's shared services."""
    return request.app.state.services
