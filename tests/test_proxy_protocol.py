"""The proxy's server protocol: an answer's head leaves with its body, in one write."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from usagekit.conformance.protocol import ProxyProtocol
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


async def _app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    status = int(scope["path"].strip("/") or 200)
    body = b"" if status in (204, 304) else b"hello"
    headers = [(b"content-length", str(len(body)).encode())] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def _serving() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_app, port=port, http=ProxyProtocol, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.mark.parametrize(("method", "path"), [("GET", "/200"), ("HEAD", "/200"), ("GET", "/204")])
def test_every_answer_arrives_whole_on_a_kept_alive_connection(method: str, path: str) -> None:
    async def go(port: int) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        heads = []
        for _ in range(2):  # the second answer proves the first one completed
            writer.write(f"{method} {path} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            if method == "GET" and path == "/200":
                assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"
            heads.append(head.split(b" ", 2)[0] + b" " + head.split(b" ", 2)[1])
        writer.close()
        return heads

    with _serving() as port:
        heads = asyncio.run(go(port))
    assert heads == [f"HTTP/1.1 {path.strip('/')}".encode()] * 2
