"""A stand-in for the Hugging Face Hub on 127.0.0.1, speaking its JSON for the importer's tests.

It answers what huggingface_hub asks: `GET /api/models` (filters, sort, `expand`, pages joined
by a `Link: <…>; rel="next"` header and a cursor), `GET /api/models/{org}/{name}` (only the
expanded properties, as the Hub does) and `GET /{org}/{name}/resolve/{revision}/README.md`.
Every request is recorded (path, query, Authorization), and faults can be queued per request
kind: an HTTP status (sent with `Retry-After: 0`) or "truncate" (a 200 whose JSON is cut).

    python -m tests.hub_server --synthetic 50000    # serves a generated listing; prints its URL
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

# What the Hub lists for a model when no `expand` is asked.
DEFAULT_LIST = (
    "likes",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
)
SORT_KEYS = {"lastModified", "downloads", "likes", "createdAt", "trendingScore"}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FakeHub:
    """Models (the Hub's full JSON for each, by id), their cards, and the faults to play."""

    def __init__(self, models: list[dict[str, Any]], cards: dict[str, str], page_size: int = 5):
        self.models = {m["id"]: m for m in models}
        self.cards = dict(cards)
        self.page_size = page_size
        self.seen: list[Seen] = []
        self.faults: dict[str, list[int | str]] = {}
        self.lock = threading.Lock()
        self.record = True
        self._server: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------------

    def fault(self, key: str, *actions: int | str) -> None:
        """Queue answers for a request kind: `listing:<page>` (0-based), `model:<repo id>`,
        `card:<repo id>`; each action is an HTTP status or "truncate"."""
        with self.lock:
            self.faults.setdefault(key, []).extend(actions)

    def requests(self, kind: str) -> list[Seen]:
        prefix = {"listing": "/api/models", "model": "/api/models/", "card": "/"}[kind]
        with self.lock:
            seen = list(self.seen)
        if kind == "listing":
            return [s for s in seen if s.path == prefix]
        if kind == "model":
            return [s for s in seen if s.path.startswith(prefix)]
        return [s for s in seen if s.path.endswith("/README.md")]

    def start(self) -> str:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def take_fault(self, key: str) -> int | str | None:
        with self.lock:
            queue = self.faults.get(key)
            return queue.pop(0) if queue else None

    # -- the Hub's answers -----------------------------------------------------------------

    def listing(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        one = {k: v[-1] for k, v in query.items()}
        models = list(self.models.values())
        if "author" in one:
            models = [m for m in models if m["id"].split("/")[0] == one["author"]]
        if "search" in one:
            models = [m for m in models if one["search"].lower() in m["id"].lower()]
        if "pipeline_tag" in one:
            models = [m for m in models if m.get("pipeline_tag") == one["pipeline_tag"]]
        for tag in query.get("filter", []):
            models = [m for m in models if tag in (m.get("tags") or [])]
        key = one.get("sort")
        if key in SORT_KEYS:  # the Hub sorts descending
            models.sort(key=lambda m: (m.get(key) or 0, m["id"]), reverse=True)
        return models

    @staticmethod
    def shown(model: dict[str, Any], expand: list[str], default: tuple[str, ...]) -> dict[str, Any]:
        keys = expand or default
        out = {"_id": model["_id"], "id": model["id"]}
        out.update({k: model[k] for k in keys if k in model})
        return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Hub
    # One write per answer (flushed after each request) and no Nagle delay: otherwise each
    # answer waits for the client's delayed ACK, 40 ms a request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    fake: FakeHub

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        hub = self.fake
        if hub.record:
            with hub.lock:
                hub.seen.append(Seen("GET", parts.path, query, self.headers.get("Authorization")))
        if parts.path == "/api/models":
            self._listing(query)
        elif parts.path.startswith("/api/models/"):
            self._model(parts.path.removeprefix("/api/models/"), query)
        elif "/resolve/" in parts.path and parts.path.endswith("/README.md"):
            self._card(parts.path[1:].split("/resolve/")[0])
        else:
            self._send(404, {"error": "Not found"})

    def _listing(self, query: dict[str, list[str]]) -> None:
        hub = self.fake
        cursor = query.pop("cursor", ["0"])[-1]
        start = int(base64.urlsafe_b64decode(cursor.encode()).decode() if cursor != "0" else 0)
        page = start // hub.page_size
        if self._faulted(f"listing:{page}"):
            return
        models = hub.listing(query)
        chunk = models[start : start + hub.page_size]
        body = [hub.shown(m, query.get("expand", []), DEFAULT_LIST) for m in chunk]
        headers = {}
        if start + hub.page_size < len(models):
            nxt = base64.urlsafe_b64encode(str(start + hub.page_size).encode()).decode()
            link = f"{hub.url}/api/models?{urlencode({**query, 'cursor': [nxt]}, doseq=True)}"
            headers["Link"] = f'<{link}>; rel="next"'
        self._send(200, body, headers)

    def _model(self, repo_id: str, query: dict[str, list[str]]) -> None:
        if self._faulted(f"model:{repo_id}"):
            return
        model = self.fake.models.get(repo_id)
        if model is None:
            self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            return
        self._send(200, self.fake.shown(model, query.get("expand", []), tuple(model)))

    def _card(self, repo_id: str) -> None:
        if self._faulted(f"card:{repo_id}"):
            return
        card = self.fake.cards.get(repo_id)
        if card is None or repo_id not in self.fake.models:
            self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
            return
        self._raw(200, card.encode(), "text/markdown; charset=utf-8", {})

    def _faulted(self, key: str) -> bool:
        action = self.fake.take_fault(key)
        if action is None:
            return False
        if action == "truncate":
            self._raw(200, b'[{"_id": "x", "id": "acme/cut', "application/json", {})
        else:
            self._send(int(action), {"error": "injected"}, {"Retry-After": "0"})
        return True

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(body).encode(), "application/json", headers or {})

    def _raw(self, status: int, data: bytes, kind: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


# -- data --------------------------------------------------------------------------------------


def model_json(
    repo_id: str,
    modified: str,
    *,
    task: str | None = "text-generation",
    downloads: int = 100,
    likes: int = 1,
    created: str = "2025-01-01T00:00:00.000Z",
    library: str | None = "transformers",
    parameters: int | None = None,
    card: dict[str, Any] | None = None,
    gated: bool | str = False,
    private: bool = False,
    tags: list[str] | None = None,
    readme: bool = True,
) -> dict[str, Any]:
    """One model as the Hub's /api/models/{id} returns it in full (the fields we expand)."""
    sha = hashlib.sha1(f"{repo_id}@{modified}".encode()).hexdigest()
    files = [".gitattributes", "config.json", "model.safetensors"] + (
        ["README.md"] if readme else []
    )
    model: dict[str, Any] = {
        "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
        "id": repo_id,
        "modelId": repo_id,
        "author": repo_id.split("/")[0],
        "sha": sha,
        "lastModified": modified,
        "createdAt": created,
        "private": private,
        "gated": gated,
        "disabled": False,
        "downloads": downloads,
        "likes": likes,
        "trendingScore": 0,
        "library_name": library,
        "pipeline_tag": task,
        "tags": (tags or [library or "pytorch", "safetensors"])
        + ([f"license:{card['license']}"] if card and isinstance(card.get("license"), str) else []),
        "cardData": card or {},
        "siblings": [{"rfilename": f} for f in files],
        "safetensors": {"parameters": {"BF16": parameters}, "total": parameters}
        if parameters
        else None,
    }
    return {k: v for k, v in model.items() if v is not None}


_WHAT = [
    "summarises long reports into a few bullet points",
    "translates product descriptions between English and Spanish",
    "classifies support tickets by urgency and topic",
    "answers questions over a company's internal documents",
    "writes SQL queries from plain-language questions",
    "detects objects such as cars and people in street photos",
    "transcribes meeting recordings with speaker turns",
    "generates product photos from a short text prompt",
]


def synthetic(n: int, seed: int = 7) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`n` models, newest first a minute apart, a third fine-tuned from an older one."""
    rng = random.Random(seed)
    newest = datetime(2026, 11, 1, tzinfo=UTC)

    def repo(i: int) -> str:
        return f"org{i % 997}/model-{i:06d}"

    models, cards = [], {}
    for i in range(n):
        modified = (newest - timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        base = i + 1 + rng.randrange(50)
        card: dict[str, Any] = {"license": "apache-2.0"}
        if i % 3 == 0 and base < n:
            card["base_model"] = repo(base)
        models.append(
            model_json(
                repo(i),
                modified,
                downloads=rng.randrange(10**6),
                likes=rng.randrange(1000),
                parameters=rng.randrange(10**6, 10**10),
                card=card,
            )
        )
        a, b = rng.sample(_WHAT, 2)
        cards[repo(i)] = (
            f"---\nlicense: apache-2.0\n---\n\n# model-{i:06d}\n\nThis model {a}. It also {b}.\n\n"
            f"## Training\n\nTrained for {rng.randrange(1, 9)} epochs.\n"
        )
    return models, cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    models, cards = synthetic(args.synthetic)
    hub = FakeHub(models, cards, page_size=args.page_size)
    hub.record = False  # 50,000 models' requests are not worth keeping
    print(hub.start(), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    hub.stop()


if __name__ == "__main__":
    main()
