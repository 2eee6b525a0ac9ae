"""Reading and writing the contract's date-times.

Instants are integer **microseconds** since the Unix epoch (int64 covers
±292,000 years, so years 1 to 9999 in any zone fit with room to spare).

Reading: an RFC 3339 date-time (``2024-03-10T02:00:00-05:00``, ``...Z``,
lower-case ``t``/``z``, up to six fractional digits) or the same without an
offset, which the contract reads as local time in the query's zone: an
ambiguous local time takes its first occurrence and a skipped one is read with
the offset in force before the skip (PEP 495's ``fold=0``).

Writing: ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` and the offset as ``±HH:MM``, or
``Z`` when it is zero. Before standard time, zones ran on local mean time with
offsets such as +01:05:21, which RFC 3339 cannot write; such an offset is
written rounded up to the next minute (+01:06) and the clock time carries the
difference (``00:00:39``), so that the text still names the exact instant and
the clock still shows the bucket's local date and hour.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from .zones import Timeline

__all__ = [
    "MAX_INSTANT",
    "MIN_INSTANT",
    "DateTimeText",
    "format_instant",
    "format_instants",
    "instants_ascii",
    "local_instant",
    "parse_datetime",
    "parse_instant",
    "read_datetime",
]

US = 1_000_000
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()

#: 0001-01-01T00:00:00 and 9999-12-31T23:59:59.999999 in µs: the years a date-time may name
#: (a query bounds the clock of its tz, see query.py; UTC may then be a year outside).
MIN_INSTANT = (1 - _EPOCH_ORDINAL) * 86_400 * US
MAX_INSTANT = (3_652_059 + 1 - _EPOCH_ORDINAL) * 86_400 * US - 1

_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?",
    # ``\d`` alone would accept any Unicode digit (full-width, Arabic-Indic): no ISO-8601.
    re.ASCII,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DateTimeText:
    """A parsed date-time: local clock fields, and the offset when one was written."""

    local: datetime
    offset: int | None  # seconds east of UTC; None when the text has no offset

    def instant(self, timeline: Timeline) -> int:
        """The instant (µs) this text names; text without an offset is local to ``timeline``."""
        return local_instant(self.local, self.offset, timeline)


def local_instant(local: datetime, offset: int | None, timeline: Timeline) -> int:
    """The instant (µs) of the clock reading ``local`` at ``offset`` (s), or in
    ``timeline`` when ``offset`` is ``None`` (see :class:`DateTimeText`)."""
    wall = _local_micros(local)
    if offset is not None:
        return wall - offset * US
    found = local.replace(tzinfo=timeline.zone, fold=0).utcoffset()
    assert found is not None  # a ZoneInfo always has an offset
    return wall - int(found.total_seconds()) * US


def parse_datetime(text: str) -> DateTimeText:
    """Parse the contract's date-time syntax; ``ValueError`` says what is wrong."""
    local, offset = read_datetime(text)
    return DateTimeText(local=local, offset=offset)


def read_datetime(text: str) -> tuple[datetime, int | None]:
    """:func:`parse_datetime`'s fields without the record (a query reads two per answer):
    the local clock reading, and the offset (s) when one was written."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        hint = ""
        if re.fullmatch(r".*\d{2}:\d{2}:\d{2}(\.\d+)? \d{2}:\d{2}", text):
            hint = " (a '+' in a query string must be written %2B)"
        raise ValueError(
            f"{text!r} is not an ISO-8601 date-time such as 2024-03-01T00:00:00Z{hint}"
        )
    # One call for every field (the pattern's groups, in order): a named lookup costs one each.
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if fraction is not None and len(fraction) > 6:
        raise ValueError(f"{text!r} has more than microsecond precision")
    try:
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date-time: {exc}") from None
    return local, _parse_offset(text, offset)


def parse_instant(text: str) -> int:
    """An RFC 3339 date-time that names an instant on its own (with offset), as µs.

    For options such as ``--now``, where there is no zone to read a local time in.
    """
    parsed = parse_datetime(text)
    if parsed.offset is None:
        raise ValueError(f"{text!r} has no UTC offset: add Z or ±HH:MM, e.g. {text}Z")
    return _local_micros(parsed.local) - parsed.offset * US


def _parse_offset(text: str, offset: str | None) -> int | None:
    if offset is None:
        return None
    if offset in ("Z", "z"):
        return 0
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} has an invalid UTC offset {offset!r}")
    seconds = hours * 3600 + minutes * 60
    return -seconds if offset[0] == "-" else seconds


def _local_micros(local: datetime) -> int:
    days = local.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + local.hour * 3600 + local.minute * 60 + local.second
    return seconds * US + local.microsecond


@functools.cache
def _offset_text(offset: int) -> str:
    if offset == 0:
        return "Z"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def format_instant(instant: int, offset: int) -> str:
    """``instant`` (µs) written in a zone whose UTC offset there is ``offset`` (s)."""
    written = -(-offset // 60) * 60  # rounded up to a whole minute
    seconds, micros = divmod(instant + written * US, US)
    days, clock = divmod(seconds, 86_400)
    date = _date_text(days)
    if date is None:
        clock_text = str(np.datetime64(seconds, "s"))
    else:
        hour, rest = divmod(clock, 3600)
        clock_text = date + _HOURS[hour] + _MINUTES_SECONDS[rest]
    fraction = f".{micros:06d}" if micros else ""
    return f"{clock_text}{fraction}{_offset_text(written)}"


#: ``THH:`` and ``MM:SS`` written once: a clock reading is two list lookups, several
#: times cheaper than datetime arithmetic and formatting (3,624 short strings).
_HOURS = [f"T{hour:02d}:" for hour in range(24)]
_MINUTES_SECONDS = [f"{minute:02d}:{second:02d}" for minute in range(60) for second in range(60)]


@functools.lru_cache(maxsize=4096)  # bounded: some 11 years of days
def _date_text(days: int) -> str | None:
    """``YYYY-MM-DD`` of a day since the epoch, or ``None`` outside the years 1 to 9999."""
    try:
        return date.fromordinal(days + _EPOCH_ORDINAL).isoformat()
    except (ValueError, OverflowError):
        return None


def format_instants(seconds: np.ndarray, offsets: np.ndarray) -> list[str]:
    """Whole-second instants written with their offsets, vectorised for bucket starts."""
    written = -(-offsets // 60) * 60
    clocks = _clocks(seconds + written)
    suffix = {int(o): _offset_text(int(o)) for o in np.unique(written)}
    return list(map(str.__add__, clocks, map(suffix.__getitem__, written.tolist())))


#: Local clock readings already written, by local second. Bucket starts repeat from
#: query to query (the same hours and days, whatever the zone), and a dict lookup is
#: several times cheaper than numpy's datetime formatting; bounded, cleared when full.
_CLOCKS: dict[int, str] = {}
_CLOCKS_MAX = 1 << 16


def _clocks(local: np.ndarray) -> list[str]:
    keys = local.tolist()
    found: list[str | None] = list(map(_CLOCKS.get, keys))
    if None in found:
        missing = [i for i, clock in enumerate(found) if clock is None]
        texts = np.datetime_as_string(local[missing].astype("M8[s]"), unit="s").tolist()
        if len(_CLOCKS) + len(texts) > _CLOCKS_MAX:
            _CLOCKS.clear()
        for i, text in zip(missing, texts, strict=True):
            found[i] = _CLOCKS[keys[i]] = text
    return found  # type: ignore[return-value]  # no None is left


#: ``_PAIRS[n]``: the two ASCII digits of ``0 <= n < 100``.
_PAIRS = np.array([f"{n:02d}".encode() for n in range(100)], dtype="S2").view(np.uint8)
_PAIRS = _PAIRS.reshape(100, 2)
_CLOCK = np.frombuffer(b"0000-00-00T00:00:00", dtype=np.uint8)


def instants_ascii(seconds: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """:func:`format_instants` as one ASCII row per instant, NUL-padded (``uint8``, 2-D).

    Array arithmetic only (H. Hinnant's days-to-civil, then two digits at a time from
    a table), so a grid's labels cost a few numpy operations whatever their number;
    a clock outside the years 1 to 9999 is written by :func:`format_instants` instead.
    """
    written = -(-offsets // 60) * 60
    days, clock = np.divmod(seconds + written, 86_400)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    if len(year) and not (int(year.min()) >= 1 and int(year.max()) <= 9999):
        texts = [text.encode() for text in format_instants(seconds, offsets)]
        width = max(map(len, texts))
        return np.array(texts, dtype=f"S{width}").view(np.uint8).reshape(len(texts), width)
    hour, rest = np.divmod(clock, 3600)
    minute, second = np.divmod(rest, 60)
    suffixes, which = _suffixes(written)
    rows = np.empty((len(year), 19 + suffixes.shape[1]), dtype=np.uint8)
    rows[:, :19] = _CLOCK
    century = year // 100
    for column, value in (
        (0, century),
        (2, year - century * 100),
        (5, month),
        (8, day),
        (11, hour),
        (14, minute),
        (17, second),
    ):
        rows[:, column : column + 2] = _PAIRS[value]
    rows[:, 19:] = suffixes[which]
    return rows


def _suffixes(written: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct offsets' texts (rows of ``uint8``, NUL-padded) and each one's row."""
    if not len(written) or (written == written[0]).all():
        distinct, which = written[:1], np.zeros(len(written), dtype=np.intp)
    else:
        distinct, which = np.unique(written, return_inverse=True)
    texts = [_offset_text(int(o)).encode() for o in distinct.tolist()] or [b"Z"]
    width = max(map(len, texts))
    table = np.array(texts, dtype=f"S{width}").view(np.uint8).reshape(len(texts), width)
    return table, which
