// Title: Capabilities by full-text search
// Shows: Capabilities whose title, text or unique statement match the words, through the
//   capability_text full-text index (Lucene syntax: quotes for phrases, OR, trailing *),
//   with the Lucene score, the artifact and how often searches matched it.
// Param: text (string, default "image embedding"): the words to look for.
// Param: top (integer, default 10): how many capabilities, at most.
CALL db.index.fulltext.queryNodes('capability_text', $text, {limit: $top})
YIELD node, score
MATCH (a:Artifact)-[:HAS_CAPABILITY]->(node)
RETURN a.id AS artifact, node.title AS capability, round(score, 3) AS score,
       COUNT { (:Query)-[:MATCHED]->(node) } AS searches_matched, node.text AS text
ORDER BY score DESC, artifact, capability
