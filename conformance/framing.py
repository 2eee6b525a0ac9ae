"""An upstream's answer read off the wire: llhttp's callbacks, and a body read whole.

What arrives is fed straight to uvicorn's response parser (``httptools``,
llhttp) in the event loop's callback (:class:`.connection.Connection`).

A body read whole (``whole_limit``) whose length the head gives is taken from the
read that brought it as one bytes object, or read into place when it spans
reads: read as the loop's bytes and then as llhttp's body chunks, a repeated
answer was copied twice over, a seventh of the proxy's CPU.

The head of such an answer is parsed by llhttp once: what its callbacks made
of it is kept by the head's bytes (:class:`Heads`), and the same bytes at the
start of a later answer -- a repeat's head differs from its last one by its
``Date`` only, once a second -- are taken as read. llhttp's verdict on bytes
depends on nothing else, and the parser is never fed the body of such an
answer, so it is left as it was made; a fifth of the instructions a repeat
cost were its callbacks.
"""

from __future__ import annotations

import asyncio
from collections import deque

import httptools

__all__ = ["READ", "Framing", "Headers"]

Headers = list[tuple[bytes, bytes]]
#: The largest read (uvloop's own size). The connections of a pool share one buffer of it:
#: they read one at a time, in the loop's thread, and a read is parsed or copied out at once.
READ = 1 << 18
_END_OF_HEAD = b"\r\n\r\n"
#: Heads kept (:class:`Heads`), and the longest kept: new ones come once a second for
#: each answer repeated (its Date), a never-seen one's never again.
HEADS_KEPT = 256
LONGEST_HEAD = 4096
#: What llhttp made of a head: status, reason, headers, their names lower-cased,
#: keep-alive, and the body's length.
Head = tuple[int, bytes, tuple[tuple[bytes, bytes], ...], tuple[bytes, ...], bool, int]


class Heads(dict[bytes, Head]):
    """Heads of answers read whole, by their bytes, as llhttp read them; a pool's
    connections share one."""

    def keep(self, head: bytes, known: Head) -> None:
        if len(self) >= HEADS_KEPT:
            self.clear()  # the Dates of a while ago: rather than an order to keep
        self[head] = known


class Framing(asyncio.BufferedProtocol):
    """What has arrived of the answer in flight (httptools' callbacks)."""

    def __init__(self, reads: bytearray | None = None, heads: Heads | None = None) -> None:
        self._reads = reads if reads is not None else bytearray(READ)
        self._read_view = memoryview(self._reads)
        self._heads = heads if heads is not None else Heads()
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
                self._read_known(known, data[end:])
                return
            self._fed = True
            self.parser.feed_data(data[start:end])  # type: ignore[union-attr]
            start = end
            length = self._length() if self.head_done else None
            if length is not None:
                if head is not None:
                    self._heads.keep(head, self._known(length))
                self._read_whole(length, data[start:])
                return
        if start < nbytes:
            self._fed = True
            self.parser.feed_data(data[start:])  # type: ignore[union-attr]

    def _known(self, length: int) -> Head:
        headers, names = tuple(self.headers), tuple(self.names)
        return (self.status, bytes(self.reason), headers, names, self.keep_alive, length)

    def _read_known(self, known: Head, rest: memoryview) -> None:
        """The answer as llhttp's callbacks made it of the same head before."""
        self.status, self.reason, headers, names, self.keep_alive, length = known
        self.headers, self.names = list(headers), list(names)
        self.head_done = True
        self._read_whole(length, rest)

    def _length(self) -> int | None:
        """The length of a body still to come, to read whole past llhttp: given once by
        ``Content-Length``, not chunked, within the caller's limit."""
        names = self.names
        if self.done or self.body or self.status == 101 or b"transfer-encoding" in names:
            return None  # no body to come (204, 304, a length of 0), or llhttp's framing
        once = names.count(b"content-length") == 1
        value = self.headers[names.index(b"content-length")][1] if once else b""
        return int(value) if value.isdigit() and int(value) <= self.whole_limit else None

    def _read_whole(self, length: int, rest: memoryview) -> None:
        self.surplus = len(rest) > length
        if len(rest) >= length:  # the usual answer: all in the read that brought its head
            self.whole, self.filled, self.done = bytes(rest[:length]), length, True
            return
        whole = self.whole = bytearray(length)  # the rest is read into place (get_buffer)
        whole[: len(rest)] = rest
        self.filled = len(rest)

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
