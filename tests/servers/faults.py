"""The faults ``servers.minimal`` can switch on: mistakes real implementations make.

Each ``Fault`` reproduces one; ``tests/test_conformance_servers.py`` holds the
kit to naming a rule that says what it breaks. Faults that rewrite a correct
answer do it here, one function each (``REWRITES``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import US, format_instant, parse_datetime
from usagekit.mock.core.query import UsageQuery
from usagekit.mock.core.zones import get_timeline

if TYPE_CHECKING:
    from servers.minimal import MinimalServer


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


# -- faults that rewrite a correct answer -----------------------------------

Rewrite = Callable[["MinimalServer", UsageQuery, dict[str, Any]], dict[str, Any]]


def as_utc(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return text
    return text + "Z" if parsed.offset is None else text


def seven_days_before(end: str | None, now: int) -> str:
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
