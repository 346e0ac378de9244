"""How figures are named and labelled wherever they are shown: popularity signals with whether
they are illustrative and the day they were read, benchmarks, and where quality comes from."""

from __future__ import annotations

from typing import Any

# Benchmarks as their authors spell them; any other name is shown with spaces for '_'.
BENCHMARK_NAMES = {
    "mmlu": "MMLU",
    "mmlu_pro": "MMLU-Pro",
    "gpqa": "GPQA",
    "gpqa_diamond": "GPQA Diamond",
    "humaneval": "HumanEval",
    "gsm8k": "GSM8K",
    "math": "MATH",
    "swe_bench_verified": "SWE-bench Verified",
    "mteb_avg": "MTEB average",
    "imagenet_top1": "ImageNet top-1",
    "imagenet_zero_shot_top1": "ImageNet zero-shot top-1",
    "librispeech_test_clean_wer": "LibriSpeech test-clean WER",
    "arena_elo": "Arena Elo",
}
SIGNAL_NAMES = {"api_calls": "API calls"}

# What each quality source is called on pages (docs/ranking.md, "Quality").
QUALITY_SOURCES = {
    "preferences": "preferences: which of two artifacts people chose",
    "benchmarks": "benchmarks",
    "checklist": "record checklist",
}


def benchmark_label(name: str) -> str:
    return BENCHMARK_NAMES.get(name, name.replace("_", " "))


def signal_label(name: str) -> str:
    return SIGNAL_NAMES.get(name, name.replace("_", " ").capitalize())


def figures_note(illustrative: bool | None, as_of: str | None) -> str:
    """The label every shown popularity figure carries: illustrative or not, and its day."""
    day = f"as of {as_of}" if as_of else "date not recorded"
    return f"illustrative, {day}" if illustrative else day


def signals_text(signals: dict[str, Any], illustrative: bool | None, as_of: str | None) -> str:
    """All of an artifact's signals on one line with their label ('none recorded' if none)."""
    if not signals:
        return "none recorded"
    shown = "; ".join(
        f"{signal_label(n)} {v:,}" if isinstance(v, int | float) else f"{signal_label(n)} {v}"
        for n, v in signals.items()
    )
    return f"{shown} ({figures_note(illustrative, as_of)})"


def quality_basis(props: dict[str, Any]) -> str:
    """Where an artifact's quality sub-score comes from, as pages say it: 'benchmarks: MMLU,
    HumanEval', 'record checklist' or 'preferences (...)'; '' before ranking."""
    source = props.get("quality_source")
    if not source:
        return ""
    if source == "benchmarks":
        names = props.get("benchmark_names") or []
        return "benchmarks: " + ", ".join(benchmark_label(n) for n in names)
    return QUALITY_SOURCES.get(source, source)


def adoption_basis(props: dict[str, Any]) -> str:
    """What an artifact's adoption sub-score rests on, as pages say it."""
    names = [n for n in props.get("signal_names") or [] if n != "illustrative"]
    if not names:
        return "unknown: no popularity figures recorded (left out of UnfragileRank)"
    listed = ", ".join(signal_label(n) for n in names)
    note = figures_note(props.get("signals_illustrative"), props.get("signals_as_of"))
    return f"from {listed} ({note})"


def evidence_note(evidence: dict[str, int]) -> str:
    """Whether the past searches behind an artifact are sample events, as pages say it."""
    sessions, samples = evidence.get("sessions", 0), evidence.get("sample_sessions", 0)
    if not samples:
        return ""
    if samples >= sessions:
        return "all from sample events, not real searches"
    return f"{samples} of {sessions} sessions are sample events"
