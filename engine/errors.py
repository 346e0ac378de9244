"""The engine's errors, one class per failure, and every layer's errors in one place.

Front ends import error classes from here only: the graph and indexing layers' classes are
re-exported below. `api/failures.py` maps each class (along its MRO) to an HTTP status and a
CLI exit code. A failure is told apart by its class, never by its message or a field; some
classes also derive from a family (SearchError, CompareError) that says how the message reads.
"""

from __future__ import annotations

from unfragile.graph.errors import (
    GraphError,
    GraphUnavailable,
    PortTaken,
    QueryError,
    QueryRefused,
    QueryTimeout,
    ServerError,
    TooComplex,
    Unreadable,
)
from unfragile.indexing.errors import (
    ImageRejected,
    IndexDamaged,
    IndexingError,
    IndexMismatch,
    IndexMustBeRebuilt,
    ModelUnavailable,
    RenderError,
)

__all__ = [
    "AmbiguousName",
    "CompareError",
    "EngineError",
    "ExploreError",
    "GraphError",
    "GraphUnavailable",
    "ImageRejected",
    "IndexDamaged",
    "IndexMismatch",
    "IndexMustBeRebuilt",
    "IndexingError",
    "InvalidInput",
    "MissingName",
    "ModelUnavailable",
    "NotIndexed",
    "NotRanked",
    "PortTaken",
    "QueryError",
    "QueryRefused",
    "QueryTimeout",
    "RankError",
    "RemoteSourceError",
    "RenderError",
    "SameArtifact",
    "SearchError",
    "ServerError",
    "SettingsError",
    "TooComplex",
    "UnknownAlternative",
    "UnknownArtifact",
    "UnknownExploration",
    "Unreadable",
]


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class SettingsError(EngineError, ValueError):
    """A setting from the environment has a value the engine cannot use."""


class InvalidInput(EngineError, ValueError):
    """Bad input: names the file, the line and the field, and says what is wrong."""

    writes = True  # raised by a command that writes: the CLI says nothing was written

    def __init__(self, source: str, line: int | None, field_name: str | None, message: str):
        # A field name from the input may hold a lone surrogate: shown escaped, so the
        # message can be printed and sent as UTF-8.
        field_name = _printable(field_name) if field_name is not None else None
        message = _printable(message)
        self.source, self.line, self.field, self.message = source, line, field_name, message
        where = source if line is None else f"{source}:{line}"
        what = f"field '{field_name}': " if field_name else ""
        super().__init__(f"{where}: {what}{message}")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


# -- comparing and naming artifacts ----------------------------------------------------------


class CompareError(InvalidInput):
    """Two artifacts named for comparison that cannot be compared; the message alone is shown
    (it names the side itself). Raised as one of the subclasses below."""

    writes = False

    def __init__(self, field_name: str, message: str):
        InvalidInput.__init__(self, "compare", None, field_name, message)

    def __str__(self) -> str:
        return self.message


class UnknownArtifact(CompareError):
    """No artifact has the id (or name) a person gave."""


class AmbiguousName(CompareError):
    """A name matches several artifacts; the message lists them."""


class NotRanked(CompareError):
    """The artifact exists but has no UnfragileRank yet (`unfragile rank` has not run)."""


class SameArtifact(CompareError):
    """Both names given for a comparison are the same artifact."""


class MissingName(CompareError):
    """An artifact was to be named and the text is empty."""


# -- search ----------------------------------------------------------------------------------


class SearchError(InvalidInput):
    """A query or filter a person gave that search cannot take; shown as 'field: message'."""

    writes = False  # nothing to roll back: search only reads

    def __init__(
        self, field_name: str, message: str, source: str = "query", line: int | None = None
    ):
        InvalidInput.__init__(self, source, line, field_name, message)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class NotIndexed(SearchError):
    """Search has no vector for what it needs yet: `unfragile index` must run first."""

    def __init__(self, message: str):
        super().__init__("index", message, source="search")


class UnknownAlternative(SearchError, UnknownArtifact):
    """Alternatives were asked for an artifact search does not know."""

    def __init__(self, artifact_id: str):
        super().__init__("alternatives_to", f"unknown artifact {artifact_id!r}", source="filter")


# -- ranking and saved explorations ----------------------------------------------------------


class RankError(InvalidInput):
    """A ranking setting or request a person gave that cannot be used."""

    writes = False

    def __init__(self, field_name: str | None, message: str, source: str = "rank"):
        super().__init__(source, None, field_name, message)


class ExploreError(InvalidInput):
    """A saved query whose header does not parse, or a parameter it cannot take."""

    writes = False


class UnknownExploration(ExploreError):
    """No saved exploration has the name asked for; the message lists the known ones."""


# -- importers -------------------------------------------------------------------------------


class RemoteSourceError(InvalidInput):
    """A public source an importer reads (the Hugging Face Hub, a registry) failed or sent an
    answer that cannot be read; batches already written stay, and a re-run continues."""

    writes = False

    def __init__(self, source: str, message: str, status: int | None = None):
        InvalidInput.__init__(self, source, None, None, message)
        self.status = status  # the HTTP status, when the source answered with one
