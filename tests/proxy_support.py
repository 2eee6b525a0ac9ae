"""Shared by the proxy's tests: a request set that exercises every single-exchange rule.

``through(app, faults…)`` runs :data:`REQUESTS` through a :class:`ValidationProxy`
in front of a :class:`MinimalServer` (in process: the proxy's upstream
transport is the server's ASGI app) and returns the proxy's answers and judge;
``through(..., served=True)`` serves the proxy as ``usagekit proxy`` does
(uvicorn, :class:`ProxyProtocol`) and asks it over one kept-alive connection;
``proxy_process(upstream, args…)`` runs ``usagekit proxy`` itself.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from factories import CHILD, PARENT, PARENT_KEY, busy_dataset
from processes import free_port, in_thread
from servers.minimal import Fault, MinimalServer
from servers.running import serving
from servers.variants import Variant

from usagekit.conformance.config import KitConfig
from usagekit.conformance.har import HarWriter
from usagekit.conformance.profiles import Profile
from usagekit.conformance.protocol import ProxyProtocol
from usagekit.conformance.proxy import ValidationProxy
from usagekit.conformance.traffic import Traffic
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import parse_instant

NOW_TEXT = "2024-04-02T00:00:00Z"
NOW = parse_instant(NOW_TEXT)
UPSTREAM = "http://upstream.test"
USAGE = "/v1/accounts/{}/analytics/usage"
DATASET = busy_dataset(NOW)

USAGEKIT = Path(sys.executable).with_name("usagekit")

Params = list[tuple[str, str]]

#: (account, key, params): what a dashboard would ask, odd corners included.
REQUESTS: list[tuple[str, str | None, Params]] = [
    (PARENT, PARENT_KEY, []),
    ("me", PARENT_KEY, [("granularity", "hour"), ("limit", "3")]),
    (PARENT, PARENT_KEY, [("granularity", "hour"), ("start", "2024-03-30T00:00:00"),
                          ("end", "2024-04-01T00:00:00"), ("tz", "Europe/Vienna")]),
    (PARENT, PARENT_KEY, [("granularity", "hour"), ("start", "2023-10-28T00:00:00"),
                          ("end", "2023-10-30T00:00:00"), ("tz", "Europe/Vienna")]),
    (PARENT, PARENT_KEY, [("group_by", "agent,type"), ("tz", "Asia/Kolkata"),
                          ("start", "2024-03-01T00:00:00Z")]),
    (PARENT, PARENT_KEY, [("group_by", "type"), ("group_by", "agent"), ("group_by", "type"),
                          ("start", "2024-03-01T00:00:00Z")]),
    (CHILD, PARENT_KEY, [("group_by", "subaccount"), ("granularity", "month"),
                         ("start", "2023-12-01T00:00:00Z")]),
    (PARENT, PARENT_KEY, [("start", "2024-03-01T00:00:00"), ("end", "2024-03-10T00:00:00"),
                          ("tz", "Australia/Sydney")]),
    (PARENT, PARENT_KEY, [("start", "2024-03-01T10:30:00Z"), ("end", "2024-03-05T00:00:00Z")]),
    (PARENT, PARENT_KEY, [("limit", "0"), ("granularity", "week"), ("tz", "Mars/Base")]),
    (PARENT, PARENT_KEY, [("tz", "Mars/Base")]),
    (PARENT, None, [("granularity", "day")]),
    (PARENT, "sk-nobody", []),
    ("00000000-0000-4000-8000-000000000000", PARENT_KEY, []),  # no such account
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: httpx.Headers
    content: bytes


def kit_config(*, data: Path | None = None, profile: Profile = Profile.REFERENCE) -> KitConfig:
    return KitConfig(
        base_url=UPSTREAM, api_key="", account_id="", data=data, profile=profile, server_now=NOW
    )


def traffic(
    data: Path | None = None, profile: Profile = Profile.REFERENCE, dataset: Dataset = DATASET
) -> Traffic:
    return Traffic(kit_config(data=data, profile=profile), dataset if data is not None else None)


def direct(
    faults: frozenset[Fault] = frozenset(),
    requests: list[tuple[str, str | None, Params]] = REQUESTS,
) -> list[Answer]:
    """``requests`` straight to the minimal server, for comparison."""
    upstream = MinimalServer(dataset=DATASET, faults=faults, now=NOW).app()

    async def go(base: str) -> list[Answer]:
        async with httpx.AsyncClient(base_url=base) as client:
            return [await _get(client, *request) for request in requests]

    with serving(upstream) as base:
        return asyncio.run(go(base))


async def _get(client: httpx.AsyncClient, account: str, key: str | None, params: Params) -> Answer:
    headers = {"X-API-Key": key} if key is not None else {}
    response = await client.get(USAGE.format(account), params=params, headers=headers)
    return Answer(response.status_code, response.headers, response.content)


def proxy_server(proxy: ValidationProxy) -> uvicorn.Server:
    """``proxy`` on uvicorn at a port the OS picks, as ``usagekit proxy`` serves it (no
    access log, no proxy_headers around the app, the upstream's Date and Server)."""
    return uvicorn.Server(
        uvicorn.Config(
            proxy,
            port=0,
            http=ProxyProtocol,
            log_level="critical",
            access_log=False,
            server_header=False,
            date_header=False,
            proxy_headers=False,
        )
    )


def through(
    judge: Traffic,
    faults: frozenset[Fault] = frozenset(),
    *,
    variants: frozenset[Variant] = frozenset(),
    strict: bool = False,
    record: Path | None = None,
    requests: list[tuple[str, str | None, Params]] = REQUESTS,
    served: bool = False,
    proxy_type: type[ValidationProxy] = ValidationProxy,
    dataset: Dataset = DATASET,
    front: Callable[[str], AbstractContextManager[str]] = nullcontext,
) -> list[Answer]:
    """``requests`` through a proxy in front of a minimal server with ``faults`` (behind
    ``front``, given the server's URL, when given)."""
    upstream = MinimalServer(dataset=dataset, faults=faults, variants=variants, now=NOW).app()
    recorder = HarWriter(record, "usagekit proxy", "test") if record is not None else None

    async def go(base: str) -> list[Answer]:
        proxy = proxy_type(base, judge, strict=strict, recorder=recorder)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=proxy), base_url="http://proxy.test"
        ) as client:
            answers = [await _get(client, *request) for request in requests]
        await proxy.aclose()
        return answers

    async def ask(base: str) -> list[Answer]:
        async with httpx.AsyncClient(base_url=base) as client:  # one kept-alive connection
            return [await _get(client, *request) for request in requests]

    try:
        with serving(upstream) as served_at, front(served_at) as base:
            if not served:
                return asyncio.run(go(base))
            server = proxy_server(proxy_type(base, judge, strict=strict, recorder=recorder))
            with in_thread(server):
                port = server.servers[0].sockets[0].getsockname()[1]
                return asyncio.run(ask(f"http://127.0.0.1:{port}"))
    finally:
        if recorder is not None:
            recorder.close()


@contextmanager
def proxy_process(
    upstream: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    command = [str(USAGEKIT), "proxy", "--upstream", upstream, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--now", NOW_TEXT, *args], stderr=subprocess.PIPE, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_usagekit/violations", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the proxy did not start") from None
                time.sleep(0.05)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
