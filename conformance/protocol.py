"""The proxy's server side: uvicorn's httptools protocol, each answer's head sent with its body.

uvicorn writes an answer's head as soon as the app starts it and its body
when the app sends it: two system calls, two segments for the client to wake
up to. The proxy sends a judged answer's head and its whole body back to back,
so :class:`OneWrite` holds the head until the first part of the body and lets
both leave in one ``writelines`` (an answer without a body -- HEAD, 204, 304 --
has its head flushed when it completes). For a repeated answer the proxy's own
work is a few look-ups, and that second write was a fifth of its CPU.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWrite", "ProxyProtocol"]

#: What uvicorn writes before a body it is waiting for, which must leave at once.
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class OneWrite:
    """The connection's transport as one answer sees it: its head leaves with its body."""

    __slots__ = ("_head", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head = b""
        self._held: bool | None = None  # None: no head yet; True: head held; False: sent

    def write(self, data: bytes) -> None:
        if self._held is None and data != _CONTINUE:
            self._head, self._held = data, True
        elif self._held:
            self._held = False
            self._transport.writelines((self._head, data))
        else:
            self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            self._held = False
            self._transport.write(self._head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class ProxyProtocol(HttpToolsProtocol):
    """uvicorn's protocol, with each request's answer written through a :class:`OneWrite`."""

    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is None or cycle is before:
            return
        one = OneWrite(self.transport)
        cycle.transport = one  # type: ignore[assignment]
        completed = cycle.on_response

        def on_response() -> None:
            one.flush()
            completed()

        cycle.on_response = on_response
