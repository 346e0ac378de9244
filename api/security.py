"""Host-header check (against DNS rebinding) and security headers on every answer."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("unfragile.api")

# A browser on this machine reaches a loopback server by these names; a page on another site
# that rebinds its own name to 127.0.0.1 still sends that name, so it is refused.
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")

# Pages: our stylesheet, the rank bars' inline widths, forms to ourselves; no script at all.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# /docs and /redoc load Swagger UI and ReDoc from this server (DOCS_ASSETS, the files the
# fastapi-offline package ships), so they work with no internet; their one inline script is
# allowed by its hash (added per page), their injected styles need 'unsafe-inline'.
DOCS_ASSETS = "/docs/assets"
DOCS_POLICY = (
    "default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?")


def split_host(value: str) -> tuple[str, str | None] | None:
    """'Example.com:8000' -> ('example.com', '8000'); '[::1]' -> ('[::1]', None); None when
    it is not a host name with an optional port."""
    match = _HOST.fullmatch(value.strip().lower())
    return (match.group(1), match.group(2)) if match else None


class HostAllowlist:
    """Loopback names with any port, plus configured `name` (any port) or `name:port`."""

    def __init__(self, allowed: tuple[str, ...] = ()):
        self.any = "*" in allowed
        self.names = set(LOOPBACK)
        self.pairs: set[tuple[str, str]] = set()
        for entry in allowed:
            if entry == "*":
                continue
            parsed = split_host(entry)
            if parsed is None:
                raise ValueError(
                    f"UNFRAGILE_ALLOWED_HOSTS: {entry!r} is not a host name (name or name:port)"
                )
            name, port = parsed
            if port is None:
                self.names.add(name)
            else:
                self.pairs.add((name, port))

    def allows(self, host: str | None) -> bool:
        if self.any:
            return True
        parsed = split_host(host) if host else None
        return parsed is not None and (parsed[0] in self.names or parsed in self.pairs)


class Security:
    """ASGI middleware, outermost: refuses a Host off the allowlist with a 421 JSON answer
    before anything else runs, and adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] = ()):
        self.app, self.hosts = app, HostAllowlist(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                # A route may set its own policy (the docs pages); everything else gets
                # the strict one, JSON answers too (harmless there, and one rule is simpler).
                headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            await send(message)

        if not self.hosts.allows(host):
            log.warning("refused Host %r for %s %s", host, scope.get("method"), scope["path"])
            await _misdirected(with_headers)
            return
        await self.app(scope, receive, with_headers)


async def _misdirected(send: Send) -> None:
    body = json.dumps(
        {
            "error": "misdirected",
            "message": "this server does not answer for that Host name; its operator can "
            "allow it with UNFRAGILE_ALLOWED_HOSTS",
            "field": "Host",
            "index": None,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 421,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the docs pages ------------------------------------------------------------------------

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def _docs_page(page: HTMLResponse) -> HTMLResponse:
    """The page with a policy allowing exactly its own inline scripts, by hash."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]
    page.headers["Content-Security-Policy"] = DOCS_POLICY.format(
        scripts=" ".join([*hashes, "'self'"])
    )
    return page


def install_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve /docs and /redoc as FastAPI does (create the app with docs_url=None and
    redoc_url=None) but with their assets from DOCS_ASSETS, each with its own
    Content-Security-Policy."""
    app.mount(
        DOCS_ASSETS,
        StaticFiles(directory=str(files("fastapi_offline") / "static")),
        name="docs-assets",
    )

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        assets = root + DOCS_ASSETS
        return _docs_page(
            get_swagger_ui_html(
                openapi_url=root + app.openapi_url,
                title=f"{app.title} - Docs",
                swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                swagger_css_url=f"{assets}/swagger-ui.css",
                swagger_favicon_url=f"{assets}/favicon.png",
            )
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        assets = root + DOCS_ASSETS
        return _docs_page(
            get_redoc_html(
                openapi_url=root + app.openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{assets}/redoc.standalone.js",
                redoc_favicon_url=f"{assets}/favicon.png",
                with_google_fonts=False,
            )
        )
