"""The contract's date-time grammar, µs instants, and how instants are written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.mock.core.instants import (
    MAX_INSTANT,
    MIN_INSTANT,
    US,
    format_instant,
    format_instants,
    instants_ascii,
    parse_datetime,
    parse_instant,
)
from usagekit.mock.core.zones import get_timeline

UTC_LINE = get_timeline("UTC")
NEW_YORK = get_timeline("America/New_York")


def utc(text: str) -> int:
    """µs since the epoch of a UTC wall-clock text, computed by the stdlib."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T00:00:00Z", utc("2024-03-01T00:00:00")),
        ("2024-03-01t00:00:00z", utc("2024-03-01T00:00:00")),
        ("2024-03-01T00:00:00+01:00", utc("2024-02-29T23:00:00")),
        ("2024-03-01T00:00:00-05:30", utc("2024-03-01T05:30:00")),
        ("2024-03-01T00:00:00+00:00", utc("2024-03-01T00:00:00")),
        ("2024-03-01T00:00:00-00:00", utc("2024-03-01T00:00:00")),
        ("2024-03-01T00:00:00.5Z", utc("2024-03-01T00:00:00.500000")),
        ("2024-03-01T00:00:00.000001Z", utc("2024-03-01T00:00:00.000001")),
        ("0001-01-01T00:00:00Z", MIN_INSTANT),
        ("9999-12-31T23:59:59.999999Z", MAX_INSTANT),
        ("1969-12-31T23:59:59.999999Z", -1),
    ],
)
def test_parse_datetime_with_offset(text, expected):
    parsed = parse_datetime(text)
    assert parsed.offset is not None
    # The zone only matters for text without an offset.
    assert parsed.instant(NEW_YORK) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-03-01",
        "2024-03-01 00:00:00Z",
        "2024-03-01T00:00Z",
        "2024-3-01T00:00:00Z",
        "24-03-01T00:00:00Z",
        "2024-03-01T00:00:00+0100",
        "2024-03-01T00:00:00+01",
        "2024-03-01T00:00:00.Z",
        "2024-03-01T00:00:00.1234567Z",
        "2024-02-30T00:00:00Z",
        "2024-03-01T24:00:00Z",
        "2024-03-01T00:60:00Z",
        "2024-03-01T00:00:60Z",
        "0000-12-31T00:00:00Z",
        "2024-03-01T00:00:00+24:00",
        "2024-03-01T00:00:00+05:60",
        "2024-03-01T00:00:00 01:00",
        "\uff12\uff10\uff12\uff14-03-01T00:00:00Z",  # full-width digits are no ISO-8601
        "2024-03-01T00:00:00Z ",
        "null",
    ],
)
def test_parse_datetime_rejects(text):
    # Every message quotes the text it rejects.
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_datetime(text)


def test_a_space_for_a_plus_gets_a_hint():
    # "+01:00" in a query string that was not percent-encoded arrives as " 01:00".
    with pytest.raises(ValueError, match="%2B"):
        parse_datetime("2024-03-01T00:00:00 01:00")


def test_naive_time_is_local_in_the_zone():
    assert parse_datetime("2024-07-01T12:00:00").offset is None
    assert parse_datetime("2024-07-01T12:00:00").instant(NEW_YORK) == utc("2024-07-01T16:00:00")
    assert parse_datetime("2024-01-01T12:00:00").instant(NEW_YORK) == utc("2024-01-01T17:00:00")


def test_ambiguous_local_time_takes_the_first_occurrence():
    # 2024-11-03 01:30 happens at -04:00 and again at -05:00 in New York.
    assert parse_datetime("2024-11-03T01:30:00").instant(NEW_YORK) == utc("2024-11-03T05:30:00")


def test_skipped_local_time_uses_the_offset_before_the_skip():
    # 2024-03-10 02:30 never happens in New York; read at -05:00 it is 07:30Z (03:30 EDT).
    assert parse_datetime("2024-03-10T02:30:00").instant(NEW_YORK) == utc("2024-03-10T07:30:00")


def test_naive_time_in_local_mean_time():
    # Vienna ran on +1:05:21 before 1893: local midnight was 22:54:39 UTC the day before.
    vienna = get_timeline("Europe/Vienna")
    assert parse_datetime("1890-01-01T00:00:00").instant(vienna) == utc("1889-12-31T22:54:39")


@pytest.mark.parametrize(
    ("instant", "offset", "expected"),
    [
        (utc("2024-03-10T05:00:00"), -5 * 3600, "2024-03-10T00:00:00-05:00"),
        (utc("2024-03-10T05:00:00"), 0, "2024-03-10T05:00:00Z"),
        (utc("2024-03-10T05:00:00.25"), 0, "2024-03-10T05:00:00.250000Z"),
        (utc("2024-03-10T05:00:00.000001"), 3600, "2024-03-10T06:00:00.000001+01:00"),
        (utc("2024-01-01T00:00:00"), 5 * 3600 + 45 * 60, "2024-01-01T05:45:00+05:45"),
        (utc("2024-01-01T00:00:00"), -(9 * 3600 + 30 * 60), "2023-12-31T14:30:00-09:30"),
        (utc("1969-12-31T23:59:59.999999"), 0, "1969-12-31T23:59:59.999999Z"),
        (MIN_INSTANT, 0, "0001-01-01T00:00:00Z"),
        (MAX_INSTANT, 0, "9999-12-31T23:59:59.999999Z"),
        # 9999-12-31T23:00-05:00 is in the year 10000 in UTC; written in its zone it fits.
        (utc("9999-12-31T23:00:00") + 5 * 3600 * US, -5 * 3600, "9999-12-31T23:00:00-05:00"),
    ],
)
def test_format_instant(instant, offset, expected):
    assert format_instant(instant, offset) == expected


def test_local_mean_time_offsets_are_written_rounded_up_to_the_minute():
    # Vienna's +1:05:21 is written +01:06, so the clock shows 39 s more than the
    # local mean time clock: 00:00:00 LMT is 00:00:39+01:06, the same instant.
    midnight = utc("1889-12-31T22:54:39")
    assert format_instant(midnight, 3600 + 5 * 60 + 21) == "1890-01-01T00:00:39+01:06"
    # New York's -4:56:02 rounds up (towards the east) to -04:56: the clock gains 2 s.
    new_york_midnight = utc("1880-01-01T04:56:02")
    assert format_instant(new_york_midnight, -(4 * 3600 + 56 * 60 + 2)) == (
        "1880-01-01T00:00:02-04:56"
    )


@settings(max_examples=300, deadline=None)
@given(
    st.integers(MIN_INSTANT // US + 86_400, MAX_INSTANT // US - 86_400),
    st.integers(-(15 * 3600), 15 * 3600),
)
def test_written_text_names_the_same_instant(second, offset):
    text = format_instant(second * US, offset)
    assert parse_datetime(text).instant(UTC_LINE) == second * US
    # The written offset is whole minutes, at most 59 s east of the real one.
    assert 0 <= parse_datetime(text).offset - offset < 60
    assert format_instants(np.array([second]), np.array([offset])) == [text]


def _ascii_texts(rows: np.ndarray) -> list[str]:
    return [bytes(row).replace(b"\0", b"").decode() for row in rows]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            # Down to a day past the edges, where the clock may leave the years 1 to 9999.
            st.integers(MIN_INSTANT // US - 86_400, MAX_INSTANT // US + 86_400),
            st.integers(-(15 * 3600), 15 * 3600),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_ascii_rows_write_the_same_text_as_format_instants(pairs):
    """The encoder's vectorised labels equal the plain formatter's, LMT offsets included."""
    seconds = np.array([s for s, _ in pairs], dtype=np.int64)
    offsets = np.array([o for _, o in pairs], dtype=np.int64)
    assert _ascii_texts(instants_ascii(seconds, offsets)) == format_instants(seconds, offsets)


def test_parse_instant_needs_an_offset_and_agrees_with_parse_datetime() -> None:
    assert parse_instant("1970-01-01T01:00:00+01:00") == 0
    assert parse_instant("2024-03-01T00:00:00.25Z") == 1_709_251_200_250_000
    with pytest.raises(ValueError, match="has no UTC offset"):
        parse_instant("2024-03-01T00:00:00")
    with pytest.raises(ValueError, match="not an ISO-8601 date-time"):
        parse_instant("yesterday")
