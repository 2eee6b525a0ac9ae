"""The proxy's HTTP/1.1 client to its upstream: framings, keep-alive, limits, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
import uvloop

from usagekit.conformance.connection import BUFFERED, READ
from usagekit.conformance.upstream import Upstream, UpstreamError, UpstreamTimeout

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Run = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    """The client on both loops uvicorn may run the proxy on (uvloop where installed)."""
    return asyncio.run if request.param == "asyncio" else uvloop.run


async def raw_server(
    answers: list[bytes], *, hang_up: bool = False
) -> tuple[asyncio.Server, int, list[bytes]]:
    """A server that sends ``answers`` in turn, one per request, and records the requests.

    ``hang_up``: close every connection after one answer, without saying so.
    """
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head)
            answer = answers.pop(0)
            writer.write(answer)
            await writer.drain()
            lower = answer.lower()
            if hang_up or b"connection: close" in lower or b"content-length" not in lower:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", b"hello"),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhello until the end",
            b"hello until the end",
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"hello",
        ),
    ],
    ids=["length", "chunked", "until-close", "no-content", "after-interim-answers"],
)
@pytest.mark.parametrize("whole", [0, 1000], ids=["parsed", "sent-whole"])
def test_every_framing_reads_whole(answer: bytes, body: bytes, whole: int, run: Run) -> None:
    """Whether or not the request said its body is read whole (a length's body then comes
    out of the read that brought it, past llhttp), every framing reads the same."""

    async def go() -> None:
        server, port, _ = await raw_server([answer])
        upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
        got = await upstream.send("GET", b"/x", [], b"", whole=whole)
        assert (got.status, await got.read(1000)) == (204 if not body else 200, body)
        assert b"link" not in dict(got.headers)  # an interim answer's headers are not the answer's
        got.release()
        await upstream.aclose()
        server.close()

    run(go())


def test_a_kept_alive_connection_is_reused_and_a_closed_one_replaced(run: Run) -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def go(hang_up: bool) -> int:
        server, port, seen = await raw_server([ok, ok, ok], hang_up=hang_up)
        upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
        connects = 0
        connect = upstream._connect

        async def counted():  # type: ignore[no-untyped-def]
            nonlocal connects
            connects += 1
            return await connect()

        upstream._connect = counted  # type: ignore[method-assign]
        for _ in range(3):
            answer = await upstream.send("GET", b"/x", [(b"x-thing", b"1")], b"")
            assert await answer.read(1000) == b"ok"
            answer.release()
            await asyncio.sleep(0.05)  # let a hang-up arrive
        assert len(seen) == 3
        await upstream.aclose()
        server.close()
        await server.wait_closed()
        return connects

    assert run(go(hang_up=False)) == 1  # one connection served all three
    assert run(go(hang_up=True)) == 3  # a connection the server dropped is replaced


@pytest.mark.parametrize("whole", [0, 1000], ids=["parsed", "sent-whole"])
def test_the_answers_on_one_connection_are_read_in_turn_after_a_head(whole: int, run: Run) -> None:
    # One parser reads the answers of a kept-alive connection in turn, except after a HEAD's,
    # whose announced body never comes: the next answer is read by a new one.
    answers = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst",
        b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n",  # HEAD: the length, no body
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nthird\r\n0\r\n\r\n",
        b"HTTP/1.1 201 Created\r\ncontent-length: 6\r\n\r\nfourth",
    ]

    async def go() -> list[tuple[int, bytes]]:
        server, port, seen = await raw_server(list(answers))
        upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
        read = []
        for method in ("GET", "HEAD", "GET", "GET"):
            answer = await upstream.send(method, b"/x", [], b"", whole=whole)
            read.append((answer.status, await answer.read(1000)))
            answer.release()
        assert len(seen) == 4
        assert len(upstream._idle) == 1  # all four on one connection
        await upstream.aclose()
        server.close()
        await server.wait_closed()
        return read

    assert run(go()) == [(200, b"first"), (200, b""), (200, b"third"), (201, b"fourth")]


def test_an_upstream_that_is_down_or_slow_is_an_upstream_error(run: Run) -> None:
    async def go() -> None:
        down = Upstream("http://127.0.0.1:9", timeout=2)
        with pytest.raises(UpstreamError):
            await down.send("GET", b"/", [], b"")

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.read()  # until the client gives up
            finally:
                writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        slow = Upstream(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", timeout=0.2)
        with pytest.raises(UpstreamTimeout):
            await slow.send("GET", b"/", [], b"")
        await asyncio.sleep(0.05)
        server.close()
        await server.wait_closed()

    run(go())


def test_an_answer_past_the_limit_is_refused_not_buffered(run: Run) -> None:
    async def go() -> None:
        server, port, _ = await raw_server(
            [b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n" + b"x" * 40]
        )
        upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
        answer = await upstream.send("GET", b"/x", [], b"")
        with pytest.raises(UpstreamError, match="larger than 10 bytes"):
            await answer.read(10)
        answer.release()
        await upstream.aclose()
        server.close()

    run(go())


def test_a_streamed_answer_larger_than_the_read_ahead_arrives_whole(run: Run) -> None:
    """The connection stops reading past BUFFERED bytes ahead of the consumer, then resumes."""
    size = 3 * BUFFERED + 7
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size + b"y" * size

    async def go() -> None:
        server, port, _ = await raw_server([answer, answer])
        upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
        streamed = await upstream.send("GET", b"/x", [], b"")
        await asyncio.sleep(0.2)  # let it arrive while nobody reads
        got = 0
        async for chunk in streamed.chunks():
            got += len(chunk)
            assert streamed._connection is not None
            assert streamed._connection.buffered <= BUFFERED + 256 * 1024
        assert got == size
        streamed.release()
        whole = await upstream.send("GET", b"/x", [], b"")  # same connection, read whole
        assert len(await whole.read(4 * BUFFERED)) == size
        whole.release()
        await upstream.aclose()
        server.close()

    run(go())


@pytest.mark.parametrize("whole", [0, 1000], ids=["parsed", "sent-whole"])
def test_an_answer_nobody_asked_for_is_never_taken_for_the_next_one(whole: int, run: Run) -> None:
    """Sent with the first answer, or later on the idle connection: it spoils the connection."""
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    stray = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ok + stray if not connections else ok)
        connections.append(writer)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(stray)  # while the connection is idle in the pool
        await writer.drain()
        strays.put_nowait(writer)
        await reader.read()
        writer.close()

    connections: list[asyncio.StreamWriter] = []
    strays: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def go() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        upstream = Upstream(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", timeout=5)
        for _ in range(3):
            answer = await upstream.send("GET", b"/x", [], b"", whole=whole)
            assert (answer.status, await answer.read(100)) == (200, b"ok")
            answer.release()
            # Once the stray is written (not after a fixed time: on a busy machine both
            # timers fell due in one turn of the loop, and the request went first), the
            # loop's next poll hands it to the idle connection before this timer runs.
            await strays.get()
            await asyncio.sleep(0.01)
        assert len(connections) == 3  # none of them was reused
        await upstream.aclose()
        server.close()

    run(go())


@pytest.mark.parametrize("size", [5, READ + 11], ids=["small", "past-one-read"])
def test_a_body_read_whole_arrives_in_pieces_or_cut_short(size: int, run: Run) -> None:
    """A body sent whole that spans reads is read into place, the same bytes; one the
    upstream cuts short is an UpstreamError, and its connection is not kept; one past the
    limit is refused as without ``whole``."""
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.closing(writer), contextlib.suppress(ConnectionError, EOFError):
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                writer.write(head + body[:3])
                await writer.drain()
                await asyncio.sleep(0.05)
                if b"/short" in request:
                    writer.write(body[3:-1])
                    await writer.drain()
                    break
                writer.write(body[3:])
                await writer.drain()

    async def go() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        upstream = Upstream(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", timeout=5)
        for _ in range(2):
            answer = await upstream.send("GET", b"/x", [], b"", whole=2 * size)
            assert bytes(await answer.read(2 * size)) == body
            answer.release()
        assert len(upstream._idle) == 1  # kept, and reused for the second
        answer = await upstream.send("GET", b"/short", [], b"", whole=2 * size)
        with pytest.raises(UpstreamError, match=f"after {size - 1} of the {size} bytes"):
            await answer.read(2 * size)
        answer.release()
        assert not upstream._idle
        answer = await upstream.send("GET", b"/x", [], b"", whole=size - 1)
        with pytest.raises(UpstreamError):
            await answer.read(size - 1)
        answer.release()
        await upstream.aclose()
        server.close()

    run(go())
