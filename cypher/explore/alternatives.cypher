// Title: An artifact's alternatives and why
// Shows: The artifacts the ranking links to this one by ALTERNATIVE_TO (the co-matching
//   score), best first, with the reasons in the graph: the past searches that matched both
//   (directly or through one of their capabilities) and the categories, frameworks and
//   modalities they have in common.
// Param: id (string, default "vit-base-patch16-224"): the artifact whose alternatives to show.
// Param: top (integer, default 10): how many alternatives, at most.
MATCH (a:Artifact {id: $id})-[x:ALTERNATIVE_TO]->(b:Artifact)
WHERE b <> a
WITH a, b, x
ORDER BY x.score DESC, b.id
LIMIT $top
RETURN b.id AS alternative, b.name AS name, b.kind AS kind, round(x.score, 4) AS score,
       b.unfragile_rank AS unfragile_rank,
       COLLECT {
         MATCH (a)-[:HAS_CAPABILITY]->{0,1}()<-[:MATCHED]-(q:Query)
               -[:MATCHED]->()<-[:HAS_CAPABILITY]-{0,1}(b)
         RETURN DISTINCT q.text ORDER BY q.text
       } AS shared_queries,
       COLLECT {
         MATCH (a)-[:IN_CATEGORY]->(c:Category)<-[:IN_CATEGORY]-(b)
         RETURN c.name ORDER BY c.name
       } AS shared_categories,
       COLLECT {
         MATCH (a)-[:SUPPORTS]->(f:Framework)<-[:SUPPORTS]-(b)
         RETURN f.name ORDER BY f.name
       } AS shared_frameworks,
       [m IN coalesce(a.modalities, []) WHERE m IN coalesce(b.modalities, [])] AS shared_modalities
