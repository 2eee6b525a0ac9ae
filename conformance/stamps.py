"""Timestamps as a server wrote them: the instant, and the offset it was written in.

The contract writes every instant with a UTC offset. The same instant may be
written in more than one correct way -- ``Z`` or ``+00:00``, with or without
fractional zeros, a local-mean-time offset with seconds exact or to the minute
-- so rules compare what a timestamp *means* (:class:`Stamp`), never its text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter

import msgspec
import numpy as np

from usagekit.mock.core.instants import US, format_instant

__all__ = [
    "Stamp",
    "Stamps",
    "known_stamp",
    "label",
    "offset_label",
    "read_stamp",
    "well_written",
    "written_offset",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INSTANT, _OFFSET = attrgetter("instant"), attrgetter("offset")


class Stamp(msgspec.Struct, frozen=True, gc=False):
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


#: The stamp of a text read before, ``None`` if not (or if it is no stamp): a look-up in C.
known_stamp = _READ.get


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


@dataclass(frozen=True, slots=True, eq=False)
class Stamps:
    """Many stamps as two arrays, for rules that compare every bucket at once."""

    instants: np.ndarray  # µs, int64
    offsets: np.ndarray  # s, int64

    @classmethod
    def of(cls, stamps: Sequence[Stamp]) -> Stamps:
        count = len(stamps)
        return cls(
            np.fromiter(map(_INSTANT, stamps), np.int64, count),
            np.fromiter(map(_OFFSET, stamps), np.int64, count),
        )

    def __len__(self) -> int:
        return len(self.instants)

    def __getitem__(self, index: int) -> Stamp:
        return Stamp(instant=int(self.instants[index]), offset=int(self.offsets[index]))

    def __iter__(self) -> Iterator[Stamp]:
        for instant, offset in zip(self.instants.tolist(), self.offsets.tolist(), strict=True):
            yield Stamp(instant=instant, offset=offset)


def well_written(offsets: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each offset is one :func:`written_offset` allows for ``wanted``, elementwise."""
    exact = offsets == wanted
    if exact.all():
        return exact  # the common case: every offset written exactly
    # Rounding toward zero is the floor or the ceiling: the four spellings are three.
    return (offsets == wanted) | (offsets == wanted // 60 * 60) | (offsets == -(-wanted // 60) * 60)


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
