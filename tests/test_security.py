"""Issue 11's API and input findings, in the review's own forms: Host check, security headers,
lone surrogates and partial writes (F4), 500s (F5), unbounded numbers (F6), what a 503 tells
(F8). The Cypher guard's probes live in test_readonly.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import artifact, event, write_jsonl
from unfragile.api.app import create_app
from unfragile.api.config import ApiConfig
from unfragile.api.limits import MAX_JSON_DEPTH, json_depth
from unfragile.api.security import HostAllowlist
from unfragile.engine import aggregate, event_log
from unfragile.engine.ingest import ingest, write_events
from unfragile.engine.records import EventRecord, normalise_query
from unfragile.engine.settings import Settings

KEY = "security-key"
LOCAL = "http://127.0.0.1:8000"
HTML = {"accept": "text/html"}
TARGET = "sec-target"


def _app(settings: Settings, **config: object):
    return create_app(settings, ApiConfig(api_keys=(KEY,), **config), warm=False)


def _error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "field", "index"}, body
    if field is not None:
        assert body["field"] == field, body
    assert "Traceback" not in response.text
    return body


def _post(client: TestClient, body: object) -> object:
    # json.dumps escapes a lone surrogate as \ud800: valid JSON, as a client would send it.
    return client.post("/events", content=json.dumps(body), headers={"X-API-Key": KEY})


def _count(graph, label: str) -> int:
    if label == "Evidence":  # per-session evidence lives in the event log (engine/aggregate.py)
        return len(aggregate.sessions(graph))
    return graph.read(f"MATCH (n:{label}) RETURN count(n) AS n")[0]["n"]


# -- F1: the Host header (DNS rebinding) --------------------------------------------------------


def test_a_foreign_host_is_refused_by_default():
    app = create_app(Settings(), ApiConfig(api_keys=(KEY,)), warm=False)
    for base in ("http://rebind.attacker.example", "http://testserver", "http://10.0.0.5:8000"):
        client = TestClient(app, base_url=base)
        for method, path in (("GET", "/openapi.json"), ("GET", "/"), ("POST", "/cypher")):
            r = client.request(method, path, json={"query": "RETURN 1"}, headers=HTML)
            body = _error(r, 421, "Host")
            assert body["error"] == "misdirected" and "UNFRAGILE_ALLOWED_HOSTS" in body["message"]
            assert r.headers["x-frame-options"] == "DENY"
    # A page rebinding its own name still sends that name, whatever address it resolves to.
    client = TestClient(app, base_url=LOCAL)
    _error(client.get("/openapi.json", headers={"Host": "attacker.example:8000"}), 421, "Host")
    _error(client.get("/openapi.json", headers={"Host": "localhost.attacker.example"}), 421)
    for host in ("localhost", "localhost:8000", "127.0.0.1:1", "[::1]", "[::1]:8000", "LocalHost"):
        r = client.get("/openapi.json", headers={"Host": host})
        assert r.status_code == 200, (host, r.text)


def test_allowed_hosts_are_configured_not_assumed():
    hosts = HostAllowlist(("api.example.org", "box.lan:8443", "[fe80::1]"))
    assert hosts.allows("api.example.org") and hosts.allows("API.example.org:9000")
    assert hosts.allows("box.lan:8443") and not hosts.allows("box.lan:8000")
    assert not hosts.allows("box.lan") and hosts.allows("[fe80::1]:8000")
    assert not hosts.allows("other.example") and not hosts.allows(None)
    assert not hosts.allows("api.example.org:x") and not hosts.allows("a b")
    assert HostAllowlist(("*",)).allows("anything.example")
    config = ApiConfig.from_env({"UNFRAGILE_ALLOWED_HOSTS": "api.example.org, box.lan:8443"})
    assert config.allowed_hosts == ("api.example.org", "box.lan:8443")
    assert ApiConfig.from_env({}).allowed_hosts == ()
    with pytest.raises(ValueError, match="UNFRAGILE_ALLOWED_HOSTS"):
        ApiConfig.from_env({"UNFRAGILE_ALLOWED_HOSTS": "http://api.example.org/"})
    app = create_app(Settings(), ApiConfig(allowed_hosts=config.allowed_hosts), warm=False)
    assert TestClient(app, base_url="http://box.lan:8443").get("/openapi.json").status_code == 200
    assert TestClient(app, base_url="http://box.lan:80").get("/openapi.json").status_code == 421


# -- F1: security headers ---------------------------------------------------------------------


def test_pages_and_answers_carry_the_security_headers():
    client = TestClient(create_app(Settings(), ApiConfig(), warm=False), base_url=LOCAL)
    answers = {
        "page": client.get("/", headers=HTML),
        "stylesheet": client.get("/static/unfragile.css"),
        "json": client.get("/openapi.json"),
        "404": client.get("/no/such/route"),
        "413": client.post("/events", content=b"x" * (6 * 1024 * 1024)),
    }
    assert answers["page"].status_code == 200 and "<form" in answers["page"].text
    for name, r in answers.items():
        assert r.headers["x-content-type-options"] == "nosniff", name
        assert r.headers["x-frame-options"] == "DENY", name
        assert r.headers["referrer-policy"] == "no-referrer", name
        policy = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, name
        # Pages run no script at all.
        assert "script-src" not in policy, name
    assert answers["413"].status_code == 413


def test_docs_pages_allow_exactly_their_own_inline_script():
    client = TestClient(create_app(Settings(), ApiConfig(), warm=False), base_url=LOCAL)
    for path in ("/docs", "/redoc"):
        r = client.get(path)
        assert r.status_code == 200 and "/openapi.json" in r.text
        policy = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and r.headers["x-frame-options"] == "DENY"
        script_src = re.search(r"script-src ([^;]+)", policy).group(1).split()
        assert "'unsafe-inline'" not in script_src
        for inline in re.findall(r"<script>(.*?)</script>", r.text, re.S):
            digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in script_src
        # Swagger UI and ReDoc come from this server (/docs works offline): 'self', no CDN.
        assert not [s for s in script_src if "://" in s]
        for src in re.findall(r'<script src="([^"]+)"', r.text):
            assert src.startswith("/docs/assets/") and "'self'" in script_src
            assert client.get(src).status_code == 200
    assert "/docs" not in client.get("/openapi.json").json()["paths"]


# -- F5: nesting and odd digits -----------------------------------------------------------------


def test_json_nested_1000_levels_is_422_not_500():
    client = TestClient(_app(Settings()), base_url=LOCAL)
    deep = b"[" * 1000 + b"]" * 1000
    for content_type in ("application/json", "text/plain", None):
        headers = {"X-API-Key": KEY, **({"content-type": content_type} if content_type else {})}
        body = _error(client.post("/events", content=deep, headers=headers), 422)
        assert f"more than {MAX_JSON_DEPTH} levels" in body["message"]
    params = b'{"query": "RETURN $a", "params": {"a": ' + b'{"b": ' * 1000 + b"1" + b"}" * 1002
    _error(client.post("/cypher", content=params, headers={"X-API-Key": KEY}), 422)
    # Brackets inside strings do not count, escaped quotes do not end a string.
    assert json_depth(b'[{"a": "[[[[[[\\"[[[[", "b": "\\\\"}, [1]]') == 2
    assert json_depth(json.dumps({"q": "[" * 5000}).encode()) == 1


@pytest.mark.parametrize(
    "path", ["/?q=images&k=%C2%B2", "/leaderboard?top=%C2%B2", "/?k=1" + "0" * 5000]
)
def test_superscript_digits_on_the_pages_are_a_400(path):
    client = TestClient(create_app(Settings(), ApiConfig(), warm=False), base_url=LOCAL)
    r = client.get(path, headers=HTML)
    assert r.status_code == 400, r.text[-500:]
    assert "give a whole number from 1 to" in r.text


# -- F8: what a 503 tells a caller --------------------------------------------------------------


def test_503_bodies_and_healthz_name_neither_the_home_nor_the_bolt_port(tmp_path: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        external = Settings().with_(
            home=tmp_path / "ext", neo4j_uri=f"bolt://127.0.0.1:{port}", neo4j_password="x"
        )
        never = Settings().with_(home=tmp_path / "never-started-home", neo4j_uri=None)
        for settings in (external, never):
            client = TestClient(_app(settings), base_url=LOCAL)
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["neo4j"] is False
            assert "Neo4j" in health.json()["reason"]
            answers = [
                health,
                client.get("/search", params={"q": "images"}),
                client.get("/leaderboard"),
                _post(client, event("q", "a", "s")),
            ]
            for r in answers[1:]:
                assert r.status_code == 503, r.text
                assert "Neo4j" in r.json()["message"] and r.headers["retry-after"]
            for r in answers:
                assert str(port) not in r.text and "never-started-home" not in r.text, r.text
                assert str(tmp_path) not in r.text and "UNFRAGILE_HOME" not in r.text


# -- with Neo4j: F4 partial writes, F5 times, F6 numbers ----------------------------------------


@pytest.fixture
def target(graph, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "t.jsonl", [artifact(TARGET)]), show_progress=False)
    return graph


def _batch(bad_at: int | None = 2400, n: int = 2500) -> list[dict]:
    events = [
        event(f"query {i % 50}", TARGET, f"s{i}", time="2026-10-01T12:00:00Z") for i in range(n)
    ]
    if bad_at is not None:
        events[bad_at]["query"] = "broken \ud800 query"
    return events


def test_lone_surrogate_in_a_2500_event_batch_is_422_and_writes_nothing(target, settings):
    client = TestClient(_app(settings), base_url=LOCAL)
    body = _error(_post(client, _batch()), 422, "query")
    assert body["index"] == 2400 and "lone surrogate" in body["message"]
    assert _count(target, "Evidence") == 0 and _count(target, "Query") == 0
    # Every string field of an event, and an unknown field's name, the same way.
    for name in ("session", "artifact", "id", "time", "capability"):
        bad = [*_batch(None, 3)]
        bad[1][name] = "x\udfffy"
        assert _error(_post(client, bad), 422, name)["index"] == 1
    bad = _batch(None, 2)
    bad[1]["\ud800"] = 1
    assert _error(_post(client, bad), 422)["index"] == 1
    assert _count(target, "Evidence") == 0
    # The same batch without the bad text goes in whole, edges and all.
    r = _post(client, _batch(None))
    assert r.status_code == 200, r.text
    assert _count(target, "Evidence") == 2500
    edges = target.read("MATCH (:Query)-[m:MATCHED]->() RETURN sum(m.count) AS n")[0]["n"]
    assert edges == 2500


def _record(i: int, query: str) -> EventRecord:
    return EventRecord(
        id=f"ev-{i}",
        query=query,
        query_id=normalise_query(query),
        event="match",
        session=f"s{i}",
        time="2026-10-01T12:00:00.000000Z",
        artifact=TARGET,
    )


def _orphans(graph) -> int:
    """Logged (query, target) pairs whose edge is missing or does not count them."""
    logged: dict[str, int] = {}
    for r in aggregate.sessions(graph):
        logged[r["query"]] = logged.get(r["query"], 0) + r["events"]
    edges = {
        r["q"]: r["n"]
        for r in graph.read(
            "MATCH (q:Query)-[m:MATCHED]->(:Artifact {id: $t}) RETURN q.id AS q, m.count AS n",
            t=TARGET,
        )
    }
    return sum(1 for q, n in logged.items() if edges.get(q) != n)


def _pending(graph) -> list:
    log = event_log.for_graph(graph)
    return log.pending() if log is not None else []


def test_a_failure_after_validation_leaves_no_evidence_without_edges(target):
    # Records that skipped validation: the lone surrogate at 2,400 cannot be written.
    records = [_record(i, f"query {i % 50}") for i in range(2500)]
    records[2400] = _record(2400, "broken \ud800 query")
    # One transaction (the API's batches, and any ingest of up to 10,000 events): nothing.
    with pytest.raises(UnicodeEncodeError):
        write_events(target, iter(records), len(records), 1000, False, one_transaction=True)
    assert _count(target, "Evidence") == 0 and _count(target, "Query") == 0
    # Batches: the log's part is written whole or not at all, so nothing either, and no
    # journal is left behind.
    with pytest.raises(UnicodeEncodeError):
        write_events(target, iter(records), len(records), 1000, False, one_transaction=False)
    assert _count(target, "Evidence") == 0 and _orphans(target) == 0
    assert _pending(target) == []


def test_a_crashed_batched_ingest_is_completed_by_the_next_one(target, tmp_path):
    # What a loader killed after its append and before its edges leaves: a logged part,
    # not applied, no edges.
    log = event_log.for_graph(target, create=True)
    log.append(iter([_record(i, f"query {i % 5}") for i in range(40)]))
    assert _orphans(target) == 5 and len(_pending(target)) == 1
    # Any next ingest, even of something else, first completes the journal.
    ingest(
        target,
        write_jsonl(tmp_path / "other.jsonl", [event("other", TARGET, "z")]),
        show_progress=False,
    )
    assert _orphans(target) == 0 and _pending(target) == []
    assert target.read("MATCH (q:Query {id: 'query 1'}) RETURN q.count AS n")[0]["n"] == 8


@pytest.mark.parametrize(
    "time", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"], ids=["year-0", "year-10000"]
)
def test_event_times_at_the_edge_of_the_date_range_are_422(target, settings, time):
    client = TestClient(_app(settings), base_url=LOCAL)
    body = _error(
        _post(client, [event("q", TARGET, "s1"), event("q", TARGET, "s2", time=time)]), 422, "time"
    )
    assert body["index"] == 1 and "years 1 to 9999" in body["message"]
    assert _count(target, "Evidence") == 0


def test_dwell_seconds_are_bounded_and_numbers_finite(target, settings):
    client = TestClient(_app(settings), base_url=LOCAL)
    dwell = event("q", TARGET, "s1", "dwell", seconds=1e308)
    body = _error(_post(client, [dwell, dwell]), 422, "seconds")
    assert "at most 86,400" in body["message"]
    for raw in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        text = json.dumps(event("q", TARGET, "s1", "dwell", seconds=0))
        text = text.replace('"seconds": 0', '"seconds": ' + raw.decode())
        r = client.post("/events", content=text, headers={"X-API-Key": KEY})
        assert "seconds" == _error(r, 422)["field"], raw
    assert _count(target, "Evidence") == 0
    ok = _post(client, [event("q", TARGET, "s1", "dwell", seconds=86_400)])
    assert ok.status_code == 200, ok.text
    assert target.read("MATCH ()-[m:MATCHED]->() RETURN m.dwell AS d")[0]["d"] == 86_400


def test_cli_param_too_large_for_64_bits_is_exit_2(cli):
    result = cli("cypher", "RETURN $x AS x", "--param", "x=99999999999999999999999")
    assert result.returncode == 2, result.stderr
    assert "--param x" in result.stderr and "64 bits" in result.stderr
    assert "Traceback" not in result.stderr
    for value in ("[" * 1000 + "]" * 1000, '"\\ud800"', "1" * 5000):
        result = cli("cypher", "RETURN $x AS x", "--param", f"x={value}")
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_a_lone_surrogate_in_cypher_text_or_params_is_422_not_500(settings):
    client = TestClient(_app(settings), base_url=LOCAL)
    headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
    cases = (
        ({"query": "RETURN $x AS x", "params": {"x": "a\ud800b"}}, "params.x"),
        ({"query": "RETURN $x AS x", "params": {"x": ["ok", {"y": "\udfff"}]}}, "params.x.1.y"),
        ({"query": "RETURN $x AS x", "params": {"\ud800": 1}}, "params"),
    )
    for body, field in cases:
        r = client.post("/cypher", content=json.dumps(body), headers=headers)
        assert "lone surrogate" in _error(r, 422, field)["message"]
    # In the query text itself the request model already refuses it (not valid text).
    r = client.post("/cypher", content=json.dumps({"query": "RETURN 'a\ud800'"}), headers=headers)
    _error(r, 422, "query")
    assert client.post("/cypher", json={"query": "RETURN 1 AS one"}, headers=headers).json()[
        "rows"
    ] == [{"one": 1}]
