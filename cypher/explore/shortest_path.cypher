// Title: The shortest path between two artifacts through shared searches
// Shows: The fewest hops from one artifact to another along the match graph only (a past
//   search that matched both, directly or through a capability), as readable steps:
//   artifacts, the searches between them and the capabilities they went through. No row
//   means no chain of searches connects the two.
// Param: source (string, default "vit-base-patch16-224"): the artifact to start from.
// Param: target (string, default "text-embedding-3-small"): the artifact to reach.
MATCH (a:Artifact {id: $source}), (b:Artifact {id: $target})
MATCH p = SHORTEST 1 (a) (()-[:MATCHED|HAS_CAPABILITY]-()){1,40} (b)
WHERE a <> b
RETURN a.id AS source, b.id AS target,
       size([n IN nodes(p) WHERE n:Query]) AS searches,
       length(p) AS hops,
       [n IN nodes(p) | CASE
          WHEN n:Artifact THEN 'artifact ' + n.id
          WHEN n:Query THEN 'search "' + n.text + '"'
          ELSE 'capability ' + n.title END] AS steps
