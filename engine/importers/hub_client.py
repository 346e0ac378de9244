"""The Hugging Face Hub as huggingface_hub's client reads it: the listing, a model's details
and card, retried politely, every failure as one RemoteSourceError."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from unfragile.engine.errors import RemoteSourceError
from unfragile.engine.importers import hub_records as hr

T = TypeVar("T")
SORTS = {"lastModified": "last_modified", "downloads": "downloads", "likes": "likes"}
# What one model's details request asks for (the Hub then returns only these and the id).
DETAILS = [
    "author",
    "cardData",
    "createdAt",
    "downloads",
    "gated",
    "gguf",
    "lastModified",
    "library_name",
    "likes",
    "pipeline_tag",
    "private",
    "safetensors",
    "sha",
    "siblings",
    "tags",
]
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
MAX_RETRIES = 5  # as huggingface_hub's own http_backoff: waits 1, 2, 4, 8, 8 s


@dataclass
class Listed:
    repo_id: str
    modified: str | None  # ISO lastModified, as the state compares them
    position: int


@dataclass
class Model:
    info: Any  # huggingface_hub.ModelInfo
    card: str | None


def hub_endpoint(endpoint: str | None = None) -> str:
    """The Hub to read: the one given, else $HF_ENDPOINT (read now, not at import), else
    huggingface.co."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or hr.HUB_URL).rstrip("/")


class HubClient:
    """huggingface_hub's HfApi and its HTTP helpers, each failure as one RemoteSourceError."""

    def __init__(self, endpoint: str, token: str | None):
        from huggingface_hub import HfApi

        self.endpoint = endpoint
        self._token = token  # never printed: messages name the endpoint and path only
        self.api = HfApi(endpoint=endpoint, token=token, library_name="unfragile")

    def listing(
        self, task: str | None, author: str | None, search: str | None, sort: str
    ) -> Iterator[Listed]:
        """The models the Hub lists for these filters, in its order (`sort`: lastModified,
        downloads or likes, newest or most first), with their lastModified."""
        # The pages go through huggingface_hub's http_backoff: 429 and 5xx are retried,
        # honouring Retry-After, before an error reaches us.
        models = self.api.list_models(
            author=author,
            search=search,
            pipeline_tag=task,
            sort=SORTS[sort],  # type: ignore[arg-type]
            expand=["lastModified"],
        )
        it = iter(models)
        position = 0
        while True:
            with self._errors("the model listing (/api/models)"):
                info = next(it, None)
            if info is None:
                return
            modified = iso(info.last_modified) if info.last_modified else None
            yield Listed(info.id, modified, position)
            position += 1

    def model(self, repo_id: str) -> Model | None:
        """One model's details and card; None when the Hub no longer shows it."""
        where = f"the model {repo_id} (/api/models/{repo_id})"
        try:
            with self._errors(where):
                info = _backoff(lambda: self.api.model_info(repo_id, expand=DETAILS))  # type: ignore[arg-type]
        except RemoteSourceError as e:
            if e.status in (401, 403, 404, 410):
                return None
            raise
        card = self._card(info) if hr.has_readme(info) else None
        return Model(info, card)

    def _card(self, info: Any) -> str | None:
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff

        # One GET of the card at the listed revision, with the library's retrying helper;
        # hf_hub_download would keep a copy of every card in the HF cache.
        url = hf_hub_url(info.id, "README.md", revision=info.sha, endpoint=self.endpoint)
        headers = build_hf_headers(token=self._token, library_name="unfragile")
        try:
            with self._errors(f"the card of {info.id} (README.md)"):
                response = http_backoff("GET", url, headers=headers)
                hf_raise_for_status(response)
                raw = response.content
        except RemoteSourceError as e:
            if e.status in (401, 403, 404, 410):
                return None
            raise
        return raw.decode("utf-8", "replace")

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        hub = f"the Hugging Face Hub at {self.endpoint}"
        try:
            yield
        except OfflineModeIsEnabled:
            raise RemoteSourceError(
                hub,
                "offline mode is on (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set); "
                "unset it to import from the Hub",
            ) from None
        except HfHubHTTPError as e:
            status = e.response.status_code if e.response is not None else None
            hint = " (check HF_TOKEN)" if status in (401, 403) else ""
            retried = f" after {MAX_RETRIES} retries" if status in RETRY_STATUSES else ""
            raise RemoteSourceError(
                hub, f"answered HTTP {status}{retried} for {what}{hint}", status=status
            ) from None
        except httpx2.HTTPError as e:
            raise RemoteSourceError(
                hub, f"could not be read for {what}: {type(e).__name__}"
            ) from None
        except ValueError:  # the body is not JSON
            raise RemoteSourceError(
                hub, f"sent a response for {what} that is not valid JSON (cut short?)"
            ) from None
        except (KeyError, TypeError, AttributeError):  # JSON, but not the Hub's shape
            raise RemoteSourceError(
                hub, f"sent a response for {what} that is not in the shape of the Hub's API"
            ) from None


def _backoff(call: Callable[[], T]) -> T:
    """Retry a call the library does not retry itself (model_info) as its http_backoff does:
    429 and 5xx up to five times, waiting Retry-After when given, else 1, 2, 4, 8, 8 s."""
    from huggingface_hub.errors import HfHubHTTPError

    wait = 1.0
    for attempt in range(MAX_RETRIES + 1):
        try:
            return call()
        except HfHubHTTPError as e:
            response = e.response
            if response is None or response.status_code not in RETRY_STATUSES:
                raise
            if attempt == MAX_RETRIES:
                raise
            after = response.headers.get("Retry-After", "").strip()
            time.sleep(float(after) if after.isdigit() else wait)
            wait = min(8.0, wait * 2)
    raise AssertionError("unreachable")


def iso(value: datetime) -> str:
    """A time as the import state compares them: UTC, microseconds, sortable as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
