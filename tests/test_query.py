"""resolve_query: defaults, how date-times are read, and every invalid field at once."""

from __future__ import annotations

import pytest

from usagekit.mock.core.buckets import Granularity
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.query import Dimension, RawQuery, UsageQuery, resolve_query
from usagekit.mock.core.zones import get_timeline

ACCOUNT = "acct-1"
NOW = parse_datetime("2024-06-15T12:34:56Z").instant(get_timeline("UTC"))


def resolve(**params) -> UsageQuery:
    return resolve_query(RawQuery(**params), account_id=ACCOUNT, now=NOW)


def errors(**params) -> dict[str, str]:
    with pytest.raises(QueryError) as caught:
        resolve(**params)
    found = {e.field: e.message for e in caught.value.errors}
    assert len(found) == len(caught.value.errors), "one error per field"
    return found


def utc(text: str) -> int:
    return parse_datetime(text).instant(get_timeline("UTC"))


def test_defaults():
    query = resolve()
    assert query == UsageQuery(
        account_id=ACCOUNT,
        start=NOW - 720 * 3600 * US,  # exactly 30 days, whatever the zone's DST
        end=NOW,
        granularity=Granularity.DAY,
        group_by=(),
        tz="UTC",
        limit=500,
    )


def test_default_start_is_30_days_of_720_hours_across_dst():
    # 2024-03-10 in New York is 23 hours long; the default span stays 720 hours,
    # so it starts at 23:00 EST, 30 calendar days less one hour before 00:00 EDT.
    query = resolve(end="2024-03-20T00:00:00", tz="America/New_York")
    assert query.end - query.start == 720 * 3600 * US
    assert query.written(query.start) == "2024-02-18T23:00:00-05:00"


def test_explicit_values():
    query = resolve(
        start="2024-03-01T00:00:00+01:00",
        end="2024-04-01T00:00:00+02:00",
        granularity="hour",
        group_by=["type", "agent"],
        tz="Europe/Vienna",
        limit="25",
    )
    assert (query.start, query.end) == (utc("2024-02-29T23:00:00Z"), utc("2024-03-31T22:00:00Z"))
    assert query.granularity is Granularity.HOUR
    assert query.group_by == (Dimension.TYPE, Dimension.AGENT)
    assert (query.tz, query.limit) == ("Europe/Vienna", 25)


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("agent,type", ("agent", "type")),
        (["agent", "type"], ("agent", "type")),
        (["agent,type", "subaccount"], ("agent", "type", "subaccount")),
        (["type", "agent,type", "type"], ("type", "agent")),
        ("subaccount,subaccount", ("subaccount",)),
        ([], ()),
        (None, ()),
    ],
)
def test_group_by_forms_merge_and_drop_duplicates_keeping_the_first(group_by, expected):
    assert resolve(group_by=group_by).group_by == tuple(Dimension(d) for d in expected)


@pytest.mark.parametrize("limit", ["1", "500", "007", 1, 500])
def test_valid_limits(limit):
    assert resolve(limit=limit).limit == int(limit)


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "between 1 and 500"),
        (0, "between 1 and 500"),
        ("501", "between 1 and 500"),
        ("-1", "not an integer"),
        ("1.5", "not an integer"),
        ("abc", "not an integer"),
        ("", "not an integer"),
        (" 5", "not an integer"),
        ("\uff15", "not an integer"),  # a full-width five
        (True, "not an integer"),
    ],
)
def test_invalid_limits(limit, message):
    assert message in errors(limit=limit)["query.limit"]


def test_every_invalid_field_is_reported_at_once():
    found = errors(
        start="yesterday",
        end="2024-13-01T00:00:00Z",
        granularity="week",
        group_by=["agent", "team"],
        tz="america/new_york",
        limit="501",
    )
    assert set(found) == {
        "query.start",
        "query.end",
        "query.granularity",
        "query.group_by",
        "query.tz",
        "query.limit",
    }
    assert "'week' is not one of hour, day, month" in found["query.granularity"]
    assert "'team'" in found["query.group_by"]
    assert "'agent'" not in found["query.group_by"]
    # Names are case-sensitive, but the error points at the right one.
    assert "did you mean 'America/New_York'?" in found["query.tz"]
    assert "'yesterday'" in found["query.start"]


def test_unknown_zone_without_a_near_name_has_no_hint():
    message = errors(tz="Mars/Olympus_Mons")["query.tz"]
    assert "'Mars/Olympus_Mons' is not an IANA time zone" in message
    assert "did you mean" not in message


@pytest.mark.parametrize("name", ["start", "end", "tz", "group_by"])
def test_empty_values_are_invalid(name):
    value = [""] if name == "group_by" else ""
    assert f"query.{name}" in errors(**{name: value})


def test_start_must_be_before_end():
    for start in ("2024-03-02T00:00:00Z", "2024-03-01T00:00:00Z"):
        with pytest.raises(QueryError) as caught:
            resolve(start=start, end="2024-03-01T00:00:00Z")
        (error,) = caught.value.errors
        assert error.field == "query.start"
        assert error.related == ("query.end",)
    # The same instant written in two offsets is still empty.
    assert "query.start" in errors(start="2024-03-01T01:00:00+01:00", end="2024-03-01T00:00:00Z")
    # With the default end (now), a start in the future is after end too.
    assert "query.start" in errors(start="2024-06-15T12:34:56Z")


def test_naive_date_times_are_local_in_tz():
    query = resolve(start="2024-07-01T00:00:00", end="2024-07-02T00:00:00", tz="Asia/Kathmandu")
    assert query.start == utc("2024-06-30T18:15:00Z")
    assert query.end == utc("2024-07-01T18:15:00Z")


def test_ambiguous_and_skipped_local_times():
    # 01:30 on 2024-11-03 happens twice in New York: the first is at -04:00.
    # 02:30 on 2024-03-10 never happens: it is read at -05:00, the offset before the skip.
    fall = resolve(start="2024-11-03T01:30:00", end="2024-11-04T00:00:00", tz="America/New_York")
    spring = resolve(start="2024-03-10T02:30:00", end="2024-03-11T00:00:00", tz="America/New_York")
    assert fall.start == utc("2024-11-03T05:30:00Z")
    assert spring.start == utc("2024-03-10T07:30:00Z")
    assert spring.written(spring.start) == "2024-03-10T03:30:00-04:00"


def test_years_are_bounded_on_the_clock_of_tz():
    # 9999-12-31T23:59:59 in New York is in the year 10000 in UTC: still valid.
    query = resolve(start="9999-12-01T00:00:00", end="9999-12-31T23:59:59", tz="America/New_York")
    assert query.written(query.end) == "9999-12-31T23:59:59-05:00"
    # 0001-01-01T00:00:00 in Kolkata is in the year 0 in UTC: still valid.
    query = resolve(start="0001-01-01T00:00:00", end="0001-01-02T00:00:00", tz="Asia/Kolkata")
    assert query.written(query.start) == "0001-01-01T00:00:32+05:54"
    # The same instants are outside the years 1 to 9999 on a UTC clock.
    assert "out of range" in errors(end="9999-12-31T23:59:59-05:00")["query.end"]
    assert "out of range" in errors(start="0001-01-01T00:00:00+01:00")["query.start"]
    # Year 0 does not parse at all.
    assert "query.start" in errors(start="0000-12-31T00:00:00Z")


def test_a_default_start_before_the_year_1_is_reported():
    found = errors(end="0001-01-15T00:00:00Z")
    assert "default start" in found["query.start"]


def test_with_an_unknown_zone_naive_times_are_not_reported_again():
    found = errors(start="2024-03-01T00:00:00", end="2024-02-01T00:00:00", tz="Nowhere/Land")
    assert set(found) == {"query.tz"}
    # Date-times with an offset do not need the zone and are still checked.
    found = errors(start="2024-03-01T00:00:00Z", end="2024-02-01T00:00:00Z", tz="Nowhere/Land")
    assert set(found) == {"query.tz", "query.start"}
