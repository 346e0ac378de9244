// Title: Search results people pass over
// Shows: Artifacts that past searches surfaced (a MATCHED edge, to the artifact or one of its
//   capabilities) in the most sessions without a single click, with what those searches
//   clicked instead: where the catalog, the descriptions or the ranking may mislead.
// Param: min_sessions (integer, default 1): only pairs seen in at least this many sessions.
// Param: top (integer, default 25): how many rows, at most.
MATCH (q:Query)-[m:MATCHED]->(t)
WITH q, coalesce(t.artifact, t.id) AS artifact_id, sum(m.sessions) AS sessions,
     sum(m.clicks) AS clicks
WHERE clicks = 0 AND sessions >= $min_sessions
MATCH (a:Artifact {id: artifact_id})
RETURN q.text AS query, a.id AS artifact, a.kind AS kind, sessions,
       COLLECT {
         MATCH (q)-[c:MATCHED]->(x) WHERE c.clicks > 0
         RETURN DISTINCT coalesce(x.artifact, x.id) AS clicked
         ORDER BY clicked
       } AS clicked_instead
ORDER BY sessions DESC, query, artifact
LIMIT $top
