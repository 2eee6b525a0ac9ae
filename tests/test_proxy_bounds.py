"""``usagekit proxy``'s server side is bounded as the mock's is: a head cap and a request deadline.

A real proxy process (``--read-timeout 1``) in front of an upstream that echoes
what reached it, asked over raw sockets; the mock's twins of these tests are in
``test_server_connections.py``.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator

import pytest
from connection_support import (
    ENDLESS_HEADERS,
    TOO_LARGE,
    answer,
    connect,
    read_all,
    read_one,
)
from proxy_support import proxy_process
from servers.running import serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from usagekit.mock.bounds import MAX_HEAD_BYTES

pytestmark = pytest.mark.slow

READ_TIMEOUT = 1.0


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"pad": len(request.headers.get("x-pad", "")), "body": len(body)})


@pytest.fixture(scope="module")
def proxy() -> Iterator[str]:
    upstream_app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])
    with (
        serving(upstream_app) as upstream,
        proxy_process(upstream, "--read-timeout", str(READ_TIMEOUT)) as (base, _),
    ):
        yield base


def _refused(sock: socket.socket) -> dict[str, str]:
    status, headers, body = answer(read_all(sock))
    assert (status, headers["content-type"], headers["connection"]) == (
        400,
        "application/json",
        "close",
    )
    assert body["code"] == "bad_request"
    return body


@ENDLESS_HEADERS
def test_a_header_that_never_ends_is_400_before_the_read_timeout(proxy, pad, message) -> None:
    # httptools holds a header until it ends: unchecked, the proxy kept it whole (and
    # forwarded it, once it ended) and answered nothing while it did not.
    started = time.monotonic()
    with connect(proxy) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n" + pad)
        sock.sendall(pad)  # read and dropped after the refusal: no reset loses the answer
        body = _refused(sock)
    assert body["message"] == message
    assert time.monotonic() - started < READ_TIMEOUT


@pytest.mark.parametrize(
    "head",
    [
        b"X-Pad: " + b"x" * (MAX_HEAD_BYTES + 1) + b"\r\n",
        b"".join(b"X-Pad-%d: " % i + b"x" * 1000 + b"\r\n" for i in range(80)),
        b"X-Pad: " + b"x" * 200_000 + b"\r\n",  # the review's: it was forwarded whole
    ],
    ids=["one header", "many headers", "200 KB"],
)
def test_an_oversize_head_sent_whole_is_400_and_not_forwarded(proxy, head) -> None:
    with connect(proxy) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n" + head + b"\r\n")
        assert _refused(sock)["message"] == TOO_LARGE


def test_an_oversize_request_line_is_400(proxy) -> None:
    with connect(proxy) as sock:
        sock.sendall(b"GET /echo?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert _refused(sock)["message"] == TOO_LARGE


def test_a_head_under_the_cap_is_forwarded_whole(proxy) -> None:
    pad = b"x" * (MAX_HEAD_BYTES - 1000)
    with connect(proxy) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + pad + b"\r\n\r\n")
        status, _, body = answer(read_one(sock))
    assert (status, body["pad"]) == (200, len(pad))


def test_a_pipelined_burst_of_heads_is_not_taken_for_one_large_head(proxy) -> None:
    # The reads of a burst each end inside some head, and heads begin in reads that end
    # others: only one head's bytes count. Bodies between them are no head's either.
    get = b"GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"x" * 3000 + b"\r\n\r\n"
    post = (
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 70000\r\n\r\n" + b"b" * 70_000
    )
    burst = [get] * 40 + [post, get] * 3
    with connect(proxy) as sock:
        sock.sendall(b"".join(burst))
        answers = _answers(sock, len(burst))
    assert [(status, body["pad"], body["body"]) for status, _, body in answers] == [
        (200, 3000, 0) if request is get else (200, 0, 70_000) for request in burst
    ]


def _answers(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], dict]]:
    """``count`` pipelined answers, which may share a read."""
    data, found = b"", []
    while len(found) < count:
        head, sep, rest = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n")[0]) if sep else 0
        if sep and len(rest) >= length:
            found.append(answer(head + sep + rest[:length]))
            data = rest[length:]
            continue
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(found)} answers"
        data += chunk
    return found


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the proxy closed ``sock`` (with nothing written), at most ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    assert sock.recv(65536) == b""
    return time.monotonic() - started


def test_a_silent_connection_is_closed_after_the_read_timeout(proxy) -> None:
    with connect(proxy) as sock:
        assert _closed_within(sock, READ_TIMEOUT + 2) > READ_TIMEOUT * 0.9


def test_a_slow_client_is_closed_however_it_trickles(proxy) -> None:
    # Slowloris: a header now and then, never a whole head. Unbounded, the connection was
    # held for ever (no timer runs before a connection's first answer).
    with connect(proxy) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /echo HTTP/1.1\r\n")
        while time.monotonic() - started < READ_TIMEOUT + 2:
            try:
                sock.sendall(b"X-A: b\r\n")
                if select.select([sock], [], [], 0.1)[0] and sock.recv(65536) == b"":
                    break
            except OSError:  # a reset or a broken pipe: closed
                break
        else:
            pytest.fail("still open")
    assert READ_TIMEOUT * 0.9 < time.monotonic() - started < READ_TIMEOUT + 1


def test_a_body_that_never_completes_is_closed(proxy) -> None:
    with connect(proxy) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789"
        )
        assert _closed_within(sock, READ_TIMEOUT + 2) < READ_TIMEOUT + 2


def test_a_later_request_on_the_connection_gets_its_own_deadline(proxy) -> None:
    # Kept alive after an answer, a half-sent next request is closed at the read
    # timeout (a second), not at the keep-alive's (five).
    with connect(proxy) as sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert answer(read_one(sock))[0] == 200
        time.sleep(0.5)
        sock.sendall(b"GET /echo HTTP/1.1\r\n")
        assert 0.5 * READ_TIMEOUT < _closed_within(sock, READ_TIMEOUT + 2) < READ_TIMEOUT + 1
