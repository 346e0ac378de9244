"""The Accept header, read once: which media types a client takes, with their q-values."""

from __future__ import annotations


def accepted(header: str | None) -> list[tuple[str, float]]:
    """(media type in lower case, q) for each entry, in the header's order; a bad q is 0."""
    entries = []
    for item in (header or "").split(","):
        media, *options = [part.strip() for part in item.split(";")]
        q = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            entries.append((media.lower(), q))
    return entries
