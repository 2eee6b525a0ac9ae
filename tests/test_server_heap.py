"""An idle worker gives its free heap back: once, after its last connection closed; and a
serving worker's cyclic collector walks its youngest generation seldom."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
import socket
import threading
import time
from collections.abc import Iterator
from functools import partial

import httpx
import uvicorn

from usagekit.mock.server.config import ServerConfig
from usagekit.mock.server.heap import IdleRelease, release_free_memory
from usagekit.mock.server.protocol import ContractProtocol
from usagekit.mock.server.run import GracefulServer, uvicorn_options
from usagekit.mock.wire import GC_YOUNG, serving_collector


class Count:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def run_for(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    loop.run_until_complete(asyncio.sleep(seconds))


def test_a_release_follows_the_last_close_once_however_many_close() -> None:
    count = Count()
    idle = IdleRelease(0.05, release=count)
    loop = asyncio.new_event_loop()
    try:
        idle.closed(loop, {"still open"})
        run_for(loop, 0.1)
        assert count.calls == 0  # another connection was open
        for _ in range(5):
            idle.closed(loop, set())
        run_for(loop, 0.1)
        assert count.calls == 1
        open_again: set[str] = set()
        idle.closed(loop, open_again)
        open_again.add("a new one")  # opened before the timer fired: still busy
        run_for(loop, 0.1)
        assert count.calls == 1
    finally:
        loop.close()


def test_the_release_pickles_for_spawned_workers_without_its_timer() -> None:
    idle = IdleRelease(0.05, release=release_free_memory)
    loop = asyncio.new_event_loop()
    try:
        idle.closed(loop, set())  # armed
        copy = pickle.loads(pickle.dumps(idle))
        assert copy._timer is None
        assert copy.seconds == 0.05
        assert copy.release is release_free_memory
    finally:
        loop.close()
    release_free_memory()  # harmless anywhere, whether or not the C library has malloc_trim


def test_the_servers_protocol_carries_one_release_for_every_connection() -> None:
    http = uvicorn_options(ServerConfig())["http"]
    assert isinstance(http, partial)
    assert isinstance(http.keywords["idle"], IdleRelease)


async def hello(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


@contextlib.contextmanager
def serving(idle: IdleRelease) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        hello, http=partial(ContractProtocol, idle=idle), lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_server_releases_once_its_clients_are_gone() -> None:
    count = Count()
    with serving(IdleRelease(0.2, release=count)) as base:
        with httpx.Client(base_url=base) as first, httpx.Client(base_url=base) as second:
            assert first.get("/").text == "hi"
            assert second.get("/").text == "hi"
            time.sleep(0.4)
            assert count.calls == 0  # both keep their connection open
        deadline = time.monotonic() + 10
        while count.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count.calls == 1


def collections_while(keep: int) -> int:
    """Collections of the youngest generation while ``keep`` new containers stay alive."""
    found = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 0:
            found.append(info)

    gc.callbacks.append(count)
    try:
        kept = [[] for _ in range(keep)]
    finally:
        gc.callbacks.remove(count)
    assert len(kept) == keep
    return len(found)


def test_a_serving_collector_walks_the_young_seldom_and_is_restored() -> None:
    before = gc.get_threshold()
    assert collections_while(5_000) >= 5  # CPython's pace: every 700 containers kept
    with serving_collector():
        assert gc.get_threshold() == (GC_YOUNG, *before[1:])
        gc.collect()
        assert collections_while(5_000) == 0
    assert gc.get_threshold() == before
    with contextlib.suppress(RuntimeError), serving_collector():
        raise RuntimeError("the server failed")
    assert gc.get_threshold() == before


def test_the_mocks_server_serves_with_the_serving_collector(monkeypatch) -> None:
    seen = []

    async def serve(self: uvicorn.Server, sockets: object = None) -> None:
        seen.append(gc.get_threshold()[0])

    monkeypatch.setattr(uvicorn.Server, "serve", serve)
    before = gc.get_threshold()
    asyncio.run(GracefulServer(uvicorn.Config(app=lambda *_: None)).serve())
    assert seen == [GC_YOUNG]
    assert gc.get_threshold() == before
