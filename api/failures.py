"""The one table from error class to answer: HTTP status, CLI exit code and JSON error code.

The API's exception handlers, the web pages and the CLI all look a failure up here, along
the class's MRO (the first class listed wins), so a subclass answers like its parent unless
it has its own row. Pages answer 400 where the API answers 422: a browser's form has no
schema for the request to be invalid against, so "you asked for something wrong" is 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from unfragile.engine.errors import (
    GraphUnavailable,
    ImageRejected,
    IndexMustBeRebuilt,
    InvalidInput,
    ModelUnavailable,
    NotIndexed,
    NotRanked,
    QueryError,
    QueryRefused,
    RenderError,
    ServerError,
    SettingsError,
    UnknownArtifact,
    UnknownExploration,
)

# CLI exit codes: 2 bad input or a refused query, 3 Neo4j unavailable, 4 a model or an index
# to fix, 130 interrupted (the shell's 128 + SIGINT).
BAD_INPUT, GRAPH_DOWN, NOT_READY, INTERRUPTED = 2, 3, 4, 130

# The JSON body's "error" for each HTTP status.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    421: "misdirected",
    422: "invalid",
    500: "internal",
    503: "unavailable",
}


@dataclass(frozen=True)
class Failure:
    status: int  # HTTP status of the API's answer
    exit_code: int  # the CLI's exit code
    code: str  # the JSON body's "error"

    @property
    def page_status(self) -> int:
        """The web page's status: 400 for what the API calls invalid (422)."""
        return 400 if self.status == 422 else self.status


def _row(status: int, exit_code: int) -> Failure:
    return Failure(status, exit_code, CODES[status])


TABLE: dict[type[BaseException], Failure] = {
    # engine: what a person asked for
    UnknownArtifact: _row(404, BAD_INPUT),
    UnknownExploration: _row(404, BAD_INPUT),
    NotRanked: _row(409, BAD_INPUT),
    NotIndexed: _row(503, BAD_INPUT),
    InvalidInput: _row(422, BAD_INPUT),  # ambiguous name, same artifact, bad query or filter …
    SettingsError: _row(500, BAD_INPUT),  # the server's environment, not the caller's request
    # graph
    GraphUnavailable: _row(503, GRAPH_DOWN),
    ServerError: _row(500, GRAPH_DOWN),  # the local Neo4j cannot start (CLI only)
    QueryRefused: _row(403, BAD_INPUT),
    QueryError: _row(400, BAD_INPUT),  # syntax, timeout
    # indexing
    ImageRejected: _row(422, BAD_INPUT),
    RenderError: _row(422, BAD_INPUT),
    ModelUnavailable: _row(503, NOT_READY),
    IndexMustBeRebuilt: _row(503, NOT_READY),
}

UNFORESEEN = _row(500, 1)


def failure(e: BaseException | type[BaseException]) -> Failure:
    """The row for this error (or class): its own, or its nearest listed ancestor's."""
    cls = e if isinstance(e, type) else type(e)
    for klass in cls.__mro__:
        row = TABLE.get(klass)
        if row is not None:
            return row
    return UNFORESEEN


def known(e: BaseException) -> bool:
    """Whether `e` is a failure this table answers for (anything else is a bug: 500)."""
    return failure(e) is not UNFORESEEN
