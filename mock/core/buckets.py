"""Time buckets in the local calendar of an IANA zone.

A bucket is a maximal run of consecutive instants that share a key: for
``hour`` the local date, local hour and UTC offset; for ``day`` the local
date; for ``month`` the local year and month. A bucket boundary is therefore
either

* a local calendar *mark* (the top of a local hour, local midnight, the first
  of a local month) inside a stretch of constant offset -- the key always
  changes there; or
* a *transition*, where it is a boundary only if the key changes across it
  (always for ``hour``, since the offset is part of the key; for ``day`` only
  if the local date before and after differ, and so on).

That one rule yields every odd case: a fall-back hour twice, a skipped hour or
date (Pacific/Apia 2011-12-30) not at all, a day whose midnight was skipped
(America/Sao_Paulo 2018-11-04) starting at the transition, 23- and 25-hour
days, and the :30/:45 offsets of Kolkata, Kathmandu, Lord Howe and Chatham.

The work is bounded by ``limit``: boundaries are read from the bucket that
holds ``start`` onwards until ``limit`` buckets are known, whatever the length
of the range. They come from fixed pages of a zone's calendar (about a year
of hours or days, 34 years of months), each derived once and kept in a
bounded cache, so a query reads one or two pages. Pure functions, no I/O.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from .instants import US, format_instants, instants_ascii
from .zones import Timeline

__all__ = [
    "LABEL_WIDTH",
    "OPENER_HEAD",
    "OPENER_TAIL",
    "SLOT_SECONDS",
    "BucketGrid",
    "Granularity",
    "bucket_grid",
]

#: The width of a ``ts`` label in :attr:`BucketGrid.openers`: ``YYYY-MM-DDTHH:MM:SS+HH:MM``.
LABEL_WIDTH = 25
#: What a bucket's ``ts`` label is framed in, in the body: the encoder's openers
#: (``]},`` closes the bucket before), written with the labels once per page.
OPENER_HEAD, OPENER_TAIL = b']},{"ts":"', b'","values":['
#: The width (s) of the rollups' slots (:mod:`.rollup`): every UTC offset and
#: transition in use since the 1970s lies on this grid, so a modern grid's edges do.
SLOT_SECONDS = 15 * 60


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketGrid:
    """The buckets of a query.

    ``edges`` (µs) has one more entry than there are buckets: bucket ``i``
    counts instants in ``[edges[i], edges[i + 1])``. ``edges[0]`` is the first
    bucket's start (it may lie before the query's start); the last edge is the
    query's end or, when ``limit`` cut the list, the start of the first bucket
    left out. ``offsets`` holds the UTC offset (s) at each bucket's start;
    ``openers`` each bucket's ``ts`` as ASCII bytes framed in :data:`OPENER_HEAD` and
    :data:`OPENER_TAIL`, a row each, NUL-padded (for the encoder; :meth:`labels`
    writes the same labels on their own). ``on_slots`` is true when every inner
    edge is known to lie on the grid of :data:`SLOT_SECONDS` (false: not known).
    """

    edges: np.ndarray
    offsets: np.ndarray
    openers: np.ndarray  # uint8, shape (buckets, width >= 10 + LABEL_WIDTH + 12)
    on_slots: bool = False

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def starts(self) -> np.ndarray:
        """Bucket starts in whole seconds."""
        return self.edges[:-1] // US

    def labels(self) -> list[str]:
        """Each bucket's ``ts``: its start written in the zone's offset there."""
        return format_instants(self.starts, self.offsets)


@functools.lru_cache(maxsize=64)
def bucket_grid(
    timeline: Timeline, granularity: Granularity, start: int, end: int, limit: int
) -> BucketGrid:
    """The first ``limit`` buckets of ``[start, end)`` (µs) in ``timeline``'s calendar.

    The last grids are kept (read-only): the server asks twice for a query's grid, to
    answer it and to count its coverage.
    """
    if not start < end or limit < 1:
        raise ValueError("bucket_grid needs start < end and limit >= 1")
    # The helpers compare with ``is``; a plain "hour" must not fall through to days.
    if type(granularity) is not Granularity:
        granularity = Granularity(granularity)
    first_second = start // US
    last_second = (end - 1) // US  # the bucket of the last instant before end
    page, index, found = _bucket_start(timeline, granularity, first_second)
    # bounds[0] starts the first bucket; the later ones start the next buckets.
    bounds, offsets, openers, on_slots = _boundaries_from(
        timeline, granularity, (page, found), index, last_second, limit
    )
    buckets = min(int(bounds.searchsorted(last_second, side="right")), limit)
    if len(bounds) > buckets:  # the next bucket's start, or end if that comes first
        edges = bounds[: buckets + 1] * US
        edges[buckets] = min(end, int(edges[buckets]))
    else:
        edges = np.empty(buckets + 1, dtype=np.int64)
        edges[:buckets] = bounds[:buckets] * US
        edges[buckets] = end
    grid = BucketGrid(
        edges=edges, offsets=offsets[:buckets], openers=openers[:buckets], on_slots=on_slots
    )
    edges.flags.writeable = False  # the rest are views of read-only pages
    return grid


#: Seconds of boundaries one cached page holds, by granularity: about a year of
#: hours or days (some 9,000 hours), about 34 years of months.
_PAGE = {Granularity.HOUR: 1 << 25, Granularity.DAY: 1 << 25, Granularity.MONTH: 1 << 30}


@functools.lru_cache(maxsize=128)
def _page(
    timeline: Timeline, granularity: Granularity, page: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The boundaries ``b`` (s) with ``page * size <= b < (page + 1) * size``, the
    UTC offset at each, and whether all lie on the slot grid. A zone's calendar never
    changes, so every query whose buckets lie in the same pages reads the same arrays
    instead of deriving them again (and the rollups need not check its edges)."""
    size = _PAGE[granularity]
    found = _boundaries(timeline, granularity, page * size - 1, (page + 1) * size)
    offsets = timeline.offsets_at(found)
    return _read_only(found), _read_only(offsets), not (found % SLOT_SECONDS).any()


@functools.lru_cache(maxsize=32)
def _page_openers(timeline: Timeline, granularity: Granularity, page: int) -> np.ndarray:
    """The opener of each of a page's boundaries, its ``ts`` label framed (rows of
    ``uint8``, NUL-padded), written once per page like the page itself (about 420 kB
    for a page of hours)."""
    found, offsets, _ = _page(timeline, granularity, page)
    written = instants_ascii(found, offsets)
    head, tail = len(OPENER_HEAD), len(OPENER_TAIL)
    rows = np.zeros((len(found), head + max(LABEL_WIDTH, written.shape[1]) + tail), np.uint8)
    rows[:, :head] = np.frombuffer(OPENER_HEAD, dtype=np.uint8)
    rows[:, head : head + written.shape[1]] = written
    rows[:, -tail:] = np.frombuffer(OPENER_TAIL, dtype=np.uint8)
    return _read_only(rows)


def _bucket_start(
    timeline: Timeline, granularity: Granularity, second: int
) -> tuple[int, int, tuple[np.ndarray, np.ndarray, bool]]:
    """Where the start of the bucket that holds ``second`` is (the last boundary at or
    before it): its page, its index there, and the page's :func:`_page`."""
    page = second // _PAGE[granularity]
    while True:
        found = _page(timeline, granularity, page)
        index = int(found[0].searchsorted(second, side="right"))
        if index:
            return page, index - 1, found
        page -= 1


def _boundaries_from(
    timeline: Timeline,
    granularity: Granularity,
    first: tuple[int, tuple[np.ndarray, np.ndarray, bool]],
    index: int,
    last: int,
    count: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """The boundaries from the ``index``-th of a page on (``first``: the page and its
    :func:`_page`), at least ``count`` after it (or all of them up to a page past
    ``last``), with the offset and opener row of each, and whether all of those pages'
    boundaries lie on the slot grid."""
    size = _PAGE[granularity]
    page, (found, offsets, on_slots) = first
    parts = [(found[index:], offsets[index:], _page_openers(timeline, granularity, page)[index:])]
    total = len(found) - index - 1
    while total < count and (page + 1) * size <= last:
        page += 1
        found, offsets, on_page = _page(timeline, granularity, page)
        parts.append((found, offsets, _page_openers(timeline, granularity, page)))
        total += len(found)
        on_slots = on_slots and on_page
    if len(parts) == 1:
        return (*parts[0], on_slots)
    # No more than the grid can use: count buckets and the start of the next.
    keep, wanted = count + 1, []
    for found, offsets, rows in parts:
        if keep > 0:
            wanted.append((found[:keep], offsets[:keep], rows[:keep]))
            keep -= len(found)
    width = max(openers.shape[1] for _, _, openers in wanted)
    return (
        _read_only(np.concatenate([found for found, _, _ in wanted])),
        _read_only(np.concatenate([offsets for _, offsets, _ in wanted])),
        _read_only(
            np.concatenate(
                [
                    rows
                    if rows.shape[1] == width
                    else np.pad(rows, ((0, 0), (0, width - rows.shape[1])))
                    for _, _, rows in wanted
                ]
            )
        ),
        on_slots,
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only: what is cached is shared, and so are its views."""
    array.flags.writeable = False
    return array


def _boundaries(timeline: Timeline, granularity: Granularity, lo: int, hi: int) -> np.ndarray:
    """Every boundary ``b`` with ``lo < b < hi``, ascending (seconds)."""
    instants, offsets = timeline.transitions(lo, hi - 1)
    seg_starts = np.concatenate([np.array([lo], dtype=np.int64), instants])
    seg_offsets = np.concatenate([np.array([timeline.offset_at(lo)], dtype=np.int64), offsets])
    seg_ends = np.append(instants, np.int64(hi))
    pieces: list[np.ndarray] = []
    for i in range(len(seg_starts)):
        a, b, offset = int(seg_starts[i]), int(seg_ends[i]), int(seg_offsets[i])
        if i and _key_changes(granularity, a, int(seg_offsets[i - 1]), offset):
            pieces.append(np.array([a], dtype=np.int64))
        pieces.append(_marks(granularity, a, b, offset))
    return np.concatenate(pieces)


def _key_changes(granularity: Granularity, at: int, before: int, after: int) -> bool:
    """Whether the bucket key differs just before and at a transition."""
    if granularity is Granularity.HOUR:
        return before != after  # the offset is part of the key
    # Local clock readings in whole seconds; "just before" is one tick earlier.
    earlier, later = at + before - 1, at + after
    if granularity is Granularity.DAY:
        return earlier // 86_400 != later // 86_400
    month = np.array([earlier, later], dtype="M8[s]").astype("M8[M]")
    return bool(month[0] != month[1])


def _marks(granularity: Granularity, a: int, b: int, offset: int) -> np.ndarray:
    """Local calendar marks ``m`` with ``a < m < b`` under a constant ``offset``."""
    if granularity is Granularity.MONTH:
        month = np.datetime64(a + offset, "s").astype("M8[M]") + 1
        last = np.datetime64(b - 1 + offset, "s").astype("M8[M]")
        if last < month:
            return np.empty(0, dtype=np.int64)
        months = np.arange(month, last + 1, dtype="M8[M]")
        return months.astype("M8[s]").astype(np.int64) - offset
    period = 3600 if granularity is Granularity.HOUR else 86_400
    first = a + period - (a + offset) % period
    return np.arange(first, b, period, dtype=np.int64)
