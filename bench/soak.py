"""Soak the running mock with mixed traffic and watch its memory.

    .venv/bin/python bench/soak.py [--duration 60] [--connections 64] [--workers 2]
                                   [--size 100000] [--cache-mb 64]

Starts ``usagekit mock`` (pinned ``--now``, synthetic dataset) and drives
``--connections`` keep-alive connections for ``--duration`` seconds with a mix
of, per 16 requests:

* 8 repeated dashboard queries (``bench/load.py``'s QUERIES: memo hits),
* 4 unique queries (``bench/load.py``'s unique mix: a new aggregate each),
* 3 padded repeats (an ignored ``pad=`` of up to 3 KiB, unique every time:
  the probe that once grew one worker to 4 GB),
* 1 oversize query (a 5 KiB ``pad=``: answered 400 ``bad_request``).

Every answer is checked: 200 for the first three kinds, 400 with the
contract's JSON for the last; anything else, or a broken connection, is an
error. The memory of the server and its workers is sampled every 5 s, as RSS
and PSS summed over the process tree (the forked workers share the dataset's
pages, which RSS counts once per worker and PSS splits). Prints req/s,
p50/p99 latency, errors, and memory after warm-up (the first sample at or past
a quarter of the run) and at the end, with the growth between them.
Targets: 0 errors, RSS growth under 10 % after warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import time

from load import NOW, QUERIES, unique_query
from processes import free_port, memory_mb, stop, usagekit, wait_healthy

from usagekit.mock.datasets.synthetic import DEMO_API_KEY

USAGE = "/v1/accounts/me/analytics/usage"
SAMPLE_SECONDS = 5.0


def start_mock(port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    command = usagekit(
        "mock", "--port", str(port), "--workers", str(args.workers), "--size", str(args.size),
        "--now", NOW, "--cache-mb", str(args.cache_mb), "--no-access-log",
        "--log-level", "warning",
    )  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def request(kind: int, rng: random.Random) -> tuple[bytes, int]:
    """The bytes of one request of the mix, and the status it must get."""
    slot = kind % 16
    key, path = QUERIES[rng.randrange(len(QUERIES))]
    if slot < 8:
        pass
    elif slot < 12:
        key, path = DEMO_API_KEY, unique_query(rng)
    elif slot < 15:
        pad = f"{rng.getrandbits(64):x}" * rng.randrange(1, 180)
        path = f"{path}{'&' if '?' in path else '?'}pad={pad}"
    else:
        path = f"{USAGE}?pad={'x' * 5000}"
        return _get(path, key), 400
    return _get(path, key), 200


def _get(path: str, key: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: soak\r\nX-API-Key: {key}\r\n\r\n".encode()


async def connection(
    port: int, deadline: float, seed: int, latencies: list[float], errors: list[str]
) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    kind = seed
    try:
        while time.perf_counter() < deadline:
            kind += 1
            data, expected = request(kind, rng)
            started = time.perf_counter()
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            length, json_body, close = 0, False, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"content-type":
                    json_body = value.strip() == b"application/json"
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(head.split(b" ", 2)[1])
            if status != expected or not json_body:
                errors.append(f"{status} for a request expecting {expected}")
            if close:  # reconnect, as a client would
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(type(exc).__name__)
    finally:
        writer.close()


async def drive(port: int, args: argparse.Namespace, pid: int) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    samples: list[tuple[float, float, float]] = []
    started = time.perf_counter()
    deadline = started + args.duration

    async def sample() -> None:
        while time.perf_counter() < deadline:
            samples.append((time.perf_counter() - started, *memory_mb(pid)))
            await asyncio.sleep(SAMPLE_SECONDS)
        samples.append((time.perf_counter() - started, *memory_mb(pid)))

    await asyncio.gather(
        sample(),
        *(connection(port, deadline, c, latencies, errors) for c in range(args.connections)),
    )
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    warm = next(sample for sample in samples if sample[0] >= args.duration / 4)
    end = samples[-1]
    rate = len(latencies) / elapsed
    print(f"requests     {len(latencies):,} in {elapsed:.1f} s: {rate:,.0f} req/s")
    print(f"latency      p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms")
    print(f"errors       {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    print("pss/rss MiB  " + " ".join(f"{at:.0f}s:{pss:.0f}/{rss:.0f}" for at, pss, rss in samples))
    for name, index in (("pss", 1), ("rss", 2)):
        growth = (end[index] - warm[index]) / warm[index]
        print(
            f"{name} growth   {growth:+.1%} after warm-up "
            f"({warm[index]:.0f} -> {end[index]:.0f} MiB at {warm[0]:.0f}-{end[0]:.0f} s;"
            " target < 10 %)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--cache-mb", type=int, default=64)
    args = parser.parse_args()
    port = free_port()
    process = start_mock(port, args)
    try:
        wait_healthy(port, "/healthz")
        print(
            f"usagekit mock --workers {args.workers} --size {args.size:,} "
            f"--cache-mb {args.cache_mb}; {args.connections} connections, {args.duration:.0f} s"
        )
        asyncio.run(drive(port, args, process.pid))
    finally:
        stop(process)


if __name__ == "__main__":
    main()
