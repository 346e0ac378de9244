"""Field checks for catalog and event records: each failure names the file, line and field."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Literal, NoReturn, overload

from unfragile.engine import settings as limits
from unfragile.engine.errors import InvalidInput
from unfragile.engine.records import INT64, RawRecord, parse_time, type_name

# Unicode category Cc (C0 and C1 controls) except tab and newline, in one C-speed search.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_FROM_RECORD: Any = object()  # marks "read the field from the record itself"


class FieldChecker:
    """Field checks for one record; every failure names the record's file, line and field."""

    def __init__(self, raw: RawRecord, allowed: set[str], what: str):
        self.raw, self.data = raw, raw.data
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            self.fail(
                unknown[0], f"unknown field for {what} (allowed: {', '.join(sorted(allowed))})"
            )

    def fail(self, name: str | None, message: str) -> NoReturn:
        raise InvalidInput(self.raw.source, self.raw.line, name, message)

    @overload
    def text(
        self,
        name: str,
        max_chars: int,
        required: Literal[True],
        value: Any = ...,
        label: str | None = ...,
    ) -> str: ...

    @overload
    def text(
        self,
        name: str,
        max_chars: int,
        required: bool = ...,
        value: Any = ...,
        label: str | None = ...,
    ) -> str | None: ...

    def text(
        self,
        name: str,
        max_chars: int,
        required: bool = False,
        value: Any = _FROM_RECORD,
        label: str | None = None,
    ) -> str | None:
        label = label or name
        value = self.data.get(name) if value is _FROM_RECORD else value
        if value is None:
            if required:
                self.fail(label, "is required")
            return None
        if not isinstance(value, str):
            self.fail(label, f"must be a string, got {type_name(value)}")
        value = value.strip()
        if required and not value:
            self.fail(label, "must not be empty")
        if len(value) > max_chars:
            self.fail(label, f"is {len(value)} characters long; the limit is {max_chars}")
        if _CONTROL.search(value):
            self.fail(label, "contains control characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            # JSON's \ud800 escapes decode to a lone surrogate: valid JSON, not text, and
            # the driver cannot send it to Neo4j.
            self.fail(
                label,
                f"contains a lone surrogate (U+{ord(value[e.start]):04X} at character "
                f"{e.start + 1}), which is not valid Unicode text",
            )
        return value or None

    @overload
    def ident(
        self, name: str, value: Any = ..., label: str | None = ..., required: Literal[True] = ...
    ) -> str: ...

    @overload
    def ident(
        self, name: str, value: Any = ..., label: str | None = ..., *, required: bool
    ) -> str | None: ...

    def ident(
        self, name: str, value: Any = _FROM_RECORD, label: str | None = None, required: bool = True
    ) -> str | None:
        value = self.text(name, limits.MAX_ID_CHARS, required=required, value=value, label=label)
        if value is not None and any(ch in value for ch in "\n\t"):
            self.fail(label or name, "must be on one line")
        return value

    def choice(self, name: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if value not in options:
            self.fail(name, f"must be one of {', '.join(options)}; got {shown_value(value)}")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, bool):
            self.fail(name, f"must be true or false, got {type_name(value)}")
        return value

    def number(
        self,
        name: str,
        integer: bool = False,
        minimum: float | None = 0,
        maximum: float | None = None,
    ) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (integer and not isinstance(value, int))
        ):
            self.fail(
                name, f"must be {'an integer' if integer else 'a number'}, got {type_name(value)}"
            )
        if not _finite(value):
            self.fail(name, _NOT_FINITE[isinstance(value, int)])
        if minimum is not None and value < minimum:
            self.fail(name, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self.fail(name, f"must be at most {maximum:,}")
        return value

    def string_list(
        self,
        name: str,
        max_items: int = 100,
        options: tuple[str, ...] | None = None,
        ident: bool = False,
    ) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, f"must be a list, got {type_name(value)}")
        if len(value) > max_items:
            self.fail(name, f"has {len(value)} items; the limit is {max_items}")
        out: list[str] = []
        for i, item in enumerate(value):
            label = f"{name}[{i}]"
            item = (
                self.ident(name, item, label)
                if ident
                else self.text(name, limits.MAX_NAME_CHARS, required=True, value=item, label=label)
            )
            if options is not None and item not in options:
                self.fail(label, f"must be one of {', '.join(options)}; got {item!r}")
            if item not in out:
                out.append(item)
        return out

    def day(self, name: str) -> str | None:
        value = self.text(name, 40)
        if value is None:
            return None
        try:
            return (
                date.fromisoformat(value[:10]).isoformat()
                if len(value) == 10
                else parse_time(value).date().isoformat()
            )
        except (ValueError, OverflowError):
            self.fail(name, f"must be a date as YYYY-MM-DD; got {value!r}")
        return None

    def number_map(self, name: str, allow_flags: tuple[str, ...] = ()) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(name, f"must be an object, got {type_name(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            label = f"{name}.{key}"
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", key):
                self.fail(label, "keys must be identifiers of letters, digits and '_'")
            if key in allow_flags:
                if not isinstance(item, bool):
                    self.fail(label, "must be true or false")
            elif isinstance(item, bool) or not isinstance(item, int | float) or item < 0:
                self.fail(label, "must be a non-negative number")
            elif not _finite(item):
                self.fail(label, _NOT_FINITE[isinstance(item, int)])
            out[key] = item
        return out


_NOT_FINITE = {
    False: "must be a finite number",
    True: "is too large: whole numbers must fit in 64 bits (at most 9223372036854775807)",
}


def _finite(value: int | float) -> bool:
    """A float that is not NaN or infinite, or an integer Neo4j can store (64 bits)."""
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    return math.isfinite(value)


def shown_value(value: Any) -> str:
    """A value for a message: short scalars as written, anything bigger by its type, so a
    message never grows with the input (nor recurses into a deeply nested one)."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return type_name(value)
