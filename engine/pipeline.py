"""A batch in parts: the next part prepared on a worker thread while this one is finished."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

P = TypeVar("P")
R = TypeVar("R")


def pipelined(
    n: int, part: int, prepare: Callable[[slice], P], finish: Callable[[slice, P], list[R]]
) -> list[R]:
    """finish(s, prepare(s)) for the slices of range(n), `part` long, in order, joined; each
    next slice's prepare runs on one worker thread meanwhile. Worth it when one side waits
    outside the GIL while the other runs Python: search encodes and asks the indexes for the
    next part while it ranks this one, and understands the next while Neo4j reads for this."""
    parts = [slice(at, min(at + part, n)) for at in range(0, n, part)]
    if len(parts) <= 1:
        return [r for s in parts for r in finish(s, prepare(s))]
    out: list[R] = []
    with ThreadPoolExecutor(1, thread_name_prefix="unfragile-prepare") as worker:
        ahead = worker.submit(prepare, parts[0])
        for i, s in enumerate(parts):
            ready = ahead.result()
            if i + 1 < len(parts):
                ahead = worker.submit(prepare, parts[i + 1])
            out.extend(finish(s, ready))
    return out
