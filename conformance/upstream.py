"""The proxy's client to its upstream: HTTP/1.1 over a pool of kept-alive connections.

The proxy forwards bytes; it needs no cookies, redirects, retries of its own
or content decoding, and it must add little to every request. httpx's async
pool costs milliseconds per request under concurrency (bench/proxy.py showed
the proxy at a few percent of the mock's throughput with it), so this module
speaks HTTP/1.1 itself on asyncio streams, with uvicorn's own response parser
(``httptools``, llhttp) for the framing: ``Content-Length``, chunked, or the
connection's end.

A request goes out with the headers it came with (the caller drops the
hop-by-hop ones), its body whole; the answer's body comes back as its chunks,
de-framed but otherwise as sent (still compressed if it was). A connection goes
back to the pool only after a complete answer that allows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

__all__ = ["Answer", "Headers", "Upstream", "UpstreamError", "UpstreamTimeout"]

Headers = list[tuple[bytes, bytes]]
_READ = 65_536
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})


class UpstreamError(ConnectionError):
    """The upstream could not be reached, or broke the connection."""


class UpstreamTimeout(UpstreamError, TimeoutError):
    """The upstream did not answer in time."""


@dataclass(slots=True, eq=False)
class _Parsing:
    """httptools' callbacks: what has arrived of one answer."""

    reason: bytearray = field(default_factory=bytearray)
    headers: Headers = field(default_factory=list)
    body: deque[bytes] = field(default_factory=deque)
    head_done: bool = False
    done: bool = False
    keep_alive: bool = False
    parser: httptools.HttpResponseParser | None = None

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True
        # llhttp forgets it once the message is complete: ask while the head is fresh.
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class Answer:
    """The upstream's answer: status and headers at once, the body as it comes."""

    def __init__(
        self,
        upstream: Upstream,
        connection: _Connection,
        parser: httptools.HttpResponseParser,
        state: _Parsing,
        head: bool,
    ) -> None:
        self.status = parser.get_status_code()
        self.reason = state.reason.decode("latin-1")
        self.headers = state.headers
        self._upstream = upstream
        self._connection: _Connection | None = connection
        self._parser = parser
        self._state = state
        self._done = head or state.done or self.status in (204, 304) or self.status < 200

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, de-framed, chunk by chunk."""
        state = self._state
        while True:
            while state.body:
                yield state.body.popleft()
            if self._done or state.done:
                self._done = True
                return
            connection = self._connection
            assert connection is not None
            data = await self._upstream._read(connection)
            if not data:  # the connection's end is the end of a body without a length
                self._done = True
                self._parser = None
                return
            self._upstream._feed(self._parser, data)

    async def read(self, limit: int) -> bytes:
        """The whole body; :class:`UpstreamError` past ``limit`` bytes."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise UpstreamError(f"the upstream's answer is larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def release(self) -> None:
        """Back to the pool after a whole answer that keeps the connection; closed otherwise."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        idle = self._upstream._idle
        keep = self._done and self._parser is not None and self._state.keep_alive
        if keep and len(idle) < self._upstream.max_idle:
            idle.append(connection)
        else:
            connection.close()


class Upstream:
    """A pool of HTTP/1.1 connections to one origin."""

    def __init__(self, url: str, *, timeout: float, max_idle: int = 64) -> None:
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
        self._idle: deque[_Connection] = deque()

    async def send(self, method: str, target: bytes, headers: Headers, body: bytes) -> Answer:
        """Send one request (``target``: path and query as the client wrote them)."""
        verb = method.encode("ascii")
        lines = [b"%s %s%s HTTP/1.1\r\nhost: %s\r\n" % (verb, self.prefix, target, self.authority)]
        lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
        if body or verb not in (b"GET", b"HEAD", b"DELETE", b"OPTIONS", b"TRACE"):
            lines.append(b"content-length: %d\r\n" % len(body))
        request = b"".join([*lines, b"\r\n", body])
        while self._idle:
            connection = self._idle.pop()
            try:
                return await self._exchange(connection, request, head=verb == b"HEAD")
            except UpstreamTimeout:
                raise
            except UpstreamError:
                connection.close()
                if verb not in _IDEMPOTENT:
                    raise
                # A kept-alive connection the upstream had closed: try a fresh one.
        return await self._exchange(await self._connect(), request, head=verb == b"HEAD")

    async def aclose(self) -> None:
        while self._idle:
            connection = self._idle.pop()
            connection.close()
            with contextlib.suppress(OSError):
                await connection.writer.wait_closed()

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl, limit=_READ
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"connecting to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise UpstreamError(f"{self.host}:{self.port}: {exc.strerror or exc}") from exc
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, request: bytes, *, head: bool) -> Answer:
        state = _Parsing()
        parser = state.parser = httptools.HttpResponseParser(state)
        try:
            connection.writer.write(request)
            await connection.writer.drain()
        except OSError as exc:
            connection.close()
            raise UpstreamError(f"sending to {self.host}:{self.port}: {exc}") from exc
        while not state.head_done:
            data = await self._read(connection)
            if not data:
                raise UpstreamError(f"{self.host}:{self.port} closed the connection")
            self._feed(parser, data)
        return Answer(self, connection, parser, state, head)

    async def _read(self, connection: _Connection) -> bytes:
        try:
            async with asyncio.timeout(self.timeout):
                return await connection.reader.read(_READ)
        except TimeoutError as exc:
            connection.close()
            raise UpstreamTimeout(f"{self.host}:{self.port} did not answer in time") from exc
        except OSError as exc:
            connection.close()
            raise UpstreamError(f"reading from {self.host}:{self.port}: {exc}") from exc

    @staticmethod
    def _feed(parser: httptools.HttpResponseParser | None, data: bytes) -> None:
        if parser is None:
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise UpstreamError(f"the upstream's answer is not HTTP/1.1: {exc}") from exc
