"""The coverage ledger of the kit's traffic: the core's ledger, read from an exchange's view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from usagekit.mock.core.coverage import Ledger, catalogue, exchange_cells, unmatched
from usagekit.mock.core.query import UsageQuery
from usagekit.mock.spec import error_codes

from .view import ExchangeView

__all__ = ["cells_of", "contract_ledger", "not_exercised"]


def contract_ledger() -> Ledger:
    """An empty ledger that knows every cell of the contract."""
    return Ledger(catalogue(error_codes()))


def cells_of(view: ExchangeView) -> tuple[str, ...] | None:
    """The cells an exchange of the endpoint exercised; ``None`` for any other request."""
    if not view.endpoint:
        return None
    status = view.exchange.status
    resolved = view.resolved if status == 200 else None
    return exchange_cells(
        status,
        error_code=view.error.code if view.error is not None else None,
        raw=view.raw,
        query=resolved if isinstance(resolved, UsageQuery) else None,
    )


def not_exercised(coverage: Mapping[str, Any] | None, patterns: Iterable[str]) -> list[str]:
    """The cells ``--min-coverage`` names (``tz:*`` patterns too) that a run never exercised."""
    cells = coverage["cells"] if coverage is not None else {}
    return unmatched(patterns, cells, cells)
