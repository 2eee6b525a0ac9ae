"""The usage query: its parameters, their defaults, and their validation.

:func:`resolve_query` turns the request's parameters (as text, before any
interpretation) into a :class:`UsageQuery`, or raises :class:`QueryError`
naming every invalid field at once. It is the one place where defaults are
applied and date-times are read, shared by the mock server and by
``usagekit aggregate``, so that both give the same answer to the same query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum

from .buckets import Granularity
from .errors import FieldError, QueryError, UnknownZoneError
from .instants import MAX_INSTANT, MIN_INSTANT, US, format_instant, local_instant, read_datetime
from .zones import Timeline, get_timeline, zone_hint

__all__ = [
    "DEFAULT_GRANULARITY",
    "DEFAULT_LIMIT",
    "DEFAULT_SPAN",
    "DEFAULT_TZ",
    "MAX_GROUP_BY",
    "MAX_LIMIT",
    "MAX_LIMIT_DIGITS",
    "MAX_TZ_LENGTH",
    "MIN_LIMIT",
    "Dimension",
    "Granularity",
    "RawQuery",
    "UsageQuery",
    "resolve_query",
]


class Dimension(StrEnum):
    AGENT = "agent"
    SUBACCOUNT = "subaccount"
    TYPE = "type"


DEFAULT_GRANULARITY = Granularity.DAY
DEFAULT_TZ = "UTC"
MIN_LIMIT = 1
MAX_LIMIT = 500
DEFAULT_LIMIT = 500
#: ``start`` defaults to exactly 30 days (720 hours) before ``end``.
DEFAULT_SPAN = 30 * 86_400 * US
#: Caps checked before any value is interpreted, so that no text costs more than
#: its length: ``group_by`` items (duplicates count), the digits of ``limit`` (no
#: 4,300-digit ``int()``), and a zone name's characters (the longest IANA name has 32).
MAX_GROUP_BY = 16
MAX_LIMIT_DIGITS = 9
MAX_TZ_LENGTH = 64

# ``invalid(name, message)``: records one invalid query parameter.
_Report = Callable[[str, str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class RawQuery:
    """The query parameters as the request wrote them; ``None`` means absent."""

    start: str | None = None
    end: str | None = None
    granularity: str | None = None
    group_by: Sequence[str] | None = None
    tz: str | None = None
    limit: int | str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageQuery:
    """A valid, fully resolved query: instants in µs, defaults applied."""

    account_id: str
    start: int
    end: int
    granularity: Granularity
    group_by: tuple[Dimension, ...]
    tz: str
    limit: int
    # Hashed once: a query keys the memo's bodies and coverage's cells on every request.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = (self.account_id, self.start, self.end, self.granularity, self.group_by)
        object.__setattr__(self, "_hash", hash((*values, self.tz, self.limit)))

    def __hash__(self) -> int:
        return self._hash

    def __setstate__(self, state: Sequence[object]) -> None:
        # Unpickled in another process, whose str hashes differ: hashed again there.
        for name, value in zip(_QUERY_FIELDS, state, strict=False):
            object.__setattr__(self, name, value)
        self.__post_init__()

    @property
    def timeline(self) -> Timeline:
        return get_timeline(self.tz)

    def written(self, instant: int) -> str:
        """``instant`` written in the query's zone, as ``meta`` echoes it."""
        return format_instant(instant, self.timeline.offset_at(instant // US))

    @property
    def dimensions(self) -> tuple[str, ...]:
        """``group_by``'s names, in order."""
        return _names(self.group_by)


@functools.lru_cache(maxsize=64)
def _names(group_by: tuple[Dimension, ...]) -> tuple[str, ...]:
    # Looked up: an enum's ``.value`` is a Python property, read per member per answer.
    return tuple(d.value for d in group_by)


_QUERY_FIELDS = tuple(f.name for f in fields(UsageQuery) if f.init)


def resolve_query(raw: RawQuery, *, account_id: str, now: int) -> UsageQuery:
    """Validate ``raw`` and apply the defaults; ``now`` (µs) is the default ``end``.

    Raises :class:`QueryError` with one :class:`FieldError` per invalid field.
    """
    errors: list[FieldError] = []

    def invalid(name: str, message: str) -> None:
        errors.append(FieldError(field=f"query.{name}", message=message))

    granularity = _granularity(raw.granularity, invalid)
    group_by = _group_by(raw.group_by, invalid)
    limit = _limit(raw.limit, invalid)
    tz, timeline = _zone(raw.tz, invalid)

    start = end = None
    if raw.end is not None:
        end = _instant("end", raw.end, timeline, invalid)
    elif timeline is not None:
        end = now
    if raw.start is not None:
        start = _instant("start", raw.start, timeline, invalid)
    elif end is not None:
        start = end - DEFAULT_SPAN
        if timeline is not None and not _in_range(start, timeline):
            invalid("start", "the default start (30 days before end) is before the year 1")
            start = None
    if start is not None and end is not None and start >= end:
        shown = f"start ({raw.start or 'default'}) must be before end ({raw.end or 'now'})"
        errors.append(FieldError(field="query.start", message=shown, related=("query.end",)))

    if errors:
        raise QueryError(errors)
    # Without errors, every value above was resolved.
    assert granularity is not None
    assert limit is not None
    assert tz is not None
    assert start is not None
    assert end is not None
    return UsageQuery(
        account_id=account_id,
        start=start,
        end=end,
        granularity=granularity,
        group_by=group_by,
        tz=tz,
        limit=limit,
    )


#: The enums' members by value: a dict lookup is several times cheaper than calling the
#: enum (a fixed handful of entries); anything else takes the enum's own path.
_GRANULARITIES = {member.value: member for member in Granularity}
_ONE_DIMENSION = {member.value: (member,) for member in Dimension}


def _granularity(value: str | None, invalid: _Report) -> Granularity | None:
    if value is None:
        return DEFAULT_GRANULARITY
    found = _GRANULARITIES.get(value) if type(value) is str else None
    if found is not None:
        return found
    try:
        return Granularity(value)
    except ValueError:
        invalid("granularity", f"{value!r} is not one of {_choices(Granularity)}")
        return None


def _group_by(values: Sequence[str] | None, invalid: _Report) -> tuple[Dimension, ...]:
    if values is None:
        return ()
    # The common case, one dimension written alone, is one lookup.
    alone = values if isinstance(values, str) else values[0] if len(values) == 1 else None
    if type(alone) is str and alone in _ONE_DIMENSION:
        return _ONE_DIMENSION[alone]
    # Comma-separated, repeated, or a mix of both: every item may hold commas.
    values = [
        part
        for value in ([values] if isinstance(values, str) else values)
        for part in value.split(",", MAX_GROUP_BY)
    ]
    if len(values) > MAX_GROUP_BY:
        invalid("group_by", f"has more than {MAX_GROUP_BY} items")
        return ()
    unknown = [v for v in values if v not in Dimension.__members__.values()]
    if unknown:
        shown = ", ".join(repr(v) for v in unknown)
        verb = "is" if len(unknown) == 1 else "are"
        invalid("group_by", f"{shown} {verb} not one of {_choices(Dimension)}")
        return ()
    # dict keeps the first occurrence of each dimension, in order
    return tuple(dict.fromkeys(Dimension(v) for v in values))


def _limit(value: int | str | None, invalid: _Report) -> int | None:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, str) and len(value) > MAX_LIMIT_DIGITS:
        invalid("limit", f"is not between {MIN_LIMIT} and {MAX_LIMIT} ({len(value)} characters)")
        return None
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())
    ):
        invalid("limit", f"{value!r} is not an integer")
        return None
    number = int(value)
    if not MIN_LIMIT <= number <= MAX_LIMIT:
        invalid("limit", f"{number} is not between {MIN_LIMIT} and {MAX_LIMIT}")
        return None
    return number


def _zone(value: str | None, invalid: _Report) -> tuple[str | None, Timeline | None]:
    name = DEFAULT_TZ if value is None else value
    if name == "":
        invalid("tz", "must not be empty")
        return None, None
    if len(name) > MAX_TZ_LENGTH:
        invalid("tz", f"is longer than {MAX_TZ_LENGTH} characters: not an IANA time zone")
        return None, None
    try:
        return name, get_timeline(name)
    except UnknownZoneError as exc:
        hint = zone_hint(name)
        invalid("tz", f"{exc}{f'; did you mean {hint!r}?' if hint else ''}")
        return None, None


def _instant(name: str, text: str, timeline: Timeline | None, invalid: _Report) -> int | None:
    if text == "":
        invalid(name, "must not be empty")
        return None
    try:
        local, offset = read_datetime(text)
    except ValueError as exc:
        invalid(name, str(exc))
        return None
    if timeline is None:
        if offset is None:
            return None  # local time in an invalid zone: tz is already reported
        timeline = get_timeline("UTC")
    try:
        instant = local_instant(local, offset, timeline)
    except OverflowError:
        instant = None
    if instant is None or not _in_range(instant, timeline):
        invalid(name, f"{text!r} is out of range: it must lie in the years 1 to 9999 in tz")
        return None
    return instant


#: Two days: more than any UTC offset can be (the database's largest, Manila's mean time
#: until 1844, is under 16 hours; a POSIX rule's is under 25).
_MARGIN = 2 * 86_400 * US


def _in_range(instant: int, timeline: Timeline) -> bool:
    # The contract bounds the years *in tz*: 9999-12-31T23:59:59 in New York is
    # 10000-01-01 in UTC and still valid. The bounds apply to the local clock only.
    if MIN_INSTANT + _MARGIN <= instant <= MAX_INSTANT - _MARGIN:
        return True  # whatever the offset: no need to look it up
    local = instant + timeline.offset_at(instant // US) * US
    return MIN_INSTANT <= local <= MAX_INSTANT


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(member.value for member in enum)
