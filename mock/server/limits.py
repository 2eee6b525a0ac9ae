"""Caps on the request line, checked before anything parses it.

A query string longer than :data:`MAX_QUERY_BYTES`, or a path longer than
:data:`MAX_PATH_BYTES`, is answered ``400 bad_request`` straight away: no
parsing, no key lookup, nothing remembered; a path with a control character
(``%0A``) names no endpoint, ``404``. Everything the contract names as a
parameter stays the validator's (one 422 naming every invalid field), with its
own caps in :mod:`usagekit.mock.core.query`; these two bound how much text any
request can make the server read, parse, log or remember at all -- whatever
the path, key or method. (The HTTP layer, :mod:`.protocol`, bounds the whole
request head the same way.)

:class:`ConcurrencyLimitMiddleware` bounds the requests a worker answers at
once (``--max-requests``): one more is ``503 service_unavailable`` with
``Retry-After``, so slow answers (``Prefer: latency=``) cannot pile up without
limit.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from .logs import escape
from .problems import Problem, bad_request, not_found, send_problem, service_unavailable

__all__ = [
    "MAX_PATH_BYTES",
    "MAX_QUERY_BYTES",
    "ConcurrencyLimitMiddleware",
    "RequestLimitsMiddleware",
    "refusal",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: The longest query string served (bytes, as sent); a real query is about 200.
MAX_QUERY_BYTES = 4096
#: The longest path served (bytes, as sent); the operation's path is about 80.
MAX_PATH_BYTES = 1024


class RequestLimitsMiddleware:
    """ASGI middleware: ``400 bad_request`` for an oversize query string or path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = refusal(scope)
            if problem is not None:
                await send_problem(send, problem)
                return
        await self.app(scope, receive, send)


def refusal(scope: Scope) -> Problem | None:
    """What an HTTP request past the caps is answered, or ``None`` when it is within them."""
    query = len(scope.get("query_string", b""))
    if query > MAX_QUERY_BYTES:
        return bad_request(
            "The query string is too long.", f"{query} bytes; at most {MAX_QUERY_BYTES} are read."
        )
    if _CONTROL.search(scope["path"]):
        # A decoded control character names no endpoint -- and starlette's
        # route patterns end in `$`, which would match before a final "\n".
        return not_found(escape(scope["path"]))
    path = len(scope.get("raw_path") or scope["path"].encode("utf-8", "replace"))
    if path > MAX_PATH_BYTES:
        return bad_request(
            "The path is too long.", f"{path} bytes; at most {MAX_PATH_BYTES} are read."
        )
    return None


class ConcurrencyLimitMiddleware:
    """ASGI middleware: at most ``max_requests`` in flight; past that, 503 + Retry-After."""

    def __init__(self, app: ASGIApp, *, max_requests: int, retry_after: int = 1) -> None:
        self.app = app
        self.max_requests = max_requests
        self.retry_after = retry_after
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_requests:
            detail = f"Too many requests at once; retry after {self.retry_after} second."
            await send_problem(send, service_unavailable(detail, self.retry_after))
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
