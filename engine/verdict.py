"""The verdict of a comparison: who ranks higher, who leads on what, as fields and a sentence.

The numbers a verdict compares are the ones a page shows: UnfragileRank and each sub-score
rounded to a whole number (half up). A side *leads* on a sub-score when its shown number is
larger; equal shown numbers are a *tie* and are named as one. The sentence is built only from
these structured fields, so it cannot say more than the numbers do.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

SUBSCORES = ("adoption", "quality", "ecosystem", "match_graph", "freshness")
LABELS = {
    "adoption": "adoption",
    "quality": "quality",
    "ecosystem": "ecosystem",
    "match_graph": "match graph",
    "freshness": "freshness",
}


def shown(value: float | int | None) -> int:
    """How a score is displayed: a whole number, half up; a missing score shows as 0."""
    return 0 if value is None else int(math.floor(float(value) + 0.5))


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Verdict:
    a_name: str
    b_name: str
    a_rank: int
    b_rank: int
    higher: str | None  # "a", "b", or None for a tie
    a_leads: list[str]
    b_leads: list[str]
    ties: list[str]
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(a_name: str, a: dict[str, Any], b_name: str, b: dict[str, Any]) -> Verdict:
    """Compare two score dicts (unfragile_rank and the five sub-scores) into a Verdict."""
    ra, rb = shown(a.get("unfragile_rank")), shown(b.get("unfragile_rank"))
    higher = "a" if ra > rb else "b" if rb > ra else None
    a_leads: list[str] = []
    b_leads: list[str] = []
    ties: list[str] = []
    for s in SUBSCORES:
        if a.get(s) is None or b.get(s) is None:
            continue  # unknown on one side (adoption without figures): not compared
        va, vb = shown(a.get(s)), shown(b.get(s))
        (a_leads if va > vb else b_leads if vb > va else ties).append(s)
    return Verdict(
        a_name,
        b_name,
        ra,
        rb,
        higher,
        a_leads,
        b_leads,
        ties,
        sentence(a_name, b_name, ra, rb, higher, a_leads, b_leads, ties),
    )


def sentence(
    a_name: str,
    b_name: str,
    ra: int,
    rb: int,
    higher: str | None,
    a_leads: list[str],
    b_leads: list[str],
    ties: list[str],
) -> str:
    def words(names: list[str]) -> str:
        return join_words([LABELS[n] for n in names])

    if higher is None:
        parts = [f"{a_name} and {b_name} tie at {ra}/100."]
        first, first_leads, second, second_leads = a_name, a_leads, b_name, b_leads
    else:
        h_name, h_rank, l_name, l_rank = (
            (a_name, ra, b_name, rb) if higher == "a" else (b_name, rb, a_name, ra)
        )
        parts = [f"{h_name} ranks higher at {h_rank}/100 vs {l_name} at {l_rank}/100."]
        h_leads, l_leads = (a_leads, b_leads) if higher == "a" else (b_leads, a_leads)
        first, first_leads, second, second_leads = l_name, l_leads, h_name, h_leads
    if first_leads and second_leads:
        parts.append(
            f"{first} leads on {words(first_leads)}, while {second} is stronger "
            f"on {words(second_leads)}."
        )
    elif first_leads:
        parts.append(f"{first} leads on {words(first_leads)}.")
    elif second_leads:
        parts.append(f"{second} leads on {words(second_leads)}.")
    if ties and len(ties) == len(SUBSCORES):
        parts.append("They are tied on every sub-score.")
    elif ties:
        parts.append(f"They are tied on {words(ties)}.")
    return " ".join(parts)
