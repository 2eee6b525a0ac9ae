"""A delay ends when its client goes: a hung-up request holds no --max-requests slot.

``Prefer: latency=``, ``--latency`` and a runtime scenario's ``latency_ms`` hold
a request for up to a minute. A client that opened ``--max-requests``
connections with a long delay and closed them at once kept every other client
answered 503 for that minute; the mock now stops waiting for a client that is
gone. A real server process, raw sockets.
"""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from factories import PARENT_KEY
from server_support import ME, uvicorn_server

from usagekit.mock.server.pause import pause

SLOTS = 3
DELAY_MS = 60_000


def _hang_up_delayed(base: str, prefer: bytes) -> None:
    """``SLOTS`` requests asking for the delay, each closed once sent."""
    address = urlsplit(base)
    request = (
        f"GET {ME} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {PARENT_KEY}\r\n".encode()
        + prefer
        + b"\r\n"
    )
    sockets = [socket.create_connection((address.hostname, address.port)) for _ in range(SLOTS)]
    for sock in sockets:
        sock.sendall(request)
    time.sleep(0.5)  # each is read and asleep in its slot
    for sock in sockets:
        sock.close()


def _statuses_after(base: str) -> list[int]:
    """What a patient client gets: a request every 0.2 s until one is not 503 (<= 10 s).

    It asks for no delay (``Prefer`` wins over the flag and the scenario), so a
    free slot answers it at once."""
    statuses = []
    with httpx.Client(base_url=base, timeout=70) as client:
        for _ in range(50):
            answer = client.get(ME, headers={"X-API-Key": PARENT_KEY, "Prefer": "latency=0"})
            statuses.append(answer.status_code)
            if answer.status_code != 503:
                break
            time.sleep(0.2)
    return statuses


@pytest.mark.parametrize("how", ["prefer", "flag", "scenario"])
def test_a_client_that_hung_up_holds_no_slot(how: str) -> None:
    config: dict[str, object] = {"max_requests": SLOTS}
    if how == "flag":
        config["latency_ms"] = (DELAY_MS, DELAY_MS)
    with uvicorn_server(**config) as base:
        prefer = f"Prefer: latency={DELAY_MS}\r\n".encode() if how == "prefer" else b""
        if how == "scenario":
            put = httpx.put(f"{base}/_usagekit/scenario", json={"latency_ms": [DELAY_MS] * 2})
            assert put.status_code == 200
        _hang_up_delayed(base, prefer)
        statuses = _statuses_after(base)
        assert statuses[-1] == 200, statuses
        # Nothing was answered to the clients that went: the ledger counts no answer.
        time.sleep(1)  # the worker's counts reach the shared ledger within 0.5 s
        cells = httpx.get(f"{base}/_usagekit/coverage").json()["cells"]
        assert "status:0" not in cells


class _Receiving:
    """A ``receive`` that gives ``messages``, then its last one for ever, never waiting;
    past 100 calls it raises, so that a loop spinning on it ends."""

    def __init__(self, *messages: dict[str, object]) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, object]:
        self.calls += 1
        if self.calls > 100:
            raise RuntimeError("spun on receive()")
        return self.messages.pop(0) if len(self.messages) > 1 else self.messages[0]


REQUEST = {"type": "http.request", "body": b"", "more_body": False}


def test_a_client_gone_ends_the_delay_at_once() -> None:
    gone = _Receiving(REQUEST, {"type": "http.disconnect"})
    assert asyncio.run(asyncio.wait_for(pause(DELAY_MS / 1000, gone), 10)) is None


def test_a_receive_that_never_waits_is_waited_out_not_spun_on() -> None:
    # ASGI's receive waits after the whole body; one that does not (a test's fake) was
    # called in a loop that never let the event loop run: test_server_frontdoor hung.
    eager = _Receiving(REQUEST)
    after = asyncio.run(asyncio.wait_for(pause(0.01, eager), 10))
    assert eager.calls <= 2
    assert after is not None
    assert asyncio.run(after()) == REQUEST  # what was read is handed on
