"""What a pool keeps of the answers it read (conformance/repeats.py): the same answers either way.

A head read before is taken as llhttp read it; the last body of a request, read
again byte for byte, is handed on as that very object.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import uvloop
from proxy_support import traffic

from usagekit.conformance.connection import READ
from usagekit.conformance.proxy import ValidationProxy
from usagekit.conformance.repeats import BODIES_KEPT, BODY_BYTES, HEADS_KEPT, Bodies, Heads
from usagekit.conformance.upstream import Answer, Upstream, UpstreamError

Run = Callable[[Coroutine[Any, Any, Any]], Any]
Read = tuple[int, str, list[tuple[bytes, bytes]], bytes]

HEAD = (
    b"HTTP/1.1 200 Fine\r\ndate: Fri, 27 Nov 2026 01:00:00 GMT\r\nContent-Type: "
    b"application/json\r\nX-Twice: a\r\nx-twice: b\r\ncontent-length: 5\r\n\r\n"
)


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    return asyncio.run if request.param == "asyncio" else uvloop.run


async def _server(answers: list[list[bytes]]) -> tuple[asyncio.Server, int]:
    """Sends each answer, piece by piece (a pause between pieces), one per request."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.closing(writer), contextlib.suppress(ConnectionError, EOFError):
            while answers:
                await reader.readuntil(b"\r\n\r\n")
                for piece in answers.pop(0):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.02)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _stop(server: asyncio.Server, upstream: Upstream) -> None:
    await upstream.aclose()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0.05)  # the handlers see their connections end


async def _read(upstream: Upstream, whole: int = 1000) -> tuple[Read, Answer]:
    answer = await upstream.send("GET", b"/x", [], b"", whole=whole)
    read = (answer.status, answer.reason, list(answer.headers), bytes(await answer.read(1000)))
    answer.release()
    return read, answer


async def _reads(answers: list[list[bytes]], whole: int = 1000) -> tuple[list[Read], Upstream]:
    server, port = await _server(answers)
    upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
    reads = [(await _read(upstream, whole))[0] for _ in range(len(answers))]
    await _stop(server, upstream)
    return reads, upstream


def test_a_head_read_before_is_taken_as_read_and_gives_the_same_answer(run: Run) -> None:
    answers = [[HEAD + b"hello"], [HEAD + b"again"], [HEAD, b"third"]]

    async def go() -> None:
        reads, upstream = await _reads([list(a) for a in answers])
        parsed, _ = await _reads([list(a) for a in answers], whole=0)  # llhttp's every time
        assert reads == parsed
        assert [body for *_, body in reads] == [b"hello", b"again", b"third"]
        assert list(upstream._shared.heads) == [HEAD]
        status, reason, headers, names, keep_alive, length = upstream._shared.heads[HEAD]
        assert (status, reason, keep_alive, length) == (200, b"Fine", True, 5)
        assert names[1:4] == (b"content-type", b"x-twice", b"x-twice")
        assert list(headers) == reads[0][2]
        # What is kept is what the next answer with that head is read as (no parse).
        upstream._shared.heads[HEAD] = (201, b"Kept", headers, names, keep_alive, length)
        server, port = await _server([[HEAD + b"kept!"]])
        upstream.port = port
        read, _ = await _read(upstream)
        assert read[:2] == (201, "Kept")
        assert read[3] == b"kept!"
        await _stop(server, upstream)

    run(go())


@pytest.mark.parametrize(
    "pieces",
    [
        [HEAD[:20], HEAD[20:] + b"hello"],  # a head over two reads: part of it fed to llhttp
        [b"HTTP/1.1 100 Continue\r\n\r\n" + HEAD + b"hello"],  # after an interim answer
        [b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"],  # no body to come
        [b"HTTP/1.1 204 No Content\r\n\r\n"],
        [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
    ],
    ids=["split", "interim", "empty", "no-content", "chunked"],
)
def test_only_a_whole_head_that_starts_the_answer_and_gives_a_length_is_kept(
    pieces: list[bytes], run: Run
) -> None:
    async def go() -> None:
        reads, upstream = await _reads([list(pieces), list(pieces)])
        parsed, _ = await _reads([list(pieces), list(pieces)], whole=0)
        assert reads == parsed
        assert not upstream._shared.heads

    run(go())


def test_a_kept_head_past_the_limit_or_closing_its_connection_is_read_as_llhttp_reads_it(
    run: Run,
) -> None:
    closing = HEAD.replace(b"X-Twice: a", b"connection: close")

    async def go() -> None:
        reads, upstream = await _reads([[closing + b"hello"]])
        assert list(upstream._shared.heads) == [closing]
        assert not upstream._idle  # llhttp's keep-alive: no
        server, port = await _server([[closing + b"again"], [HEAD + b"hello"]])
        upstream.port = port
        read, _ = await _read(upstream)  # taken as read before: still not kept alive
        assert read[3] == b"again"
        assert not upstream._idle
        await _stop(server, upstream)
        server, port = await _server([[HEAD + b"hello"], [HEAD + b"hello"]])
        upstream.port = port
        await _read(upstream)
        answer = await upstream.send("GET", b"/x", [], b"", whole=4)  # the kept length is 5
        assert answer.status == 200
        assert answer.header(b"x-twice") == b"a"
        with pytest.raises(UpstreamError, match="larger than 4 bytes"):
            await answer.read(4)
        answer.release()
        await _stop(server, upstream)
        assert reads[0][3] == b"hello"

    run(go())


def test_the_kept_heads_are_bounded() -> None:
    heads = Heads()
    for i in range(HEADS_KEPT + 1):
        heads.keep(b"%d" % i, (200, b"", (), (), True, i))
    assert len(heads) == 1
    assert heads[b"%d" % HEADS_KEPT][5] == HEADS_KEPT


@pytest.mark.parametrize("size", [5, READ + 11], ids=["in-one-read", "read-into-place"])
def test_the_last_body_of_a_request_read_again_is_handed_on_as_that_object(
    size: int, run: Run
) -> None:
    body = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    other = body[:-1] + b"!"  # as long, but for its last byte

    def answer(content: bytes) -> list[bytes]:
        head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(content)
        return [head + content[:3], content[3:]] if size > READ else [head + content]

    async def go() -> None:
        contents = [body, body, other, other[:-1], body, body]
        server, port = await _server([answer(c) for c in contents])
        upstream = Upstream(f"http://127.0.0.1:{port}", timeout=5)
        read = []
        for i in range(len(contents)):
            sent = await upstream.send("GET", b"/y" if i == 5 else b"/x", [], b"", whole=2 * size)
            read.append(await sent.read(2 * size))
            sent.release()
        await _stop(server, upstream)
        assert read == contents
        assert all(type(got) is bytes for got in read)
        assert read[1] is read[0]  # the same request's last body
        assert read[2] is not read[0]
        assert read[4] is not read[0]  # the last one for the request was another since
        assert read[5] is not read[4]  # another request's
        assert list(upstream._shared.bodies.values()) == [body, body]  # one per request

    run(go())


def test_the_kept_bodies_are_bounded_in_number_and_bytes() -> None:
    bodies = Bodies()
    for i in range(BODIES_KEPT + 1):
        bodies.keep(b"%d" % i, b"x" * i)
    assert list(bodies) == [b"%d" % BODIES_KEPT]
    assert bodies.size == BODIES_KEPT
    bodies.keep(b"%d" % BODIES_KEPT, b"yy")  # again: its last body replaces the one before
    assert bodies.size == 2
    bodies.keep(b"large", b"x" * (BODY_BYTES // 16 + 1))
    assert b"large" not in bodies
    for i in range(17):
        bodies.keep(b"%d" % i, b"x" * (BODY_BYTES // 16))
    # Cleared when the sixteenth (with "yy") would pass the budget.
    assert list(bodies) == [b"15", b"16"]
    assert bodies.size == 2 * (BODY_BYTES // 16)


def test_answers_with_a_head_read_before_each_get_their_own_verdicts_headers() -> None:
    """One head, several bodies: each answer's headers are those a proxy that never read
    that head gives it (the headers a head's answers pass on are kept once, and copied)."""
    bodies = [b'{"data": []}', b'{"data": 12}', b"[1, 2, 3, 40", b'{"data": []}']
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n"

    async def through(proxy: ValidationProxy, count: int) -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=proxy), base_url="http://proxy.test"
        ) as client:
            got = [
                await client.get("/v1/accounts/me/analytics/usage", headers={"X-API-Key": "k"})
                for _ in range(count)
            ]
        await proxy.aclose()
        return got

    async def go() -> tuple[list[httpx.Response], list[httpx.Response]]:
        server, port = await _server([[head + body] for body in bodies * 2])
        base = f"http://127.0.0.1:{port}"
        repeated = await through(ValidationProxy(base, traffic()), len(bodies))
        alone = [(await through(ValidationProxy(base, traffic()), 1))[0] for _ in bodies]
        server.close()
        await server.wait_closed()
        return repeated, alone

    repeated, alone = asyncio.run(go())
    assert [r.content for r in repeated] == [r.content for r in alone] == bodies
    for ours, theirs in zip(repeated, alone, strict=True):
        assert ours.headers.multi_items() == theirs.headers.multi_items()
    assert [r.headers.get_list("x-usagekit-violations") for r in repeated] == [["1"]] * 4
