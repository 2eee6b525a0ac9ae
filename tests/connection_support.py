"""What the real-socket connection tests share: a served mock and raw reads and writes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from server_support import uvicorn_server


def connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_one(sock: socket.socket) -> bytes:
    """One answer off a keep-alive connection: its head, then content-length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {head + body!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and JSON body of one raw HTTP/1.1 answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    headers = {k.lower(): v for k, v in headers.items()}
    return int(status_line.split()[1]), headers, json.loads(body)


def raw_request(base: str, data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    with connect(base) as sock:
        sock.sendall(data)
        return answer(read_all(sock))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with uvicorn_server(read_timeout=1.0, keep_alive=1.0, max_requests=4) as base:
        yield base


TOO_LARGE = "The request head is too large."

#: Heads whose one header never ends (and one with a malformed line first), each with the
#: message of both servers' 400: the mock's and the proxy's bounds are tested alike.
ENDLESS_HEADERS = pytest.mark.parametrize(
    ("pad", "message"),
    [
        (b"X-Pad: " + b"x" * 300_000, TOO_LARGE),
        (b"X-" + b"x" * 300_000, TOO_LARGE),
        (b"Bad Header\r\nX-Pad: " + b"x" * 300_000, "The request could not be read."),
    ],
    ids=["value", "name", "malformed first"],
)
