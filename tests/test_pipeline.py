"""engine/pipeline.py: a batch in parts, the next prepared on a worker thread, order kept."""

from __future__ import annotations

import threading

import pytest

from unfragile.engine.pipeline import pipelined


def test_parts_are_finished_in_order_and_prepared_off_the_calling_thread():
    caller = threading.get_ident()
    prepared_on: list[int] = []

    def prepare(part: slice) -> list[int]:
        prepared_on.append(threading.get_ident())
        return list(range(part.start, part.stop))

    def finish(part: slice, ready: list[int]) -> list[tuple[int, int]]:
        assert ready == list(range(part.start, part.stop))
        return [(i, i * i) for i in ready]

    assert pipelined(10, 4, prepare, finish) == [(i, i * i) for i in range(10)]
    assert len(prepared_on) == 3 and caller not in prepared_on


@pytest.mark.parametrize(("n", "parts"), [(0, 0), (3, 1), (4, 1), (5, 2)])
def test_one_part_or_none_runs_on_the_calling_thread(n, parts):
    seen: list[slice] = []

    def prepare(part: slice) -> slice:
        seen.append(part)
        return part

    out = pipelined(n, 4, prepare, lambda part, ready: list(range(ready.start, ready.stop)))
    assert out == list(range(n)) and len(seen) == parts


def test_an_error_in_a_prepared_part_reaches_the_caller():
    def prepare(part: slice) -> slice:
        if part.start == 4:
            raise ValueError("part two is bad")
        return part

    with pytest.raises(ValueError, match="part two is bad"):
        pipelined(8, 4, prepare, lambda part, ready: [part.start])
