"""What every request handler shares: the settings, one graph connection and one search engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from engine.settings import Settings
from graph.connection import Graph

if TYPE_CHECKING:
    from engine.search import SearchEngine


@dataclass
class Services:
    """Opened lazily, so the server starts (and /healthz answers 503) while Neo4j is down."""

    settings: Settings
    _graph: Graph | None = None
    _search: SearchEngine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def graph(self) -> Graph:
        """The connection; raises GraphUnavailable while Neo4j cannot be reached."""
        with self._lock:
            if self._graph is None:
                from engine.db import open_graph

                self._graph = open_graph(self.settings)
            return self._graph

    def search(self) -> SearchEngine:
        """The search engine (encoder and indexes loaded once)."""
        graph = self.graph()
        with self._lock:
            if self._search is None:
                from engine.search import SearchEngine

                self._search = SearchEngine(self.settings, graph)
            return self._search

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
            self._graph = self._search = None


def services(request: Request) -> Services:
    """FastAPI dependency: the app's shared services."""
    return request.app.state.services
