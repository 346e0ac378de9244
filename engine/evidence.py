"""Search events folded into per-session evidence, and how evidence becomes match confidence.

Match confidence of a query → target edge (documented in the README, "The match graph"):

    z = 1.0 · sessions + 1.0 · clicks + 1.0 · long dwells + 2.0 · feedback
    confidence = 1 − exp(−z / 4)   (0 when z ≤ 0)

where each term counts *distinct sessions*: a session that searched and matched the target
adds 1, one that clicked adds 1 more, one that stayed at least 30 s adds 1 more, and its latest
explicit feedback adds +2 or −2. One session can therefore move an edge by at most 5 units of
z however many events it sends, and at most 32 of its events count towards `count`.

The ingest runs this fold in SQL over the event log (engine/aggregate.py); `fold` here states
it in Python, and the tests check one against the other.
"""

from __future__ import annotations

import hashlib
from typing import Any

from unfragile.engine.records import EventRecord

MATCH_WEIGHTS = {
    "w_session": 1.0,
    "w_click": 1.0,
    "w_long_dwell": 1.0,
    "w_feedback": 2.0,
    "long_dwell_s": 30.0,
    "confidence_scale": 4.0,
}
EVENTS_PER_SESSION = 32


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def target_of(ev: EventRecord) -> tuple[str, str, str | None]:
    """(target_kind, target id, loser id) for an event."""
    if ev.event == "prefer":
        return "Prefer", ev.winner or "", ev.loser
    if ev.capability:
        return "Capability", ev.capability, None
    return "Artifact", ev.artifact or "", None


def fold(events: list[EventRecord]) -> list[dict[str, Any]]:
    """Fold a batch of events into one evidence row per (query, target, session)."""
    rows: dict[str, dict[str, Any]] = {}
    for ev in events:
        kind, target, loser = target_of(ev)
        if kind == "Prefer":
            pair = _digest("prefer", target, loser or "")
        else:
            pair = _digest(ev.query_id, kind, target)
        key = _digest(pair, ev.query_id, ev.session)
        row = rows.get(key)
        if row is None:
            row = rows[key] = {
                "key": key,
                "pair": pair,
                "query_id": ev.query_id,
                "query_text": ev.query,
                "target_kind": kind,
                "target": target,
                "loser": loser,
                "session": ev.session,
                "clicked": False,
                "dwell": 0.0,
                "feedback": 0,
                "feedback_time": "",
                "events": [],
                "origins": [],  # the events' `source` values (sample, api, import:<name>)
                "first_seen": ev.time,
                "last_seen": ev.time,
            }
        if ev.id not in row["events"] and len(row["events"]) < EVENTS_PER_SESSION:
            row["events"].append(ev.id)
        if ev.origin and ev.origin not in row["origins"]:
            row["origins"].append(ev.origin)
        row["first_seen"] = min(row["first_seen"], ev.time)
        row["last_seen"] = max(row["last_seen"], ev.time)
        if ev.event == "click":
            row["clicked"] = True
        elif ev.event == "dwell":
            row["dwell"] = max(row["dwell"], float(ev.seconds or 0.0))
        elif ev.event == "feedback":
            # Latest feedback wins; at equal times the lower value, so order never matters.
            if ev.time > row["feedback_time"] or (
                ev.time == row["feedback_time"] and (ev.value or 0) < row["feedback"]
            ):
                row["feedback"], row["feedback_time"] = ev.value, ev.time
    return list(rows.values())
