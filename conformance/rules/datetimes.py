"""Date-times the reference refuses and the contract's own words let a server read.

The contract calls ``start`` and ``end`` "ISO-8601" date-times and types them
``format: date-time`` (RFC 3339). The reference reads RFC 3339 (an offset
optional); ISO-8601 also writes a date-time with fewer fields
(``2024-03-01T10:30Z``), a comma before the fraction, the basic format
(``20240301T103000Z``), an offset as ``+01`` or ``+0100``, and RFC 3339 lets an
application put a space for the ``T``. Whether a server reads those is its own
business: :func:`lenient` says what a server that does read them was asked.
"""

from __future__ import annotations

import dataclasses
import re

from usagekit.mock.core.instants import parse_datetime
from usagekit.mock.core.query import RawQuery

__all__ = ["lenient"]

_ISO = re.compile(
    r"(\d{4})-?(\d\d)-?(\d\d)[Tt ](\d\d)(?::?(\d\d)(?::?(\d\d)(?:[.,](\d+))?)?)?"
    r"(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?",
    re.ASCII,
)


def lenient(raw: RawQuery) -> RawQuery | None:
    """``raw`` with each ``start``/``end`` the reference refuses but ISO-8601 writes
    rewritten as the reference reads it; ``None`` when there is none such."""
    changed = {}
    for name in ("start", "end"):
        text = getattr(raw, name)
        if text is None or _reads(text):
            continue
        rewritten = _rewritten(text)
        if rewritten is not None:
            changed[name] = rewritten
    return dataclasses.replace(raw, **changed) if changed else None


def _reads(text: str) -> bool:
    try:
        parse_datetime(text)
    except ValueError:
        return False
    return True


def _rewritten(text: str) -> str | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = match.groups()
    clock = f"{year}-{month}-{day}T{hour}:{minute or '00'}:{second or '00'}"
    clock += f".{fraction}" if fraction else ""
    offset = "Z" if zulu else f"{sign}{oh}:{om or '00'}" if sign else ""
    written = clock + offset
    return written if _reads(written) else None  # a month 13 is refused however it is written
