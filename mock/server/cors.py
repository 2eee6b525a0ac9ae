"""CORS for browser frontends: starlette's middleware, answering in the contract's shape."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import JSON, error_body

__all__ = ["NO_ORIGIN", "ContractCORSMiddleware"]

#: What CORS adds to an answer that has no ``Vary`` for a request without ``Origin``.
NO_ORIGIN = ((b"vary", b"Origin"),)


class ContractCORSMiddleware(CORSMiddleware):
    """starlette's CORS; a refused preflight is ``403 forbidden`` in the contract's shape.

    starlette refuses with ``400`` and a text body; the browser only needs a
    non-2xx, and 403 (this origin, method or header may not) is what the
    contract says for a request it will not serve to this caller.

    A request without ``Origin`` (no browser across origins: the bulk of the
    traffic) gets what starlette would give it -- ``Vary: Origin`` added to the
    answer's ``Vary`` -- without starlette's header objects.

    A ``private`` path (the workbench's pages and admin routes) answers across
    origins only to an origin named in ``allow_origins``, never to ``*``: the
    browser runs on loopback, so any page it shows could otherwise read the
    journal, or the dataset's keys the pages list, and then the usage they reach.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Collection[str] = (),
        private: Callable[[str], bool] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(app, allow_origins=allow_origins, **options)
        self.private = private
        named = [origin for origin in allow_origins if origin != "*"]
        self.named_only = (
            None if private is None else ContractCORSMiddleware(app, allow_origins=named, **options)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            if self.named_only is not None and self.private and self.private(scope["path"]):
                await self.named_only(scope, receive, send)
                return
            await super().__call__(scope, receive, send)
            return

        async def vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _vary_origin(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, vary)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        reason = bytes(response.body).decode()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        return Response(
            error_body("forbidden", "CORS preflight refused.", detail=f"{reason}."),
            status_code=403,
            headers=headers,
            media_type=JSON,
        )


def _vary_origin(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``Origin`` added to ``Vary`` as starlette's ``MutableHeaders`` does."""
    headers = list(headers)
    varies = [value for name, value in headers if name == b"vary"]
    if not varies:
        headers += NO_ORIGIN
        return headers
    first = next(i for i, (name, _) in enumerate(headers) if name == b"vary")
    joined = (b"vary", b", ".join([*varies, b"Origin"]))
    return [
        joined if i == first else pair
        for i, pair in enumerate(headers)
        if pair[0] != b"vary" or i == first
    ]
