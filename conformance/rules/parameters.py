"""Parameter validation and limits: what the endpoint accepts, and what it refuses.

The exact status and the fields a 422 names are judged on every response by
``status_matches_reference``; these scenarios make sure the boundary cases are
actually sent -- whatever schemathesis happens to generate -- and hold the
contract profile to "refused as a validation error" (400 or 422).
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

__all__ = [
    "datetimes_without_offset_read_in_tz",
    "defaults_applied",
    "empty_ranges_refused",
    "every_invalid_field_named",
    "granularity_values",
    "group_by_accepts_both_forms",
    "group_by_duplicates_dropped",
    "group_by_values",
    "huge_ranges_bounded_by_limit",
    "limit_bounds",
    "malformed_datetimes_refused",
    "time_zones",
    "unknown_parameters_ignored",
]

#: The longest a bounded answer may take, whatever the range (seconds).
BOUNDED = 5.0


def _refused(ctx: KitContext, params: list[tuple[str, str]], what: str) -> None:
    exchange = ctx.send(params)
    expect_status(exchange, ctx.validation_statuses, what)


def _reference(ctx: KitContext) -> bool:
    return ctx.profile is Profile.REFERENCE


@scenario_rule(Profile.CONTRACT)
def limit_bounds(ctx: KitContext) -> None:
    """limit accepts 1..500 and refuses 0, -1, 501, 1.5 and abc.

    Accepts: fewer buckets than limit when the range holds fewer; 400 or 422 for a refusal under
    the contract profile (which does not hold a server to refusing limit=).
    """
    window = active_window(ctx)
    span = query(start=written(window.start), end=written(window.end), granularity="hour")
    for limit in ("1", "500"):
        body = ctx.usage([*span, ("limit", limit)])
        if len(body.buckets) != min(int(limit), len(body.buckets)) or not body.buckets:
            raise WrongValue(f"limit={limit} gave {len(body.buckets)} buckets")
    refused = ["0", "-1", "501", "1.5", "abc"] + ([""] if _reference(ctx) else [])
    for limit in refused:
        _refused(ctx, [("limit", limit)], f"limit={limit!r}")


@scenario_rule(Profile.CONTRACT)
def granularity_values(ctx: KitContext) -> None:
    """granularity accepts hour, day and month and refuses anything else.

    Accepts: 400 or 422 for a refusal under the contract profile (which does not hold a server
    to refusing granularity=).
    """
    for granularity in ("hour", "day", "month"):
        body = ctx.usage(query(granularity=granularity, limit=3))
        if body.meta.granularity != granularity:
            raise WrongValue(f"granularity={granularity} echoed as {body.meta.granularity!r}")
    for granularity in ["week", "minute"] + ([""] if _reference(ctx) else []):
        _refused(ctx, [("granularity", granularity)], f"granularity={granularity!r}")


@scenario_rule(Profile.CONTRACT)
def group_by_values(ctx: KitContext) -> None:
    """group_by accepts agent, subaccount and type and refuses anything else.

    Accepts: 400 or 422 for a refusal under the contract profile (which does not hold a server
    to refusing group_by=).
    """
    for dimension in ("agent", "subaccount", "type"):
        ctx.usage(query(group_by=[dimension], limit=3))
    for value in ["team", "agent,team"] + ([""] if _reference(ctx) else []):
        _refused(ctx, [("group_by", value)], f"group_by={value!r}")


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


@scenario_rule(Profile.CONTRACT)
def time_zones(ctx: KitContext) -> None:
    """tz accepts IANA zones, odd offsets included, and refuses unknown names (never a 500).

    Accepts: meta.tz absent (the published contract makes it optional); 400 or 422 for a refusal
    under the contract profile.
    """
    for zone in ("Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"):
        body = ctx.usage(query(tz=zone, granularity="hour", limit=30))
        if body.meta.tz not in (None, zone):
            raise WrongValue(f"tz={zone} echoed as {body.meta.tz!r}")
    for zone in ["Mars/Olympus_Mons", "Not/A_Zone"] + ([""] if _reference(ctx) else []):
        _refused(ctx, [("tz", zone)], f"tz={zone!r}")


@scenario_rule(Profile.CONTRACT)
def malformed_datetimes_refused(ctx: KitContext) -> None:
    """start and end refuse text that is not a date-time.

    Accepts: 400 or 422 under the contract profile (which does not hold a server to refusing
    start=).
    """
    bad = ["yesterday", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z"]
    for value in bad + ([""] if _reference(ctx) else []):
        _refused(ctx, [("start", value)], f"start={value!r}")
        _refused(ctx, [("end", value)], f"end={value!r}")


@scenario_rule(Profile.REFERENCE)
def empty_ranges_refused(ctx: KitContext) -> None:
    """start must be before end: start = end and start > end are validation errors.

    Accepts: the relation named on start, end or both; next to an invalid field, the relation
    named or not (a server may check relations only once every field is valid).
    status_matches_reference judges the names.
    """
    _refused(ctx, query(start="2024-03-01T00:00:00Z", end="2024-03-01T00:00:00Z"), "start = end")
    _refused(ctx, query(start="2024-03-02T00:00:00Z", end="2024-03-01T00:00:00Z"), "start > end")
    _refused(
        ctx,
        query(start="2024-03-01T00:00:00+01:00", end="2024-02-29T23:00:00Z"),
        "start = end written in two offsets",
    )
    _refused(
        ctx,
        query(group_by="junk", start="2099-01-01T00:00:00Z", end="1981-01-01T00:00:00Z"),
        "start > end next to an unknown group_by",
    )


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
def every_invalid_field_named(ctx: KitContext) -> None:
    """One request with four invalid parameters gets one 422 naming all four.

    Accepts: the fields in any order, a field more than once, any messages.
    """
    params = query(limit=0, tz="Mars/Olympus_Mons", granularity="week", group_by=["team"])
    view = ctx.look(params)
    expect_status(view.exchange, {422}, "four invalid parameters")
    if view.error is None:
        return  # error_body_shape reports the malformed body
    missing = sorted({f"query.{name}" for name, _ in params} - set(view.error.fields or ()))
    if missing:
        raise WrongValue(f"the 422 does not name {', '.join(missing)}", exchanges=(view.exchange,))


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
    this machine's.
    """
    body = ctx.usage()
    meta = body.meta
    if meta.granularity != "day" or meta.tz != "UTC" or meta.group_by != ():
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
