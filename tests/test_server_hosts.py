"""DNS rebinding: a page whose name rebinds to 127.0.0.1 cannot read the mock.

Such a page is same-origin with the mock, so CORS (``--cors-origin``) never
applies: it read the journal (``/_usagekit/requests``), the ledger, the dataset's
keys (``/demo/config.json``), and with them the usage of a user's own dataset,
and could set runtime scenarios. The mock bound to loopback now answers only a
``Host`` no page can rebind -- ``localhost``, ``*.localhost``, an IP address, a
name given with ``--allowed-host`` -- and refuses any other with a 400 in the
contract's shape; bound elsewhere it answers any ``Host`` unless
``--allowed-host`` is given. A real ``usagekit mock`` process, raw sockets.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from host_support import EVIL, ME, USAGEKIT, ask, exchange, refused, request
from processes import free_port, running

pytestmark = pytest.mark.slow

NOW = "2024-04-02T00:00:00Z"
#: Every kind of route: the endpoint (a user's dataset), admin data and control, the
#: pages (the dataset's keys), the contract, health.
PATHS = [
    f"{ME}?granularity=hour&limit=2",
    "/_usagekit/requests",
    "/_usagekit/coverage",
    "/_usagekit/status",
    "/_usagekit/scenario",
    "/demo/config.json",
    "/",
    "/openapi.json",
    "/healthz",
]


def _mock(*args: str) -> Iterator[str]:
    port = free_port()
    command = [USAGEKIT, "mock", "--port", str(port), "--now", NOW, "--no-access-log", *args]
    with running(command, port, path="/healthz", timeout=60) as base:
        yield base


@pytest.fixture(scope="module")
def mock() -> Iterator[str]:
    yield from _mock()


def _port(base: str) -> str:
    return base.rpartition(":")[2]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", [EVIL, f"{EVIL}:{{port}}"])
def test_a_rebound_name_is_refused_on_every_route(mock: str, path: str, host: str) -> None:
    host = host.format(port=_port(mock))
    answer = ask(mock, path, host)
    assert refused(answer, host), (answer.status, answer.body[:300])
    # As the HTTP layer's other refusals: a browser elsewhere may read why.
    assert "access-control-allow-origin: *" in answer.head


@pytest.mark.parametrize("path", PATHS)
def test_loopback_names_are_answered_on_every_route(mock: str, path: str) -> None:
    answer = ask(mock, path, f"localhost:{_port(mock)}")
    assert answer.status == 200, (answer.status, answer.body[:300])


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LocalHost:{port}",
        "localhost.:{port}",
        "app.localhost:{port}",
        "127.0.0.1",
        "127.0.0.1:{port}",
        "127.1.2.3:{port}",
        "[::1]",
        "[::1]:{port}",
        "192.168.1.20:{port}",  # an address is never looked up: nothing to rebind
        "",
    ],
)
def test_hosts_no_page_can_rebind_are_answered(mock: str, host: str) -> None:
    answer = ask(mock, ME, host.format(port=_port(mock)))
    assert answer.status == 200, (answer.status, answer.body[:300])


@pytest.mark.parametrize(
    "host",
    [
        "x",
        "127.0.0.1.evil.example",
        "localhost.evil.example:{port}",
        "evillocalhost:{port}",
        "localhost:80:{port}",
        "::1",
        "[::1",
        "[evil]:{port}",
        "evil.example:http",
        "\xe9vil.example",
    ],
)
def test_other_names_and_broken_hosts_are_refused(mock: str, host: str) -> None:
    answer = ask(mock, ME, host.format(port=_port(mock)))
    assert answer.status == 400, (answer.status, answer.body[:300])
    assert answer.json()["code"] == "bad_request"


def test_a_request_without_host_is_answered(mock: str) -> None:
    # HTTP/1.0 needs none; no browser sends a request without one.
    for path in (ME, "/_usagekit/requests", "/healthz"):
        answer = ask(mock, path, None, version="1.0")
        assert answer.status == 200, (path, answer.status, answer.body[:300])


def test_a_repeat_the_front_door_would_answer_is_refused_too(mock: str) -> None:
    # The first answer is remembered; the door answers a repeat before any ASGI layer.
    path = f"{ME}?granularity=day&limit=3"
    allowed, again, evil, after = exchange(
        mock,
        [
            request(path, "127.0.0.1"),
            request(path, "127.0.0.1"),
            request(path, EVIL),
            request(path, "localhost", close=True),
        ],
    )
    assert allowed.status == again.status == after.status == 200
    assert again.body == allowed.body
    # Refused, and the connection serves the next request: a refusal, not a failure.
    assert refused(evil, EVIL)


def test_a_refused_request_leaves_no_trace_in_the_journal(mock: str) -> None:
    marker = "limit=7&granularity=hour&tz=Asia/Kathmandu"
    assert ask(mock, f"{ME}?{marker}", EVIL).status == 400
    journal = ask(mock, "/_usagekit/requests", "127.0.0.1").body.decode()
    assert "Kathmandu" not in journal


def test_allowed_host_names_and_wildcards_are_honoured() -> None:
    for base in _mock("--allowed-host", "mock.test", "--allowed-host", "*.dev.test"):
        port = _port(base)
        for host in ("mock.test", f"MOCK.test:{port}", "a.dev.test", f"b.a.dev.test:{port}"):
            assert ask(base, "/_usagekit/requests", host).status == 200, host
        for host in ("dev.test", "mock.test.evil.example", f"{EVIL}:{port}", "xdev.test"):
            assert refused(ask(base, "/_usagekit/requests", host), host), host
        assert ask(base, ME, f"localhost:{port}").status == 200


def test_with_named_cors_origins_a_refusal_names_none_as_the_other_refusals() -> None:
    for base in _mock("--cors-origin", "http://localhost:5173"):
        answer = ask(base, ME, EVIL)
        assert refused(answer, EVIL)
        assert "access-control-allow-origin" not in answer.head


def test_allowed_host_star_answers_any_host() -> None:
    for base in _mock("--allowed-host", "*"):
        assert ask(base, "/_usagekit/requests", EVIL).status == 200


def test_bound_elsewhere_any_host_is_answered_unless_allowed_host_is_given() -> None:
    # docker-compose's service names, a LAN name: CI users reach it by names of their own.
    for base in _mock("--host", "0.0.0.0"):
        assert ask(base, ME, "usagekit-mock:8000").status == 200
        assert ask(base, ME, EVIL).status == 200
    for base in _mock("--host", "0.0.0.0", "--allowed-host", "usagekit-mock"):
        assert ask(base, ME, f"usagekit-mock:{_port(base)}").status == 200
        assert ask(base, ME, "127.0.0.1").status == 200
        assert refused(ask(base, ME, EVIL), EVIL)


def test_every_worker_refuses_a_rebound_name() -> None:
    for base in _mock("--workers", "2"):
        for _ in range(6):  # new connections, spread over both workers
            assert refused(ask(base, "/_usagekit/requests", EVIL), EVIL)
            assert ask(base, "/_usagekit/requests", "localhost").status == 200


@pytest.mark.parametrize("value", ["http://mock.test", "mock.test:8000", "mock test", "a.*.test"])
def test_an_allowed_host_that_is_no_host_name_is_bad_usage(value: str) -> None:
    result = subprocess.run(
        [USAGEKIT, "mock", "--allowed-host", value, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "--allowed-host" in result.stderr
    assert "give a host name without scheme or port" in result.stderr
