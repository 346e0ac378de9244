"""The kept vote fold (engine/vote_fold.py) always equals a fold of the whole log as it is."""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow.parquet as pq

from tests.helpers import artifact, event, write_jsonl
from tests.test_event_log import _records
from unfragile.engine import aggregate, event_log, vote_fold
from unfragile.engine.evidence import MATCH_WEIGHTS
from unfragile.engine.ingest import ingest, write_events

KINDS = ("Capability", "Artifact")


def _rows(coded: dict) -> list[tuple]:
    """The coded votes as sorted (query, target, is_capability, z, session code) rows."""
    names = {True: coded["cap_names"], False: coded["art_names"]}
    return sorted(
        (
            coded["query_names"][q],
            names[bool(c)][t],
            bool(c),
            round(float(z), 12),
            int(s),
        )
        for s, q, t, c, z in zip(
            coded["session_code"],
            coded["query_code"],
            coded["target_code"],
            coded["is_capability"],
            coded["z"],
            strict=True,
        )
    )


def _fresh(log: event_log.EventLog) -> list[tuple]:
    """What a fold of the whole log gives: the kept file removed, then folded anew."""
    vote_fold.path(log).unlink()
    coded = vote_fold.codes(log, MATCH_WEIGHTS, KINDS)
    assert coded is not None
    return _rows(coded)


def test_kept_votes_equal_a_fresh_fold_through_updates_compaction_and_retraction(graph, tmp_path):
    ingest(
        graph,
        write_jsonl(tmp_path / "a.jsonl", [artifact("alpha"), artifact("beta")]),
        show_progress=False,
    )
    first = [event("find alpha", "alpha", "s1"), event("find alpha", "alpha", "s2", "click")]
    ingest(graph, write_jsonl(tmp_path / "e1.jsonl", first), show_progress=False)
    log = event_log.for_graph(graph)
    assert log is not None
    coded = aggregate.vote_codes(graph, MATCH_WEIGHTS)
    assert coded is not None and len(coded["z"]) == 2
    # Later events on a key already kept (s1's feedback and dwell) and on a new one (beta).
    later = [
        event("find alpha", "alpha", "s1", "feedback", value=1, time="2026-10-02T12:00:00Z"),
        event("find alpha", "alpha", "s1", "dwell", seconds=90.0),
        event("find beta", "beta", "s3", "click"),
    ]
    ingest(graph, write_jsonl(tmp_path / "e2.jsonl", later), show_progress=False)
    kept = _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS))
    s1 = [r for r in kept if r[0] == "find alpha" and r[4] == 0]
    w = MATCH_WEIGHTS
    assert s1 and s1[0][3] == round(w["w_session"] + w["w_long_dwell"] + w["w_feedback"], 12)
    assert kept == _fresh(log)
    # The numpy vote equals the SQL one (VOTE_Z) that `votes` reads.
    by_name = aggregate.votes(graph, MATCH_WEIGHTS)
    assert sorted(round(z, 12) for z in by_name["z"]) == sorted(r[3] for r in kept)
    # A compaction replaces the parts the file covers: it is folded anew, to the same rows.
    tomorrow = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)
    assert log.compact(tomorrow.isoformat())["parts"] == 2
    with log.locked():
        assert vote_fold.refresh(log) is True
    assert _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS)) == kept
    # A retraction: events on a dropped capability stop counting, in the kept rows too.
    cap = [event("find alpha", "alpha", "s4", capability="alpha/ability-1")]
    ingest(graph, write_jsonl(tmp_path / "e3.jsonl", cap), show_progress=False)
    assert any(r[2] for r in _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS)))
    log.retract(["alpha/ability-1"])
    after = _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS))
    assert not any(r[2] for r in after) and after == kept


def test_a_kept_file_that_cannot_be_trusted_is_folded_again(graph, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    events = [event("q", "alpha", f"s{i}", "click" if i % 2 else "match") for i in range(4)]
    ingest(graph, write_jsonl(tmp_path / "e.jsonl", events), show_progress=False)
    log = event_log.for_graph(graph)
    assert log is not None
    good = _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS))
    file = vote_fold.path(log)
    # Torn bytes (never renamed in by the code, but a disk can lose them) and a file without
    # its coverage: neither is read as votes.
    for bad in (b"PAR1 torn", None):
        if bad is None:
            table = pq.read_table(file)
            pq.write_table(table.replace_schema_metadata({}), file)
        else:
            file.write_bytes(bad)
        with log.locked():
            assert vote_fold.refresh(log) is True
        assert _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS)) == good
    # A temporary file left by a crash mid-write is not the kept file and changes nothing.
    (file.parent / ".tmp-1-votes.parquet").write_bytes(b"PAR1")
    with log.locked():
        assert vote_fold.refresh(log) is False
    assert _rows(aggregate.vote_codes(graph, MATCH_WEIGHTS)) == good


def test_a_bulk_load_folds_its_votes_before_the_next_rank(graph, tmp_path):
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    records = _records(12_000)  # test_event_log's: 50 queries, 6,000 sessions
    assert write_events(graph, iter(records), len(records), 2000, False) == 12_000
    log = event_log.for_graph(graph)
    assert log is not None
    with log.locked():
        assert vote_fold.refresh(log) is False  # the load kept them already
    coded = aggregate.vote_codes(graph, MATCH_WEIGHTS)
    assert coded is not None
    assert len(coded["z"]) == len({(i % 50, i % 6000) for i in range(12_000)})
    assert coded["n_sessions"] == 6000 and np.all(coded["z"] > 0)
