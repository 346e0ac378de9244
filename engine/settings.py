"""One settings object for the whole engine, read from the environment (CLI flags override)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from unfragile.engine.errors import SettingsError
from unfragile.indexing.cache import default_cache_dir

# Limits on user-supplied text, documented in the README ("Input limits").
MAX_ID_CHARS = 200
MAX_NAME_CHARS = 200
MAX_TITLE_CHARS = 200
MAX_CAPABILITIES = 100  # capabilities one artifact record may list
MAX_TEXT_CHARS = 4000
MAX_NOTE_CHARS = 2000
MAX_DESCRIPTION_CHARS = 20000
MAX_QUERY_CHARS = 2000


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "unfragile"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build with `Settings.from_env()`; tweak with `with_(...)`."""

    home: Path = field(default_factory=_default_home)
    cache_dir: Path = field(default_factory=default_cache_dir)
    # An external Neo4j: when neo4j_uri is set the engine uses it and starts nothing.
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str = "neo4j"
    neo4j_heap: str = "2g"
    neo4j_pagecache: str = "512m"
    neo4j_start_timeout_s: float = 180.0
    # Neo4j Graph Data Science in the local server (UNFRAGILE_GDS=0 turns it off).
    gds: bool = True
    # Neo4j Browser on 127.0.0.1 beside the local server (`db start --browser`,
    # UNFRAGILE_NEO4J_BROWSER=1): same password, the saved explorations as its guide.
    neo4j_browser: bool = False
    batch_size: int = 2000
    # Models: a name, a hub id or a local folder.
    text_model: str = "all-MiniLM-L6-v2"
    image_model: str = "google/vit-base-patch16-224"
    # FAISS: "auto" is exact up to exact_limit vectors and approximate (IVF) above.
    index_kind: str = "auto"
    exact_limit: int = 50_000
    query_timeout_s: float = 30.0
    cypher_row_cap: int = 1000
    # The JSON size of the rows a Cypher query returns; past it the result is truncated.
    cypher_byte_cap: int = 4 * 1024 * 1024

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        if env.get("UNFRAGILE_HOME"):
            s = replace(s, home=Path(env["UNFRAGILE_HOME"]).expanduser())
        if env.get("UNFRAGILE_CACHE"):
            s = replace(s, cache_dir=Path(env["UNFRAGILE_CACHE"]).expanduser())
        if env.get("NEO4J_URI"):
            s = replace(
                s,
                neo4j_uri=env["NEO4J_URI"],
                neo4j_user=env.get("NEO4J_USER", "neo4j"),
                neo4j_password=env.get("NEO4J_PASSWORD"),
            )
        if env.get("NEO4J_DATABASE"):
            s = replace(s, neo4j_database=env["NEO4J_DATABASE"])
        if env.get("UNFRAGILE_NEO4J_HEAP"):
            s = replace(s, neo4j_heap=env["UNFRAGILE_NEO4J_HEAP"])
        if env.get("UNFRAGILE_NEO4J_PAGECACHE"):
            s = replace(s, neo4j_pagecache=env["UNFRAGILE_NEO4J_PAGECACHE"])
        for var, name in (
            ("UNFRAGILE_TEXT_MODEL", "text_model"),
            ("UNFRAGILE_IMAGE_MODEL", "image_model"),
            ("UNFRAGILE_INDEX_KIND", "index_kind"),
        ):
            if env.get(var):
                s = replace(s, **{name: env[var]})  # type: ignore[arg-type]  # str fields
        if s.index_kind not in ("auto", "exact", "ivf", "hnsw"):
            raise SettingsError(
                f"UNFRAGILE_INDEX_KIND={s.index_kind!r}: use auto, exact, ivf or hnsw"
            )
        if env.get("UNFRAGILE_EXACT_LIMIT"):
            try:
                s = replace(s, exact_limit=int(env["UNFRAGILE_EXACT_LIMIT"]))
            except ValueError:
                raise SettingsError("UNFRAGILE_EXACT_LIMIT must be a whole number") from None
        if env.get("UNFRAGILE_QUERY_TIMEOUT_S"):
            try:
                s = replace(s, query_timeout_s=float(env["UNFRAGILE_QUERY_TIMEOUT_S"]))
            except ValueError:
                raise SettingsError("UNFRAGILE_QUERY_TIMEOUT_S must be a number") from None
            if not 0 < s.query_timeout_s <= 3600:
                raise SettingsError("UNFRAGILE_QUERY_TIMEOUT_S must be above 0 and at most 3600")
        if env.get("UNFRAGILE_CYPHER_MAX_BYTES"):
            try:
                s = replace(s, cypher_byte_cap=int(env["UNFRAGILE_CYPHER_MAX_BYTES"]))
            except ValueError:
                raise SettingsError("UNFRAGILE_CYPHER_MAX_BYTES must be a whole number") from None
            if s.cypher_byte_cap < 1024:
                raise SettingsError("UNFRAGILE_CYPHER_MAX_BYTES must be at least 1024")
        if env.get("UNFRAGILE_GDS", "").strip().lower() in ("0", "false", "no", "off"):
            s = replace(s, gds=False)
        if env.get("UNFRAGILE_NEO4J_BROWSER", "").strip().lower() in ("1", "true", "yes", "on"):
            s = replace(s, neo4j_browser=True)
        return s

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def external_neo4j(self) -> bool:
        return self.neo4j_uri is not None

    @property
    def neo4j_dir(self) -> Path:
        return self.home / "neo4j"

    @property
    def index_dir(self) -> Path:
        return self.home / "indexes"
