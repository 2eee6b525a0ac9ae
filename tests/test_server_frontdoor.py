"""The front door answers a valid request exactly as the whole chain of layers behind it would.

Each request is sent twice, once to the app ``usagekit mock`` serves (the front door
first) and once to the chain behind the door: the answers (status, headers, body), the
journal's entries and the coverage ledger's counts must not tell them apart, and the
door must have answered every plain valid request itself, a repeat or not.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from factories import CHILD, CHILD_KEY, OTHER, PARENT_KEY
from server_support import DATASET, ME, NOW, PATH

from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.frontdoor import FrontDoor
from usagekit.mock.server.workbench import create_workbench

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def scope_of(target: str, key: str | None, method: str = "GET", **headers: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    sent = [(b"host", b"test")]
    if key is not None:
        sent.append((b"x-api-key", key.encode()))
    sent += [(name.encode(), value.encode()) for name, value in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": sent,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def answer(app: Any, scope: dict[str, Any]) -> Answer:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], list(start["headers"]), body


class Counted:
    """The chain behind the door, counting the requests the door passed on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def door_of(app: Any) -> tuple[FrontDoor, Counted]:
    assert isinstance(app, FrontDoor)
    app.app = chain = Counted(app.app)
    return app, chain


GROUPED = f"{ME}?group_by=agent,type&tz=Europe/Vienna"
REQUESTS = [
    (ME, PARENT_KEY, {}),
    (GROUPED, PARENT_KEY, {}),
    (f"{ME}?granularity=hour&limit=24", CHILD_KEY, {}),
    (f"{PATH.format(CHILD)}?granularity=day", PARENT_KEY, {}),
    (f"{ME}?tz=UTC&x=1", PARENT_KEY, {}),  # another spelling of a known query
]
# Requests the door leaves to the chain (with why), each after the plain ones are warm.
PASSED_ON = [
    (ME, PARENT_KEY, {"origin": "https://app.example"}),  # CORS answers a browser
    (ME, PARENT_KEY, {"prefer": "code=429"}),  # Prefer applied
    (ME, PARENT_KEY, {"prefer": "latency=abc"}),  # Prefer refused: a Warning
    (ME, None, {}),  # no key: 401
    (ME, "sk-nobody", {}),  # a key never answered 200
    (PATH.format(OTHER), PARENT_KEY, {}),  # 403: never remembered
    (f"{ME}?limit=0", PARENT_KEY, {}),  # 422
    ("/healthz", None, {}),
    ("/_usagekit/names", None, {}),
]


def records(app: FrontDoor) -> tuple[list[tuple[Any, ...]], Counter[str], int]:
    recording = app.door.recording
    assert recording is not None
    journal = [record[1:4] + record[4:5] + record[6:] for record in recording.journal.records]
    ledger = recording.coverage.settle()
    return journal, Counter(ledger.counts()), ledger.exchanges


def test_the_door_answers_a_repeat_as_the_chain_would() -> None:
    app, chain = door_of(create_workbench(DATASET, ServerConfig(now=NOW)))
    for target, key, headers in REQUESTS:  # first seen: through the chain, remembered
        assert answer(app, scope_of(target, key, **headers))[0] == 200
    for target, key, headers in REQUESTS + PASSED_ON:
        journal, counts, exchanges = records(app)
        calls = chain.calls
        by_door = answer(app, scope_of(target, key, **headers))
        passed_on = chain.calls - calls
        door_records = records(app)
        by_chain = answer(chain.app, scope_of(target, key, **headers))
        chain_records = records(app)
        assert by_door == by_chain, target
        assert passed_on == ((target, key, headers) in PASSED_ON), target
        # The same entry added to the journal, the same cells counted, both ways.
        assert door_records[0][len(journal) :] == chain_records[0][len(journal) + 1 :]
        assert door_records[1] - counts == chain_records[1] - door_records[1], target
        assert door_records[2] - exchanges == chain_records[2] - door_records[2], target
    assert ("vary", "Origin") in [(k.decode(), v.decode()) for k, v in by_door[1]]


def test_the_door_answers_a_new_request_as_the_chain_would() -> None:
    # Two servers, each seeing every request for the first time: one through its
    # door, one through the chain alone.
    app, chain = door_of(create_workbench(DATASET, ServerConfig(now=NOW)))
    other, other_chain = door_of(create_workbench(DATASET, ServerConfig(now=NOW)))
    new = [
        *REQUESTS,
        (f"{ME}?granularity=hour&start=2024-10-26T00:00:00&end=2024-10-28T00:00:00"
         "&tz=Europe/Vienna&group_by=type", CHILD_KEY, {}),
    ]  # fmt: skip
    for target, key, headers in new + PASSED_ON:
        by_door = answer(app, scope_of(target, key, **headers))
        by_chain = answer(other_chain.app, scope_of(target, key, **headers))
        assert by_door == by_chain, target
    assert chain.calls == len(PASSED_ON)  # every valid request answered at the door
    assert records(app) == records(other)
    assert [record[3] for record in records(app)[0]][: len(new)] == [200] * len(new)


def test_a_new_answer_that_fails_is_the_chains_to_refuse() -> None:
    app, chain = door_of(create_workbench(DATASET, ServerConfig(now=NOW)))
    fast = app.door.hits()
    assert fast is not None

    def broken(query: Any) -> bytes:
        raise RuntimeError("the aggregator broke")

    fast.answer = broken
    status, headers, body = answer(app, scope_of(GROUPED, PARENT_KEY))
    assert chain.calls == 1  # the door tried, then sent it on, for the Guard to answer
    assert status == 500
    assert b'"code":"internal_error"' in body.replace(b" ", b"")
    assert ("vary", "Origin") in [(k.decode(), v.decode()) for k, v in headers]
    assert app.limit.in_flight == 0


def test_the_door_of_the_contract_app_alone() -> None:
    app, chain = door_of(create_app(DATASET, ServerConfig(now=NOW)))
    assert answer(app, scope_of(GROUPED, PARENT_KEY)) == answer(
        chain.app, scope_of(GROUPED, PARENT_KEY)
    )
    calls = chain.calls
    assert answer(app, scope_of(GROUPED, PARENT_KEY))[0] == 200
    assert chain.calls == calls


@pytest.mark.parametrize(
    "config", [{"error_rate": 0.5}, {"rate_limit": 1000.0}, {"latency_ms": (1, 2)}]
)
def test_no_door_where_the_contract_app_acts_on_every_request(config: dict[str, Any]) -> None:
    assert not isinstance(create_app(DATASET, ServerConfig(now=NOW, **config)), FrontDoor)
    app, chain = door_of(create_workbench(DATASET, ServerConfig(now=NOW, **config)))
    assert app.door.hits() is None
    for _ in range(2):
        answer(app, scope_of(ME, PARENT_KEY))
    assert chain.calls == 2


def test_a_runtime_scenario_and_a_full_worker_are_the_chains_to_answer() -> None:
    app, chain = door_of(create_workbench(DATASET, ServerConfig(now=NOW, max_requests=1)))
    assert answer(app, scope_of(ME, PARENT_KEY))[0] == 200
    app.limit.in_flight = 1  # another answer in flight: the only slot is taken
    assert answer(app, scope_of(ME, PARENT_KEY))[0] == 503
    app.limit.in_flight = 0
    calls = chain.calls
    assert answer(app, scope_of(ME, PARENT_KEY))[0] == 200
    assert chain.calls == calls
    scenario = scope_of("/_usagekit/scenario", None, "PUT")

    async def put() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"code": 503}', "more_body": False}

    sent: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scenario, put, keep))
    assert sent[0]["status"] == 200
    assert answer(app, scope_of(ME, PARENT_KEY))[0] == 503


def test_a_failed_send_is_journaled_and_never_answered_twice() -> None:
    app, _ = door_of(create_workbench(DATASET, ServerConfig(now=NOW)))
    assert answer(app, scope_of(ME, PARENT_KEY))[0] == 200
    journal, counts, exchanges = records(app)
    messages: list[dict[str, Any]] = []

    async def broken(message: dict[str, Any]) -> None:
        messages.append(message)
        raise OSError("the client went away")

    asyncio.run(app(scope_of(ME, PARENT_KEY), receive, broken))
    after = records(app)
    assert [m["type"] for m in messages] == ["http.response.start"]
    assert after[0][len(journal) :] == [("GET", ME, b"", 200, after[0][-1][-1])]
    assert after[1] == counts
    assert after[2] == exchanges
    assert app.limit.in_flight == 0
