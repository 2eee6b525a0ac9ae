"""HTTP/1 wire helpers shared by the mock's server and the kit's proxy.

Both serve HTTP through uvicorn's httptools protocol and both gate their own
admin paths to loopback clients, but neither may import the other
(ARCHITECTURE.md). How they write at the wire lives here, beside ``spec``:
standard library only, no framework, no contract -- and the pace of the cyclic
collector while either serves (:func:`serving_collector`). How they bound a
connection (head cap, deadlines, refusals, open files) is :mod:`.bounds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, AnyStr

__all__ = [
    "CONTINUE",
    "GC_YOUNG",
    "OWS",
    "OneWrite",
    "OneWriteAnswers",
    "error_body",
    "field_value",
    "is_loopback",
    "serving_collector",
]

#: Containers allocated (net of those freed) between two collections of the youngest
#: generation, while a server serves.
GC_YOUNG = 20_000


@contextlib.contextmanager
def serving_collector() -> Iterator[None]:
    """The cyclic collector paced for a server: the youngest generation collected every
    :data:`GC_YOUNG` containers kept, instead of CPython's 700.

    An answer's objects are freed by their reference counts -- under never-seen
    traffic a mock worker's collections found no cycle at all -- but the caches keep
    the youngest generation thousands of objects long: a never-seen query leaves some
    twenty containers in the front cache, the memo, the ledger and the grid cache, and
    evicts as many older ones. At 700 the collector walked that generation every ~250
    answers (0.2-1.4 ms) and the next one (up to 17,000 objects, 3-5 ms) every ~2,500,
    pauses that every request the worker holds waits out. The proxy's judge builds
    thousands of short-lived containers per answer, which at 700 it walked two or
    three times per answer for nothing. Cycles still are collected.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


#: Optional whitespace (RFC 9110, 5.6.3), which a field's value excludes (5.5).
OWS = b" \t"


def field_value(written: AnyStr) -> AnyStr:
    """A header field's value as RFC 9110 (5.5) defines it: without the optional whitespace
    (SP, HTAB) around it. httptools drops only the leading part; ``str.strip()`` would also
    drop what is not OWS (a vertical tab, U+00A0), which is part of the value."""
    if isinstance(written, bytes):
        return written.strip(OWS)
    return written.strip(" \t")


#: What uvicorn writes before a body it is waiting for, which must leave at once.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class OneWrite:
    """The connection's transport as one answer sees it: the answer's head is held until
    the first part of its body, and both leave in one ``writelines`` -- one system call
    and one segment for the client to wake up to, where uvicorn makes two. An answer
    without a body (HEAD, 204, 304) has its head sent by :meth:`flush` when it ends."""

    __slots__ = ("_head", "_state", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head = b""
        self._state = 0  # 0: no head yet, 1: head held, 2: head sent

    def write(self, data: bytes) -> None:
        if self._state == 0 and data != CONTINUE:
            self._head, self._state = data, 1
        elif self._state == 1:
            self._state = 2
            self._transport.writelines((self._head, data))
        else:
            self._transport.write(data)

    def writelines(self, parts: tuple[bytes, ...]) -> None:
        # A whole answer in one call (whole.write_now): written, not found by __getattr__,
        # which only comes after a failed look-up's AttributeError, per answer.
        self.flush()
        self._state = 2
        self._transport.writelines(parts)

    def flush(self) -> None:
        if self._state == 1:
            self._state = 2
            self._transport.write(self._head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteAnswers:
    """A mixin for uvicorn's httptools protocol: each request's answer is written through
    a :class:`OneWrite` (list it before the protocol class)."""

    def on_headers_complete(self) -> None:
        before = self.cycle  # type: ignore[attr-defined]
        super().on_headers_complete()  # type: ignore[misc]
        cycle = self.cycle  # type: ignore[attr-defined]
        if cycle is not None and cycle is not before:  # else no new request (e.g. refused)
            self.answering(cycle)

    def answering(self, cycle: Any) -> None:
        """A new request's cycle, before its app's task runs: its answer's writes go
        through a :class:`OneWrite`. A protocol that adds to a new answer extends this."""
        one = OneWrite(self.transport)  # type: ignore[attr-defined]
        cycle.transport = one
        completed = cycle.on_response

        def on_response() -> None:
            one.flush()  # an answer without a body (HEAD, 204, 304) has its head only
            completed()

        cycle.on_response = on_response


def error_body(
    code: str,
    message: str,
    *,
    detail: str | None = None,
    errors: Iterable[tuple[str, str]] = (),
) -> bytes:
    """The contract's error body, ``{code, message, detail?, errors?: [{field, message}]}``,
    as compact JSON bytes (fixed key order): every refusal of either server, in one shape."""
    body: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    listed = [{"field": field, "message": why} for field, why in errors]
    if listed:
        body["errors"] = listed
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def is_loopback(scope: Mapping[str, Any]) -> bool:
    """Whether an ASGI scope's client is a loopback address (no client: not)."""
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False
