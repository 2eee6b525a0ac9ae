"""CORS covers the contract, not the workbench's own data: a page elsewhere cannot read it.

A browser is on loopback, so any page it shows may ask the mock on 127.0.0.1
for ``/_usagekit/requests`` (the journal), ``/_usagekit/names`` or
``/demo/config.json`` (the dataset's demo keys: with ``--data``, real keys of
the user's data). Under the default (every origin) they were answered with
``Access-Control-Allow-Origin: *``, so that page could read them -- and then
the usage of every account those keys reach. They are now answered
cross-origin only to an origin ``--cors-origin`` names; the contract's own
surface keeps ``*``. A real server process, raw sockets.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from factories import PARENT_KEY
from server_support import ME, uvicorn_server

ELSEWHERE = "https://elsewhere.example"
APP = "http://localhost:5173"
PRIVATE = ["/_usagekit/requests", "/_usagekit/names", "/_usagekit/status", "/demo/config.json"]
PUBLIC = [ME, "/openapi.json", "/healthz"]


def _head(base: str, path: str, origin: str, method: str = "GET", extra: str = "") -> str:
    """The status line and headers of ``method path`` sent from ``origin``, lower-cased."""
    address = urlsplit(base)
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {origin}\r\n"
        f"X-API-Key: {PARENT_KEY}\r\n{extra}Connection: close\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.partition(b"\r\n\r\n")[0].decode("latin-1").lower()


@pytest.fixture(scope="module")
def every_origin():
    with uvicorn_server() as base:
        yield base


@pytest.mark.parametrize("path", PRIVATE)
def test_a_page_elsewhere_cannot_read_the_workbench(every_origin, path: str) -> None:
    head = _head(every_origin, path, ELSEWHERE)
    assert head.startswith("http/1.1 200"), head
    assert "access-control-allow-origin" not in head
    assert "vary: origin" in head  # a cache must not hand it to a page that may read it


@pytest.mark.parametrize("path", PUBLIC)
def test_the_contract_stays_open_to_every_origin(every_origin, path: str) -> None:
    head = _head(every_origin, path, ELSEWHERE)
    assert "access-control-allow-origin: *" in head


def test_no_preflight_lets_a_page_elsewhere_in(every_origin) -> None:
    preflight = "Access-Control-Request-Method: GET\r\n"
    head = _head(every_origin, "/_usagekit/requests", ELSEWHERE, "OPTIONS", preflight)
    assert "access-control-allow-origin" not in head
    assert not head.startswith("http/1.1 2"), head


def test_an_origin_named_with_cors_origin_reads_the_workbench() -> None:
    with uvicorn_server(cors_origins=(APP,)) as base:
        head = _head(base, "/_usagekit/requests", APP)
        assert f"access-control-allow-origin: {APP}" in head
        assert "access-control-allow-origin" not in _head(base, "/demo/config.json", ELSEWHERE)
