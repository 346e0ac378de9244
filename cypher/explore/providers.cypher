// Title: Providers with the most artifacts
// Shows: Organizations by how many catalog artifacts they provide, with the kinds they
//   cover, their mean UnfragileRank and their best-ranked artifact.
// Param: top (integer, default 10): how many providers.
MATCH (o:Organization)<-[:PROVIDED_BY]-(a:Artifact)
WITH o, a ORDER BY a.unfragile_rank DESC, a.id
WITH o, collect(a) AS artifacts
RETURN o.name AS provider, size(artifacts) AS artifacts,
       COLLECT { UNWIND artifacts AS a RETURN DISTINCT a.kind ORDER BY a.kind } AS kinds,
       round(reduce(s = 0.0, a IN artifacts | s + coalesce(a.unfragile_rank, 0))
             / size(artifacts), 1) AS mean_rank,
       artifacts[0].id AS best, artifacts[0].unfragile_rank AS best_rank
ORDER BY artifacts DESC, mean_rank DESC, provider
LIMIT $top
