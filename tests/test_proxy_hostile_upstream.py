"""``usagekit proxy`` in front of a hostile or broken upstream: bounded, and it answers.

A real proxy process in front of a raw asyncio upstream served from a thread of
this process, which answers each request as its ``mode`` parameter says; the
proxy's peak memory is read from ``/proc/PID/status``. Whatever the upstream
does, the proxy's client gets an answer in bounded time and memory: the
upstream's, or the proxy's own in the contract's error shape.
"""

from __future__ import annotations

import asyncio
import functools
import json
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import pytest
from proxy_support import proxy_process
from servers.threaded import in_thread

pytestmark = pytest.mark.slow

USAGE = "/v1/accounts/me/analytics/usage"
ANSWER = b'{"data": [], "meta": {}}'
#: Peak memory of a proxy that read within its bounds: far below what an unbounded read takes.
PEAK_MIB = 600


def _head(*fields: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", b"content-type: application/json", *fields]) + (
        b"\r\n\r\n"
    )


@functools.cache
def _bomb() -> bytes:
    """1 GiB of zeros gzipped (about 1 MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(1024)) + packer.flush()


async def _drip(writer: asyncio.StreamWriter, data: bytes, every: float = 0.4) -> None:
    for i in range(len(data)):
        writer.write(data[i : i + 1])
        await writer.drain()
        await asyncio.sleep(every)


async def _misbehave(mode: str, writer: asyncio.StreamWriter) -> None:
    if mode == "headers":  # a header section without end: thousands of headers, then more
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(10**9):
            writer.write(b"x-h%d: %s\r\n" % (i, b"v" * 100))
            if i % 1000 == 0:
                await writer.drain()
    elif mode == "reason":  # a status line without end
        writer.write(b"HTTP/1.1 200 ")
        while True:
            writer.write(b"v" * 65536)
            await writer.drain()
    elif mode == "bomb":
        bomb = _bomb()
        writer.write(_head(b"content-encoding: gzip", b"content-length: %d" % len(bomb)) + bomb)
    elif mode == "drip":  # the body, a byte at a time, each well within --timeout
        writer.write(_head(b"content-length: %d" % len(ANSWER)))
        await _drip(writer, ANSWER)
    elif mode == "head_drip":
        await _drip(writer, _head(b"content-length: %d" % len(ANSWER)) + ANSWER)
    elif mode == "switch":  # to a request that asked for no upgrade (the proxy never does)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n")
        writer.write(b"connection: upgrade\r\n\r\n" + ANSWER)
    elif mode == "gzip":  # a correct upstream that compresses
        body = zlib.compress(ANSWER, wbits=31)
        writer.write(_head(b"content-encoding: gzip", b"content-length: %d" % len(body)) + body)
    await writer.drain()


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            await _misbehave(request.split(b"mode=", 1)[1].split(b" ", 1)[0].decode(), writer)
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass  # cancelled: the test is over
    finally:
        writer.close()


def raw_upstream() -> AbstractContextManager[str]:
    """The hostile upstream, served from a thread until the block ends; yields its URL."""
    return in_thread(_handle)


def peak_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


@contextmanager
def proxied(*args: str) -> Iterator[tuple[Callable[..., httpx.Response], int]]:
    """``ask(path, mode)`` through a real proxy in front of the hostile upstream, and its pid."""
    with raw_upstream() as upstream, proxy_process(upstream, *args) as (base, process):

        def ask(path: str, mode: str, **kwargs: object) -> httpx.Response:
            return httpx.get(
                f"{base}{path}",
                params={"mode": mode},
                headers={"X-API-Key": "sk-x"},
                timeout=30,
                **kwargs,  # type: ignore[arg-type]
            )

        yield ask, process.pid
        assert process.poll() is None, "the proxy died"


def _refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, (answer.status_code, answer.content[:300])
    body = json.loads(answer.content)
    assert body["code"] == code, body
    return body["message"]


@pytest.mark.parametrize("mode", ["headers", "reason"])
@pytest.mark.parametrize("path", [USAGE, "/other"], ids=["judged", "other"])
def test_a_head_without_end_is_unreadable_and_bounded(mode: str, path: str) -> None:
    # Read without bound, the proxy took a GiB in 20 s and its client got nothing.
    with proxied("--timeout", "60") as (ask, pid):
        answer = ask(path, mode)
        peak = peak_mib(pid)
    message = _refused(answer, 502, "upstream_unreadable")
    assert "head" in message, message
    assert peak < PEAK_MIB, peak


@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["", "strict"])
def test_a_gzip_bomb_is_inflated_to_the_cap_only(strict: list[str]) -> None:
    # Inflated without bound, 1 MiB of gzip took the proxy to 1.7 GB of memory (and the
    # same gzipped twice, 2 KB on the wire, as much; 32 MiB of it, 32 GB).
    with proxied(*strict) as (ask, pid):
        answer = ask(USAGE, "bomb")
        peak = peak_mib(pid)
        kind = ask(USAGE, "gzip")  # a correct upstream that compresses is judged decoded
        tally = ask("/_usagekit/violations", "").text
    message = _refused(answer, 502, "upstream_unreadable")
    assert "inflates to more than" in message, message
    assert peak < PEAK_MIB, peak
    # Judged as it reads (meta lacks account_id), and passed on as it came (httpx decodes
    # it here) or, with --strict, refused for that.
    if strict:
        _refused(kind, 502, "upstream_violation")
    else:
        assert (kind.status_code, kind.headers["content-encoding"]) == (200, "gzip")
        assert kind.content == ANSWER
    assert "account_id" in tally, tally
    assert "not JSON" not in tally, tally


@pytest.mark.parametrize("mode", ["drip", "head_drip"])
def test_timeout_bounds_a_judged_exchange_whole(mode: str) -> None:
    # Each byte within --timeout moved its deadline: the client waited 10 s, and for a
    # byte every second the answer's length times a second, without bound.
    with proxied("--timeout", "2") as (ask, _):
        answer = ask(USAGE, mode)
    _refused(answer, 504, "upstream_timeout")


def test_timeout_bounds_another_paths_head_but_never_its_body() -> None:
    # An event stream's body may come as slowly as it likes (each read within --timeout);
    # its head is held to --timeout as a whole.
    with proxied("--timeout", "2") as (ask, _):
        streamed = ask("/other", "drip")
        head = ask("/other", "head_drip")
    assert (streamed.status_code, streamed.content) == (200, ANSWER)
    _refused(head, 504, "upstream_timeout")


@pytest.mark.parametrize("path", [USAGE, "/other"], ids=["judged", "other"])
def test_a_switch_of_protocols_nobody_asked_for_is_unreadable(path: str) -> None:
    # llhttp's HttpParserUpgrade went up to the event loop ("Fatal error on transport"):
    # the endpoint's client got a 101 head and nothing, another path's a 101 with a body.
    with proxied() as (ask, _):
        answer = ask(path, "switch")
    message = _refused(answer, 502, "upstream_unreadable")
    assert "101" in message, message
