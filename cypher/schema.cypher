// Unfragile graph schema: uniqueness constraints and indexes.
// Applied idempotently on start-up (`unfragile db start`, ingest); each statement ends with ';'.

CREATE CONSTRAINT artifact_id IF NOT EXISTS FOR (a:Artifact) REQUIRE a.id IS UNIQUE;
CREATE CONSTRAINT capability_id IF NOT EXISTS FOR (c:Capability) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT query_id IF NOT EXISTS FOR (q:Query) REQUIRE q.id IS UNIQUE;
CREATE CONSTRAINT image_id IF NOT EXISTS FOR (i:Image) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT organization_name IF NOT EXISTS FOR (o:Organization) REQUIRE o.name IS UNIQUE;
CREATE CONSTRAINT framework_name IF NOT EXISTS FOR (f:Framework) REQUIRE f.name IS UNIQUE;
CREATE CONSTRAINT category_name IF NOT EXISTS FOR (c:Category) REQUIRE c.name IS UNIQUE;
// One Evidence node per (query, target, session): what one session did after one search.
CREATE CONSTRAINT evidence_key IF NOT EXISTS FOR (e:Evidence) REQUIRE e.key IS UNIQUE;

CREATE INDEX evidence_pair IF NOT EXISTS FOR (e:Evidence) ON (e.pair);
CREATE INDEX evidence_query IF NOT EXISTS FOR (e:Evidence) ON (e.query);
CREATE INDEX evidence_target IF NOT EXISTS FOR (e:Evidence) ON (e.target);
CREATE INDEX artifact_kind IF NOT EXISTS FOR (a:Artifact) ON (a.kind);
CREATE INDEX artifact_name IF NOT EXISTS FOR (a:Artifact) ON (a.name_lower);
CREATE INDEX capability_artifact IF NOT EXISTS FOR (c:Capability) ON (c.artifact);

CREATE FULLTEXT INDEX capability_text IF NOT EXISTS
FOR (c:Capability) ON EACH [c.title, c.text, c.unique];
CREATE FULLTEXT INDEX artifact_text IF NOT EXISTS
FOR (a:Artifact) ON EACH [a.name, a.description];
