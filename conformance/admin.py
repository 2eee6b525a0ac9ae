"""The proxy's own paths, ``GET /_usagekit/violations`` and ``/_usagekit/coverage``, gated.

They show what the proxy's traffic carried (curls, accounts, parameters), so
they follow the rule of the mock's admin routes: without an admin token only
loopback clients are answered (anybody else gets a 403); with one, every
client must send ``Authorization: Bearer TOKEN`` (else a 401). A proxy on
127.0.0.1 -- the default -- is reachable from loopback only anyway; one told to
listen on ``0.0.0.0`` still shows its tally to nobody else. Refusals, like
every answer of the proxy's own, speak the contract's error shape.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from usagekit.mock.wire import error_body, is_loopback

__all__ = [
    "COVERAGE_PATH",
    "OWN_PATHS",
    "VIOLATIONS_PATH",
    "Gate",
    "reply",
]

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

VIOLATIONS_PATH = "/_usagekit/violations"
COVERAGE_PATH = "/_usagekit/coverage"
OWN_PATHS = frozenset({VIOLATIONS_PATH, COVERAGE_PATH})


async def reply(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A whole JSON answer of the proxy's own."""
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*head, *headers]})
    await send({"type": "http.response.body", "body": body})


class Gate:
    """Who may read the proxy's own paths: loopback clients, or the holders of a token."""

    def __init__(self, token: str | None) -> None:
        self.token = token.encode() if token else None

    def refusal(self, scope: Scope) -> tuple[int, bytes, Headers] | None:
        """The answer for a client that may not read them (status, body, headers); else None."""
        if self.token is not None:
            scheme, _, credentials = _header(scope, b"authorization").partition(b" ")
            if scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self.token):
                return None
            body = error_body(
                "unauthorized",
                "Missing or invalid admin token.",
                detail="Send Authorization: Bearer <the --admin-token value>.",
            )
            return 401, body, [(b"www-authenticate", b"Bearer")]
        if is_loopback(scope):
            return None
        body = error_body(
            "forbidden",
            "The proxy's own paths answer loopback clients only.",
            detail="Start the proxy with --admin-token to reach them from elsewhere.",
        )
        return 403, body, []


def _header(scope: Scope, name: bytes) -> bytes:
    return next((v for k, v in scope["headers"] if k.lower() == name), b"")
