"""The mock's coverage ledger: which states of the endpoint the traffic it served exercised.

:class:`CoverageMiddleware` sits in front of the operation and classifies
every answer with the core's ledger (the same cells ``usagekit check``,
``proxy`` and ``--replay`` count): the status, an error's ``code``, the
parameters present or defaulted (from the query string), and -- for a 200 --
the query validation resolved (left in the scope under ``RESOLVED``).

It runs on every request, so it reads nothing twice: the parameters written
come from the front cache (``SENT`` in the scope; parsed here only for a
request that did not reach it), the cells of a status, code and parameters are
memoised, and those of a query are the core's (memoised there too), so that a
repeated request costs a few lookups and one update of the counts.
``GET /_usagekit/coverage`` shows it, so a frontend team sees which states its
UI never asked for.
"""

from __future__ import annotations

import functools
import json
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from usagekit.mock.core.coverage import (
    PARAMETERS,
    Ledger,
    catalogue,
    exchange_cells,
    query_cells,
)
from usagekit.mock.core.query import RawQuery
from usagekit.mock.spec import error_codes

from .problems import JSON
from .routes import SENT, is_operation
from .validation import RESOLVED, Resolved

__all__ = ["CoverageMiddleware", "coverage_ledger", "coverage_routes"]

#: An error body is read for its ``code`` up to this size; the contract's are tiny.
_MAX_ERROR_BODY = 64 * 1024


def coverage_ledger() -> Ledger:
    return Ledger(catalogue(error_codes()))


class CoverageMiddleware:
    """Records the cells of every GET of the operation in ``ledger``."""

    def __init__(self, app: ASGIApp, *, ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_operation(scope) or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        # Shared by reference, so that what validation leaves inside reaches here.
        extensions = scope.setdefault("extensions", {})
        status = 0
        body: list[bytes] = []
        size = 0

        async def watch(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                chunk = message.get("body", b"")
                if size + len(chunk) <= _MAX_ERROR_BODY:
                    body.append(chunk)
                size += len(chunk)
            await send(message)

        await self.app(scope, receive, watch)
        sent = extensions.get(SENT)
        if sent is None:
            sent = _sent(scope["query_string"])
        code = _code(b"".join(body)) if status >= 400 else None
        resolved = extensions.get(RESOLVED)
        if status == 200 and isinstance(resolved, Resolved):
            self.ledger.record(_cells(status, code, sent), query_cells(resolved.query))
        else:
            self.ledger.record(_cells(status, code, sent))


def _sent(query_string: bytes) -> frozenset[str]:
    """Which parameters the request wrote (their values do not matter to the ledger)."""
    names = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    return frozenset(names.intersection(PARAMETERS))


@functools.lru_cache(maxsize=1024)
def _cells(status: int, code: str | None, sent: frozenset[str]) -> tuple[str, ...]:
    """The cells of an answer's status and code and of the parameters written."""
    raw = RawQuery(**{name: "" for name in PARAMETERS if name in sent})
    return exchange_cells(status, error_code=code, raw=raw)


def _code(body: bytes) -> str | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


def coverage_routes(ledger: Ledger) -> list[Route]:
    """``GET /coverage`` under the admin prefix: the ledger as JSON."""

    async def coverage(_request: Request) -> Response:
        body = json.dumps(ledger.to_dict(), separators=(",", ":"))
        return Response(body, media_type=JSON, headers={"cache-control": "no-store"})

    return [Route("/coverage", coverage, methods=["GET"])]
