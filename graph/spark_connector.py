"""The Neo4j Connector for Apache Spark: its jars from Maven Central and the Cypher it writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from unfragile.graph.server import _resolve
from unfragile.graph.store import TARGET_LABELS

# The Scala 2.12 build for Spark 3, as pyspark 3.5 ships Scala 2.12; keep in step with
# neo4j/spark-pom.xml. Spark fetches it itself (spark.jars.packages) when mvn is missing.
PACKAGE = "org.neo4j:neo4j-connector-apache-spark_2.12:5.0.3_for_spark_3"
POM = Path(__file__).parent / "neo4j" / "spark-pom.xml"
FORMAT = "org.neo4j.spark.DataSource"

# The connector runs each statement as `WITH $events AS events UNWIND events AS event ...`
# over a batch of rows: the same writes as graph/store.py's SET_QUERIES, SET_MATCHED,
# SET_PREFERRED and SET_ARTIFACT_SESSIONS, row by row from `event` (tests pin that both give
# identical nodes and edges). The weights are literals: the connector takes no parameters.
QUERIES = """
MERGE (q:Query {id: event.id})
  ON CREATE SET q.text = event.text
SET q.sessions = event.sessions, q.count = event.count, q.last_seen = event.last_seen
"""

# The confidence by the expression it always had (README, "The match graph"), in Cypher, so
# it is the same float to the last bit.
MATCHED = """
MATCH (q:Query {id: event.query_id})
MATCH (t:%(label)s {id: event.target})
WITH q, t, event AS r,
     event.sessions * %(w_session)r + event.clicks * %(w_click)r
       + event.long_dwells * %(w_long_dwell)r + event.feedback * %(w_feedback)r AS z
MERGE (q)-[m:MATCHED]->(t)
SET m.count = r.count, m.sessions = r.sessions, m.clicks = r.clicks, m.dwell = r.dwell,
    m.long_dwells = r.long_dwells, m.feedback = r.feedback, m.sample_sessions = r.sample_sessions,
    m.first_seen = r.first_seen, m.last_seen = r.last_seen,
    m.confidence = CASE WHEN z <= 0 THEN 0.0 ELSE 1.0 - exp(-z / %(confidence_scale)r) END
"""

PREFERRED = """
MATCH (w:Artifact {id: event.target})
MATCH (l:Artifact {id: event.loser})
MERGE (w)-[m:PREFERRED_OVER]->(l)
SET m.sessions = event.sessions, m.count = event.count, m.last_seen = event.last_seen
"""

ARTIFACTS = """
MATCH (a:Artifact {id: event.id})
SET a.evidence_sessions = event.sessions, a.evidence_sample_sessions = event.sample_sessions
"""


def matched(label: str, weights: dict[str, float]) -> str:
    """MATCHED's statement for one target label, the weights written in as float literals."""
    assert label in TARGET_LABELS.values()  # never text from a person
    return MATCHED % {"label": label, **{k: float(v) for k, v in weights.items()}}


def jars(cache_dir: Path) -> list[str] | None:
    """The connector's jar and its dependencies, resolved with mvn once into `cache_dir`;
    None when mvn is not on PATH (Spark then fetches PACKAGE itself)."""
    out = cache_dir / f"spark-connector-{PACKAGE.rsplit(':', 1)[1]}.classpath"
    if not out.exists():
        mvn = shutil.which("mvn")
        if mvn is None:
            return None
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}")
        _resolve(mvn, POM, tmp)
        tmp.replace(out)  # whole or not at all: a crash never leaves half a classpath
    found = out.read_text().strip().split(os.pathsep)
    if not all(Path(j).is_file() for j in found):  # the Maven cache was cleared since
        out.unlink()
        return jars(cache_dir)
    return found


def write(
    frame: Any, statement: str, target: dict[str, str], batch_size: int, partitions: int = 1
) -> None:
    """Run `statement` for every row of a Spark DataFrame, `batch_size` rows a transaction.

    One partition by default: MERGEs of edges from parallel writers take locks on the same
    nodes and deadlock; nodes with distinct ids can be written in parallel."""
    (
        frame.repartition(partitions)
        .write.format(FORMAT)
        .mode("Append")
        .option("url", target["uri"])
        .option("authentication.type", "basic")
        .option("authentication.basic.username", target["user"])
        .option("authentication.basic.password", target["password"])
        .option("database", target["database"])
        .option("query", statement)
        .option("batch.size", str(batch_size))
        .save()
    )
