"""The graph layer's errors: one root, one class per failure; front ends map them to answers.

Each class also keeps the built-in base it had before (RuntimeError, ValueError), so code that
catches those still catches them.
"""

from __future__ import annotations


class GraphError(Exception):
    """Root of every error the graph layer raises on purpose."""


class GraphUnavailable(GraphError, RuntimeError):
    """Neo4j cannot be reached or refuses our credentials; the message says what to do."""


class QueryError(GraphError, ValueError):
    """A Cypher query was refused: syntax, a write in a read-only run, a timeout."""

    detail: str | None = None  # Neo4j's own text, for the server log and not the caller


class QueryTimeout(QueryError):
    """A user's query ran past its time limit (planning included) and was stopped."""


class QueryRefused(QueryError):
    """A query was refused before it ran: it would write, read files or run an admin call."""

    def __init__(self, message: str, refused: list[str]):
        self.refused = refused
        super().__init__(message)


class Unreadable(GraphError, ValueError):
    """Text the scan cannot classify the way Neo4j would; the guard refuses it."""


class TooComplex(GraphError, ValueError):
    """Text over a size or depth limit: refused before Neo4j parses it."""


class ServerError(GraphError, RuntimeError):
    """A local Neo4j could not be provisioned, started or stopped; the message says why."""


class PortTaken(ServerError):
    """The chosen Bolt port was bound by someone else first."""
