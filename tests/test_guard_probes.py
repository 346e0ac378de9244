"""Issue 11's guard probes, generated: procedure calls in every wrapper, with every quoting
trick and allowlisted opener, are refused and change nothing; what Neo4j itself refuses;
the server's files are private."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j.exceptions import ClientError

from tests.helpers import artifact, event, write_jsonl
from unfragile.graph import store
from unfragile.graph.connection import Graph
from unfragile.graph.errors import QueryError, QueryRefused
from unfragile.graph.readonly import check_read_only, check_text
from unfragile.graph.server import GDS_LOADED

# Procedures a probe tries to run: catalog writes, a Cypher-running projection (its node
# query reads a file), statistics resets, admin reads, schema writes.
TARGETS = {
    "gds.graph.project": "CALL {name}('probe_g', 'Artifact', '*') YIELD graphName AS {v}",
    "gds.graph.project.cypher": (
        "CALL {name}('probe_c', $nq, 'RETURN 0 AS source, 0 AS target LIMIT 0') "
        "YIELD graphName AS {v}"
    ),
    "gds.graph.drop": "CALL {name}('unfragile-rank', false) YIELD graphName AS {v}",
    "db.stats.clear": "CALL {name}('QUERIES') YIELD section AS {v}",
    "db.stats.stop": "CALL {name}('QUERIES') YIELD section AS {v}",
    "dbms.components": "CALL {name}() YIELD name AS {v}",
    "db.createLabel": "CALL {name}('Pwned')",
}
# Where the call sits: {body} is an optional opener and the call.
WRAPPERS = {
    "plain": "{body} RETURN 1 AS x",
    "exists": "RETURN EXISTS {{ {body} RETURN 1 AS one }} AS x",
    "count": "RETURN COUNT {{ {body} RETURN 1 AS one }} AS x",
    "collect": "RETURN COLLECT {{ {body} RETURN 1 AS one }} AS x",
    "list_comprehension": "RETURN [x IN [1] WHERE EXISTS {{ {body} RETURN 1 AS one }} | x] AS l",
    "pattern_comprehension": (
        "MATCH (a:Artifact) RETURN [(a)-[:HAS_CAPABILITY]->(c) "
        "WHERE EXISTS {{ {body} RETURN 1 AS one }} | c.id] AS l"
    ),
    "case": "RETURN CASE WHEN EXISTS {{ {body} RETURN 1 AS one }} THEN 1 ELSE 0 END AS x",
    "union": "RETURN 1 AS x UNION {body} RETURN 2 AS x",
    "call_subquery": "CALL () {{ {body} RETURN 1 AS one }} RETURN one",
    "optional_call": "OPTIONAL CALL () {{ {body} RETURN 1 AS one }} RETURN one",
}
# Allowlisted names first, aliased with the same trick: gds.version is a function (allowed)
# and a procedure (not), db.labels an allowed procedure.
OPENERS = {
    "none": "",
    "gds.version_procedure": "CALL gds.version() YIELD gdsVersion AS {v} ",
    "gds.version_function": "WITH gds.version() AS {v} ",
    "db.labels": "CALL db.labels() YIELD label AS {v} ",
}
# Characters in backticked variable names that once unbalanced the guard's quote blanking.
QUOTES = ["'", '"', "``", "//", "/*", "*/", "\\", "v"]
# How the procedure's name is written.
SPELLINGS = {
    "plain": lambda name: name,
    "spaced": lambda name: " . ".join(name.split(".")).replace(" . ", " /* x */ . ", 1),
    "backticks": lambda name: ".".join(f"`{part}`" for part in name.split(".")),
}

SECRET = "unfragile-secret-" + secrets.token_hex(8)


def probe(target: str, wrapper: str, opener: str, quote: str, spelling: str) -> str:
    name = SPELLINGS[spelling](target)
    call = TARGETS[target].format(name=name, v=f"`{quote}2`")
    body = OPENERS[opener].format(v=f"`{quote}1`") + call
    return WRAPPERS[wrapper].format(body=body)


def _state(graph: Graph) -> dict[str, Any]:
    """What a probe could change: the store, labels, indexes, the GDS catalog, db.stats."""
    return {
        "nodes": graph.read("MATCH (n) RETURN count(n) AS n")[0]["n"],
        "rels": graph.read("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"],
        "labels": sorted(r["label"] for r in graph.read("CALL db.labels()")),
        "indexes": sorted(r["name"] for r in graph.read("SHOW INDEXES YIELD name")),
        "gds": sorted(r["graphName"] for r in graph.read("CALL gds.graph.list() YIELD graphName")),
        "stats": graph.read("CALL db.stats.status() YIELD section, status RETURN *"),
    }


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the handler's name
        _Hits.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(f"{SECRET},1\n".encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """A local HTTP server that counts requests: LOAD CSV must never reach it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/data.csv"
    server.shutdown()


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A file only this test knows the content of; no answer may ever hold it."""
    path = tmp_path_factory.mktemp("secret") / "secret.csv"
    path.write_text(f"{SECRET},1\n")
    return path.resolve().as_uri()


@pytest.fixture(scope="module")
def probed(
    graph_session: Graph, tmp_path_factory: pytest.TempPathFactory, settings
) -> Iterator[Graph]:
    """A small graph, GDS loaded, and db.stats collecting (so a clear or stop would show)."""
    from unfragile.engine.ingest import ingest

    if settings.gds is False:
        pytest.skip("the probes check the GDS catalog")
    store.delete_everything(graph_session)
    folder = tmp_path_factory.mktemp("probes")
    write_jsonl(folder / "artifacts.jsonl", [artifact("alpha"), artifact("beta", 2)])
    write_jsonl(folder / "events.jsonl", [event("do a thing", "alpha", "s1", "click")])
    ingest(graph_session, folder, show_progress=False)
    graph_session.read("CALL db.stats.collect('QUERIES', {durationSeconds: 3600})")
    yield graph_session


def _params(secret_file: str, web: str) -> list[dict[str, str]]:
    """The node query a Cypher projection would run: a file, then a URL."""
    return [
        {"nq": f"LOAD CSV FROM '{url}' AS row RETURN date(row[0]) AS id"}
        for url in (secret_file, web)
    ]


@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize("target", TARGETS)
def test_every_probe_is_refused_and_changes_nothing(
    probed: Graph, secret_file: str, web: str, target: str, wrapper: str, opener: str
) -> None:
    before = _state(probed)
    for quote, spelling in itertools.product(QUOTES, SPELLINGS):
        query = probe(target, wrapper, opener, quote, spelling)
        for params in _params(secret_file, web):
            with pytest.raises(QueryRefused) as refused:
                probed.run_read_only(query, params, timeout_s=10, row_cap=10)
            assert SECRET not in str(refused.value), query
            assert any(target in name for name in refused.value.refused), (query, refused.value)
    assert _state(probed) == before
    assert _Hits.hits == []


# The plan check on its own (no text scan first): every probe that compiles is refused from
# Neo4j's plan; one that does not compile (a name this server does not load) fails EXPLAIN.
# Either way EXPLAIN runs nothing.
@pytest.mark.parametrize("opener", OPENERS)
@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize("target", TARGETS)
def test_the_plan_check_alone_refuses_every_probe_that_compiles(
    probed: Graph, secret_file: str, web: str, target: str, wrapper: str, opener: str
) -> None:
    before = _state(probed)
    with probed.driver.session(database=probed.database, default_access_mode="READ") as s:
        for quote in ("'", "``", "/*"):
            query = probe(target, wrapper, opener, quote, "plain")
            try:
                check_read_only(s, query, _params(secret_file, web)[0], probed.database, 10)
            except QueryRefused:
                continue
            except QueryError as e:  # did not compile: never planned, never run
                assert not _compiles(probed, query), (query, e)
                continue
            raise AssertionError(f"the plan check let this through: {query}")
    assert _state(probed) == before
    assert _Hits.hits == []


def _compiles(graph: Graph, query: str) -> bool:
    try:
        graph.read("EXPLAIN " + query, nq="RETURN 0 AS id")
    except ClientError:
        return False
    return True


def test_the_issue_reproduction_is_refused_and_reads_no_file(
    probed: Graph, secret_file: str, cli
) -> None:
    query = (
        "RETURN [x IN [1] WHERE EXISTS { CALL gds.version() YIELD gdsVersion AS `'` RETURN 1 "
        "AS one } AND EXISTS { CALL gds.graph.project.cypher('x', $nq, 'RETURN 0 AS source, "
        "0 AS target LIMIT 0') YIELD graphName AS `'` RETURN 1 AS two }] AS l"
    )
    before = _state(probed)
    for url in (secret_file, "file:///etc/hostname"):
        nq = f"LOAD CSV FROM '{url}' AS row RETURN date(row[0]) AS id"
        with pytest.raises(QueryRefused) as refused:
            probed.run_read_only(query, {"nq": nq}, timeout_s=10, row_cap=10)
        assert "gds.graph.project.cypher" in str(refused.value)
        result = cli("cypher", query, "--param", f"nq={nq}")
        assert result.returncode == 2 and result.stderr.startswith("error: refused")
        assert SECRET not in result.stdout + result.stderr
    assert _state(probed) == before


def test_each_check_refuses_the_reproduction_on_its_own(probed: Graph, secret_file: str) -> None:
    """The text scan alone, and the plan alone (with the projection that this server loads,
    gds.graph.project, in the same nesting and quoting): each refuses."""
    nested = (
        "RETURN [x IN [1] WHERE EXISTS {{ CALL gds.version() YIELD gdsVersion AS `'` RETURN 1 "
        "AS one }} AND EXISTS {{ CALL {call} YIELD graphName AS `'` RETURN 1 AS two }}] AS l"
    )
    cypher = nested.format(
        call="gds.graph.project.cypher('x', $nq, 'RETURN 0 AS source, 0 AS target LIMIT 0')"
    )
    with pytest.raises(QueryRefused, match="gds.graph.project.cypher"):
        check_text(cypher)
    native = nested.format(call="gds.graph.project('probe_n', 'Artifact', '*')")
    with probed.driver.session(database=probed.database, default_access_mode="READ") as s:
        with pytest.raises(QueryRefused, match="procedure gds.graph.project"):
            check_read_only(s, native, {}, probed.database, 10)
    assert _state(probed)["gds"] == []


# -- what Neo4j itself refuses -------------------------------------------------------------


def test_neo4j_refuses_file_urls_and_every_address(
    probed: Graph, settings, secret_file: str, web: str
) -> None:
    """Even the engine's trusted connection: LOAD CSV reads no file and fetches no URL."""
    if settings.external_neo4j:
        pytest.skip("the project's own server's settings")
    for url, why in (
        (secret_file, "allow_csv_import_from_file_urls"),
        ("file:///etc/hostname", "allow_csv_import_from_file_urls"),
        (web, "cypher_ip_blocklist"),
        (web.replace("127.0.0.1", "localhost"), "cypher_ip_blocklist"),
        (web.replace("http://", "ftp://"), "cypher_ip_blocklist"),
    ):
        with pytest.raises(ClientError) as error:
            probed.read(f"LOAD CSV FROM '{url}' AS row RETURN row")
        assert why in str(error.value.message) and SECRET not in str(error.value.message)
    assert _Hits.hits == []


def test_neo4j_loads_only_the_gds_procedures_the_engine_uses(probed: Graph, settings) -> None:
    if settings.external_neo4j:
        pytest.skip("the project's own server's settings")
    names = {
        r["name"]
        for show in ("PROCEDURES", "FUNCTIONS")
        for r in probed.read(f"SHOW {show} YIELD name WHERE name STARTS WITH 'gds.' RETURN name")
    }
    exact = {n for n in GDS_LOADED if not n.endswith("*")}
    prefixes = tuple(n[:-1] for n in GDS_LOADED if n.endswith("*"))
    assert exact <= names
    assert all(n in exact or n.startswith(prefixes) for n in names), names
    assert "gds.graph.project.cypher" not in names
    with pytest.raises(ClientError, match="no procedure"):
        probed.read("CALL gds.graph.project.cypher('x', 'RETURN 0 AS id', 'RETURN 0 AS s')")


# -- F9: the server's files ------------------------------------------------------------------


def test_the_home_and_the_neo4j_files_are_private(settings) -> None:
    if settings.external_neo4j:
        pytest.skip("the project's own server's files")
    assert stat.S_IMODE(settings.home.stat().st_mode) & 0o077 == 0
    seen = 0
    for root, dirs, files in os.walk(settings.neo4j_dir):
        for name in [*dirs, *files]:
            path = Path(root) / name
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
            seen += 1
    # The store, its transaction logs and Neo4j's logs are among them.
    names = {p.name for p in settings.neo4j_dir.rglob("*")}
    assert {"debug.log", "neo4j.conf", "password", "transactions", "databases"} <= names
    assert seen > 20


# -- through the API and the CLI: F1, F2, F3, F8 and the key ----------------------------------

KEY = "probe-key"
F1 = (
    "RETURN [x IN [1] WHERE EXISTS { CALL gds.version() YIELD gdsVersion AS `'` RETURN 1 AS "
    "one } AND EXISTS { CALL gds.graph.project.cypher('x', $nq, 'RETURN 0 AS source, 0 AS "
    "target LIMIT 0') YIELD graphName AS `'` RETURN 1 AS two }] AS l"
)


def _client(settings, **config: Any):
    from fastapi.testclient import TestClient

    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    config = {"api_keys": (KEY,), "allowed_hosts": ("testserver",), **config}
    return TestClient(create_app(settings, ApiConfig(**config), warm=False))


@pytest.fixture(scope="module")
def api(probed: Graph, settings) -> Iterator[Any]:
    # A short time limit, so the test of a query Neo4j never answers stays short.
    with _client(settings.with_(query_timeout_s=3.0)) as client:
        yield client


def _post(client, query: str, params: dict | None = None, key: str | None = KEY):
    headers = {"X-API-Key": key} if key else {}
    return client.post("/cypher", json={"query": query, "params": params or {}}, headers=headers)


def test_f1_through_the_api_is_refused_and_reads_nothing(
    api, probed: Graph, secret_file: str, web: str
) -> None:
    before = _state(probed)
    for url in (secret_file, "file:///etc/hostname", web):
        nq = f"LOAD CSV FROM '{url}' AS row RETURN date(row[0]) AS id"
        r = _post(api, F1, {"nq": nq})
        assert r.status_code == 403, r.text
        assert "gds.graph.project.cypher" in r.json()["message"] and SECRET not in r.text
    # The same with no key at all never reaches the guard.
    assert _post(api, F1, {"nq": "x"}, key=None).status_code == 401
    assert _state(probed) == before and _Hits.hits == []


def test_a_sample_of_probes_through_the_api_is_refused(api, probed: Graph) -> None:
    before = _state(probed)
    for target, wrapper in itertools.product(TARGETS, WRAPPERS):
        query = probe(target, wrapper, "gds.version_procedure", "'", "plain")
        r = _post(api, query, {"nq": "RETURN 0 AS id"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden", (query, r.text)
    assert _state(probed) == before


def test_adhoc_cypher_needs_a_key_saved_explorations_do_not(probed: Graph, settings) -> None:
    with _client(settings) as client:
        assert _post(client, "RETURN 1 AS one", key=None).status_code == 401
        assert _post(client, "RETURN 1 AS one", key="wrong").status_code == 401
        # Checked before the body: a bad body without a key is a 401 too.
        assert client.post("/cypher", json={"nope": 1}).status_code == 401
        assert _post(client, "RETURN 1 AS one").json()["rows"] == [{"one": 1}]
        assert client.post("/cypher/saved/top_by_kind").status_code == 200
    with _client(settings, api_keys=()) as keyless:
        r = _post(keyless, "RETURN 1 AS one", key=None)
        assert r.status_code == 403 and "UNFRAGILE_CYPHER_OPEN" in r.json()["message"]
        assert keyless.post("/cypher/saved/top_by_kind").status_code == 200
    with _client(settings, api_keys=(), cypher_open=True) as opened:
        assert _post(opened, "RETURN 1 AS one", key=None).json()["rows"] == [{"one": 1}]
        # Open is not unguarded.
        assert _post(opened, F1, {"nq": "RETURN 0 AS id"}, key=None).status_code == 403


def test_the_open_setting_comes_from_the_environment() -> None:
    from unfragile.api.config import ApiConfig

    assert ApiConfig.from_env({}).cypher_open is False
    assert ApiConfig.from_env({"UNFRAGILE_CYPHER_OPEN": "1"}).cypher_open is True
    assert ApiConfig.from_env({"UNFRAGILE_CYPHER_OPEN": "0"}).cypher_open is False


@pytest.mark.parametrize("depth", [600, 800, 1000])
def test_f2_deep_nesting_is_a_clear_400_before_neo4j(api, depth: int) -> None:
    graph_before = api.app.state.services.graph()
    r = _post(api, "RETURN " + "(" * depth + "1" + ")" * depth)
    assert r.status_code == 400 and r.json()["message"].startswith("query too complex"), r.text
    # Nothing went wrong with Neo4j: the shared connection is the same and answers.
    assert _post(api, "RETURN 1 AS one").json()["rows"] == [{"one": 1}]
    assert api.app.state.services.graph() is graph_before


def test_f2_long_operator_chains_are_refused_before_neo4j(api, cli) -> None:
    chain = "RETURN " + "+".join(["1"] * 10_000)  # 20 KB
    r = _post(api, chain)
    assert r.status_code == 422 and r.json()["field"] == "query"
    result = cli("cypher", "RETURN " + "+".join(["'a'"] * 300) + " AS x")
    assert result.returncode == 2 and "query too complex" in result.stderr
    result = cli("cypher", chain)
    assert result.returncode == 2 and "characters long" in result.stderr


def test_f2_a_query_neo4j_never_answers_is_that_querys_timeout(api, cli) -> None:
    """Serializing a value nested 100,000 deep overflows Neo4j's stack and it never answers
    that connection: the query gets a 400 timeout, the shared driver stays, Neo4j works.
    (5,000 deep, the first choice, overflows a cold JVM but not one whose serializer the JIT
    has compiled: then Neo4j answers and the row is dropped as too deep. 100,000 overflowed
    every time, cold or warm.)"""
    deep = "RETURN reduce(acc = [], x IN range(1, 100000) | [acc]) AS deep"
    graph_before = api.app.state.services.graph()
    r = _post(api, deep)
    assert r.status_code == 400 and "time limit" in r.json()["message"], r.text
    assert api.app.state.services.graph() is graph_before
    assert _post(api, "RETURN 1 AS one").json()["rows"] == [{"one": 1}]
    result = cli("cypher", deep, env={"UNFRAGILE_QUERY_TIMEOUT_S": "3"})
    assert result.returncode == 2 and "time limit" in result.stderr, result.stderr


def test_f3_a_huge_value_is_cut_by_the_byte_cap(probed: Graph) -> None:
    """169 MB of JSON in the issue: now no row at all, and `truncated`."""
    columns, rows, truncated = probed.run_read_only(
        "RETURN range(1, 20000000) AS r", {}, timeout_s=60, row_cap=1000
    )
    assert columns == ["r"] and rows == [] and truncated


def test_f3_a_row_nested_past_the_depth_limit_is_dropped(probed: Graph) -> None:
    """Neo4j answers a value nested 150 deep; the row is left out (marked truncated), and a
    row of 50 levels comes back whole."""
    deep = "RETURN reduce(acc = [], x IN range(1, $n) | [acc]) AS deep"
    _, rows, truncated = probed.run_read_only(deep, {"n": 150}, timeout_s=30, row_cap=10)
    assert rows == [] and truncated
    _, rows, truncated = probed.run_read_only(deep, {"n": 50}, timeout_s=30, row_cap=10)
    value, levels = rows[0]["deep"], 0
    while value:
        value, levels = value[0], levels + 1
    assert levels == 50 and not truncated


def test_f3_rows_stop_at_the_byte_cap(probed: Graph) -> None:
    query = "UNWIND range(1, 200) AS i RETURN i, reduce(s = '', x IN range(1, 100) | s + 'x') AS t"
    _, rows, truncated = probed.run_read_only(query, {}, timeout_s=30, row_cap=1000, byte_cap=5000)
    assert truncated and 10 < len(rows) < 200
    assert len(json.dumps(rows, separators=(",", ":"))) <= 5000
    _, rows, truncated = probed.run_read_only(query, {}, timeout_s=30, row_cap=1000)
    assert len(rows) == 200 and not truncated


def test_f8_errors_name_the_cypher_error_without_java_classes(api, probed: Graph) -> None:
    r = _post(api, "CALL db.index.fulltext.queryNodes('no_such_index', 'x') YIELD node RETURN node")
    body = r.json()
    assert r.status_code == 400 and body["message"].startswith("Cypher error ("), body
    assert "no_such_index" in body["message"]
    for java in ("java.", "org.neo4j", "Exception", "Caused by"):
        assert java not in body["message"], body
