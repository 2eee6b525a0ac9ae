"""The workbench's security headers: a strict policy on its pages, nosniff, no Referer.

Every page's script and style is a file of the mock (``/demo/assets/*``, Swagger
UI's bundle under ``/ui/``), so a page's Content-Security-Policy allows scripts
from the mock's origin only: an injected ``<script>`` or ``onclick=`` never runs.
Images may be ``data:`` URLs (the pages' empty favicon, Swagger UI's icons).
The pages fetch from the mock itself, except Swagger UI, whose "Try it out" may
send the request to any server the served spec names (:func:`server_origins`).

Only the workbench's own answers carry these headers (:class:`SecurityHeaders`
wraps its router): the usage endpoint's headers are the contract's, and its
path is the hot one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PAGE_POLICY", "SecurityHeaders", "page_policy", "server_origins"]

#: scheme://host[:port] and nothing else: a server URL never adds a directive.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


def page_policy(connect: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of a page that may also fetch from ``connect``."""
    directives = (
        ("default-src", "'self'"),
        ("script-src", "'self'"),
        ("style-src", "'self'"),
        ("img-src", "'self' data:"),
        ("connect-src", " ".join(["'self'", *connect])),
        ("object-src", "'none'"),
        ("base-uri", "'none'"),
        ("form-action", "'self'"),
        ("frame-ancestors", "'none'"),
    )
    return "; ".join(f"{name} {value}" for name, value in directives)


#: The policy of a page that fetches from the mock only.
PAGE_POLICY = page_policy()


def server_origins(spec: Mapping[str, Any]) -> list[str]:
    """The origins of ``spec``'s absolute http(s) servers, each once, in order.

    A relative server is the page's own origin; a templated one (``{region}``)
    names no origin the policy could list, so neither adds one.
    """
    origins: list[str] = []
    for server in spec.get("servers", []):
        url = urlsplit(str(server.get("url", "")))
        origin = f"{url.scheme}://{url.netloc.rpartition('@')[2]}".lower()
        if _ORIGIN.fullmatch(origin) and origin not in origins:
            origins.append(origin)
    return origins


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_REFERRER = (b"referrer-policy", b"no-referrer")
_CSP = b"content-security-policy"
_PAGE_CSP = (_CSP, PAGE_POLICY.encode())
_OURS = frozenset((_NOSNIFF[0], _NO_REFERRER[0]))


class SecurityHeaders:
    """Adds nosniff and no-referrer to every answer, and the page policy to an HTML one.

    An HTML answer that brings its own policy (Swagger UI's) keeps it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, secured)


def _secured(sent: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    headers = [(name, value) for name, value in sent if name.lower() not in _OURS]
    headers += [_NOSNIFF, _NO_REFERRER]
    kind = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    if kind.lower().startswith(b"text/html") and not any(n.lower() == _CSP for n, _ in headers):
        headers.append(_PAGE_CSP)
    return headers
