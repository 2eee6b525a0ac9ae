"""Load the running mock with a fixed query mix; connexion's own mock as the baseline.

    .venv/bin/python bench/server.py [--size 1000000] [--duration 10] [--python-client]

Starts ``usagekit mock`` (1 and 2 workers) over a synthetic dataset of
``--size`` conversations with a pinned ``--now``, waits for ``/healthz``,
warms every worker up, then drives the QUERIES mix -- several accounts and
keys (``me`` included), hour/day/month buckets, UTC and DST zones, group_by
combinations, all real aggregates -- at concurrency 1 and 32. The load
generator is wrk (with a Lua script for the mix) where installed, else a
Python asyncio generator over raw keep-alive sockets. The same mix then goes
to ``connexion run openapi.yaml --mock=all`` (connexion's example-serving
mock, one process; its API-key check is satisfied through connexion's
``APIKEYINFO_FUNC``). Prints req/s, p50 and p99 per cell, and the ratios.

Targets on the 2-core reference machine (2 workers, c=32): >= 4,000 req/s,
p99 <= 20 ms. wrk shares the two cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from usagekit.mock.datasets.synthetic import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_SUBACCOUNT_ID,
    DEMO_SUBACCOUNT_KEY,
    FOREIGN_API_KEY,
)
from usagekit.mock.spec import spec_path

NOW = "2026-01-15T12:00:00Z"
USAGE = "/v1/accounts/{}/analytics/usage"

#: (key, path + query): what a dashboard asks, over every account a key may read.
QUERIES: list[tuple[str, str]] = [
    (DEMO_API_KEY, USAGE.format("me")),
    (DEMO_API_KEY, USAGE.format("me") + "?group_by=agent,type&tz=Europe/Vienna"),
    (DEMO_API_KEY, USAGE.format("me") + "?granularity=hour&tz=America/New_York&limit=168"),
    (DEMO_API_KEY, USAGE.format("me") + "?granularity=month&start=2025-01-01T00:00:00"
     "&tz=Europe/Vienna&group_by=subaccount"),
    (DEMO_API_KEY, USAGE.format(DEMO_ACCOUNT_ID) + "?group_by=agent&group_by=type"),
    (DEMO_API_KEY, USAGE.format(DEMO_SUBACCOUNT_ID) + "?granularity=day&tz=Asia/Kathmandu"),
    (DEMO_API_KEY, USAGE.format("me") + "?granularity=hour&start=2025-10-25T00:00:00"
     "&end=2025-10-27T00:00:00&tz=Europe/Vienna&group_by=type"),
    (DEMO_API_KEY, USAGE.format("me") + "?granularity=day&tz=Australia/Lord_Howe"
     "&start=2025-10-01T00:00:00&end=2025-10-15T00:00:00&group_by=agent"),
    (DEMO_SUBACCOUNT_KEY, USAGE.format("me") + "?group_by=agent"),
    (DEMO_SUBACCOUNT_KEY, USAGE.format("me") + "?granularity=hour&limit=24&tz=UTC"),
    (FOREIGN_API_KEY, USAGE.format("me") + "?granularity=month&start=2025-02-01T00:00:00Z"),
    (FOREIGN_API_KEY, USAGE.format("me") + "?granularity=day&group_by=type,agent"
     "&tz=America/Sao_Paulo"),
]  # fmt: skip

LUA = """
local queries = %s
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 7
end
function init(args)
  i = offset
end
function request()
  i = i + 1
  local q = queries[(i %% #queries) + 1]
  return wrk.format("GET", q[2], {["X-API-Key"] = q[1]})
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50": %%d, "p99": %%d, '
    .. '"errors": %%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), bad))
end
"""


@dataclass(frozen=True, slots=True)
class Cell:
    label: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, path: str = "/healthz", timeout: float = 60.0) -> float:
    start = time.perf_counter()
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode()
    while time.perf_counter() - start < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1 "):
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"port {port} did not answer in {timeout} s")


# -- load generators ------------------------------------------------------------------


def run_wrk(
    port: int, concurrency: int, seconds: float, script: Path
) -> tuple[float, float, float, int]:
    threads = min(concurrency, 2)
    duration = max(1, round(seconds))  # wrk takes whole seconds
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration}s", "-s", str(script)]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return (
        result["requests"] / result["seconds"],
        result["p50"] / 1000,
        result["p99"] / 1000,
        result["errors"],
    )


async def _connection(port: int, deadline: float, offset: int, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n\r\n".encode()
        for key, path in QUERIES
    ]
    errors = 0
    i = offset
    try:
        while time.perf_counter() < deadline:
            i += 1
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
    finally:
        writer.close()
    return errors


def run_python(port: int, concurrency: int, seconds: float) -> tuple[float, float, float, int]:
    async def main() -> tuple[list[float], int]:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        errors = await asyncio.gather(
            *(_connection(port, deadline, 7 * c, latencies) for c in range(concurrency))
        )
        return latencies, sum(errors)

    started = time.perf_counter()
    latencies, errors = asyncio.run(main())
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, errors


# -- servers --------------------------------------------------------------------------


def start_mock(port: int, workers: int, size: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-c", "import sys\nfrom usagekit.cli.mock import mock\nmock(sys.argv[1:])",
        "--port", str(port), "--workers", str(workers), "--size", str(size), "--now", NOW,
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


ANY_KEY = """
def accept(api_key, required_scopes=None):
    return {"sub": "bench"}
"""


def start_connexion(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    # The spec has no x-apikeyInfoFunc (ours plugs in through security_map), so
    # connexion's mock would answer 401; its APIKEYINFO_FUNC takes any key instead.
    (workdir / "usagekit_bench_any_key.py").write_text(ANY_KEY, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "APIKEYINFO_FUNC": "usagekit_bench_any_key.accept", "PYTHONPATH": path}
    connexion = Path(sys.executable).with_name("connexion")
    command = [str(connexion), "run", str(spec_path()), "--mock=all", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure(label: str, port: int, args: argparse.Namespace, script: Path | None) -> list[Cell]:
    cells = []
    for concurrency in (1, 32):
        if script is not None:
            rps, p50, p99, errors = run_wrk(port, concurrency, args.duration, script)
        else:
            rps, p50, p99, errors = run_python(port, concurrency, args.duration)
        cell = Cell(label, concurrency, rps, p50, p99, errors)
        print(f"  {label:<28} c={concurrency:<3} {rps:>9,.0f} req/s  p50 {p50:6.2f} ms  "
              f"p99 {p99:6.2f} ms  non-2xx/errors {errors}", flush=True)  # fmt: skip
        cells.append(cell)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="conversations")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--python-client", action="store_true", help="never use wrk")
    args = parser.parse_args()

    script = None
    workdir = Path(tempfile.mkdtemp(prefix="usagekit-bench-"))
    if shutil.which("wrk") and not args.python_client:
        script = workdir / "mix.lua"
        rows = ", ".join(f'{{"{key}", "{path}"}}' for key, path in QUERIES)
        script.write_text(LUA % ("{" + rows + "}"), encoding="utf-8")
    client = "wrk" if script else "python asyncio (raw keep-alive sockets)"
    print(f"load generator: {client}; {len(QUERIES)} queries; {args.duration:g} s per cell; "
          f"dataset: {args.size:,} conversations; cores: {os.cpu_count()}", flush=True)  # fmt: skip

    cells: list[Cell] = []
    for workers in (1, 2):
        port = free_port()
        server = start_mock(port, workers, args.size)
        try:
            ready = wait_healthy(port)
            label = f"usagekit mock, {workers} worker{'s' if workers > 1 else ''}"
            print(f"{label}: healthy after {ready:.2f} s", flush=True)
            # Warm-up: every worker computes and memoises every query of the mix once.
            if script is not None:
                run_wrk(port, 32, 2, script)
            else:
                run_python(port, 32, 2)
            cells += measure(label, port, args, script)
        finally:
            stop(server)

    port = free_port()
    baseline = start_connexion(port, workdir)
    try:
        print(f"connexion --mock=all: healthy after {wait_healthy(port, '/openapi.json'):.2f} s")
        cells += measure("connexion run --mock=all", port, args, script)
    finally:
        stop(baseline)
    shutil.rmtree(workdir, ignore_errors=True)

    report(cells)


def report(cells: list[Cell]) -> None:
    base = {c.concurrency: c for c in cells if c.label.startswith("connexion")}
    print("\n| server | c | req/s | p50 ms | p99 ms | errors | req/s vs connexion mock |")
    print("|---|---|---|---|---|---|---|")
    for c in cells:
        ratio = c.rps / base[c.concurrency].rps if c.concurrency in base else float("nan")
        print(f"| {c.label} | {c.concurrency} | {c.rps:,.0f} | {c.p50_ms:.2f} | {c.p99_ms:.2f} | "
              f"{c.errors} | {ratio:.2f}x |")  # fmt: skip
    best = next(c for c in cells if c.label.endswith("2 workers") and c.concurrency == 32)
    verdict = "meets" if best.rps >= 4000 and best.p99_ms <= 20 else "MISSES"
    print(
        f"\n2 workers, c=32: {best.rps:,.0f} req/s, p99 {best.p99_ms:.2f} ms -> {verdict} "
        "the target (>= 4,000 req/s, p99 <= 20 ms)"
    )


if __name__ == "__main__":
    main()
