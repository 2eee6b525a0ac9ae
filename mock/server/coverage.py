"""The mock's coverage ledger: which states of the endpoint the traffic it served exercised.

:class:`SharedLedger.record_answer` classifies every answer of the operation
(:mod:`.recording` watches the answers) with the core's ledger (the same cells ``usagekit check``,
``proxy`` and ``--replay`` count): the status, an error's ``code``, the
parameters present or defaulted (from the query string), and -- for a 200 --
the query validation resolved (left in the scope under ``RESOLVED``).

It runs on every request, so it reads nothing twice: the parameters written
come from the front cache (``SENT`` in the scope; parsed here only for a
request that did not reach it), the cells of a status, code and parameters are
memoised, and those of a query are the core's (memoised there too), so that a
repeated request costs a few lookups and one update of the counts.

With ``--workers N`` each worker counts what it answered; :class:`SharedLedger`
writes its counts to its own file in the directory the workers share
(``ServerConfig.control_dir``), at most :data:`FLUSH_SECONDS` after they
changed, and ``/_usagekit/coverage`` answers with the sum of every worker's
file and its own live counts -- the way the journal shares its entries.
``GET /_usagekit/coverage`` shows it, so a frontend team sees which states its
UI never asked for.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from usagekit.mock.core.coverage import (
    PARAMETERS,
    Ledger,
    catalogue,
    exchange_cells,
    query_cells,
)
from usagekit.mock.core.query import RawQuery, UsageQuery
from usagekit.mock.spec import error_codes

from .problems import JSON
from .routes import SENT, query_lists
from .validation import RESOLVED, Resolved

__all__ = [
    "FLUSH_SECONDS",
    "SharedLedger",
    "coverage_ledger",
    "coverage_routes",
]

#: The oldest a worker's counts get before its file in the shared directory shows them.
FLUSH_SECONDS = 0.5


def coverage_ledger() -> Ledger:
    return Ledger(catalogue(error_codes()))


class SharedLedger:
    """This worker's :class:`Ledger`, shared with the other workers through ``directory``.

    Without a directory it is the ledger alone. The file is named by the
    process id when it is written, so a ledger built before the workers fork
    (see ``prefork.py``) is still one file per worker.
    """

    def __init__(self, ledger: Ledger, directory: str | None = None) -> None:
        self.ledger = ledger
        self.directory = Path(directory) if directory else None
        self._scheduled = False

    def record_answer(self, scope: Scope, status: int, error_body: bytes) -> None:
        """Count the cells of the answer ``status`` (``error_body``: its body, if >= 400)."""
        extensions = scope.get("extensions", {})
        sent = extensions.get(SENT)
        if sent is None:
            sent = _sent(scope["query_string"])
        code = _code(error_body) if status >= 400 else None
        resolved = extensions.get(RESOLVED)
        if status == 200 and isinstance(resolved, Resolved):
            self.record(_answered(sent, resolved.query))
        else:
            self.record(_cells(status, code, sent))

    def record(self, cells: Iterable[str], *more: Iterable[str]) -> None:
        self.ledger.record(cells, *more)
        if self.directory is not None and not self._scheduled:
            # The first change after a write schedules the next one.
            self._scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write this worker's counts to its file (whole, or not at all)."""
        self._scheduled = False
        if self.directory is None:
            return
        state = {"exchanges": self.ledger.exchanges, "cells": self.ledger.counts()}
        path = self._own()
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(state, separators=(",", ":")), encoding="utf-8")
        os.replace(partial, path)

    def total(self) -> tuple[Ledger, int]:
        """The sum of every worker's counts (this one's live), and how many workers counted."""
        if self.directory is None:
            return self.ledger, 1 if self.ledger.exchanges else 0
        total = Ledger(self.ledger.known)
        total.add(self.ledger.counts(), self.ledger.exchanges)
        workers = 1 if self.ledger.exchanges else 0
        own = self._own()
        for path in sorted(self.directory.glob("coverage-*.json")):
            state = _read(path) if path != own else None
            if state is not None and state[1]:
                total.add(*state)
                workers += 1
        return total, workers

    def _own(self) -> Path:
        assert self.directory is not None
        return self.directory / f"coverage-{os.getpid()}.json"


def _read(path: Path) -> tuple[dict[str, int], int] | None:
    """A worker's counts from its file; ``None`` when there is nothing whole to read."""
    try:
        state: Any = json.loads(path.read_text(encoding="utf-8"))
        cells, exchanges = state["cells"], state["exchanges"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(cells, dict) or type(exchanges) is not int:
        return None
    return {c: n for c, n in cells.items() if type(n) is int}, exchanges


def _sent(query_string: bytes) -> frozenset[str]:
    """Which parameters the request wrote (their values do not matter to the ledger)."""
    return frozenset(query_lists(query_string).keys() & PARAMETERS)


@functools.lru_cache(maxsize=1024)
def _cells(status: int, code: str | None, sent: frozenset[str]) -> tuple[str, ...]:
    """The cells of an answer's status and code and of the parameters written."""
    raw = RawQuery(**{name: "" for name in PARAMETERS if name in sent})
    return exchange_cells(status, error_code=code, raw=raw)


@functools.lru_cache(maxsize=4096)
def _answered(sent: frozenset[str], query: UsageQuery) -> tuple[str, ...]:
    """The cells of a 200 to ``query`` whose request wrote ``sent``."""
    return _cells(200, None, sent) + query_cells(query)


def _code(body: bytes) -> str | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


def coverage_routes(ledger: SharedLedger) -> list[Route]:
    """``GET /coverage`` under the admin prefix: every worker's counts summed, as JSON."""

    async def coverage(_request: Request) -> Response:
        total, workers = ledger.total()
        body = json.dumps({**total.to_dict(), "workers": workers}, separators=(",", ":"))
        return Response(body, media_type=JSON, headers={"cache-control": "no-store"})

    return [Route("/coverage", coverage, methods=["GET"])]
