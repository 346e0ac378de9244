// Title: Capabilities no search ever matched
// Shows: Capabilities with no MATCHED edge from any past search, grouped by artifact, the
//   best-ranked artifacts first: abilities the catalog claims that nobody has looked for yet
//   (or that search does not surface). `artifact_matched` says whether searches reach the
//   artifact some other way.
// Param: kind (string, default null): only artifacts of this kind (model, api, cli...); null for all.
// Param: top (integer, default 50): how many capabilities, at most.
MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c:Capability)
WHERE ($kind IS NULL OR a.kind = $kind) AND NOT EXISTS { (:Query)-[:MATCHED]->(c) }
RETURN a.id AS artifact, a.kind AS kind, a.unfragile_rank AS unfragile_rank,
       c.title AS capability, c.unique AS unique,
       EXISTS { (a)-[:HAS_CAPABILITY]->{0,1}()<-[:MATCHED]-(:Query) } AS artifact_matched
ORDER BY unfragile_rank DESC, artifact, c.position, capability
LIMIT $top
