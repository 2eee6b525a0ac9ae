"""What the endpoint refuses: every parameter's bounds, and the fields a 422 names.

The exact status and the fields a 422 names are judged on every response by
``status_matches_reference``; these scenarios make sure the boundary cases are
actually sent -- whatever schemathesis happens to generate -- and hold the
contract profile to "refused as a validation error" (400 or 422).
"""

from __future__ import annotations

from usagekit.conformance.context import KitContext, expect_status, query
from usagekit.conformance.failures import WrongValue
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import scenario_rule
from usagekit.conformance.rules.windows import active_window, written
from usagekit.mock.core.zones import same_zone

__all__ = [
    "empty_ranges_refused",
    "every_invalid_field_named",
    "granularity_values",
    "group_by_values",
    "limit_bounds",
    "malformed_datetimes_refused",
    "time_zones",
]


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
def time_zones(ctx: KitContext) -> None:
    """tz accepts IANA zones, odd offsets included, and refuses unknown names (never a 500).

    Accepts: meta.tz absent (the published contract makes it optional) or another name of the
    same zone; 400 or 422 for a refusal under the contract profile.
    """
    for zone in ("Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"):
        body = ctx.usage(query(tz=zone, granularity="hour", limit=30))
        if body.meta.tz is not None and not same_zone(body.meta.tz, zone):
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
