"""The mock-only admin surface, ``/_usagekit/*``: gated, and never part of the contract.

Each feature module offers its routes as a function returning starlette
:class:`~starlette.routing.Route` objects (``names``, ``scenario``,
``requests``, ``status`` today); :func:`admin_app` mounts them all behind
one :class:`AdminGate`. To add a route, write its endpoint in its own module
and add its ``Route`` to the list :mod:`usagekit.mock.server.workbench` passes
here: the gate, the prefix and the 404 for unknown paths come with it.

The gate: without ``--admin-token`` only loopback clients are answered (others
get 403); with it, every client must send ``Authorization: Bearer TOKEN``
(else 401). Refusals speak the contract's error shape.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from usagekit.mock.wire import is_loopback

from .problems import JSON, error_body, send_bytes
from .routes import header

__all__ = ["ADMIN_PREFIX", "AdminGate", "admin_app", "json_response"]

#: Where the admin surface lives; it never collides with the contract's ``/v1/...``.
ADMIN_PREFIX = "/_usagekit"


def json_response(value: Any, status: int = 200) -> Response:
    """An admin answer: compact JSON, never cached by a browser."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Response(
        body, status_code=status, media_type=JSON, headers={"cache-control": "no-store"}
    )


def admin_app(routes: Sequence[BaseRoute], *, token: str | None) -> ASGIApp:
    """The admin routes behind the gate; an unknown admin path is a 404 in shape."""
    return AdminGate(Router(list(routes), default=_not_found, redirect_slashes=False), token=token)


async def _not_found(scope: Scope, _receive: Receive, send: Send) -> None:
    path = scope["path"]  # the whole path: starlette's Mount no longer strips its prefix
    body = error_body("not_found", "Not found.", detail=f"No admin route {path}.")
    await send_bytes(send, 404, body)


class AdminGate:
    """Loopback only, or a bearer token when one is configured."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.token is not None:
            sent = header(scope, b"authorization") or b""
            scheme, _, credentials = sent.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(
                credentials.strip(), self.token
            ):
                body = error_body(
                    "unauthorized",
                    "Missing or invalid admin token.",
                    detail="Send Authorization: Bearer <the --admin-token value>.",
                )
                await send_bytes(send, 401, body, [(b"www-authenticate", b"Bearer")])
                return
        elif not is_loopback(scope):
            body = error_body(
                "forbidden",
                "The admin routes answer loopback clients only.",
                detail="Start the mock with --admin-token to reach them from elsewhere.",
            )
            await send_bytes(send, 403, body)
            return
        await self.app(scope, receive, send)
