"""The verdict never says more than the numbers: property tests over generated score dicts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from unfragile.engine.verdict import LABELS, SUBSCORES, decide, join_words, shown

score = st.one_of(st.integers(0, 100), st.floats(0, 100, allow_nan=False))
scores = st.fixed_dictionaries(
    {"unfragile_rank": st.integers(0, 100), **{s: score for s in SUBSCORES}}
)
names = st.sampled_from(["FLUX.1 Pro", "vit-base-patch16-224", "Tool A", "tool a 2"])


@settings(max_examples=500, deadline=None)
@given(a=scores, b=scores, a_name=names, b_name=names)
def test_verdict_never_contradicts_the_numbers(a, b, a_name, b_name) -> None:
    v = decide(a_name, a, b_name, b)
    assert (v.a_rank, v.b_rank) == (shown(a["unfragile_rank"]), shown(b["unfragile_rank"]))
    if v.a_rank > v.b_rank:
        assert v.higher == "a"
    elif v.b_rank > v.a_rank:
        assert v.higher == "b"
    else:
        assert v.higher is None
    # Every sub-score is in exactly one bucket, and the bucket matches the shown numbers.
    assert sorted(v.a_leads + v.b_leads + v.ties) == sorted(SUBSCORES)
    for s in SUBSCORES:
        va, vb = shown(a[s]), shown(b[s])
        assert (s in v.a_leads) == (va > vb)
        assert (s in v.b_leads) == (vb > va)
        assert (s in v.ties) == (va == vb)
    # The sentence is built from those fields: its claims are exactly theirs.
    if v.higher is None:
        assert v.sentence.startswith(f"{a_name} and {b_name} tie at {v.a_rank}/100.")
        assert "ranks higher" not in v.sentence
    else:
        h, hr, lo, lr = (
            (a_name, v.a_rank, b_name, v.b_rank)
            if v.higher == "a"
            else (b_name, v.b_rank, a_name, v.a_rank)
        )
        assert v.sentence.startswith(f"{h} ranks higher at {hr}/100 vs {lo} at {lr}/100.")
        assert hr > lr
    for side, leads in ((a_name, v.a_leads), (b_name, v.b_leads)):
        if leads:
            words = join_words([LABELS[s] for s in leads])
            assert (
                f"{side} leads on {words}" in v.sentence
                or f"{side} is stronger on {words}" in v.sentence
            )
    if v.ties:
        assert (
            "tied on every sub-score" in v.sentence
            or f"tied on {join_words([LABELS[s] for s in v.ties])}." in v.sentence
        )
    else:
        assert "tied" not in v.sentence


def test_the_design_example_reads_as_designed() -> None:
    a = {
        "unfragile_rank": 58,
        "adoption": 40,
        "quality": 80,
        "ecosystem": 30,
        "match_graph": 50,
        "freshness": 60,
    }
    b = {
        "unfragile_rank": 51,
        "adoption": 90,
        "quality": 50,
        "ecosystem": 70,
        "match_graph": 50,
        "freshness": 60,
    }
    v = decide("FLUX.1 Pro", a, "vit-base-patch16-224", b)
    assert v.sentence == (
        "FLUX.1 Pro ranks higher at 58/100 vs vit-base-patch16-224 at 51/100. "
        "vit-base-patch16-224 leads on adoption and ecosystem, while FLUX.1 Pro is stronger "
        "on quality. They are tied on match graph and freshness."
    )


def test_scores_shown_equal_are_a_tie_even_when_stored_values_differ() -> None:
    a = dict.fromkeys(SUBSCORES, 50.2) | {"unfragile_rank": 40}
    b = dict.fromkeys(SUBSCORES, 49.6) | {"unfragile_rank": 40}
    v = decide("A", a, "B", b)
    assert v.higher is None and v.ties == list(SUBSCORES)
    assert v.sentence == "A and B tie at 40/100. They are tied on every sub-score."
