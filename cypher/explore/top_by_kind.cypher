// Title: Top artifacts per kind
// Shows: The best artifacts of each kind by UnfragileRank (0-100) with its bootstrap
//   interval and the sub-scores it is built from; kinds in alphabetical order.
// Param: top (integer, default 3): how many artifacts per kind.
MATCH (a:Artifact)
WHERE a.unfragile_rank IS NOT NULL
WITH a ORDER BY a.unfragile_rank DESC, a.match_graph DESC, a.id
WITH a.kind AS kind, collect(a)[..$top] AS best
UNWIND range(0, size(best) - 1) AS i
WITH kind, i + 1 AS position, best[i] AS a
RETURN kind, position, a.id AS id, a.name AS name, a.unfragile_rank AS unfragile_rank,
       [a.rank_low, a.rank_high] AS interval, round(a.adoption, 3) AS adoption,
       round(a.quality, 3) AS quality, round(a.ecosystem, 3) AS ecosystem,
       round(a.match_graph, 3) AS match_graph, round(a.freshness, 3) AS freshness
ORDER BY kind, position
