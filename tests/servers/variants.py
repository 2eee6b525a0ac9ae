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
import re
import uuid
from collections.abc import Collection
from typing import Any

from usagekit.mock.core.errors import FieldError, QueryError
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
