"""One field of a ``conversations.jsonl`` line, read and checked (:class:`._lines.LineChecker`'s
readers): each returns the field's column value or raises :class:`FieldError` naming it."""

from __future__ import annotations

import json
from typing import Any

from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT, parse_datetime
from usagekit.mock.core.zones import get_timeline

__all__ = ["MAX_DURATION", "FieldError", "read_duration", "read_enum", "read_start", "read_text"]

#: ``duration_seconds`` is below this: 68 years, which no conversation reaches.
MAX_DURATION = 2**31


class FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def read_text(record: dict[str, Any], name: str) -> str:
    value = record[name]
    if not isinstance(value, str):
        raise FieldError(name, f"expected a string, not {json.dumps(value)}")
    return value


def read_enum(record: dict[str, Any], name: str, codes: dict[str | bytes, int]) -> int:
    value = record[name]
    code = codes.get(value) if isinstance(value, str) else None
    if code is None:
        allowed = ", ".join(key for key in codes if isinstance(key, str))
        raise FieldError(name, f"{json.dumps(value)} is not one of {allowed}")
    return code


def read_start(value: Any) -> int:
    name = "start_timestamp"
    if not isinstance(value, str):
        raise FieldError(name, f"expected an RFC 3339 string, not {json.dumps(value)}")
    try:
        parsed = parse_datetime(value)
    except ValueError as exc:
        raise FieldError(name, str(exc)) from None
    if parsed.offset is None:
        raise FieldError(name, f"{value!r} has no UTC offset; end it with Z or ±HH:MM")
    instant = parsed.instant(get_timeline("UTC"))
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        raise FieldError(name, f"{value!r} is outside the years 1 to 9999 (UTC)")
    return instant


def read_duration(value: Any) -> int:
    name = "duration_seconds"
    if type(value) is not int:  # bool is an int subclass, and 12.0 is not an integer here
        raise FieldError(name, f"expected an integer number of seconds, not {json.dumps(value)}")
    if not 0 <= value < MAX_DURATION:
        raise FieldError(name, f"{value} is not in 0..{MAX_DURATION - 1}")
    return value
