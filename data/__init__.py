"""The bundled catalog (catalog/artifacts.jsonl, catalog/events.jsonl), shipped with the package."""
