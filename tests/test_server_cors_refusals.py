"""What the HTTP layer refuses, a browser can read: CORS on the answers below the app.

The connection cap's 503 (with ``Retry-After``) and a head past the cap are
written by the protocol, before any header is read, so the CORS layer never
saw them: a frontend's ``fetch`` got an opaque network error where the
contract promises a 503 it can wait out. Under the default (every origin) they
now carry ``Access-Control-Allow-Origin: *``; with ``--cors-origin`` (the
origin is not read there) they carry none. A real server process, raw sockets.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from factories import PARENT_KEY
from server_support import ME, uvicorn_server

ORIGIN = "http://localhost:5173"


def _connect(base: str) -> socket.socket:
    address = urlsplit(base)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def _answer(sock: socket.socket, request: bytes = b"") -> str:
    """The head of what ``sock`` is answered (``request`` sent first, when given)."""
    with sock:
        if request:
            sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
    return answer.partition(b"\r\n\r\n")[0].decode("latin-1").lower()


def _get(extra: str = "") -> bytes:
    return (
        f"GET {ME} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\n"
        f"X-API-Key: {PARENT_KEY}\r\n{extra}Connection: close\r\n\r\n"
    ).encode()


def _refusals(base: str) -> dict[str, str]:
    too_large = _answer(_connect(base), _get("X-Filler: " + "a" * 70_000 + "\r\n"))
    held = _connect(base)  # the one connection --max-connections 1 allows
    try:
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        held.recv(65536)
        over = _answer(_connect(base))  # refused before a byte is read
    finally:
        held.close()
    return {"connections": over, "head": too_large}


def test_refusals_below_the_app_are_readable_across_origins() -> None:
    with uvicorn_server(max_connections=1) as base:
        refusals = _refusals(base)
    assert refusals["connections"].startswith("http/1.1 503"), refusals
    assert refusals["head"].startswith("http/1.1 4"), refusals
    for head in refusals.values():
        assert "access-control-allow-origin: *" in head, head


def test_with_named_origins_they_name_none() -> None:
    with uvicorn_server(max_connections=1, cors_origins=(ORIGIN,)) as base:
        refusals = _refusals(base)
    for head in refusals.values():
        assert "access-control-allow-origin" not in head, head
