"""The proxy's client to its upstream: HTTP/1.1 over a pool of kept-alive connections.

The proxy forwards bytes; it needs no cookies, redirects, retries of its own
or content decoding, and it must add little to every request. httpx's async
pool costs milliseconds per request under concurrency (bench/proxy.py showed
the proxy at a few percent of the mock's throughput with it), so this module
speaks HTTP/1.1 itself, with uvicorn's own response parser (``httptools``,
llhttp) for the framing: ``Content-Length``, chunked, or the connection's end.

Each connection is a :class:`.connection.Connection` (an asyncio Protocol).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from .connection import (
    BODY,
    HEAD,
    WHOLE,
    Abandoned,
    Connection,
    Headers,
    Scope,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreadable,
    serving,
)
from .framing import Shared

__all__ = [
    "Abandoned",
    "Answer",
    "Headers",
    "Upstream",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnreadable",
]

_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
_NO_BODY = frozenset({b"GET", b"HEAD", b"DELETE", b"OPTIONS", b"TRACE"})
_CUT_SHORT = "{} closed the connection before the end of its answer's body"


class Answer:
    """The upstream's answer: status and headers at once, the body as it comes."""

    #: Bytes of the body :meth:`chunks` has given (a recording keeps only the first ones);
    #: a class attribute until then, so that a judged answer, read whole, pays nothing.
    received = 0

    def __init__(self, upstream: Upstream, connection: Connection, head: bool) -> None:
        self.status = connection.status
        self.reason = connection.reason.decode("latin-1")
        self.headers = connection.headers
        self.names = connection.names  # lower-cased
        self._upstream = upstream
        self._connection: Connection | None = connection
        self._done = head or connection.done or self.status in (204, 304) or self.status < 200
        self._ended = False  # the body ended with the connection (no length, no chunks)

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header (``name`` lower-case)."""
        names = self.names
        return self.headers[names.index(name)][1] if name in names else None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, de-framed, chunk by chunk; :class:`UpstreamError` when the connection
        ended before the length or the chunks the answer announced."""
        connection = self._connection
        assert connection is not None
        while True:
            chunk = connection.take()
            if chunk is not None:
                self.received += len(chunk)
                yield chunk
                continue
            if self._done or connection.done:
                self._done = True
                return
            if connection.closed:  # the connection's end is the end of a body without a length
                self._done = self._ended = True
                if _framed(self.headers, self.names):  # and cuts short one with a length or chunks
                    raise connection.failure or UpstreamError(_CUT_SHORT.format(connection.where))
                return
            await connection.arrival(BODY)

    async def read(self, limit: int) -> bytes | bytearray:
        """The whole body; :class:`UpstreamError` past ``limit`` bytes, or when the connection
        ended before the length or the chunks the answer announced. A body the request
        was sent ``whole`` for comes as the buffer it was read into (never written to
        again)."""
        connection = self._connection
        assert connection is not None
        while not (
            self._done or connection.done or connection.closed or connection.buffered > limit
        ):
            await connection.arrival(WHOLE, limit)
        return self.read_now(limit)

    def read_now(self, limit: int) -> bytes | bytearray:
        """:meth:`read` once the connection has what it waits for (``WHOLE``, ``limit``)."""
        connection = self._connection
        assert connection is not None
        if connection.buffered > limit:
            raise UpstreamError(f"the upstream's answer is larger than {limit} bytes")
        self._ended = not (self._done or connection.done)
        self._done = True
        whole = connection.whole
        if whole is not None:
            if connection.filled == len(whole):
                return whole
            raise UpstreamError(  # the connection's end before the body's
                f"{connection.where} closed the connection after {connection.filled} "
                f"of the {len(whole)} bytes its answer announced"
            )
        if self._ended and _framed(self.headers, self.names):
            raise UpstreamError(_CUT_SHORT.format(connection.where))
        body = connection.body
        connection.body, connection.buffered = deque(), 0
        return body[0] if len(body) == 1 else b"".join(body)

    def release(self) -> None:
        """Back to the pool after a whole answer that keeps the connection; closed otherwise."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        idle = self._upstream._idle
        keep = self._done and not self._ended and connection.keep_alive
        keep = keep and not (connection.closed or connection.surplus)
        if keep and len(idle) < self._upstream.max_idle:
            connection.start()
            idle.append(connection)
        else:
            connection.close()


def _framed(headers: Headers, names: list[bytes]) -> bool:
    """Whether an answer's body ends by its own framing (RFC 9112 6.3): chunked last,
    or a length; else it ends with the connection, and its end is no loss."""
    if b"transfer-encoding" in names:
        coding = headers[names.index(b"transfer-encoding")][1]
        return coding.rpartition(b",")[2].strip().lower() == b"chunked"
    return b"content-length" in names


class Upstream:
    """A pool of HTTP/1.1 connections to one origin, at most ``max_idle`` of them idle and
    ``max_connecting`` being opened at once.

    A connection in use serves one request whose client is there (:func:`.connection.serving`:
    one a client connection, given up when its client leaves), so those are as many as
    the proxy's clients at most; the last bound is for connections being opened, which
    an upstream that is slow to accept (or never does) would otherwise let pile up for
    ``timeout`` each, one per request of clients that send and hang up."""

    def __init__(
        self, url: str, *, timeout: float, max_idle: int = 64, max_connecting: int = 1000
    ) -> None:
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.host = split.hostname
        self.port = split.port or (443 if split.scheme == "https" else 80)
        self.authority = split.netloc.rpartition("@")[2].encode("idna")
        self.prefix = split.path.rstrip("/").encode()
        self.ssl = ssl.create_default_context() if split.scheme == "https" else None
        self.timeout = timeout
        self.max_idle = max_idle
        self.max_connecting = max_connecting
        self.connecting = 0
        self.where = f"{self.host}:{self.port}"
        self._idle: deque[Connection] = deque()
        self._shared = Shared()  # by its connections: their reads, the answers they keep

    async def send(
        self,
        method: str,
        target: bytes,
        headers: Headers,
        body: bytes,
        *,
        whole: int = 0,
        owner: Scope | None = None,
    ) -> Answer:
        """Send one request (``target``: path and query as the client wrote them);
        ``whole``: the answer's body will be read whole (:meth:`Answer.read`) up to so
        many bytes, and may be read straight into place; ``owner``: the request's ASGI
        scope, which names the connection serving it (:func:`.connection.serving`)."""
        verb = method.encode("ascii")
        request = self.request(verb, target, headers, body)
        head = verb == b"HEAD"
        while (connection := self.idle()) is not None:
            try:
                return await self._exchange(connection, request, head, whole, owner)
            except (UpstreamTimeout, Abandoned, UpstreamUnreadable):
                raise  # an answer it cannot read is the upstream's, not sent again
            except UpstreamError:
                connection.close()
                if verb not in _IDEMPOTENT:
                    raise
                # A kept-alive connection the upstream had closed before any byte of an
                # answer (RFC 9112 9.3.1): try a fresh one, as the kit's client does.
        return await self._exchange(await self._connect(), request, head, whole, owner)

    def request(self, verb: bytes, target: bytes, headers: Headers, body: bytes) -> bytes:
        """The request as it is written to the upstream."""
        # One join of the parts: a %-format per header took half again as long.
        parts = [verb, b" ", self.prefix, target, b" HTTP/1.1\r\nhost: ", self.authority, b"\r\n"]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if body or verb not in _NO_BODY:
            parts.append(b"content-length: %d\r\n" % len(body))
        parts += (b"\r\n", body)
        return b"".join(parts)

    def idle(self) -> Connection | None:
        """A kept-alive connection of the pool that is still open, if any, for a request."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
        await asyncio.sleep(0)  # the transports close in the loop's next turn

    async def _connect(self) -> Connection:
        if self.connecting >= self.max_connecting:
            raise UpstreamError(f"{self.where}: {self.max_connecting} connections being opened")
        loop = asyncio.get_running_loop()
        self.connecting += 1
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(self.where, self.timeout, self._shared),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"connecting to {self.where} timed out") from exc
        except OSError as exc:
            raise UpstreamError(f"{self.where}: {exc.strerror or exc}") from exc
        finally:
            self.connecting -= 1
        return connection

    async def _exchange(
        self, connection: Connection, request: bytes, head: bool, whole: int, owner: Scope | None
    ) -> Answer:
        if owner is not None:
            serving(owner, connection)
        connection.send(request, 0 if head else whole)
        while not connection.head_done:
            if connection.closed:
                raise connection.failure or UpstreamError(f"{self.where} closed the connection")
            await connection.arrival(HEAD)
        return Answer(self, connection, head)
