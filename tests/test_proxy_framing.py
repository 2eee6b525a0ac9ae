"""The framing of an upstream's answer as the proxy's client gets it, from a raw upstream
that writes what a broken or unusual backend writes: an answer cut short by the
connection's end is never passed on as a whole one."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
from processes import in_thread
from proxy_support import USAGE, proxy_server, traffic

from usagekit.conformance.proxy import ValidationProxy

ANSWER = b'{"data": [], "meta": {}}'
CUT = ANSWER[:-7]
#: By the path asked: the whole answer, or the same cut short, then the connection's end.
WRITES = {
    "whole": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER),
    "length": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(ANSWER), CUT),
    "chunked": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"transfer-encoding: chunked\r\n\r\n%x\r\n%s" % (len(ANSWER), CUT),
    "streamed-cut": b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
    b"transfer-encoding: chunked\r\n\r\n%x\r\n%s" % (len(ANSWER), CUT),
    "garbled": b"HTTP/1.1 2x0 OK\r\ncontent-type: application/json\r\n\r\n%s" % ANSWER,
    "trailers": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"transfer-encoding: chunked\r\ntrailer: server-timing\r\n\r\n"
    b"%x\r\n%s\r\n0\r\nserver-timing: db;dur=53\r\n\r\n" % (len(ANSWER), ANSWER),
}


async def _upstream(writers: list[asyncio.StreamWriter]) -> asyncio.Server:
    """Answers each request by the ``cut`` parameter it carries (``WRITES``); closes the
    connection after a cut answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                cut = head.split(b"cut=", 1)[1].split(b" ", 1)[0].decode()
                writer.write(WRITES[cut])
                await writer.drain()
                if cut not in ("whole", "trailers"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _through(cuts: list[str], path: str = USAGE.format("me")) -> list[httpx.Response]:
    """``cuts`` in turn through a served proxy, over one kept-alive client connection."""

    async def go() -> list[httpx.Response]:
        writers: list[asyncio.StreamWriter] = []
        upstream = await _upstream(writers)
        port = upstream.sockets[0].getsockname()[1]
        server = proxy_server(ValidationProxy(f"http://127.0.0.1:{port}", traffic(), timeout=5))
        with in_thread(server):
            base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

            def ask() -> list[httpx.Response]:
                with httpx.Client(base_url=base, timeout=10) as client:
                    return [client.get(path, params={"cut": cut}) for cut in cuts]

            answers = await asyncio.get_running_loop().run_in_executor(None, ask)
        upstream.close()
        for writer in writers:
            writer.close()
        await asyncio.sleep(0.05)  # the handlers see their connections end
        return answers

    return asyncio.run(go())


def _unreadable(answers: list[httpx.Response], cuts: list[str], words: str) -> list[httpx.Response]:
    """Checks each answer: a whole one passed on as it came, any other a 502
    ``upstream_unreadable`` whose message holds ``words``; returns the 502s."""
    refused = []
    for answer, asked in zip(answers, cuts, strict=True):
        if asked == "whole":
            assert (answer.status_code, answer.content) == (200, ANSWER)
            continue
        assert answer.status_code == 502
        body = json.loads(answer.content)
        assert body["code"] == "upstream_unreadable"
        assert words in body["message"]
        refused.append(answer)
    return refused


@pytest.mark.parametrize("cut", ["length", "chunked"])
@pytest.mark.parametrize("warm", [False, True], ids=["by-the-task", "at-once"])
def test_an_answer_the_upstream_cuts_short_is_a_502_not_a_shorter_whole_answer(
    cut: str, warm: bool
) -> None:
    """An answer of the endpoint the upstream's connection ends before the length or the
    chunks it announced: the client gets a 502 in the contract's shape, not the bytes
    that came framed anew as a complete answer (which the judge would then blame on the
    schema, with a curl that gets the whole answer); the proxy goes on serving."""
    cuts = ["whole"] * warm + [cut, "whole"]  # warm: a kept-alive connection, taken at once
    answers = _through(cuts)
    for answer in _unreadable(answers, cuts, "closed the connection"):
        assert "x-usagekit-violations" not in answer.headers


@pytest.mark.parametrize("path", [USAGE.format("me"), "/v1/other"], ids=["judged", "streamed"])
@pytest.mark.parametrize("warm", [False, True], ids=["by-the-task", "at-once"])
def test_a_head_that_is_not_http_is_unreadable_not_unreachable(path: str, warm: bool) -> None:
    """The upstream was reached and answered, in words the proxy cannot read: a 502
    ``upstream_unreadable``, which sends whoever reads it to the upstream's answers,
    not to its address or its network."""
    cuts = ["whole"] * warm + ["garbled", "whole"]
    answers = _through(cuts, path)
    _unreadable(answers, cuts, "not HTTP/1.1")


@pytest.mark.parametrize("path", [USAGE.format("me"), "/v1/other"], ids=["judged", "streamed"])
def test_trailer_fields_are_never_merged_into_the_head(path: str) -> None:
    """A chunked answer's trailer fields come after the body: RFC 9110 6.5.1 forbids
    merging them into the header section; the proxy drops them, with the ``Trailer``
    header that announced them (uvicorn sends no trailers)."""
    answers = _through(["trailers", "whole"], path)
    assert [(a.status_code, a.content) for a in answers] == [(200, ANSWER)] * 2
    assert "server-timing" not in answers[0].headers
    assert "trailer" not in answers[0].headers


def test_another_paths_answer_cut_short_reaches_the_client_cut_short() -> None:
    """A streamed answer (another path's) whose connection ends mid-chunk: the client's
    connection ends before the body's end too, never with a last chunk that makes it
    look whole; the proxy goes on serving."""

    async def go() -> tuple[bytes, httpx.Response]:
        writers: list[asyncio.StreamWriter] = []
        upstream = await _upstream(writers)
        port = upstream.sockets[0].getsockname()[1]
        server = proxy_server(ValidationProxy(f"http://127.0.0.1:{port}", traffic(), timeout=5))
        with in_thread(server):
            proxy_port = server.servers[0].sockets[0].getsockname()[1]

            def ask() -> tuple[bytes, httpx.Response]:
                with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as sock:
                    sock.sendall(
                        b"GET /v1/other?cut=streamed-cut HTTP/1.1\r\nhost: localhost\r\n\r\n"
                    )
                    raw = b""
                    while chunk := sock.recv(65536):
                        raw += chunk
                path = USAGE.format("me")
                return raw, httpx.get(f"http://127.0.0.1:{proxy_port}{path}?cut=whole")

            answers = await asyncio.get_running_loop().run_in_executor(None, ask)
        upstream.close()
        for writer in writers:
            writer.close()
        await asyncio.sleep(0.05)
        return answers

    raw, after = asyncio.run(go())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head
    assert body == b"%x\r\n%s\r\n" % (len(CUT), CUT)  # what came, and no last chunk
    assert (after.status_code, after.content) == (200, ANSWER)


def test_a_client_that_leaves_a_stream_ends_the_upstreams_connection() -> None:
    """A client that leaves an endless answer (an event stream on another path) mid-way:
    the proxy closes its upstream connection too, rather than read on for nobody."""
    ended: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n")
        try:
            for _ in range(400):  # 20 s of events, unless the proxy hangs up
                writer.write(b"7\r\ndata:\n\n\r\n")
                await writer.drain()
                await asyncio.sleep(0.05)
        except ConnectionError:
            ended.append(time.monotonic())
        writer.close()

    async def go() -> float:
        upstream = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = upstream.sockets[0].getsockname()[1]
        server = proxy_server(ValidationProxy(f"http://127.0.0.1:{port}", traffic(), timeout=5))
        with in_thread(server):
            proxy_port = server.servers[0].sockets[0].getsockname()[1]

            def leave() -> float:
                with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as sock:
                    sock.sendall(b"GET /v1/events HTTP/1.1\r\nhost: localhost\r\n\r\n")
                    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
                return time.monotonic()

            left = await asyncio.get_running_loop().run_in_executor(None, leave)
            for _ in range(60):
                if ended:
                    break
                await asyncio.sleep(0.05)
        upstream.close()
        assert ended, "the upstream's stream went on after the client left"
        return ended[0] - left

    assert asyncio.run(go()) < 3
