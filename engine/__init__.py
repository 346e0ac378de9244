"""Search, ranking, ingest and the `unfragile` command: the layer that joins graph and indexing."""
