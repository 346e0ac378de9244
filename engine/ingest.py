"""Catalog and event ingest: validate all input first, then write it in idempotent batches."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from unfragile.engine import aggregate, event_batch, event_log, vote_fold
from unfragile.engine.decompose import decompose
from unfragile.engine.errors import InvalidInput
from unfragile.engine.event_log import Spill
from unfragile.engine.progress import progress
from unfragile.engine.records import (
    ArtifactRecord,
    EventRecord,
    RawRecord,
    input_files,
    is_event,
    read_records,
)
from unfragile.engine.validation import validate_artifact, validate_event
from unfragile.graph import store
from unfragile.graph.connection import Graph


@dataclass
class IngestReport:
    files: int = 0
    artifacts: int = 0
    capabilities: int = 0
    events: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "artifacts": self.artifacts,
            "capabilities": self.capabilities,
            "events": self.events,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Plan:
    """What validation learnt, kept small: ids and counts, never the records themselves."""

    files: list[Path]
    # In-memory records (an import that converts another format) instead of files.
    records: list[RawRecord] | None = None
    artifact_files: set[Path] = field(default_factory=set)
    event_files: set[Path] = field(default_factory=set)
    artifact_ids: dict[str, tuple[str, int]] = field(default_factory=dict)
    capability_owner: dict[str, str] = field(default_factory=dict)
    # First place each outside reference appears, to name it in an error.
    artifact_refs: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    capability_refs: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    artifacts: int = 0
    capabilities: int = 0
    events: int = 0
    # Validated events, spilled as Parquet while validation reads them (engine/event_log.py's
    # Spill), so the write pass neither parses nor checks them again. None: the write pass
    # reads the records.
    spill: Spill | None = None

    def keep(self, ev: EventRecord) -> None:
        if self.spill is not None:
            self.spill.add(ev)


def validate(
    graph: Graph | None,
    path: Path | None = None,
    decompose_fn: Callable = decompose,
    show_progress: bool = True,
    records: list[RawRecord] | None = None,
) -> _Plan:
    """Read every record and check it, and every reference it makes, before any write."""
    if records is not None:
        plan = _Plan(files=[], records=records)
        for raw in records:
            _check_record(plan, raw, decompose_fn)
    else:
        spill = Spill()
        plan = _Plan(files=input_files(path), spill=spill)
        total = sum(f.stat().st_size for f in plan.files)
        try:
            with progress(
                total=total, desc="validate", unit="B", unit_scale=True, enabled=show_progress
            ) as bar:
                for f in plan.files:
                    if not _checked_as_columns(plan, f):
                        for raw in read_records(f):
                            _check_record(plan, raw, decompose_fn)
                    bar.update(f.stat().st_size)
            _check_references(plan, graph)
        except BaseException:
            spill.close()
            raise
        return plan
    _check_references(plan, graph)
    return plan


def _checked_as_columns(plan: _Plan, f: Path) -> bool:
    """A file of events checked as Arrow columns (engine/event_batch.py) instead of line by
    line; False when it must go line by line (its records are not all events, one is bad,
    or the columns cannot tell for sure)."""
    assert plan.spill is not None
    done = event_batch.validate_file(f, plan.spill)
    if done is None:
        return False
    count, artifacts, capabilities = done
    source = str(f)
    for ref, line, name in artifacts:
        plan.artifact_refs.setdefault(ref, (source, line, name))
    for key, line in capabilities:
        plan.capability_refs.setdefault(key, (source, line, "capability"))
    plan.event_files.add(f)
    plan.events += count
    return True


@lru_cache(maxsize=256)
def _path(source: str) -> Path:
    return Path(source)


def _check_record(plan: _Plan, raw: RawRecord, decompose_fn: Callable) -> None:
    path = _path(raw.source)
    if is_event(raw):
        ev = validate_event(raw)
        plan.keep(ev)
        plan.event_files.add(path)
        plan.events += 1
        for name, ref in zip(
            ("winner", "loser") if ev.event == "prefer" else ("artifact",),
            ev.artifact_refs,
            strict=True,
        ):
            plan.artifact_refs.setdefault(ref, (raw.source, raw.line, name))
        if ev.capability:
            plan.capability_refs.setdefault(
                f"{ev.artifact}\x1f{ev.capability}", (raw.source, raw.line, "capability")
            )
        return
    art = validate_artifact(raw, decompose_fn)
    if art.id in plan.artifact_ids:
        first = plan.artifact_ids[art.id]
        raise InvalidInput(
            raw.source,
            raw.line,
            "id",
            f"artifact {art.id!r} is defined twice (first at {first[0]}:{first[1]})",
        )
    plan.artifact_ids[art.id] = (raw.source, raw.line)
    plan.artifact_files.add(path)
    plan.artifacts += 1
    plan.capabilities += len(art.capabilities)
    for cap in art.capabilities:
        owner = plan.capability_owner.setdefault(cap.id, art.id)
        if owner != art.id:
            raise InvalidInput(
                raw.source,
                raw.line,
                "capabilities",
                f"capability id {cap.id!r} already belongs to artifact {owner!r}",
            )
    for name, refs in (
        ("derived_from", art.derived_from),
        ("integrates_with", art.integrates_with),
    ):
        for ref in refs:
            plan.artifact_refs.setdefault(ref, (raw.source, raw.line, name))


def _check_references(plan: _Plan, graph: Graph | None) -> None:
    outside = sorted(set(plan.artifact_refs) - set(plan.artifact_ids))
    known = store.existing_artifacts(graph, outside) if (outside and graph) else set()
    for ref in outside:
        if ref not in known:
            source, line, name = plan.artifact_refs[ref]
            raise InvalidInput(
                source,
                line,
                name,
                f"unknown artifact {ref!r}: it is neither in this input nor in the graph",
            )
    pending = {}
    for key, where in plan.capability_refs.items():
        artifact, cap = key.split("\x1f")
        owner = plan.capability_owner.get(cap)
        if owner is None:
            pending[cap] = (artifact, where)
        elif owner != artifact:
            raise InvalidInput(
                where[0],
                where[1],
                "capability",
                f"capability {cap!r} belongs to {owner!r}, not to {artifact!r}",
            )
    in_graph = store.existing_capabilities(graph, sorted(pending)) if (pending and graph) else {}
    for cap, (artifact, where) in sorted(pending.items()):
        owner = in_graph.get(cap)
        if owner is None:
            raise InvalidInput(where[0], where[1], "capability", f"unknown capability {cap!r}")
        if owner != artifact:
            raise InvalidInput(
                where[0],
                where[1],
                "capability",
                f"capability {cap!r} belongs to {owner!r}, not to {artifact!r}",
            )


# Up to this many events (an API batch at most) reach the graph in one transaction: all or
# nothing. More are written in batches; the log's pending parts are the journal (below), so
# no failure leaves logged events without their edges for longer than the next ingest.
ONE_TRANSACTION_EVENTS = 10_000


def ingest(
    graph: Graph,
    path: Path | None = None,
    batch_size: int = 2000,
    decompose_fn: Callable = decompose,
    show_progress: bool = True,
    records: list[RawRecord] | None = None,
    events_only: bool = False,
    one_transaction: bool | None = None,
    finish_journal: bool = True,
) -> IngestReport:
    """Validate `path` (or `records`) whole, then write it.

    Safe to re-run, and to re-run after a crash: artifacts are idempotent merges, events are
    appended to the event log once each and their aggregates recomputed. Aggregates reach
    the graph in one transaction when `one_transaction` (default: when there are at most
    ONE_TRANSACTION_EVENTS events), else one per batch. Every events write first completes
    what an ingest that stopped half-way left (`finish_journal` is kept for callers; the
    journal is the log's pending parts, a directory listing).
    """
    started = time.perf_counter()
    plan = validate(graph, path, decompose_fn, show_progress, records)
    try:
        if events_only and plan.artifacts:
            source, line = next(iter(plan.artifact_ids.values()))
            raise InvalidInput(
                source,
                line,
                "query",
                "not a search event (no query field): load artifacts with `unfragile ingest`",
            )
        write_artifacts(
            graph, _artifacts(plan, decompose_fn), plan.artifacts, batch_size, show_progress
        )
        if plan.events:
            rows = plan.spill if plan.spill is not None else _events(plan)
            write_events(graph, rows, plan.events, batch_size, show_progress, one_transaction)
    finally:
        if plan.spill is not None:
            plan.spill.close()
    return IngestReport(
        files=len(plan.files),
        artifacts=plan.artifacts,
        capabilities=plan.capabilities,
        events=plan.events,
        seconds=time.perf_counter() - started,
    )


def _raw(plan: _Plan, files: set[Path]) -> Iterator[RawRecord]:
    if plan.records is not None:
        yield from plan.records
        return
    for f in plan.files:
        if f in files:
            yield from read_records(f)


def _artifacts(plan: _Plan, decompose_fn: Callable) -> Iterator[ArtifactRecord]:
    for raw in _raw(plan, plan.artifact_files):
        if not is_event(raw):
            yield validate_artifact(raw, decompose_fn)


def _events(plan: _Plan) -> Iterator[EventRecord]:
    if plan.spill is not None:
        for values in plan.spill.records():
            yield EventRecord(*values)
        return
    for raw in _raw(plan, plan.event_files):
        if is_event(raw):
            yield validate_event(raw)


def artifact_row(art: ArtifactRecord) -> dict[str, Any]:
    return {
        "id": art.id,
        "props": art.props,
        "provider": art.provider,
        "frameworks": art.frameworks,
        "categories": art.categories,
        "capabilities": [
            {
                "id": c.id,
                "artifact": art.id,
                "title": c.title,
                "text": c.text,
                "unique": c.unique,
                "vs_alternatives": c.vs_alternatives,
                "position": c.position,
            }
            for c in art.capabilities
        ],
    }


def write_artifacts(
    graph: Graph,
    records: Iterator[ArtifactRecord],
    total: int,
    batch_size: int,
    show_progress: bool = True,
) -> None:
    """Upsert artifacts with capabilities, then their links to each other (all now exist)."""
    links: list[dict[str, Any]] = []
    dropped: list[str] = []
    # Artifacts carry up to 100 capabilities each, so their batches are smaller than events'.
    size = max(1, batch_size // 10)
    with progress(total=total, desc="artifacts", unit="artifact", enabled=show_progress) as bar:
        for batch in _chunks(records, size):
            rows = [artifact_row(a) for a in batch]
            dropped.extend(graph.write(lambda tx, rows=rows: store.upsert_artifacts(tx, rows)))
            links.extend(
                {"id": a.id, "derived_from": a.derived_from, "integrates_with": a.integrates_with}
                for a in batch
            )
            bar.update(len(batch))
    for batch in _chunks(iter(links), batch_size):
        graph.write(lambda tx, batch=batch: store.link_artifacts(tx, batch))
    log = event_log.for_graph(graph) if dropped else None
    if log is not None:
        # Dropped capabilities took their edges with them; the events that pointed at them
        # stop counting from now on, and their queries are recounted.
        log.retract(dropped)
        aggregate.refresh_targets(graph, log, dropped)


def write_events(
    graph: Graph,
    records: Iterator[EventRecord] | Iterator[EventRecord | tuple[Any, ...]] | Spill,
    total: int,
    batch_size: int,
    show_progress: bool = True,
    one_transaction: bool | None = None,
) -> int:
    """Append the events to the log (each id once), then aggregate what they touch and
    write the results: Query counts, MATCHED and PREFERRED_OVER edges. Returns how many
    events were new to the log.

    The append is one part, renamed into place whole. Its edges are recomputed from the
    whole log for every (query, target) pair and query it touches, in one transaction
    (`one_transaction`, default when `total` is at most ONE_TRANSACTION_EVENTS) or one per
    batch; the part is marked applied only after. A failure or a crash in between leaves it
    pending, and the next events write (any: CLI or API) applies it first.
    """
    if one_transaction is None:
        one_transaction = total <= ONE_TRANSACTION_EVENTS
    log = event_log.for_graph(graph, create=True)
    assert log is not None  # created
    with progress(total=total, desc="events", unit="event", enabled=show_progress) as bar:
        if isinstance(records, Spill):
            _, added = log.append_spill(records)
            bar.update(total)
        else:
            _, added = log.append(_counted(records, bar))
    aggregate.apply_pending(graph, log, batch_size, one_transaction)
    if total > ONE_TRANSACTION_EVENTS:
        # A bulk load folds its votes now, not in the next rank (engine/vote_fold.py).
        with log.locked():
            vote_fold.refresh(log)
    return added


def _counted(records: Iterator[Any], bar: Any) -> Iterator[Any]:
    n = 0
    for ev in records:
        yield ev
        n += 1
        if n % 5000 == 0:
            bar.update(5000)
    bar.update(n % 5000)


def complete_journal(graph: Graph, batch_size: int = 2000) -> int:
    """Write the aggregates of log parts an ingest appended and did not finish; returns how
    many parts that was (0 almost always)."""
    log = event_log.for_graph(graph)
    return aggregate.apply_pending(graph, log, batch_size) if log is not None else 0


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
