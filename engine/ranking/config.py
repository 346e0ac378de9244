"""Ranking settings: sub-score names, the weights TOML with its overrides."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from unfragile.engine.errors import RankError
from unfragile.engine.records import KINDS

# The defaults ship inside this package (package data), so an installed wheel finds them too.
DEFAULT_WEIGHTS_FILE = resources.files(__name__.rpartition(".")[0]) / "rank_weights.toml"
SUBSCORES = ("adoption", "quality", "ecosystem", "match_graph", "freshness")
ENGINES = ("networkx", "gds")
# Parameters that no longer exist, and why (a weights file may still set them).
RETIRED = {
    "alternatives_comatch_weight": "retired: alternatives are found by search now, remove it "
    "(docs/ranking.md, ALTERNATIVE_TO)"
}


@dataclass(frozen=True)
class RankConfig:
    weights: dict[str, dict[str, float]]
    pagerank_alpha: float = 0.85
    session_half: float = 50.0
    times_matched_half: float = 100.0
    times_matched_share: float = 0.15
    freshness_half_life_days: float = 365.0
    reference_date: str = ""
    bootstrap_replicates: int = 50
    bootstrap_seed: int = 20240917
    interval: float = 0.90
    alternatives_top_n: int = 10
    source: str = str(DEFAULT_WEIGHTS_FILE)

    def weights_for(self, kind: str) -> dict[str, float]:
        return self.weights.get(kind) or self.weights["model"]


def _read_toml(path: Path | Traversable) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise RankError(None, f"cannot read it ({e.strerror})", str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise RankError(None, f"not valid TOML: {e}", str(path)) from None


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> RankConfig:
    """The defaults, overlaid with `path` or $UNFRAGILE_RANK_WEIGHTS when given."""
    env = os.environ if env is None else env
    data = _read_toml(DEFAULT_WEIGHTS_FILE)
    weights = {k: dict(v) for k, v in data["weights"].items()}
    params = dict(data["parameters"])
    override = path or (
        Path(env["UNFRAGILE_RANK_WEIGHTS"]).expanduser()
        if env.get("UNFRAGILE_RANK_WEIGHTS")
        else None
    )
    source = str(DEFAULT_WEIGHTS_FILE)
    if override is not None:
        user = _read_toml(override)
        source = str(override)
        unknown = set(user) - {"weights", "parameters"}
        if unknown:
            raise RankError(
                sorted(unknown)[0], "unknown table; use [weights.<kind>] or [parameters]", source
            )
        for kind, table in user.get("weights", {}).items():
            if kind not in KINDS:
                raise RankError(
                    f"weights.{kind}", f"unknown kind (one of {', '.join(KINDS)})", source
                )
            for name, value in table.items():
                if name not in SUBSCORES:
                    raise RankError(
                        f"weights.{kind}.{name}",
                        f"unknown sub-score (one of {', '.join(SUBSCORES)})",
                        source,
                    )
                if not isinstance(value, int | float) or value < 0:
                    raise RankError(f"weights.{kind}.{name}", "must be a number >= 0", source)
                weights.setdefault(kind, {})[name] = float(value)
        for name, value in user.get("parameters", {}).items():
            if name not in params:
                raise RankError(
                    f"parameters.{name}", RETIRED.get(name, "unknown parameter"), source
                )
            if type(value) is not type(params[name]) and not (
                isinstance(params[name], float) and isinstance(value, int)
            ):
                raise RankError(
                    f"parameters.{name}", f"must be a {type(params[name]).__name__}", source
                )
            params[name] = value
    normalised = {}
    for kind, table in weights.items():
        total = sum(table.get(s, 0.0) for s in SUBSCORES)
        if total <= 0:
            raise RankError(f"weights.{kind}", "weights must not all be 0", source)
        normalised[kind] = {s: table.get(s, 0.0) / total for s in SUBSCORES}
    if params["reference_date"]:
        try:
            date.fromisoformat(params["reference_date"])
        except ValueError:
            raise RankError("parameters.reference_date", "use YYYY-MM-DD", source) from None
    return RankConfig(weights=normalised, source=source, **params)
