"""A connection to Neo4j through the official driver: schema, writes, read-only queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ClientError, Neo4jError, ServiceUnavailable, SessionExpired

CYPHER_DIR = Path(__file__).resolve().parent.parent / "cypher"
SCHEMA_FILE = CYPHER_DIR / "schema.cypher"

T = TypeVar("T")


class GraphUnavailable(RuntimeError):
    """Neo4j cannot be reached or refuses our credentials; the message says what to do."""


class QueryError(ValueError):
    """A Cypher query was refused: syntax, a write in a read-only run, a timeout."""


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
        self._where = where or uri
        quick = (
            {}
            if retry_s is None
            else {
                "max_transaction_retry_time": retry_s,
                "connection_timeout": max(3.0, retry_s),
            }
        )
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
        with self._translate(), self.driver.session(database=self.database) as session:
            for statement in statements:
                session.run(statement).consume()
            session.run("CALL db.awaitIndexes(300)").consume()

    def write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run `work` in one write transaction (retried on transient errors)."""
        with self._translate(), self.driver.session(database=self.database) as session:
            return session.execute_write(work)

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run a trusted query of ours in a read transaction and return rows as dicts."""

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query, params)]

        with self._translate(), self.driver.session(database=self.database) as session:
            return session.execute_read(work)

    def run_read_only(
        self, query: str, params: dict[str, Any], timeout_s: float, row_cap: int
    ) -> tuple[list[str], list[dict[str, Any]], bool]:
        """Run a user's query in a READ transaction with a timeout and a row cap.

        Returns (columns, rows, truncated). First the guard plans it with EXPLAIN and
        raises QueryRefused (a QueryError) for writes, LOAD CSV, admin commands and
        procedures off its allowlist; then Neo4j itself refuses any write in a read
        transaction, a second line of defence whatever the text says.
        """
        from graph.readonly import check_read_only  # it imports QueryError from here

        rows: list[dict[str, Any]] = []
        truncated = False
        try:
            with self.driver.session(
                database=self.database, default_access_mode=neo4j.READ_ACCESS
            ) as session:
                check_read_only(session, query, params, self.database, timeout_s)
                tx = session.begin_transaction(timeout=timeout_s)
                try:
                    result = tx.run(query, params)
                    columns = list(result.keys())
                    for record in result:
                        if len(rows) >= row_cap:
                            truncated = True
                            break
                        rows.append({k: _plain(v) for k, v in record.items()})
                finally:
                    tx.rollback()
        except (ServiceUnavailable, SessionExpired) as e:
            raise GraphUnavailable(self._down_message(e)) from e
        except AuthError as e:
            raise GraphUnavailable(self._auth_message()) from e
        except Neo4jError as e:
            raise QueryError(_query_message(e)) from e
        return columns, rows, truncated

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


def _query_message(e: Neo4jError) -> str:
    code = e.code or ""
    if code.endswith("AccessMode") or "Writing in read access mode" in (e.message or ""):
        return "refused: this query would write to the graph, and Cypher runs here are read-only."
    if "TransactionTimedOut" in code or "Terminated" in code:
        return "refused: the query ran past its time limit."
    if isinstance(e, ClientError):
        return f"Cypher error ({code.rsplit('.', 1)[-1]}): {(e.message or '').strip()}"
    return f"Neo4j error ({code}): {(e.message or '').strip()}"


def _plain(value: Any) -> Any:
    """Turn driver values (nodes, relationships, paths, temporals) into JSON-ready values."""
    if isinstance(value, neo4j.graph.Node):
        return {"labels": sorted(value.labels), **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {"type": value.type, **{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Path):
        return {
            "nodes": [_plain(n) for n in value.nodes],
            "relationships": [_plain(r) for r in value.relationships],
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value
