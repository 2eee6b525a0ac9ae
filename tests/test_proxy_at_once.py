"""The proxy's judged GET forwarded from its protocol, without a task (``ValidationProxy.at_once``).

Served as ``usagekit proxy`` serves it, the proxy answers a repeated request of
the endpoint from the upstream connection's callback; everything else goes by
the app's task. Both ways give the same answers, headers, verdicts, tally and
HAR entries, and whatever the callback cannot finish goes on by a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from processes import in_thread
from proxy_support import REQUESTS, USAGE, proxy_server, through, traffic
from servers.minimal import Fault

from usagekit.conformance.harfile import read_har
from usagekit.conformance.proxy import ValidationProxy

_TAKEN: list[bool] = []  # what at_once answered, request by request


class _Counted(ValidationProxy):
    def at_once(self, cycle: Any, later: Any) -> bool:
        taken = super().at_once(cycle, later)
        _TAKEN.append(taken)
        return taken


def _portless(tally: dict[str, Any]) -> str:
    """The tally, its curls against either run's upstream (a port of its own) alike."""
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", json.dumps(tally))


def _entries(path: Path) -> list[tuple[object, ...]]:
    """What a HAR entry says of an exchange, but its times and its upstream's port."""
    return [
        (
            e.method,
            re.sub(r":\d+/", ":PORT/", e.url),
            e.status,
            tuple(
                (k, re.sub(r":\d+$", ":PORT", v) if k == "host" else v)
                for k, v in e.request_headers
            ),
            tuple(h for h in e.response_headers if h[0] != "date"),
            e.content,
        )
        for e in read_har(path)
    ]


@pytest.mark.parametrize("strict", [False, True])
def test_the_protocols_answers_are_the_tasks(tmp_path: Path, strict: bool) -> None:
    faults = frozenset({Fault.IGNORES_LIMIT, Fault.ERROR_SHAPE})
    twice = REQUESTS + REQUESTS  # the second time on a kept-alive upstream connection
    by_task, served = traffic(), traffic()
    _TAKEN.clear()
    expected = through(by_task, faults, strict=strict, record=tmp_path / "a.har", requests=twice)
    got = through(
        served,
        faults,
        strict=strict,
        record=tmp_path / "b.har",
        requests=twice,
        served=True,
        proxy_type=_Counted,
    )
    assert sum(_TAKEN) >= len(REQUESTS)  # the repeats, at least, went without a task
    assert [(a.status, a.content) for a in got] == [(a.status, a.content) for a in expected]
    for ours, theirs in zip(got, expected, strict=True):
        for name in ("content-type", "content-length", "x-usagekit-violations"):
            assert ours.headers.get(name) == theirs.headers.get(name)
        assert ours.headers.get("x-usagekit-rules") == theirs.headers.get("x-usagekit-rules")
    assert _portless(served.violations()) == _portless(by_task.violations())
    assert served.summary().requests == by_task.summary().requests == len(twice)
    assert _entries(tmp_path / "b.har") == _entries(tmp_path / "a.har")


ANSWER = b'{"data": []}'


async def _upstream(behaviour: str) -> tuple[asyncio.Server, list[asyncio.StreamWriter]]:
    """An upstream of the endpoint that answers ``ANSWER``; ``closes``: closes a
    kept-alive connection when its second request comes; ``silent``: does not answer it;
    ``no-content``: answers 204."""
    connections: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        with contextlib.closing(writer), contextlib.suppress(ConnectionError, EOFError):
            for turn in range(1000):
                await reader.readuntil(b"\r\n\r\n")
                if behaviour == "closes" and turn:
                    return
                if behaviour == "silent" and turn:
                    await reader.read()
                    return
                if behaviour == "no-content":
                    writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                else:
                    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    writer.write(head + b"content-length: %d\r\n\r\n" % len(ANSWER) + ANSWER)
                await writer.drain()

    return await asyncio.start_server(handle, "127.0.0.1", 0), connections


@pytest.mark.parametrize("behaviour", ["closes", "silent", "no-content"])
def test_what_the_callback_cannot_finish_goes_on_by_a_task(behaviour: str) -> None:
    """An upstream that closed the kept-alive connection: the request is sent again on a
    new one, as by the task; one that does not answer: 504; a 204: passed on by ASGI."""

    async def go() -> list[httpx.Response]:
        upstream, connections = await _upstream(behaviour)
        port = upstream.sockets[0].getsockname()[1]
        proxy = _Counted(f"http://127.0.0.1:{port}", traffic(), timeout=0.5)
        server = proxy_server(proxy)
        loop = asyncio.get_running_loop()
        with in_thread(server):
            base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"

            def ask() -> list[httpx.Response]:
                with httpx.Client(base_url=base, timeout=5) as client:
                    path = USAGE.format("me")
                    return [client.get(path, headers={"X-API-Key": "sk-x"}) for _ in range(3)]

            answers = await loop.run_in_executor(None, ask)
        upstream.close()
        for writer in connections:
            writer.close()
        await asyncio.sleep(0.05)  # the handlers see their connections end
        assert len(connections) == {"closes": 3, "silent": 2, "no-content": 1}[behaviour]
        return answers

    _TAKEN.clear()
    answers = asyncio.run(go())
    if behaviour == "closes":  # sent again on a new connection each time, by the task
        assert _TAKEN == [False, True, True]
        assert [(a.status_code, a.content) for a in answers] == [(200, ANSWER)] * 3
        assert all(a.headers["x-usagekit-violations"] for a in answers)
    elif behaviour == "silent":  # the connection it timed out on is not used again
        assert _TAKEN == [False, True, False]
        assert [a.status_code for a in answers] == [200, 504, 200]
        assert json.loads(answers[1].content)["code"] == "upstream_timeout"
    else:
        assert _TAKEN == [False, True, True]
        assert [(a.status_code, a.content) for a in answers] == [(204, b"")] * 3
