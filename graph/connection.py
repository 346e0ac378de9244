"""A connection to Neo4j through the official driver: schema, writes, read-only queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired

from unfragile.graph.errors import GraphUnavailable

# Package data of unfragile.cypher: cypher/ in a checkout, inside the wheel when installed.
CYPHER_DIR = Path(str(resources.files("unfragile.cypher")))
SCHEMA_FILE = CYPHER_DIR / "schema.cypher"

T = TypeVar("T")


def split_statements(text: str) -> list[str]:
    """Split a .cypher file into statements on ';' at line ends, dropping // comment lines."""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("//")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";").strip()]


class Graph:
    """Owns one driver. Writes go through `write`, reads through `read` or `run_read_only`."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str = "neo4j",
        where: str = "",
        retry_s: float | None = None,
    ):
        """`retry_s` bounds the driver's retries of a failed transaction (default 30 s with
        back-off): a CLI may wait for a restarting server, an API must answer 503 at once."""
        self.uri = uri
        self.database = database
        # The home this graph's event log lives under (engine/event_log.py); set by open_graph.
        self.home: Path | None = None
        self._where = where or uri
        self._auth = (user, password)  # for user_driver
        quick: dict[str, Any] = (
            {}
            if retry_s is None
            else {
                "max_transaction_retry_time": retry_s,
                "connection_timeout": max(3.0, retry_s),
            }
        )
        # One bookmark manager for every session of this Graph: a read after a write (a search
        # right after an ingest) waits until the server that answers has that write, which
        # matters on a cluster (neo4j:// or neo4j+s://, reads routed to followers).
        self.bookmarks = GraphDatabase.bookmark_manager()
        self.driver = GraphDatabase.driver(
            uri,
            auth=(user, password),
            connection_acquisition_timeout=10 if retry_s is None else max(3.0, retry_s),
            max_connection_lifetime=3600,
            # Deprecation notes from user queries are noise in
            # a CLI; errors still raise.
            notifications_min_severity="OFF",
            **quick,
        )

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> None:
        """Raise GraphUnavailable unless the server answers and accepts our credentials."""
        with self._translate():
            self.driver.verify_connectivity()

    def apply_schema(self) -> None:
        """Create every constraint and index in cypher/schema.cypher (idempotent)."""
        statements = split_statements(SCHEMA_FILE.read_text())
        with self._translate(), self.session() as session:
            for statement in statements:
                session.run(statement).consume()
            session.run("CALL db.awaitIndexes(300)").consume()

    def session(self, **config: Any) -> neo4j.Session:
        """A session on our database that shares this Graph's bookmarks."""
        return self.driver.session(
            database=self.database, bookmark_manager=self.bookmarks, **config
        )

    def write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run `work` in one write transaction (routed to the leader; retried by the driver
        on transient errors and lost leaders, up to max_transaction_retry_time)."""
        with self._translate(), self.session() as session:
            return session.execute_write(work)

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run a trusted query of ours in a read transaction (routed to a reader, retried)
        and return rows as dicts."""

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query, params)]

        with self._translate(), self.session() as session:
            return session.execute_read(work)

    def run_read_only(
        self,
        query: str,
        params: dict[str, Any],
        timeout_s: float,
        row_cap: int,
        byte_cap: int | None = None,
    ) -> tuple[list[str], list[dict[str, Any]], bool]:
        """Run a user's query read-only with a deadline, a row cap and a byte cap.

        Returns (columns, rows, truncated). Our own scan of the text, then the plan from
        EXPLAIN, each raise QueryRefused (a QueryError) for writes, LOAD CSV, admin commands
        and calls off the allowlist; then Neo4j runs it in a READ transaction, refusing any
        write itself. Past `timeout_s`, planning included, QueryTimeout (a QueryError); a
        broken connection is this query's QueryError unless Neo4j is really down.
        """
        from unfragile.graph.user_query import BYTE_CAP, run_guarded

        return run_guarded(
            self, query, params, timeout_s, row_cap, BYTE_CAP if byte_cap is None else byte_cap
        )

    def user_driver(self) -> neo4j.Driver:
        """A driver for one user query, apart from the shared one: whatever that query does
        to its connection (a hang, a close at the deadline) the engine's pool never sees."""
        return GraphDatabase.driver(
            self.uri,
            auth=self._auth,
            connection_timeout=5.0,
            connection_acquisition_timeout=10.0,
            max_connection_pool_size=4,
            notifications_min_severity="OFF",
        )

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (ServiceUnavailable, SessionExpired) as e:
            raise GraphUnavailable(self._down_message(e)) from e
        except AuthError as e:
            raise GraphUnavailable(self._auth_message()) from e
        except OSError as e:
            raise GraphUnavailable(self._down_message(e)) from e

    def _down_message(self, e: BaseException) -> str:
        return f"Neo4j is not reachable at {self._where} ({e.__class__.__name__})."

    def _auth_message(self) -> str:
        return f"Neo4j at {self._where} refused the credentials."
