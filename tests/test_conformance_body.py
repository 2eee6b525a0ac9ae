"""Bodies read leniently and compared in the contract's terms."""

from __future__ import annotations

import dataclasses
import json

import pytest
from exchanges import usage_exchange

from usagekit.conformance import reading as reading_module
from usagekit.conformance.exchange import Exchange
from usagekit.conformance.failures import MalformedBody
from usagekit.conformance.reading import _read_usage_plainly, read_error, read_usage


def exchange(body: object, status: int = 200) -> Exchange:
    return usage_exchange(json.dumps(body).encode(), status)


def usage(ts: str, **extra: object) -> dict:
    meta = {"account_id": "a", "start": ts, "end": "1970-01-02T00:00:00Z", "granularity": "day"}
    value = {"seconds": 5, "conversations": 1, "dimensions": {}}
    return {"meta": {**meta, **extra}, "data": [{"ts": ts, "values": [value]}]}


def test_the_same_answer_written_differently_is_equal() -> None:
    plain = read_usage(exchange(usage("1970-01-01T00:00:00Z")))
    other = read_usage(exchange(usage("1970-01-01T00:00:00.000+00:00", request_id="r-2")))
    assert plain == other
    assert plain.buckets == other.buckets
    assert not plain.buckets[0] != other.buckets[0]  # noqa: SIM202 -- != is its own method
    assert plain.buckets[0].text != other.buckets[0].text


def test_a_different_offset_or_value_is_not_equal() -> None:
    plain = read_usage(exchange(usage("1970-01-01T00:00:00Z")))
    shifted = read_usage(exchange(usage("1970-01-01T01:00:00+01:00")))
    assert plain.buckets != shifted.buckets  # same instant, another offset
    assert not plain.buckets[0] == shifted.buckets[0]  # noqa: SIM201
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


def _mutated(change: str) -> bytes:
    body = usage("1970-01-01T00:00:00Z", group_by=["agent"], tz="UTC")
    body["data"].append({"ts": "1970-01-01T12:00:00Z", "values": None})
    value = body["data"][0]["values"][0]
    value["dimensions"] = {"agent": "x"}
    edits = {
        "none": lambda: None,
        "ts-number": lambda: body["data"][0].update(ts=3),
        "ts-naive": lambda: body["data"][1].update(ts="1970-01-01T12:00:00"),
        "ts-lower-case": lambda: body["data"][1].update(ts="1970-01-01t12:00:00z"),
        "seconds-negative": lambda: value.update(seconds=-1),
        "seconds-bool": lambda: value.update(seconds=True),
        "seconds-float": lambda: value.update(seconds=1.5),
        "seconds-huge": lambda: value.update(seconds=2**70),  # valid, beyond 64 bits
        "conversations-missing": lambda: value.pop("conversations"),
        "dimension-number": lambda: value.update(dimensions={"agent": 3}),
        "dimensions-list": lambda: value.update(dimensions=[]),
        "dimensions-missing": lambda: value.pop("dimensions"),
        "value-string": lambda: body["data"][0].update(values=["x"]),
        "values-string": lambda: body["data"][0].update(values="x"),
        "values-missing": lambda: body["data"][0].pop("values"),
        "bucket-list": lambda: body["data"].append([]),
        "data-object": lambda: body.update(data={}),
        "data-missing": lambda: body.pop("data"),
        "meta-missing": lambda: body.pop("meta"),
        "meta-null": lambda: body.update(meta=None),
        "account-number": lambda: body["meta"].update(account_id=3),
        "start-bad": lambda: body["meta"].update(start="yesterday"),
        "group-by-string": lambda: body["meta"].update(group_by="agent"),
        "tz-number": lambda: body["meta"].update(tz=3),
        "extra-members": lambda: (body.update(x=1), value.update(y=[1]), body["meta"].update(z={})),
    }
    edits[change]()
    return json.dumps(body).encode()


RAW = {
    "not-json": b"nope",
    "a-list": b"[]",
    "nan": _mutated("none").replace(b'"seconds": 5', b'"seconds": NaN'),
    "repeated-member": _mutated("none").replace(b'"seconds": 5', b'"seconds": -1, "seconds": 5'),
    "bom": b"\xef\xbb\xbf" + _mutated("none"),
}
CHANGES = [
    "none", "ts-number", "ts-naive", "ts-lower-case", "seconds-negative", "seconds-bool",
    "seconds-float", "seconds-huge", "conversations-missing", "dimension-number",
    "dimensions-list", "dimensions-missing", "value-string", "values-string", "values-missing",
    "bucket-list", "data-object", "data-missing", "meta-missing", "meta-null", "account-number",
    "start-bad", "group-by-string", "tz-number", "extra-members",
]  # fmt: skip


def _read(reader: object, content: bytes) -> object:
    ex = dataclasses.replace(exchange(None), content=content)
    try:
        return reader(ex)  # type: ignore[operator]
    except MalformedBody as failure:
        return ("malformed", failure.reason)


@pytest.mark.parametrize(
    "content", [*(_mutated(c) for c in CHANGES), *RAW.values()], ids=[*CHANGES, *RAW]
)
def test_the_fast_reader_reads_as_the_plain_one(content: bytes) -> None:
    """msgspec's reader and the plain one agree on every body: the same record, or the same
    words for what breaks the shape."""
    fast, plain = _read(read_usage, content), _read(_read_usage_plainly, content)
    assert fast == plain
    if not isinstance(plain, tuple):  # read: the same values, not only equal ones
        assert [b.values for b in fast.buckets] == [b.values for b in plain.buckets]
        assert fast.raw == plain.raw


def test_a_well_formed_body_takes_the_fast_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    plain: list[Exchange] = []
    monkeypatch.setattr(reading_module, "_read_usage_plainly", plain.append)
    read_usage(dataclasses.replace(exchange(None), content=_mutated("extra-members")))
    assert plain == []
    read_usage(dataclasses.replace(exchange(None), content=_mutated("seconds-huge")))
    assert plain == []  # msgspec holds Python's own integers
    read_usage(dataclasses.replace(exchange(None), content=_mutated("seconds-negative")))
    assert len(plain) == 1  # what msgspec refuses is read plainly, to be named
