"""ts_in_requested_zone reads every bucket's zone offset in one pass: the same as offset_at."""

from __future__ import annotations

import numpy as np
import pytest

from usagekit.conformance.rules.bodies import _offsets_at
from usagekit.mock.core.buckets import Granularity, bucket_grid
from usagekit.mock.core.instants import parse_instant
from usagekit.mock.core.zones import get_timeline

ZONES = [
    "UTC",
    "Europe/Vienna",
    "America/New_York",
    "Australia/Lord_Howe",  # half-hour DST
    "America/Sao_Paulo",  # DST dropped in 2019
    "Asia/Kathmandu",  # fractional offset, LMT in seconds before 1920
    "Africa/Casablanca",  # DST suspended each Ramadan
    "Pacific/Apia",  # skipped a whole date
]
#: (first, last, step in s): LMT times, the tz files' explicit years, the footer rule's years.
SPANS = [
    ("1890-01-01T00:00:00Z", "1925-01-01T00:00:00Z", 86_400 * 7 + 3_599),
    ("2011-01-01T00:00:00Z", "2013-01-01T00:00:00Z", 3_600),
    ("2024-10-20T00:00:00Z", "2024-11-10T00:00:00Z", 3_600),
    ("2036-12-01T00:00:00Z", "2040-03-01T00:00:00Z", 3_600 * 5 + 17),
    ("2099-06-01T00:00:00Z", "2101-06-01T00:00:00Z", 86_400),
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("first", "last", "step"), SPANS)
def test_offsets_at_is_offset_at_for_every_instant(
    zone: str, first: str, last: str, step: int
) -> None:
    timeline = get_timeline(zone)
    lo, hi = parse_instant(first) // 1_000_000, parse_instant(last) // 1_000_000
    instants = np.arange(lo, hi, step, dtype=np.int64)
    shuffled = np.random.default_rng(1).permutation(instants)  # a server's order is not trusted
    expected = [timeline.offset_at(int(i)) for i in shuffled]
    assert _offsets_at(timeline, shuffled).tolist() == expected


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("first", "last", "step"), SPANS)
@pytest.mark.parametrize("granularity", list(Granularity))
def test_a_grids_offsets_are_offset_at_of_its_starts(
    zone: str, first: str, last: str, step: int, granularity: Granularity
) -> None:
    # The rule reads them instead of _offsets_at when an answer's instants are the grid's.
    timeline = get_timeline(zone)
    grid = bucket_grid(timeline, granularity, parse_instant(first), parse_instant(last), 500)
    assert len(grid)
    expected = [timeline.offset_at(int(s)) for s in grid.starts]
    assert grid.offsets.tolist() == expected
    assert grid.offsets.tolist() == _offsets_at(timeline, grid.starts).tolist()
