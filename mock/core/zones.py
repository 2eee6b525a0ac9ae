"""IANA zones from the pinned ``tzdata`` package, and their UTC-offset timelines.

Every zone is read from the ``tzdata`` package, never from the machine's
``/usr/share/zoneinfo``: the zone rules are part of every answer, and pinning
the package is what makes two machines bucket the same instants the same way.

Bucketing needs more than ``zoneinfo`` offers publicly. ``ZoneInfo`` answers
"what is the offset at this instant", but a bucket boundary is either a local
calendar mark or a *transition*, and ``zoneinfo`` has no public way to list
transitions. A :class:`Timeline` rebuilds that list from the same data:

* the explicit transitions of the TZif file, read with ``zoneinfo._common`` --
  the very reader ``zoneinfo`` uses, so the data cannot differ;
* after the last explicit transition, the transitions of the file's POSIX
  footer rule (``EST5EDT,M3.2.0,M11.1.0``; the ``tzdata`` files are "slim",
  so for most zones every transition after 2007 comes from there). They are
  found by asking ``ZoneInfo`` itself for offsets and bisecting to the second.
  A footer rule repeats every 400 years (146,097 days, a whole number of
  weeks), so any year up to 9999 costs one probe of a year within reach of
  ``datetime``.

The test-suite checks every zone of the database against ``ZoneInfo`` around
every transition.

Units: instants are integer seconds since the Unix epoch (every transition of
the database falls on a whole second); offsets are integer seconds east of UTC.
"""

from __future__ import annotations

import bisect
import functools
import importlib.resources
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import _common as _tzif  # the TZif reader behind zoneinfo

import numpy as np

from .errors import UnknownZoneError

__all__ = ["Timeline", "available_zones", "get_timeline", "get_zone", "same_zone", "zone_hint"]

_CYCLE_YEARS = 400
_CYCLE_SECONDS = 146_097 * 86_400


@functools.cache
def available_zones() -> frozenset[str]:
    """The zone names of the pinned IANA database (case-sensitive)."""
    text = (importlib.resources.files("tzdata") / "zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def zone_hint(name: str) -> str | None:
    """The zone ``name`` means when only its case is wrong (``europe/vienna``), if any."""
    return _zones_by_folded_name().get(name.casefold())


@functools.cache
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_zones()}


def _zone_file(name: str) -> importlib.resources.abc.Traversable:
    if name not in available_zones():
        raise UnknownZoneError(name)
    *folders, leaf = name.split("/")
    package = ".".join(["tzdata.zoneinfo", *folders])
    return importlib.resources.files(package) / leaf


def same_zone(name: str, other: str) -> bool:
    """Whether two names are one zone of the pinned database (a name and its links).

    The database writes a link (``US/Eastern``, ``Etc/UTC``) as a copy of its
    target's file, so two names are one zone exactly when their files are equal.
    An unknown name is the same zone as nothing but itself.
    """
    if name == other:
        return True
    known = available_zones()
    if name not in known or other not in known:
        return False
    return _zone_bytes(name) == _zone_bytes(other)


@functools.cache
def _zone_bytes(name: str) -> bytes:
    return _zone_file(name).read_bytes()


@functools.cache
def get_zone(name: str) -> zoneinfo.ZoneInfo:
    """The ``ZoneInfo`` of ``name``, read from the pinned ``tzdata`` package."""
    with _zone_file(name).open("rb") as fobj:
        return zoneinfo.ZoneInfo.from_file(fobj, key=name)


@functools.cache
def get_timeline(name: str) -> Timeline:
    """The offset timeline of ``name``; raises :class:`UnknownZoneError`."""
    with _zone_file(name).open("rb") as fobj:
        trans_idx, trans_utc, utcoff, _, _, _ = _tzif.load_data(fobj)
    zone = get_zone(name)
    initial = _probe(zone, int(trans_utc[0]) - 1) if trans_utc else _probe(zone, 0)
    instants: list[int] = []
    offsets: list[int] = []
    previous = initial
    for instant, index in zip(trans_utc, trans_idx, strict=True):
        offset = int(utcoff[index])
        # Keep only changes of offset: a change of abbreviation or of the DST
        # flag alone is not a bucket boundary.
        if offset != previous:
            instants.append(int(instant))
            offsets.append(offset)
            previous = offset
    return Timeline(
        name=name,
        zone=zone,
        initial=initial,
        explicit_instants=np.array(instants, dtype=np.int64),
        explicit_offsets=np.array(offsets, dtype=np.int64),
        footer_from=int(trans_utc[-1]) if trans_utc else None,
    )


def _probe(zone: zoneinfo.ZoneInfo, instant: int) -> int:
    """The zone's UTC offset at ``instant``, as ``ZoneInfo`` computes it."""
    offset = datetime.fromtimestamp(instant, tz=UTC).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has an offset
    return int(offset.total_seconds())


def _year_of(instant: int) -> int:
    """The UTC year of ``instant`` (s), proleptic Gregorian (H. Hinnant's days-to-civil)."""
    z = instant // 86_400 + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    return yoe + era * 400 + (doy >= 306)  # the computed year starts in March


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Timeline:
    """A zone's UTC offset as a step function of the instant.

    ``explicit_instants[i]`` is an instant at which the offset changes to
    ``explicit_offsets[i]``; before the first one the offset is ``initial``.
    After ``footer_from`` (the last transition of the file), the zone's POSIX
    footer rule adds the transitions of every later year.
    """

    name: str
    zone: zoneinfo.ZoneInfo
    initial: int
    explicit_instants: np.ndarray
    explicit_offsets: np.ndarray
    footer_from: int | None
    _footer_years: dict[int, tuple[tuple[int, int], ...]] = field(
        default_factory=dict, init=False, repr=False
    )
    #: The explicit transitions as Python ints: a scalar lookup is a ``bisect``, several
    #: times cheaper than a numpy call (a query makes several).
    _instants: list[int] = field(default_factory=list, init=False, repr=False)
    _offsets: list[int] = field(default_factory=list, init=False, repr=False)
    #: By year: the footer's transitions after ``footer_from`` in that year and the one
    #: before, as two lists (what :meth:`offset_at` searches past ``footer_from``).
    _footer_near: dict[int, tuple[list[int], list[int]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._instants.extend(self.explicit_instants.tolist())
        self._offsets.extend(self.explicit_offsets.tolist())

    def offset_at(self, instant: int) -> int:
        """The UTC offset in force at ``instant`` (seconds)."""
        index = bisect.bisect_right(self._instants, instant)
        latest = self._offsets[index - 1] if index else self.initial
        if self.footer_from is not None and instant > self.footer_from:
            year = _year_of(instant)
            near = self._footer_near.get(year)
            if near is None:
                near = self._footer_near[year] = self._near(year)
            found = bisect.bisect_right(near[0], instant)
            if found:
                latest = near[1][found - 1]
        return latest

    def _near(self, year: int) -> tuple[list[int], list[int]]:
        assert self.footer_from is not None
        after = self.footer_from
        pairs = [
            (t, offset)
            for candidate in (year - 1, year)
            for t, offset in self._footer_transitions(candidate)
            if t > after
        ]
        return [t for t, _ in pairs], [offset for _, offset in pairs]

    def transitions(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """The transitions ``t`` with ``lo < t <= hi``: their instants and new offsets."""
        instants, offsets = self.transition_lists(lo, hi)
        return np.array(instants, dtype=np.int64), np.array(offsets, dtype=np.int64)

    def transition_lists(self, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """:meth:`transitions` as lists of ints (what the coverage ledger reads)."""
        # On the lists, as offset_at does: coverage asks for every answer's range.
        start = bisect.bisect_right(self._instants, lo)
        stop = bisect.bisect_right(self._instants, hi)
        instants = self._instants[start:stop]
        offsets = self._offsets[start:stop]
        if self.footer_from is not None and hi > self.footer_from:
            for year in range(_year_of(max(lo, self.footer_from)), _year_of(hi) + 1):
                for instant, offset in self._footer_transitions(year):
                    if max(lo, self.footer_from) < instant <= hi:
                        instants.append(instant)
                        offsets.append(offset)
        return instants, offsets

    def offsets_at(self, instants: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`offset_at` for an ascending array of instants."""
        if instants.size == 0:
            return np.empty(0, dtype=np.int64)
        first = int(instants[0])
        trans, offs = self.transitions(first, int(instants[-1]))
        table = np.concatenate([np.array([self.offset_at(first)], dtype=np.int64), offs])
        return table[np.searchsorted(trans, instants, side="right")]

    def _footer_transitions(self, year: int) -> tuple[tuple[int, int], ...]:
        """The footer rule's transitions in ``year``: ``(instant, new offset)`` pairs."""
        found = self._footer_years.get(year)
        if found is None:
            found = self._footer_years[year] = self._shifted_footer(year)
        return found

    def _shifted_footer(self, year: int) -> tuple[tuple[int, int], ...]:
        assert self.footer_from is not None
        # The year of the last explicit transition mixes explicit and footer
        # changes, so the 400-year cycle that later years repeat starts after it.
        first = _year_of(self.footer_from) + 1
        cycles = max(0, (year - first) // _CYCLE_YEARS)
        reference = year - cycles * _CYCLE_YEARS
        found = self._footer_years.get(reference)
        if found is None:
            found = self._footer_years[reference] = self._probe_year(reference)
        shift = cycles * _CYCLE_SECONDS
        return tuple((instant + shift, offset) for instant, offset in found)

    def _probe_year(self, year: int) -> tuple[tuple[int, int], ...]:
        """Offset changes within ``year`` as ``ZoneInfo`` reports them.

        Footer rules change the offset at most twice a year and months apart,
        so probing the first of every month and bisecting finds them all.
        """
        months = np.arange(f"{year:04d}-01", f"{year + 1:04d}-02", dtype="M8[M]")
        probes = months.astype("M8[s]").astype(np.int64).tolist()
        offsets = [_probe(self.zone, t) for t in probes]
        found: list[tuple[int, int]] = []
        for i in range(len(probes) - 1):
            lo, hi = probes[i], probes[i + 1]
            if offsets[i] == offsets[i + 1]:
                continue
            # invariant: offset(lo) == offsets[i] != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _probe(self.zone, mid) == offsets[i]:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, _probe(self.zone, hi)))
        return tuple(found)
