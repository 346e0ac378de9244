"""schemathesis against the API's own OpenAPI, over the bundled catalog: no answer is a 5xx.

Examples are bounded (and derandomised, so CI sees the same inputs every run) to keep the
whole run within about two minutes on two cores.
"""

from __future__ import annotations

import collections

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import load_catalog
from unfragile.api.app import create_app
from unfragile.api.config import ApiConfig
from unfragile.engine import ranking
from unfragile.engine.settings import Settings
from unfragile.graph import store

KEY = "schemathesis-key"


@pytest.fixture(scope="module")
def api_schema(settings, graph_session, encoder):
    graph = graph_session
    store.delete_everything(graph)
    load_catalog(graph, settings, encoder)
    ranking.rank(graph, ranking.load_config(env={}), show_progress=False)
    # schemathesis sends Host: testserver; the API answers loopback names only unless told.
    app = create_app(
        settings, ApiConfig(api_keys=(KEY,), allowed_hosts=("testserver",)), warm=False
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# The operations, read from the spec alone (no Neo4j needed) so each is its own test.
OPERATIONS = [
    (method.upper(), path)
    for path, item in create_app(Settings(), warm=False).openapi()["paths"].items()
    for method in item
]


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(api_schema, method, path):
    operation = api_schema[path][method]
    statuses: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        # With a valid key, POST /events and /cypher reach the validator, not the 401.
        headers = {"X-API-Key": KEY} if path in ("/events", "/cypher") else None
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        statuses.append(response.status_code)

    run()
    assert statuses  # it did send requests (one for an operation without parameters)
    print(f"{method} {path}: {sorted(collections.Counter(statuses).items())}")
