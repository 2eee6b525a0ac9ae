"""Bucket grids bounded by limit over any range, and random zones and ranges against brute force."""

from __future__ import annotations

import brute
import numpy as np
import pytest
import strategies
from bucket_support import HOUR, grid, labels
from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.mock.core.buckets import Granularity, bucket_grid
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.zones import get_timeline

# -- limit, and the range


def test_hour_query_from_year_1_to_9999_is_bounded_by_limit():
    found = grid("UTC", "hour", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", 500)
    names = found.labels()
    # 500 hours are 20 days and 20 hours: the last bucket starts 499 hours in.
    assert (len(names), names[0], names[-1]) == (
        500,
        "0001-01-01T00:00:00Z",
        "0001-01-21T19:00:00Z",
    )
    # The cut: the last edge is the start of the first bucket left out.
    assert found.edges[-1] - found.edges[0] == 500 * HOUR


def test_whole_range_in_new_york_local_mean_time_and_its_far_future():
    # New York's local mean time is -4:56:02, written -04:56 with 2 s on the clock.
    names = labels("America/New_York", "hour", "0001-01-01T00:00:00", "9999-12-31T23:59:59")
    assert (len(names), names[0], names[-1]) == (
        500,
        "0001-01-01T00:00:02-04:56",
        "0001-01-21T19:00:02-04:56",
    )
    # 9999's last months still follow the US rule: EDT until the first Sunday of November.
    # The end is 10000-01-01T04:59:59Z in UTC: the years are bounded in tz, not in UTC.
    assert labels("America/New_York", "month", "9999-10-01T00:00:00", "9999-12-31T23:59:59") == [
        "9999-10-01T00:00:00-04:00",
        "9999-11-01T00:00:00-04:00",
        "9999-12-01T00:00:00-05:00",
    ]


def test_limit_cuts_the_list_and_the_last_edge():
    full = grid("Europe/Vienna", "day", "2024-03-29T00:00:00", "2024-04-03T00:00:00")
    cut = grid("Europe/Vienna", "day", "2024-03-29T00:00:00", "2024-04-03T00:00:00", limit=2)
    assert cut.labels() == ["2024-03-29T00:00:00+01:00", "2024-03-30T00:00:00+01:00"]
    assert full.labels()[:2] == cut.labels()
    # The cut grid ends where the first bucket left out begins: 2024-03-31 00:00 +01:00.
    assert cut.edges[-1] == full.edges[2]
    assert full.edges[-1] == parse_datetime("2024-04-03T00:00:00+02:00").instant(
        get_timeline("UTC")
    )


def test_a_range_inside_one_bucket_is_that_bucket():
    case = ("Europe/Vienna", "month", "2024-03-10T12:00:00.5", "2024-03-10T12:00:00.500001")
    assert labels(*case) == ["2024-03-01T00:00:00+01:00"]


def test_a_plain_string_granularity_is_read_as_the_enum():
    # StrEnum makes "hour" == Granularity.HOUR, so a caller may pass the text.
    timeline = get_timeline("America/New_York")
    start = parse_datetime("2024-11-03T00:00:00").instant(timeline)
    by_text = bucket_grid(timeline, "hour", start, start + 3 * HOUR, 500)  # type: ignore[arg-type]
    assert by_text.labels() == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
    ]


@pytest.mark.parametrize(("start", "end", "limit"), [(10, 10, 5), (11, 10, 5), (0, 10, 0)])
def test_bucket_grid_rejects_empty_ranges_and_limits(start, end, limit):
    with pytest.raises(ValueError, match="start < end"):
        bucket_grid(get_timeline("UTC"), Granularity.DAY, start, end, limit)


# -- random zones and ranges against the brute force


@settings(max_examples=250, deadline=None)
@given(strategies.windows())
def test_buckets_match_the_brute_force(window):
    found = bucket_grid(
        get_timeline(window.tz),
        Granularity(window.granularity),
        window.start,
        window.end,
        window.limit,
    )
    starts, stop = brute.buckets(
        window.tz, window.granularity, window.start, window.end, window.limit
    )
    zone = brute.get_zone(window.tz)
    assert found.labels() == [brute.written(zone, s * US) for s in starts]
    assert found.edges.tolist() == [s * US for s in starts] + [stop]


@settings(max_examples=150, deadline=None)
@given(strategies.windows(), st.integers(1, 500))
def test_a_smaller_limit_gives_a_prefix(window, limit):
    timeline = get_timeline(window.tz)
    granularity = Granularity(window.granularity)
    small = bucket_grid(timeline, granularity, window.start, window.end, min(limit, window.limit))
    large = bucket_grid(timeline, granularity, window.start, window.end, 500)
    assert large.labels()[: len(small)] == small.labels()
    assert large.edges[: len(small)].tolist() == small.edges[:-1].tolist()
    # Buckets are dense and strictly ascending; the first holds start, the last end - 1.
    assert np.all(np.diff(large.edges) > 0)
    assert large.edges[0] <= window.start < large.edges[1]
    assert large.edges[-1] == window.end or len(large) == 500
