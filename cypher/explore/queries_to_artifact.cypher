// Title: The searches that lead to an artifact
// Shows: Every past search (Query) whose MATCHED edge points at the artifact or at one of
//   its capabilities, with the sessions, clicks, dwell seconds, feedback and the edge's
//   confidence, most confident first. `via` names the capability, or says the artifact itself.
// Param: id (string, default "vit-base-patch16-224"): the artifact the searches lead to.
MATCH (a:Artifact {id: $id})
MATCH (a)-[:HAS_CAPABILITY]->{0,1}(t)<-[m:MATCHED]-(q:Query)
RETURN q.text AS query,
       CASE WHEN t = a THEN '(the artifact)' ELSE t.title END AS via,
       m.sessions AS sessions, m.clicks AS clicks, m.dwell AS dwell_s,
       m.feedback AS feedback, round(m.confidence, 4) AS confidence,
       m.last_seen AS last_seen
ORDER BY confidence DESC, sessions DESC, query, via
