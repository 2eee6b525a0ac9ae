"""An upstream's answer read off the wire: llhttp's callbacks, and a body read whole.

What arrives is fed straight to uvicorn's response parser (``httptools``,
llhttp) in the event loop's callback (:class:`.connection.Connection`).

A body read whole (``whole_limit``) whose length the head gives is taken from the
read that brought it as one bytes object, or read into place when it spans
reads: read as the loop's bytes and then as llhttp's body chunks, a repeated
answer was copied twice over, a seventh of the proxy's CPU.

The head of such an answer is parsed by llhttp once: the same head bytes at the
start of a later answer are taken as read (:class:`~.repeats.Heads`); the parser
is never fed the body of such an answer, so it is left as it was made. A tenth
of the instructions a repeat cost were llhttp's callbacks. A body the same as
the last one read for the request (:class:`~.repeats.Bodies`) is handed on as
that object, compared where it was read rather than copied out.
"""

from __future__ import annotations

import asyncio
from collections import deque

import httptools

from .repeats import BODY_BYTES, LONGEST_HEAD, Bodies, Head, Heads

__all__ = ["READ", "Framing", "Headers", "Shared"]

Headers = list[tuple[bytes, bytes]]
#: The largest read (uvloop's own size).
READ = 1 << 18
_END_OF_HEAD = b"\r\n\r\n"


class Shared:
    """What the connections of a pool share: one buffer to read into -- they read one at a
    time, in the loop's thread, and a read is parsed or copied out at once -- and what
    they keep of the answers they read (:mod:`.repeats`)."""

    __slots__ = ("bodies", "heads", "reads")

    def __init__(self) -> None:
        self.reads = bytearray(READ)
        self.heads = Heads()
        self.bodies = Bodies()


class Framing(asyncio.BufferedProtocol):
    """What has arrived of the answer in flight (httptools' callbacks)."""

    def __init__(self, shared: Shared | None = None) -> None:
        shared = shared if shared is not None else Shared()
        self._reads = shared.reads
        self._read_view = memoryview(self._reads)
        self._heads = shared.heads
        self._bodies = shared.bodies
        self.request = b""  # the request in flight, as sent (the key of its Bodies)
        self.parser: httptools.HttpResponseParser | None = None
        self._fed = False  # the parser was fed since it was made
        self.done = False

    def ready(self) -> None:
        """Ready to read the next answer."""
        # llhttp reads the next answer once one has ended: a parser is made for the first, and
        # anew only after one it did not see end (a HEAD's: the body its head announces never
        # comes; one read whole past it) -- unless it was never fed (a head read before). One
        # per answer was a hundredth of the CPU a repeat cost.
        if self.parser is None or (self._fed and (not self.done or self.whole is not None)):
            self.parser = httptools.HttpResponseParser(self)
            self._fed = False
        self.reason: bytes | bytearray = bytearray()
        self.headers: Headers = []
        self.names: list[bytes] = []  # the headers' names, lower-cased once
        self.body: deque[bytes] = deque()
        self.buffered = 0
        self.head_done = False
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.surplus = False  # bytes came after the answer: the connection is spoilt
        self.whole_limit = 0  # > 0: the body is read whole, up to so many bytes
        self.whole: bytes | bytearray | None = None  # such a body, or the buffer it fills
        self.filled = 0  # bytes of it arrived
        self.unended = 0  # bytes of reads that did not end the head (Connection bounds them)

    def get_buffer(self, sizehint: int) -> memoryview:
        whole = self.whole
        if whole is not None and self.filled < len(whole):
            return memoryview(whole)[self.filled :]  # a bytearray: see _read_whole
        return self._read_view

    def parse(self, nbytes: int) -> None:
        """Feed llhttp what a read brought; with a body to read whole, only up to the end of
        the head, and the rest of the read into the body's own buffer."""
        data = self._read_view[:nbytes]
        start = 0
        while self.whole_limit and not self.head_done:
            end = self._reads.find(_END_OF_HEAD, start, nbytes)
            if end < 0:
                break
            end += len(_END_OF_HEAD)
            # A head that starts the answer (nothing fed of it yet), as read before.
            head = bytes(data[:end]) if not self._fed and end <= LONGEST_HEAD else None
            known = self._heads.get(head) if head is not None else None
            if known is not None and known[5] <= self.whole_limit:
                # As llhttp's callbacks made it of the same head before. Its headers are
                # the kept tuples themselves, never appended to (the parser is not fed
                # again before ready()), and alike for every answer with that head.
                status, reason, headers, names, keep_alive, length = known
                self.status, self.reason, self.keep_alive = status, reason, keep_alive
                self.headers, self.names = headers, names  # type: ignore[assignment]
                self.head_done = True
                self._read_whole(length, data, end)
                return
            self._fed = True
            self.parser.feed_data(data[start:end])  # type: ignore[union-attr]
            start = end
            length = self._length() if self.head_done else None
            if length is not None:
                if head is not None:
                    self._heads.keep(head, self._known(length))
                self._read_whole(length, data, start)
                return
        if start < nbytes:
            self._fed = True
            self.parser.feed_data(data[start:])  # type: ignore[union-attr]

    def _known(self, length: int) -> Head:
        headers, names = tuple(self.headers), tuple(self.names)
        return (self.status, bytes(self.reason), headers, names, self.keep_alive, length)

    def _length(self) -> int | None:
        """The length of a body still to come, to read whole past llhttp: given once by
        ``Content-Length``, not chunked, within the caller's limit."""
        names = self.names
        if self.done or self.body or self.status == 101 or b"transfer-encoding" in names:
            return None  # no body to come (204, 304, a length of 0), or llhttp's framing
        once = names.count(b"content-length") == 1
        value = self.headers[names.index(b"content-length")][1] if once else b""
        return int(value) if value.isdigit() and int(value) <= self.whole_limit else None

    def _read_whole(self, length: int, data: memoryview, start: int) -> None:
        """The body from ``data[start:]`` on: ``length`` bytes."""
        rest = len(data) - start
        self.surplus = rest > length
        if rest >= length:  # the usual answer: all in the read that brought its head
            last = self._bodies.get(self.request)
            if last is not None and len(last) == length and self._reads.startswith(last, start):
                self.whole = last  # memcmp where it was read, and no copy
            else:
                self.whole = bytes(data[start : start + length])
                self._bodies.keep(self.request, self.whole)
            self.filled, self.done = length, True
            return
        whole = self.whole = bytearray(length)  # the rest is read into place (get_buffer)
        whole[:rest] = data[start:]
        self.filled = rest

    def filled_whole(self) -> None:
        """A body read into place is all there: as the last one for its request, that one."""
        last = self._bodies.get(self.request)
        if last is not None and last == self.whole:
            self.whole = last
        elif self.filled <= BODY_BYTES // 16:  # the bytes it would be copied to once judged
            self.whole = bytes(self.whole)  # type: ignore[arg-type]
            self._bodies.keep(self.request, self.whole)

    # -- httptools' callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self.surplus = self.done  # a second answer to one request: nobody asked for it

    def on_status(self, status: bytes) -> None:
        if not self.surplus:
            self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        # After the head: a trailer field, never merged into the head (RFC 9110 6.5.1); the
        # proxy drops them (uvicorn sends no trailers).
        if not (self.surplus or self.head_done):
            self.headers.append((name, value))
            self.names.append(name.lower())

    def on_headers_complete(self) -> None:
        if self.surplus:
            return
        # llhttp forgets them once the message is complete: ask while the head is fresh.
        assert self.parser is not None
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200:
            # An interim answer (100 Continue, 103 Early Hints): the answer follows. A 101 is
            # none the proxy asks for (it forwards no Upgrade): llhttp stops there (Connection).
            return
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
