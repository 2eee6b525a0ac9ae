"""Reading a body off the wire: a 200 into :class:`UsageBody`, an error into :class:`ErrorBody`.

``read_usage`` turns a 200 body into :class:`UsageBody` or raises
:class:`MalformedBody` saying which field breaks the published shape;
``read_error`` does the same for an error's body.

A 200 is read by msgspec straight into the typed records (a 60 kB answer in
C, checked as it is decoded); whatever msgspec refuses is read again by the
plain reader, which names the field that breaks the shape, so a malformed body
gets the same words either way (tests/test_conformance_body.py holds the two
readers to each other).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any

import msgspec

from .body import Bucket, ErrorBody, Expectation, Expected, UsageBody, UsageMetaView, Value
from .exchange import Exchange
from .expecting import decode_expected
from .failures import MalformedBody
from .once import once
from .oracle import Labels
from .stamps import Stamp, Stamps, read_stamp, read_stamps, stamp_columns

__all__ = ["read_error", "read_usage"]


def _fail(exchange: Exchange, where: str, problem: str) -> MalformedBody:
    return MalformedBody(f"{where} {problem}", exchanges=(exchange,))


def _json_object(exchange: Exchange) -> dict[str, Any]:
    try:
        body = exchange.json()
    except ValueError:
        raise _fail(exchange, "the body", "is not JSON") from None
    if not isinstance(body, dict):
        raise _fail(exchange, "the body", "is not a JSON object")
    return body


def _integer(exchange: Exchange, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(exchange, where, f"is {value!r}, not an integer >= 0")
    return value


def _stamp(exchange: Exchange, where: str, value: Any) -> Stamp:
    stamp = read_stamp(value)
    if stamp is None:
        raise _fail(exchange, where, f"is {value!r}, not a date-time with an offset")
    return stamp


class _WireBucket(msgspec.Struct, gc=False):
    ts: str
    values: tuple[Value, ...] | None = None


class _Wire(msgspec.Struct, gc=False):
    meta: msgspec.Raw
    data: tuple[_WireBucket, ...]


_decode_wire = msgspec.json.Decoder(_Wire).decode
_decode_json = msgspec.json.Decoder().decode
_TS, _VALUES = attrgetter("ts"), attrgetter("values")


#: The labels a body whose ``meta`` is the one given would have on its query's grid.
LabelsOf = Callable[[UsageMetaView], Labels | None]


def read_usage(
    exchange: Exchange, expectation: Expectation | None = None, labels: LabelsOf | None = None
) -> UsageBody:
    """The 200's body; read first as ``expectation`` wants its values, when given.

    ``labels``: the reference's labels of the buckets, asked once ``meta`` is
    read; bucket starts written exactly so are taken as those labels read.
    """
    if expectation is not None:
        decoded = decode_expected(exchange.content, expectation)
        if decoded is not None:
            wire, expected = decoded
            return _usage(exchange, wire, _PlainValues(exchange), expected, labels)
    try:
        wire = _decode_wire(exchange.content)
    except msgspec.MsgspecError:
        return _read_usage_plainly(exchange)
    return _usage(exchange, wire, list(map(_VALUES, wire.data)), None, labels)


def _usage(
    exchange: Exchange,
    wire: Any,
    values: Sequence[tuple[Value, ...] | None],
    expected: Expected | None,
    labels: LabelsOf | None,
) -> UsageBody:
    """A body decoded by msgspec (``meta`` raw, ``data``'s buckets with ``ts``) as a UsageBody."""
    try:
        raw_meta = _decode_json(wire.meta)
    except msgspec.MsgspecError:  # a number out of msgspec's range, say: json reads it
        raw_meta = json.loads(bytes(wire.meta))
    meta = _meta(exchange, raw_meta)
    # map walks the buckets in C; a failure is looked for only once one is known to be there.
    texts = list(map(_TS, wire.data))
    known = labels(meta) if labels is not None else None
    starts = known.read(texts) if known is not None else None
    if starts is None:
        starts = stamp_columns(texts)
    if starts is None:  # a few labels, or some not written the common way: one by one
        stamps = read_stamps(texts)
        if None in stamps:
            index = stamps.index(None)
            where, text = f"data[{index}].ts", texts[index]
            raise _fail(exchange, where, f"is {text!r}, not a date-time with an offset")
        starts = Stamps.of(stamps)
    return UsageBody(
        meta=meta, exchange=exchange, starts=starts, texts=texts, values=values, expected=expected
    )


class _PlainValues(Sequence[tuple[Value, ...] | None]):
    """The values of a body read as expected, decoded the plain way only when first asked
    (by a rule naming a failure, or a relation summing them): the expected reading
    proved them well-formed, so msgspec reads them as it would have."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    @once
    def _values(self) -> list[tuple[Value, ...] | None]:
        try:
            return list(map(_VALUES, _decode_wire(self._exchange.content).data))
        except msgspec.MsgspecError:  # not if the expected reading held; the plain one decides
            return list(_read_usage_plainly(self._exchange).values)

    def __getitem__(self, index: Any) -> Any:
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[tuple[Value, ...] | None]:
        return iter(self._values)


def _read_usage_plainly(exchange: Exchange) -> UsageBody:
    body = _json_object(exchange)
    meta = _meta(exchange, body.get("meta"))
    data = body.get("data")
    if not isinstance(data, list):
        raise _fail(exchange, "data", "is missing or not a list")
    buckets = tuple(_bucket(exchange, i, item) for i, item in enumerate(data))
    return UsageBody.of(meta=meta, buckets=buckets, exchange=exchange)


def _meta(exchange: Exchange, meta: Any) -> UsageMetaView:
    if not isinstance(meta, dict):
        raise _fail(exchange, "meta", "is missing or not an object")
    for name in ("account_id", "granularity"):
        if not isinstance(meta.get(name), str):
            raise _fail(exchange, f"meta.{name}", "is missing or not a string")
    group_by = meta.get("group_by")
    if group_by is not None and not (
        isinstance(group_by, list) and all(isinstance(g, str) for g in group_by)
    ):
        raise _fail(exchange, "meta.group_by", f"is {group_by!r}, not a list of strings")
    tz = meta.get("tz")
    if tz is not None and not isinstance(tz, str):
        raise _fail(exchange, "meta.tz", f"is {tz!r}, not a string")
    return UsageMetaView(
        account_id=meta["account_id"],
        start=_stamp(exchange, "meta.start", meta.get("start")),
        end=_stamp(exchange, "meta.end", meta.get("end")),
        granularity=meta["granularity"],
        group_by=tuple(group_by) if group_by is not None else None,
        tz=tz,
        raw=meta,
    )


def _bucket(exchange: Exchange, index: int, item: Any) -> Bucket:
    # Called for every bucket of every answer: the place names of a failure
    # (``data[3].values[1].seconds``) are written only when there is one.
    if not isinstance(item, dict):
        raise _fail(exchange, f"data[{index}]", "is not an object")
    values = item.get("values")
    if values is not None and not isinstance(values, list):
        raise _fail(exchange, f"data[{index}].values", "is not a list")
    text = item.get("ts")
    stamp = read_stamp(text)
    if stamp is None:
        raise _fail(exchange, f"data[{index}].ts", f"is {text!r}, not a date-time with an offset")
    return Bucket(
        ts=stamp,
        text=text,
        values=tuple(_values(exchange, index, values)) if values is not None else None,
    )


def _values(exchange: Exchange, index: int, values: list[Any]) -> Iterator[Value]:
    for j, item in enumerate(values):
        # JSON's own types, checked inline: the common well-formed value costs no call;
        # anything else takes _value's full checks and its failure's place name.
        if type(item) is dict:
            dimensions = item.get("dimensions")
            seconds = item.get("seconds")
            conversations = item.get("conversations")
            if (
                type(seconds) is int
                and seconds >= 0
                and type(conversations) is int
                and conversations >= 0
                and (
                    dimensions is None
                    or (
                        type(dimensions) is dict
                        and all(type(v) is str for v in dimensions.values())
                    )
                )
            ):
                yield Value(seconds=seconds, conversations=conversations, dimensions=dimensions)
                continue
        yield _value(exchange, index, j, item)


def _value(exchange: Exchange, index: int, j: int, item: Any) -> Value:
    if not isinstance(item, dict):
        raise _fail(exchange, f"data[{index}].values[{j}]", "is not an object")
    dimensions = item.get("dimensions")
    if dimensions is not None and not (
        isinstance(dimensions, dict) and all(isinstance(v, str) for v in dimensions.values())
    ):
        where = f"data[{index}].values[{j}].dimensions"
        raise _fail(exchange, where, f"is {dimensions!r}, not a string map")
    seconds = item.get("seconds")
    conversations = item.get("conversations")
    if not (_counts(seconds) and _counts(conversations)):
        where = f"data[{index}].values[{j}]"
        _integer(exchange, f"{where}.seconds", seconds)
        _integer(exchange, f"{where}.conversations", conversations)
    return Value(seconds=seconds, conversations=conversations, dimensions=dimensions)


def _counts(value: Any) -> bool:
    """Whether ``value`` is an integer >= 0 (``_integer`` says why not, when it is not)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_error(exchange: Exchange) -> ErrorBody:
    body = _json_object(exchange)
    for name in ("code", "message"):
        if not isinstance(body.get(name), str):
            raise _fail(exchange, name, "is missing or not a string")
    detail = body.get("detail")
    if detail is not None and not isinstance(detail, str):
        raise _fail(exchange, "detail", f"is {detail!r}, not a string")
    errors = body.get("errors")
    fields: tuple[str, ...] | None = None
    if errors is not None:
        if not isinstance(errors, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("field"), str)
            and isinstance(e.get("message"), str)
            for e in errors
        ):
            raise _fail(exchange, "errors", "is not a list of {field, message} strings")
        fields = tuple(e["field"] for e in errors)
    return ErrorBody(code=body["code"], message=body["message"], fields=fields)
