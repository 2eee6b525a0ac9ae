"""A body read as its request expects it says what the plain reading says, on bodies drawn
at random.

The expected reading only ever proves that a rule holds; every other question
goes to the plain columns. So, wherever the expected reading is taken, each of
:class:`ExpectedColumns`' answers must be the plain :class:`Columns`' answer,
and the body the same body (its values read the plain way when asked).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from exchanges import usage_exchange
from hypothesis import given, settings
from hypothesis import strategies as st

from usagekit.conformance.columns import Columns
from usagekit.conformance.exchange import Exchange
from usagekit.conformance.expecting import ExpectedColumns, expectation_of
from usagekit.conformance.failures import MalformedBody
from usagekit.conformance.reading import read_usage

NAMES = ("agent", "type", "subaccount")
TEXTS = st.sampled_from(["", "a", "a\x00", "b", "B", "é", "ab", 'a"'])
GROUP_BY = st.lists(st.sampled_from(NAMES), max_size=3)


@st.composite
def bodies(draw: st.DrawFn, group_by: list[str]) -> bytes:
    """A body whose values mostly have the requested dimensions, and sometimes not."""
    wanted = list(dict.fromkeys(group_by))

    def dimensions() -> object:
        if draw(st.integers(0, 9)) == 0:  # now and then anything else
            return draw(
                st.one_of(st.none(), st.dictionaries(st.sampled_from(NAMES), TEXTS, max_size=3))
            )
        return {name: draw(TEXTS) for name in draw(st.permutations(wanted))}

    def value() -> dict[str, object]:
        item: dict[str, object] = {
            "seconds": draw(st.sampled_from([0, 3, -1, 1.5])) if draw(st.booleans()) else 3,
            "conversations": draw(st.sampled_from([0, 1, 2])),
            "dimensions": dimensions(),
        }
        if draw(st.integers(0, 19)) == 0:
            del item["dimensions"]
        return item

    buckets = []
    for i in range(draw(st.integers(0, 5))):
        bucket: dict[str, object] = {"ts": f"1970-01-01T0{i}:00:00Z"}
        shape = draw(st.integers(0, 19))
        if shape:  # else no values at all
            bucket["values"] = (
                None if shape == 1 else [value() for _ in range(draw(st.integers(0, 4)))]
            )
        buckets.append(bucket)
    meta = {"account_id": "a", "start": "1970-01-01T00:00:00Z", "end": "1970-01-02T00:00:00Z"}
    return json.dumps({"meta": {**meta, "granularity": "hour"}, "data": buckets}).encode()


def _exchange(content: bytes) -> Exchange:
    return usage_exchange(content)


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[str], bytes]:
    group_by = draw(GROUP_BY)
    return group_by, draw(bodies(group_by))


@settings(max_examples=400, deadline=None)
@given(cases(), st.booleans(), st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
def test_expected_columns_answer_as_the_plain_ones(
    case: tuple[list[str], bytes], reference: bool, asked: list[str]
) -> None:
    group_by, content = case
    expectation = expectation_of(group_by, reference=reference)
    exchange = _exchange(content)
    try:
        plain = read_usage(exchange)
    except MalformedBody as failure:
        reason = failure.reason
        with pytest.raises(MalformedBody) as same:
            read_usage(exchange, expectation)
        assert same.value.reason == reason  # the same words for what breaks the shape
        return
    body = read_usage(dataclasses.replace(exchange), expectation)
    assert body == plain
    assert list(body.values) == list(plain.values)  # read the plain way, when asked
    if body.expected is None:
        return
    slow = Columns(plain)
    fast = ExpectedColumns(body.expected, lambda: Columns(plain))
    assert fast.count == slow.count
    assert set(fast.first_names) == set(slow.first_names)
    assert fast.per_bucket.tolist() == slow.per_bucket.tolist()
    assert fast.one_per_bucket is slow.one_per_bucket
    assert fast.some_bucket_bare is slow.some_bucket_bare
    assert fast.some_undimensioned is slow.some_undimensioned
    assert fast.some_without_conversations is slow.some_without_conversations
    wanted = tuple(dict.fromkeys(group_by))
    for names in {wanted, tuple(asked), tuple(reversed(wanted)), slow.first_names}:
        assert fast.has_exactly(names) is slow.has_exactly(names)
        assert fast.sorted_within_buckets(names) is slow.sorted_within_buckets(names)
        assert fast.strictly_ascending_within_buckets(
            names
        ) is slow.strictly_ascending_within_buckets(names)
        if slow.has_exactly(names):
            assert fast.distinct_within_buckets(names) is slow.distinct_within_buckets(names)


def test_a_body_as_expected_is_read_so() -> None:
    value = {"seconds": 1, "conversations": 1, "dimensions": {"agent": "b", "type": "a"}}
    meta = {"account_id": "a", "start": "1970-01-01T00:00:00Z", "end": "1970-01-01T01:00:00Z"}
    data = [{"ts": "1970-01-01T00:00:00Z", "values": [value]}]
    content = json.dumps({"meta": {**meta, "granularity": "hour"}, "data": data}).encode()
    expectation = expectation_of(["type", "agent", "type"], reference=True)
    assert expectation is not None
    assert expectation.names == ("type", "agent")
    assert read_usage(_exchange(content), expectation).expected is not None
    assert expectation_of(["agent", "nope"], reference=True) is None
    zero = content.replace(b'"conversations": 1', b'"conversations": 0')
    assert read_usage(_exchange(zero), expectation).expected is None  # judged the plain way
