"""What the bucket tests share: a query's grid, its labels and its bucket lengths, from
text as a user writes it."""

from __future__ import annotations

import numpy as np

from usagekit.mock.core.buckets import Granularity, bucket_grid
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.zones import get_timeline

HOUR = 3600 * US
DAY = 24 * HOUR


def grid(tz: str, granularity: str, start: str, end: str, limit: int = 500):
    timeline = get_timeline(tz)
    return bucket_grid(
        timeline,
        Granularity(granularity),
        parse_datetime(start).instant(timeline),
        parse_datetime(end).instant(timeline),
        limit,
    )


def labels(tz: str, granularity: str, start: str, end: str, limit: int = 500) -> list[str]:
    return grid(tz, granularity, start, end, limit).labels()


def lengths(tz: str, granularity: str, start: str, end: str) -> list[int]:
    """Each bucket's length in µs; the last is cut at ``end``."""
    return np.diff(grid(tz, granularity, start, end).edges).tolist()
