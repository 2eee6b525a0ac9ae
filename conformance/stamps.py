"""Timestamps as a server wrote them: the instant, and the offset it was written in.

The contract writes every instant with a UTC offset. The same instant may be
written in more than one correct way -- ``Z`` or ``+00:00``, with or without
fractional zeros, a local-mean-time offset with seconds exact or to the minute
-- so rules compare what a timestamp *means* (:class:`Stamp`), never its text.
"""

from __future__ import annotations

import threading
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
    "every",
    "known_stamp",
    "label",
    "offset_label",
    "read_stamp",
    "read_stamps",
    "stamp_columns",
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


def read_stamps(texts: list[str]) -> list[Stamp | None]:
    """:func:`read_stamp` of each text; texts not read before are read all at once.

    A never-seen answer's labels are mostly new to the cache: one by one, their
    reading was a quarter of judging it. When they share one length and are all
    written the common way (``YYYY-MM-DDTHH:MM:SS`` and ``Z`` or ``±HH:MM``,
    ASCII, every field in range) they are read as columns in numpy
    (:func:`_read_columns`); otherwise each is read by :func:`read_stamp`,
    which alone decides what is a stamp.
    """
    stamps = list(map(known_stamp, texts))
    new = stamps.count(None)  # or read before and no stamp: those are read one by one
    if not new:
        return stamps
    if new >= _COLUMNS_FROM:
        columns = _columns(texts)
        if columns is not None:
            read = list(map(Stamp, columns[0].tolist(), columns[1].tolist()))
            if len(_READ) + len(texts) > _READ_KEPT:
                _READ.clear()
            _READ.update(zip(texts, read, strict=True))
            return read
    return list(map(read_stamp, texts))


def stamp_columns(texts: list[str]) -> Stamps | None:
    """:func:`read_stamps` of each text as arrays, without a :class:`Stamp` each; ``None``
    if some text is no stamp (:func:`read_stamps` says which).

    An answer's labels were looked up, made into Stamps and then into arrays, some
    1,600 instructions each; the texts read before are kept as places in two arrays, so
    that a label read before is one look-up and its share of two numpy gathers, and only
    the new ones are read.
    """
    with _PLACES_LOCK:  # a place is taken back when the arrays are full: read both at once
        places = list(map(_PLACES.get, texts))
        if None in places:
            new = list(dict.fromkeys(t for t, p in zip(texts, places, strict=True) if p is None))
            read = read_stamps(new)
            if None in read:
                return None
            kept = _keep(new, read)
            places = list(map(_PLACES.get, texts))
            if not kept or None in places:  # too many or too long to keep; or some let go
                return Stamps.of(read_stamps(texts))
        # np.array reads a list of ints in one go; fromiter packs them one by one (a third
        # of this function's instructions on an answer whose labels were all read before).
        at = np.array(places, np.intp)
        return Stamps(_INSTANTS[at], _OFFSETS[at])


#: Texts read before, each by its place in _INSTANTS and _OFFSETS (bounded like _READ).
_PLACES: dict[str, int] = {}
_PLACES_LOCK = threading.Lock()
_INSTANTS = np.zeros(_READ_KEPT, np.int64)
_OFFSETS = np.zeros(_READ_KEPT, np.int64)


def _keep(texts: list[str], stamps: list[Stamp | None]) -> bool:
    """Keep new ``texts`` (distinct, none kept yet) and their stamps; whether all were."""
    if len(texts) > _READ_KEPT // 2 or max(map(len, texts)) > _LONGEST:
        return False
    if len(_PLACES) + len(texts) > _READ_KEPT:
        _PLACES.clear()  # the labels of the moment come back at once
    first = len(_PLACES)
    places = range(first, first + len(texts))
    _INSTANTS[first : places.stop] = np.fromiter(map(_INSTANT, stamps), np.int64, len(texts))
    _OFFSETS[first : places.stop] = np.fromiter(map(_OFFSET, stamps), np.int64, len(texts))
    _PLACES.update(zip(texts, places, strict=True))
    return True


def _columns(texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Instants and offsets of texts of one common layout (see :func:`_read_columns`)."""
    lengths = set(map(len, texts))
    if len(lengths) != 1 or (length := lengths.pop()) not in _LAYOUTS:
        return None
    return _read_columns(texts, length)


#: New texts from which reading columns (a fixed cost of some 30 numpy calls) is cheaper.
_COLUMNS_FROM = 24
#: Text length -> the offset's sign column (None: ``Z``) and its digit columns.
_LAYOUTS: dict[int, tuple[int | None, list[int]]] = {20: (None, []), 25: (19, [20, 21, 23, 24])}
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_DAYS_IN = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _read_columns(texts: list[str], length: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Texts of one length as instants (µs) and offsets (s), or ``None`` unless every one
    is in the common layout."""
    try:
        raw = "".join(texts).encode("ascii")
    except UnicodeEncodeError:
        return None
    chars = np.frombuffer(raw, np.uint8).reshape(len(texts), length)
    sign_at, offset_digits = _LAYOUTS[length]
    digits = chars[:, _DIGITS].astype(np.int64) - 48
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    ok &= (chars[:, 4] == 45) & (chars[:, 7] == 45) & (chars[:, 13] == 58) & (chars[:, 16] == 58)
    ok &= (chars[:, 10] == 84) | (chars[:, 10] == 116)  # T or t
    pairs = digits[:, 0::2] * 10 + digits[:, 1::2]  # the two-digit fields, in order
    year = pairs[:, 0] * 100 + pairs[:, 1]
    month, day, hour, minute, second = pairs[:, 2:].T
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _DAYS_IN[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    if sign_at is None:
        ok &= (chars[:, 19] == 90) | (chars[:, 19] == 122)  # Z or z
        offset = np.zeros(len(texts), np.int64)
    else:
        o = chars[:, offset_digits].astype(np.int64) - 48
        ok &= ((o >= 0) & (o <= 9)).all(axis=1) & (chars[:, 22] == 58)
        sign = chars[:, sign_at]
        ok &= (sign == 43) | (sign == 45)
        hours, minutes = o[:, 0] * 10 + o[:, 1], o[:, 2] * 10 + o[:, 3]
        ok &= (hours < 24) & (minutes < 60)
        offset = np.where(sign == 45, -1, 1) * (hours * 3600 + minutes * 60)
    if not every(ok):
        return None
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    return ((days * 86_400 + hour * 3600 + minute * 60 + second) - offset) * US, offset


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


#: Whether every element of a boolean array is true: ``ndarray.all()`` without the Python
#: wrapper numpy calls it through (a judged answer asks some ten times, of small arrays).
every = np.logical_and.reduce


def well_written(offsets: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each offset is one :func:`written_offset` allows for ``wanted``, elementwise."""
    exact = offsets == wanted
    if every(exact):
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
