"""Validate one raw record into an ArtifactRecord or an EventRecord, every field checked."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from unfragile.engine import settings as limits
from unfragile.engine.field_checks import FieldChecker, shown_value
from unfragile.engine.records import (
    ARTIFACT_FIELDS,
    CAPABILITY_FIELDS,
    EVENT_FIELDS,
    EVENT_ORIGIN,
    EVENT_TYPES,
    KINDS,
    MAX_DWELL_SECONDS,
    MAX_EVENT_ORIGIN_CHARS,
    MODALITIES,
    PRICING,
    STATUSES,
    ArtifactRecord,
    CapabilityRecord,
    EventRecord,
    RawRecord,
    normalise_query,
    parse_time,
    slug,
    type_name,
)


def validate_artifact(raw: RawRecord, decompose_fn: Any) -> ArtifactRecord:
    """Check an artifact record; decompose its description when it lists no capabilities."""
    c = FieldChecker(raw, ARTIFACT_FIELDS, "an artifact")
    artifact_id = c.ident("id")
    name = c.text("name", limits.MAX_NAME_CHARS, required=True)
    kind = c.choice("kind", KINDS)
    if kind is None:
        c.fail("kind", f"is required (one of {', '.join(KINDS)})")
    description = c.text("description", limits.MAX_DESCRIPTION_CHARS)
    url = c.text("url", 2000)
    if url is not None and not re.match(r"https?://\S+$", url):
        c.fail("url", "must be an http(s) address")
    signals = c.number_map("signals", allow_flags=("illustrative",))
    benchmarks = c.number_map("benchmarks")
    status = c.choice("status", STATUSES, default="active")
    superseded_by = c.ident("superseded_by", required=False)
    if status == "superseded" and superseded_by is None:
        c.fail(
            "superseded_by", "is required when status is superseded (the artifact that replaced it)"
        )
    if superseded_by is not None and status != "superseded":
        c.fail("superseded_by", f"is only for status superseded; status is {status}")
    props: dict[str, Any] = {
        "name": name,
        "name_lower": name.lower(),
        "short_name": c.text("short_name", 40),
        "kind": kind,
        "status": status,
        "superseded_by": superseded_by,
        "task": c.text("task", 100),
        "description": description,
        "pricing": c.choice("pricing", PRICING, default="unknown"),
        "license": c.text("license", 100),
        "open_weights": bool(c.boolean("open_weights")),
        # Hub facts: weights behind accepted terms; a repository only its owners can see.
        "gated": c.boolean("gated"),
        "private": c.boolean("private"),
        "modalities": c.string_list("modalities", 10, MODALITIES),
        "parameters": c.number("parameters", integer=True),
        "released": c.day("released"),
        "updated": c.day("updated"),
        "url": url,
        "diffusers_pipeline": c.text("diffusers_pipeline", 500),
        "image_paths": _image_paths(c),
        "signals_illustrative": bool(signals.pop("illustrative", False)) if signals else None,
        # The day the signals were read (an importer's run, a catalog's check).
        "signals_as_of": c.day("signals_as_of"),
        "packages": _facts(c, "packages"),
        "remotes": _facts(c, "remotes"),
        "imported_from": c.text("imported_from", 100),
    }
    # Raw signals and benchmarks become flat properties so Cypher can read them directly.
    for key, value in signals.items():
        props[f"signal_{key}"] = value
    for key, value in benchmarks.items():
        props[f"benchmark_{key}"] = value
    props["signal_names"] = sorted(signals)
    props["benchmark_names"] = sorted(benchmarks)

    provider = c.text("provider", limits.MAX_NAME_CHARS)
    props["provider"] = provider  # also an Organization node; kept here for filters
    capabilities = _capabilities(c, artifact_id, description, decompose_fn)
    if not capabilities:
        c.fail(
            "capabilities",
            "an artifact needs a capability list or a description to decompose into capabilities",
        )
    return ArtifactRecord(
        id=artifact_id,
        props=props,
        provider=provider,
        frameworks=c.string_list("frameworks", 50),
        categories=c.string_list("categories", 50),
        derived_from=c.string_list("derived_from", 50, ident=True),
        integrates_with=c.string_list("integrates_with", 100, ident=True),
        capabilities=capabilities,
        source=raw.source,
        line=raw.line,
    )


def _facts(c: FieldChecker, name: str) -> list[str]:
    """Up to 50 one-line texts (a package or a remote each): stored as a list of strings,
    since a Neo4j property cannot hold a map."""
    value = c.data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        c.fail(name, f"must be a list, got {type_name(value)}")
    if len(value) > 50:
        c.fail(name, f"has {len(value)} items; the limit is 50")
    return [c.ident(name, item, f"{name}[{i}]", required=True) for i, item in enumerate(value)]


def _image_paths(c: FieldChecker) -> list[str]:
    """Image paths, relative to the record's file, resolved and checked to exist."""
    base = Path(c.raw.source).parent
    paths = []
    for i, name in enumerate(c.string_list("images", 50)):
        path = (base / name).resolve()
        if not path.is_file():
            c.fail(f"images[{i}]", f"no such image file: {path}")
        paths.append(str(path))
    return paths


def _capabilities(
    c: FieldChecker, artifact_id: str, description: str | None, decompose_fn: Any
) -> list[CapabilityRecord]:
    value = c.data.get("capabilities")
    if value is None:
        if not description:
            return []
        return [
            CapabilityRecord(
                id=f"{artifact_id}/{slug(d.title)}", title=d.title, text=d.text, position=i
            )
            for i, d in enumerate(_unique_titles(decompose_fn(description)))
        ]
    if not isinstance(value, list):
        c.fail("capabilities", f"must be a list, got {type_name(value)}")
    if len(value) > limits.MAX_CAPABILITIES:
        c.fail("capabilities", f"has {len(value)} items; the limit is {limits.MAX_CAPABILITIES}")
    out: list[CapabilityRecord] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        label = f"capabilities[{i}]"
        if not isinstance(item, dict):
            c.fail(label, f"must be an object, got {type_name(item)}")
        unknown = sorted(set(item) - CAPABILITY_FIELDS)
        if unknown:
            c.fail(
                f"{label}.{unknown[0]}",
                f"unknown field for a capability (allowed: {', '.join(sorted(CAPABILITY_FIELDS))})",
            )
        title = c.text("title", limits.MAX_TITLE_CHARS, True, item.get("title"), f"{label}.title")
        text = c.text("text", limits.MAX_TEXT_CHARS, True, item.get("text"), f"{label}.text")
        cap_id = (
            c.ident("id", item.get("id"), f"{label}.id", required=False)
            or f"{artifact_id}/{slug(title)}"
        )
        if cap_id in seen:
            c.fail(f"{label}.title", f"capability id {cap_id!r} appears twice in this artifact")
        seen.add(cap_id)
        out.append(
            CapabilityRecord(
                id=cap_id,
                title=title,
                text=text,
                position=i,
                unique=c.text(
                    "unique",
                    limits.MAX_NOTE_CHARS,
                    value=item.get("unique"),
                    label=f"{label}.unique",
                ),
                vs_alternatives=c.text(
                    "vs_alternatives",
                    limits.MAX_NOTE_CHARS,
                    value=item.get("vs_alternatives"),
                    label=f"{label}.vs_alternatives",
                ),
            )
        )
    return out


def _unique_titles(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        if slug(item.title) not in seen:
            seen.add(slug(item.title))
            out.append(item)
    return out


def validate_event(raw: RawRecord) -> EventRecord:
    """Check a search event: its type decides which of the other fields it needs."""
    c = FieldChecker(raw, EVENT_FIELDS, "a search event")
    query = c.text("query", limits.MAX_QUERY_CHARS, required=True)
    kind = c.choice("event", EVENT_TYPES)
    if kind is None:
        c.fail("event", f"is required (one of {', '.join(EVENT_TYPES)})")
    session = c.ident("session")
    time_text = c.text("time", 64, required=True)
    try:
        when = parse_time(time_text)
    except ValueError:
        c.fail("time", f"must be an ISO 8601 time such as 2026-10-03T14:22:05Z; got {time_text!r}")
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is a time, but before year 1 in UTC (and 9999-12-31
        # late with a negative offset, after 9999): no datetime can hold it.
        c.fail("time", f"is outside years 1 to 9999 once converted to UTC; got {time_text!r}")
    ev = EventRecord(
        id="",
        query=query,
        query_id=normalise_query(query),
        event=kind,
        session=session,
        time=when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        origin=_origin(c),
        source=raw.source,
        line=raw.line,
    )
    if not ev.query_id:
        c.fail("query", "must not be empty")
    if kind == "prefer":
        for name in ("artifact", "capability", "seconds", "value"):
            if name in c.data:
                c.fail(name, "a prefer event names a winner and a loser instead")
        ev.winner, ev.loser = c.ident("winner"), c.ident("loser")
        if ev.winner == ev.loser:
            c.fail("loser", "must differ from the winner")
        ev.artifact_refs = [ev.winner, ev.loser]
    else:
        for name in ("winner", "loser"):
            if name in c.data:
                c.fail(name, "only prefer events name a winner and a loser")
        ev.artifact = c.ident("artifact")
        ev.capability = c.ident("capability", required=False)
        ev.artifact_refs = [ev.artifact]
    if kind == "dwell":
        ev.seconds = c.number("seconds", maximum=MAX_DWELL_SECONDS)
        if ev.seconds is None:
            c.fail("seconds", "is required for a dwell event")
    elif "seconds" in c.data:
        c.fail("seconds", "only dwell events carry seconds")
    if kind == "feedback":
        value = c.data.get("value")
        if value not in (1, -1) or isinstance(value, bool):
            c.fail("value", f"must be 1 or -1 for a feedback event; got {shown_value(value)}")
        ev.value = int(value)
    elif "value" in c.data:
        c.fail("value", "only feedback events carry a value")
    ev.id = c.ident("id", required=False) or _event_hash(ev)
    return ev


def _origin(c: FieldChecker) -> str | None:
    """The event's `source`: sample, api or import:<name> (lower case), or None when absent."""
    origin = c.text("source", MAX_EVENT_ORIGIN_CHARS)
    if origin is not None and not EVENT_ORIGIN.fullmatch(origin):
        c.fail(
            "source",
            "must be sample, api or import:<name> (<name> in lower-case letters, digits, "
            f"'.', '_' or '-'); got {shown_value(origin)}",
        )
    return origin


def _event_hash(ev: EventRecord) -> str:
    """A stable id for an event given none: the same event loaded twice counts once.
    The origin is left out on purpose: where an event came from is not what it is, and ids
    of events written before the field existed stay as they were."""
    key = json.dumps(
        [
            ev.query_id,
            ev.event,
            ev.session,
            ev.time,
            ev.artifact,
            ev.capability,
            ev.seconds,
            ev.value,
            ev.winner,
            ev.loser,
        ],
        separators=(",", ":"),
    )
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
