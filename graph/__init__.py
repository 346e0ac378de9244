"""Neo4j: the local server, the schema, batched upserts and read-only queries."""
