"""Where a never-seen query's time goes, measured in process (CPU time, no socket).

Stages of the unique mix, each over the same seeded queries: ``resolve``
(:func:`resolve_query` on the parameters as written), ``aggregate`` (the
reference :class:`Aggregator`), ``encode`` (:meth:`UsageResult.to_json`).
``app`` is the app ``usagekit mock`` serves (the workbench around the
contract's app) driven in process -- its middlewares, the front cache's miss,
the direct resolver, the handler -- over other queries of the same mix (so
that no answer is a memo hit); ``HTTP stack`` is ``app`` minus the three
stages. uvicorn's own parsing and writing are not in it (see the server's CPU
time per request in ``server.py``). CPU time, not wall time: the machine may
be shared. ``app`` is also timed request by request, for the distribution
(p50, p99, max): a worker answers one request at a time, so at c=32 a slow
answer (hour buckets over 30 days grouped by agent: some 350 kB) delays every
request queued behind it.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from load import DEMO_API_KEY, NOW, SEED, unique_query

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.datasets.synthetic import DEMO_ACCOUNT_ID
from usagekit.mock.server.config import ServerConfig, parse_instant
from usagekit.mock.server.workbench import create_workbench


@dataclass(frozen=True, slots=True)
class Split:
    resolve_ms: float
    aggregate_ms: float
    encode_ms: float
    app_ms: float
    body_kb: float
    #: The app's CPU time per request: the median, the 99th percentile, the largest.
    app_p50_ms: float = 0.0
    app_p99_ms: float = 0.0
    app_max_ms: float = 0.0

    @property
    def stack_ms(self) -> float:
        return max(0.0, self.app_ms - self.resolve_ms - self.aggregate_ms - self.encode_ms)


def _raw(path: str) -> RawQuery:
    params = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
    group_by = params.pop("group_by", None)
    return RawQuery(**params, group_by=None if group_by is None else [group_by])


def _cpu(run, items) -> tuple[float, list]:
    started = time.process_time()
    out = [run(item) for item in items]
    return (time.process_time() - started) / len(items) * 1000, out


def measure(dataset: Dataset, count: int = 400) -> Split:
    now = parse_instant(NOW)
    rng = random.Random(SEED)
    warm = [unique_query(rng) for _ in range(50)]
    paths = [unique_query(rng) for _ in range(count)]
    others = [unique_query(rng) for _ in range(count)]
    aggregator = Aggregator(dataset)

    def resolve(path: str):
        return resolve_query(_raw(path), account_id=DEMO_ACCOUNT_ID, now=now)

    for path in warm:  # zone pages, rollups and scopes built before timing
        aggregator(resolve(path)).to_json()
    resolve_ms, queries = _cpu(resolve, paths)
    aggregate_ms, results = _cpu(aggregator, queries)
    encode_ms, bodies = _cpu(lambda result: result.to_json(), results)

    app = create_workbench(dataset, ServerConfig(now=now, access_log=False))

    async def call(path: str) -> None:
        target, _, query = path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": target, "raw_path": target.encode(),
            "query_string": query.encode(), "root_path": "", "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1),
            "headers": [(b"host", b"bench"), (b"x-api-key", DEMO_API_KEY.encode())],
        }  # fmt: skip
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"{path}: {sent[0]['status']} {sent[-1].get('body', b'')[:200]}")

    async def drive(batch: list[str]) -> list[float]:
        each = []
        for path in batch:
            started = time.process_time_ns()
            await call(path)
            each.append((time.process_time_ns() - started) / 1e6)
        return each

    asyncio.run(drive(warm))
    each = sorted(asyncio.run(drive(others)))
    body_kb = sum(map(len, bodies)) / len(bodies) / 1000
    app_ms = sum(each) / len(each)
    p50, p99 = each[len(each) // 2], each[min(len(each) - 1, len(each) * 99 // 100)]
    return Split(resolve_ms, aggregate_ms, encode_ms, app_ms, body_kb, p50, p99, each[-1])
