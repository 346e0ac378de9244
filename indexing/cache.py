"""Where the engine keeps what it can rebuild: its default cache folder (no heavy imports)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/unfragile (else ~/.cache/unfragile); Settings.cache_dir defaults to it
    and UNFRAGILE_CACHE overrides it there."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "unfragile"
