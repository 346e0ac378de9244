"""A local MCP Registry API on 127.0.0.1 (GET /v0/servers, cursor pages) for tests and bench."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OFFICIAL = "io.modelcontextprotocol.registry/official"


def entry(
    name: str,
    description: str,
    version: str = "1.0.0",
    status: str = "active",
    latest: bool = True,
    published: str = "2025-10-01T09:00:00Z",
    updated: str = "2025-10-02T09:00:00Z",
    **server: Any,
) -> dict[str, Any]:
    """One item of a list response: a server.json and the registry's own metadata."""
    return {
        "server": {
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json",
            "name": name,
            "description": description,
            "version": version,
            **server,
        },
        "_meta": {
            OFFICIAL: {
                "status": status,
                "publishedAt": published,
                "updatedAt": updated,
                "isLatest": latest,
            }
        },
    }


class LocalRegistry:
    """Serves `entries` as the live API does: `limit` (capped at `page_size`), an opaque
    `cursor` ("<name>:<version>" of the last item sent), `metadata.nextCursor` until the end.

    `faults` maps a page number (0-based) to what goes wrong there: "500", "503" (always),
    "truncated" (half the JSON, a valid HTTP answer) or "429-once" (Retry-After: 0, then the
    page). `files` maps other paths to bodies served as they are. `requests` logs each path.
    """

    def __init__(self, entries: list[dict[str, Any]], page_size: int = 3):
        self.entries = entries
        self.page_size = page_size
        self.faults: dict[int, str] = {}
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base}/v0/servers"

    def __enter__(self) -> LocalRegistry:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        limit = min(int(query.get("limit", [self.page_size])[0]), self.page_size)
        start = 0
        if "cursor" in query:
            keys = [self._key(e) for e in self.entries]
            start = keys.index(query["cursor"][0]) + 1
        items = self.entries[start : start + limit]
        metadata: dict[str, Any] = {"count": len(items)}
        if start + limit < len(self.entries):
            metadata["nextCursor"] = self._key(items[-1])
        return start // max(limit, 1), {"servers": items, "metadata": metadata}

    @staticmethod
    def _key(item: dict[str, Any]) -> str:
        server = item.get("server", {})
        return f"{server.get('name')}:{server.get('version')}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                registry.requests.append(self.path)
                parts = urlsplit(self.path)
                if parts.path in registry.files:
                    return self._send(200, registry.files[parts.path])
                if parts.path != "/v0/servers":
                    return self._send(404, b'{"error": "Not Found"}')
                number, doc = registry.page(parse_qs(parts.query))
                body = json.dumps(doc).encode()
                fault = registry.faults.get(number)
                if fault == "500":
                    return self._send(500, b'{"error": "Internal Server Error"}')
                if fault == "503":
                    return self._send(503, b'{"error": "busy"}', {"Retry-After": "0"})
                if fault == "429-once":
                    del registry.faults[number]
                    return self._send(429, b'{"error": "slow down"}', {"Retry-After": "0"})
                if fault == "truncated":
                    body = body[: len(body) // 2]
                self._send(200, body)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
