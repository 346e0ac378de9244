"""The record-based sub-scores: adoption signals, quality, ecosystem and freshness."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from unfragile.engine.ranking import algorithms
from unfragile.engine.ranking.config import RankConfig

# Figures that count events of use (a download, an API call, an install, a pull): taken as one
# unit. Every other signal counts people (users, stars, likes, ...) and is converted into
# use-equivalents by a factor fitted on the artifacts that report both (docs/ranking.md).
USE_SIGNALS = frozenset({"downloads", "api_calls", "installs", "pulls"})
# Artifacts reporting a people-count and a use-count that a signal's own factor needs; with
# fewer, the factor pooled over all people-counts is used.
MIN_LINKS = 3


def signal_logs(a: dict[str, Any]) -> dict[str, float]:
    """log10(1 + value) of each numeric signal of an artifact row."""
    return {
        name: math.log10(1.0 + max(float(value), 0.0))
        for name, value in zip(a["signal_names"], a["signal_values"], strict=True)
        if isinstance(value, int | float) and not isinstance(value, bool) and name != "illustrative"
    }


def signal_offsets(logs: list[dict[str, float]]) -> dict[str, float]:
    """log10 use-equivalents per unit of each people-count signal: the median, over artifacts
    reporting it and a use-count, of log10(uses) − log10(it) (0 for use-count signals)."""
    links: dict[str, list[float]] = {}
    for values in logs:
        uses = [v for n, v in values.items() if n in USE_SIGNALS]
        if not uses:
            continue
        mean_uses = sum(uses) / len(uses)
        for name, value in values.items():
            if name not in USE_SIGNALS:
                links.setdefault(name, []).append(mean_uses - value)
    pooled = [d for ds in links.values() for d in ds]
    fallback = float(np.median(pooled)) if pooled else 0.0
    names = {n for values in logs for n in values}
    return {
        n: 0.0
        if n in USE_SIGNALS
        else float(np.median(links[n]))
        if len(links.get(n, ())) >= MIN_LINKS
        else fallback
        for n in sorted(names)
    }


def adoption_signal_percentiles(arts: list[dict[str, Any]]) -> list[float | None]:
    """Each artifact's popularity figures on one scale across kinds and signals: the mean of
    its figures in log10 use-equivalents (signal_offsets), as a mid-rank percentile among all
    artifacts with any figure; None (unknown) for an artifact without one."""
    logs = [signal_logs(a) for a in arts]
    offsets = signal_offsets(logs)
    scale = [
        sum(v + offsets[n] for n, v in values.items()) / len(values) if values else None
        for values in logs
    ]
    known = [i for i, x in enumerate(scale) if x is not None]
    out: list[float | None] = [None] * len(arts)
    for i, p in zip(known, algorithms.midrank_percentiles(scale[i] for i in known), strict=True):
        out[i] = p
    return out


def benchmark_quality(arts: list[dict[str, Any]]) -> list[float | None]:
    groups: dict[str, list[tuple[int, float]]] = {}
    for i, a in enumerate(arts):
        for name, value in zip(a["benchmark_names"], a["benchmark_values"], strict=True):
            if isinstance(value, int | float) and not isinstance(value, bool):
                groups.setdefault(name, []).append((i, float(value)))
    sums = [0.0] * len(arts)
    counts = [0] * len(arts)
    for members in groups.values():
        if len(members) >= 3:
            shares = algorithms.midrank_percentiles(v for _, v in members)
        else:
            shares = [v if 0 <= v <= 1 else v / 100 if 1 < v <= 100 else 0.5 for _, v in members]
        for (i, _), s in zip(members, shares, strict=True):
            sums[i] += s
            counts[i] += 1
    return [100.0 * sums[i] / counts[i] if counts[i] else None for i in range(len(arts))]


def checklist_quality(a: dict[str, Any]) -> float:
    """The documented record checklist (docs/ranking.md, quality 3); 0–100, never a constant."""
    points = 20.0 * min(1.0, (a.get("description_chars") or 0) / 600.0)
    caps = a.get("capabilities") or 0
    if caps:
        points += 5.0 * min(1.0, caps / 3.0)
        points += 15.0 * (a.get("with_unique") or 0) / caps
        points += 15.0 * (a.get("with_vs") or 0) / caps
    fields = [
        a.get("task"),
        a.get("provider"),
        a.get("license"),
        a.get("url"),
        a.get("updated") or a.get("released"),
        a.get("modalities"),
        a.get("pricing") not in (None, "unknown"),
        (a.get("categories") or 0) > 0,
    ]
    points += 20.0 * sum(bool(f) for f in fields) / len(fields)
    points += 7.0 if a.get("url") else 0.0
    points += 8.0 if (a.get("images") or 0) + (a.get("image_paths") or 0) > 0 else 0.0
    if not a.get("signal_names"):
        points += 5.0
    elif not a.get("illustrative"):
        points += 10.0
    return points


def _f(x: float, scale: float) -> float:
    return 1.0 - math.pow(2.0, -max(x, 0.0) / scale)


def ecosystem_score(a: dict[str, Any], provider_siblings: int) -> float:
    return (
        30.0 * _f(a["frameworks"], 3)
        + 20.0 * _f(a["integrates"], 3)
        + 25.0 * _f(a["integrated_by"] + a["derivatives"], 3)
        + (10.0 if a.get("provider") else 0.0)
        + 10.0 * _f(provider_siblings, 5)
        + 5.0 * _f(a["categories"], 2)
    )


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def reference_day(arts: list[dict[str, Any]], config: RankConfig) -> date | None:
    if config.reference_date:
        return date.fromisoformat(config.reference_date)
    days = [d for a in arts for d in (_day(a.get("released")), _day(a.get("updated"))) if d]
    return max(days) if days else None


def freshness_score(a: dict[str, Any], ref: date | None, half_life: float) -> float:
    days = [d for d in (_day(a.get("updated")), _day(a.get("released"))) if d]
    if not days or ref is None:
        return 0.0
    return 100.0 * algorithms.exp_decay((ref - max(days)).days, half_life)
