"""Unfragile tests: they run against a real Neo4j, real FAISS indexes and real models."""
