// Title: An artifact's alternatives and why
// Shows: The artifacts that do what this one does, leaving out it and its family, as
//   `unfragile rank` stored them by ALTERNATIVE_TO from search (what `unfragile search
//   --alternatives-to` answered then), in their stored order (position 1 first) with the
//   search's match (0-100) and score, and what the graph shows they share: the past searches
//   that matched both (directly or through one of their capabilities) and the categories,
//   frameworks and modalities they have in common.
// Param: id (string, default "vit-base-patch16-224"): the artifact whose alternatives to show.
// Param: top (integer, default 10): how many alternatives, at most.
MATCH (a:Artifact {id: $id})-[x:ALTERNATIVE_TO]->(b:Artifact)
WHERE b <> a
WITH a, b, x
ORDER BY x.position, x.score DESC, b.id
LIMIT $top
RETURN b.id AS alternative, b.name AS name, b.kind AS kind, x.position AS position,
       x.match AS match, round(x.score, 4) AS score, b.unfragile_rank AS unfragile_rank,
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
