"""Correct alternatives: answers that differ from the reference mock's and still conform.

A false alarm is worse than a miss. Wherever the contract admits more than
one correct answer, ``servers.minimal`` can be switched to another one of
them, and ``tests/test_conformance_servers.py`` holds the kit to passing each
under both profiles. Each ``Variant`` is what a real, correct implementation
may well do (FastAPI/pydantic, an API gateway, another JSON encoder).
"""

from __future__ import annotations

import enum
import functools
import itertools
import json
import re
import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from starlette.middleware.gzip import GZipMiddleware

from usagekit.mock.core.errors import FieldError, QueryError
from usagekit.mock.core.instants import parse_datetime
from usagekit.mock.core.zones import available_zones, same_zone


class Variant(enum.Enum):
    FIELDS_BEFORE_RELATIONS = "checks start < end only once every field is valid (as pydantic)"
    RELATION_ON_END = "names start >= end on query.end"
    RELATION_ON_BOTH = "names start >= end on query.start and on query.end"
    ERRORS_REORDERED = "lists errors[] in another order, a field once per message"
    AUTHORISES_BEFORE_VALIDATING = "answers 403 before it looks at the parameters"
    VALIDATES_BEFORE_AUTHENTICATING = "answers 422 before it looks at the key"
    OFFSET_SPELLING = "writes a zero offset +00:00 and every timestamp with milliseconds"
    HEADER_CASE = "writes Content-Type: Application/JSON; Charset=UTF-8 and Allow: get, head"
    ERROR_EXTRAS = "adds detail, errors: null and members of its own to error bodies"
    ZONE_ALIAS = "echoes tz under another name of the same zone (UTC as Etc/UCT)"
    EXTRA_MEMBERS = (
        "adds members of its own to meta, buckets and values (a new request id each time)"
    )
    JSON_SPELLING = (
        "writes JSON indented, members in reverse order, every - and / escaped "
        "(\\u002d, \\/), non-ASCII as itself, and a trailing newline"
    )
    GZIP = "compresses every answer with gzip when the request accepts it"
    STREAMED = "sends every answer chunked, 61 bytes a chunk, with Connection: close"
    RATE_LIMITED = "answers every third request 429 rate_limit_exceeded, Retry-After: 0"
    UTF16_ORDER = "sorts grouped values by UTF-16 code units (as Java, JavaScript, .NET do)"
    LENIENT_DATETIMES = (
        "reads start and end as datetime.fromisoformat does (2024-03-01T10:30Z, 20240301T1030Z)"
    )


#: The content type every answer carries under HEADER_CASE.
ODD_CASE_JSON = "Application/JSON; Charset=UTF-8"


def field_errors(exc: QueryError, variants: Collection[Variant]) -> list[dict[str, str]]:
    """``errors[]`` of a 422, as the variants write it."""
    errors: list[FieldError] = list(exc.errors)
    if Variant.FIELDS_BEFORE_RELATIONS in variants and any(not e.related for e in errors):
        errors = [e for e in errors if not e.related]
    written = []
    for error in errors:
        names = [error.field]
        if error.related and Variant.RELATION_ON_END in variants:
            names = list(error.related)
        elif error.related and Variant.RELATION_ON_BOTH in variants:
            names = [error.field, *error.related]
        written += [{"field": name, "message": error.message} for name in names]
    if Variant.ERRORS_REORDERED in variants:
        written = [
            {"field": e["field"], "message": part}
            for e in reversed(written)
            for part in (e["message"], "see the documentation")
        ]
    return written


def error_body(body: dict[str, Any], variants: Collection[Variant]) -> dict[str, Any]:
    if Variant.ERROR_EXTRAS in variants:
        body = {"request_id": "req-0001", "detail": None, "errors": None, **body}
    return body


def json_headers(variants: Collection[Variant], allow: bool = False) -> dict[str, str]:
    """Headers of a JSON answer (and of a 405, with ``allow``)."""
    headers = {}
    if Variant.HEADER_CASE in variants:
        headers["content-type"] = ODD_CASE_JSON
    if allow:
        headers["Allow"] = "get, head" if Variant.HEADER_CASE in variants else "GET"
    return headers


_STAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _respelled(text: str) -> str:
    match = _STAMP.fullmatch(text)
    if match is None:
        return text
    clock, fraction, offset = match.groups()
    return clock + (fraction or ".000") + ("+00:00" if offset == "Z" else offset)


def usage_body(body: dict[str, Any], variants: Collection[Variant]) -> dict[str, Any]:
    """A 200's body, as the variants write it."""
    if Variant.OFFSET_SPELLING in variants:
        for name in ("start", "end"):
            body["meta"][name] = _respelled(body["meta"][name])
        for bucket in body["data"]:
            bucket["ts"] = _respelled(bucket["ts"])
    if Variant.ZONE_ALIAS in variants:
        body["meta"]["tz"] = alias_of(body["meta"]["tz"])
    names = body["meta"].get("group_by")  # a fault may have left it out
    if Variant.UTF16_ORDER in variants and names:
        for bucket in body["data"]:
            bucket["values"].sort(key=lambda v: [utf16_key(v["dimensions"][n]) for n in names])
    if Variant.EXTRA_MEMBERS in variants:
        body["meta"]["request_id"] = str(uuid.uuid4())
        for bucket in body["data"]:
            bucket["complete"] = True
            for value in bucket["values"]:
                value["billable"] = value["seconds"]
    return body


@functools.cache
def alias_of(zone: str) -> str:
    """The first other name of ``zone``'s zone in the database, or ``zone`` when it has none."""
    return next((z for z in sorted(available_zones()) if z != zone and same_zone(z, zone)), zone)


def utf16_key(text: str) -> bytes:
    """``text``'s sort key by UTF-16 code units (big-endian bytes compare as the units)."""
    return text.encode("utf-16-be", "surrogatepass")


def json_text(body: dict[str, Any], variants: Collection[Variant]) -> str:
    """A body as the variants write it."""
    if Variant.JSON_SPELLING not in variants:
        return json.dumps(body)
    text = json.dumps(_reversed(body), indent=3, ensure_ascii=False)
    # Outside strings there is neither - (counts are >= 0) nor /: both only ever escape.
    return text.replace("-", "\\u002d").replace("/", "\\/") + "\n"


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(v) for k, v in reversed(value.items())}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


def wrapped(app: Any, variants: Collection[Variant]) -> Any:
    """``app`` behind what the variants do to every answer on the wire."""
    if Variant.GZIP in variants:
        app = GZipMiddleware(app, minimum_size=0)
    if Variant.STREAMED in variants:
        app = _Streamed(app)
    if Variant.RATE_LIMITED in variants:
        app = _RateLimited(app)
    return app


class _Streamed:
    """Every answer without Content-Length, in 61-byte chunks, and the connection closed."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def chunked(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"content-length"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
                return await send(message)
            if message["type"] != "http.response.body":
                return await send(message)
            body, more = message.get("body", b""), message.get("more_body", False)
            for at in range(0, len(body), 61):
                await send(
                    {"type": "http.response.body", "body": body[at : at + 61], "more_body": True}
                )
            if not more:
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, chunked)


class _RateLimited:
    """Every third request refused 429, in the contract's error shape."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = itertools.count(1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or next(self.count) % 3:
            return await self.app(scope, receive, send)
        body = json.dumps(
            {"code": "rate_limit_exceeded", "message": "Rate limit exceeded.", "detail": None}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"0"),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def datetime_read(text: str | None, variants: Collection[Variant]) -> str | None:
    """``start`` or ``end`` as the variants read it: any ISO-8601 date-time, under
    LENIENT_DATETIMES, rewritten as the core reads it."""
    if text is None or Variant.LENIENT_DATETIMES not in variants:
        return text
    try:
        parse_datetime(text)
        return text
    except ValueError:
        pass
    if not re.search(r"\d[Tt ]\d", text):
        return text  # a date alone is no date-time: refused
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        return text
