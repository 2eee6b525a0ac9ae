"""HTTP/1 wire helpers shared by the mock's server and the kit's proxy.

Both serve HTTP through uvicorn's httptools protocol and both gate their own
admin paths to loopback clients, but neither may import the other
(ARCHITECTURE.md). What they share at the wire lives here, beside ``spec``:
standard library only, no framework, no contract -- and the pace of the cyclic
collector while either serves (:func:`serving_collector`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import resource
from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

__all__ = [
    "CONTINUE",
    "GC_YOUNG",
    "MAX_HEAD_BYTES",
    "RETRY_AFTER_SECONDS",
    "Draining",
    "OneWrite",
    "OneWriteAnswers",
    "RequestDeadline",
    "StallDeadline",
    "closing_answer",
    "enough_descriptors",
    "is_loopback",
    "refuse",
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


#: The largest request head either server reads (request line and headers, bytes).
MAX_HEAD_BYTES = 64 * 1024

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


class RequestDeadline:
    """A whole request within ``request_timeout`` seconds of its first byte, for both
    servers' protocols: ``_arm_deadline`` when a request begins, ``_due = None`` once it
    is whole, ``_cancel_deadline`` when the connection ends. One timer per connection
    checks it, re-armed only when it fires early -- not a timer armed and cancelled per
    request. A request not whole in time ends its connection (:meth:`_lapsed`), unless
    the wait is the server's own (:meth:`_waiting`)."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    request_timeout: float
    _due: float | None  # None: no request under way
    _deadline: asyncio.TimerHandle | None

    def _arm_deadline(self) -> None:
        self._due = self.loop.time() + self.request_timeout
        if self._deadline is None:
            self._deadline = self.loop.call_at(self._due, self._expire_deadline)

    def _cancel_deadline(self) -> None:
        self._due = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire_deadline(self) -> None:
        self._deadline = None
        if self._due is None:  # no request under way
            return
        if self._waiting():  # the server's wait, not the client's: the time starts again
            self._due = self.loop.time() + self.request_timeout
        if self.loop.time() < self._due:  # a later request's deadline
            self._deadline = self.loop.call_at(self._due, self._expire_deadline)
            return
        self._due = None
        if not self.transport.is_closing():
            self._lapsed()

    def _waiting(self) -> bool:
        """Whether the request is not whole because of the server (none by default)."""
        return False

    def _lapsed(self) -> None:
        self.transport.close()


class StallDeadline:
    """A client that takes none of its answer for ``request_timeout`` seconds, once the
    transport's write buffer is full, is dropped (:meth:`_stalled`), for both servers'
    protocols: else it would hold its connection, the answer under way (and whatever
    serves it: the mock's in-flight slot, the proxy's upstream connection) for ever.
    The timer runs from the transport's ``pause_writing`` to its ``resume_writing``, so a
    client that reads slowly but reads is served; ``_cancel_stall`` when the connection
    ends. List it before the protocol class."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    request_timeout: float
    _stall: asyncio.TimerHandle | None = None

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        if self._stall is None:
            self._stall = self.loop.call_later(self.request_timeout, self._stall_due)

    def resume_writing(self) -> None:
        self._cancel_stall()
        super().resume_writing()  # type: ignore[misc]

    def _cancel_stall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _stall_due(self) -> None:
        self._stall = None
        if not self.transport.is_closing():
            self._stalled()

    def _stalled(self) -> None:
        self.transport.abort()  # what it holds unsent is dropped: nobody takes it


#: ``Retry-After`` of both servers' 503 for too many connections at once.
RETRY_AFTER_SECONDS = 1


def closing_answer(status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 answer with a JSON ``body`` (the contract's error shape) that closes
    its connection: what either server writes below its app, as :func:`refuse`'s answer."""
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name.lower()}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Draining(asyncio.Protocol):
    """A refused connection until it closes (:func:`refuse`): what it reads is dropped,
    its end closes it, and its loss is the refusing protocol's."""

    def __init__(self, refusing: asyncio.BaseProtocol) -> None:
        self.refusing = refusing

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> None:
        return None  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.refusing.connection_lost(exc)


def refuse(
    protocol: asyncio.BaseProtocol,
    transport: asyncio.Transport,
    response: bytes,
    *,
    linger: float | None,
) -> None:
    """Answer ``protocol``'s connection with ``response`` (a whole answer that closes it)
    and end it, unless an earlier refusal did.

    A close with the client's bytes unread resets the connection, and the client's
    kernel may drop the answer it had not read yet: so the answer is followed by a FIN,
    what the client still sends is read and dropped (:class:`Draining`), and the socket
    closes when the client's side ends or ``linger`` seconds after the refusal (``None``:
    closed at once).
    """
    if transport.is_closing() or transport.get_protocol() is not protocol:  # refused before
        return
    transport.write(response)
    if linger is None or not transport.can_write_eof():
        transport.close()
        return
    transport.write_eof()
    transport.set_protocol(Draining(protocol))
    transport.resume_reading()
    asyncio.get_running_loop().call_later(linger, transport.close)


def is_loopback(scope: Mapping[str, Any]) -> bool:
    """Whether an ASGI scope's client is a loopback address (no client: not)."""
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def enough_descriptors(connections: int, per_connection: int = 1) -> None:
    """The soft limit of open files raised, where the hard one allows, to what a server
    capped at ``connections`` may hold: ``per_connection`` descriptors per client, and
    256 besides (its listening socket, files, pipes, an idle upstream pool). A soft
    limit of 1024 is common: below what the cap allows, accepting fails (EMFILE) and a
    client is reset or left waiting, where past the cap it gets the contract's 503."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = per_connection * connections + 256
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
