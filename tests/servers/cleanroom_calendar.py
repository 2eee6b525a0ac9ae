"""The clean-room server's calendar: local-calendar buckets of an IANA zone.

Written from the contract alone (openapi.yaml, "Buckets"), with ``zoneinfo`` and
``datetime`` arithmetic, so that it shares no habit with the reference core:
a zone's offset timeline is found by probing ``utcoffset`` every two hours and
bisecting each change to the second, and a bucket is a maximal run of instants
whose local key (date and hour and offset, date, or month) stays the same.
Instants are ``int`` microseconds since the epoch.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_US = (datetime.min.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
MAX_US = (datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
DAY_US = 86400 * US
PROBE_US = 2 * 3600 * US
# The longest bucket (a month, plus a backward jump of the clock) with room to spare.
LONGEST_US = {"hour": 3 * 3600 * US, "day": 3 * 86400 * US, "month": 34 * 86400 * US}


def to_datetime(instant: int) -> datetime:
    return EPOCH + timedelta(microseconds=instant)


def to_instant(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def offset_at(zone: ZoneInfo, instant: int) -> int:
    """The zone's UTC offset at ``instant``, in µs."""
    try:
        moment = to_datetime(instant).astimezone(zone)
    except OverflowError:  # local time in year 0 or 10000: no zone changes offset there
        return offset_at(zone, instant + 2 * DAY_US if instant < 0 else instant - 2 * DAY_US)
    return moment.utcoffset() // timedelta(microseconds=1)


def timeline(zone: ZoneInfo, low: int, high: int) -> list[tuple[int, int]]:
    """``(since, offset)`` segments covering ``[low, high]``: the first starts at ``low``
    (a whole second), each next one where the offset changes (found to the second)."""
    low, high = max(low, MIN_US) // US * US, min(high, MAX_US)
    segments = [(low, offset_at(zone, low))]
    probe = low
    while probe < high:
        nxt = probe + PROBE_US
        offset = offset_at(zone, nxt)
        if offset != segments[-1][1]:
            lo, hi = probe, nxt  # lo has the last segment's offset, hi another
            while hi - lo > US:
                mid = lo + (hi - lo) // US // 2 * US
                if offset_at(zone, mid) == segments[-1][1]:
                    lo = mid
                else:
                    hi = mid
            segments.append((hi, offset_at(zone, hi)))
        probe = nxt
    return segments


def local_key(granularity: str, wall: datetime, offset: int) -> tuple[int, ...]:
    if granularity == "hour":
        return (wall.year, wall.month, wall.day, wall.hour, offset)
    if granularity == "day":
        return (wall.year, wall.month, wall.day)
    return (wall.year, wall.month)


def floor_wall(granularity: str, wall: datetime) -> datetime:
    if granularity == "hour":
        return wall.replace(minute=0, second=0, microsecond=0)
    if granularity == "day":
        return wall.replace(hour=0, minute=0, second=0, microsecond=0)
    return wall.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_wall(granularity: str, wall: datetime) -> datetime:
    """The next calendar boundary after the floor of ``wall`` (may raise OverflowError)."""
    start = floor_wall(granularity, wall)
    if granularity == "hour":
        return start + timedelta(hours=1)
    if granularity == "day":
        return start + timedelta(days=1)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def wall_of(instant: int, offset: int) -> datetime:
    """The naive local clock reading at ``instant`` under ``offset`` (µs)."""
    return datetime(1970, 1, 1) + timedelta(microseconds=instant + offset)


def buckets(
    zone: ZoneInfo, granularity: str, start: int, end: int, limit: int
) -> list[tuple[int, int]]:
    """The first ``limit`` buckets from the one holding ``start`` to the one holding
    the last instant before ``end``, as ``(first instant, offset there)``."""
    longest = LONGEST_US[granularity]
    segments = timeline(zone, start - longest, min(end, start + (limit + 1) * longest))
    sinces = [since for since, _ in segments]
    index = bisect_right(sinces, start) - 1
    at: int | None = _run_start(granularity, segments, index, start)
    out: list[tuple[int, int]] = []
    while at is not None and at < end and len(out) < limit:
        index = max(bisect_right(sinces, at) - 1, 0)
        out.append((at, segments[index][1]))
        at = _run_end(granularity, segments, index, at)
    return out


def _run_start(granularity: str, segments: list[tuple[int, int]], index: int, at: int) -> int:
    """The first instant of the run of ``at``'s key, walking back over segments."""
    since, offset = segments[index]
    key = local_key(granularity, wall_of(at, offset), offset)
    while True:
        floor = to_instant(floor_wall(granularity, wall_of(at, offset)).replace(tzinfo=UTC))
        floor -= offset
        if floor > since or index == 0:
            return floor
        before = segments[index - 1][1]
        if local_key(granularity, wall_of(since - 1, before), before) != key:
            return since
        index -= 1
        at = since - 1
        since, offset = segments[index][0], before


def _run_end(granularity: str, segments: list[tuple[int, int]], index: int, at: int) -> int | None:
    """The first instant after ``at`` whose key differs from ``at``'s (None past 9999)."""
    offset = segments[index][1]
    key = local_key(granularity, wall_of(at, offset), offset)
    while True:
        try:
            boundary = to_instant(next_wall(granularity, wall_of(at, offset)).replace(tzinfo=UTC))
        except (OverflowError, ValueError):
            return None
        boundary -= offset
        following = segments[index + 1][0] if index + 1 < len(segments) else None
        if following is None or boundary < following:
            return boundary
        # the offset changes first (or at the boundary): the key may go on under it
        index += 1
        at, offset = following, segments[index][1]
        if local_key(granularity, wall_of(at, offset), offset) != key:
            return at


def write_instant(instant: int, offset: int) -> str:
    """RFC 3339 in ``offset``: seconds of a local-mean-time offset go to the nearest
    minute (the clock reading carries the rest; up instead, where the clock reading
    would fall before the year 1); a zero offset is ``+00:00``; a fraction is written
    with as few digits as it needs."""
    minutes = round(offset / (60 * US))
    try:
        wall = wall_of(instant, minutes * 60 * US)
    except OverflowError:
        minutes = -(-offset // (60 * US))
        wall = wall_of(instant, minutes * 60 * US)
    text = f"{wall.year:04d}" + wall.strftime("-%m-%dT%H:%M:%S")
    if wall.microsecond:
        text += f".{wall.microsecond:06d}".rstrip("0")
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}:{mins:02d}"
