"""The proxy's server protocol: an answer's head leaves with its body, in one write."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote_to_bytes

import pytest
import uvicorn
from httptools import HttpParserError, HttpResponseParser
from processes import in_thread
from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE

from usagekit.conformance.protocol import WHOLE, ProxyProtocol
from usagekit.mock.wire import OneWrite


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, parts: tuple[bytes, ...]) -> None:
        self.writes.append(b"".join(parts))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_the_head_is_held_until_the_body_and_flushed_when_there_is_none() -> None:
    transport = Transport()
    one = OneWrite(transport)  # type: ignore[arg-type]
    one.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # must leave at once
    one.write(b"HEAD\r\n\r\n")
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    one.write(b"body")
    one.write(b"more")
    assert transport.writes[1:] == [b"HEAD\r\n\r\nbody", b"more"]

    bare = Transport()
    one = OneWrite(bare)  # type: ignore[arg-type]
    one.write(b"HEAD\r\n\r\n")
    assert not one.is_closing()  # everything else is the transport's
    one.close()
    assert bare.writes == [b"HEAD\r\n\r\n"]
    assert bare.closed

    whole = Transport()  # a whole answer in one call (whole.write_now), after a held head
    one = OneWrite(whole)  # type: ignore[arg-type]
    one.write(b"HEAD\r\n\r\n")
    one.writelines((b"head\r\n\r\n", b"body"))
    one.write(b"more")
    assert whole.writes == [b"HEAD\r\n\r\n", b"head\r\n\r\nbody", b"more"]


_WRITTEN: list[bool] = []  # what the extension answered, request by request


async def _app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    status = int(scope["path"].strip("/") or 200)
    body = b"" if status in (204, 304) else b"hello"
    headers = [(b"content-length", str(len(body)).encode())] if body else []
    name, _, value = scope["query_string"].partition(b"=")
    if name:  # ?plain=VALUE or ?whole=VALUE: one more header, by ASGI or the extension
        headers.append((b"x-value", unquote_to_bytes(value)))
    if name == b"whole":
        written = await scope["extensions"][WHOLE](send, status, headers, body)
        _WRITTEN.append(written)
        if written:
            return
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def _serving(keep_alive: float = 5.0) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            _app,
            port=port,
            http=ProxyProtocol,
            lifespan="off",
            log_level="warning",
            access_log=False,  # as the proxy serves (a logged answer is sent by ASGI)
            timeout_keep_alive=keep_alive,
        )
    )
    with in_thread(server):
        yield port


@pytest.mark.parametrize(("method", "path"), [("GET", "/200"), ("HEAD", "/200"), ("GET", "/204")])
def test_every_answer_arrives_whole_on_a_kept_alive_connection(method: str, path: str) -> None:
    async def go(port: int) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        heads = []
        for _ in range(2):  # the second answer proves the first one completed
            writer.write(f"{method} {path} HTTP/1.1\r\nhost: localhost\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            if method == "GET" and path == "/200":
                assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
            heads.append(head.split(b" ", 2)[0] + b" " + head.split(b" ", 2)[1])
        writer.close()
        return heads

    with _serving() as port:
        heads = asyncio.run(go(port))
    assert heads == [f"HTTP/1.1 {path.strip('/')}".encode()] * 2


async def _exchange(port: int, requests: list[bytes]) -> bytes:
    """Everything the server writes back to ``requests`` on one connection, until it closes
    it or is quiet for a moment."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(requests))
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(1 << 16), 0.5):
            received += chunk
    except TimeoutError:
        pass
    writer.close()
    return received


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/200", "/502", "/204"])
@pytest.mark.parametrize("close", [False, True])
def test_a_whole_answer_is_written_as_uvicorns_send_writes_it(
    method: str, path: str, close: bool
) -> None:
    """Byte for byte what ASGI's two messages give, the connection kept alive or closed alike
    (the second request proves the cycle completed; HEAD and 204 are declined, sent by ASGI)."""
    connection = b"connection: close\r\n" if close else b""
    requests = {
        query: [
            f"{method} {path}?{query} HTTP/1.1\r\nhost: localhost\r\n".encode()
            + connection
            + b"\r\n"
        ]
        * 2
        for query in ("plain=v", "whole=v")
    }
    _WRITTEN.clear()
    with _serving() as port:
        plain, whole = (asyncio.run(_exchange(port, requests[q])) for q in requests)
    assert whole == plain
    declined = method == "HEAD" or path == "/204"
    assert [not declined] * (1 if close else 2) == _WRITTEN
    assert whole.count(b"HTTP/1.1 ") == (1 if close else 2)
    assert (b"connection: close\r\n" in whole) == close


def test_a_header_uvicorn_refuses_is_declined_and_refused_by_uvicorn() -> None:
    with _serving() as port:
        received = asyncio.run(
            _exchange(port, [b"GET /200?whole=a%01b HTTP/1.1\r\nhost: localhost\r\n\r\n"])
        )
    assert received == b""  # uvicorn's send raised on the value: the connection is closed
    assert _WRITTEN[-1] is False


@pytest.mark.parametrize("where", ["name", "value"])
def test_no_header_llhttp_reads_is_one_uvicorns_send_refuses(where: str) -> None:
    """The proxy writes an upstream's headers without uvicorn's two regular expressions
    (``write_whole(checked=True)``): llhttp, which reads them, refuses every byte they
    refuse, in a name or in a value."""

    class Head:
        def __init__(self) -> None:
            self.headers: list[tuple[bytes, bytes]] = []

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

    read = []
    for byte in range(256):
        head = Head()
        one = bytes([byte])
        line = b"x" + one + b"y: ab" if where == "name" else b"x: a" + one + b"b"
        try:
            HttpResponseParser(head).feed_data(b"HTTP/1.1 200 OK\r\n" + line + b"\r\n\r\n")
        except HttpParserError:
            continue
        read += head.headers
    assert len(read) > (70 if where == "name" else 200)  # what a header may hold was read
    assert not [name for name, _ in read if HEADER_RE.search(name)]
    assert not [value for _, value in read if HEADER_VALUE_RE.search(value)]


def test_a_kept_alive_connection_is_closed_once_idle_as_long_as_uvicorn_lets_it_be() -> None:
    """One timer per connection, its deadline moved by every answer: a connection asked
    more often than the keep-alive lives on, an idle one is closed after it."""
    keep_alive = 0.4

    async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"GET /200 HTTP/1.1\r\nhost: localhost\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"hello"), 5)

    async def go(port: int) -> tuple[float, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        while time.perf_counter() - started < 4 * keep_alive:  # busy: lives on
            await ask(reader, writer)
            await asyncio.sleep(keep_alive / 4)
        busy = time.perf_counter() - started
        await ask(reader, writer)
        answered = time.perf_counter()
        assert await asyncio.wait_for(reader.read(), 5 * keep_alive) == b""  # closed
        writer.close()
        return busy, time.perf_counter() - answered

    with _serving(keep_alive) as port:
        busy, idle = asyncio.run(go(port))
    assert busy >= 4 * keep_alive
    assert keep_alive * 0.9 <= idle < keep_alive * 3
