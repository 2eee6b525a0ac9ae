"""Rules that judge one response at a time, whoever sent the request.

They run on every response of the run: the kit's targeted requests and every
case schemathesis generates. A rule that needs a well-formed body leaves a
malformed one to the shape rules (it is not its business), so one broken body
is reported once, by the rule that names the problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from usagekit.conformance.body import ErrorBody, UsageBody, read_error, read_usage
from usagekit.conformance.context import KitContext
from usagekit.conformance.exchange import Exchange
from usagekit.conformance.failures import MalformedBody, ReferenceMismatch, WrongStatus, WrongValue
from usagekit.conformance.oracle import Access, Stamp, written_offset
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import NOT_APPLICABLE, Requirement, Verdict, response_rule, when
from usagekit.conformance.rules.diff import describe_differences
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import format_instant
from usagekit.mock.core.query import DEFAULT_LIMIT, DEFAULT_TZ, UsageQuery
from usagekit.mock.core.zones import available_zones, get_timeline
from usagekit.mock.spec import error_codes

__all__ = [
    "bucket_count_within_limit",
    "buckets_ascending",
    "buckets_follow_calendar",
    "dimension_keys_match_group_by",
    "distinct_groups",
    "error_body_shape",
    "error_code_matches_status",
    "grouped_values_not_empty",
    "json_content_type",
    "matches_reference",
    "meta_echoes_query",
    "status_matches_reference",
    "ts_in_requested_zone",
    "usage_body_shape",
    "values_sorted_by_dimensions",
]

USAGE_PATH = re.compile(r"/v1/accounts/[^/]+/analytics/usage")
#: The error code of each status, as the contract's examples give them.
ERROR_CODES = error_codes()


def is_usage(exchange: Exchange) -> bool:
    return exchange.method == "GET" and USAGE_PATH.fullmatch(exchange.path) is not None


def is_ok_usage(exchange: Exchange) -> bool:
    return is_usage(exchange) and exchange.status == 200


def is_error(exchange: Exchange) -> bool:
    return exchange.status >= 400


def usage_body(exchange: Exchange) -> UsageBody | None:
    """The 200 body, or ``None`` when it is malformed (``usage_body_shape`` says so)."""
    try:
        return read_usage(exchange)
    except MalformedBody:
        return None


def error_body(exchange: Exchange) -> ErrorBody | None:
    try:
        return read_error(exchange)
    except MalformedBody:
        return None


def resolved(ctx: KitContext, exchange: Exchange) -> UsageQuery | None:
    """The valid query a readable 200 answers, as the reference semantics read it."""
    access, account = ctx.oracle.access(exchange)
    if access is not Access.READABLE or account is None:
        return None
    query = ctx.oracle.resolve(exchange, account)
    return query if isinstance(query, UsageQuery) else None


# -- every response ------------------------------------------------------------------


@response_rule(Profile.CONTRACT)
@when(lambda e: is_usage(e) or is_error(e))
def json_content_type(ctx: KitContext, exchange: Exchange) -> Verdict:
    """Every answer of the endpoint, errors included, is application/json."""
    if exchange.content_type != "application/json":
        raise WrongValue(
            f"{exchange.status} answered with content type {exchange.content_type or 'none'!r}",
            exchanges=(exchange,),
        )


@response_rule(Profile.CONTRACT)
@when(is_error)
def error_body_shape(ctx: KitContext, exchange: Exchange) -> Verdict:
    """Every error has the body {code, message, detail?, errors?: [{field, message}]}."""
    read_error(exchange)


@response_rule(Profile.CONTRACT)
@when(lambda e: e.status in ERROR_CODES)
def error_code_matches_status(ctx: KitContext, exchange: Exchange) -> Verdict:
    """An error's code names its status: 401 unauthorized, 422 validation_error, ..."""
    body = error_body(exchange)
    if body is None:
        return NOT_APPLICABLE
    expected = ERROR_CODES[exchange.status]
    if body.code != expected:
        raise WrongValue(
            f"{exchange.status} has code {body.code!r}, expected {expected!r}",
            exchanges=(exchange,),
        )


# -- successful answers: the contract's shape -------------------------------------------


@response_rule(Profile.CONTRACT)
@when(is_ok_usage)
def usage_body_shape(ctx: KitContext, exchange: Exchange) -> Verdict:
    """A 200 is {meta: {account_id, start, end, granularity, ...}, data: [{ts, values}]}."""
    read_usage(exchange)


@response_rule(Profile.CONTRACT)
@when(is_ok_usage)
def buckets_ascending(ctx: KitContext, exchange: Exchange) -> Verdict:
    """Buckets are in strictly ascending order of their start instants."""
    body = usage_body(exchange)
    if body is None:
        return NOT_APPLICABLE
    for before, after in zip(body.buckets, body.buckets[1:], strict=False):
        if after.ts.instant <= before.ts.instant:
            raise WrongValue(
                f"bucket {after.text} does not come after {before.text}", exchanges=(exchange,)
            )


@response_rule(Profile.CONTRACT)
@when(is_ok_usage)
def bucket_count_within_limit(ctx: KitContext, exchange: Exchange) -> Verdict:
    """An answer holds at most `limit` buckets (500 when not given)."""
    body = usage_body(exchange)
    sent = exchange.values("limit")
    if body is None or len(sent) > 1 or (sent and not sent[0].isdigit()):
        return NOT_APPLICABLE
    limit = int(sent[0]) if sent else DEFAULT_LIMIT
    if len(body.buckets) > limit:
        raise WrongValue(f"{len(body.buckets)} buckets for limit={limit}", exchanges=(exchange,))


@response_rule(Profile.CONTRACT)
@when(is_ok_usage)
def ts_in_requested_zone(ctx: KitContext, exchange: Exchange) -> Verdict:
    """Each bucket's ts is written in the requested zone's UTC offset at that instant."""
    body = usage_body(exchange)
    zones = exchange.values("tz")
    zone = zones[0] if len(zones) == 1 else DEFAULT_TZ if not zones else None
    if body is None or zone is None or zone not in available_zones():
        return NOT_APPLICABLE
    timeline = get_timeline(zone)
    for bucket in body.buckets:
        expected = timeline.offset_at(bucket.ts.instant // 1_000_000)
        if bucket.ts.offset not in written_offset(expected):
            raise WrongValue(
                f"ts {bucket.text} is not written in {zone}'s offset there ({_offset(expected)})",
                exchanges=(exchange,),
            )


@response_rule(Profile.CONTRACT)
@when(is_ok_usage)
def dimension_keys_match_group_by(ctx: KitContext, exchange: Exchange) -> Verdict:
    """Grouped values carry exactly the requested dimensions; ungrouped ones none."""
    body = usage_body(exchange)
    raw = ctx.oracle.raw_query(exchange)
    if body is None or raw is None:
        return NOT_APPLICABLE
    wanted = set(raw.group_by or ())
    reference = ctx.profile is Profile.REFERENCE
    for bucket in body.buckets:
        if reference and not wanted and (bucket.values is None or len(bucket.values) != 1):
            count = "no values" if bucket.values is None else f"{len(bucket.values)} values"
            raise WrongValue(
                f"ungrouped bucket {bucket.text} has {count}, expected exactly one",
                exchanges=(exchange,),
            )
        for value in bucket.values or ():
            if value.dimensions is None and (wanted or reference):
                raise WrongValue(
                    f"a value of bucket {bucket.text} has no dimensions", exchanges=(exchange,)
                )
            keys = set(value.dimensions or {})
            if keys != wanted:
                raise WrongValue(
                    f"a value of bucket {bucket.text} has dimensions {sorted(keys)}, "
                    f"expected {sorted(wanted)}",
                    exchanges=(exchange,),
                )


@response_rule(Profile.CONTRACT)
@when(is_ok_usage)
def distinct_groups(ctx: KitContext, exchange: Exchange) -> Verdict:
    """No combination of dimension values appears twice in one bucket."""
    body = usage_body(exchange)
    if body is None:
        return NOT_APPLICABLE
    for bucket in body.buckets:
        seen = [tuple(sorted((v.dimensions or {}).items())) for v in bucket.values or ()]
        if len(seen) != len(set(seen)):
            raise WrongValue(
                f"bucket {bucket.text} repeats a combination of dimensions",
                exchanges=(exchange,),
            )


# -- the reference semantics ------------------------------------------------------------


@response_rule(Profile.REFERENCE)
@when(is_usage)
def status_matches_reference(ctx: KitContext, exchange: Exchange) -> Verdict:
    """The status is the reference's, and a 422 names every invalid field.

    401 without a valid key, 422 for invalid parameters, 403 for an account the
    key may not read, 200 otherwise.
    """
    if exchange.status == 429:
        return NOT_APPLICABLE
    access, account = ctx.oracle.access(exchange)
    query = ctx.oracle.resolve(exchange, account or "unknown")
    if query is None or access is Access.UNKNOWN:
        return NOT_APPLICABLE
    invalid = isinstance(query, QueryError)
    if access is Access.UNAUTHENTICATED:
        # Whether a bad key or bad parameters come first is the server's choice.
        expected, what = ({401}, "a request without a valid key") if not invalid else (None, "")
    elif access is Access.FORBIDDEN:
        expected, what = (
            ({403}, "a key on an account it may not read") if not invalid else (None, "")
        )
    elif invalid:
        expected, what = {422}, "invalid parameters"
    else:
        expected, what = {200}, "a valid request"
    if expected is None:
        return NOT_APPLICABLE
    if exchange.status not in expected:
        detail = ""
        if isinstance(query, QueryError):
            detail = "invalid: " + "; ".join(f"{e.field}: {e.message}" for e in query.errors)
        raise WrongStatus(
            f"{what} got {exchange.status}, expected {min(expected)}",
            detail=detail,
            exchanges=(exchange,),
        )
    if isinstance(query, QueryError):
        _fields_named(exchange, query)


def _fields_named(exchange: Exchange, query: QueryError) -> None:
    body = error_body(exchange)
    if body is None:
        return
    named = set(body.fields or ())
    missing = [e.field for e in query.errors if not named & {e.field, *e.related}]
    allowed = {name for e in query.errors for name in (e.field, *e.related)}
    extra = sorted(named - allowed)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"does not name {', '.join(missing)}")
        if extra:
            parts.append(f"names valid {', '.join(extra)}")
        raise WrongValue(
            "the 422 " + " and ".join(parts),
            detail="invalid: " + "; ".join(f"{e.field}: {e.message}" for e in query.errors),
            exchanges=(exchange,),
        )


@response_rule(Profile.REFERENCE)
@when(is_ok_usage)
def buckets_follow_calendar(ctx: KitContext, exchange: Exchange) -> Verdict:
    """The buckets are exactly the query's local-calendar buckets.

    Dense, DST-aware, the first holding start, cut at limit.
    """
    body = usage_body(exchange)
    query = resolved(ctx, exchange)
    if body is None or query is None:
        return NOT_APPLICABLE
    expected = ctx.oracle.grid(query)
    got = [b.ts for b in body.buckets]
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if have.instant != want.instant or have.offset not in written_offset(want.offset):
            raise WrongValue(
                f"bucket {index} is {body.buckets[index].text}, expected {_label(want)}",
                detail=_around(expected, body, index),
                exchanges=(exchange,),
            )
    if len(got) != len(expected):
        which = "missing" if len(got) < len(expected) else "extra"
        first = expected[len(got)] if len(got) < len(expected) else got[len(expected)]
        raise WrongValue(
            f"{len(got)} buckets, expected {len(expected)} ({which} from {_label(first)})",
            exchanges=(exchange,),
        )


@response_rule(Profile.REFERENCE)
@when(is_ok_usage)
def meta_echoes_query(ctx: KitContext, exchange: Exchange) -> Verdict:
    """meta echoes the resolved query: real account id, defaults, normalised group_by.

    start and end after defaults, written in tz; granularity; group_by without
    duplicates in first-occurrence order; tz.
    """
    body = usage_body(exchange)
    query = resolved(ctx, exchange)
    if body is None or query is None:
        return NOT_APPLICABLE
    meta = body.meta
    expected_group_by = tuple(d.value for d in query.group_by)
    problems = []
    if meta.account_id != query.account_id:
        problems.append(f"account_id is {meta.account_id!r}, expected {query.account_id!r}")
    for name, stamp, instant in (("start", meta.start, query.start), ("end", meta.end, query.end)):
        if stamp.instant != instant:
            problems.append(f"{name} is {meta.raw[name]}, expected {query.written(instant)}")
        elif stamp.offset not in written_offset(query.timeline.offset_at(instant // 1_000_000)):
            problems.append(f"{name} {meta.raw[name]} is not written in {query.tz}")
    if meta.granularity != query.granularity.value:
        problems.append(
            f"granularity is {meta.granularity!r}, expected {query.granularity.value!r}"
        )
    if meta.group_by != expected_group_by:
        shown = None if meta.group_by is None else list(meta.group_by)
        problems.append(f"group_by is {shown!r}, expected {list(expected_group_by)!r}")
    if meta.tz != query.tz:
        problems.append(f"tz is {meta.tz!r}, expected {query.tz!r}")
    if problems:
        raise WrongValue("meta." + "; meta.".join(problems), exchanges=(exchange,))


@response_rule(Profile.REFERENCE)
@when(is_ok_usage)
def values_sorted_by_dimensions(ctx: KitContext, exchange: Exchange) -> Verdict:
    """Grouped values are sorted by their dimension values, in group_by order."""
    body = usage_body(exchange)
    query = resolved(ctx, exchange)
    if body is None or query is None or not query.group_by:
        return NOT_APPLICABLE
    names = [d.value for d in query.group_by]
    for bucket in body.buckets:
        keys = [tuple((v.dimensions or {}).get(n, "") for n in names) for v in bucket.values or ()]
        if keys != sorted(keys):
            raise WrongValue(
                f"the values of bucket {bucket.text} are not sorted by {', '.join(names)}",
                exchanges=(exchange,),
            )


@response_rule(Profile.REFERENCE)
@when(is_ok_usage)
def grouped_values_not_empty(ctx: KitContext, exchange: Exchange) -> Verdict:
    """A grouped bucket lists only combinations with at least one counted conversation."""
    body = usage_body(exchange)
    query = resolved(ctx, exchange)
    if body is None or query is None or not query.group_by:
        return NOT_APPLICABLE
    for bucket in body.buckets:
        for value in bucket.values or ():
            if value.conversations == 0:
                raise WrongValue(
                    f"bucket {bucket.text} lists {value.dimensions} with no conversations",
                    exchanges=(exchange,),
                )


@response_rule(Profile.REFERENCE, requires=(Requirement.DATA,))
@when(is_ok_usage)
def matches_reference(ctx: KitContext, exchange: Exchange) -> Verdict:
    """The answer equals the reference aggregator's over the dataset, field by field."""
    body = usage_body(exchange)
    query = resolved(ctx, exchange)
    expected = ctx.oracle.answer(query) if query is not None else None
    if body is None or expected is None:
        return NOT_APPLICABLE
    differences = describe_differences(expected, body.raw)
    if differences:
        raise ReferenceMismatch(
            f"{len(differences)} field(s) differ from the reference, first: {differences[0]}",
            detail="\n".join(differences[:12]),
            exchanges=(exchange,),
        )


def _offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}" + (f":{rest % 60:02d}" if rest % 60 else "")


def _label(stamp: Stamp) -> str:
    return format_instant(stamp.instant, stamp.offset)


def _around(expected: Sequence[Stamp], body: UsageBody, index: int) -> str:
    lo, hi = max(0, index - 2), index + 3
    want = ", ".join(_label(s) for s in expected[lo:hi])
    have = ", ".join(b.text for b in body.buckets[lo:hi])
    return f"expected ... {want} ...\n     got ... {have} ..."
