"""A slow, obviously correct reference for the aggregator, written from the contract alone.

Nothing here uses the production algorithm (no Timeline, no bucket grid, no
numpy): every instant is classified by ``zoneinfo`` -- the same pinned tzdata
zone the core reads -- into its bucket key, and the buckets are found by
walking time.

* A bucket is a maximal run of instants that share a key: ``(local date,
  local hour, UTC offset)`` for hours, the local date for days, ``(year,
  month)`` for months. The walk steps 60 s; wherever the key at ``t`` and at
  ``t + 60`` differ, it looks at each second of that minute, so it finds every
  change even when two follow within a minute (the 00:01 fall-backs of
  St. John's return to the previous date after 60 seconds). Every offset and
  transition of the database is a whole number of seconds, so changes happen
  on whole seconds.
* Values are summed with plain loops and dicts, sorted by their tuples of
  dimension values, and written as the contract's JSON body.

Costs about a microsecond per minute walked: keep queries to a few days of
hours, a few weeks of days or a few months.
"""

from __future__ import annotations

import bisect
import math
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from usagekit.mock.core.dataset import Account, ConversationRecord
from usagekit.mock.core.zones import get_zone

US = 1_000_000
STEP = 60
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def local(zone: zoneinfo.ZoneInfo, second: int) -> datetime:
    """The aware local datetime of a whole-second instant."""
    return (EPOCH + timedelta(seconds=second)).astimezone(zone)


def key(zone: zoneinfo.ZoneInfo, granularity: str, second: int) -> tuple[Any, ...]:
    """The bucket key of the instant ``second``, straight from the contract's definition."""
    moment = local(zone, second)
    if granularity == "hour":
        return (moment.date(), moment.hour, moment.utcoffset())
    if granularity == "day":
        return (moment.date(),)
    return (moment.year, moment.month)


def _changes_within(zone: zoneinfo.ZoneInfo, granularity: str, a: int, b: int) -> list[int]:
    """Every second ``s`` in ``(a, b]`` where the key differs from the second before."""
    found = []
    previous = key(zone, granularity, a)
    for s in range(a + 1, b + 1):
        current = key(zone, granularity, s)
        if current != previous:
            found.append(s)
        previous = current
    return found


def bucket_start(zone: zoneinfo.ZoneInfo, granularity: str, second: int) -> int:
    """The first instant of the run of equal keys that holds ``second``."""
    t = second
    while True:
        if key(zone, granularity, t - STEP) != key(zone, granularity, t):
            changes = _changes_within(zone, granularity, t - STEP, t)
            if changes:
                return changes[-1]
        t -= STEP


def bucket_starts(
    zone: zoneinfo.ZoneInfo, granularity: str, first: int, last: int, count: int
) -> tuple[list[int], int | None]:
    """Up to ``count`` bucket starts from the bucket holding ``first`` to the one holding
    ``last``, and the start of the next bucket (``None`` when the list reached ``last``)."""
    starts = [bucket_start(zone, granularity, first)]
    t = first
    while True:
        changes = []
        if key(zone, granularity, t) != key(zone, granularity, t + STEP):
            changes = _changes_within(zone, granularity, t, t + STEP)
        for change in changes:
            if change > last:
                return starts, None
            if len(starts) == count:
                return starts, change
            starts.append(change)
        t += STEP
        if t > last:
            return starts, None


def written(zone: zoneinfo.ZoneInfo, instant: int) -> str:
    """An instant (µs) as the contract writes it: the zone's offset there rounded up to
    the minute, the clock carrying the difference; ``Z`` for a zero offset."""
    second, micros = divmod(instant, US)
    offset = local(zone, second).utcoffset()
    assert offset is not None
    shown = math.ceil(offset.total_seconds() / 60) * 60
    clock = (EPOCH + timedelta(seconds=second + shown, microseconds=micros)).replace(tzinfo=None)
    if shown == 0:
        suffix = "Z"
    else:
        hours, minutes = divmod(abs(shown) // 60, 60)
        suffix = f"{'+' if shown > 0 else '-'}{hours:02d}:{minutes:02d}"
    return clock.isoformat() + suffix


def buckets(tz: str, granularity: str, start: int, end: int, limit: int) -> tuple[list[int], int]:
    """The first ``limit`` bucket starts (s) of ``[start, end)`` (µs), and where the last
    of them stops (µs): ``end``, or the start of the first bucket left out."""
    zone = get_zone(tz)
    starts, following = bucket_starts(zone, granularity, start // US, (end - 1) // US, limit)
    return starts, end if following is None else min(end, following * US)


def in_scope(accounts: Sequence[Account], account_id: str) -> set[str]:
    """The accounts whose conversations the usage of ``account_id`` covers."""
    owner = next(a for a in accounts if a.id == account_id)
    if owner.parent_id is not None:
        return {owner.id}
    return {owner.id} | {a.id for a in accounts if a.parent_id == owner.id}


def dimension(record: ConversationRecord, name: str) -> str:
    if name == "agent":
        return "unassigned" if record.agent_id is None else record.agent_id
    if name == "subaccount":
        return record.account_id
    return record.type


def answer(
    accounts: Sequence[Account],
    records: Iterable[ConversationRecord],
    *,
    account_id: str,
    start: int,
    end: int,
    granularity: str,
    group_by: Sequence[str],
    tz: str,
    limit: int,
) -> dict[str, Any]:
    """The response body of a resolved query (instants in µs), computed the slow way."""
    zone = get_zone(tz)
    starts, stop = buckets(tz, granularity, start, end, limit)
    members = in_scope(accounts, account_id)
    cells: list[dict[tuple[str, ...], list[int]]] = [{} for _ in starts]
    for record in records:
        if record.status != "completed" or record.account_id not in members:
            continue
        if not start <= record.start < stop:
            continue
        bucket = bisect.bisect_right(starts, record.start // US) - 1
        group = tuple(dimension(record, name) for name in group_by)
        cell = cells[bucket].setdefault(group, [0, 0])
        cell[0] += record.duration_seconds
        cell[1] += 1
    data = []
    for bucket_first, found in zip(starts, cells, strict=True):
        if not group_by:
            found.setdefault((), [0, 0])
        values = [
            {
                "seconds": seconds,
                "conversations": count,
                "dimensions": dict(zip(group_by, group, strict=True)),
            }
            for group, (seconds, count) in sorted(found.items())
        ]
        data.append({"ts": written(zone, bucket_first * US), "values": values})
    return {
        "meta": {
            "account_id": account_id,
            "start": written(zone, start),
            "end": written(zone, end),
            "granularity": granularity,
            "group_by": list(group_by),
            "tz": tz,
        },
        "data": data,
    }
