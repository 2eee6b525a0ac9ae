"""What the proxy passes on of a request's headers: not what concerns one connection only,
nor an expectation it has met itself."""

from __future__ import annotations

import asyncio
import re

from processes import in_thread
from proxy_support import proxy_server, traffic

from usagekit.conformance.forwarding import forwarded
from usagekit.conformance.proxy import ValidationProxy


def test_hop_by_hop_headers_those_connection_names_host_and_expect_stay_behind() -> None:
    raw = [
        (b"host", b"proxy.test"),
        (b"connection", b"keep-alive, x-trace"),
        (b"x-trace", b"1"),
        (b"keep-alive", b"timeout=5"),
        (b"te", b"trailers"),
        (b"expect", b"100-continue"),
        (b"content-length", b"5"),
        (b"x-api-key", b"sk-1"),
        (b"accept", b"application/json"),
    ]
    assert forwarded(raw, decodable=False) == [
        (b"x-api-key", b"sk-1"),
        (b"accept", b"application/json"),
    ]


async def _expecting_upstream(seen: list[bytes]) -> asyncio.Server:
    """A server that honours ``Expect: 100-continue`` as RFC 9110 asks (an interim 100
    before it reads the body), and answers with the body it read."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        if re.search(rb"(?im)^expect: *100-continue", head):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        found = re.search(rb"(?im)^content-length: *(\d+)", head)
        body = await reader.readexactly(int(found.group(1)) if found else 0)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_an_expectation_the_proxy_met_is_not_passed_on() -> None:
    """The proxy reads a request's whole body before it forwards it (uvicorn sends the
    client its ``100 Continue``); passed on, the expectation would draw an interim answer
    the upstream connection must refuse."""
    seen: list[bytes] = []

    async def main() -> bytes:
        upstream = await _expecting_upstream(seen)
        port = upstream.sockets[0].getsockname()[1]
        server = proxy_server(ValidationProxy(f"http://127.0.0.1:{port}", traffic()))
        with in_thread(server):
            proxy_port = server.servers[0].sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
            writer.write(
                b"POST /echo HTTP/1.1\r\nHost: proxy.test\r\nExpect: 100-continue\r\n"
                b"Content-Length: 5\r\n\r\n"
            )
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.write(b"hello")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            body = await asyncio.wait_for(reader.readexactly(5), 10)
            writer.close()
        upstream.close()
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"  # from the proxy, to the client
        assert head.startswith(b"HTTP/1.1 200 ")
        return body

    assert asyncio.run(main()) == b"hello"
    (head,) = seen
    assert b"expect" not in head.lower()
