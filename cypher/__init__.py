"""Cypher kept as files: schema.cypher (applied on start) and explore/*.cypher (saved explorations)."""
