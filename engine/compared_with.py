"""Which artifacts the catalog's own records compare with each other (what "vs" names).

A capability's `vs_alternatives` text says how it stands against other artifacts, naming them
by id ("chatgpt and claude-ai can role-play on request but are not built around personas"). Those
named ids are the records' own word on what an artifact is compared with: for "alternative to
X", the artifacts X's records compare it with, and those whose records compare them with X, are
the first places to look (features.py, `compared`). The relation is read both ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_ID = re.compile(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]")


def compared_with(caps: Iterable[dict[str, Any]], ids: set[str]) -> dict[str, frozenset[str]]:
    """Each artifact → the artifacts its capabilities' `vs_alternatives` name, and those whose
    capabilities name it; artifacts nothing is compared with are left out."""
    pairs: dict[str, set[str]] = {}
    for c in caps:
        text, own = c.get("vs_alternatives"), c.get("artifact")
        if not text or own not in ids:
            continue
        for other in set(_ID.findall(text.lower())) & ids:
            if other != own:
                pairs.setdefault(own, set()).add(other)
                pairs.setdefault(other, set()).add(own)
    return {a: frozenset(b) for a, b in pairs.items()}
