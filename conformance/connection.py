"""One kept-alive HTTP/1.1 connection to the upstream, as an :class:`asyncio.BufferedProtocol`.

What arrives is parsed in the event loop's callback (:class:`.framing.Framing`):
no stream reader, no task switch per read, and one timer per connection (the
timer is re-armed only when it fires early). Its deadline is the request's
sending plus the timeout for the head, and for a body read whole; a streamed
body's moves as bytes arrive and waits begin. A head is read to at most
:data:`~usagekit.mock.bounds.MAX_HEAD_BYTES`. The caller (:mod:`.upstream`) waits for
what it needs next -- the head, more body, or all of it -- and is woken only then, or has a
callback called (:meth:`Connection.then`). A body is read at most
:data:`BUFFERED` bytes ahead of its consumer (the transport is paused beyond
that). Bytes that arrive while no request is in flight close the connection:
they can only be a stale answer.

A connection serves one client's request at a time, and follows that client: the
request's ASGI scope names it (:data:`SERVING`, :func:`serving`), and when the
client leaves before its answer is whole, the proxy's protocol abandons it
(:func:`client_left`): closed, its waiter woken with :class:`Abandoned`. Else a
client that sends and hangs up, again and again, would have the proxy hold an
upstream connection per request until the upstream answered or ``--timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any, cast

import httptools

from usagekit.mock.bounds import MAX_HEAD_BYTES

from .framing import READ, Framing, Headers, Shared

__all__ = [
    "BODY",
    "HEAD",
    "READ",
    "SERVING",
    "WHOLE",
    "Abandoned",
    "Connection",
    "Headers",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnreadable",
    "client_left",
    "serving",
]

#: Bytes of a body read ahead of its consumer before the connection stops reading.
BUFFERED = 1 << 20
HEAD, BODY, WHOLE = range(3)  # what a caller waits for (Connection.arrival)
_SWITCHED = "the upstream answered 101 Switching Protocols to a request that asked for no upgrade"
_HEAD_TOO_LARGE = f"the upstream's answer's head is larger than {MAX_HEAD_BYTES} bytes"
_CUT_HEAD = "{} closed the connection in the middle of its answer's head"


class UpstreamError(ConnectionError):
    """The upstream could not be reached, or broke the connection."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The upstream did not answer in time."""


class UpstreamUnreadable(UpstreamError):
    """The upstream answered, but not in HTTP/1.1 the proxy can read."""


class Abandoned(UpstreamError):
    """The client left before its answer was whole: its exchange was given up."""


#: The key of a request's ASGI scope that names the upstream connection serving it (until
#: the client leaves: then :data:`LEFT`).
SERVING = "usagekit.upstream"
LEFT = "left"

Scope = MutableMapping[str, Any]


class Connection(Framing):
    """One connection, and what has arrived of the answer in flight."""

    def __init__(self, where: str, timeout: float, shared: Shared | None = None) -> None:
        super().__init__(shared)
        self.where = where
        self.timeout = timeout
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.failure: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._then: Callable[[], None] | None = None  # see then()
        self._wanted = 0  # what wakes the waiter: HEAD, BODY or WHOLE
        self._limit = 0  # with WHOLE: so many bytes of body wake it too
        self._paused = False
        self._seen = 0.0  # loop time of the last bytes, for the idle deadline
        self._sent = 0.0  # loop time the request in flight was sent, for the whole one
        self.start()

    def start(self) -> None:
        """Ready for the next answer."""
        self.ready()
        self.busy = False  # a request is in flight
        self.owner: Scope | None = None  # the scope of the request it serves (serving())

    # -- asyncio.BufferedProtocol (get_buffer: Framing's) -------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def buffer_updated(self, nbytes: int) -> None:
        self._seen = self._loop.time()
        if not self.busy:
            self.close()
            return
        if self.done or self.parser is None:
            self.surplus = self.surplus or self.done  # after the answer: nobody asked for it
            return
        if self.whole is not None:
            self.filled += nbytes
            self.done = self.filled == len(self.whole)
            if self.done:
                self.filled_whole()
        else:
            try:
                self.parse(nbytes)
            except httptools.HttpParserError as exc:
                self._fail(UpstreamUnreadable(f"the upstream's answer is not HTTP/1.1: {exc}"))
                return
            except httptools.HttpParserUpgrade:  # not an HttpParserError: else up to the loop
                self._fail(UpstreamUnreadable(_SWITCHED))
                return
            if not self.head_done:  # llhttp keeps a head whole, however long: bound it
                self.unended += nbytes
                if self.unended > MAX_HEAD_BYTES:
                    self._fail(UpstreamUnreadable(_HEAD_TOO_LARGE))
                    return
        # A body read whole (WHOLE) is bounded by the caller's limit instead.
        if self.buffered > BUFFERED and self._wanted != WHOLE and not self._paused:
            self._paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        return False  # close: a half-closed connection is no use to the pool

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.busy and not self.head_done and self.unended and self.failure is None:
            # Part of a head came: the upstream answered, and cut its answer short -- not
            # a kept-alive connection it had closed before the request (sent again).
            self.failure = UpstreamUnreadable(_CUT_HEAD.format(self.where))
        self._disarm()
        self._wake()

    # -- the caller's side --------------------------------------------------------------

    def send(self, request: bytes, whole: int = 0) -> None:
        """Send a request; ``whole``: its answer's body is to be read whole, up to so many
        bytes (read into place when the head gives its length)."""
        if self.closed or self.transport is None or self.transport.is_closing():
            raise UpstreamError(f"{self.where} closed the connection")
        self.busy = True
        self.whole_limit = whole
        self.request = request
        self._sent = self._loop.time()
        self.transport.write(request)

    async def arrival(self, wanted: int, limit: int = 0) -> None:
        """Until the head (``HEAD``), more body (``BODY``) or all of it (``WHOLE``, or
        ``limit`` bytes of it) has arrived, or the connection ended."""
        if self.failure is not None:
            raise self.failure
        self._wanted, self._limit = wanted, limit
        if self.closed or self._arrived():
            return
        self._expect()
        waiter = self._waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if self.failure is not None:
            raise self.failure

    def then(self, wanted: int, limit: int, call: Callable[[], None]) -> None:
        """``call()`` in the loop's callback once what :meth:`arrival` would wait for has
        arrived or the connection ended -- for an answer begun without a task."""
        self._wanted, self._limit, self._then = wanted, limit, call
        self._expect()
        if self.closed or self.head_done:  # else nothing it waits for can have come yet
            self._wake()

    def _expect(self) -> None:
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        self._seen = self._loop.time()
        # One timer per connection, left armed between waits (one made and cancelled per
        # wait was a fiftieth of the proxy's CPU per repeat); it minds the wait under way.
        if self._timer is None:
            self._timer = self._loop.call_at(self._seen + self.timeout, self._idle)

    def take(self) -> bytes | None:
        """The next chunk of body that has arrived, if any."""
        if not self.body:
            return None
        chunk = self.body.popleft()
        self.buffered -= len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True
        self.owner = None
        self._disarm()
        if self.transport is not None:
            self.transport.close()

    def abandon(self) -> None:
        """Its client left: closed, and what waits for it gets :class:`Abandoned`."""
        self._fail(Abandoned(f"the client left; the exchange with {self.where} was given up"))

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle(self) -> None:
        self._timer = None
        waiter = self._waiter
        if (waiter is None or waiter.done()) and self._then is None:
            return  # no wait under way: the next one arms the timer again
        # The head, and a body read whole (the endpoint's), within the timeout of the request:
        # else an upstream that drips a byte at a time holds the exchange without end. Only
        # a streamed body (an event stream's) may take its time, a read within it at a time.
        whole = self.whole_limit or not self.head_done
        deadline = (self._sent if whole else self._seen) + self.timeout
        if self._loop.time() < deadline:  # bytes came meanwhile: the deadline moves, not the timer
            self._timer = self._loop.call_at(deadline, self._idle)
            return
        self._fail(UpstreamTimeout(f"{self.where} did not answer in time"))

    def _fail(self, failure: UpstreamError) -> None:
        self.failure = failure
        self.parser = None
        self.close()
        self._wake()

    def _arrived(self) -> bool:
        if self.done:
            return True
        if self._wanted == HEAD:
            return self.head_done
        if self._wanted == BODY:
            return bool(self.body)
        return self.buffered > self._limit

    def _wake(self) -> None:
        waiter, then = self._waiter, self._then
        if (waiter is None and then is None) or not (self.closed or self._arrived()):
            return
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if then is not None:
            self._then = None
            then()


def serving(scope: Scope, connection: Connection) -> None:
    """Note that ``connection`` serves the request of ``scope``; :class:`Abandoned` (and
    ``connection`` closed) if its client has left already."""
    if scope.get(SERVING) is LEFT:
        connection.close()
        raise Abandoned("the client left before its request was sent")
    scope[SERVING] = connection
    connection.owner = scope


def client_left(scope: Scope) -> None:
    """The client of ``scope``'s request left before its answer was whole: the upstream
    connection serving it is abandoned, now or as soon as one is taken for it."""
    held = scope.get(SERVING)
    scope[SERVING] = LEFT
    # Its owner still: not released to the pool since (and serving another request).
    if isinstance(held, Connection) and held.owner is scope:
        held.abandon()
