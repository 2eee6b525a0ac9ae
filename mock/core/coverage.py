"""The coverage ledger: which states of the endpoint a stream of traffic exercised.

One exchange -- its status, its error code, the parameters as written and the
query they resolve to -- exercises a set of *cells*, named ``family:value``:

* ``status:422``, ``error:validation_error`` -- what came back;
* ``param:tz:present`` / ``param:tz:default`` -- each parameter sent or left out;
* ``granularity:hour``; ``group_by:agent+type`` (the combination, whatever the
  order) and ``group_by_order:type,agent`` (the order, for two or more);
* ``limit:1``, ``limit:500`` (the edges) and ``limit:truncated`` (the range held
  more buckets than ``limit`` let through);
* ``range:<=1h``, ``range:<=1d``, ``range:<=31d``, ``range:<=366d``,
  ``range:>366d`` -- the length of ``[start, end)``;
* ``tz:utc``, ``tz:fixed`` (no offset change in the range's years),
  ``tz:dst-north`` / ``tz:dst-south`` (the zone moves its clocks both ways in
  the range's years, first forward in the first or the second half of a year), ``tz:fractional`` (an
  offset that is not whole hours), ``tz:offset-change`` (the range itself
  crosses a change of offset), ``tz:skipped-midnight`` (the range crosses a
  change that skips a local midnight, or a whole local date).

Zone classes describe the zone around the range (its calendar years), so that a
January range of Europe/Vienna still counts as a northern DST zone; the last two
describe the range itself. The same classification serves the kit (``check``,
``proxy``, ``--replay``) and the mock server, so it lives in the core, pure;
:mod:`.ledger` counts what it names.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable, Mapping

from .buckets import bucket_grid
from .instants import US
from .query import MAX_LIMIT, MIN_LIMIT, Dimension, Granularity, RawQuery, UsageQuery
from .zone_classes import zone_cells

__all__ = [
    "CATALOGUE",
    "PARAMETERS",
    "catalogue",
    "exchange_cells",
    "query_cells",
]

PARAMETERS = ("start", "end", "granularity", "group_by", "tz", "limit")
_ORDER = tuple(Dimension)
_RANGES = (("<=1h", 3600), ("<=1d", 86_400), ("<=31d", 31 * 86_400), ("<=366d", 366 * 86_400))
_RANGE_MOST = [most for _, most in _RANGES]
_RANGE_NAMES = [name for name, _ in _RANGES] + [">366d"]
_ZONES = ("utc", "fixed", "dst-north", "dst-south", "fractional", "offset-change")


def _combinations() -> list[tuple[Dimension, ...]]:
    return [c for n in range(len(_ORDER) + 1) for c in itertools.combinations(_ORDER, n)]


def _combination(dimensions: Iterable[Dimension]) -> str:
    chosen = set(dimensions)
    return "+".join(d.value for d in _ORDER if d in chosen) or "none"


#: Every cell the core can name; statuses and error codes come from the contract.
CATALOGUE: tuple[str, ...] = (
    *(f"param:{p}:{how}" for p in PARAMETERS for how in ("present", "default")),
    *(f"granularity:{g.value}" for g in Granularity),
    *(f"group_by:{_combination(c)}" for c in _combinations()),
    *(
        f"group_by_order:{','.join(d.value for d in order)}"
        for n in range(2, len(_ORDER) + 1)
        for order in itertools.permutations(_ORDER, n)
    ),
    f"limit:{MIN_LIMIT}",
    f"limit:{MAX_LIMIT}",
    "limit:truncated",
    *(f"range:{name}" for name, _ in _RANGES),
    "range:>366d",
    *(f"tz:{name}" for name in _ZONES),
    "tz:skipped-midnight",
)


#: A status no GET of the endpoint gets (405 answers every other method): the ledger
#: counts the endpoint's GETs, so its cells could never be exercised.
NOT_A_GET = frozenset({405})


def catalogue(error_codes: Mapping[int, str]) -> tuple[str, ...]:
    """:data:`CATALOGUE` with the statuses and error codes of a contract (status -> code)
    that a GET of the endpoint can get."""
    codes = {s: c for s, c in sorted(error_codes.items()) if s not in NOT_A_GET}
    return (
        *(f"status:{s}" for s in sorted({200, *codes})),
        *(f"error:{c}" for c in dict.fromkeys(codes.values())),
        *CATALOGUE,
    )


def exchange_cells(
    status: int,
    *,
    error_code: str | None = None,
    raw: RawQuery | None = None,
    query: UsageQuery | None = None,
) -> tuple[str, ...]:
    """The cells one exchange exercised.

    ``raw`` is the request's parameters (``None`` when their reading is open,
    e.g. a repeated ``tz``); ``query`` the valid query they resolve to, if any.
    """
    found = [f"status:{status}"]
    if error_code:
        found.append(f"error:{error_code}")
    if raw is not None:
        found += [
            f"param:{name}:{'default' if getattr(raw, name) is None else 'present'}"
            for name in PARAMETERS
        ]
    if query is not None:
        found += query_cells(query)
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def query_cells(query: UsageQuery) -> tuple[str, ...]:
    """The cells of a valid query (those :func:`exchange_cells` adds for ``query``)."""
    timeline = query.timeline
    start, end = query.start // US, query.end // US
    changes = timeline.transition_lists(start, end - 1)
    span = (query.end - query.start) // US
    # A never-seen query is classified as it is answered, so what its shape shares with
    # other queries is worked out once per shape.
    shape = _shape_cells(
        query.granularity,
        query.group_by,
        query.limit,
        _truncated(query, span, len(changes[0])),
        _RANGE_NAMES[bisect.bisect_left(_RANGE_MOST, span)],
    )
    return shape + zone_cells(timeline, start, end, changes)


#: The shortest bucket of each granularity where the offset does not change (s).
_SHORTEST = {Granularity.HOUR: 3600, Granularity.DAY: 86_400, Granularity.MONTH: 28 * 86_400}


def _truncated(query: UsageQuery, span: int, changes: int) -> bool:
    """Whether ``limit`` cut the query's buckets (its grid ends before ``end``)."""
    # A bucket boundary is a local mark (at most span // shortest + 1 of them in each
    # stretch of constant offset) or one of the ``changes`` of offset (the count may
    # miss one in the range's last second): a range with room to spare needs no grid.
    if span // _SHORTEST[query.granularity] + 2 * changes + 5 <= query.limit:
        return False
    grid = bucket_grid(query.timeline, query.granularity, query.start, query.end, query.limit)
    return int(grid.edges[-1]) < query.end


@functools.lru_cache(maxsize=1024)
def _shape_cells(
    granularity: Granularity,
    group_by: tuple[Dimension, ...],
    limit: int,
    truncated: bool,
    span: str,
) -> tuple[str, ...]:
    found = [f"granularity:{granularity.value}", f"group_by:{_combination(group_by)}"]
    if len(group_by) > 1:
        found.append(f"group_by_order:{','.join(d.value for d in group_by)}")
    if limit in (MIN_LIMIT, MAX_LIMIT):
        found.append(f"limit:{limit}")
    if truncated:
        found.append("limit:truncated")
    found.append(f"range:{span}")
    return tuple(found)
