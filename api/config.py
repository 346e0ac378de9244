"""The API's own settings: keys that may write, CORS origins, allowed Host names and limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

MiB = 1024 * 1024


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class ApiConfig:
    """Read from the environment by `from_env`; tests pass their own."""

    # Keys accepted in the X-API-Key header for writes; none configured: writes are refused.
    api_keys: tuple[str, ...] = ()
    # Origins allowed by CORS; empty: no CORS headers at all (browsers block cross-origin).
    cors_origins: tuple[str, ...] = ()
    # Host header values accepted besides the loopback names (localhost, 127.0.0.1, [::1]),
    # as `name` (any port) or `name:port`; "*" turns the check off. Empty: loopback only,
    # so a page on another site cannot reach the API through DNS rebinding.
    allowed_hosts: tuple[str, ...] = ()
    # Ad-hoc POST /cypher without a key (UNFRAGILE_CYPHER_OPEN=1), for a trusted network only:
    # it reads anything in the graph. Off: it needs a key; saved explorations stay open.
    cypher_open: bool = False
    max_image_bytes: int = 10 * MiB
    max_body_bytes: int = 5 * MiB
    max_events: int = 10_000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ApiConfig:
        env = dict(os.environ if env is None else env)
        config = cls(
            api_keys=_split(env.get("UNFRAGILE_API_KEYS")),
            cors_origins=_split(env.get("UNFRAGILE_CORS_ORIGINS")),
            allowed_hosts=_split(env.get("UNFRAGILE_ALLOWED_HOSTS")),
            cypher_open=env.get("UNFRAGILE_CYPHER_OPEN", "").strip().lower()
            in ("1", "true", "yes", "on"),
        )
        from unfragile.api.security import split_host

        for entry in config.allowed_hosts:
            if entry != "*" and split_host(entry) is None:
                raise ValueError(
                    f"UNFRAGILE_ALLOWED_HOSTS: {entry!r} is not a host name (name or name:port)"
                )
        if env.get("UNFRAGILE_MAX_UPLOAD_BYTES"):
            try:
                size = int(env["UNFRAGILE_MAX_UPLOAD_BYTES"])
            except ValueError:
                raise ValueError("UNFRAGILE_MAX_UPLOAD_BYTES must be a whole number") from None
            config = replace(config, max_image_bytes=size)
        return config
