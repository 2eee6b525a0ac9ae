"""A second, independent implementation of the contract, with faults to switch on.

The conformance kit must pass a correct server that is *not* our connexion
mock, and catch servers that break the contract in ways nobody on the team
wrote down. This is a deliberately plain Starlette app: hand-written parameter
parsing, auth and errors, the core only for the arithmetic. Each ``Fault``
reproduces a mistake real implementations make; ``tests/test_conformance_*``
check that the kit names the right rule for each. Each ``Variant``
(``servers.variants``) is another correct answer where the contract admits
more than one; the kit must pass each.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servers import variants as alt
from servers.variants import Variant
from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.instants import US, format_instant, parse_datetime
from usagekit.mock.core.query import RawQuery, UsageQuery, resolve_query
from usagekit.mock.core.response import UsageMeta
from usagekit.mock.core.zones import get_timeline
from usagekit.mock.spec import OPERATION_PATH

_MILLENNIUM = 1000 * 365 * 86_400 * US


class Fault(enum.Enum):
    IGNORES_LIMIT = "returns every bucket of the range, ignoring limit"
    LIMIT_OFF_BY_ONE = "returns limit + 1 buckets"
    FIXED_OFFSET = "buckets with the UTC offset in force at start (no DST)"
    UTC_LABELS = "writes ts in UTC instead of the zone's offset"
    SPARSE_BUCKETS = "drops empty buckets"
    GROUPS_DROP_SMALLEST = "drops the smallest value of each grouped bucket"
    UNSORTED_VALUES = "returns grouped values in reverse order"
    EXTRA_DIMENSION_KEY = "adds every dimension key to dimensions"
    ZONE_500 = "answers an unknown zone with 500"
    NO_AUTH = "serves requests without a key"
    CROSS_TENANT = "lets any valid key read any account"
    SUBACCOUNT_READS_PARENT = "lets a subaccount's key read its parent"
    DEFAULT_SPAN_7_DAYS = "defaults start to 7 days before end"
    DEFAULT_GRANULARITY_HOUR = "defaults granularity to hour"
    FIRST_ERROR_ONLY = "names only the first invalid field in a 422"
    VALIDATION_400 = "answers invalid parameters with 400 bad_request"
    COMMA_GROUP_BY_IGNORED = "reads only the repeated form of group_by"
    NAIVE_AS_UTC = "reads a date-time without offset as UTC"
    INCLUSIVE_END = "counts conversations that start exactly at end"
    PARENT_WITHOUT_SUBACCOUNTS = "a parent's usage leaves out its subaccounts"
    ME_ECHOED = "echoes 'me' as meta.account_id"
    META_START_UTC = "echoes meta.start in UTC instead of tz"
    GROUP_BY_NOT_NORMALISED = "echoes group_by with duplicates"
    ERROR_SHAPE = "answers errors with {'detail': ...} instead of the contract's body"
    NO_ALLOW_HEADER = "answers other methods with 405 but no Allow header"
    FIRST_BUCKET_AT_START = "labels the first bucket with start instead of its bucket start"
    MERGED_FALL_BACK = "merges the two hours of a fall-back night into one"
    TZ_CHANGES_TOTALS = "filters the range in local clock time instead of by instant"
    UNGROUPED_EMPTY_VALUES = "gives empty buckets no value instead of a zero value"
    # The published contract allows these (its profile passes them); openapi.yaml does not.
    META_WITHOUT_OPTIONALS = "leaves the optional meta.group_by and meta.tz out"
    UNGROUPED_NULL_DIMENSIONS = "writes dimensions: null on ungrouped values"
    ABSENT_ACCOUNT_404 = "answers an account that does not exist with 404"


@dataclass(frozen=True, slots=True, kw_only=True)
class MinimalServer:
    dataset: Dataset
    faults: frozenset[Fault] = frozenset()
    variants: frozenset[Variant] = frozenset()
    now: int | None = None  # µs; None = wall clock
    #: Seconds to stall on a range of more than a thousand years, as a server that
    #: walks the whole range before cutting at limit does (0: never).
    slow: float = 0.0
    _aggregate: Aggregator = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aggregate", Aggregator(self.dataset))

    def app(self) -> Starlette:
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
        return Starlette(
            routes=[Route(OPERATION_PATH, self.usage, methods=methods)],
            exception_handlers={404: self.not_found, 405: self.not_allowed},
        )

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.error(404, "not_found", f"No endpoint at {request.url.path}")

    async def not_allowed(self, request: Request, exc: Exception) -> Response:
        return self.not_allowed_answer(request)

    def not_allowed_answer(self, request: Request) -> Response:
        headers = alt.json_headers(self.variants, allow=Fault.NO_ALLOW_HEADER not in self.faults)
        return self.error(405, "method_not_allowed", f"{request.method} is not allowed", headers)

    # -- the endpoint ------------------------------------------------------

    async def usage(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return self.not_allowed_answer(request)
        owner = self.authenticate(request.headers.get("x-api-key"))
        requested = request.path_params["account_id"]
        account_id = (owner.id if owner else requested) if requested == "me" else requested
        checks = [self.check_key, self.check_query, self.check_access]
        if Variant.VALIDATES_BEFORE_AUTHENTICATING in self.variants:
            checks = [self.check_query, self.check_key, self.check_access]
        if Variant.AUTHORISES_BEFORE_VALIDATING in self.variants:
            checks = [self.check_key, self.check_access, self.check_query]
        for check in checks:
            refused = check(request, owner, account_id)
            if refused is not None:
                return refused
        query = resolve_query(self.raw_query(request), account_id=account_id, now=self.clock())
        if self.slow and query.end - query.start > _MILLENNIUM:
            await asyncio.sleep(self.slow)
        body = self.answer(query)
        if Fault.ME_ECHOED in self.faults and requested == "me":
            body["meta"]["account_id"] = "me"
        if Fault.GROUP_BY_NOT_NORMALISED in self.faults:
            body["meta"]["group_by"] = [
                item
                for value in request.query_params.getlist("group_by")
                for item in value.split(",")
            ]
        body = alt.usage_body(body, self.variants)
        return Response(
            json.dumps(body), headers=alt.json_headers(self.variants), media_type="application/json"
        )

    def check_key(self, request: Request, owner: Any, account_id: str) -> Response | None:
        if owner is None and Fault.NO_AUTH not in self.faults:
            return self.error(401, "unauthorized", "A valid API key is required")
        return None

    def check_query(self, request: Request, owner: Any, account_id: str) -> Response | None:
        try:
            resolve_query(self.raw_query(request), account_id=account_id, now=self.clock())
        except QueryError as exc:
            return self.invalid(exc)
        except Exception:  # the ZONE_500 fault lets the unknown zone escape as a 500
            return self.error(500, "internal_error", "An internal error occurred")
        return None

    def check_access(self, request: Request, owner: Any, account_id: str) -> Response | None:
        if owner is None and Fault.NO_AUTH not in self.faults:
            return None  # check_key answers, whichever comes first
        if Fault.ABSENT_ACCOUNT_404 in self.faults and self.dataset.account(account_id) is None:
            return self.error(404, "not_found", "No such account")
        if not self.may_read(owner, account_id):
            return self.error(403, "forbidden", "This API key may not read this account")
        return None

    def clock(self) -> int:
        return self.now if self.now is not None else int(time.time()) * US

    def raw_query(self, request: Request) -> RawQuery:
        params = request.query_params

        def one(name: str) -> str | None:
            value = params.get(name)
            return None if value is None or value == "null" else value

        group_by: list[str] | None = None
        values = params.getlist("group_by")
        if values:
            if Fault.COMMA_GROUP_BY_IGNORED in self.faults:
                group_by = [v for v in values if "," not in v]
            else:
                group_by = [item for value in values for item in value.split(",")]
        zone = one("tz")
        if Fault.ZONE_500 in self.faults and zone is not None:
            get_timeline(zone)  # raises on an unknown zone: the fault is the 500
        granularity = one("granularity")
        if granularity is None and Fault.DEFAULT_GRANULARITY_HOUR in self.faults:
            granularity = "hour"
        start, end = one("start"), one("end")
        if Fault.NAIVE_AS_UTC in self.faults:
            start, end = (_as_utc(start), _as_utc(end))
        if start is None and Fault.DEFAULT_SPAN_7_DAYS in self.faults:
            start = _seven_days_before(end, self.clock())
        return RawQuery(
            start=start,
            end=end,
            granularity=granularity,
            group_by=group_by,
            tz=zone,
            limit=one("limit"),
        )

    # -- auth ----------------------------------------------------------------

    def authenticate(self, key: str | None) -> Any:
        if key is None:
            return None
        return self.dataset.keys().get(key)

    def may_read(self, owner: Any, account_id: str) -> bool:
        account = self.dataset.account(account_id)
        if account is None:
            return False
        if owner is None:
            return Fault.NO_AUTH in self.faults
        if owner.id == account_id or Fault.CROSS_TENANT in self.faults:
            return True
        if account.parent_id == owner.id:
            return True
        return Fault.SUBACCOUNT_READS_PARENT in self.faults and owner.parent_id == account_id

    # -- answers ---------------------------------------------------------------

    def answer(self, query: UsageQuery) -> dict[str, Any]:
        effective = query
        if Fault.IGNORES_LIMIT in self.faults:
            effective = dataclasses.replace(query, limit=500)
        if Fault.LIMIT_OFF_BY_ONE in self.faults and query.limit < 500:
            effective = dataclasses.replace(query, limit=query.limit + 1)
        if Fault.TZ_CHANGES_TOTALS in self.faults:
            # Compares local clock readings with UTC timestamps: the range slides by the offset.
            timeline = query.timeline
            effective = dataclasses.replace(
                effective,
                start=query.start + timeline.offset_at(query.start // US) * US,
                end=query.end + timeline.offset_at(query.end // US) * US,
            )
        body = self._aggregate(effective).to_dict()
        body["meta"] = UsageMeta.of(query).to_dict()  # the query asked, whatever the faults did
        for fault in self.faults:
            rewrite = REWRITES.get(fault)
            if rewrite:
                body = rewrite(self, query, body)
        return body

    def invalid(self, exc: QueryError) -> Response:
        errors = alt.field_errors(exc, self.variants)
        if Fault.FIRST_ERROR_ONLY in self.faults:
            errors = errors[:1]
        if Fault.VALIDATION_400 in self.faults:
            return self.error(400, "bad_request", str(exc), errors=errors)
        return self.error(
            422, "validation_error", f"{len(errors)} invalid parameters", errors=errors
        )

    def error(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> Response:
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        body = alt.error_body(body, self.variants)
        if Fault.ERROR_SHAPE in self.faults:
            body = {"detail": message}
        headers = {**alt.json_headers(self.variants), **(headers or {})}
        return Response(json.dumps(body), status, headers, media_type="application/json")


# -- faults that rewrite a correct answer -----------------------------------

Rewrite = Callable[[MinimalServer, UsageQuery, dict[str, Any]], dict[str, Any]]


def _as_utc(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return text
    return text + "Z" if parsed.offset is None else text


def _seven_days_before(end: str | None, now: int) -> str:
    instant = now
    if end is not None:
        try:
            parsed = parse_datetime(end)
            instant = parsed.instant(get_timeline("UTC"))
        except ValueError:
            pass
    return format_instant(instant - 7 * 86_400 * US, 0)


def _instant(text: str) -> int:
    return parse_datetime(text).instant(get_timeline("UTC"))


def _fixed_offset(server: MinimalServer, query: UsageQuery, body: dict[str, Any]) -> dict[str, Any]:
    offset = query.timeline.offset_at(query.start // US)
    if offset % 3600:
        return body
    hours = -offset // 3600
    fixed = "Etc/GMT" + ("" if hours == 0 else f"{hours:+d}")
    shifted = server._aggregate(dataclasses.replace(query, tz=fixed)).to_dict()
    return {"meta": body["meta"], "data": shifted["data"]}


def _utc_labels(server: MinimalServer, query: UsageQuery, body: dict[str, Any]) -> dict[str, Any]:
    for bucket in body["data"]:
        bucket["ts"] = format_instant(_instant(bucket["ts"]), 0)
    return body


def _sparse(server: MinimalServer, query: UsageQuery, body: dict[str, Any]) -> dict[str, Any]:
    body["data"] = [b for b in body["data"] if any(v["conversations"] for v in b["values"])]
    return body


def _drop_smallest(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    for bucket in body["data"]:
        if query.group_by and len(bucket["values"]) > 1:
            smallest = min(bucket["values"], key=lambda v: v["conversations"])
            bucket["values"].remove(smallest)
    return body


def _reverse(server: MinimalServer, query: UsageQuery, body: dict[str, Any]) -> dict[str, Any]:
    for bucket in body["data"]:
        bucket["values"].reverse()
    return body


def _extra_key(server: MinimalServer, query: UsageQuery, body: dict[str, Any]) -> dict[str, Any]:
    for bucket in body["data"]:
        for value in bucket["values"]:
            for name in ("agent", "subaccount", "type"):
                value["dimensions"].setdefault(name, "*")
    return body


def _inclusive_end(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    scope = server.dataset.scope(query.account_id)
    at_end = [i for i, start in enumerate(scope.start.tolist()) if start == query.end]
    if at_end and body["data"] and not query.group_by:
        value = body["data"][-1]["values"][0]
        value["conversations"] += len(at_end)
        value["seconds"] += int(sum(scope.duration[i] for i in at_end))
    return body


def _without_subaccounts(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    account = server.dataset.account(query.account_id)
    if account is None or account.parent_id is not None:
        return body
    own = [r for r in server.dataset.records() if r.account_id == account.id]
    alone = Dataset.from_records(server.dataset.accounts, own)
    return {"meta": body["meta"], "data": Aggregator(alone)(query).to_dict()["data"]}


def _meta_start_utc(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    body["meta"]["start"] = format_instant(query.start, 0)
    return body


def _first_bucket_at_start(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    if body["data"]:
        body["data"][0]["ts"] = body["meta"]["start"]
    return body


def _merged_fall_back(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    if query.granularity.value != "hour":
        return body
    merged: list[dict[str, Any]] = []
    for bucket in body["data"]:
        if merged and merged[-1]["ts"][:13] == bucket["ts"][:13]:
            totals = {tuple(sorted(v["dimensions"].items())): v for v in merged[-1]["values"]}
            for value in bucket["values"]:
                key = tuple(sorted(value["dimensions"].items()))
                if key in totals:
                    totals[key]["seconds"] += value["seconds"]
                    totals[key]["conversations"] += value["conversations"]
                else:
                    merged[-1]["values"].append(value)
            continue
        merged.append(bucket)
    body["data"] = merged
    return body


def _ungrouped_empty(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    if not query.group_by:
        for bucket in body["data"]:
            if not bucket["values"][0]["conversations"]:
                bucket["values"] = []
    return body


def _meta_without_optionals(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    del body["meta"]["group_by"], body["meta"]["tz"]
    return body


def _ungrouped_null_dimensions(
    server: MinimalServer, query: UsageQuery, body: dict[str, Any]
) -> dict[str, Any]:
    if not query.group_by:
        for bucket in body["data"]:
            for value in bucket["values"]:
                value["dimensions"] = None
    return body


REWRITES: dict[Fault, Rewrite] = {
    Fault.FIXED_OFFSET: _fixed_offset,
    Fault.UTC_LABELS: _utc_labels,
    Fault.SPARSE_BUCKETS: _sparse,
    Fault.GROUPS_DROP_SMALLEST: _drop_smallest,
    Fault.UNSORTED_VALUES: _reverse,
    Fault.EXTRA_DIMENSION_KEY: _extra_key,
    Fault.INCLUSIVE_END: _inclusive_end,
    Fault.PARENT_WITHOUT_SUBACCOUNTS: _without_subaccounts,
    Fault.META_START_UTC: _meta_start_utc,
    Fault.FIRST_BUCKET_AT_START: _first_bucket_at_start,
    Fault.MERGED_FALL_BACK: _merged_fall_back,
    Fault.UNGROUPED_EMPTY_VALUES: _ungrouped_empty,
    Fault.META_WITHOUT_OPTIONALS: _meta_without_optionals,
    Fault.UNGROUPED_NULL_DIMENSIONS: _ungrouped_null_dimensions,
}
