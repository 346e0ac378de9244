"""`unfragile cypher` and `stats`: read-only, parameters, JSON output, clear errors."""

from __future__ import annotations

import json

from tests.helpers import artifact, write_jsonl
from unfragile.engine.ingest import ingest
from unfragile.graph import store


def test_stats_json_has_every_count(graph, cli, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("x", 4)]), show_progress=False)
    counts = json.loads(cli("stats", "--json", check=True).stdout)
    assert counts == {
        "artifacts": 1,
        "capabilities": 4,
        "queries": 0,
        "match_edges": 0,
        "images": 0,
    }


def test_cypher_json_rows_with_parameters(graph, cli, tmp_path):
    ingest(
        graph,
        write_jsonl(tmp_path / "a.jsonl", [artifact("x", 2), artifact("y", 5)]),
        show_progress=False,
    )
    result = cli(
        "cypher",
        "MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c) WHERE a.id = $id "
        "RETURN a.id AS id, count(c) AS caps",
        "--param",
        "id=y",
        "--json",
        check=True,
    )
    assert json.loads(result.stdout) == [{"id": "y", "caps": 5}]
    numeric = cli("cypher", "RETURN $n + 1 AS m", "--param", "n=41", "--json", check=True)
    assert json.loads(numeric.stdout) == [{"m": 42}]


def test_cypher_refuses_writes_and_changes_nothing(graph, cli, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("x")]), show_progress=False)
    for query in (
        "CREATE (n:Artifact {id: 'evil'})",
        "MATCH (n) DETACH DELETE n",
        "MATCH (a:Artifact) SET a.name = 'pwned'",
        "match (a:Artifact) /* hide */ set a.name = 'x'",
        "CALL { CREATE (:X) } RETURN 1",
    ):
        result = cli("cypher", query)
        assert result.returncode == 2, query
        assert "read-only" in result.stderr, (query, result.stderr)
    assert store.stats(graph)["artifacts"] == 1
    assert graph.read("MATCH (a:Artifact {id: 'x'}) RETURN a.name AS n")[0]["n"] == "X"


def test_cypher_syntax_error_is_one_clear_line(graph, cli):
    result = cli("cypher", "MATCH (a:Artifact RETURN a")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Cypher error (SyntaxError)")
    assert "Traceback" not in result.stderr


def test_cypher_row_cap(graph, cli):
    result = cli("cypher", "UNWIND range(1, 5000) AS i RETURN i", "--json", check=True)
    assert len(json.loads(result.stdout)) == 1000
    assert "row cap" in result.stderr


def test_cypher_from_file_and_bad_param(graph, cli, tmp_path):
    query = tmp_path / "q.cypher"
    query.write_text("// a saved query\nRETURN $word AS word\n")
    result = cli("cypher", "--file", str(query), "--param", "word=hello", "--json", check=True)
    assert json.loads(result.stdout) == [{"word": "hello"}]
    bad = cli("cypher", "RETURN 1", "--param", "no-equals-sign")
    assert bad.returncode == 2 and "name=value" in bad.stderr
