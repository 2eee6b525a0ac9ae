"""How the endpoint reads the parameters it accepts: both forms, defaults, local times.

What it refuses is in ``refusals``; how every answer is judged, in the
response rules.
"""

from __future__ import annotations

import time

from usagekit.conformance.config import wall_clock
from usagekit.conformance.context import KitContext, expect_status, query, usage_body
from usagekit.conformance.failures import BrokenRelation, TooSlow, WrongValue
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import scenario_rule
from usagekit.conformance.rules.windows import active_window, written
from usagekit.mock.core.instants import US
from usagekit.mock.core.zones import same_zone

__all__ = [
    "datetimes_without_offset_read_in_tz",
    "defaults_applied",
    "group_by_accepts_both_forms",
    "group_by_duplicates_dropped",
    "huge_ranges_bounded_by_limit",
    "unknown_parameters_ignored",
]

#: The longest a bounded answer may take, whatever the range (seconds).
BOUNDED = 5.0


@scenario_rule(Profile.CONTRACT)
def group_by_accepts_both_forms(ctx: KitContext) -> None:
    """group_by=agent,type, group_by=agent&group_by=type and a mix are the same request.

    Accepts: answers compared in the contract's terms -- the same instants, offsets and values
    -- so members of the server's own (a request id) and the spelling of timestamps may differ.
    """
    window = active_window(ctx)
    span = query(start=written(window.start), end=written(window.end), granularity="day")
    comma = ctx.usage([*span, ("group_by", "agent,type,subaccount")])
    repeated = ctx.usage(
        [*span, ("group_by", "agent"), ("group_by", "type"), ("group_by", "subaccount")]
    )
    mixed = ctx.usage([*span, ("group_by", "agent,type"), ("group_by", "subaccount")])
    for name, other in (("repeated", repeated), ("mixed", mixed)):
        if other.buckets != comma.buckets:
            raise BrokenRelation(
                f"the {name} form of group_by answers differently from the comma form"
            )


@scenario_rule(Profile.REFERENCE)
def group_by_duplicates_dropped(ctx: KitContext) -> None:
    """A repeated dimension counts once; meta.group_by keeps first occurrences in order.

    Accepts: answers compared in the contract's terms, as group_by_accepts_both_forms does.
    """
    window = active_window(ctx)
    span = query(start=written(window.start), end=written(window.end), granularity="day")
    once = ctx.usage([*span, ("group_by", "type,agent")])
    twice = ctx.usage([*span, ("group_by", "type,agent,type"), ("group_by", "agent")])
    if twice.meta.group_by != ("type", "agent"):
        raise WrongValue(f"group_by=type,agent,type&group_by=agent echoed as {twice.meta.group_by}")
    if twice.buckets != once.buckets:
        raise BrokenRelation("a repeated dimension changes the answer")


@scenario_rule(Profile.REFERENCE)
def datetimes_without_offset_read_in_tz(ctx: KitContext) -> None:
    """A date-time without offset is local time in tz; an ambiguous one its first occurrence.

    Accepts: meta.start in any spelling of the first occurrence's instant; answers compared in
    the contract's terms.
    """
    zone = "America/New_York"
    naive = ctx.usage(query(start="2024-03-09T00:00:00", end="2024-03-12T00:00:00", tz=zone))
    offset = ctx.usage(
        query(start="2024-03-09T00:00:00-05:00", end="2024-03-12T00:00:00-04:00", tz=zone)
    )
    if (naive.meta.start.instant, naive.meta.end.instant) != (
        offset.meta.start.instant,
        offset.meta.end.instant,
    ) or naive.buckets != offset.buckets:
        raise BrokenRelation("start/end without offset are not read as local time in tz")
    ambiguous = ctx.usage(
        query(start="2024-11-03T01:30:00", end="2024-11-03T04:00:00", tz=zone, granularity="hour")
    )
    first = 1_730_611_800 * US  # 2024-11-03T01:30:00-04:00, the first 01:30 of that night
    if ambiguous.meta.start.instant != first:
        raise WrongValue(
            f"01:30 on New York's fall-back night read as {ambiguous.meta.raw.get('start')}, "
            "expected its first occurrence 2024-11-03T01:30:00-04:00"
        )


@scenario_rule(Profile.REFERENCE)
def unknown_parameters_ignored(ctx: KitContext) -> None:
    """Query parameters the contract does not define are ignored.

    Accepts: members of the server's own that differ between two answers (a request id, a
    generation time).
    """
    window = active_window(ctx)
    span = query(start=written(window.start), end=written(window.end), granularity="day")
    plain = ctx.usage(span)
    extra = ctx.usage([*span, ("utm_source", "dashboard"), ("page", "2")])
    if plain != extra:
        raise BrokenRelation("unknown query parameters change the answer")


@scenario_rule(Profile.REFERENCE)
def defaults_applied(ctx: KitContext) -> None:
    """Without parameters: end is now, start 30 days before, day buckets in UTC, limit 500.

    Accepts: a pinned clock (its now is the server's business) or a live one within 5 minutes of
    this machine's; UTC echoed under another name of the zone (``Etc/UTC``).
    """
    body = ctx.usage()
    meta = body.meta
    utc = meta.tz is not None and same_zone(meta.tz, "UTC")
    if meta.granularity != "day" or not utc or meta.group_by != ():
        raise WrongValue(
            f"defaults echoed as granularity={meta.granularity!r}, tz={meta.tz!r}, "
            f"group_by={meta.group_by!r}; expected day, UTC, []"
        )
    if meta.end.instant - meta.start.instant != 30 * 86_400 * US:
        raise WrongValue(
            f"default start {meta.raw['start']} is not 30 days before end {meta.raw['end']}"
        )
    _default_end_is_now(ctx, meta.end.instant, meta.raw["end"])
    hours = ctx.usage(query(granularity="hour"))
    if len(hours.buckets) != 500:
        raise WrongValue(
            f"30 days of hours without limit gave {len(hours.buckets)} buckets, expected 500"
        )


@scenario_rule(Profile.REFERENCE)
def huge_ranges_bounded_by_limit(ctx: KitContext) -> None:
    """Any range is answered quickly with at most limit buckets: work is bounded by limit.

    Accepts: any answer within 5 seconds.
    """
    cases = [
        query(start="1900-01-01T00:00:00Z", end="9000-01-01T00:00:00Z", granularity="hour"),
        query(
            start="1970-01-01T00:00:00Z",
            end="9000-01-01T00:00:00Z",
            granularity="hour",
            tz="America/New_York",
            limit=7,
        ),
        query(
            start="1970-01-01T00:00:00Z",
            end="9000-01-01T00:00:00Z",
            granularity="day",
            tz="Europe/Vienna",
        ),
        query(
            start="1970-01-01T00:00:00Z",
            end="9000-01-01T00:00:00Z",
            granularity="month",
            tz="Australia/Lord_Howe",
            group_by=["type"],
        ),
    ]
    for params in cases:
        view = ctx.look(params)
        exchange = view.exchange
        expect_status(exchange, {200}, "a huge range")
        limit = int(dict(params).get("limit", "500"))
        count = len(usage_body(view).buckets)
        if count != limit:
            raise WrongValue(
                f"a huge range gave {count} buckets, expected limit={limit}", exchanges=(exchange,)
            )
        if exchange.elapsed > BOUNDED:
            raise TooSlow(
                f"a huge range took {exchange.elapsed:.1f} s (> {BOUNDED:.0f} s): "
                "the work grows with the range",
                exchanges=(exchange,),
            )


def _default_end_is_now(ctx: KitContext, end: int, text: str) -> None:
    """The default end is the server's now: the wall clock, unless the server pins its clock.

    A server may pin "now" for reproducible answers; the kit tells the two apart
    by asking again a second later and compares with the wall clock only a clock
    that moves.
    """
    if ctx.config.server_now is not None:
        if end != ctx.config.server_now:
            raise WrongValue(f"default end {text} is not the server's pinned now")
        return
    time.sleep(1.05)
    later = ctx.usage().meta.end.instant
    if later == end:
        return  # a pinned clock: its value is the server's business
    now = wall_clock()
    if abs(later - now) > 300 * US:
        raise WrongValue(
            f"default end is {(later - now) / US:+.0f} s away from now: a live clock, but not now"
        )
