"""The coverage ledger of the kit's traffic: the core's ledger, read from an exchange's view."""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from usagekit.mock.core.coverage import PARAMETERS, catalogue, exchange_cells
from usagekit.mock.core.ledger import Ledger, unmatched
from usagekit.mock.core.query import RawQuery, UsageQuery
from usagekit.mock.spec import error_codes

from .results import Summary
from .view import ExchangeView

__all__ = [
    "cells_of", "contract_ledger", "covered", "empty_coverage", "not_exercised", "typos",
]  # fmt: skip


def contract_ledger() -> Ledger:
    """An empty ledger that knows every cell of the contract."""
    return Ledger(catalogue(error_codes()))


def empty_coverage() -> dict[str, Any]:
    """The ledger of a run that exercised nothing (one that could not start): its shape."""
    return contract_ledger().to_dict()


def typos(patterns: Iterable[str]) -> str | None:
    """Why ``--min-coverage`` cannot be judged -- patterns that name no cell -- or ``None``."""
    wrong = _unnamed(patterns, contract_ledger().known)
    if not wrong:
        return None
    said = "; ".join(
        f"--min-coverage {pattern} names no cell"
        + (f" (did you mean {' or '.join(close)}?)" if close else "")
        for pattern, close in wrong.items()
    )
    return f"{said}; the ledger counts GETs of the endpoint, its cells are listed in a report"


def cells_of(view: ExchangeView) -> tuple[str, ...] | None:
    """The cells an exchange of the endpoint exercised; ``None`` for any other request."""
    if not view.endpoint:
        return None
    status = view.exchange.status
    resolved = view.resolved if status == 200 else None
    raw = view.raw
    if raw is None:
        # A reading the contract leaves open (``tz=a&tz=b``, ``tz=null``): which parameters
        # it wrote is a fact all the same, counted as the mock counts it.
        names = {name for name, _ in view.exchange.params}
        raw = RawQuery(**{name: "" for name in PARAMETERS if name in names})
    return exchange_cells(
        status,
        error_code=view.error.code if view.error is not None else None,
        raw=raw,
        query=resolved if isinstance(resolved, UsageQuery) else None,
    )


def not_exercised(coverage: Mapping[str, Any] | None, patterns: Iterable[str]) -> list[str]:
    """The cells ``--min-coverage`` names (``tz:*`` patterns too) that a run never exercised."""
    cells = coverage["cells"] if coverage is not None else {}
    return unmatched(patterns, cells, cells)


def covered(summary: Summary, patterns: Iterable[str]) -> Summary:
    """``summary`` with the ``--min-coverage`` cells its run never exercised, which every
    report then names (a run that conforms but missed one exits 1: its reports say why)."""
    missing = not_exercised(summary.coverage, patterns)
    return dataclasses.replace(summary, uncovered=tuple(missing)) if missing else summary


def _unnamed(patterns: Iterable[str], known: Iterable[str]) -> dict[str, list[str]]:
    """The patterns that name no cell of ``known``, each with what it may have meant."""
    cells = list(dict.fromkeys(known))
    families = list(dict.fromkeys(f"{c.partition(':')[0]}:*" for c in cells))
    found = {}
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(cell, pattern) for cell in cells):
            found[pattern] = difflib.get_close_matches(pattern, cells + families, 3, 0.6)
    return found
