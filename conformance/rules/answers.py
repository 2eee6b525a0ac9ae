"""The reference semantics of a 200, judged on every answer of the run.

The oracle computes, without asking the server, the exact bucket grid of the
query, the resolved query ``meta`` echoes, and -- with ``--data`` -- the exact
answer; these rules compare each 200 with them. Timestamps are compared as
instants written in an acceptable offset, never as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import Any

import numpy as np

from usagekit.conformance.body import UsageBody
from usagekit.conformance.config import Requirement
from usagekit.conformance.failures import ReferenceMismatch, WrongValue
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import Verdict, needs, response_rule, when
from usagekit.conformance.rules.diff import describe_differences
from usagekit.conformance.stamps import Stamps, every, label, well_written, written_offset
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.instants import US
from usagekit.mock.core.zones import same_zone

__all__ = [
    "buckets_follow_calendar",
    "grouped_values_not_empty",
    "matches_reference",
    "meta_echoes_query",
    "values_sorted_by_dimensions",
]


@response_rule(Profile.REFERENCE)
@needs("usage", "grid")
def buckets_follow_calendar(view: ExchangeView) -> Verdict:
    """The buckets are exactly the query's local-calendar buckets.

    Dense, DST-aware, the first holding start, cut at limit. Accepts each
    ``ts`` in any offset spelling :mod:`~usagekit.conformance.stamps` reads.
    """
    if view.on_grid:
        return  # the walk below only names the first bucket that is not the expected one
    body, expected, got = view.usage, view.grid, view.stamps
    common = min(len(got), len(expected))
    held = (got.instants[:common] == expected.instants[:common]) & well_written(
        got.offsets[:common], expected.offsets[:common]
    )
    if not every(held):
        index = int(np.argmin(held))  # the first bucket that is not the expected one
        raise WrongValue(
            f"bucket {index} is {body.buckets[index].text}, expected {label(expected[index])}",
            detail=_around(expected, body, index),
            exchanges=(view.exchange,),
        )
    if len(got) != len(expected):
        which = "missing" if len(got) < len(expected) else "extra"
        first = expected[len(got)] if len(got) < len(expected) else got[len(expected)]
        raise WrongValue(
            f"{len(got)} buckets, expected {len(expected)} ({which} from {label(first)})",
            exchanges=(view.exchange,),
        )


@response_rule(Profile.REFERENCE)
@needs("usage", "query")
def meta_echoes_query(view: ExchangeView) -> Verdict:
    """meta echoes the resolved query: real account id, defaults, normalised group_by.

    start and end after defaults, written in tz; granularity; group_by without
    duplicates in first-occurrence order; tz.

    Accepts: start and end in any spelling of the same instant in tz's offset (exact or to the
    minute), members the contract does not define; with end left to the server, its now as
    meta.end; tz as requested or as another name of the same zone (``US/Eastern`` echoed as
    ``America/New_York``: the contract does not say which name the echo uses).
    (meta.group_by and meta.tz may be absent under the contract profile, which does not run
    this rule.)
    """
    meta, query = view.usage.meta, view.query
    expected_group_by, timeline = query.dimensions, query.timeline
    problems = []
    if meta.account_id != query.account_id:
        problems.append(f"account_id is {meta.account_id!r}, expected {query.account_id!r}")
    for name, stamp, instant in (("start", meta.start, query.start), ("end", meta.end, query.end)):
        if stamp.instant != instant:
            problems.append(f"{name} is {meta.raw[name]}, expected {query.written(instant)}")
        elif stamp.offset not in written_offset(timeline.offset_at(instant // US)):
            problems.append(f"{name} {meta.raw[name]} is not written in {query.tz}")
    if meta.granularity != query.granularity.value:
        problems.append(
            f"granularity is {meta.granularity!r}, expected {query.granularity.value!r}"
        )
    if meta.group_by != expected_group_by:
        shown = None if meta.group_by is None else list(meta.group_by)
        problems.append(f"group_by is {shown!r}, expected {list(expected_group_by)!r}")
    if meta.tz is None or not same_zone(meta.tz, query.tz):
        problems.append(f"tz is {meta.tz!r}, expected {query.tz!r}")
    if problems:
        raise WrongValue("meta." + "; meta.".join(problems), exchanges=(view.exchange,))


def _grouped(view: ExchangeView) -> bool:
    return view.query is not None and bool(view.query.group_by)


@response_rule(Profile.REFERENCE)
@needs("usage", "query")
@when(_grouped)
def values_sorted_by_dimensions(view: ExchangeView) -> Verdict:
    """Grouped values are sorted by their dimension values, in group_by order.

    Accepts: ascending by code point (as UTF-8 bytes compare) or, throughout an answer, by
    UTF-16 code unit (as Java, JavaScript and .NET compare strings) -- the contract says
    "sorted", not by which of the two binary orders, and they differ only where a character
    beyond U+FFFF meets one in U+E000..U+FFFF; dimension keys in any order.
    """
    names = tuple(view.query.dimensions)
    if view.columns.sorted_within_buckets(names) or _in_utf16_order(view.usage, names):
        return  # the walk below only names the first bucket out of order
    for bucket in view.usage.buckets:
        keys = _keys(bucket.values or (), names, _code_points)
        if keys != sorted(keys):
            raise WrongValue(
                f"the values of bucket {bucket.text} are not sorted by {', '.join(names)}",
                exchanges=(view.exchange,),
            )


def _code_points(text: str) -> str:
    return text


def _utf16(text: str) -> bytes:
    """``text``'s UTF-16 code units, as bytes that compare as the units do."""
    return text.encode("utf-16-be", "surrogatepass")


def _keys(values: Iterable[Any], names: tuple[str, ...], order: Callable[[str], Any]) -> list[Any]:
    """Each value's sort key: its dimension values in ``names``' order (a missing one "")."""
    return [tuple(order((v.dimensions or {}).get(n, "")) for n in names) for v in values]


def _in_utf16_order(body: UsageBody, names: tuple[str, ...]) -> bool:
    """Whether every bucket's values ascend by UTF-16 code unit (walked only when they do
    not by code point)."""
    for values in body.values:
        keys = _keys(values or (), names, _utf16)
        if any(a > b for a, b in pairwise(keys)):
            return False
    return True


def _in_answered_order(view: ExchangeView, answer: dict[str, Any]) -> dict[str, Any]:
    """The reference's ``answer`` with its values in the order the server sorted them, when
    that is an order values_sorted_by_dimensions accepts other than the reference's."""
    names = tuple(view.query.dimensions)
    if not names or view.columns.sorted_within_buckets(names):
        return answer
    if not _in_utf16_order(view.usage, names):
        return answer  # values_sorted_by_dimensions names it

    def utf16(value: dict[str, Any]) -> tuple[bytes, ...]:
        return tuple(_utf16(value["dimensions"][n]) for n in names)

    data = [{**b, "values": sorted(b["values"], key=utf16)} for b in answer["data"]]
    return {**answer, "data": data}


@response_rule(Profile.REFERENCE)
@needs("usage", "query")
@when(_grouped)
def grouped_values_not_empty(view: ExchangeView) -> Verdict:
    """A grouped bucket lists only combinations with at least one counted conversation.

    Accepts: a bucket without values; a value with conversations that lasted 0 seconds.
    """
    if not view.columns.some_without_conversations:
        return  # the walk below only names the first empty one
    for bucket in view.usage.buckets:
        for value in bucket.values or ():
            if value.conversations == 0:
                raise WrongValue(
                    f"bucket {bucket.text} lists {value.dimensions} with no conversations",
                    exchanges=(view.exchange,),
                )


@response_rule(Profile.REFERENCE, requires=(Requirement.DATA,))
@needs("usage", "answer")
def matches_reference(view: ExchangeView) -> Verdict:
    """The answer equals the reference aggregator's over the dataset, field by field.

    Accepts: timestamps in any spelling of the same instant and offset, keys in any order,
    members the contract does not define (except in dimensions), meta.tz under another name
    of the same zone, values in any order values_sorted_by_dimensions accepts.
    """
    differences = describe_differences(_in_answered_order(view, view.answer), view.usage.raw)
    if differences:
        raise ReferenceMismatch(
            f"{len(differences)} field(s) differ from the reference, first: {differences[0]}",
            detail="\n".join(differences[:12]),
            exchanges=(view.exchange,),
        )


def _around(expected: Stamps, body: UsageBody, index: int) -> str:
    lo, hi = max(0, index - 2), min(index + 3, len(expected))
    want = ", ".join(label(expected[i]) for i in range(lo, hi))
    have = ", ".join(b.text for b in body.buckets[lo:hi])
    return f"expected ... {want} ...\n     got ... {have} ..."
