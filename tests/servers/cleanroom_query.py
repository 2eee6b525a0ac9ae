"""The clean-room server's reading of the query string, from openapi.yaml alone.

Every parameter is read on its own and each invalid one becomes one
``(field, message)``; the relation ``start < end`` is judged only once every
field is valid (the contract allows that, and the reference does otherwise).
A repeated scalar parameter takes its first value.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from servers.cleanroom_calendar import US, to_datetime, to_instant

zoneinfo.reset_tzpath(to=[])  # the pinned tzdata package, as the kit's oracle reads
KNOWN_ZONES = frozenset(zoneinfo.available_timezones())
ZONE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")
DATE_TIME = re.compile(  # ASCII: \d would take any script's digits
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)
INTEGER = re.compile(r"[+-]?[0-9]+")
DIMENSIONS = ("agent", "subaccount", "type")
GRANULARITIES = ("hour", "day", "month")
DEFAULT_SPAN = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    start: int
    end: int
    granularity: str
    group_by: tuple[str, ...]
    zone: ZoneInfo
    tz: str
    limit: int


class Invalid(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def read_query(query_string: str, now: int) -> Query:
    """The resolved query, or :class:`Invalid` naming every bad field."""
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True, errors="replace"):
        params.setdefault(name, []).append(value)
    problems: list[tuple[str, str]] = []

    def first(name: str) -> str | None:
        values = params.get(name)
        return None if values is None or values[0] == "null" else values[0]

    def bad(name: str, message: str) -> None:
        problems.append((f"query.{name}", message))

    tz = first("tz")
    zone = None
    if tz is None:
        tz, zone = "UTC", ZoneInfo("UTC")
    elif len(tz) > 64 or not ZONE_SHAPE.fullmatch(tz) or tz not in KNOWN_ZONES:
        bad("tz", f"unknown time zone {tz!r}")
    else:
        zone = ZoneInfo(tz)

    granularity = params.get("granularity", ["day"])[0]
    if granularity not in GRANULARITIES:
        bad("granularity", f"must be hour, day or month, not {granularity!r}")

    group_by: list[str] = []
    if "group_by" in params and params["group_by"] != ["null"]:
        items = [item for value in params["group_by"] for item in value.split(",")]
        if len(items) > 16:
            bad("group_by", f"{len(items)} dimensions; at most 16 may be given")
        elif any(item not in DIMENSIONS for item in items):
            bad("group_by", "each dimension must be agent, subaccount or type")
        group_by = list(dict.fromkeys(items))

    limit = 500
    raw_limit = first("limit")
    if raw_limit is not None:
        if len(raw_limit) > 9 or not INTEGER.fullmatch(raw_limit):
            bad("limit", "not an integer")
        elif not 1 <= int(raw_limit) <= 500:
            bad("limit", f"{int(raw_limit)} is outside 1..500")
        else:
            limit = int(raw_limit)

    times: dict[str, int | None] = {"start": None, "end": None}
    for name in ("start", "end"):
        text = first(name)
        if text is None:
            continue
        match = DATE_TIME.fullmatch(text)
        if match is None or (zone is None and not (match[8] or match[9])):
            if match is None:  # else it cannot be read until tz is known
                bad(name, f"{text!r} is not an RFC 3339 date-time")
            continue
        times[name] = _instant(match, zone)
        if times[name] is None:
            bad(name, f"{text!r} is not a date-time of the years 1 to 9999 in {tz}")
    if problems:
        raise Invalid(problems)
    assert zone is not None
    end = times["end"] if times["end"] is not None else now // US * US
    start = times["start"] if times["start"] is not None else end - to_us(DEFAULT_SPAN)
    try:
        to_datetime(start).astimezone(zone)
    except OverflowError:  # the default start of an end early in the year 1
        raise Invalid(
            [("query.end", "the default start, 30 days before end, is before the year 1")]
        ) from None
    if start >= end:
        named = [n for n in ("start", "end") if times[n] is not None] or ["start"]
        raise Invalid([(f"query.{n}", "start must be before end") for n in named])
    return Query(
        start=start, end=end, granularity=granularity, group_by=tuple(group_by),
        zone=zone, tz=tz, limit=limit,
    )  # fmt: skip


def to_us(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def _instant(match: re.Match[str], zone: ZoneInfo | None) -> int | None:
    """µs since the epoch of a date-time (without offset: local in ``zone``, the first
    of two readings, the earlier offset in a gap), or None if it names no instant
    whose clock reading in ``zone`` is of the years 1 to 9999."""
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    fraction = int((match[7] or "0").ljust(6, "0"))
    try:
        wall = datetime(year, month, day, hour, minute, second, fraction)
        if match[8]:
            moment = wall.replace(tzinfo=UTC)
        elif match[9]:
            hours, minutes = int(match[10]), int(match[11])
            if hours > 23 or minutes > 59:
                return None
            sign = -1 if match[9] == "-" else 1
            moment = (wall - sign * timedelta(hours=hours, minutes=minutes)).replace(tzinfo=UTC)
        else:
            assert zone is not None
            moment = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if zone is not None:
            moment.astimezone(zone)
    except (ValueError, OverflowError):
        return None
    return to_instant(moment)
