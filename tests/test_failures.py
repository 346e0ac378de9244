"""The failure table: every error class a person can cause has one status and exit code."""

from __future__ import annotations

import pytest

from unfragile.api.failures import TABLE, UNFORESEEN, failure, known
from unfragile.engine import errors

PEOPLE_CAUSE = [
    (errors.InvalidInput("f.jsonl", 3, "kind", "unknown value"), 422, 400, 2),
    (errors.UnknownArtifact("A", "no artifact has the id or name 'x'"), 404, 404, 2),
    (errors.UnknownAlternative("x"), 404, 404, 2),
    (errors.AmbiguousName("A", "'x' is ambiguous"), 422, 400, 2),
    (errors.NotRanked("artifact", "'x' is not ranked yet"), 409, 409, 2),
    (errors.SameArtifact("B", "both names are 'x'"), 422, 400, 2),
    (errors.MissingName("A", "A: give an artifact id or name"), 422, 400, 2),
    (errors.SearchError("query", "is empty"), 422, 400, 2),
    (errors.NotIndexed("no capability index yet"), 503, 503, 2),
    (errors.RankError("engine", "unknown engine"), 422, 400, 2),
    (errors.ExploreError("q", None, "limit", "expected integer"), 422, 400, 2),
    (errors.UnknownExploration("saved queries", None, "name", "no saved query"), 404, 404, 2),
    (errors.QueryError("Cypher error"), 400, 400, 2),
    (errors.QueryTimeout("too slow"), 400, 400, 2),
    (errors.QueryRefused("it would write", ["CREATE"]), 403, 403, 2),
    (errors.GraphUnavailable("Neo4j is not reachable"), 503, 503, 3),
    (errors.ServerError("cannot start"), 500, 500, 3),
    (errors.PortTaken(), 500, 500, 3),
    (errors.ImageRejected("x.png: empty file"), 422, 400, 2),
    (errors.RenderError("prompts.txt:1: empty"), 422, 400, 2),
    (errors.ModelUnavailable("could not load"), 503, 503, 4),
    (errors.IndexMismatch("built with another model"), 503, 503, 4),
    (errors.IndexDamaged("truncated"), 503, 503, 4),
]


@pytest.mark.parametrize(("error", "status", "page", "exit_code"), PEOPLE_CAUSE)
def test_each_failure_has_one_answer(error, status, page, exit_code) -> None:
    row = failure(error)
    assert (row.status, row.page_status, row.exit_code) == (status, page, exit_code)
    assert failure(type(error)) == row and known(error)


def test_a_failure_is_told_by_its_class_not_its_text() -> None:
    # The same words, another class: another answer.
    words = "unknown artifact 'x'"
    assert failure(errors.SearchError("alternatives_to", words)).status == 422
    assert failure(errors.UnknownAlternative("x")).status == 404
    assert str(errors.UnknownAlternative("x")) == f"alternatives_to: {words}"


def test_anything_else_is_unforeseen() -> None:
    assert failure(KeyError("x")) is UNFORESEEN and not known(RuntimeError("bug"))
    # The guard's internal readings are turned into QueryErrors before they reach a person.
    assert not known(errors.TooComplex("deep")) and not known(errors.Unreadable("odd"))


def test_every_row_is_an_error_class_of_a_layer() -> None:
    roots = (errors.EngineError, errors.GraphError, errors.IndexingError)
    assert all(issubclass(cls, roots) for cls in TABLE)
