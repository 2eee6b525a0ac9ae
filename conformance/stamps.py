"""Timestamps as a server wrote them: the instant, and the offset it was written in.

The contract writes every instant with a UTC offset. The same instant may be
written in more than one correct way -- ``Z`` or ``+00:00``, with or without
fractional zeros, a local-mean-time offset with seconds exact or to the minute
-- so rules compare what a timestamp *means* (:class:`Stamp`), never its text.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from usagekit.mock.core.instants import US, format_instant

__all__ = ["Stamp", "label", "offset_label", "read_stamp", "written_offset"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Stamp(msgspec.Struct, frozen=True):
    """A timestamp as a server wrote it: the instant (µs) and the offset written (s).

    A msgspec record, not a dataclass: an answer and its grid make one per
    bucket, and a frozen dataclass costs several times as much to build.
    """

    instant: int
    offset: int


#: Stamps read, by their text: an answer's labels recur in the next (a day's, an hour's).
_READ: dict[str, Stamp | None] = {}
_READ_KEPT = 1 << 16
_LONGEST = 64  # characters: longer texts are read every time, never kept


def read_stamp(text: object) -> Stamp | None:
    """Read an RFC 3339 timestamp with an offset; ``None`` if it is not one.

    RFC 3339 allows a lower-case ``t`` and ``z``; both are read.
    """
    if not isinstance(text, str):
        return None
    try:
        return _READ[text]
    except KeyError:
        pass
    stamp = _read(text)
    if len(text) <= _LONGEST:
        if len(_READ) >= _READ_KEPT:
            _READ.clear()  # bounded; the labels of the moment come back at once
        _READ[text] = stamp
    return stamp


def _read(text: str) -> Stamp | None:
    try:
        parsed = datetime.fromisoformat(text.replace("t", "T").replace("z", "Z"))
    except ValueError:
        return None
    offset = parsed.utcoffset()
    if offset is None:
        return None
    delta = parsed - _EPOCH
    instant = (delta.days * 86_400 + delta.seconds) * US + delta.microseconds
    return Stamp(instant=instant, offset=int(offset.total_seconds()))


def written_offset(offset: int) -> set[int]:
    """The offsets a server may write for a zone offset: exact, or to the minute."""
    return {offset, -(-offset // 60) * 60, offset // 60 * 60, int(offset / 60) * 60}


def offset_label(seconds: int) -> str:
    """An offset as ``+05:45`` (with seconds only when it has them)."""
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}" + (f":{rest % 60:02d}" if rest % 60 else "")


def label(stamp: Stamp) -> str:
    """A stamp written out, as the reference writes it."""
    return format_instant(stamp.instant, stamp.offset)
