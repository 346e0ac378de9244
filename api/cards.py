"""What a page says beside the engine's numbers: a result's plain "why" line and badges, and
the "showing 11–20 of 67" paging of lists."""

from __future__ import annotations

from typing import Any

from unfragile.api.render import link


def why_line(result: dict[str, Any], alternatives_to: str | None = None) -> str:
    """One plain sentence: what fits and who else asked, from the result's own fields."""
    cap = result.get("capability") or {}
    searches = len({e["query"] for e in result.get("evidence") or []})
    components = result.get("components") or {}
    if alternatives_to:
        first = f"Does what {alternatives_to} does"
    elif (components.get("name") or 0) >= 0.5:
        first = "Your search names it"
    else:
        first = "Its capabilities fit your words" if not cap else "It fits your words"
    if cap.get("title"):
        first += f": “{cap['title']}”"
    if searches:
        first += f"; {searches} similar past search{'es' if searches != 1 else ''} led here"
    return first + "."


def badges(result: dict[str, Any], facts: dict[str, Any] | None) -> list[dict[str, str]]:
    """The card's badges: kind, status (when not active), pricing, license, open weights and
    UnfragileRank, each {cls, text, title}; facts missing from the graph are left out."""
    out = [{"cls": "kind", "text": result.get("kind") or "?", "title": ""}]
    status = result.get("status") or "active"
    if status != "active":
        out.append(
            {
                "cls": f"status status-{status}",
                "text": status,
                "title": "no longer maintained upstream: ranked below active artifacts that do "
                "the same",
            }
        )
    f = facts or {}
    if f.get("pricing"):
        out.append({"cls": "badge pricing", "text": f["pricing"], "title": "pricing"})
    if f.get("license"):
        out.append({"cls": "badge license", "text": f["license"], "title": "licence"})
    if f.get("open_weights") is not None:
        out.append(
            {
                "cls": "badge weights" + (" open" if f["open_weights"] else ""),
                "text": "open weights" if f["open_weights"] else "closed weights",
                "title": "whether the weights can be downloaded",
            }
        )
    if f.get("unfragile_rank") is not None:
        out.append(
            {
                "cls": "badge rank-badge",
                "text": f"UnfragileRank {f['unfragile_rank']}",
                "title": f"interval {f.get('rank_low')}–{f.get('rank_high')}",
            }
        )
    return out


def paging(
    path: str,
    params: dict[str, Any],
    offset: int,
    shown: int,
    total: int,
    size: int,
    capped: bool = False,
) -> dict[str, Any]:
    """'Showing 11–20 of 67' with previous/next links that keep the other parameters;
    `capped`: the total is a limit reached ('of 100 or more')."""
    kept = {k: v for k, v in params.items() if k != "offset"}
    prev_offset = max(0, offset - size)
    return {
        "first": offset + 1 if shown else 0,
        "last": offset + shown,
        "total": total,
        "capped": capped,
        "prev": link(path, **kept, offset=prev_offset or None) if offset > 0 else None,
        "next": link(path, **kept, offset=offset + size) if offset + size < total else None,
    }
