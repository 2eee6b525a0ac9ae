"""The coverage ledger's counts: how often each cell was exercised, safe to share
between threads, bounded against cells a server under test makes up.

What an exchange exercised is :mod:`.coverage`'s to say; this module only counts
the names it is given and answers which named cells were never counted.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .coverage import CATALOGUE

__all__ = ["MAX_UNKNOWN", "OTHER", "Ledger", "unmatched"]


#: Cells outside a ledger's catalogue (a status or an error code the contract does not
#: name, from a server under test) kept by name; past them, and for any name that is not
#: a short plain token, the family's ``OTHER`` cell counts: a backend that puts a request
#: id in its codes cannot grow the ledger, or the reports written from it, without limit.
MAX_UNKNOWN = 32
OTHER = "(other)"
_PLAIN = re.compile(r"[a-z_]{1,20}:[A-Za-z0-9_.-]{1,64}")


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
