"""`unfragile import huggingface`: models from the Hugging Face Hub, through huggingface_hub.

The listing (sorted, filtered by the Hub) is read page by page; each model's details
(safetensors, card metadata, files) and its README.md are read a few at a time; models are
written in batches through `ingest`, and after each committed batch the progress is saved
under `<home>/imports/huggingface.json` (temp file + os.replace). Sorted by lastModified
(the default), the state is the set of lastModified ranges already imported for these filters:
a later run imports what changed since and stops where it reaches them, and a run that stopped
part-way (an error, Ctrl-C, `--limit`) carries on where it stopped. Sorted by downloads or
likes, a run is a snapshot of the top models; an unfinished one resumes at its position.
"""

from __future__ import annotations

import functools
import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from unfragile.engine.decompose import decompose
from unfragile.engine.errors import InvalidInput, RemoteSourceError
from unfragile.engine.importers import hub_records as hr
from unfragile.engine.importers.hub_client import HubClient, Listed, Model, hub_endpoint, iso
from unfragile.engine.ingest import ingest
from unfragile.engine.progress import progress
from unfragile.engine.records import RawRecord
from unfragile.graph import store
from unfragile.graph.connection import Graph


@dataclass(frozen=True)
class HubFilters:
    task: str | None = None
    author: str | None = None
    search: str | None = None
    sort: str = "lastModified"
    since: date | None = None
    limit: int | None = None

    def key(self, endpoint: str) -> str:
        """What the saved progress belongs to: the endpoint and the Hub-side filters."""
        return json.dumps(
            {"endpoint": endpoint, "task": self.task, "author": self.author, "search": self.search},
            sort_keys=True,
        )


@dataclass
class HubReport:
    listed: int = 0  # models the listing returned to this run
    imported: int = 0  # written as hf:... artifacts (models listed and their base models)
    bases: int = 0  # of them, base models fetched because a model named them
    updated_existing: list[str] = field(default_factory=list)  # catalog artifacts refreshed
    skipped: int = 0  # listed, but imported by an earlier run and unchanged since
    unavailable: int = 0  # listed, but gone or closed by the time its details were asked
    dropped_links: int = 0  # base models named that could not be read
    capabilities: int = 0
    batches: int = 0
    complete: bool = False  # the listing was read to its end (or to what was imported before)
    up_to: str | None = None  # newest lastModified imported to the end, for these filters
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "imported": self.imported,
            "bases": self.bases,
            "updated_existing": self.updated_existing,
            "skipped": self.skipped,
            "unavailable": self.unavailable,
            "dropped_links": self.dropped_links,
            "capabilities": self.capabilities,
            "batches": self.batches,
            "complete": self.complete,
            "up_to": self.up_to,
            "seconds": round(self.seconds, 3),
        }


def import_models(
    graph: Graph,
    home: Path,
    filters: HubFilters,
    *,
    endpoint: str | None = None,
    token: str | None = None,
    batch_size: int = 200,
    workers: int = 4,
    show_progress: bool = True,
    today: date | None = None,
) -> HubReport:
    """Import the models the filters select; see the module docstring for what a re-run does."""
    started = time.perf_counter()
    run = _Run(graph, HubClient(hub_endpoint(endpoint), token), filters, home, workers, today)
    try:
        run.go(batch_size, show_progress)
    except RemoteSourceError as e:
        done = run.report.imported + len(run.report.updated_existing)
        note = (
            f"{done} models were written in complete batches before it; run the same "
            "command again to continue from there"
            if done
            else "Nothing was written"
        )
        raise RemoteSourceError(e.source, f"{e.message}. {note}", e.status) from None
    finally:
        run.report.seconds = time.perf_counter() - started
    return run.report


# Base models named by a batch are fetched with it, and their bases, up to this many steps.
MAX_GENERATIONS = 4


class _Run:
    """One import: walks the listing, writes batches, saves the progress after each."""

    def __init__(
        self,
        graph: Graph,
        client: HubClient,
        filters: HubFilters,
        home: Path,
        workers: int,
        today: date | None,
    ):
        self.graph, self.client, self.filters = graph, client, filters
        self.workers = workers
        self.as_of = (today or datetime.now(UTC).date()).isoformat()
        self.state = HubState.load(home, filters.key(client.endpoint))
        self.report = HubReport(up_to=self.state.up_to())
        self.catalog = _catalog_urls(graph)  # a Hub URL the catalog links to -> that artifact
        self.done: set[str] = set()  # repo ids written by this run
        # Details and cards are read ahead, a few at a time, while the batch before is written.
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers))
        self.ahead: dict[str, Future[Model | None]] = {}
        self.closed: list[tuple[list[Listed], Listed | None, bool, str | None, bool]] = []
        self.writing = False  # a batch is being written (a failure then stops at once)

    def go(self, batch_size: int, show_progress: bool) -> None:
        try:
            self._walk(batch_size, show_progress)
        except RemoteSourceError:
            if not self.writing:  # the listing failed: the batches it completed still go in
                while self.closed:
                    self._commit(*self.closed[0])
                    self.closed.pop(0)
            raise
        finally:  # what was read ahead for later batches is not waited for
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _walk(self, batch_size: int, show_progress: bool) -> None:
        f = self.filters
        ranked = f.sort != "lastModified"
        resume_at = self.state.position(f.sort) if ranked else 0
        since = iso(datetime.combine(f.since, datetime.min.time(), UTC)) if f.since else None
        pending: list[Listed] = []
        top: str | None = None  # the newest lastModified listed: this run covers down from it
        end: Listed | None = None  # the first model not gone through; None: the listing ended
        taken, limited = 0, False
        with progress(
            total=f.limit, desc="huggingface", unit="model", enabled=show_progress
        ) as bar:
            for item in self.client.listing(f.task, f.author, f.search, f.sort):
                self.report.listed += 1
                top = top or item.modified
                if limited:  # past --limit: this model only marks where the run stopped
                    end = item
                    break
                # Sorted by lastModified, a full batch is written once a model with another
                # lastModified comes, so what it covers is exactly "newer than that model".
                if len(pending) >= batch_size and item.modified != pending[-1].modified:
                    self._close(pending, top, item, ranked)
                    pending = []
                older = since is not None and item.modified is not None and item.modified < since
                if not ranked and (older or self.state.reached_floor(item.modified, since)):
                    end = item  # the rest is older than --since, or was imported before
                    break
                if ranked:
                    skip = item.position < resume_at
                else:
                    skip = self.state.covers(item.modified)
                self.report.skipped += skip
                skip = skip or item.repo_id in self.done  # written already, as a base model
                if not (skip or older):
                    pending.append(item)
                    self.ahead.setdefault(
                        item.repo_id, self.pool.submit(self.client.model, item.repo_id)
                    )
                    taken += 1
                    bar.update(1)
                    limited = f.limit is not None and taken >= f.limit
                if ranked and (len(pending) >= batch_size or limited):
                    self._close(pending, top, item, ranked)
                    pending = []
                    if limited:
                        break
            self._close(pending, top, end, ranked, final=True)
        # A ranked run is a snapshot, done once its top models are in; sorted by lastModified,
        # a run stopped by --limit leaves the older changes to the next run.
        self.report.complete = ranked or end is None or not limited

    def _close(
        self,
        batch: list[Listed],
        top: str | None,
        end: Listed | None,
        ranked: bool,
        final: bool = False,
    ) -> None:
        """A batch is complete: write the one before it, whose details were read meanwhile
        (all that is left, at the end)."""
        self.closed.append((batch, end, final, top, ranked))
        while len(self.closed) > (0 if final else 1):
            self._commit(*self.closed[0])
            self.closed.pop(0)

    def _commit(
        self, batch: list[Listed], end: Listed | None, final: bool, top: str | None, ranked: bool
    ) -> None:
        if batch:
            self.writing = True
            self._write(batch)
            self.writing = False
            self.report.batches += 1
        if ranked:
            self.state.set_position(
                self.filters.sort, None if final or end is None else end.position + 1
            )
        elif top is not None and (end is None or end.modified is not None):
            # Every model listed newer than `end` is in (all of them when the listing ended).
            self.state.add_range(end.modified if end is not None else None, top)
        self.state.save()
        self.report.up_to = self.state.up_to()

    def _write(self, batch: list[Listed]) -> None:
        found = {r: m for r, m in self._fetch([b.repo_id for b in batch]).items() if m}
        self.report.unavailable += len({b.repo_id for b in batch} - set(found) - self.done)
        listed = len(found)
        self._add_bases(found)
        known = store.existing_artifacts(
            self.graph,
            sorted({hr.artifact_id(b) for m in found.values() for b in hr.base_models(m.info)}),
        )
        lower = {r.lower() for r in found}
        records: list[RawRecord] = []
        refreshed: list[tuple[str, dict[str, Any]]] = []
        for repo_id, model in found.items():
            bases = hr.base_models(model.info)
            derived = [d for d in (self._id_of(b, lower, known) for b in bases) if d]
            self.report.dropped_links += len(bases) - len(derived)
            record = hr.model_record(model.info, model.card, derived, self.as_of)
            existing = self.catalog.get(hr.url_key(record["url"]))
            if existing is not None:
                refreshed.append((existing, record))
            else:
                records.append(RawRecord(f"huggingface:{repo_id}", 1, record))
        if records:
            try:
                # Validation and writing each decompose a description: once is enough.
                once = functools.lru_cache(maxsize=None)(decompose)
                result = ingest(self.graph, records=records, show_progress=False, decompose_fn=once)
            except RemoteSourceError:
                raise
            except InvalidInput as e:  # a record the checks refuse: the Hub sent odd data
                raise RemoteSourceError(self.client.endpoint, f"sent a model {e}") from None
            self.report.capabilities += result.capabilities
            self.report.imported += result.artifacts
        if refreshed:
            _refresh_catalog(self.graph, refreshed)
            self.report.updated_existing += [i for i, _ in refreshed]
        self.report.bases += len(found) - listed
        self.done.update(found)

    def _fetch(self, repo_ids: list[str]) -> dict[str, Model | None]:
        """Details and card of each model not written yet: read ahead, or read now."""
        futures = {}
        for r in dict.fromkeys(repo_ids):
            future = self.ahead.pop(r, None)
            if r not in self.done:
                futures[r] = future or self.pool.submit(self.client.model, r)
        return {r: future.result() for r, future in futures.items()}

    def _add_bases(self, found: dict[str, Model | None]) -> None:
        """Fetch the base models the batch names that neither it, the catalog nor the graph
        holds, and theirs in turn (a few generations), so DERIVED_FROM links land."""
        asked: set[str] = set()
        for _ in range(MAX_GENERATIONS):
            named = {b for m in found.values() if m for b in hr.base_models(m.info)}
            lower = {r.lower() for r in found}
            wanted = {
                b
                for b in named - asked
                if b.lower() not in lower and hr.url_key(hr.hub_url(b)) not in self.catalog
            }
            held = store.existing_artifacts(self.graph, sorted(hr.artifact_id(b) for b in wanted))
            wanted = {b for b in wanted if hr.artifact_id(b) not in held}
            if not wanted:
                return
            asked |= wanted
            for model in self._fetch(sorted(wanted)).values():
                if model is not None:
                    found[model.info.id] = model

    def _id_of(self, repo_id: str, in_batch: set[str], known: set[str]) -> str | None:
        catalog = self.catalog.get(hr.url_key(hr.hub_url(repo_id)))
        if catalog is not None:
            return catalog
        ident = hr.artifact_id(repo_id)
        return ident if repo_id.lower() in in_batch or ident in known else None


class HubState:
    """The progress of Hub imports, per endpoint and filter set, saved atomically.

    `ranges`: lastModified ranges (floor, top] whose models are imported, the floor None when
    the range reaches the listing's end; `positions`: for a ranked (downloads, likes) run cut
    short, how many listed models it had written.
    """

    def __init__(self, path: Path, key: str, data: dict[str, Any]):
        self.path, self.key, self.data = path, key, data
        self.entry = data.setdefault("imports", {}).setdefault(key, {})
        self.ranges: list[list[str | None]] = self.entry.setdefault("ranges", [])
        self.positions: dict[str, int] = self.entry.setdefault("positions", {})

    @classmethod
    def load(cls, home: Path, key: str) -> HubState:
        path = home / "imports" / "huggingface.json"
        data: dict[str, Any] = {"version": 1}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as e:
                raise InvalidInput(
                    str(path), None, None, f"unreadable import state ({e}); delete it to start over"
                ) from None
        return cls(path, key, data)

    def covers(self, modified: str | None) -> bool:
        return modified is not None and any(
            (lo is None or lo < modified) and modified <= str(hi) for lo, hi in self.ranges
        )

    def reached_floor(self, modified: str | None, since: str | None) -> bool:
        """Whether everything from `modified` down (to `since`, if given) is imported: it
        lies in a range that reaches the listing's end, or below `since`."""
        return self.covers(modified) and any(
            (lo is None or lo < str(modified)) and str(modified) <= str(hi)
            for lo, hi in self.ranges
            if lo is None or (since is not None and lo <= since)
        )

    def add_range(self, floor: str | None, top: str) -> None:
        spans = sorted([*self.ranges, [floor, top]], key=lambda r: (r[0] is not None, r[0] or ""))
        merged: list[list[str | None]] = []
        for lo, hi in spans:
            if merged and (lo is None or lo <= str(merged[-1][1])):
                merged[-1][1] = max(str(merged[-1][1]), str(hi))
            else:
                merged.append([lo, hi])
        self.ranges[:] = merged

    def up_to(self) -> str | None:
        """The newest lastModified imported down to the listing's end, if any."""
        return next((str(hi) for lo, hi in self.ranges if lo is None), None)

    def position(self, sort: str) -> int:
        return int(self.positions.get(sort, 0))

    def set_position(self, sort: str, position: int | None) -> None:
        if position is None:
            self.positions.pop(sort, None)
        else:
            self.positions[sort] = position

    def save(self) -> None:
        self.entry["saved"] = iso(datetime.now(UTC))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


# Catalog artifacts (ids not made by this importer) that link to a Hub repository.
CATALOG_URLS = """
MATCH (a:Artifact)
WHERE a.url STARTS WITH $prefix AND NOT a.id STARTS WITH $ours
RETURN a.id AS id, a.url AS url ORDER BY a.id
"""

SIGNAL_NAMES = "MATCH (a:Artifact) WHERE a.id IN $ids RETURN a.id AS id, a.signal_names AS names"

# A catalog artifact keeps its name, description, capabilities and links: the Hub's measured
# figures replace its popularity signals (illustrative ones included) and fill what it lacks.
REFRESH = """
UNWIND $rows AS r
MATCH (a:Artifact {id: r.id})
SET a += r.drop, a += r.signals,
    a.signal_names = r.signal_names, a.signals_illustrative = false,
    a.signals_as_of = r.as_of, a.updated = coalesce(r.updated, a.updated),
    a.gated = r.gated, a.private = r.private,
    a.parameters = coalesce(a.parameters, r.parameters),
    a.license = coalesce(a.license, r.license), a.task = coalesce(a.task, r.task),
    a.released = coalesce(a.released, r.released)
"""
_FILLED = ("updated", "gated", "private", "parameters", "license", "task", "released")


def _catalog_urls(graph: Graph) -> dict[str, str]:
    """Hub URL (lower case) -> the catalog artifact that links to it (the first by id)."""
    out: dict[str, str] = {}
    for row in graph.read(CATALOG_URLS, prefix=hr.HUB_URL + "/", ours=hr.ID_PREFIX):
        out.setdefault(hr.url_key(row["url"]), row["id"])
    return out


def _refresh_catalog(graph: Graph, items: list[tuple[str, dict[str, Any]]]) -> None:
    names = {r["id"]: r["names"] or [] for r in graph.read(SIGNAL_NAMES, ids=[i for i, _ in items])}
    rows = []
    for ident, record in items:
        signals = record.get("signals") or {}
        rows.append(
            {
                "id": ident,
                "drop": {f"signal_{n}": None for n in names.get(ident, []) if n not in signals},
                "signals": {f"signal_{k}": v for k, v in signals.items()},
                "signal_names": sorted(signals),
                "as_of": record.get("signals_as_of"),
                **{key: record.get(key) for key in _FILLED},
            }
        )
    graph.write(lambda tx: tx.run(REFRESH, rows=rows).consume())
