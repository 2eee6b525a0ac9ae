"""Relations between answers that hold whatever data the server holds.

No knowledge of the server's conversations is needed: every grouping sums to
the ungrouped totals, a two-key grouping marginalises to each one-key
grouping, hours add up to their day and days to their month, totals over the
same instants do not depend on tz, a range split at a bucket boundary adds
up, a smaller limit is a prefix, and the same question gets the same answer.
Each runs where the account has data (see ``windows``).
"""

from __future__ import annotations

import functools
from collections import defaultdict

from usagekit.conformance.body import UsageBody
from usagekit.conformance.context import KitContext, query
from usagekit.conformance.failures import BrokenRelation
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import scenario_rule
from usagekit.conformance.rules.windows import (
    Window,
    active_window,
    local_midnight,
    written,
    written_in,
)
from usagekit.mock.core.instants import US, format_instant, parse_datetime
from usagekit.mock.core.zones import get_timeline

__all__ = [
    "answers_are_repeatable",
    "groupings_sum_to_totals",
    "hours_add_up_to_days_and_days_to_months",
    "smaller_limit_is_prefix",
    "split_range_adds_up",
    "totals_do_not_depend_on_tz",
    "two_key_grouping_marginalises",
]

_DAY = 86_400 * US
Totals = tuple[int, int]


def _span(window: Window, **extra: str | int | list[str]) -> list[tuple[str, str]]:
    return query(start=written(window.start), end=written(window.end), **extra)


def _pair(seconds: int, conversations: int) -> str:
    return f"{conversations} conversations / {seconds} s"


def _compare(what: str, left: dict[int, Totals], right: dict[int, Totals]) -> None:
    for instant in sorted(set(left) | set(right)):
        a, b = left.get(instant, (0, 0)), right.get(instant, (0, 0))
        if a != b:
            raise BrokenRelation(
                f"{what} at {format_instant(instant, 0)}: {_pair(*a)} vs {_pair(*b)}"
            )


@scenario_rule(Profile.CONTRACT)
def groupings_sum_to_totals(ctx: KitContext) -> None:
    """Every grouping sums, bucket by bucket, to the ungrouped totals.

    Accepts: a bucket without values, or missing (sparse answers, which the contract profile
    allows), as zero usage.
    """
    window = active_window(ctx)
    for zone in ("UTC", "America/New_York"):
        totals = ctx.usage(_span(window, granularity="day", tz=zone)).totals()
        for group_by in (["agent"], ["subaccount"], ["type"], ["agent", "type"]):
            grouped = ctx.usage(_span(window, granularity="day", tz=zone, group_by=group_by))
            _compare(f"grouped by {','.join(group_by)} in {zone}", grouped.totals(), totals)


@scenario_rule(Profile.CONTRACT)
def two_key_grouping_marginalises(ctx: KitContext) -> None:
    """Grouped by agent,type and summed over type, it equals grouped by agent (and vice versa).

    Accepts: a bucket without values, or missing, as zero usage.
    """
    window = active_window(ctx)
    both = ctx.usage(_span(window, granularity="day", group_by=["agent", "type"]))
    for keep in ("agent", "type"):
        one = ctx.usage(_span(window, granularity="day", group_by=[keep]))
        summed: dict[tuple[int, str], Totals] = defaultdict(lambda: (0, 0))
        for bucket in both.buckets:
            for value in bucket.values or ():
                key = (bucket.ts.instant, (value.dimensions or {}).get(keep, ""))
                seconds, count = summed[key]
                summed[key] = (seconds + value.seconds, count + value.conversations)
        direct = {
            (bucket.ts.instant, (v.dimensions or {}).get(keep, "")): (v.seconds, v.conversations)
            for bucket in one.buckets
            for v in bucket.values or ()
        }
        for key in sorted(set(summed) | set(direct)):
            if summed.get(key, (0, 0)) != direct.get(key, (0, 0)):
                raise BrokenRelation(
                    f"agent,type summed to {keep}={key[1]!r} at {format_instant(key[0], 0)} is "
                    f"{_pair(*summed.get(key, (0, 0)))}, grouped by {keep} alone "
                    f"{_pair(*direct.get(key, (0, 0)))}"
                )


def _by_bucket(fine: UsageBody, coarse: UsageBody) -> dict[int, Totals]:
    """Fine buckets' totals added into the coarse bucket that holds each."""
    edges = [b.ts.instant for b in coarse.buckets]
    summed: dict[int, Totals] = {}
    for bucket in fine.buckets:
        holder = max((e for e in edges if e <= bucket.ts.instant), default=None)
        if holder is None:
            continue
        seconds, count = summed.get(holder, (0, 0))
        values = bucket.values or ()
        summed[holder] = (
            seconds + sum(v.seconds for v in values),
            count + sum(v.conversations for v in values),
        )
    return summed


@scenario_rule(Profile.CONTRACT)
def hours_add_up_to_days_and_days_to_months(ctx: KitContext) -> None:
    """In one zone, hour buckets add up to their day and day buckets to their month.

    Accepts: a bucket without values, or missing, as zero usage.
    """
    window = active_window(ctx)
    zone = "America/New_York"
    first = local_midnight(zone, window.start + 32 * _DAY)
    month_start = _month_start(zone, first)
    month_end = _month_start(zone, month_start + 32 * _DAY)
    days_end = local_midnight(zone, month_start + 20 * _DAY + 12 * 3600 * US)

    when = functools.partial(written_in, zone)

    hours = ctx.usage(
        query(start=when(month_start), end=when(days_end), granularity="hour", tz=zone)
    )
    days = ctx.usage(query(start=when(month_start), end=when(days_end), granularity="day", tz=zone))
    _compare(f"hours summed into days in {zone}", _by_bucket(hours, days), days.totals())
    days = ctx.usage(
        query(start=when(month_start), end=when(month_end), granularity="day", tz=zone)
    )
    month = ctx.usage(
        query(start=when(month_start), end=when(month_end), granularity="month", tz=zone)
    )
    _compare(f"days summed into the month in {zone}", _by_bucket(days, month), month.totals())


def _month_start(zone: str, instant: int) -> int:
    local = written_in(zone, instant)
    return parse_datetime(local[:8] + "01T00:00:00").instant(get_timeline(zone))


@scenario_rule(Profile.CONTRACT)
def totals_do_not_depend_on_tz(ctx: KitContext) -> None:
    """The same instants hold the same usage whatever tz cuts them into buckets.

    Accepts: a bucket without values, or missing, as zero usage.
    """
    window = active_window(ctx)
    seen: dict[str, Totals] = {}
    for zone in ("UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham"):
        body = ctx.usage(_span(window, granularity="month", tz=zone))
        values = [v for b in body.buckets for v in b.values or ()]
        seen[zone] = (sum(v.seconds for v in values), sum(v.conversations for v in values))
    if len(set(seen.values())) > 1:
        shown = "; ".join(f"{zone}: {_pair(*t)}" for zone, t in seen.items())
        raise BrokenRelation(f"the same range totals differently per tz: {shown}")


@scenario_rule(Profile.REFERENCE)
def split_range_adds_up(ctx: KitContext) -> None:
    """[a, c) equals [a, b) followed by [b, c) when b is a bucket boundary.

    Accepts: answers compared in the contract's terms, so members of the server's own may
    differ.
    """
    window = active_window(ctx)
    zone = "Europe/Berlin"
    a = local_midnight(zone, window.start + 20 * _DAY)
    b = local_midnight(zone, a + 9 * _DAY + 12 * 3600 * US)
    c = local_midnight(zone, a + 20 * _DAY + 12 * 3600 * US)

    when = functools.partial(written_in, zone)

    whole = ctx.usage(query(start=when(a), end=when(c), granularity="day", tz=zone))
    left = ctx.usage(query(start=when(a), end=when(b), granularity="day", tz=zone))
    right = ctx.usage(query(start=when(b), end=when(c), granularity="day", tz=zone))
    if whole.buckets != left.buckets + right.buckets:
        raise BrokenRelation(
            f"[{when(a)}, {when(c)}) differs from [{when(a)}, {when(b)}) + [{when(b)}, {when(c)})"
        )


@scenario_rule(Profile.CONTRACT)
def smaller_limit_is_prefix(ctx: KitContext) -> None:
    """The answer with a smaller limit is the first buckets of the answer with a larger one.

    Accepts: answers compared in the contract's terms, so members of the server's own may
    differ.
    """
    window = active_window(ctx)
    for group_by in (None, ["agent"]):
        small = ctx.usage(_span(window, granularity="hour", limit=5, group_by=group_by))
        large = ctx.usage(_span(window, granularity="hour", limit=40, group_by=group_by))
        if small.buckets != large.buckets[: len(small.buckets)]:
            raise BrokenRelation("limit=5 is not the first buckets of limit=40")


@scenario_rule(Profile.CONTRACT)
def answers_are_repeatable(ctx: KitContext) -> None:
    """The same question about the past gets the same answer twice.

    Accepts: members of the server's own that differ between two answers (a request id, a
    generation time).
    """
    window = active_window(ctx)
    params = _span(window, granularity="day", group_by=["agent", "type"], tz="Asia/Kolkata")
    first, second = ctx.usage(params), ctx.usage(params)
    if first != second:
        raise BrokenRelation("the same query answered twice differs")
