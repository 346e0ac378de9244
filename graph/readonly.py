"""The read-only guard: EXPLAIN a user's query and refuse writes, file reads and admin calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import neo4j
from neo4j.exceptions import ClientError

from graph.connection import QueryError

# Read procedures a user's query may CALL; every other procedure is refused, whatever mode
# Neo4j gives it (db.stats.clear, db.resampleIndex and every gds.* procedure run in READ
# mode, and gds.graph.project fills the in-memory GDS catalog). GDS algorithms are left
# out on purpose: their stream modes need a projected graph, and projecting is a write to
# the catalog, so `unfragile rank --engine gds` is where GDS runs.
ALLOWED_PROCEDURES = frozenset(
    {
        "db.index.fulltext.queryNodes",
        "db.index.fulltext.queryRelationships",
        "db.index.vector.queryNodes",
        "db.index.vector.queryRelationships",
        "db.labels",
        "db.relationshipTypes",
        "db.propertyKeys",
        "db.schema.visualization",
        "db.schema.nodeTypeProperties",
        "db.schema.relTypeProperties",
    }
)

# Namespaced functions a query may call. Built-in ones live in these namespaces; plugin
# functions (gds.*, apoc.*) are refused unless listed, because some of them write:
# the aggregation function gds.graph.project(...) builds a catalog graph.
ALLOWED_FUNCTION_PREFIXES = (
    "date.",
    "datetime.",
    "localdatetime.",
    "localtime.",
    "time.",
    "duration.",
    "point.",
    "vector.similarity.",
    "gds.similarity.",
)
ALLOWED_FUNCTIONS = frozenset(
    {
        "gds.version",
        "gds.util.NaN",
        "gds.util.infinity",
        "gds.util.isFinite",
        "gds.util.isInfinite",
        "gds.util.asNode",
        "gds.util.asNodes",
    }
)

# Operators that write or batch transactions (commands: _ADMIN_OPERATOR below). Read operators
# never start with these words (ShortestPath and Selection do not match: prefixes are
# whole words of the operator's CamelCase name).
_REFUSED_OPERATOR = re.compile(
    r"^(Create|Merge|LockingMerge|Delete|DetachDelete|Set|Remove|Foreach|LoadCSV|"
    r"Transaction|Assert)(?=[A-Z]|$)"
)

_FUNCTION_CALL = re.compile(r"(?<![\w.$`])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*\(")
_PROCEDURE_NAME = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*\(")
# Quoted text in plan details: string literals and backticked names, whose contents (an
# alias can repeat a whole expression with its strings) must not be read as calls.
_QUOTED = re.compile(r"`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")

# Compile errors that mean the query is an administrative command or targets another
# database: those are refusals, not mistakes in the Cypher.
_ADMIN_ERROR = re.compile(
    r"administration command|system database|multiple graphs|"
    r"\bUSE\b clause|not available in this implementation",
    re.I,
)


class QueryRefused(QueryError):
    """A query was refused before it ran: it would write, read files or run an admin call."""

    def __init__(self, message: str, refused: list[str]):
        self.refused = refused
        super().__init__(message)


def check_read_only(
    session: neo4j.Session, query: str, params: dict[str, Any], database: str, timeout_s: float
) -> None:
    """Plan `query` with EXPLAIN (nothing runs) and raise QueryRefused unless it only reads.

    The plan is Neo4j's own reading of the text, so comments, strings, casing and nesting
    (CALL subqueries, UNION branches) cannot hide a write from it. A query that does not
    compile raises QueryError and never runs.
    """
    try:
        # On its own line, so Neo4j's column numbers in errors stay those of the user's text.
        result = session.run(neo4j.Query("EXPLAIN\n" + query, timeout=timeout_s), params)
        summary = result.consume()
    except ClientError as e:
        message = (e.message or "").strip()
        code = e.code or ""
        first = _user_position(message.splitlines()[0] if message else code)
        if (
            code.endswith(("UnsupportedAdministrationCommand", "DatabaseNotFound"))
            or code.startswith("Neo.ClientError.Security.")
            or _ADMIN_ERROR.search(message)
        ):
            raise QueryRefused(
                f"refused (administration): {first.rstrip('.')}. Administration "
                "commands and other databases are not allowed, and Cypher runs "
                "here are read-only.",
                ["administration"],
            ) from e
        if "execution mode" in message:  # the user's PROFILE against the guard's EXPLAIN
            raise QueryError(
                "PROFILE is not available here: queries return their rows, not "
                "a profile. Run the query without PROFILE."
            ) from e
        raise QueryError(f"Cypher error ({code.rsplit('.', 1)[-1]}): {first}") from e
    refused = _refusals(summary.plan, database)
    if summary.query_type == "s":  # CreateIndex is a schema command, not a data write
        refused = [("admin" if kind == "write" else kind, name) for kind, name in refused]
    if summary.query_type != "r" and not refused:
        kind = "admin" if summary.query_type == "s" else "write"
        refused = [(kind, f"query type {summary.query_type!r}")]
    if refused:
        names = list(dict.fromkeys(name for _, name in refused))
        reasons = list(dict.fromkeys(_REASONS[kind] for kind, _ in refused))
        raise QueryRefused(
            f"refused ({', '.join(names)}): {'; '.join(reasons)}, and Cypher "
            "runs here are read-only.",
            names,
        )


_REASONS = {
    "write": "this query would write to the graph",
    "file": "LOAD CSV reads files on the server",
    "admin": "schema and administration commands are not allowed",
    "call": (
        "only read procedures and functions on the allowlist may be called (procedures: "
        + ", ".join(sorted(ALLOWED_PROCEDURES))
        + ")"
    ),
}
_ADMIN_OPERATOR = re.compile(
    r"^(Show|Terminate|Drop|Alter|Rename|Grant|Deny|Revoke|Start|"
    r"Stop|Enable|Deallocate|Reallocate|Administration|Wait|"
    r"DoNothingIfExists|Ensure)(?=[A-Z]|$)"
)


def _refusals(plan: dict[str, Any] | None, database: str) -> list[tuple[str, str]]:
    """(kind, name) of every refused thing in the plan; kind picks the reason given."""
    if plan is None:
        return [("admin", "a query without a plan")]
    found: list[tuple[str, str]] = []
    for op in _operators(plan):
        name, _, where = op.get("operatorType", "").partition("@")
        details = (op.get("args") or op.get("arguments") or {}).get("Details") or ""
        if where and where.lower() != database.lower():
            found.append(("admin", f"{name} on database {where!r}"))
        elif name == "LoadCSV":
            found.append(("file", "LOAD CSV"))
        elif _ADMIN_OPERATOR.match(name):
            found.append(("admin", name))
        elif _REFUSED_OPERATOR.match(name):
            found.append(("write", name))
        elif name == "ProcedureCall":
            details = details.replace("`", "")
            match = _PROCEDURE_NAME.match(details)
            procedure = match.group(1) if match else "an unnamed procedure"
            if procedure not in ALLOWED_PROCEDURES:
                found.append(("call", f"procedure {procedure}"))
            details = details[match.end() :] if match else ""
        for function in _FUNCTION_CALL.findall(_QUOTED.sub("''", details)):
            if not _function_allowed(function):
                found.append(("call", f"function {function}"))
    return found


def _user_position(line: str) -> str:
    """Neo4j's error line with its position moved back past our 'EXPLAIN' line."""

    def fix(m: re.Match[str]) -> str:
        return (
            f"(line {max(1, int(m.group(1)) - 1)}, column {m.group(2)} "
            f"(offset: {max(0, int(m.group(3)) - 8)}))"
        )

    return _POSITION.sub(fix, line).strip()


_POSITION = re.compile(r"\(line (\d+), column (\d+) \(offset: (\d+)\)\)")


def _function_allowed(name: str) -> bool:
    return name in ALLOWED_FUNCTIONS or name.startswith(ALLOWED_FUNCTION_PREFIXES)


def _operators(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("children") or []:
        yield from _operators(child)
