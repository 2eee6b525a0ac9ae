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
describe the range itself. The same ledger serves the kit (``check``, ``proxy``,
``--replay``) and the mock server, so it lives in the core: pure classification
plus a thread-safe counter, stdlib only.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import itertools
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .buckets import bucket_grid
from .instants import US
from .query import MAX_LIMIT, MIN_LIMIT, Dimension, Granularity, RawQuery, UsageQuery
from .zone_classes import zone_cells

__all__ = [
    "CATALOGUE",
    "MAX_UNKNOWN",
    "OTHER",
    "PARAMETERS",
    "Ledger",
    "catalogue",
    "exchange_cells",
    "query_cells",
    "unmatched",
]

PARAMETERS = ("start", "end", "granularity", "group_by", "tz", "limit")
_ORDER = tuple(Dimension)
_RANGES = (("<=1h", 3600), ("<=1d", 86_400), ("<=31d", 31 * 86_400), ("<=366d", 366 * 86_400))
_RANGE_MOST = [most for _, most in _RANGES]
_RANGE_NAMES = [name for name, _ in _RANGES] + [">366d"]
_ZONES = ("utc", "fixed", "dst-north", "dst-south", "fractional", "offset-change")


#: Cells outside a ledger's catalogue (a status or an error code the contract does not
#: name, from a server under test) kept by name; past them, and for any name that is not
#: a short plain token, the family's ``OTHER`` cell counts: a backend that puts a request
#: id in its codes cannot grow the ledger, or the reports written from it, without limit.
MAX_UNKNOWN = 32
OTHER = "(other)"
_PLAIN = re.compile(r"[a-z_]{1,20}:[A-Za-z0-9_.-]{1,64}")


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


def unmatched(
    patterns: Iterable[str], counts: Mapping[str, int], known: Iterable[str]
) -> list[str]:
    """The cells named by ``patterns`` (shell-style, ``tz:*``) that were never exercised.

    A pattern that names no cell at all is itself reported, so that a typo in
    ``--min-coverage`` fails the run instead of passing it.
    """
    universe = sorted({*known, *counts})
    missing = []
    for pattern in patterns:
        named = [cell for cell in universe if fnmatch.fnmatchcase(cell, pattern)]
        if not named:
            missing.append(pattern)
        missing += [cell for cell in named if not counts.get(cell)]
    return list(dict.fromkeys(missing))


class Ledger:
    """Counts of exercised cells; safe to share between threads."""

    def __init__(self, known: Iterable[str] = CATALOGUE) -> None:
        self.known = tuple(dict.fromkeys(known))
        self._names = set(self.known)  # the catalogue, and the cells outside it kept by name
        self._unknown = 0
        self.exchanges = 0
        self._counts: Counter[str] = Counter()
        # Exchanges' cells as recorded, counted by their tuple -- one dict update per
        # exchange, where counting each cell was a dozen -- and spread when read (their
        # tuples are few: one per shape of query, not per query).
        self._groups: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()

    def record(self, cells: Iterable[str], *more: Iterable[str]) -> None:
        """Count one exchange that exercised ``cells`` (and the cells of ``more``)."""
        groups = self._groups
        with self._lock:
            self.exchanges += 1
            for group in (cells, *more):
                group = group if type(group) is tuple else tuple(group)
                times = groups.get(group)
                if times is None:  # a group never seen: its cells are checked once
                    group = self._bounded(group)
                    times = groups.get(group, 0)
                groups[group] = times + 1

    def add(self, counts: Mapping[str, int], exchanges: int) -> None:
        """Add another ledger's counts (another worker's, read from its file)."""
        with self._lock:
            self.exchanges += exchanges
            for cell, times in counts.items():
                self._counts[self._name(cell)] += times

    def _bounded(self, group: tuple[str, ...]) -> tuple[str, ...]:
        names = self._names
        if all(cell in names for cell in group):
            return group
        return tuple(self._name(cell) for cell in group)

    def _name(self, cell: str) -> str:
        """The name ``cell`` is counted under (see :data:`MAX_UNKNOWN`)."""
        if cell in self._names:
            return cell
        family = cell.partition(":")[0]
        if self._unknown < MAX_UNKNOWN and _PLAIN.fullmatch(cell):
            self._unknown += 1
            self._names.add(cell)
            return cell
        return f"{family}:{OTHER}" if _PLAIN.fullmatch(f"{family}:x") else f"cell:{OTHER}"

    def counts(self) -> dict[str, int]:
        with self._lock:
            groups, self._groups = self._groups, {}
            for group, times in groups.items():
                for cell in group:
                    self._counts[cell] += times
            return dict(self._counts)

    def to_dict(self) -> dict[str, Any]:
        """``{"exchanges": n, "cells": {cell: count}, "not_exercised": [...]}``, JSON-ready."""
        counts = self.counts()
        ordered = {cell: counts.get(cell, 0) for cell in self.known}
        ordered.update(sorted((c, n) for c, n in counts.items() if c not in ordered))
        return {
            "exchanges": self.exchanges,
            "exercised": sum(1 for n in ordered.values() if n),
            "cells": ordered,
            "not_exercised": [cell for cell, n in ordered.items() if not n],
        }
