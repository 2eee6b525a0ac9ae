"""The zone classes of the coverage ledger (:mod:`.coverage`): what a range's zone is
around it -- UTC, fixed, a northern or southern DST zone, a fractional offset -- over
the range's whole UTC years, and what the range itself crosses: a change of offset,
a skipped local midnight. Pure functions, cached: a zone's calendar never changes.
"""

from __future__ import annotations

import functools

from .zones import Timeline

__all__ = ["zone_cells"]


def zone_cells(
    timeline: Timeline, start: int, end: int, changes: tuple[list[int], list[int]]
) -> tuple[str, ...]:
    """``changes``: the offset changes in ``(start, end - 1]`` (s)."""
    found = _zone_classes(timeline, _year_start(start), _year_start(end, after=True))
    instants, offsets = changes
    if not instants:
        return found
    changes = ["tz:offset-change"]
    before = timeline.offset_at(start)
    for instant, after in zip(instants, offsets, strict=True):
        # The local times [instant + before, instant + after) never happen.
        first_midnight = -(-(instant + before) // 86_400) * 86_400
        if first_midnight < instant + after:
            changes.append("tz:skipped-midnight")
            break
        before = after
    return found + tuple(changes)


@functools.lru_cache(maxsize=1024)
def _zone_classes(timeline: Timeline, lo: int, hi: int) -> tuple[str, ...]:
    """The zone's classes over the whole years ``[lo, hi)`` (s)."""
    first = timeline.offset_at(lo)
    instants, offsets = timeline.transitions(lo, hi - 1)
    seen = {first, *offsets.tolist()}
    found = []
    if not len(instants):
        found.append("tz:utc" if first == 0 else "tz:fixed")
    steps = list(zip(instants.tolist(), [first, *offsets.tolist()], offsets.tolist(), strict=False))
    forward = [t for t, before, after in steps if after > before]
    # Daylight saving moves the clocks both ways in the years: a zone that only moved them
    # forward (Caracas 2016, Pyongyang 2018) changed its standard time, in no hemisphere.
    if forward and any(after < before for _, before, after in steps):
        # A clock that springs forward in January-June is a northern summer.
        north = (forward[0] - lo) % (366 * 86_400) < 182 * 86_400
        found.append("tz:dst-north" if north else "tz:dst-south")
    if any(offset % 3600 for offset in seen):
        found.append("tz:fractional")
    return tuple(found)


def _year_start(second: int, *, after: bool = False) -> int:
    """The first second of ``second``'s UTC year (of the next year when ``after``)."""
    return _year_start_of_day(second // 86_400, after)


@functools.lru_cache(maxsize=4096)
def _year_start_of_day(days: int, after: bool) -> int:
    year = _civil_year(days) + (1 if after else 0)
    return _days_from_civil(year) * 86_400


def _civil_year(days: int) -> int:
    # Proleptic Gregorian year of a day count since 1970-01-01 (Hinnant's algorithm).
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    month = (5 * doy + 2) // 153
    return yoe + era * 400 + (1 if month >= 10 else 0)


def _days_from_civil(year: int) -> int:
    # Days from 1970-01-01 to the 1st of January of ``year``.
    y = year - 1
    era = y // 400
    yoe = y - era * 400
    doe = 365 * yoe + yoe // 4 - yoe // 100 + 306
    return era * 146_097 + doe - 719_468
