"""MCP Registry records (the 2025 seed's shape and today's server.json) as artifact records."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from unfragile.engine import settings as limits
from unfragile.engine.errors import InvalidInput
from unfragile.engine.records import RawRecord, parse_time, type_name

IMPORTED_FROM = "mcp-registry"
# Registry-managed metadata of a listed server (status, isLatest, publishedAt, updatedAt).
OFFICIAL = "io.modelcontextprotocol.registry/official"
# The registry's lifecycle status → ours: a deprecated server is still listed but its
# publisher steers people away (archived); a deleted one is gone from use (removed).
STATUSES = {"active": "active", "deprecated": "archived", "deleted": "removed"}
# The seed names OCI images "docker"; today's registry says "oci". One name for one thing.
REGISTRY_NAMES = {"docker": "oci"}
ID_PREFIX = "mcp:"
MAX_FACTS = 50  # packages or remotes of one server (the artifact field's limit)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Server:
    """One listed server version, its fields checked and read from either record shape."""

    name: str
    artifact_id: str
    origin: str  # the file or page URL it was read from
    label: str  # where in that document, e.g. "servers[3]" or "[12]"
    title: str | None = None
    description: str | None = None
    version: str = ""
    url: str | None = None
    repository_owner: str | None = None
    released: str | None = None
    updated: str | None = None
    status: str = "active"
    is_latest: bool | None = None
    packages: list[str] = field(default_factory=list)
    remotes: list[str] = field(default_factory=list)

    @property
    def server_part(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def provider(self) -> str | None:
        """The publisher: the GitHub account of an io.github.<user> name (spelt as in its
        repository's URL), else the reverse-DNS namespace as a domain, else the repository's
        owner."""
        if "/" not in self.name:
            return self.repository_owner
        namespace = self.name.split("/", 1)[0].lstrip("@")
        if namespace.lower().startswith("io.github."):
            user = namespace[len("io.github.") :]
            owner = self.repository_owner
            return owner if owner and owner.lower() == user.lower() else user
        parts = [p for p in namespace.split(".") if p]
        return ".".join(reversed(parts)) if len(parts) > 1 else (namespace or None)


def artifact_id(name: str) -> str:
    """`mcp:` and the server's name in lower case, '/' as ':' (registry names hold no ':', so
    two names never meet, and the id has no '/' for a URL path to split); a name too long
    for an id keeps its start and a hash of the whole."""
    text = ID_PREFIX + re.sub(r"\s+", "-", name.strip().lower()).replace("/", ":")
    if len(text) <= limits.MAX_ID_CHARS:
        return text
    digest = hashlib.blake2b(name.encode(), digest_size=6).hexdigest()
    return f"{text[: limits.MAX_ID_CHARS - 13]}~{digest}"


def version_key(version: str) -> tuple[Any, ...]:
    """Orders versions as semantic versions do: numbers as numbers, a pre-release before its
    release, build metadata ignored; parts that are not numbers sort first."""
    core, _, pre = version.partition("+")[0].strip().partition("-")
    numbers = tuple(int(p) if p.isdigit() else -1 for p in core.split("."))
    return (numbers, pre == "", pre)


# -- reading a document ----------------------------------------------------------------------


def entries(doc: Any, origin: str) -> tuple[list[tuple[str, Any]], str | None]:
    """The server records of one document with their labels, and its next cursor: a list
    response (`{"servers": [...], "metadata": {"nextCursor": ...}}`), a JSON array of
    records (the seed), or one server.json."""
    if isinstance(doc, list):
        return [(f"[{i}]", item) for i, item in enumerate(doc)], None
    if not isinstance(doc, dict):
        _fail(origin, None, f"expected an MCP Registry document (an object), got {type_name(doc)}")
    if "servers" in doc:
        servers = doc["servers"]
        if not isinstance(servers, list):
            _fail(origin, "servers", f"must be a list, got {type_name(servers)}")
        metadata = doc.get("metadata") or {}
        if not isinstance(metadata, dict):
            _fail(origin, "metadata", f"must be an object, got {type_name(metadata)}")
        cursor = metadata.get("nextCursor", metadata.get("next_cursor"))
        if cursor is not None and not isinstance(cursor, str):
            _fail(origin, "metadata.nextCursor", f"must be a string, got {type_name(cursor)}")
        return [(f"servers[{i}]", item) for i, item in enumerate(servers)], cursor or None
    if "name" in doc:
        return [("(the document)", doc)], None
    _fail(
        origin,
        None,
        "not an MCP Registry document: expected a list response with 'servers', "
        "an array of server records, or one server.json with a 'name'",
    )


def blank(value: Any) -> bool:
    """Every field empty: the seed's placeholder records ({"id": "", "name": "", …})."""
    if isinstance(value, dict):
        return all(blank(v) for v in value.values())
    if isinstance(value, list):
        return all(blank(v) for v in value)
    if isinstance(value, str):
        return not value.strip()
    return not value


def parse(item: Any, origin: str, label: str) -> Server:
    """Check one record (either shape) and read what the artifact needs from it."""
    if not isinstance(item, dict):
        _fail(origin, label, f"must be an object, got {type_name(item)}")
    body, prefix, meta_at = item, label, label
    if isinstance(item.get("server"), dict):  # today's list response wraps each server.json
        body, prefix = item["server"], f"{label}.server"
    meta = _object(item.get("_meta"), origin, f"{label}._meta")
    if OFFICIAL not in meta:  # some registry versions kept it inside the server record
        meta, meta_at = _object(body.get("_meta"), origin, f"{prefix}._meta"), prefix
    r = _Reader(body, origin, prefix)
    name = r.required("name", limits.MAX_NAME_CHARS)
    official = _object(meta.get(OFFICIAL), origin, f"{meta_at}._meta.{OFFICIAL}")
    o = _Reader(official, origin, f"{meta_at}._meta.{OFFICIAL}")
    detail = _Reader(
        _object(body.get("version_detail"), origin, f"{prefix}.version_detail"),
        origin,
        f"{prefix}.version_detail",
    )
    repository = _object(body.get("repository"), origin, f"{prefix}.repository")
    repo = _Reader(repository, origin, f"{prefix}.repository")
    status = o.text("status", 40) or "active"
    if status.lower() not in STATUSES:
        o.fail("status", f"must be one of {', '.join(STATUSES)}; got {status!r}")
    server = Server(
        name=name,
        artifact_id=artifact_id(name),
        origin=origin,
        label=prefix,
        title=r.text("title", limits.MAX_NAME_CHARS),
        description=r.text("description", limits.MAX_DESCRIPTION_CHARS),
        version=r.text("version", 255) or detail.text("version", 255) or "",
        url=repo.url("url") or r.url("websiteUrl"),
        released=o.day("publishedAt") or detail.day("release_date"),
        updated=o.day("updatedAt"),
        status=STATUSES[status.lower()],
        is_latest=o.flag("isLatest") if "isLatest" in official else detail.flag("is_latest"),
        packages=_present(_package(p, r, i) for i, p in enumerate(r.items("packages"))),
        remotes=_present(_remote(p, r, i) for i, p in enumerate(r.items("remotes"))),
    )
    match = re.match(r"https?://(?:www\.)?(?:github|gitlab)\.com/([^/\s]+)", server.url or "")
    server.repository_owner = match.group(1) if match else None
    return server


def _present(facts: Iterator[str | None]) -> list[str]:
    """The facts that say something, each once, in order."""
    return list(dict.fromkeys(f for f in facts if f))


def _package(item: dict[str, Any], r: _Reader, i: int) -> str | None:
    """`<registry> <identifier> <version> <transport>`, '-' for what the record does not say;
    None for a package with no identifier (nothing to install)."""
    p = _Reader(item, r.origin, f"{r.prefix}.packages[{i}]")
    registry = (
        p.text("registryType", 100) or p.text("registry_type", 100) or p.text("registry_name", 100)
    )
    transport = _object(item.get("transport"), r.origin, f"{p.prefix}.transport")
    kind = _Reader(transport, r.origin, f"{p.prefix}.transport").text("type", 100)
    identifier = p.text("identifier", 1000) or p.text("name", 1000)
    if identifier is None:
        return None
    return _fact(
        REGISTRY_NAMES.get((registry or "").lower(), (registry or "").lower()),
        identifier,
        p.text("version", 255),
        kind or p.text("transport_type", 100),
    )


def _remote(item: dict[str, Any], r: _Reader, i: int) -> str | None:
    """`<transport> <url>`; None for a remote with no URL."""
    p = _Reader(item, r.origin, f"{r.prefix}.remotes[{i}]")
    url = p.text("url", 1500)
    return _fact(p.text("type", 100) or p.text("transport_type", 100), url) if url else None


def _fact(*tokens: str | None) -> str:
    # Tokens are separated by one space, so a space inside one would shift the rest.
    return " ".join("_".join(t.split()) if t else "-" for t in tokens)


# -- choosing versions and naming --------------------------------------------------------------


def latest(servers: list[Server]) -> tuple[list[Server], int]:
    """One server per artifact id, its latest version (marked so, else the highest version,
    else the newest date), in first-seen order; and how many records were merged away."""
    best: dict[str, Server] = {}
    for s in servers:
        kept = best.get(s.artifact_id)
        if kept is None or _rank(s) > _rank(kept):
            best[s.artifact_id] = s
    return list(best.values()), len(servers) - len(best)


def _rank(s: Server) -> tuple[Any, ...]:
    return (bool(s.is_latest), version_key(s.version), s.updated or "", s.released or "")


def raw_records(servers: list[Server]) -> list[RawRecord]:
    """The artifact records: line i (1-based) is servers[i - 1], so an error maps back."""
    shared = Counter(s.server_part.lower() for s in servers if not s.title)
    return [
        RawRecord(s.origin, i, _artifact(s, shared[s.server_part.lower()] > 1))
        for i, s in enumerate(servers, start=1)
    ]


def _artifact(s: Server, ambiguous: bool) -> dict[str, Any]:
    # A title when the record has one; else the server's part of its name, with its publisher
    # when another server of this import has the same part ("mcp-server (acme)").
    name = s.title or s.server_part
    if ambiguous and not s.title and s.provider:
        name = f"{name} ({s.provider})"
    data: dict[str, Any] = {
        "id": s.artifact_id,
        "name": name[: limits.MAX_NAME_CHARS],
        "kind": "mcp-server",
        "task": "tool-integration",
        "status": s.status,
        "provider": s.provider,
        "url": s.url,
        "description": s.description,
        "released": s.released,
        "updated": s.updated,
        "packages": s.packages,
        "remotes": s.remotes,
        "imported_from": IMPORTED_FROM,
    }
    if not s.description:
        # Nothing to decompose: one capability from the name, and no claim beyond it.
        words = " ".join(re.split(r"[-_.]+", s.server_part))
        data["capabilities"] = [
            {
                "title": name[: limits.MAX_TITLE_CHARS],
                "text": f"{words}: the MCP server {s.name}. The registry gives no description.",
            }
        ]
    return {k: v for k, v in data.items() if v is not None}


# -- field checks that name the registry's own fields ------------------------------------------


def _fail(origin: str, label: str | None, message: str) -> NoReturn:
    raise InvalidInput(origin, None, label, message)


def _object(value: Any, origin: str, label: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(origin, label, f"must be an object, got {type_name(value)}")
    return value


class _Reader:
    """Reads fields of one object of a record; a failure names the document and the path."""

    def __init__(self, data: dict[str, Any], origin: str, prefix: str):
        self.data, self.origin, self.prefix = data, origin, prefix

    def fail(self, key: str, message: str) -> NoReturn:
        _fail(self.origin, f"{self.prefix}.{key}", message)

    def text(self, key: str, max_chars: int, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(key, "is required" if value is None else "must not be empty")
            return None
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {type_name(value)}")
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        if len(value) > max_chars:
            # Refused, not cut: a cut text would pass for what the registry said.
            self.fail(key, f"is {len(value):,} characters long; the limit is {max_chars:,}")
        if _CONTROL.search(value):
            self.fail(key, "contains control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(key, "contains a lone surrogate, which is not valid Unicode text")
        return value

    def required(self, key: str, max_chars: int) -> str:
        value = self.text(key, max_chars, required=True)
        assert value is not None  # text() refused a missing one
        return value

    def url(self, key: str) -> str | None:
        value = self.text(key, 2000)
        if value is not None and not re.match(r"https?://\S+$", value):
            self.fail(key, f"must be an http(s) address; got {value[:80]!r}")
        return value

    def day(self, key: str) -> str | None:
        value = self.text(key, 64)
        if value is None:
            return None
        try:
            return parse_time(value).date().isoformat()
        except (ValueError, OverflowError):
            self.fail(key, f"must be an RFC 3339 time such as 2025-09-01T12:00:00Z; got {value!r}")

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {type_name(value)}")
        return value

    def items(self, key: str) -> list[dict[str, Any]]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"must be a list, got {type_name(value)}")
        if len(value) > MAX_FACTS:
            self.fail(key, f"has {len(value)} items; the limit is {MAX_FACTS}")
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                _fail(
                    self.origin,
                    f"{self.prefix}.{key}[{i}]",
                    f"must be an object, got {type_name(item)}",
                )
        return value
