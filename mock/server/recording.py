"""One watch of every answer, for the journal and the coverage ledger.

:class:`RecordingMiddleware` sits in front of the contract's app in the
workbench and wraps ``send`` once: every request goes into the
:class:`~.journal.Journal` with its status and latency, and every answer of
the operation (GET) into the :class:`~.coverage.SharedLedger` with its status
and, for an error, its body (read for the ``code``, up to
:data:`MAX_ERROR_BODY`). It runs on every request, so it does nothing else.
"""

from __future__ import annotations

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .coverage import SharedLedger
from .journal import Journal
from .routes import is_operation

__all__ = ["MAX_ERROR_BODY", "RecordingMiddleware"]

#: An error body is read for its ``code`` up to this size; the contract's are tiny.
MAX_ERROR_BODY = 64 * 1024


class RecordingMiddleware:
    """Records every request in ``journal``, and every GET of the operation in ``coverage``."""

    def __init__(self, app: ASGIApp, *, journal: Journal, coverage: SharedLedger) -> None:
        self.app = app
        self.journal = journal
        self.coverage = coverage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counted = scope["method"] == "GET" and is_operation(scope)
        # Shared by reference, so that what the layers inside leave there reaches here.
        scope.setdefault("extensions", {})
        started = perf_counter()
        status = 0
        body: list[bytes] = []
        size = 0

        async def watch(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif status >= 400 and counted and message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if size + len(chunk) <= MAX_ERROR_BODY:
                    body.append(chunk)
                size += len(chunk)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.journal.record_request(scope, status, perf_counter() - started)
        if counted and status:  # 0: nothing answered (the client went during a delay)
            self.coverage.record_answer(scope, status, b"".join(body))
