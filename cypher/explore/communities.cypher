// Title: Communities of the match graph
// Shows: Groups of artifacts that past searches tie together: two artifacts are in the same
//   community when a chain of searches connects them (a search that matched both, directly
//   or through a capability, then another, and so on). These are the connected components
//   of the match graph, computed in plain Cypher so the query stays read-only; a GDS
//   Louvain or WCC run would need gds.graph.project, which writes to the GDS catalog and is
//   refused here. Each community is named by its smallest artifact id, biggest first.
// Param: min_size (integer, default 2): leave out communities with fewer artifacts.
MATCH (a:Artifact)
WHERE EXISTS { (a)-[:HAS_CAPABILITY]->{0,1}()<-[:MATCHED]-(:Query) }
CALL (a) {
  // DISTINCT endpoints let Neo4j prune the expansion breadth-first instead of listing paths.
  OPTIONAL MATCH (a)-[:MATCHED|HAS_CAPABILITY*1..40]-(b:Artifact)
  RETURN collect(DISTINCT b.id) AS reached
}
WITH a, reduce(low = a.id, other IN reached | CASE WHEN other < low THEN other ELSE low END)
     AS community
WITH community, collect(a) AS members
WHERE size(members) >= $min_size
RETURN community, size(members) AS size,
       COLLECT { UNWIND members AS m RETURN m.id ORDER BY m.id } AS artifacts,
       COLLECT { UNWIND members AS m RETURN DISTINCT m.kind ORDER BY m.kind } AS kinds,
       COLLECT {
         UNWIND members AS m
         MATCH (m)-[:HAS_CAPABILITY]->{0,1}()<-[:MATCHED]-(q:Query)
         RETURN DISTINCT q.text ORDER BY q.text
       } AS queries
ORDER BY size DESC, community
