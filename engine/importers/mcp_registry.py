"""Import the MCP Registry (its API, paginated, or a JSON file) as mcp-server artifacts.

The whole listing is read and checked first, then written through the ingest (all or
nothing: bad input leaves the graph as it was). Servers this importer brought in earlier that
a complete listing no longer holds are marked `status: removed`, never deleted.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from unfragile.engine.decompose import decompose
from unfragile.engine.errors import InvalidInput
from unfragile.engine.importers.mcp_records import (
    IMPORTED_FROM,
    Server,
    blank,
    entries,
    latest,
    parse,
    raw_records,
)
from unfragile.engine.ingest import ingest
from unfragile.engine.progress import progress
from unfragile.graph.connection import Graph

DEFAULT_URL = "https://registry.modelcontextprotocol.io/v0/servers"
PAGE_LIMIT = 100  # servers asked for per page when the URL does not say
# Query parameters that leave a listing whole: paging, and the latest version of each server.
# Any other (search, updated_since, ...) lists a part, after which nothing is marked removed.
WHOLE = {("limit", None), ("cursor", None), ("version", "latest")}
RETRY = {429, 502, 503, 504}  # busy or rate limited: worth asking again
MAX_PAGES = 100_000  # a registry that never stops paging is a bug, not a big registry
MAX_BYTES = 256 * 1024 * 1024  # one page or file

MARK_REMOVED = """
MATCH (a:Artifact {imported_from: $source})
WHERE NOT a.id IN $ids AND coalesce(a.status, 'active') <> 'removed'
SET a.status = 'removed', a.superseded_by = null
RETURN a.id AS id ORDER BY id
"""


@dataclass
class RegistryReport:
    source: str
    pages: int = 0  # documents read: pages of the API, or 1 for a file
    records: int = 0  # server records in them
    blank: int = 0  # placeholder records with every field empty, skipped
    merged: int = 0  # records of a server already read (older versions, repeats)
    servers: int = 0  # artifacts written
    capabilities: int = 0
    complete: bool = True  # the whole registry was read (so missing servers are removed)
    removed: int | None = None  # newly marked removed; None when the listing was partial
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@dataclass
class Fetcher:
    """GETs over urllib with a timeout; 429 and 502-504 are asked again after Retry-After
    (seconds or an HTTP date, at most `max_wait_s`), else after `backoff_s` doubling."""

    timeout_s: float = 30.0
    attempts: int = 5
    backoff_s: float = 1.0
    max_wait_s: float = 120.0

    def get(self, url: str) -> bytes:
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "unfragile-import/0.1"}
        )
        for attempt in range(1, self.attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                    body = answer.read(MAX_BYTES + 1)
            except urllib.error.HTTPError as e:
                if e.code in RETRY and attempt < self.attempts:
                    time.sleep(self.wait_s(e.headers.get("Retry-After"), attempt))
                    continue
                tries = f" after {attempt} tries" if e.code in RETRY else ""
                raise InvalidInput(url, None, None, f"HTTP {e.code} {e.reason}{tries}") from None
            except http.client.IncompleteRead as e:
                raise InvalidInput(
                    url, None, None, f"the answer was cut short ({len(e.partial):,} bytes read)"
                ) from None
            except http.client.HTTPException as e:  # a malformed answer
                raise InvalidInput(url, None, None, f"not a valid HTTP answer: {e!r}") from None
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise InvalidInput(url, None, None, f"cannot read it: {reason}") from None
            if len(body) > MAX_BYTES:
                raise InvalidInput(url, None, None, f"the answer is over {MAX_BYTES:,} bytes")
            return body
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def wait_s(self, retry_after: str | None, attempt: int) -> float:
        """How long to wait before try `attempt` + 1."""
        wait = self.backoff_s * 2 ** (attempt - 1)
        if retry_after:
            text = retry_after.strip()
            if text.isdigit():
                wait = float(text)
            else:
                try:
                    when = email.utils.parsedate_to_datetime(text)
                    wait = (when - datetime.now(UTC)).total_seconds()
                except (TypeError, ValueError):
                    pass  # unreadable: keep the backoff
        return min(max(wait, 0.0), self.max_wait_s)


@dataclass
class Listing:
    servers: list[Server]
    report: RegistryReport


def read_listing(
    source: str, fetcher: Fetcher | None = None, show_progress: bool = True
) -> Listing:
    """Every server record of a file or of all pages of a URL, checked; nothing written."""
    started = time.perf_counter()
    report = RegistryReport(source=source)
    servers: list[Server] = []

    def take(doc: Any, origin: str) -> str | None:
        items, cursor = entries(doc, origin)
        report.pages += 1
        report.records += len(items)
        for label, item in items:
            if blank(item):
                report.blank += 1
            else:
                servers.append(parse(item, origin, label))
        return cursor

    if is_url(source):
        report.complete = whole(source)
        fetcher = fetcher or Fetcher()
        seen: set[str] = set()
        cursor: str | None = None
        with progress(desc="read", unit="page", enabled=show_progress) as bar:
            while True:
                url = page_url(source, cursor)
                cursor = take(_json(fetcher.get(url), url), url)
                bar.update(1)
                bar.set_postfix(servers=len(servers))
                if not cursor:
                    break
                if cursor in seen or report.pages >= MAX_PAGES:
                    raise InvalidInput(
                        url, None, "metadata.nextCursor", f"the listing does not end ({cursor!r})"
                    )
                seen.add(cursor)
    else:
        take(_json(_read_file(source), source), source)
    kept, report.merged = latest(servers)
    report.seconds = time.perf_counter() - started
    return Listing(kept, report)


def import_registry(
    graph: Graph,
    source: str | None = None,
    partial: bool = False,
    fetcher: Fetcher | None = None,
    show_progress: bool = True,
    decompose_fn: Callable = decompose,
) -> RegistryReport:
    """Read `source` (default: the official registry) whole, write its servers, and mark
    the ones gone from a complete listing removed."""
    listing = read_listing(source or DEFAULT_URL, fetcher, show_progress)
    return write_listing(graph, listing, partial, show_progress, decompose_fn)


def write_listing(
    graph: Graph,
    listing: Listing,
    partial: bool = False,
    show_progress: bool = True,
    decompose_fn: Callable = decompose,
) -> RegistryReport:
    """Write a listing read whole through the ingest; then, when it is complete, mark what it
    no longer holds removed."""
    started = time.perf_counter()
    report = listing.report
    report.complete = report.complete and not partial
    if not listing.servers:
        # Taken at its word, an empty listing would mark every server removed.
        raise InvalidInput(report.source, None, None, "the registry lists no servers")
    records = raw_records(listing.servers)
    try:
        written = ingest(
            graph, records=records, decompose_fn=decompose_fn, show_progress=show_progress
        )
    except InvalidInput as e:
        # Our own records are checked above; should the ingest still refuse one, name the
        # registry's record rather than a line of a file that does not exist.
        at = (e.line or 0) - 1
        if not 0 <= at < len(records) or e.source != records[at].source:
            raise
        where = listing.servers[at]
        raise InvalidInput(
            where.origin, None, where.label, f"{e.field or 'record'}: {e.message}"
        ) from None
    report.servers, report.capabilities = written.artifacts, written.capabilities
    if report.complete:
        ids = [s.artifact_id for s in listing.servers]
        report.removed = len(
            graph.write(lambda tx: list(tx.run(MARK_REMOVED, source=IMPORTED_FROM, ids=ids)))
        )
    report.seconds += time.perf_counter() - started
    return report


# -- sources -----------------------------------------------------------------------------------


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def whole(url: str) -> bool:
    """Whether the URL lists the whole registry (no filter in its query)."""
    return all(
        (k, None) in WHOLE or (k, v) in WHOLE
        for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)
    )


def page_url(url: str, cursor: str | None) -> str:
    """The URL of one page: `limit` added to a listing that does not set it, `cursor` set."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cursor"]
    if parts.path.rstrip("/").endswith("/servers") and not any(k == "limit" for k, _ in query):
        query.append(("limit", str(PAGE_LIMIT)))
    if cursor:
        query.append(("cursor", cursor))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _read_file(source: str) -> bytes:
    path = Path(source)
    if not path.exists():
        raise InvalidInput(source, None, None, "no such file (nor an http(s) URL)")
    if not path.is_file():
        raise InvalidInput(source, None, None, "not a file: give the registry's JSON file")
    if path.stat().st_size > MAX_BYTES:
        raise InvalidInput(source, None, None, f"the file is over {MAX_BYTES:,} bytes")
    return path.read_bytes()


def _json(body: bytes, origin: str) -> Any:
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise InvalidInput(origin, None, None, f"not valid UTF-8 (byte {e.start + 1})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(
            origin,
            None,
            None,
            f"not valid JSON (cut short or broken): {e.msg} at line {e.lineno} column {e.colno}",
        ) from None
    except (RecursionError, ValueError) as e:
        raise InvalidInput(origin, None, None, f"not valid JSON: {e}") from None
