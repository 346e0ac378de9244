"""The project's own Neo4j: password, loopback-only Bolt, GDS, two homes side by side, reset."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest

from tests.helpers import artifact, write_jsonl
from unfragile.engine.db import local_server, open_graph
from unfragile.engine.ingest import ingest
from unfragile.graph import store

OWN_SERVER = "uses the project's own server, not an external one"


def _listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                # /proc prints each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, raw))
    return found


@pytest.fixture
def own_server(settings):
    if settings.external_neo4j:
        pytest.skip(OWN_SERVER)
    return local_server(settings)


def test_password_file_is_private(own_server):
    mode = stat.S_IMODE(own_server.password_file.stat().st_mode)
    assert mode == 0o600
    assert len(own_server.password()) >= 24


def test_bolt_listens_on_loopback_only(own_server):
    info = own_server.info()
    addresses = _listening_addresses(info.bolt_port)
    assert addresses, "nothing listens on the Bolt port"
    assert addresses <= {"127.0.0.1", "::ffff:127.0.0.1"}, addresses


def test_authentication_is_required(own_server):
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError

    info = own_server.info()
    with GraphDatabase.driver(info.uri, auth=("neo4j", "wrong-password")) as driver:
        with pytest.raises(AuthError):
            driver.verify_connectivity()


def test_db_start_is_idempotent_and_status_says_where(own_server, cli):
    result = cli("db", "start", check=True)
    assert "Already running" in result.stdout
    status = json.loads(cli("db", "status", "--json", check=True).stdout)
    assert status["mode"] == "local" and status["running"] and status["reachable"]
    assert status["uri"] == own_server.info().uri
    assert status["version"]["version"].startswith("5.")
    # Graph Data Science resolves from Maven Central for 5.26 and loads into the local server.
    assert status["gds"] and status["gds"].startswith("2.")
    browser = own_server.info().browser_url
    if browser:
        # `make test` starts the suite's server with --browser: status gives its address.
        assert status["browser"] == browser and browser.startswith("http://127.0.0.1:")
    else:
        # Started without --browser: no Neo4j Browser, and status says how to have one.
        assert status["browser"] is None and "--browser" in status["browser_problem"]


def test_gds_runs_an_algorithm(own_server, graph):
    graph.write(
        lambda tx: tx.run(
            "UNWIND range(1, 20) AS i MERGE (a:Artifact {id: 'a' + i}) "
            "MERGE (b:Artifact {id: 'a' + (i % 5)}) MERGE (a)-[:INTEGRATES_WITH]->(b)"
        ).consume()
    )
    rows = graph.read(
        "CALL gds.graph.project('t', 'Artifact', 'INTEGRATES_WITH') "
        "YIELD nodeCount RETURN nodeCount"
    )
    try:
        assert rows[0]["nodeCount"] == 21  # a1..a20 and a0
        top = graph.read(
            "CALL gds.pageRank.stream('t') YIELD nodeId, score "
            "RETURN gds.util.asNode(nodeId).id AS id, score "
            "ORDER BY score DESC LIMIT 1"
        )
        assert top[0]["id"] in {"a0", "a1", "a2", "a3", "a4"}
    finally:
        graph.read("CALL gds.graph.drop('t') YIELD graphName RETURN graphName")


def test_two_homes_side_by_side(settings, own_server, second_home, tmp_path):
    """Two homes, two servers, two graphs. (Stopping and restarting a server with its data:
    tests/test_api_faults.py, on the same second home.)"""
    other, second = second_home
    if second.info() is None:
        second.start(timeout_s=other.neo4j_start_timeout_s)
    assert second.info().bolt_port != own_server.info().bolt_port
    assert second.info().uri != own_server.info().uri
    with open_graph(other, apply_schema=True) as g:
        store.delete_everything(g)
        ingest(g, write_jsonl(tmp_path / "a.jsonl", [artifact("only-here")]), show_progress=False)
        assert store.stats(g)["artifacts"] == 1
    # The first home never saw that artifact.
    with open_graph(settings) as g:
        assert g.read("MATCH (a:Artifact {id: 'only-here'}) RETURN a") == []


def test_commands_say_clearly_when_neo4j_is_down(settings, tmp_path, cli):
    import os
    import subprocess
    import sys

    env = dict(os.environ, UNFRAGILE_HOME=str(tmp_path / "never-started"))
    env.pop("NEO4J_URI", None)
    result = subprocess.run(
        [sys.executable, "-m", "unfragile.api.cli", "stats"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert result.returncode == 3
    assert "Neo4j is not running" in result.stderr and "unfragile db start" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_reset_needs_yes_and_empties(graph, cli, tmp_path, settings):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("x")]), show_progress=False)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    (settings.index_dir / "marker").write_text("x")
    refused = cli("db", "reset")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert store.stats(graph)["artifacts"] == 1
    cli("db", "reset", "--yes", check=True)
    assert store.stats(graph) == {
        "artifacts": 0,
        "capabilities": 0,
        "queries": 0,
        "match_edges": 0,
        "images": 0,
    }
    assert not settings.index_dir.exists()


def test_schema_has_constraints_and_fulltext_indexes(graph):
    names = {r["name"] for r in graph.read("SHOW INDEXES YIELD name RETURN name")}
    assert {
        "artifact_id",
        "capability_id",
        "query_id",
        "evidence_key",
        "capability_text",
        "artifact_text",
    } <= names
    types = {
        r["name"]: r["type"] for r in graph.read("SHOW INDEXES YIELD name, type RETURN name, type")
    }
    assert types["capability_text"] == "FULLTEXT"
