"""Saved Cypher explorations: cypher/explore/*.cypher, their headers and their parameters."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unfragile.engine.errors import ExploreError, UnknownExploration
from unfragile.graph.connection import CYPHER_DIR

EXPLORE_DIR = CYPHER_DIR / "explore"

# The header is the file's leading `//` lines:
#   // Title: one line
#   // Shows: what it shows; lines indented under a field continue it
#   // Param: name (type, default JSON): what it is     (no default: the parameter is required)
_FIELD = re.compile(r"^(Title|Shows|Param):\s*(.*)$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s*\((?P<type>string|integer|float|boolean)"
    r"(?:,\s*default\s+(?P<default>.+?))?\):\s*(?P<description>.*)$"
)
TYPES = ("string", "integer", "float", "boolean")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any = None
    required: bool = True
    description: str = ""

    def coerce(self, value: Any, source: str) -> Any:
        """The value as this parameter's type; ExploreError naming the parameter if it is not."""
        if value is None:
            return None
        try:
            return _COERCE[self.type](value)
        except (TypeError, ValueError):
            raise ExploreError(
                source, None, self.name, f"expected {self.type}, got {value!r}"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "description": self.description,
        }


@dataclass(frozen=True)
class SavedQuery:
    name: str
    title: str
    description: str
    params: list[Param] = field(default_factory=list)
    text: str = ""
    path: Path | None = None

    def bind(self, params: dict[str, Any]) -> dict[str, Any]:
        """Parameters to run with: defaults filled, types coerced, unknown or missing refused."""
        source = f"saved query {self.name!r}"
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ExploreError(
                source,
                None,
                unknown[0],
                f"unknown parameter; this query takes {', '.join(known) or 'no parameters'}",
            )
        bound: dict[str, Any] = {}
        for p in self.params:
            if p.name in params:
                bound[p.name] = p.coerce(params[p.name], source)
            elif p.required:
                raise ExploreError(source, None, p.name, f"missing; give it as {p.name}=<{p.type}>")
            else:
                bound[p.name] = p.default
        return bound

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "params": [p.as_dict() for p in self.params],
            "text": self.text,
        }


def parse(text: str, name: str, source: str = "") -> SavedQuery | None:
    """The saved query a file's text declares, or None when it has no `// Title:` header."""
    source = source or name
    fields: list[list[Any]] = []  # [field, text, line number]
    lines = text.splitlines()
    body_start = len(lines)
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped.startswith("//"):
            body_start = number - 1
            break
        content = stripped[2:]
        match = _FIELD.match(content.strip())
        if match:
            fields.append([match.group(1), match.group(2).strip(), number])
        elif fields and content.startswith("  ") and content.strip():
            fields[-1][1] += " " + content.strip()
    if not any(f[0] == "Title" for f in fields):
        return None
    title = description = ""
    params: list[Param] = []
    for kind, value, number in fields:
        if kind == "Title":
            title = value
        elif kind == "Shows":
            description = value
        else:
            params.append(_param(value, source, number))
    body = "\n".join(lines[body_start:]).strip()
    if not body:
        raise ExploreError(source, None, None, "the header is not followed by a query")
    return SavedQuery(name=name, title=title, description=description, params=params, text=body)


def _param(value: str, source: str, line: int) -> Param:
    match = _PARAM.match(value)
    if not match:
        raise ExploreError(
            source,
            line,
            "Param",
            "expected 'name (type[, default JSON]): "
            f"description' with a type among {', '.join(TYPES)}",
        )
    raw = match.group("default")
    param = Param(
        match.group("name"),
        match.group("type"),
        description=match.group("description").strip(),
        required=raw is None,
    )
    if raw is None:
        return param
    try:
        default = json.loads(raw)
    except json.JSONDecodeError:
        raise ExploreError(source, line, param.name, f"the default {raw!r} is not JSON") from None
    return Param(
        param.name,
        param.type,
        param.coerce(default, f"{source}:{line}"),
        required=False,
        description=param.description,
    )


def load(path: Path) -> SavedQuery:
    """The saved query in `path` (named by its stem); ExploreError if its header is missing."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ExploreError(
            str(path), None, None, f"cannot read it ({e.__class__.__name__})"
        ) from None
    query = parse(text, path.stem, str(path))
    if query is None:
        raise ExploreError(str(path), 1, "Title", "a saved query starts with '// Title: ...'")
    return SavedQuery(query.name, query.title, query.description, query.params, query.text, path)


def saved() -> list[SavedQuery]:
    """Every saved exploration, by name."""
    return [load(path) for path in sorted(EXPLORE_DIR.glob("*.cypher"))]


def get(name: str) -> SavedQuery:
    """The saved exploration called `name`; UnknownExploration listing the
    known ones."""
    path = EXPLORE_DIR / f"{name}.cypher"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name or "") or not path.is_file():
        known = ", ".join(q.stem for q in sorted(EXPLORE_DIR.glob("*.cypher")))
        raise UnknownExploration(
            "saved queries", None, "name", f"no saved query {name!r}; known: {known}"
        )
    return load(path)


def bind_text(text: str, source: str, params: dict[str, Any]) -> dict[str, Any]:
    """Bind `params` against the header of a query file's text; unchanged when it has none."""
    query = parse(text, Path(source).stem, source)
    return params if query is None else query.bind(params)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float) and not value.is_integer():
        raise ValueError
    return int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError


def _string(value: Any) -> str:
    if isinstance(value, dict | list):
        raise TypeError
    return value if isinstance(value, str) else json.dumps(value)


_COERCE = {"string": _string, "integer": _integer, "float": _float, "boolean": _boolean}
