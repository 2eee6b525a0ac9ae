"""Connection hygiene over a real socket: deadlines, caps, answers below the app, SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connection_support import (
    ENDLESS_HEADERS,
    answer,
    connect,
    raw_request,
    read_all,
    read_one,
    server,
)
from factories import PARENT_KEY
from processes import running
from server_support import ME, SERVE, TESTS, free_port, uvicorn_server, wait_healthy

from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.protocol import MAX_HEAD_BYTES

__all__ = ["server"]  # a fixture, used by name


def test_a_half_sent_request_is_closed_after_the_read_timeout(server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert time.monotonic() - started < 3


def test_a_later_request_on_the_connection_gets_its_own_whole_deadline(server) -> None:
    # The connection's one deadline timer, armed for the first request, must neither close
    # the connection at that request's deadline nor let the second run past its own.
    with connect(server) as sock:
        first = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_one(sock).startswith(b"HTTP/1.1 200")
        time.sleep(0.6)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        second = time.monotonic()
        sock.settimeout(first + 1.3 - time.monotonic())
        with pytest.raises(TimeoutError):  # the first request's deadline has passed
            sock.recv(100)
        sock.settimeout(10)
        assert sock.recv(100) == b""
        assert 0.9 < time.monotonic() - second < 3


def test_a_silent_connection_is_closed_too(server) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert time.monotonic() - started < 3


def test_others_are_answered_while_hundreds_of_requests_are_half_sent(server) -> None:
    held = [connect(server) for _ in range(300)]
    try:
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        started = time.monotonic()
        response = httpx.get(f"{server}{ME}", headers={"X-API-Key": PARENT_KEY}, timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < 1
    finally:
        for sock in held:
            sock.close()


def test_an_oversize_head_is_400_in_the_contract_shape(server) -> None:
    pad = b"x" * (MAX_HEAD_BYTES + 1)
    status, headers, body = raw_request(
        server, b"GET /healthz HTTP/1.1\r\nX-Pad: " + pad + b"\r\n\r\n"
    )
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert body["code"] == "bad_request"


@ENDLESS_HEADERS
def test_a_header_that_never_ends_is_400_before_the_read_timeout(server, pad, message) -> None:
    # httptools holds a header's name and value until it ends: unchecked, a value sent
    # for the whole read timeout was kept whole (60 MiB in 5 s) and there was no answer.
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + pad)
        sock.sendall(pad)  # read and dropped after the refusal: no reset loses the answer
        status, headers, body = answer(read_all(sock))
    assert (status, headers["content-type"], body["code"]) == (
        400,
        "application/json",
        "bad_request",
    )
    assert body["message"] == message


def test_a_pipelined_burst_of_small_heads_is_not_taken_for_one_large_head(server) -> None:
    # The reads of a burst each end inside some head; only one head's bytes count.
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"x" * 900 + b"\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(request * 200)
        data = b""
        while data.count(b"HTTP/1.1 ") < 200 and (chunk := sock.recv(65536)):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 200


def test_an_oversize_request_line_is_400_in_the_contract_shape(server) -> None:
    line = b"GET /v1/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
    status, _, body = raw_request(server, line)
    assert (status, body["code"]) == (400, "bad_request")


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: \x00\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET /he\x01lthz HTTP/1.1\r\n\r\n",
    ],
)
def test_malformed_http_is_400_in_the_contract_shape(server, data) -> None:
    status, headers, body = raw_request(server, data)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert body["code"] == "bad_request"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [(ME, 401, "unauthorized"), ("/v1/nothing", 404, "not_found")],
)
def test_a_websocket_upgrade_is_answered_as_plain_http(server, path, status, code) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    with connect(server) as sock:
        sock.sendall(request.encode())
        got = answer(read_one(sock))
    assert (got[0], got[2]["code"]) == (status, code)


def test_past_max_requests_a_503_with_retry_after(server) -> None:
    slow = {"X-API-Key": PARENT_KEY, "Prefer": "latency=1500"}
    with httpx.Client(base_url=server, timeout=10) as client:
        threads = [
            threading.Thread(target=client.get, args=(ME,), kwargs={"headers": slow})
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        refused = client.get("/healthz")
        for thread in threads:
            thread.join()
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "service_unavailable"


def test_past_max_connections_a_503_and_close() -> None:
    with uvicorn_server(max_connections=3) as base:
        held = [connect(base) for _ in range(3)]
        try:
            time.sleep(0.2)
            with connect(base) as sock:
                status, headers, body = answer(read_all(sock))
        finally:
            for sock in held:
                sock.close()
    assert (status, body["code"], headers["retry-after"]) == (503, "service_unavailable", "1")


def test_past_max_connections_the_refused_sockets_are_let_go_at_once() -> None:
    # Refused past the cap, a connection whose client stays open holds no descriptor of
    # the server's: a flood of them must not pile up for request_timeout each.
    with uvicorn_server(max_connections=3, read_timeout=5.0) as base:
        pid = _server_pid(int(base.rsplit(":", 1)[1]))
        held = [connect(base) for _ in range(3)]
        refused: list[socket.socket] = []
        try:
            time.sleep(0.2)
            before = len(os.listdir(f"/proc/{pid}/fd"))
            for _ in range(30):
                sock = connect(base)
                refused.append(sock)
                assert answer(read_all(sock))[0] == 503
            time.sleep(0.2)
            after = len(os.listdir(f"/proc/{pid}/fd"))
        finally:
            for sock in held + refused:
                sock.close()
    assert after - before < 5, (before, after)


def _server_pid(port: int) -> int:
    """The process id of this test's server child on ``port`` (its config names it)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as file:
            if f'"port": {port},'.encode() in file.read():
                return int(entry)
    raise AssertionError(f"no server on port {port}")


@contextlib.contextmanager
def logged_server(**config: Any) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    settings = ServerConfig(port=port, dataset_factory="server_support:dataset", **config)
    path = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, settings.to_env()],
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_in_flight_answers_and_exits_0(workers) -> None:
    with logged_server(workers=workers) as (base, process):
        got: list[httpx.Response] = []
        headers = {"X-API-Key": PARENT_KEY, "Prefer": "latency=800"}
        thread = threading.Thread(
            target=lambda: got.append(httpx.get(f"{base}{ME}", headers=headers, timeout=10))
        )
        thread.start()
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        thread.join()
        assert process.wait(timeout=15) == 0
    assert got[0].status_code == 200


def test_control_characters_never_reach_the_log_raw() -> None:
    forged = "/v1/accounts/me%0AERROR:%20forged%0D%1B[31m/analytics/usage"
    with logged_server() as (base, process):
        response = httpx.get(f"{base}{forged}", headers={"X-API-Key": PARENT_KEY})
        assert response.status_code in (403, 404)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    text = output.decode()
    assert "forged" in text  # the request was logged ...
    assert not any(line.startswith("ERROR: forged") for line in text.splitlines())
    assert "\x1b" not in text
    assert "\r" not in text
    assert "%0AERROR" in text  # uvicorn's access log quotes the path
    assert PARENT_KEY not in text


def test_a_client_that_stops_reading_is_dropped_after_the_timeout(server) -> None:
    host, port = server.removeprefix("http://").split(":")
    request = (
        f"GET {ME}?granularity=hour&limit=500&group_by=agent,type HTTP/1.1\r\n"
        f"Host: localhost\r\nX-API-Key: {PARENT_KEY}\r\n\r\n"
    ).encode()
    one = len(
        httpx.get(
            f"{server}{ME}?granularity=hour&limit=500&group_by=agent,type",
            headers={"X-API-Key": PARENT_KEY},
        ).content
    )
    count = 64 * 2**20 // one  # far more than any socket buffers hold
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            sock.sendall(request * min(count, 2_000))
        time.sleep(3)  # read nothing: the server's buffers fill, then its timer runs
        received = 0
        with contextlib.suppress(OSError):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
    assert received < min(count, 2_000) * one
    assert httpx.get(f"{server}/healthz").status_code == 200


def test_a_low_soft_limit_of_open_files_is_raised_to_what_the_cap_needs() -> None:
    # A soft limit below what --max-connections allows (1024 is common): accepting
    # failed (EMFILE), and the client past it was reset -- not the cap's 503.
    lowered = (
        "import resource\n"
        "_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))\n"
    )
    port = free_port()
    settings = ServerConfig(
        port=port, dataset_factory="server_support:dataset", access_log=False, max_connections=400
    )
    command = [sys.executable, "-c", lowered + SERVE, settings.to_env()]
    with running(command, port, path="/healthz", timeout=20.0) as base:
        held = [connect(base) for _ in range(300)]
        try:
            time.sleep(0.2)
            answered = httpx.get(f"{base}/healthz", timeout=5)
        finally:
            for sock in held:
                sock.close()
    assert answered.status_code == 200
