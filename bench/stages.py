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

Run on its own (``python bench/stages.py --data DIR``, the dataset exported as
``server.py`` does), it prints the in-process stages alone, each the least CPU
time of ``--repeat`` passes over the same ``--count`` queries, with the
aggregator's own parts (the bucket grid, ``meta``, the tally and the rest):
the figures to compare before and after a change to the cold path; ``--app``
adds the whole app's, request by request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from load import DEMO_API_KEY, NOW, SEED, unique_query

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.core.buckets import bucket_grid
from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.core.response import UsageMeta
from usagekit.mock.datasets import files
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


def _least_us(run, items, repeat: int) -> float:
    """The least CPU time of ``repeat`` passes, in µs per item."""
    return min(_cpu(run, items)[0] for _ in range(repeat)) * 1000


def parts(dataset: Dataset, count: int, repeat: int) -> dict[str, float]:
    """CPU µs per never-seen query of each in-process stage and of the aggregator's parts."""
    now = parse_instant(NOW)
    rng = random.Random(SEED)
    warm = [unique_query(rng) for _ in range(200)]
    raws = [_raw(unique_query(rng)) for _ in range(count)]
    aggregator = Aggregator(dataset)

    def resolve(raw: RawQuery):
        return resolve_query(raw, account_id=DEMO_ACCOUNT_ID, now=now)

    for path in warm:  # zone pages, rollups and scopes built before timing
        aggregator(resolve(_raw(path))).to_json()
    queries = [resolve(raw) for raw in raws]
    results = [aggregator(query) for query in queries]

    def fresh_grid(query):  # uncached: the aggregator's cache keeps the last few grids
        return bucket_grid.__wrapped__(  # type: ignore[attr-defined]
            query.timeline, query.granularity, query.start, query.end, query.limit
        )

    aggregate = _least_us(aggregator, queries, repeat)
    grid = _least_us(fresh_grid, queries, repeat)
    meta = _least_us(UsageMeta.of, queries, repeat)
    figures = {
        "resolve": _least_us(resolve, raws, repeat),
        "aggregate": aggregate,
        "  bucket grid": grid,
        "  meta": meta,
        "  tally and the rest": aggregate - grid - meta,
        "encode": _least_us(lambda result: result.to_json(), results, repeat),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, required=True, help="an exported dataset")
    parser.add_argument("--count", type=int, default=2000, help="queries (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="passes (default 5)")
    parser.add_argument("--app", action="store_true", help="also the whole app, per request")
    args = parser.parse_args()
    dataset = files.load_dataset(args.data)
    figures = parts(dataset, args.count, args.repeat)
    print(f"CPU µs per never-seen query ({args.count} queries, least of {args.repeat} passes):")
    for name, value in figures.items():
        print(f"{name:22s} {value:8.1f}")
    if args.app:
        app = measure(dataset, args.count)
        us = 1000
        print(f"whole app (one pass)   {app.app_ms * us:8.1f}  "
              f"(p50 {app.app_p50_ms * us:.1f}, p99 {app.app_p99_ms * us:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
