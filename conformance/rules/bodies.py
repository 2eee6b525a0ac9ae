"""Rules of the published contract's shapes, judged on every answer of the run.

They run on every exchange: the kit's targeted requests, every case
schemathesis generates, and what a proxy or a replay hands over. A rule that
needs a well-formed body leaves a malformed one to the shape rules (it is not
its business), so one broken body is reported once, by the rule that names the
problem. Where the contract admits more than one correct answer, each rule's
docstring names the ones it accepts.
"""

from __future__ import annotations

import itertools

import numpy as np

from usagekit.conformance.failures import WrongValue
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import NOT_APPLICABLE, Verdict, needs, response_rule, when
from usagekit.conformance.stamps import (
    Stamps,
    every,
    offset_label,
    well_written,
    written_offset,
)
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.instants import US
from usagekit.mock.core.query import DEFAULT_LIMIT, DEFAULT_TZ
from usagekit.mock.core.zones import Timeline, available_zones, get_timeline
from usagekit.mock.spec import error_codes

_YEAR = 366 * 86_400
_NONE: dict[str, str] = {}  # the dimensions of a value without any

__all__ = [
    "bucket_count_within_limit",
    "buckets_ascending",
    "dimension_keys_match_group_by",
    "distinct_groups",
    "error_body_shape",
    "error_code_matches_status",
    "json_content_type",
    "ts_in_requested_zone",
    "usage_body_shape",
]

#: The error code of each status, as the contract's examples give them.
ERROR_CODES = error_codes()


@response_rule(Profile.CONTRACT)
@when(lambda view: view.endpoint or view.exchange.status >= 400)
def json_content_type(view: ExchangeView) -> Verdict:
    """Every answer of the endpoint, errors included, is application/json.

    Accepts: parameters such as ``; charset=utf-8``, and the media type and
    the header's name in any letter case.
    """
    exchange = view.exchange
    if exchange.content_type != "application/json":
        raise WrongValue(
            f"{exchange.status} answered with content type {exchange.content_type or 'none'!r}",
            exchanges=(exchange,),
        )


@response_rule(Profile.CONTRACT)
@when(lambda view: view.exchange.status >= 400)
def error_body_shape(view: ExchangeView) -> Verdict:
    """Every error has the body {code, message, detail?, errors?: [{field, message}]}.

    Accepts: ``detail`` and ``errors`` absent or ``null``, an empty
    ``errors``, and members the contract does not name.
    """
    if view.error_failure is not None:
        raise view.error_failure


@response_rule(Profile.CONTRACT)
@needs("error")
@when(lambda view: view.exchange.status in ERROR_CODES)
def error_code_matches_status(view: ExchangeView) -> Verdict:
    """An error's code names its status: 401 unauthorized, 422 validation_error, ...

    Accepts: any message, detail and errors; a status the contract gives no code is not judged.
    """
    expected = ERROR_CODES[view.exchange.status]
    if view.error.code != expected:
        raise WrongValue(
            f"{view.exchange.status} has code {view.error.code!r}, expected {expected!r}",
            exchanges=(view.exchange,),
        )


# -- successful answers: the contract's shape -------------------------------------------


@response_rule(Profile.CONTRACT)
@needs("ok")
def usage_body_shape(view: ExchangeView) -> Verdict:
    """A 200 is {meta: {account_id, start, end, granularity, ...}, data: [{ts, values}]}.

    Accepts: ``meta.group_by``, ``meta.tz``, ``values`` and ``dimensions``
    absent or ``null`` (the published contract makes them optional), members
    the contract does not name, and any RFC 3339 spelling of a timestamp
    (``Z``, ``z`` or ``+00:00``, fractional zeros, ``t`` or ``T``).
    """
    if view.usage_failure is not None:
        raise view.usage_failure


@response_rule(Profile.CONTRACT)
@needs("usage")
def buckets_ascending(view: ExchangeView) -> Verdict:
    """Buckets are in strictly ascending order of their start instants.

    Accepts: instants compared whatever offset each ts is written in.
    """
    instants = view.stamps.instants
    if every(instants[1:] > instants[:-1]):
        return  # the walk below only names the first bucket out of order
    buckets = view.usage.buckets
    for before, after in itertools.pairwise(buckets):
        if after.ts.instant <= before.ts.instant:
            raise WrongValue(
                f"bucket {after.text} does not come after {before.text}",
                exchanges=(view.exchange,),
            )


def _sent_limit(view: ExchangeView) -> int | None:
    """The limit the request sent (or the default), when it is one plain integer."""
    sent = view.exchange.values("limit")
    if len(sent) > 1 or (sent and not (sent[0].isascii() and sent[0].isdigit())):
        return None
    return int(sent[0]) if sent else DEFAULT_LIMIT


@response_rule(Profile.CONTRACT)
@needs("usage")
def bucket_count_within_limit(view: ExchangeView) -> Verdict:
    """An answer holds at most `limit` buckets (500 when not given).

    Accepts: fewer buckets than limit (a range may hold fewer); a limit sent twice or not as
    plain digits is not judged.
    """
    limit = _sent_limit(view)
    if limit is None:  # the guard's, read once
        return NOT_APPLICABLE
    count = len(view.usage.texts)
    if count > limit:
        raise WrongValue(f"{count} buckets for limit={limit}", exchanges=(view.exchange,))


def _zone(view: ExchangeView) -> str | None:
    """The one known zone the request names (UTC when it names none)."""
    zones = view.exchange.values("tz")
    zone = zones[0] if len(zones) == 1 else DEFAULT_TZ if not zones else None
    return zone if zone in available_zones() else None


@response_rule(Profile.CONTRACT)
@needs("usage")
def ts_in_requested_zone(view: ExchangeView) -> Verdict:
    """Each bucket's ts is written in the requested zone's UTC offset at that instant.

    Accepts: a zero offset as ``Z`` or ``+00:00``; a local-mean-time offset
    with seconds written exactly or to the minute (either way of rounding).
    """
    zone = _zone(view)
    if zone is None:  # the guard's, read once
        return NOT_APPLICABLE
    timeline = get_timeline(zone)
    stamps = view.stamps
    if not len(stamps):
        return
    query = view.query if view.reference else None
    if query is not None and query.tz == zone and view.on_grid:
        return  # each ts is the grid's, written in the offset the grid was cut with
    held = well_written(stamps.offsets, _zone_offsets(view, zone, timeline, stamps))
    for index in np.flatnonzero(~held).tolist():  # each one read again exactly
        bucket = view.usage.buckets[index]
        expected = timeline.offset_at(bucket.ts.instant // US)
        if bucket.ts.offset not in written_offset(expected):
            raise WrongValue(
                f"ts {bucket.text} is not written in {zone}'s offset there "
                f"({offset_label(expected)})",
                exchanges=(view.exchange,),
            )


def _zone_offsets(view: ExchangeView, zone: str, timeline: Timeline, stamps: Stamps) -> np.ndarray:
    """The zone's offset at each of ``stamps``' instants.

    Under the reference profile, whose calendar rule builds the query's grid
    anyway, an answer whose instants are the grid's in the same zone reads the
    offsets the grid was cut with (``Timeline.offsets_at`` of the same
    instants) instead of looking them up again.
    """
    query = view.query if view.reference else None
    grid = view.grid if query is not None and query.tz == zone else None
    if grid is not None and len(grid) == len(stamps) and every(grid.instants == stamps.instants):
        return grid.offsets
    return _offsets_at(timeline, stamps.instants // US)


def _offsets_at(timeline: Timeline, instants: np.ndarray) -> np.ndarray:
    """``timeline.offset_at`` of every instant, from the transitions around them in one pass."""
    # A year of margin takes in the footer rule's transitions of the year before the first
    # instant, which offset_at also consults.
    lo, hi = int(instants.min()) - _YEAR, int(instants.max())
    at, offsets = timeline.transitions(lo, hi)
    index = np.searchsorted(at, instants, side="right")
    before = timeline.offset_at(lo)
    if not len(at):
        return np.full(len(instants), before, dtype=np.int64)
    return np.where(index > 0, offsets[np.maximum(index - 1, 0)], before)


@response_rule(Profile.CONTRACT)
@needs("usage", "raw")
def dimension_keys_match_group_by(view: ExchangeView) -> Verdict:
    """Grouped values carry exactly the requested dimensions; ungrouped ones none.

    Accepts, under the contract profile, an ungrouped value whose
    ``dimensions`` is absent, ``null`` or ``{}``, and a bucket without values.
    The reference profile wants exactly one value with ``dimensions: {}``.
    """
    wanted = set(view.raw.group_by or ())
    one_value = view.reference and not wanted
    need_dimensions = bool(wanted) or view.reference
    columns = view.columns
    if (
        (not one_value or columns.one_per_bucket)
        and not (need_dimensions and columns.some_undimensioned)
        and columns.has_exactly(tuple(wanted))
    ):
        return  # the walk below only names the first value that breaks it
    for bucket in view.usage.buckets:
        if one_value and (bucket.values is None or len(bucket.values) != 1):
            count = "no values" if bucket.values is None else f"{len(bucket.values)} values"
            raise WrongValue(
                f"ungrouped bucket {bucket.text} has {count}, expected exactly one",
                exchanges=(view.exchange,),
            )
        for value in bucket.values or ():
            if value.dimensions is None and need_dimensions:
                raise WrongValue(
                    f"a value of bucket {bucket.text} has no dimensions",
                    exchanges=(view.exchange,),
                )
            keys = set(value.dimensions or {})
            if keys != wanted:
                raise WrongValue(
                    f"a value of bucket {bucket.text} has dimensions {sorted(keys)}, "
                    f"expected {sorted(wanted)}",
                    exchanges=(view.exchange,),
                )


@response_rule(Profile.CONTRACT)
@needs("usage")
def distinct_groups(view: ExchangeView) -> Verdict:
    """No combination of dimension values appears twice in one bucket.

    Accepts: values in any order, dimension keys in any order.
    """
    columns = view.columns
    names = columns.first_names
    if columns.has_exactly(names) and columns.distinct_within_buckets(names):
        return  # the walk below only names the first bucket that repeats one
    for bucket in view.usage.buckets:
        values = bucket.values
        if values is None or len(values) < 2:
            continue
        if len({frozenset((v.dimensions or _NONE).items()) for v in values}) != len(values):
            raise WrongValue(
                f"bucket {bucket.text} repeats a combination of dimensions",
                exchanges=(view.exchange,),
            )
