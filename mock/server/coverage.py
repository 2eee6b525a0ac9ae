"""The mock's coverage ledger: which states of the endpoint the traffic it served exercised.

:class:`SharedLedger.record_answer` classifies every answer of the operation
(:mod:`.recording` watches the answers) with the core's ledger (the same cells ``usagekit check``,
``proxy`` and ``--replay`` count): the status, an error's ``code``, the
parameters present or defaulted (from the query string), and -- for a 200 --
the query validation resolved (left in the scope under ``RESOLVED``).

It runs on every request, so it reads nothing twice: the parameters written
come from the front cache (``SENT`` in the scope; parsed here only for a
request that did not reach it), the cells of a status, code and parameters are
memoised, and those of a query are the core's (memoised there too). A 200
is not even looked up then: the front cache hands every repeat the same
``Resolved``, so a repeat adds one to that answer's tally, and the tallies
become cells when the ledger is read or written (:meth:`SharedLedger.settle`;
at most :data:`MAX_WAITING` distinct answers wait, past that one is counted at
once). An answer's first time is counted at once, so a read or a flush has
only repeats to add up, never a backlog of new queries to classify.

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
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from usagekit.mock.core.coverage import PARAMETERS, catalogue, exchange_cells, query_cells
from usagekit.mock.core.ledger import Ledger
from usagekit.mock.core.query import RawQuery, UsageQuery
from usagekit.mock.spec import error_codes

from .problems import JSON, ShapedRoute
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
#: Distinct answers (front-cache entries) counted later, when the ledger is read.
MAX_WAITING = 4096


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
        # 200s answered again since last counted: id(resolved) -> [resolved, sent, repeats].
        # A repeat adds one here; its cells are looked up and counted when anyone reads.
        self._answers: dict[int, list[Any]] = {}

    def record_answer(self, scope: Scope, status: int, error_body: bytes) -> None:
        """Count the cells of the answer ``status`` (``error_body``: its body, if >= 400)."""
        extensions = scope.get("extensions", {})
        sent = extensions.get(SENT)
        if sent is None:
            sent = _sent(scope["query_string"])
        resolved = extensions.get(RESOLVED)
        if status == 200 and isinstance(resolved, Resolved):
            self._answered(sent, resolved)
        else:
            code = _code(error_body) if status >= 400 else None
            self.record(_cells(status, code, sent))

    def _answered(self, sent: frozenset[str], resolved: Resolved) -> None:
        # The front cache hands out the same Resolved (and sent) for every repeat.
        waiting = self._answers.get(id(resolved))
        if waiting is not None and waiting[1] is sent:
            waiting[2] += 1
            self._schedule()
            return
        # A first answer is counted at once: its bucket grid is still in the core's
        # cache then, and a read or a flush never finds a backlog of new queries to
        # classify (under never-seen traffic that stalled a worker for tens of ms at
        # every flush, behind which every request it held waited).
        self.record(_answered(sent, resolved.query))
        if waiting is None and len(self._answers) < MAX_WAITING:
            self._answers[id(resolved)] = [resolved, sent, 0]

    def record(self, cells: Iterable[str], *more: Iterable[str]) -> None:
        self.ledger.record(cells, *more)
        self._schedule()

    def _schedule(self) -> None:
        if self.directory is not None and not self._scheduled:
            # The first change after a write schedules the next one.
            self._scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def settle(self) -> Ledger:
        """The ledger, with every answer recorded so far counted in it."""
        answers, self._answers = self._answers, {}
        for resolved, sent, times in answers.values():
            if not times:  # counted when first answered, not repeated since
                continue
            cells = Counter(_answered(sent, resolved.query))
            self.ledger.add({cell: n * times for cell, n in cells.items()}, times)
        return self.ledger

    def flush(self) -> None:
        """Write this worker's counts to its file (whole, or not at all)."""
        self._scheduled = False
        if self.directory is None:
            return
        ledger = self.settle()
        state = {"exchanges": ledger.exchanges, "cells": ledger.counts()}
        path = self._own()
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(state, separators=(",", ":")), encoding="utf-8")
        os.replace(partial, path)

    def total(self) -> tuple[Ledger, int]:
        """The sum of every worker's counts (this one's live), and how many workers counted."""
        ledger = self.settle()
        if self.directory is None:
            return ledger, 1 if ledger.exchanges else 0
        total = Ledger(ledger.known)
        total.add(ledger.counts(), ledger.exchanges)
        workers = 1 if ledger.exchanges else 0
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

    return [ShapedRoute("/coverage", coverage, methods=["GET"])]
