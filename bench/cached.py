"""What a cached answer costs the mock in process: CPU time per request, no socket.

Drives the ASGI apps directly with the bench's cached mix (:data:`load.QUERIES`,
after a warm-up every answer is a front-cache hit) and prints the CPU time per
request of:

* ``floor``: an app that answers fixed bytes -- the harness itself;
* ``create_app``: the contract's app with its edges (CORS, Guard, limits,
  scenarios, rate limit, front cache);
* ``create_workbench``: what ``usagekit mock`` serves (the above plus the
  workbench: dispatch, journal, coverage ledger, runtime scenarios).

Ratios against the floor measured in the same run; best of ``--rounds``, CPU
time (``time.process_time``), so a shared machine distorts it little.
Run: ``.venv/bin/python bench/cached.py [--size 100000] [--requests 3000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from load import NOW, QUERIES

from usagekit.mock.datasets.synthetic import generate
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import ServerConfig, parse_instant
from usagekit.mock.server.workbench import create_workbench

ASGIApp = Callable[..., Any]
BODY = b"{}"


async def floor(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def scopes() -> list[dict[str, Any]]:
    """One ASGI scope per query of the mix, as uvicorn builds it."""
    found = []
    for key, target in QUERIES:
        path, _, query = target.partition("?")
        found.append(
            {
                "type": "http",
                "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1",
                "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 50000),
                "scheme": "http",
                "root_path": "",
                "method": "GET",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query.encode(),
                "headers": [(b"host", b"bench"), (b"x-api-key", key.encode())],
            }
        )
    return found


async def drive(app: ASGIApp, requests: int) -> float:
    """CPU µs per request of ``requests`` answers from ``app``, cycling through the mix."""
    templates = scopes()
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    for template in templates * 3:  # warm-up: every query remembered
        await app(dict(template), receive, send)
    if statuses != {200}:
        raise RuntimeError(f"the cached mix should answer 200 only, got {sorted(statuses)}")
    started = time.process_time()
    for i in range(requests):
        await app(dict(templates[i % len(templates)]), receive, send)
    return (time.process_time() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="synthetic conversations")
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best is kept")
    args = parser.parse_args()
    now = parse_instant(NOW)
    dataset = generate(seed=1, now=now, size=args.size)
    config = ServerConfig(now=now)
    apps = {
        "floor": floor,
        "create_app": create_app(dataset, config),
        "create_workbench": create_workbench(dataset, config),
    }
    loop = asyncio.new_event_loop()
    best = {name: float("inf") for name in apps}
    for _ in range(args.rounds):  # interleaved, so that a busy moment hits every app
        for name, app in apps.items():
            best[name] = min(best[name], loop.run_until_complete(drive(app, args.requests)))
    loop.close()
    print(f"cached mix, {len(QUERIES)} queries, {args.requests} requests x {args.rounds} rounds")
    print("| app | CPU us / request | x floor |")
    print("|---|---|---|")
    for name, micros in best.items():
        print(f"| {name} | {micros:.1f} | {micros / best['floor']:.1f} |")
    print(f"workbench / app: {best['create_workbench'] / best['create_app']:.2f}")


if __name__ == "__main__":
    main()
