"""The reference's status for every request, and the fields a 422 names.

Judged on every exchange of the endpoint, whoever sent it: the oracle knows,
without asking the server, who may read the account and whether the
parameters are valid, so every generated case is held to the right status.

No false alarms: where the contract admits more than one correct answer, the
rule accepts each of them --

* the order of checks: a request with invalid parameters and no valid key may
  get 401 or 422, one on an account the key may not read 403 or 422;
* the relation ``start >= end`` is not a field error: it must be named only
  when every field is individually valid. When a field is invalid, a server
  that validates fields first and relations after (as pydantic does) names
  only the fields, one that checks everything at once names the relation
  too -- both conform, and so does naming it whenever it can be decided
  from what the server read (an offset in the date-time, say, whatever tz is);
* the relation may be named on ``query.start``, ``query.end`` or both;
* the fields may be named in any order, and a field more than once;
* a request that leaves ``end`` to the server's clock and starts within
  :data:`~usagekit.conformance.config.CLOCK_SKEW` of now is not judged:
  whether it is empty depends on a clock the kit cannot read;
* an ``X-API-Key`` sent on several lines (RFC 9110 5.3: a singleton field repeated) may
  be read by its first line or its last, or refused: 401 (as one value, no key) or 400;
* a 429 is the server's to give at any time (it is retried, not judged here);
* a ``start`` or ``end`` that ISO-8601 writes and the reference does not read
  (``2024-03-01T10:30Z``, ``20240301T103000Z``; see ``datetimes``) may be
  refused as the reference does, or read: then the status and the fields a
  422 names are those of the request read so.
"""

from __future__ import annotations

from usagekit.conformance.config import CLOCK_SKEW
from usagekit.conformance.exchange import KeyRole
from usagekit.conformance.failures import WrongStatus, WrongValue
from usagekit.conformance.oracle import Access
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import NOT_APPLICABLE, Verdict, needs, response_rule
from usagekit.conformance.rules.datetimes import lenient
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import parse_datetime
from usagekit.mock.core.query import DEFAULT_TZ, UsageQuery
from usagekit.mock.core.zones import Timeline, available_zones, get_timeline

__all__ = ["status_matches_reference"]

RANGE_FIELDS = frozenset({"query.start", "query.end"})


@response_rule(Profile.REFERENCE)
@needs("endpoint", "resolved")
def status_matches_reference(view: ExchangeView) -> Verdict:
    """The status is the reference's, and a 422 names every invalid field.

    401 without a valid key, 422 for invalid parameters, 403 for an account the
    key may not read, 200 otherwise. Accepts 401 or 422 for invalid parameters
    without a valid key and 403 or 422 on an account the key may not read; 400 too for an
    X-API-Key sent on several lines (as 401, 403, or a line's reading);
    a relation error (``start >= end``) named or not when a field is invalid,
    on start, end or both; an ISO-8601 start or end the reference does not read
    refused or read (see the module's docstring).
    """
    exchange = view.exchange
    if exchange.status == 429 or view.access is Access.UNKNOWN:
        return NOT_APPLICABLE
    invalid = view.invalid
    if view.access is Access.UNAUTHENTICATED:
        expected, what = {401}, "a request without a valid key"
    elif view.access is Access.UNVERIFIED:
        # A key the kit cannot check: refused (401, 403), or served as the parameters say.
        expected = {401, 403} if invalid else {200, 401, 403}
        if exchange.key is KeyRole.REPEATED:
            expected.add(400)  # RFC 9110 5.3: a singleton field sent twice may be refused
        what = "a request with a key the kit cannot check"
    elif view.access is Access.FORBIDDEN:
        expected, what = {403}, "a key on an account it may not read"
    else:
        expected, what = {200}, "a valid request"
    read = _read_leniently(view) if invalid is not None else None
    if invalid is not None:
        # Whether the key or the parameters are checked first is the server's choice.
        expected = {422} if view.access is Access.READABLE else expected | {422}
        what = "invalid parameters" if view.access is Access.READABLE else what
        if isinstance(read, UsageQuery) and view.access in _MAY_SERVE:
            expected |= {200}  # a date-time read as ISO-8601 writes it
    if exchange.status not in expected:
        shown = " or ".join(str(s) for s in sorted(expected))
        raise WrongStatus(
            f"{what} got {exchange.status}, expected {shown}",
            detail=_invalid_detail(invalid) if invalid else "",
            exchanges=(exchange,),
        )
    if invalid is not None and exchange.status == 422:
        try:
            _fields_named(view, invalid)
        except WrongValue:
            if not isinstance(read, QueryError):
                raise
            _fields_named(view, read)  # the fields of the request read leniently
    return None


#: Who may be served a 200 when the parameters are valid.
_MAY_SERVE = frozenset({Access.READABLE, Access.UNVERIFIED})


def _read_leniently(view: ExchangeView) -> UsageQuery | QueryError | None:
    """The request as a server that reads every ISO-8601 date-time reads it, or ``None``
    when that reading is the reference's."""
    raw = lenient(view.raw) if view.raw is not None else None
    if raw is None:
        return None
    return view.oracle.resolve(raw, view.account or "unknown", view.now)


def _invalid_detail(query: QueryError) -> str:
    return "invalid: " + "; ".join(f"{e.field}: {e.message}" for e in query.errors)


def _fields_named(view: ExchangeView, query: QueryError) -> None:
    if view.error is None:
        return  # error_body_shape says why
    named = set(view.error.fields or ())
    fields = [e for e in query.errors if not e.related]
    relations = [e for e in query.errors if e.related]
    # A relation between fields is required only when every field is valid.
    required = fields or relations
    missing = [e.field for e in required if not named & {e.field, *e.related}]
    allowed = {e.field for e in fields}
    if relations or _relation_may_hold(view):
        allowed |= RANGE_FIELDS
    extra = sorted(named - allowed)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"does not name {', '.join(missing)}")
        if extra:
            parts.append(f"names valid {', '.join(extra)}")
        raise WrongValue(
            "the 422 " + " and ".join(parts),
            detail=_invalid_detail(query),
            exchanges=(view.exchange,),
        )


def _relation_may_hold(view: ExchangeView) -> bool:
    """Whether some reading of the request finds ``start >= end``.

    The reference decides the relation only when every field it needs is
    valid; a server may decide it from less (a date-time with an offset needs
    no tz). Unknown instants count as possibly empty ranges.
    """
    raw = view.raw
    if raw is None or raw.start is None:
        return False  # the default start is always before end
    zone = raw.tz if raw.tz is not None else DEFAULT_TZ
    timeline = get_timeline(zone) if zone in available_zones() else None
    try:
        start = _instant(raw.start, timeline)
        end = _instant(raw.end, timeline) if raw.end is not None else None
    except ValueError:
        return False  # a malformed start or end: there is no relation to name
    if start is None:
        return True
    if raw.end is None:
        return start >= view.now - CLOCK_SKEW
    return end is None or start >= end


def _instant(text: str, timeline: Timeline | None) -> int | None:
    """``text``'s instant, ``None`` when it depends on an unknown zone; ``ValueError`` if none."""
    parsed = parse_datetime(text)
    if parsed.offset is None and timeline is None:
        return None
    return parsed.instant(timeline if timeline is not None else get_timeline(DEFAULT_TZ))
