"""One field of a ``conversations.jsonl`` line, read and checked (:class:`._lines.LineChecker`'s
readers): each returns the field's column value or raises :class:`FieldError` naming it."""

from __future__ import annotations

import json
import re
from typing import Any

from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT, parse_datetime
from usagekit.mock.core.zones import get_timeline

__all__ = [
    "FRACTION_DIGITS",
    "MAX_DURATION",
    "FieldError",
    "read_duration",
    "read_enum",
    "read_start",
    "read_text",
]

#: ``duration_seconds`` is below this: 68 years, which no conversation reaches.
MAX_DURATION = 2**31
#: The most fractional digits of a ``start_timestamp``: nanoseconds, as .NET
#: (seven), Java and Go (up to nine) write them; those past the sixth are
#: dropped, flooring the time to the contract's microsecond.
FRACTION_DIGITS = 9
#: A clock with digits past a fraction's sixth: the text up to the sixth, those
#: digits, and the rest (the offset, or whatever the parser will refuse).
_PAST = re.compile(r"(.*?\.[0-9]{6})([0-9]+)([^0-9].*|)", re.S)


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


def read_start(value: Any) -> tuple[int, bool]:
    """The instant (µs) of a ``start_timestamp``, and whether flooring it to the
    microsecond dropped a non-zero digit (see :data:`FRACTION_DIGITS`)."""
    name = "start_timestamp"
    if not isinstance(value, str):
        raise FieldError(name, f"expected an RFC 3339 string, not {json.dumps(value)}")
    past = _PAST.fullmatch(value)
    if past is not None and len(past[2]) > FRACTION_DIGITS - 6:
        raise FieldError(
            name,
            f"{value!r} has more than nanosecond precision"
            f" (at most {FRACTION_DIGITS} fractional digits)",
        )
    # The digits past the sixth are cut before the contract's parser reads the rest,
    # which leaves the query's parser (a hot path) as it is.
    text = value if past is None else past[1] + past[3]
    try:
        parsed = parse_datetime(text)
    except ValueError as exc:
        raise FieldError(name, str(exc).replace(repr(text), repr(value))) from None
    if parsed.offset is None:
        raise FieldError(name, f"{value!r} has no UTC offset; end it with Z or ±HH:MM")
    instant = parsed.instant(get_timeline("UTC"))
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        raise FieldError(name, f"{value!r} is outside the years 1 to 9999 (UTC)")
    return instant, past is not None and past[2].strip("0") != ""


def read_duration(value: Any) -> int:
    name = "duration_seconds"
    if type(value) is not int:  # bool is an int subclass, and 12.0 is not an integer here
        raise FieldError(name, f"expected an integer number of seconds, not {json.dumps(value)}")
    if not 0 <= value < MAX_DURATION:
        raise FieldError(name, f"{value} is not in 0..{MAX_DURATION - 1}")
    return value
