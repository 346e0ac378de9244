// Title: Capabilities two artifacts share and where they differ
// Shows: Every capability of either artifact beside its closest counterpart in the other one
//   (word overlap of titles, Jaccard over words of four letters or more) and the past
//   searches that matched it and also matched the other artifact. `status` is "shared" when
//   the overlap reaches min_overlap or a search links them, else "only <artifact>".
// Param: a (string, default "vit-base-patch16-224"): the first artifact.
// Param: b (string, default "resnet-50"): the second artifact.
// Param: min_overlap (float, default 0.3): the word overlap that counts as the same ability.
MATCH (x:Artifact)-[:HAS_CAPABILITY]->(c:Capability)
WHERE x.id IN [$a, $b] AND $a <> $b
WITH x, c, CASE x.id WHEN $a THEN $b ELSE $a END AS other_id,
     [w IN split(toLower(c.title), ' ')
      WHERE size(w) >= 4 AND NOT w IN ['with', 'from', 'into', 'that', 'your', 'over']] AS words
MATCH (y:Artifact {id: other_id})
CALL (c, y, words) {
  OPTIONAL MATCH (y)-[:HAS_CAPABILITY]->(d:Capability)
  WITH d, [w IN split(toLower(d.title), ' ')
           WHERE size(w) >= 4 AND NOT w IN ['with', 'from', 'into', 'that', 'your', 'over']]
          AS other
  WITH d, size([w IN words WHERE w IN other]) AS common, size(words) + size(other) AS total
  WITH d, CASE WHEN total - common = 0 THEN 0.0 ELSE toFloat(common) / (total - common) END
          AS overlap
  ORDER BY overlap DESC, d.position, d.id
  LIMIT 1
  RETURN CASE WHEN overlap > 0 THEN d.title END AS counterpart, overlap
}
WITH x, y, c, counterpart, overlap,
     COLLECT {
       MATCH (c)<-[:MATCHED]-(q:Query)-[:MATCHED]->()<-[:HAS_CAPABILITY]-{0,1}(y)
       RETURN DISTINCT q.text ORDER BY q.text
     } AS linking_searches
WITH x, c, counterpart, overlap, linking_searches,
     CASE WHEN overlap >= $min_overlap OR size(linking_searches) > 0 THEN 'shared'
          ELSE 'only ' + x.id END AS status
RETURN status, x.id AS artifact, c.title AS capability, counterpart,
       round(overlap, 3) AS overlap, linking_searches, c.unique AS unique
ORDER BY status <> 'shared', status, artifact, c.position, capability
