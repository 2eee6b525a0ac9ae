"""One kept-alive HTTP/1.1 connection to the upstream, as an :class:`asyncio.BufferedProtocol`.

What arrives is fed straight to uvicorn's response parser (``httptools``,
llhttp) in the event loop's callback: no stream reader, no task switch per
read, and one timer per connection (the idle deadline moves as bytes arrive and
waits begin; the timer is re-armed only when it fires early). The caller
(:mod:`.upstream`) waits for what it needs next -- the head, more body, or all
of it -- and is woken only then. A body is read at most :data:`BUFFERED` bytes ahead of its
consumer (the transport is paused beyond that). Bytes that arrive while no
request is in flight close the connection: they can only be a stale answer.

A body its caller reads whole (:meth:`Connection.send`'s ``whole``) and whose
length the head gives is taken from the read that brought it as one bytes
object -- or, when it spans reads, read straight into one buffer of its length.
Read as the loop's bytes objects and then as llhttp's body chunks, each repeated
answer was copied twice over, a seventh of the proxy's CPU.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools

__all__ = ["BODY", "HEAD", "WHOLE", "Connection", "Headers", "UpstreamError", "UpstreamTimeout"]

Headers = list[tuple[bytes, bytes]]
#: Bytes of a body read ahead of its consumer before the connection stops reading.
BUFFERED = 1 << 20
#: The largest read (uvloop's own size). The connections of a pool share one buffer of it:
#: they read one at a time, in the loop's thread, and a read is parsed or copied out at once.
READ = 1 << 18
_END_OF_HEAD = b"\r\n\r\n"
HEAD, BODY, WHOLE = range(3)  # what a caller waits for (Connection.arrival)


class UpstreamError(ConnectionError):
    """The upstream could not be reached, or broke the connection."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The upstream did not answer in time."""


class Connection(asyncio.BufferedProtocol):
    """One connection, and what has arrived of the answer in flight (httptools' callbacks)."""

    def __init__(self, where: str, timeout: float, reads: bytearray | None = None) -> None:
        self._reads = reads if reads is not None else bytearray(READ)
        self._read_view = memoryview(self._reads)
        self.where = where
        self.timeout = timeout
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.failure: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._wanted = 0  # what wakes the waiter: HEAD, BODY or WHOLE
        self._limit = 0  # with WHOLE: so many bytes of body wake it too
        self._paused = False
        self._seen = 0.0  # loop time of the last bytes, for the idle deadline
        self.parser: httptools.HttpResponseParser | None = None
        self.done = False
        self.start()

    def start(self) -> None:
        """Ready for the next answer."""
        # llhttp reads the next answer once one has ended: a parser is made for the first, and
        # anew only after one it did not see end (a HEAD's: the body its head announces never
        # comes). Making one per answer was a hundredth of the proxy's CPU per repeat.
        # A body read whole past llhttp (see the module's docstring) leaves it in the body.
        if self.parser is None or not self.done or self.whole is not None:
            self.parser = httptools.HttpResponseParser(self)
        self.reason = bytearray()
        self.headers: Headers = []
        self.names: list[bytes] = []  # the headers' names, lower-cased once
        self.body: deque[bytes] = deque()
        self.buffered = 0
        self.head_done = False
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.busy = False  # a request is in flight
        self.surplus = False  # bytes came after the answer: the connection is spoilt
        self._whole_limit = 0  # > 0: the body is read whole, up to so many bytes
        self.whole: bytes | bytearray | None = None  # such a body, or the buffer it fills
        self.filled = 0  # bytes of it arrived

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        whole = self.whole
        if whole is not None and self.filled < len(whole):
            return memoryview(whole)[self.filled :]  # a bytearray: see _read_whole
        return self._read_view

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
        elif not self._parsed(nbytes):
            return
        # A body read whole (WHOLE) is bounded by the caller's limit instead.
        if self.buffered > BUFFERED and self._wanted != WHOLE and not self._paused:
            self._paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake()

    def _parsed(self, nbytes: int) -> bool:
        """Feed llhttp what a read brought; with a body to read whole, only up to the end of
        the head, and the rest of the read into the body's own buffer. False: it failed."""
        data = self._read_view[:nbytes]
        start = 0
        try:
            while self._whole_limit and not self.head_done:
                end = self._reads.find(_END_OF_HEAD, start, nbytes)
                if end < 0:
                    break
                end += len(_END_OF_HEAD)
                self.parser.feed_data(data[start:end])  # type: ignore[union-attr]
                start = end
                length = self._length() if self.head_done else None
                if length is not None:
                    self._read_whole(length, data[start:])
                    return True
            if start < nbytes:
                self.parser.feed_data(data[start:])  # type: ignore[union-attr]
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"the upstream's answer is not HTTP/1.1: {exc}"))
            return False
        return True

    def _length(self) -> int | None:
        """The length of a body still to come, to read whole past llhttp: given once by
        ``Content-Length``, not chunked, within the caller's limit."""
        names = self.names
        if self.done or self.body or self.status == 101 or b"transfer-encoding" in names:
            return None  # no body to come (204, 304, a length of 0), or llhttp's framing
        once = names.count(b"content-length") == 1
        value = self.headers[names.index(b"content-length")][1] if once else b""
        return int(value) if value.isdigit() and int(value) <= self._whole_limit else None

    def _read_whole(self, length: int, rest: memoryview) -> None:
        self.surplus = len(rest) > length
        if len(rest) >= length:  # the usual answer: all in the read that brought its head
            self.whole, self.filled, self.done = bytes(rest[:length]), length, True
            return
        whole = self.whole = bytearray(length)  # the rest is read into place (get_buffer)
        whole[: len(rest)] = rest
        self.filled = len(rest)

    def eof_received(self) -> bool:
        return False  # close: a half-closed connection is no use to the pool

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        self._wake()

    # -- httptools' callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self.surplus = self.done  # a second answer to one request: nobody asked for it

    def on_status(self, status: bytes) -> None:
        if not self.surplus:
            self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.surplus:
            self.headers.append((name, value))
            self.names.append(name.lower())

    def on_headers_complete(self) -> None:
        if self.surplus:
            return
        # llhttp forgets them once the message is complete: ask while the head is fresh.
        assert self.parser is not None
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200 and self.status != 101:
            return  # an interim answer (100 Continue, 103 Early Hints): the answer follows
        self.head_done = True
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if not self.surplus:
            self.body.append(body)
            self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self.head_done or self.surplus:
            self.done = True
        else:  # after an interim answer: its head is forgotten, the final one is read
            self.reason, self.headers, self.names = bytearray(), [], []

    # -- the caller's side --------------------------------------------------------------

    def send(self, request: bytes, whole: int = 0) -> None:
        """Send a request; ``whole``: its answer's body is to be read whole, up to so many
        bytes (read into place when the head gives its length)."""
        if self.closed or self.transport is None or self.transport.is_closing():
            raise UpstreamError(f"{self.where} closed the connection")
        self.busy = True
        self._whole_limit = whole
        self.transport.write(request)

    async def arrival(self, wanted: int, limit: int = 0) -> None:
        """Until the head (``HEAD``), more body (``BODY``) or all of it (``WHOLE``, or
        ``limit`` bytes of it) has arrived, or the connection ended."""
        if self.failure is not None:
            raise self.failure
        self._wanted, self._limit = wanted, limit
        if self.closed or self._arrived():
            return
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        loop = self._loop
        waiter = self._waiter = loop.create_future()
        self._seen = loop.time()
        # One timer per connection, left armed between waits: one made and cancelled per
        # wait was a fiftieth of the proxy's CPU per repeat. When it fires it checks the
        # deadline of the wait then under way, if any (see _idle).
        if self._timer is None:
            self._timer = loop.call_at(self._seen + self.timeout, self._idle)
        try:
            await waiter
        finally:
            self._waiter = None
        if self.failure is not None:
            raise self.failure

    def take(self) -> bytes | None:
        """The next chunk of body that has arrived, if any."""
        if not self.body:
            return None
        chunk = self.body.popleft()
        self.buffered -= len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True
        self._disarm()
        if self.transport is not None:
            self.transport.close()

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # no wait under way: the next one arms the timer again
        deadline = self._seen + self.timeout
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
        waiter = self._waiter
        if waiter is not None and not waiter.done() and (self.closed or self._arrived()):
            waiter.set_result(None)
