"""Local-calendar buckets: the odd days of the IANA database, written out (the limit,
the range and the brute force are in test_buckets_limits.py).

The expected ``ts`` lists below are derived from the zones' published rules (the
comment of each case says which), not copied from the program's output.
"""

from __future__ import annotations

from bucket_support import DAY, HOUR, labels, lengths

from usagekit.mock.core.instants import US

# -- New York: the US rule, 02:00 local on the second Sunday of March and the first of November


def test_new_york_fall_back_hour_appears_twice():
    # 2024-11-03 02:00 EDT becomes 01:00 EST: 01:00-01:59 runs first at -04:00, then at -05:00.
    assert labels("America/New_York", "hour", "2024-11-03T00:00:00", "2024-11-03T04:00:00") == [
        "2024-11-03T00:00:00-04:00",
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
        "2024-11-03T03:00:00-05:00",
    ]


def test_new_york_spring_forward_hour_does_not_appear():
    # 2024-03-10 02:00 EST becomes 03:00 EDT: there is no 02:00 hour.
    assert labels("America/New_York", "hour", "2024-03-10T00:00:00", "2024-03-10T05:00:00") == [
        "2024-03-10T00:00:00-05:00",
        "2024-03-10T01:00:00-05:00",
        "2024-03-10T03:00:00-04:00",
        "2024-03-10T04:00:00-04:00",
    ]


def test_new_york_days_of_23_and_25_hours():
    spring = ("America/New_York", "day", "2024-03-09T00:00:00", "2024-03-12T00:00:00")
    assert labels(*spring) == [
        "2024-03-09T00:00:00-05:00",
        "2024-03-10T00:00:00-05:00",
        "2024-03-11T00:00:00-04:00",
    ]
    assert lengths(*spring) == [24 * HOUR, 23 * HOUR, 24 * HOUR]
    fall = ("America/New_York", "day", "2024-11-02T00:00:00", "2024-11-05T00:00:00")
    assert labels(*fall) == [
        "2024-11-02T00:00:00-04:00",
        "2024-11-03T00:00:00-04:00",
        "2024-11-04T00:00:00-05:00",
    ]
    assert lengths(*fall) == [24 * HOUR, 25 * HOUR, 24 * HOUR]


def test_month_buckets_across_a_dst_change():
    # March 2024 in New York loses its 02:00 hour on the 10th: 31 days less one hour.
    case = ("America/New_York", "month", "2024-02-01T00:00:00", "2024-05-01T00:00:00")
    assert labels(*case) == [
        "2024-02-01T00:00:00-05:00",
        "2024-03-01T00:00:00-05:00",
        "2024-04-01T00:00:00-04:00",
    ]
    assert lengths(*case) == [29 * DAY, 31 * DAY - HOUR, 30 * DAY]


# -- Dates that were skipped, and days whose midnight was skipped


def test_pacific_apia_skipped_2011_12_30():
    # Samoa moved west of the date line: 2011-12-29 24:00 (-10:00, its DST) was
    # followed by 2011-12-31 00:00 (+14:00). The 30th has no bucket.
    case = ("Pacific/Apia", "day", "2011-12-28T00:00:00", "2012-01-02T00:00:00")
    assert labels(*case) == [
        "2011-12-28T00:00:00-10:00",
        "2011-12-29T00:00:00-10:00",
        "2011-12-31T00:00:00+14:00",
        "2012-01-01T00:00:00+14:00",
    ]
    assert lengths(*case) == [DAY] * 4


def test_sao_paulo_day_without_midnight_starts_at_its_first_instant():
    # Brazil's DST began at 00:00 on 2018-11-04: the clock went from 23:59:59 (-03:00)
    # to 01:00 (-02:00). The 4th starts at 01:00 and lasts 23 hours.
    case = ("America/Sao_Paulo", "day", "2018-11-03T00:00:00", "2018-11-06T00:00:00")
    assert labels(*case) == [
        "2018-11-03T00:00:00-03:00",
        "2018-11-04T01:00:00-02:00",
        "2018-11-05T00:00:00-02:00",
    ]
    assert lengths(*case) == [24 * HOUR, 23 * HOUR, 24 * HOUR]
    hours = ("America/Sao_Paulo", "hour", "2018-11-03T22:00:00", "2018-11-04T03:00:00")
    assert labels(*hours) == [
        "2018-11-03T22:00:00-03:00",
        "2018-11-03T23:00:00-03:00",
        "2018-11-04T01:00:00-02:00",
        "2018-11-04T02:00:00-02:00",
    ]


def test_sao_paulo_fall_back_makes_a_25_hour_day():
    # DST ended at 00:00 (-02:00) on 2019-02-17, back to 23:00 (-03:00) on the 16th.
    case = ("America/Sao_Paulo", "day", "2019-02-15T00:00:00", "2019-02-18T00:00:00")
    assert labels(*case) == [
        "2019-02-15T00:00:00-02:00",
        "2019-02-16T00:00:00-02:00",
        "2019-02-17T00:00:00-03:00",
    ]
    assert lengths(*case) == [24 * HOUR, 25 * HOUR, 24 * HOUR]


def test_a_date_that_returns_is_a_bucket_each_time():
    # St. John's fell back at 00:01 NDT on Sunday 2009-11-01, to 23:01 NST on the
    # 31st: November's first minute came, then October came back for an hour.
    # A bucket is a maximal run of one key, so each run is its own bucket.
    for granularity, first in (("day", "2009-10-31"), ("month", "2009-10-01")):
        case = ("America/St_Johns", granularity, "2009-10-31T12:00:00", "2009-11-01T12:00:00")
        assert labels(*case) == [
            f"{first}T00:00:00-02:30",
            "2009-11-01T00:00:00-02:30",
            "2009-10-31T23:01:00-03:30",
            "2009-11-01T00:00:00-03:30",
        ]
        assert lengths(*case)[1:3] == [60 * US, HOUR - 60 * US]


# -- Offsets of :30 and :45, and DST of 30 minutes


def test_lord_howe_half_hour_dst_ends():
    # DST (+11:00) ends on 2024-04-07 at 02:00, back to 01:30 (+10:30): the second
    # run of local hour 1 starts at 01:30 and lasts half an hour.
    case = ("Australia/Lord_Howe", "hour", "2024-04-07T00:00:00", "2024-04-07T03:00:00+10:30")
    assert labels(*case) == [
        "2024-04-07T00:00:00+11:00",
        "2024-04-07T01:00:00+11:00",
        "2024-04-07T01:30:00+10:30",
        "2024-04-07T02:00:00+10:30",
    ]
    assert lengths(*case) == [HOUR, HOUR, HOUR // 2, HOUR]


def test_lord_howe_half_hour_dst_begins():
    # DST begins on 2024-10-06 at 02:00 (+10:30), forward to 02:30 (+11:00): local
    # hour 2 has only its second half.
    case = ("Australia/Lord_Howe", "hour", "2024-10-06T00:00:00", "2024-10-06T04:00:00")
    assert labels(*case) == [
        "2024-10-06T00:00:00+10:30",
        "2024-10-06T01:00:00+10:30",
        "2024-10-06T02:30:00+11:00",
        "2024-10-06T03:00:00+11:00",
    ]
    assert lengths(*case) == [HOUR, HOUR, HOUR // 2, HOUR]


def test_kolkata_half_hour_offset_and_a_first_bucket_before_start():
    # 00:00Z is 05:30 in Kolkata: the first bucket is the local hour 05:00, before start.
    assert labels("Asia/Kolkata", "hour", "2024-01-01T00:00:00Z", "2024-01-01T02:00:00Z") == [
        "2024-01-01T05:00:00+05:30",
        "2024-01-01T06:00:00+05:30",
        "2024-01-01T07:00:00+05:30",
    ]
    # 2024-01-02T00:00Z (exclusive) is 05:30 on the 2nd: the 2nd has its own bucket.
    assert labels("Asia/Kolkata", "day", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z") == [
        "2024-01-01T00:00:00+05:30",
        "2024-01-02T00:00:00+05:30",
    ]


def test_kathmandu_quarter_hour_offset():
    assert labels("Asia/Kathmandu", "hour", "2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z") == [
        "2024-01-01T05:00:00+05:45",
        "2024-01-01T06:00:00+05:45",
    ]
    # Nepal moved from +05:30 to +05:45 at 1986-01-01 00:00: the clock jumped to
    # 00:15, so New Year's Day 1986 and its first hour start at 00:15.
    assert labels("Asia/Kathmandu", "day", "1985-12-31T00:00:00", "1986-01-02T00:00:00") == [
        "1985-12-31T00:00:00+05:30",
        "1986-01-01T00:15:00+05:45",
    ]
    hours = ("Asia/Kathmandu", "hour", "1985-12-31T23:00:00", "1986-01-01T02:00:00")
    assert labels(*hours) == [
        "1985-12-31T23:00:00+05:30",
        "1986-01-01T00:15:00+05:45",
        "1986-01-01T01:00:00+05:45",
    ]
    assert lengths(*hours) == [HOUR, 45 * 60 * US, HOUR]


def test_chatham_quarter_hour_offsets_both_ways():
    # Chatham's DST ends on 2024-04-07 at 03:45 (+13:45), back to 02:45 (+12:45).
    fall = ("Pacific/Chatham", "hour", "2024-04-07T01:00:00", "2024-04-07T04:00:00+12:45")
    assert labels(*fall) == [
        "2024-04-07T01:00:00+13:45",
        "2024-04-07T02:00:00+13:45",
        "2024-04-07T03:00:00+13:45",
        "2024-04-07T02:45:00+12:45",
        "2024-04-07T03:00:00+12:45",
    ]
    assert lengths(*fall) == [HOUR, HOUR, 45 * 60 * US, 15 * 60 * US, HOUR]
    # It begins on 2024-09-29 at 02:45 (+12:45), forward to 03:45 (+13:45).
    spring = ("Pacific/Chatham", "hour", "2024-09-29T01:00:00", "2024-09-29T05:00:00")
    assert labels(*spring) == [
        "2024-09-29T01:00:00+12:45",
        "2024-09-29T02:00:00+12:45",
        "2024-09-29T03:45:00+13:45",
        "2024-09-29T04:00:00+13:45",
    ]
    assert lengths(*spring) == [HOUR, 45 * 60 * US, 15 * 60 * US, HOUR]


# -- Local mean time: offsets with seconds, written rounded up to the minute


def test_vienna_local_mean_time_hours_are_written_with_the_rounded_offset():
    # Vienna ran on +1:05:21 until 1893; written +01:06, the clock shows 39 s more.
    assert labels("Europe/Vienna", "hour", "1890-01-01T00:00:00", "1890-01-01T02:00:00") == [
        "1890-01-01T00:00:39+01:06",
        "1890-01-01T01:00:39+01:06",
    ]
    assert labels("Europe/Vienna", "day", "1890-01-01T00:00:00", "1890-01-02T00:00:00") == [
        "1890-01-01T00:00:39+01:06"
    ]


def test_vienna_switch_from_local_mean_time_to_cet():
    # At 1893-04-01 00:00 LMT the clock was set back 5 min 21 s to 23:54:39 CET on
    # March 31: a new hour key (31st, hour 23, +01:00), and a 24 h 5 min 21 s day.
    hours = ("Europe/Vienna", "hour", "1893-03-31T22:00:00", "1893-04-01T01:00:00")
    assert labels(*hours) == [
        "1893-03-31T22:00:39+01:06",
        "1893-03-31T23:00:39+01:06",
        "1893-03-31T23:54:39+01:00",
        "1893-04-01T00:00:00+01:00",
    ]
    assert lengths(*hours) == [HOUR, HOUR, (5 * 60 + 21) * US, HOUR]
    days = ("Europe/Vienna", "day", "1893-03-31T00:00:00", "1893-04-02T00:00:00")
    assert labels(*days) == ["1893-03-31T00:00:39+01:06", "1893-04-01T00:00:00+01:00"]
    assert lengths(*days) == [DAY + (5 * 60 + 21) * US, DAY]
