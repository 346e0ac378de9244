"""One user's Cypher: both guard checks, a deadline on the whole run, a row and byte budget."""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

import neo4j
from neo4j.exceptions import (
    AuthError,
    ClientError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from unfragile.graph.errors import GraphUnavailable, QueryError, QueryTimeout

if TYPE_CHECKING:
    from unfragile.graph.connection import Graph

log = logging.getLogger("unfragile.cypher")

BYTE_CAP = 4 * 1024 * 1024  # default serialized size of the rows returned (Settings override)
FETCH_SIZE = 25  # rows per pull, so a capped result stops pulling early
# Past Neo4j's own timeout the caller waits this much longer for Neo4j's answer (clearer)
# before answering the timeout itself, terminating the transaction and, if its connection
# still does not answer, closing that connection.
DEADLINE_SLACK_S = 2.0
TERMINATE_WAIT_S = 1.0
MAX_IN_FLIGHT = 16  # user queries running at once; more wait up to a second, then get a 400
MAX_VALUE_DEPTH = 100  # nesting of a returned value; deeper rows are dropped as oversized
_in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)


def run_guarded(
    graph: Graph,
    query: str,
    params: dict[str, Any],
    timeout_s: float,
    row_cap: int,
    byte_cap: int = BYTE_CAP,
) -> tuple[list[str], list[dict[str, Any]], bool]:
    """(columns, rows, truncated) of a user's query, or QueryError (QueryRefused before it
    runs, QueryTimeout past `timeout_s`), or GraphUnavailable when Neo4j is really down.

    The query runs in a worker on a driver of its own: a query Neo4j never answers (it can
    overflow its stack serializing a deeply nested value) is answered as a timeout, and its
    connection is closed without touching the engine's shared driver."""
    from unfragile.graph.readonly import check_text

    check_text(query)  # our own reading first: nothing reaches Neo4j that fails it
    if not _in_flight.acquire(timeout=1.0):
        raise QueryError(
            f"{MAX_IN_FLIGHT} Cypher queries are already running here; retry in a moment."
        )
    tag = secrets.token_hex(8)
    box: dict[str, Any] = {}
    done = threading.Event()
    driver = graph.user_driver()

    def work() -> None:
        try:
            box["result"] = _run(driver, graph, query, params, timeout_s, row_cap, byte_cap, tag)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting caller
            box["error"] = e
        finally:
            driver.close()
            _in_flight.release()
            done.set()

    try:
        threading.Thread(target=work, name=f"cypher-{tag}", daemon=True).start()
    except BaseException:
        driver.close()
        _in_flight.release()
        raise
    if not done.wait(timeout_s + DEADLINE_SLACK_S):
        # Planning is not always covered by Neo4j's timeout, and a connection Neo4j stopped
        # answering is never answered: stop the transaction, answer for this query only.
        _terminate(graph, tag)
        if not done.wait(TERMINATE_WAIT_S):
            driver.close()  # shuts the socket down: the worker's read returns
        log.info("Cypher query %s ran past %.0f s and was stopped", tag, timeout_s)
        raise QueryTimeout(_timeout_message(timeout_s))
    if "error" in box:
        raise _translate(graph, box["error"], timeout_s) from box["error"]
    return box["result"]


def _run(
    driver: neo4j.Driver,
    graph: Graph,
    query: str,
    params: dict[str, Any],
    timeout_s: float,
    row_cap: int,
    byte_cap: int,
    tag: str,
) -> tuple[list[str], list[dict[str, Any]], bool]:
    from unfragile.graph.readonly import check_read_only

    deadline = time.monotonic() + timeout_s
    metadata = {"unfragile_query": tag}  # how _terminate finds it
    with driver.session(
        database=graph.database, default_access_mode=neo4j.READ_ACCESS, fetch_size=FETCH_SIZE
    ) as session:
        check_read_only(session, query, params, graph.database, timeout_s, metadata)
        remaining = deadline - time.monotonic()
        if remaining < 0.01:
            raise QueryTimeout(_timeout_message(timeout_s))
        # A READ transaction: Neo4j itself refuses any write, whatever the checks missed.
        tx = session.begin_transaction(timeout=remaining, metadata=metadata)
        try:
            result = tx.run(query, params)
            columns = list(result.keys())
            rows, truncated = _collect(result, row_cap, byte_cap)
        finally:
            tx.close()  # rolls back: nothing a user's query did is kept
    return columns, rows, truncated


def _collect(
    result: neo4j.Result, row_cap: int, byte_cap: int
) -> tuple[list[dict[str, Any]], bool]:
    """Rows up to `row_cap` and `byte_cap` bytes of JSON; a row that would pass the budget
    (even the first) is dropped and the result is marked truncated."""
    rows: list[dict[str, Any]] = []
    used = 2  # []
    for record in result:
        if len(rows) >= row_cap:
            return rows, True
        budget = _Budget(byte_cap - used - 1)
        try:
            row = {key: _plain(value, budget, 1) for key, value in record.items()}
            budget.take(2 + sum(len(json.dumps(key, ensure_ascii=False)) + 1 for key in row))
        except _OverBudget:
            return rows, True
        rows.append(row)
        used += budget.spent + 1
    return rows, False


class _OverBudget(Exception):
    pass


class _Budget:
    def __init__(self, limit: int):
        self.limit, self.spent = limit, 0

    def take(self, n: int) -> None:
        self.spent += n
        if self.spent > self.limit:
            raise _OverBudget


def _plain(value: Any, budget: _Budget, depth: int) -> Any:
    """Driver values (nodes, relationships, paths, temporals) as JSON-ready values, charging
    their JSON size to `budget` as they are built, so a huge value stops early."""
    if depth > MAX_VALUE_DEPTH:
        raise _OverBudget
    if isinstance(value, neo4j.graph.Node):
        budget.take(12 + 4 * len(value.labels))
        return {
            "labels": sorted(value.labels),
            **_plain(dict(value.items()), budget, depth + 1),
        }
    if isinstance(value, neo4j.graph.Relationship):
        budget.take(10 + len(value.type))
        return {"type": value.type, **_plain(dict(value.items()), budget, depth + 1)}
    if isinstance(value, neo4j.graph.Path):
        budget.take(32)
        return {
            "nodes": [_plain(n, budget, depth + 2) for n in value.nodes],
            "relationships": [_plain(r, budget, depth + 2) for r in value.relationships],
        }
    if isinstance(value, list | tuple):
        budget.take(2 + len(value))
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, dict):
        budget.take(2 + len(value))
        plain = {}
        for k, v in value.items():
            budget.take(len(json.dumps(str(k), ensure_ascii=False)) + 1)
            plain[str(k)] = _plain(v, budget, depth + 1)
        return plain
    if hasattr(value, "iso_format"):
        value = value.iso_format()
    if isinstance(value, str):
        if len(value) > budget.limit - budget.spent:
            raise _OverBudget  # its JSON is at least as long: do not encode it
        budget.take(len(json.dumps(value, ensure_ascii=False).encode("utf-8", "replace")))
    elif isinstance(value, bytes | bytearray):
        budget.take(2 * len(value) + 2)
    elif isinstance(value, float):
        budget.take(len(repr(value)) if math.isfinite(value) else 4)
    else:
        budget.take(len(str(value)))
    return value


# How long Neo4j must keep answering after a query's connection broke before the break is
# blamed on the query (see _translate), and how often it is asked meanwhile.
BROKEN_SETTLE_S = 2.0
SETTLE_STEP_S = 0.25


def _translate(graph: Graph, e: BaseException, timeout_s: float) -> BaseException:
    """The worker's exception as the caller's: one query's failure is that query's error,
    unless a fresh query on the shared driver shows Neo4j itself is gone."""
    if isinstance(e, QueryError | GraphUnavailable):
        return e
    if isinstance(e, AuthError):
        return GraphUnavailable(graph._auth_message())
    if isinstance(e, ServiceUnavailable | SessionExpired | OSError):
        log.info("Cypher query lost its connection: %s", e)
        # A stopping Neo4j closes open connections before it refuses new ones, so a probe
        # right away can still pass: only one that keeps passing for a while means "up".
        return _down(graph, settle_s=BROKEN_SETTLE_S) or QueryError(
            "the connection to Neo4j broke while this query ran (Neo4j itself is up): "
            "the query or its result is too large or too deep. Simplify it."
        )
    if isinstance(e, Neo4jError):
        code = e.code or ""
        if "TransactionTimedOut" in code or (isinstance(e, ClientError) and "Terminated" in code):
            return QueryTimeout(_timeout_message(timeout_s))
        if isinstance(e, TransientError):  # the database stopping, or out of memory
            return _down(graph, settle_s=BROKEN_SETTLE_S) or _error(query_message(e), e)
        return _error(query_message(e), e)
    if isinstance(e, DriverError):
        return _down(graph, settle_s=BROKEN_SETTLE_S) or _error(
            f"the query failed in the driver ({type(e).__name__}).", e
        )
    return e


def _down(graph: Graph, settle_s: float = 0.0) -> GraphUnavailable | None:
    """GraphUnavailable unless Neo4j answers a trivial query on the shared driver now (and,
    with `settle_s`, still answers that long after)."""
    deadline = time.monotonic() + settle_s
    while True:
        try:
            with graph.driver.session(database=graph.database) as session:
                session.run(neo4j.Query("RETURN 1", timeout=5)).consume()
        except AuthError:
            return GraphUnavailable(graph._auth_message())
        except (DriverError, Neo4jError, OSError) as down:
            return GraphUnavailable(graph._down_message(down))
        if time.monotonic() >= deadline:
            return None
        time.sleep(SETTLE_STEP_S)


def _error(message: str, e: BaseException) -> QueryError:
    error = QueryError(message)
    error.detail = str(e)  # for the server log, not the caller
    return error


def query_message(e: Neo4jError) -> str:
    """Neo4j's error for a user: the Cypher error's name and message, no Java class names."""
    code = e.code or ""
    if code.endswith("AccessMode") or "Writing in read access mode" in (e.message or ""):
        return "refused: this query would write to the graph, and Cypher runs here are read-only."
    name = code.rsplit(".", 1)[-1] or "Error"
    kind = "Cypher error" if isinstance(e, ClientError) else "Neo4j error"
    return f"{kind} ({name}): {plain_text(e.message or '')}"


# `Caused by: org.neo4j.exceptions.TemporalParseException: ` and other qualified Java names.
_JAVA_NAME = re.compile(
    r"(?:\bCaused by:\s*)?\b(?:java|javax|jdk|sun|scala|org|com|io|net)\.(?:[\w$]+\.)+"
    r"[\w$]*(?:Exception|Error|Throwable|Failure)\b:?\s*|"
    r"\b(?:java|javax|jdk|sun|scala|org\.neo4j|com\.neo4j)\.(?:[\w$]+\.)*[A-Z][\w$]*"
)


def plain_text(message: str) -> str:
    """A Neo4j message without Java exception class names, on one line."""
    lines = [line for line in message.strip().splitlines() if line.strip(" ^\t")]
    text = _JAVA_NAME.sub("", "\n".join(lines))
    text = re.sub(r"\s*\n\s*", " ", text)
    return re.sub(r":\s*:", ":", text).strip() or "the query failed"


def _timeout_message(timeout_s: float) -> str:
    return (
        f"refused: the query ran past its time limit of {timeout_s:g} s (planning included) "
        "and was stopped. Narrow it (a LIMIT, fewer hops, a smaller range)."
    )


def _terminate(graph: Graph, tag: str) -> None:
    """Best effort: terminate the transactions carrying this run's tag."""
    try:
        with graph.driver.session(database=graph.database) as session:
            ids = [
                r["id"]
                for r in session.run(
                    neo4j.Query(
                        "SHOW TRANSACTIONS YIELD transactionId AS id, metaData "
                        "WHERE metaData.unfragile_query = $tag RETURN id",
                        timeout=5,
                    ),
                    tag=tag,
                )
            ]
            if ids:
                session.run(
                    neo4j.Query("TERMINATE TRANSACTIONS $ids", timeout=5), ids=ids
                ).consume()
    except (DriverError, Neo4jError, OSError) as e:
        log.warning("could not terminate Cypher query %s: %s", tag, e)
