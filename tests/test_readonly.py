"""The read-only guard on the real Neo4j: hostile Cypher is refused before it runs, reads run."""

from __future__ import annotations

import pytest

from tests.helpers import artifact, event, write_jsonl
from unfragile.graph import store
from unfragile.graph.connection import Graph
from unfragile.graph.cypher_scan import scan
from unfragile.graph.errors import QueryError, QueryRefused
from unfragile.graph.readonly import _refusals, check_text

# Each one compiles in Neo4j (or is an admin command Neo4j rejects as such), so being
# refused says the guard saw it, not that the text was malformed.
HOSTILE = [
    "CREATE (n:Artifact {id: 'evil'})",
    "create (n:Artifact {id: 'evil'}) RETURN n",
    "CrEaTe (:X)",
    "MERGE (n:Artifact {id: 'evil'})",
    "merge (a:Artifact {id: 'x'}) ON MATCH SET a.name = 'pwned'",
    "MATCH (n) DELETE n",
    "MATCH (n) DETACH DELETE n",
    "match (n) detach delete n",
    "MATCH (a:Artifact) SET a.name = 'pwned'",
    "MATCH (a:Artifact) SET a += {name: 'pwned'}",
    "MATCH (a:Artifact) SET a:Pwned",
    "MATCH (a:Artifact) WITH a LIMIT 1 SET a:$('Dynamic')",
    "MATCH (a:Artifact) REMOVE a.name",
    "MATCH (a:Artifact) remove a:Artifact",
    "MATCH (a:Artifact) FOREACH (x IN [1] | SET a.name = 'pwned')",
    "FOREACH (x IN range(1, 3) | CREATE (:X {i: x}))",
    # hidden behind comments
    "// just a read\nCREATE (:X)",
    "MATCH (a:Artifact) /* read only, promise */ SET a.name = 'x'",
    "/* MATCH (n) RETURN n */ MERGE (:X {id: 1})",
    "MATCH (a:Artifact) // harmless\nDETACH DELETE a",
    # next to string-looking text
    "MATCH (a:Artifact) WHERE a.name = '// RETURN 1' SET a.name = 'x'",
    'MATCH (a:Artifact) WHERE a.name <> "\' RETURN 1 //" DELETE a',
    "RETURN 'MATCH (n) RETURN n' AS q UNION CREATE (x:X) RETURN 'x' AS q",
    # inside CALL subqueries, OPTIONAL CALL and UNION branches
    "CALL { CREATE (:X) } RETURN 1",
    "CALL () { MATCH (a:Artifact) SET a.name = 'x' } RETURN 1",
    "MATCH (a:Artifact) CALL (a) { DETACH DELETE a } RETURN count(*)",
    "MATCH (a:Artifact) OPTIONAL CALL (a) { CREATE (x:X) RETURN x } RETURN a",
    "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10 ROWS RETURN 1",
    "MATCH (a:Artifact) RETURN a.id AS id UNION MATCH (c:Capability) DETACH DELETE c "
    "RETURN c.id AS id",
    "MATCH (a:Artifact) RETURN a.id AS id UNION ALL CALL { MERGE (x:X) RETURN x } RETURN 'x' AS id",
    # files
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "load csv with headers from 'file:///etc/hostname' AS row RETURN row",
    "CALL { LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line } RETURN line",
    "MATCH (a:Artifact) RETURN a.id AS x UNION LOAD CSV FROM 'https://example.com/x.csv' "
    "AS x RETURN x[0] AS x",
    # procedures and functions that write or administer
    "CALL dbms.components()",
    "cAlL dbms.components() YIELD name RETURN name",
    "CALL db.createLabel('Pwned')",
    "CALL db.createProperty('pwned')",
    "CALL db.create.setNodeVectorProperty(null, 'v', [1.0])",
    "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()",
    "CALL db.stats.clear('QUERIES')",
    "CALL db.clearQueryCaches()",
    "CALL db.resampleOutdatedIndexes()",
    "CALL `db`.`createLabel`('Pwned')",
    "CALL gds.graph.project('stolen', 'Artifact', '*')",
    "CALL gds.graph.list()",
    "CALL { CALL gds.graph.project('stolen', 'Artifact', '*') YIELD graphName "
    "RETURN graphName } RETURN graphName",
    "MATCH (a:Artifact) RETURN gds.graph.project('stolen2', a, null)",
    "MATCH (a:Artifact) WITH gds.graph.project('stolen3', a, null) AS g RETURN g.graphName",
    "RETURN gds.graph.exists('g')",
    # schema and administration
    "CREATE INDEX pwned FOR (n:Artifact) ON (n.name)",
    "create fulltext index pwned2 for (n:Artifact) on each [n.name]",
    "CREATE CONSTRAINT pwned3 FOR (n:X) REQUIRE n.id IS UNIQUE",
    "DROP INDEX artifact_kind",
    "DROP CONSTRAINT artifact_id",
    "SHOW USERS",
    "show users",
    "SHOW INDEXES",
    "SHOW CONSTRAINTS",
    "SHOW TRANSACTIONS",
    "SHOW SETTINGS",
    "SHOW PROCEDURES",
    "SHOW DATABASES",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "CREATE USER mallory SET PASSWORD 'long-enough-password'",
    "ALTER USER neo4j SET PASSWORD 'long-enough-password'",
    "ALTER DATABASE neo4j SET ACCESS READ ONLY",
    "GRANT ROLE admin TO mallory",
    "DENY READ {*} ON GRAPH * TO reader",
    "START DATABASE neo4j",
    "STOP DATABASE neo4j",
    "CREATE DATABASE other",
    "DROP DATABASE neo4j",
    # issue 11: procedure calls inside expressions, behind allowlisted openers and quotes
    "RETURN [x IN [1] WHERE EXISTS { CALL gds.version() YIELD gdsVersion AS `'` RETURN 1 "
    "AS one } AND EXISTS { CALL gds.graph.project.cypher('x', 'RETURN 0 AS id', 'RETURN 0 "
    "AS source, 0 AS target LIMIT 0') YIELD graphName AS `'` RETURN 1 AS two }] AS l",
    "RETURN [x IN [1] WHERE EXISTS { CALL db.labels() YIELD label AS `'` RETURN 1 AS one } "
    "AND EXISTS { CALL gds.graph.project('pwned', 'Artifact', '*') YIELD graphName AS `'` "
    "RETURN 1 AS two }] AS l",
    "RETURN CASE WHEN EXISTS { CALL db.stats.clear('QUERIES') YIELD section RETURN 1 } "
    "THEN 1 END AS c",
    "RETURN COUNT { CALL gds.version() YIELD gdsVersion RETURN 1 } AS c",
    "CALL gds.version",
    "CALL db . createLabel('Pwned')",
    "call `gds`.`graph`.`project`('stolen', 'Artifact', '*')",
    'RETURN 1 AS `"` UNION CALL /* x */ dbms.components() YIELD name RETURN name AS `"`',
    # other databases
    "USE system SHOW USERS",
    "USE system MATCH (n) RETURN n",
    "USE other MATCH (n) RETURN n",
    "CALL { USE system MATCH (n) RETURN n } RETURN n",
]

READS = [
    ("MATCH (a:Artifact) RETURN count(a) AS n", {}),
    ("MATCH (a:Artifact) WHERE a.description CONTAINS 'create' RETURN a.id AS create", {}),
    ("RETURN 'CREATE (n) SET n.x = 1 DETACH DELETE n LOAD CSV FROM x' AS text", {}),
    ("RETURN \"CALL dbms.components() gds.graph.project('g', a)\" AS text", {}),
    ("RETURN toUpper('call gds.graph.project(x)') AS text", {}),
    ("// CREATE (n)\nMATCH (a:Artifact) /* MERGE (m) */ RETURN a.id AS id", {}),
    ("RETURN {create: 1, merge: 2, delete: 3, set: 4, remove: 5} AS words", {}),
    ("MATCH (a:Artifact) RETURN a.id AS `drop`, a.name AS `set`", {}),
    ("MATCH (a:Artifact) WHERE a.id = $id RETURN a.name AS name", {"id": "CREATE (n)"}),
    ("MATCH (a:Artifact) RETURN a.id AS id UNION MATCH (c:Capability) RETURN c.id AS id", {}),
    ("CALL () { MATCH (a:Artifact) RETURN count(a) AS n } RETURN n", {}),
    ("CALL db.labels() YIELD label RETURN label", {}),
    ("CALL db.relationshipTypes()", {}),
    ("CALL db.schema.visualization()", {}),
    (
        "CALL db.index.fulltext.queryNodes('capability_text', 'thing') YIELD node "
        "RETURN node.id AS id",
        {},
    ),
    ("RETURN gds.similarity.cosine([1.0, 0.0], [1.0, 0.0]) AS cosine, gds.version() AS v", {}),
    (
        "RETURN vector.similarity.cosine([1.0, 0.0], [1.0, 0.0]) AS cosine, "
        "date.truncate('month', date('2024-05-17')) AS month",
        {},
    ),
    ("EXPLAIN MATCH (n) RETURN n", {}),
    (
        "MATCH p = SHORTEST 1 (a:Artifact)-[*1..3]-(b:Artifact) WHERE a <> b "
        "RETURN length(p) AS hops LIMIT 1",
        {},
    ),
]


def _state(graph: Graph) -> dict:
    """Everything a refused query could have touched: data, schema and the GDS catalog."""
    state = graph.read("""
        CALL () { MATCH (n) RETURN count(n) AS nodes, sum(size(keys(n))) AS node_props,
                  sum(size(labels(n))) AS labels }
        CALL () { MATCH ()-[r]->() RETURN count(r) AS rels, sum(size(keys(r))) AS rel_props }
        RETURN nodes, node_props, labels, rels, rel_props""")[0]
    state["names"] = graph.read("MATCH (a:Artifact) RETURN collect(a.name) AS n")[0]["n"]
    state["indexes"] = sorted(r["name"] for r in graph.read("SHOW INDEXES YIELD name"))
    state["constraints"] = sorted(r["name"] for r in graph.read("SHOW CONSTRAINTS YIELD name"))
    state["label_names"] = sorted(r["label"] for r in graph.read("CALL db.labels()"))
    state["gds_graphs"] = _gds_graphs(graph)
    return state


def _gds_graphs(graph: Graph) -> list[str] | None:
    try:
        return sorted(r["graphName"] for r in graph.read("CALL gds.graph.list() YIELD graphName"))
    except Exception:  # no GDS plugin on this server
        return None


@pytest.fixture(scope="module")
def loaded(graph_session: Graph, tmp_path_factory: pytest.TempPathFactory) -> Graph:
    """A small graph with artifacts, capabilities and match evidence, loaded once."""
    from unfragile.engine.ingest import ingest

    store.delete_everything(graph_session)
    folder = tmp_path_factory.mktemp("readonly")
    write_jsonl(folder / "artifacts.jsonl", [artifact("alpha"), artifact("beta", 2)])
    write_jsonl(
        folder / "events.jsonl",
        [event("do a thing", "alpha", "s1", "click"), event("do a thing", "beta", "s2")],
    )
    ingest(graph_session, folder, show_progress=False)
    return graph_session


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_query_is_refused_and_changes_nothing(loaded: Graph, query: str) -> None:
    before = _state(loaded)
    with pytest.raises(QueryRefused) as refused:
        loaded.run_read_only(query, {}, timeout_s=10, row_cap=100)
    message = str(refused.value)
    assert message.startswith("refused") and "read-only" in message
    assert refused.value.refused
    assert _state(loaded) == before


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("CREATE (:X)", "Create"),
        ("MATCH (a) DETACH DELETE a", "DetachDelete"),
        ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "LOAD CSV"),
        ("CALL dbms.components()", "procedure dbms.components"),
        ("MATCH (a:Artifact) RETURN gds.graph.project('g', a, null)", "function gds.graph.project"),
        ("DROP INDEX artifact_kind", "DropIndex"),
        ("SHOW USERS", "AdministrationCommand on database 'system'"),
        ("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS RETURN 1", "TransactionForeach"),
    ],
)
def test_the_message_names_what_was_refused(loaded: Graph, query: str, names: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        loaded.run_read_only(query, {}, timeout_s=10, row_cap=100)
    assert names in str(refused.value)
    assert names in refused.value.refused


@pytest.mark.parametrize(("query", "params"), READS)
def test_legitimate_reads_run(loaded: Graph, query: str, params: dict) -> None:
    columns, rows, _ = loaded.run_read_only(query, params, timeout_s=10, row_cap=100)
    assert columns or query.startswith("EXPLAIN")


def test_reads_return_their_rows(loaded: Graph) -> None:
    columns, rows, _ = loaded.run_read_only(
        "MATCH (a:Artifact) WHERE a.description IS NULL OR a.id <> 'create' "
        "RETURN a.id AS create ORDER BY create",
        {},
        timeout_s=10,
        row_cap=100,
    )
    assert columns == ["create"] and rows == [{"create": "alpha"}, {"create": "beta"}]
    _, rows, _ = loaded.run_read_only(
        "CALL db.index.fulltext.queryNodes('capability_text', $words) YIELD node "
        "RETURN DISTINCT node.artifact AS artifact ORDER BY artifact",
        {"words": "thing"},
        timeout_s=10,
        row_cap=100,
    )
    assert rows == [{"artifact": "alpha"}, {"artifact": "beta"}]


def test_syntax_errors_are_query_errors_with_the_users_positions(loaded: Graph) -> None:
    with pytest.raises(QueryError) as error:
        loaded.run_read_only("MATCH (a:Artifact)\nRETURN b", {}, timeout_s=10, row_cap=10)
    assert not isinstance(error.value, QueryRefused)
    assert str(error.value).startswith("Cypher error (SyntaxError)")
    assert "line 2, column 8" in str(error.value)


@pytest.mark.parametrize(
    "query",
    [
        "PROFILE MATCH (a:Artifact) RETURN a.id",
        "// why slow?\nprofile MATCH (a:Artifact) RETURN count(a)",
    ],
)
def test_profile_gets_a_clear_error(loaded: Graph, query: str) -> None:
    with pytest.raises(QueryError, match="PROFILE is not available here") as error:
        loaded.run_read_only(query, {}, timeout_s=10, row_cap=10)
    assert not isinstance(error.value, QueryRefused)


# The F1 plan as Neo4j 5.26 printed it (before gds.graph.project.cypher was unloaded): the
# procedures are raw ResolvedCall(...) text inside an expression, with quote-only aliases.
F1_PLAN = {
    "operatorType": "ProduceResults@neo4j",
    "args": {"Details": "l"},
    "children": [
        {
            "operatorType": "Projection@neo4j",
            "args": {
                "Details": "[x IN $autolist_4 WHERE EXISTS { ResolvedCall(gds.version() :: "
                "gdsVersion :: STRING,ArraySeq(),ArraySeq(ProcedureResultItem(Some("
                "ProcedureOutput(gdsVersion)),Variable('))),true,true,false,false) RETURN "
                "$`autoint_0` AS one } AND EXISTS { ResolvedCall(gds.graph.project.cypher("
                "graphName :: STRING, nodeQuery :: STRING, relationshipQuery :: STRING, "
                "configuration  =  Map{} :: MAP) :: nodeQuery :: STRING, relationshipQuery :: "
                "STRING, graphName :: STRING, nodeCount :: INTEGER, relationshipCount :: "
                "INTEGER, projectMillis :: INTEGER,ArraySeq(CoerceTo(AutoExtractedParameter("
                "autostring_1,String,ExactSize(1)),String), CoerceTo(ExplicitParameter(nq,"
                "String,ApproximateSize(100)),String), CoerceTo(AutoExtractedParameter("
                "autostring_2,String,ApproximateSize(100)),String)),ArraySeq("
                "ProcedureResultItem(Some(ProcedureOutput(graphName)),Variable('))),true,true,"
                "false,false) RETURN $`autoint_3` AS two }] AS l"
            },
        }
    ],
}


def test_the_plan_check_alone_refuses_the_issue_plan() -> None:
    refused = {name for _, name in _refusals(F1_PLAN, "neo4j")}
    assert {"procedure gds.version", "procedure gds.graph.project.cypher"} <= refused


@pytest.mark.parametrize(
    ("details", "name"),
    [
        ("`'` AS a, gds.graph.project($x, a, null) AS `'`", "function gds.graph.project"),
        ("\"' AS b, `gds` . `graph`.project(a) AS c", "function gds.graph.project"),
        (
            "ResolvedCall(db.createLabel(newLabel :: STRING) :: ,ArraySeq())",
            "procedure db.createLabel",
        ),
        ("EXISTS { ResolvedCall(`weird name`() :: x) }", "procedure weird name"),
    ],
)
def test_plan_details_are_read_with_their_quotes(details: str, name: str) -> None:
    plan = {"operatorType": "Projection@neo4j", "args": {"Details": details}}
    assert name in {n for _, n in _refusals(plan, "neo4j")}


def test_every_argument_of_an_operator_is_read() -> None:
    plan = {
        "operatorType": "Sort@neo4j",
        "args": {"Details": "x ASC", "Order": "gds.graph.project(a, b) ASC", "runtime": "SLOTTED"},
    }
    assert ("call", "function gds.graph.project") in _refusals(plan, "neo4j")


def test_an_allowlisted_procedure_inside_an_expression_passes_the_plan_check() -> None:
    details = (
        "EXISTS { ResolvedCall(db.labels() :: label :: STRING,ArraySeq(),ArraySeq("
        "ProcedureResultItem(None,Variable(label))),true,true,false,false) RETURN label }"
    )
    assert (
        _refusals({"operatorType": "Projection@neo4j", "args": {"Details": details}}, "neo4j") == []
    )


@pytest.mark.parametrize(
    ("query", "calls"),
    [
        ("CALL db.labels", [("db.labels", True)]),
        ("CALL db . labels ( )", [("db.labels", True)]),
        ("call `db`.`labels`()", [("db.labels", True)]),
        ("CALL `db.labels`()", [("db.labels", True)]),
        ("CALL gds/* c */.graph// c\n.project('g')", [("gds.graph.project", True)]),
        ("RETURN gds.version() AS v", [("gds.version", False)]),
        ("RETURN GDS . UTIL . NaN() AS v", [("GDS.UTIL.NaN", False)]),
        ("RETURN 'CALL gds.graph.project(' AS s", []),
        ('RETURN "it\\"s CALL x.y()" AS s', []),
        ("RETURN 'a\\'b' AS s, dbms.x() AS t", [("dbms.x", False)]),
        ("RETURN 1 AS `a``CALL x.y()` // CALL a.b()\n", []),
        ("/* CALL a.b() */ RETURN n.call, {call: 1} AS m", []),
        ("CALL () { RETURN 1 AS x } CALL { RETURN 2 AS y } RETURN x, y", []),
        ("MATCH (a) RETURN count(a), toUpper(a.name), a.x", []),
        ("RETURN date.truncate('month', date()) AS d, $p.x AS y", [("date.truncate", False)]),
    ],
)
def test_the_text_scan_finds_every_call(query: str, calls: list) -> None:
    found = [(c.name, c.procedure) for c in scan(query).calls]
    assert found == calls


@pytest.mark.parametrize(
    "query",
    [
        "RETURN 1 AS x // a comment with an odd line end \u2029 CALL db.createLabel('x')",
        "RETURN 'never closed",
        "RETURN `never closed",
        "RETURN 1 /* never closed",
        "RETURN 1 AS x \\u0027",
        "RETURN \u200b1",
        "RETURN (x).y.z() AS v",
        "RETURN $ x",
    ],
)
def test_text_the_scan_cannot_classify_is_refused(query: str) -> None:
    with pytest.raises(QueryRefused, match="unreadable"):
        check_text(query)


@pytest.mark.parametrize(
    "query",
    [
        "RETURN " + "(" * 65 + "1" + ")" * 65,
        "RETURN " + "NOT " * 101 + "true",
        "WITH {a: 1} AS m RETURN m" + ".a" * 101,
        "RETURN " + "CASE WHEN true THEN " * 65 + "1" + " END" * 65,
        "RETURN " + "COLLECT { RETURN " * 11 + "1" + " }" * 11,
        "RETURN " + " + ".join(["'a'"] * 150),
        "RETURN " + ", ".join(["1"] * 2001),
        "RETURN 1 AS x" + " " * 10_000,
    ],
)
def test_too_long_or_too_deep_is_a_query_error_before_neo4j(query: str) -> None:
    with pytest.raises(QueryError, match="query too complex") as error:
        check_text(query)
    assert not isinstance(error.value, QueryRefused)


def test_the_cypher_runtime_error_names_no_java_class(loaded: Graph) -> None:
    with pytest.raises(QueryError) as error:
        loaded.run_read_only(
            "CALL db.index.fulltext.queryNodes('no_such_index', 'x') YIELD node RETURN node",
            {},
            timeout_s=10,
            row_cap=10,
        )
    message = str(error.value)
    assert message.startswith("Cypher error (") and "no_such_index" in message
    assert not any(java in message for java in ("java.", "org.neo4j", "Exception", "Caused"))
    assert "java." in error.value.detail  # the whole text, for the server log


def test_a_plan_on_another_database_is_refused() -> None:
    plan = {
        "operatorType": "ProduceResults@other",
        "args": {"Details": "n"},
        "children": [{"operatorType": "AllNodesScan@other", "args": {"Details": "n"}}],
    }
    assert _refusals(plan, "neo4j")[0] == ("admin", "ProduceResults on database 'other'")
    same = {"operatorType": "ProduceResults@neo4j", "args": {"Details": "n"}}
    assert _refusals(same, "neo4j") == []


def test_the_cli_refuses_with_a_clear_message(loaded: Graph, cli) -> None:
    result = cli("cypher", "match (a:Artifact) /* hidden */ CALL (a) { SET a.name = 'x' } RETURN 1")
    assert result.returncode == 2
    assert result.stderr.startswith("error: refused (SetProperty)")
    assert "Traceback" not in result.stderr
    result = cli("cypher", "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l")
    assert result.returncode == 2 and "LOAD CSV" in result.stderr
    assert "root:" not in result.stdout
