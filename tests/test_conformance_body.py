"""Bodies read leniently and compared in the contract's terms."""

from __future__ import annotations

import json

import pytest

from usagekit.conformance.body import read_error, read_usage
from usagekit.conformance.exchange import Exchange, KeyRole
from usagekit.conformance.failures import MalformedBody


def exchange(body: object, status: int = 200) -> Exchange:
    return Exchange(
        method="GET",
        base_url="http://x",
        path="/v1/accounts/a/analytics/usage",
        account="a",
        params=(),
        key=KeyRole.ACCOUNT,
        key_text=None,
        status=status,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
        elapsed=0.0,
    )


def usage(ts: str, **extra: object) -> dict:
    meta = {"account_id": "a", "start": ts, "end": "1970-01-02T00:00:00Z", "granularity": "day"}
    value = {"seconds": 5, "conversations": 1, "dimensions": {}}
    return {"meta": {**meta, **extra}, "data": [{"ts": ts, "values": [value]}]}


def test_the_same_answer_written_differently_is_equal() -> None:
    plain = read_usage(exchange(usage("1970-01-01T00:00:00Z")))
    other = read_usage(exchange(usage("1970-01-01T00:00:00.000+00:00", request_id="r-2")))
    assert plain == other
    assert plain.buckets == other.buckets


def test_a_different_offset_or_value_is_not_equal() -> None:
    plain = read_usage(exchange(usage("1970-01-01T00:00:00Z")))
    shifted = read_usage(exchange(usage("1970-01-01T01:00:00+01:00")))
    assert plain.buckets != shifted.buckets  # same instant, another offset
    changed = usage("1970-01-01T00:00:00Z")
    changed["data"][0]["values"][0]["seconds"] = 6
    assert plain.buckets != read_usage(exchange(changed)).buckets


def test_optional_members_may_be_absent_or_null() -> None:
    body = usage("1970-01-01T00:00:00Z", group_by=None, tz=None)
    body["data"][0]["values"][0]["dimensions"] = None
    body["data"].append({"ts": "1970-01-01T12:00:00Z"})
    read = read_usage(exchange(body))
    assert read.meta.group_by is None
    assert read.buckets[1].values is None
    error = read_error(exchange({"code": "x", "message": "y", "detail": None, "errors": None}, 404))
    assert error.fields is None


@pytest.mark.parametrize(
    "body",
    [
        {"code": "x"},
        {"code": "x", "message": "y", "errors": [{"field": "query.limit"}]},
        {"code": "x", "message": "y", "detail": 3},
    ],
)
def test_a_broken_error_body_is_malformed(body: dict) -> None:
    with pytest.raises(MalformedBody):
        read_error(exchange(body, 422))
