"""The calendar's hard cases, asked explicitly.

DST changes, a skipped date, a skipped midnight, 30-minute DST and :30/:45
offsets. This scenario only makes sure the questions are asked; the answers
are judged by the response rules (``buckets_follow_calendar`` holds each to
the exact local-calendar buckets, ``ts_in_requested_zone`` to the offsets).
"""

from __future__ import annotations

from usagekit.conformance.context import KitContext, query
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import scenario_rule

__all__ = ["calendar_edge_cases"]

# (zone, granularity, start, end): each crosses something other tools get wrong.
CASES = (
    ("America/New_York", "hour", "2024-11-03T00:00:00-04:00", "2024-11-03T05:00:00-05:00"),
    ("America/New_York", "hour", "2024-03-10T00:00:00-05:00", "2024-03-10T05:00:00-04:00"),
    ("America/New_York", "day", "2024-03-08T00:00:00-05:00", "2024-03-13T00:00:00-04:00"),
    ("America/New_York", "day", "2024-11-01T00:00:00-04:00", "2024-11-06T00:00:00-05:00"),
    ("Europe/London", "month", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
    ("Pacific/Apia", "day", "2011-12-28T00:00:00-10:00", "2012-01-02T00:00:00+14:00"),
    ("America/Sao_Paulo", "day", "2018-11-02T00:00:00-03:00", "2018-11-06T00:00:00-02:00"),
    ("America/Sao_Paulo", "day", "2019-02-15T00:00:00-02:00", "2019-02-19T00:00:00-03:00"),
    ("Australia/Lord_Howe", "hour", "2024-04-07T00:00:00+11:00", "2024-04-07T04:00:00+10:30"),
    ("Australia/Lord_Howe", "hour", "2024-10-06T00:00:00+10:30", "2024-10-06T04:00:00+11:00"),
    ("Asia/Kathmandu", "hour", "2024-01-01T00:30:00Z", "2024-01-01T06:00:00Z"),
    ("Asia/Kolkata", "day", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z"),
    ("Pacific/Chatham", "month", "2024-01-15T00:00:00Z", "2024-06-01T00:00:00Z"),
    ("America/St_Johns", "hour", "2024-11-03T01:00:00-02:30", "2024-11-03T04:00:00-03:30"),
)


@scenario_rule(Profile.CONTRACT)
def calendar_edge_cases(ctx: KitContext) -> None:
    """DST changes, skipped dates and odd offsets are answered (their buckets judged exactly).

    Accepts: whatever the response rules accept for each answer.
    """
    for zone, granularity, start, end in CASES:
        ctx.usage(query(start=start, end=end, granularity=granularity, tz=zone))
        ctx.usage(query(start=start, end=end, granularity=granularity, tz=zone, group_by=["type"]))
