"""The front door's answers written from the protocol, without a task: the same bytes and
records as the task's, over a real socket, with the uvicorn the project pins."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from factories import PARENT_KEY
from processes import in_thread
from server_support import DATASET, ME, NOW
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from usagekit.mock.server import frontdoor
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.run import uvicorn_options
from usagekit.mock.server.workbench import create_workbench

QUERY = (
    f"{ME}?granularity=hour&group_by=agent&tz=Europe/Vienna"
    "&start=2024-03-30T00:00:00&end=2024-04-01T00:00:00"  # across the change to summer time
)


class Logged(logging.Handler):
    """The access log's records."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


LOGGED = Logged()


@contextmanager
def serving(tasks: list[str], **config: Any) -> Iterator[int]:
    """The workbench served by uvicorn in a thread with the mock's own options; ``tasks``
    gets the path of every request that was given an ASGI task."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ServerConfig(
        **{"port": port, "now": NOW, "access_log": False, "log_level": "warning", **config}
    )
    options = uvicorn_options(settings) | {"log_config": None}
    server = uvicorn.Server(uvicorn.Config(create_workbench(DATASET, settings), **options))
    start = HttpToolsProtocol._start_asgi_task

    def counted(protocol: HttpToolsProtocol, cycle: Any, app: Any) -> None:
        tasks.append(cycle.scope["path"])
        start(protocol, cycle, app)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HttpToolsProtocol, "_start_asgi_task", counted)
        if settings.access_log:  # uvicorn logs access where its logger has a handler
            access = logging.getLogger("uvicorn.access")
            patch.setattr(access, "handlers", [LOGGED])
            patch.setattr(access, "level", logging.INFO)
        with in_thread(server):
            yield port


def get(path: str, key: str | None = PARENT_KEY, extra: str = "") -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}"
    return (head + (f"X-API-Key: {key}\r\n" if key else "") + "\r\n").encode()


async def exchange(port: int, requests: list[bytes]) -> list[bytes]:
    """The answers to ``requests``, each sent once the previous one is read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    for request in requests:
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await asyncio.wait_for(reader.readexactly(length), 5)
        answers.append(b"\r\n".join(x for x in head.split(b"\r\n") if not x.startswith(b"date:")))
        answers[-1] += body
    writer.close()
    return answers


def test_valid_gets_are_answered_without_a_task_as_the_task_would() -> None:
    """A new request, its repeat and an error: the door answers the first two from the
    protocol (no task), the error takes the chain; an access log (the hook declines it)
    sends all three by tasks. Same bytes, same journal, same coverage ledger."""
    requests = [get(QUERY), get(QUERY), get(QUERY, key=None)]
    answers, journals, ledgers, tasks = [], [], [], []
    admin = [get("/_usagekit/requests", key=None), get("/_usagekit/coverage", key=None)]
    for access_log in (False, True):
        made: list[str] = []
        with serving(made, access_log=access_log) as port:
            answers.append(asyncio.run(exchange(port, requests)))
            journal, ledger = (
                json.loads(raw.partition(b"\r\n\r\n")[2])
                for raw in asyncio.run(exchange(port, admin))
            )
        journals.append(journal["requests"])
        ledgers.append(ledger)
        tasks.append(made)
    assert answers[0] == answers[1]
    assert [a.split(b" ", 2)[1] for a in answers[0]] == [b"200", b"200", b"401"]
    # Only the 401 and the admin routes had a task where the door answers at once.
    assert tasks[0] == [ME, "/_usagekit/requests", "/_usagekit/coverage"]
    assert tasks[1] == [ME, ME, ME, "/_usagekit/requests", "/_usagekit/coverage"]
    assert ledgers[0] == ledgers[1]
    assert ledgers[0]["exchanges"] == 3
    timeless = [[{**e, "time": 0, "latency_ms": 0} for e in j] for j in journals]
    assert timeless[0] == timeless[1]
    assert [e["status"] for e in timeless[0]] == [401, 200, 200]  # the last first


def test_forwarded_headers_still_name_the_client_behind_the_door() -> None:
    """uvicorn's proxy_headers are off; the app reads X-Forwarded-For itself, so an admin
    route asked through a local reverse proxy for a remote client is still refused."""
    made: list[str] = []
    with serving(made) as port:
        local, forwarded = asyncio.run(
            exchange(
                port,
                [
                    get("/_usagekit/requests", key=None),
                    get("/_usagekit/requests", key=None, extra="X-Forwarded-For: 203.0.113.9\r\n"),
                ],
            )
        )
    assert local.split(b" ", 2)[1] == b"200"
    assert forwarded.split(b" ", 2)[1] == b"403"


def test_a_pipelined_burst_gets_one_answer_at_once_then_takes_turns() -> None:
    """Ten requests in one write: the first is answered inside the read, the others by
    tasks, one after the other (others' requests in between); every answer in order."""
    burst = [get(QUERY)] * 10
    made: list[str] = []
    with serving(made) as port:
        asyncio.run(exchange(port, [get(QUERY)]))  # remembered: the burst is all repeats
        made.clear()

        async def pipelined() -> list[bytes]:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"".join(burst))
            heads = []
            for _ in burst:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await asyncio.wait_for(reader.readexactly(length), 5)
                heads.append(head.split(b" ", 2)[1])
            writer.close()
            return heads

        statuses = asyncio.run(pipelined())
    assert statuses == [b"200"] * 10
    # One at once per read: the burst is one segment on loopback (a split one, a few reads).
    assert made == [ME] * len(made)
    assert 1 <= 10 - len(made) <= 3


def test_with_an_access_log_uvicorn_reads_forwarded_headers_for_every_line() -> None:
    """An access log line names the client X-Forwarded-For names, also for an answer the
    door gives (with a log, uvicorn's proxy_headers stay around the app)."""
    made: list[str] = []
    LOGGED.records.clear()
    with serving(made, access_log=True) as port:
        asyncio.run(exchange(port, [get(QUERY, extra="X-Forwarded-For: 203.0.113.9\r\n")] * 2))
    clients = [record.args[0] for record in LOGGED.records if isinstance(record.args, tuple)]
    assert clients == ["203.0.113.9:0", "203.0.113.9:0"]


def test_an_answer_cut_short_closes_the_connection_instead_of_hanging(monkeypatch) -> None:
    """Should writing fail half-way, the connection is closed, as uvicorn closes one whose
    task's answer started and never finished: the client is not left waiting."""

    def broken(*_args: Any) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(frontdoor, "write_now", broken)
    made: list[str] = []
    with serving(made) as port:

        async def closed() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(get(QUERY))
            received = await asyncio.wait_for(reader.read(), 5)  # until the server closes
            writer.close()
            return received

        assert asyncio.run(closed()) == b""
    assert made == []  # answered (cut short) without a task
