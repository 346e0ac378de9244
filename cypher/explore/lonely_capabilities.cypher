// Title: Unique capabilities with no close neighbour
// Shows: Capabilities that state what is unique about them and that no capability of any
//   other artifact resembles: the nearest one by word overlap of their titles (Jaccard over
//   words of four letters or more) stays below the threshold. A lexical stand-in for the
//   vector neighbours search uses, so it runs as plain read-only Cypher; `nearest` is
//   empty when no other title shares a word.
// Param: max_overlap (float, default 0.0): the largest overlap the nearest neighbour may have.
// Param: top (integer, default 25): how many capabilities, at most.
MATCH (a:Artifact)-[:HAS_CAPABILITY]->(c:Capability)
WHERE c.unique IS NOT NULL AND trim(c.unique) <> ''
WITH a, c, [w IN split(toLower(c.title), ' ')
            WHERE size(w) >= 4 AND NOT w IN ['with', 'from', 'into', 'that', 'your', 'over']]
           AS words
WHERE size(words) > 0
CALL (a, c, words) {
  MATCH (b:Artifact)-[:HAS_CAPABILITY]->(d:Capability)
  WHERE b <> a
  WITH d, words, [w IN split(toLower(d.title), ' ')
                  WHERE size(w) >= 4 AND NOT w IN ['with', 'from', 'into', 'that', 'your', 'over']]
                 AS other
  WITH d, size([w IN words WHERE w IN other]) AS common, size(words) + size(other) AS total
  WITH d, toFloat(common) / (total - common) AS overlap
  ORDER BY overlap DESC, d.id
  LIMIT 1
  RETURN CASE WHEN overlap > 0 THEN d.artifact + ': ' + d.title END AS nearest, overlap
}
WITH a, c, nearest, overlap
WHERE overlap <= $max_overlap
RETURN a.id AS artifact, c.title AS capability, c.unique AS unique,
       nearest, round(overlap, 3) AS overlap, a.unfragile_rank AS unfragile_rank
ORDER BY overlap, unfragile_rank DESC, artifact, capability
LIMIT $top
