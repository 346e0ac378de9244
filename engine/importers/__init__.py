"""Importers that read public registries (the Hugging Face Hub, the MCP Registry) into records."""
