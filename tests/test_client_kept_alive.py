"""The kit's client and a kept-alive connection the server ends as a request arrives on it.

A server may close an idle connection at any time (RFC 9112, 9.3.1), also just as
the client sends its next request there: that request got no answer, but not
because the server refused it, and a client sends an idempotent request again on
a new connection. The kit reported it as ``NoAnswer``, a finding against a
correct server; now it sends it again, once, and what persists on a new
connection is still the server's finding.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from servers.threaded import in_thread

from usagekit.conformance.client import Client
from usagekit.conformance.config import KitConfig
from usagekit.conformance.failures import NoAnswer

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Ending:
    """Answers the first request of each connection; ends it at the second, unanswered
    (``reset``: with a TCP reset), or every request after the very first (``always``)."""

    def __init__(self, *, reset: bool = False, always: bool = False) -> None:
        self.reset, self.always = reset, always
        self.requests: list[tuple[int, int]] = []  # (connection, request on it)
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        for number in range(1, 100):
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            self.requests.append((connection, number))
            if number == 1 and not (self.always and len(self.requests) > 1):
                writer.write(ANSWER)
                await writer.drain()
                continue
            if self.reset:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            break
        writer.close()
        await writer.wait_closed()


def client(base_url: str) -> Client:
    return Client(KitConfig(base_url=base_url, api_key="sk-k", account_id="acct", timeout=5))


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_request_a_kept_connection_dropped_goes_again_on_a_new_one(reset: bool) -> None:
    server = Ending(reset=reset)
    with in_thread(server.serve) as base_url:
        kit = client(base_url)
        assert kit.send(account="acct").status == 200
        second = kit.send(account="acct")  # on the kept connection, which the server ends
        kit.close()
    assert second.status == 200
    assert server.requests == [(1, 1), (1, 2), (2, 1)]


def test_a_server_that_answers_a_new_connection_nothing_is_still_found_out() -> None:
    server = Ending(always=True)
    with in_thread(server.serve) as base_url:
        kit = client(base_url)
        assert kit.send(account="acct").status == 200
        with pytest.raises(NoAnswer, match="disconnected"):
            kit.send(account="acct")
        kit.close()
    assert server.requests == [(1, 1), (1, 2), (2, 1)]  # sent again once, not more
