"""A cap on request bodies, checked before the body is read and again while it streams in."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BodyTooLarge

# Multipart framing around an uploaded file: boundaries, part headers, the k field.
MULTIPART_SLACK = 64 * 1024


class BodyLimit:
    """ASGI middleware: 413 when Content-Length is over the limit, or when a body without
    one grows past it (the route never sees more than `limit` bytes)."""

    def __init__(self, app: ASGIApp, default: int, per_path: dict[str, int]):
        self.app, self.default, self.per_path = app, default, per_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                await _answer(send, 400, "bad_request", "Content-Length is not a number")
                return
            if too_large:
                await _answer(
                    send, 413, "too_large", f"the request body is over the limit of {limit:,} bytes"
                )
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message, "field": None, "index": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
