"""``usagekit proxy`` holds a bounded number of connections, and nothing for ever.

A real proxy process in front of an upstream served from this process (which
counts the requests under way at it), asked over raw sockets; its descriptors
are read from ``/proc/PID/fd`` and its memory from ``/proc/PID/status``. The
mock's twins are in ``test_server_connections.py``.

* a connection cap (``--max-connections``): one more client connection is answered
  ``503 service_unavailable`` and let go at once;
* the upstream connection serving a request is released when its client leaves
  (else a client that sends and hangs up makes the proxy hold one per request);
* a client that stops reading its answer is dropped after ``--read-timeout``, and the
  upstream connection serving it is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from connection_support import answer, connect, read_all, read_one
from proxy_support import proxy_process
from servers.running import serving

pytestmark = pytest.mark.slow

READ_TIMEOUT = 1.0
USAGE = "/v1/accounts/{}/analytics/usage"
BIG = 1 << 20  # bytes of /big's answer


class Upstream:
    """An upstream that counts the requests under way at it: ``slow`` answers only when
    its connection ends, ``big`` a MiB, ``/stream`` never ends, anything else at once."""

    def __init__(self) -> None:
        self.under_way = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.under_way += 1
        try:
            await self._answer(scope["path"], receive, send)
        finally:
            self.under_way -= 1

    async def _answer(self, path: str, receive: Any, send: Any) -> None:
        if "slow" in path:
            await _until_gone(receive)
            return
        if path == "/stream":
            await _stream(receive, send)
            return
        body = b"x" * BIG if "big" in path else b'{"ok": true}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _until_gone(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream(receive: Any, send: Any) -> None:
    gone = asyncio.ensure_future(_until_gone(receive))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while not gone.done():
        await send({"type": "http.response.body", "body": b"y" * 65536, "more_body": True})


@pytest.fixture
def upstream() -> Iterator[tuple[str, Upstream]]:
    app = Upstream()
    with serving(app) as base:
        yield base, app


@contextlib.contextmanager
def proxied(upstream: str, *args: str) -> Iterator[tuple[str, int]]:
    """The proxy's URL and pid; once the block is done, it has logged no error."""
    with proxy_process(upstream, "--read-timeout", str(READ_TIMEOUT), *args) as (base, process):
        yield base, process.pid
        process.kill()  # what it logs, it logs at once; requests still under way are not waited for
        _, log = process.communicate(timeout=15)
    assert not [line for line in log.splitlines() if "ERROR" in line], log


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def until(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether ``condition`` holds within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()


# -- the connection cap -----------------------------------------------------------------


def test_past_max_connections_a_503_in_the_contract_shape_and_close(upstream) -> None:
    base, _ = upstream
    with proxied(base, "--max-connections", "3") as (proxy, _):
        held = [connect(proxy) for _ in range(3)]
        try:
            time.sleep(0.2)
            with connect(proxy) as sock:
                status, headers, body = answer(read_all(sock))
            held[0].sendall(get("/fast"))  # the held ones are served
            assert answer(read_one(held[0]))[0] == 200
        finally:
            for sock in held:
                sock.close()
    assert (status, headers["content-type"], headers["connection"]) == (
        503,
        "application/json",
        "close",
    )
    assert (body["code"], headers["retry-after"]) == ("service_unavailable", "1")


def test_hundreds_of_idle_clients_hold_no_more_descriptors_than_the_cap(upstream) -> None:
    # Unbounded, each idle client held a descriptor of the proxy's for --read-timeout:
    # enough of them at once and it could accept nobody (EMFILE).
    base, _ = upstream
    with proxied(base, "--max-connections", "20") as (proxy, pid):
        before = fds(pid)
        held = [connect(proxy) for _ in range(300)]
        try:
            time.sleep(0.3)
            during = fds(pid)
        finally:
            for sock in held:
                sock.close()
    assert during - before <= 20 + 2, (before, during)


# -- the upstream's connections follow their clients ------------------------------------


def _sent_and_left(proxy: str, path: str, how: str) -> None:
    with connect(proxy) as sock, contextlib.suppress(OSError):  # refused: reset, say
        if how == "kept alive first":  # the pool then has a connection: taken at once
            sock.sendall(get("/fast"))
            read_one(sock)
        sock.sendall(get(path) * (2 if how == "pipelined" else 1))
        if how == "half-closed":
            sock.shutdown(socket.SHUT_WR)
        time.sleep(0.01)


@pytest.mark.parametrize("how", ["sent", "half-closed", "kept alive first"])
@pytest.mark.parametrize("path", [USAGE.format("slow"), "/slow"], ids=["judged", "other"])
def test_a_client_that_leaves_releases_the_upstream_connection(upstream, path, how) -> None:
    # Unreleased, each request whose client hung up held an upstream connection (and a
    # descriptor) until the upstream answered or --timeout passed: a client that sends
    # and hangs up, again and again, opened upstream connections without bound.
    base, app = upstream
    with proxied(base, "--timeout", "60") as (proxy, pid):
        before = fds(pid)
        for _ in range(40):
            _sent_and_left(proxy, path, how)
        until(lambda: app.under_way == 0, 3)
        under_way, after = app.under_way, fds(pid)
    assert under_way == 0, f"{under_way} requests still under way at the upstream"
    assert after - before < 10, (before, after)


def test_a_client_that_leaves_an_endless_stream_mid_body_releases_its_upstream(upstream) -> None:
    # An event stream's client that goes after some of it: the proxy read on for nobody
    # unless the connection serving it ends with the client's (the protocol's release of
    # it; proxy._gone did the same from the app's side, and is gone).
    base, app = upstream
    with proxied(base) as (proxy, pid):
        before = fds(pid)
        for _ in range(20):
            with connect(proxy) as sock:
                sock.sendall(get("/stream"))
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
                sock.recv(65536)  # some of the body
        until(lambda: app.under_way == 0, 3)
        under_way, after = app.under_way, fds(pid)
    assert under_way == 0, f"{under_way} streams still under way at the upstream"
    assert after - before < 10, (before, after)


@pytest.mark.parametrize("path", [USAGE.format("slow"), "/slow"], ids=["judged", "other"])
def test_clients_that_left_pipelined_requests_hold_no_more_than_the_cap(upstream, path) -> None:
    # A request waiting behind the one under way has the proxy stop reading (uvicorn's
    # pipelining), so the client's leaving is not seen until that one is answered: its
    # connection stays, counted against the cap, and so do the upstream's in use.
    base, app = upstream
    with proxied(base, "--timeout", "60", "--max-connections", "10") as (proxy, pid):
        before = fds(pid)
        for _ in range(40):
            _sent_and_left(proxy, path, "pipelined")
        time.sleep(0.5)
        under_way, after = app.under_way, fds(pid)
    assert under_way <= 10
    assert after - before <= 2 * 10 + 5, (before, after)


# -- a client that stops reading --------------------------------------------------------


def _never_reading(proxy: str) -> socket.socket:
    host, port = proxy.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    return sock


def _dropped(sock: socket.socket) -> bool:
    """Whether the proxy ended ``sock``'s connection: what it holds is read, then its end
    (a connection still served sends on, or nothing, for as long as it is read)."""
    sock.settimeout(1)
    deadline = time.monotonic() + 2
    try:
        while sock.recv(1 << 20):
            if time.monotonic() > deadline:
                return False
    except TimeoutError:
        return False
    except OSError:  # reset: dropped with its answer unsent
        pass
    return True


@pytest.mark.parametrize(
    "requests",
    [get(USAGE.format("big")) * 200, get("/big") * 200, get("/stream"), get("/stream") * 2],
    ids=["judged, pipelined", "other, pipelined", "endless stream", "endless, pipelined"],
)
def test_a_client_that_stops_reading_is_dropped_and_its_upstream_released(
    upstream, requests
) -> None:
    # Unbounded, the proxy waited for ever for the client to take its answer, holding the
    # answer, the connection and the upstream's connection serving it.
    base, app = upstream
    with proxied(base) as (proxy, pid):
        before, memory = fds(pid), rss_mib(pid)
        clients = [_never_reading(proxy) for _ in range(10)]
        try:
            for sock in clients:
                sock.sendall(requests)
            time.sleep(0.5)
            grown = rss_mib(pid) - memory
            until(lambda: app.under_way == 0 and fds(pid) <= before + 10, 4)
            under_way, after = app.under_way, fds(pid)
            dropped = [_dropped(sock) for sock in clients]
        finally:
            for sock in clients:
                sock.close()
    assert under_way == 0, f"{under_way} requests still under way at the upstream"
    assert after - before <= 10, (before, after)
    assert all(dropped)
    assert grown < 100, f"{grown:.0f} MiB"  # a few answers' worth per client, not 200


def test_a_client_that_reads_slowly_is_not_dropped(upstream) -> None:
    # The deadline is for a client that takes nothing: one that takes its answer a piece
    # at a time, more slowly than --read-timeout in all, gets all of it.
    base, _ = upstream
    with proxied(base) as (proxy, _), _never_reading(proxy) as sock:
        sock.sendall(get("/big"))
        started = time.monotonic()
        sock.settimeout(5)
        data = b""
        while len(data.partition(b"\r\n\r\n")[2]) < BIG and (chunk := sock.recv(32768)):
            data += chunk
            time.sleep(0.02)
        took = time.monotonic() - started
    assert len(data.partition(b"\r\n\r\n")[2]) == BIG
    assert took > READ_TIMEOUT
