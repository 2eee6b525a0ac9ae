"""How both servers bound a connection: the mock's server and the kit's proxy alike.

A head cap, a deadline for a whole request, a deadline for a client that takes
none of its answer, the refusal that answers past a bound and lets the
connection go without a reset, and the open files the connection cap needs.
Neither server may import the other (ARCHITECTURE.md): what they share lives
here, beside :mod:`.wire`, in the standard library only.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterable
from http import HTTPStatus

__all__ = [
    "MAX_HEAD_BYTES",
    "RETRY_AFTER_SECONDS",
    "Draining",
    "RequestDeadline",
    "StallDeadline",
    "closing_answer",
    "enough_descriptors",
    "refuse",
]

#: The largest request head either server reads (request line and headers, bytes).
MAX_HEAD_BYTES = 64 * 1024


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
    _due: float | None = None  # None: no request under way
    _deadline: asyncio.TimerHandle | None = None  # the one timer that checks _due

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
