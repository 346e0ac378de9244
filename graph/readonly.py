"""The read-only guard: our own scan of the text, then Neo4j's plan; either one refuses alone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import neo4j
from neo4j.exceptions import ClientError

from unfragile.graph.cypher_scan import scan
from unfragile.graph.errors import QueryError, QueryRefused, TooComplex, Unreadable
from unfragile.graph.user_query import plain_text

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
# Names compare without case: Neo4j resolves them with case, so a differently cased name
# either is the allowed one or fails to compile.
_PROCEDURES_LOWER = frozenset(name.lower() for name in ALLOWED_PROCEDURES)
_FUNCTIONS_LOWER = frozenset(name.lower() for name in ALLOWED_FUNCTIONS)
_FUNCTION_PREFIXES_LOWER = tuple(prefix.lower() for prefix in ALLOWED_FUNCTION_PREFIXES)

# Operators that write or batch transactions (commands: _ADMIN_OPERATOR below). Read operators
# never start with these words (ShortestPath and Selection do not match: prefixes are
# whole words of the operator's CamelCase name).
_REFUSED_OPERATOR = re.compile(
    r"^(Create|Merge|LockingMerge|Delete|DetachDelete|Set|Remove|Foreach|LoadCSV|"
    r"Transaction|Assert)(?=[A-Z]|$)"
)

# A call in a plan operator's details: a dotted name (parts bare or in backticks) and `(`.
# Details are read as they are, quotes and all: a backticked alias holding call-like text
# is refused too, which is better than a quote that hides a real call (issue 11).
_NAME = r"(?:[^\W\d]\w*|`(?:[^`]|``)*`)"
_CALLED = re.compile(rf"({_NAME}(?:\s*\.\s*{_NAME})*)\s*\(")
_NAME_PART = re.compile(_NAME)
# A procedure call inside an expression (EXISTS { CALL ... } in a list comprehension, say)
# prints as the planner's raw ResolvedCall(name(...) ...).
_RESOLVED_CALL = re.compile(r"ResolvedCall\(\s*((?:`(?:[^`]|``)*`|[^\s(`])*)")

# Compile errors that mean the query is an administrative command or targets another
# database: those are refusals, not mistakes in the Cypher.
_ADMIN_ERROR = re.compile(
    r"administration command|system database|multiple graphs|"
    r"\bUSE\b clause|not available in this implementation",
    re.I,
)


def check_text(query: str) -> None:
    """The first check, on our own reading of the text before Neo4j sees it: QueryError when
    it is too long or too deep to parse safely, QueryRefused for any procedure or namespaced
    function off the allowlists (a name that is both, like gds.version, passes only as a
    function in an expression) and for text this reading cannot classify."""
    try:
        found = scan(query)
    except TooComplex as e:
        raise QueryError(f"query too complex: {e}.") from None
    except Unreadable as e:
        raise QueryRefused(
            f"refused (unreadable text): {e}; the guard refuses what it cannot read "
            "the way Neo4j would, and Cypher runs here are read-only.",
            ["unreadable text"],
        ) from None
    refused = [
        ("call", f"{'procedure' if call.procedure else 'function'} {call.name}")
        for call in found.calls
        if not (procedure_allowed(call.name) if call.procedure else function_allowed(call.name))
    ]
    if refused:
        raise _refusal(refused)


def check_read_only(
    session: neo4j.Session,
    query: str,
    params: dict[str, Any],
    database: str,
    timeout_s: float,
    metadata: dict[str, Any] | None = None,
) -> None:
    """The second check, on Neo4j's own plan: EXPLAIN `query` (nothing runs) and raise
    QueryRefused unless it only reads.

    The plan is Neo4j's reading of the text, so comments, strings, casing and nesting (CALL
    subqueries, UNION branches) cannot hide a write from it; every procedure call in it,
    as an operator or inside an expression, must be on the allowlist. A query that does
    not compile raises QueryError and never runs.
    """
    try:
        # On its own line, so Neo4j's column numbers in errors stay those of the user's text.
        query_ = neo4j.Query("EXPLAIN\n" + query, timeout=timeout_s, metadata=metadata)
        summary = session.run(query_, params).consume()
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
        if "TransactionTimedOut" in code or "Terminated" in code:
            raise  # planning ran past the time limit: the caller's QueryTimeout
        if "execution mode" in message:  # the user's PROFILE against the guard's EXPLAIN
            raise QueryError(
                "PROFILE is not available here: queries return their rows, not "
                "a profile. Run the query without PROFILE."
            ) from e
        error = QueryError(f"Cypher error ({code.rsplit('.', 1)[-1]}): {plain_text(first)}")
        error.detail = message  # for the server log
        raise error from e
    refused = _refusals(summary.plan, database)
    if summary.query_type == "s":  # CreateIndex is a schema command, not a data write
        refused = [("admin" if kind == "write" else kind, name) for kind, name in refused]
    if summary.query_type != "r" and not refused:
        kind = "admin" if summary.query_type == "s" else "write"
        refused = [(kind, f"query type {summary.query_type!r}")]
    if refused:
        raise _refusal(refused)


def procedure_allowed(name: str) -> bool:
    return name.lower() in _PROCEDURES_LOWER


def function_allowed(name: str) -> bool:
    lower = name.lower()
    return lower in _FUNCTIONS_LOWER or lower.startswith(_FUNCTION_PREFIXES_LOWER)


def _refusal(refused: list[tuple[str, str]]) -> QueryRefused:
    names = list(dict.fromkeys(name for _, name in refused))
    reasons = list(dict.fromkeys(_REASONS[kind] for kind, _ in refused))
    return QueryRefused(
        f"refused ({', '.join(names)}): {'; '.join(reasons)}, and Cypher runs here are read-only.",
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
        args = op.get("args") or op.get("arguments") or {}
        details = str(args.get("Details") or "")
        # Other arguments can print expressions too (Order: an ORDER BY's): read them all.
        others = "\n".join(str(v) for k, v in args.items() if k != "Details" and isinstance(v, str))
        if where and where.lower() != database.lower():
            found.append(("admin", f"{name} on database {where!r}"))
        elif name == "LoadCSV":
            found.append(("file", "LOAD CSV"))
        elif _ADMIN_OPERATOR.match(name):
            found.append(("admin", name))
        elif _REFUSED_OPERATOR.match(name):
            found.append(("write", name))
        elif name == "ProcedureCall":
            match = _CALLED.match(details.lstrip())
            procedure = _dotted(match.group(1)) if match else "an unnamed procedure"
            if not (match and procedure_allowed(procedure)):
                found.append(("call", f"procedure {procedure}"))
            details = details.lstrip()[match.end() :] if match else details
        found += _calls_in(details + "\n" + others)
    return found


def _calls_in(details: str) -> list[tuple[str, str]]:
    """Procedure calls printed inside expressions and namespaced function calls, read from
    an operator's details without skipping anything that looks quoted."""
    found = []
    for match in _RESOLVED_CALL.finditer(details):
        procedure = _dotted(match.group(1)) if _CALLED.match(match.group(1) + "(") else ""
        if not procedure_allowed(procedure):
            found.append(("call", f"procedure {procedure or 'an unnamed procedure'}"))
    # An allowed procedure's name is not read again below as a function of the same name.
    details = _RESOLVED_CALL.sub("ResolvedCall(", details)
    for match in _CALLED.finditer(details):
        function = _dotted(match.group(1))
        if "." in function and not function_allowed(function):
            found.append(("call", f"function {function}"))
    return found


def _dotted(chain: str) -> str:
    """`gds . `graph`.project` -> gds.graph.project (a backticked part split on its dots)."""
    parts = (
        p[1:-1].replace("``", "`") if p.startswith("`") else p for p in _NAME_PART.findall(chain)
    )
    return ".".join(parts)


def _user_position(line: str) -> str:
    """Neo4j's error line with its position moved back past our 'EXPLAIN' line."""

    def fix(m: re.Match[str]) -> str:
        return (
            f"(line {max(1, int(m.group(1)) - 1)}, column {m.group(2)} "
            f"(offset: {max(0, int(m.group(3)) - 8)}))"
        )

    return _POSITION.sub(fix, line).strip()


_POSITION = re.compile(r"\(line (\d+), column (\d+) \(offset: (\d+)\)\)")


def _operators(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("children") or []:
        yield from _operators(child)
