"""The validation proxy's overhead: the mock direct vs through ``usagekit proxy``, in one run.

    .venv/bin/python bench/proxy.py [--size 200000] [--duration 5] [--python-client]

Starts ``usagekit mock`` (one worker, a synthetic dataset, pinned ``--now``)
and ``usagekit proxy --upstream`` it with the same ``--now`` (so that the
reference profile judges every answer exactly), then drives load.py's two
mixes at concurrency 1 (latency) and 32 (throughput), straight at the mock
and through the proxy:

* ``cached``: a dozen dashboard queries repeated -- the proxy has judged each
  answer once and finds its verdict again by the request and the answer's bytes;
* ``unique``: every request a new query, so every answer is judged in full --
  except that wrk seeds each thread alike in every cell, so the first thread of
  a c=32 cell asks again what the c=1 cell asked (the mock's memo and the
  proxy's verdicts find those), on both paths alike.

The load generator is wrk where installed (as ``server.py`` uses it), else
load.py's asyncio client, which takes a core of its own and so understates a
proxy that shares the machine with it. Direct and proxied cells alternate, so
that a neighbour's load falls on both alike. Prints p50/p99 and req/s of each
cell, the added p50 latency (c=1) and the throughput ratio (c=32) per mix,
the CPU time the mock and the proxy spent per request in each cell (from
/proc: a figure a neighbour's load distorts far less than req/s), and the
proxy's violation tally (a correct upstream must give none). Targets:
p50 added latency <= 2 ms; throughput >= 70% of direct. Nothing is asserted;
on a shared machine compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from load import NOW, Load, run_python, run_wrk, write_scripts
from server import free_port, stop, wait_healthy

MIXES = ("cached", "unique")


def start(command: str, *args: str) -> subprocess.Popen[bytes]:
    code = f"import sys\nfrom usagekit.cli.{command} import {command}\n{command}(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args, "--now", NOW],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), None where unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_request(before: list[float | None], pids: list[int], requests: float) -> list[str]:
    """CPU ms per request of each process since ``before``."""
    shown = []
    for start, pid in zip(before, pids, strict=True):
        end = cpu_seconds(pid)
        spent = None if start is None or end is None else (end - start) * 1000 / max(requests, 1)
        shown.append("?" if spent is None else f"{spent:.2f}")
    return shown


def tally(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_usagekit/violations") as answer:
        return json.loads(answer.read())


def driver(
    workdir: Path, python_client: bool
) -> tuple[str, Callable[[int, int, float, str], Load]]:
    """The load generator: wrk with load.py's scripts where installed, else asyncio."""
    if python_client or not shutil.which("wrk"):
        return "python asyncio (raw keep-alive sockets)", run_python
    scripts = write_scripts(workdir)

    def run(port: int, concurrency: int, seconds: float, mix: str) -> Load:
        return run_wrk(port, concurrency, seconds, scripts[mix])

    return "wrk", run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200_000, help="conversations")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per cell")
    parser.add_argument("--python-client", action="store_true", help="asyncio even with wrk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        name, run = driver(Path(workdir), args.python_client)
        print(f"dataset: {args.size:,} synthetic conversations; {args.duration:g} s per cell; "
              f"cores: {os.cpu_count()}; load: {name}")  # fmt: skip
        measure(args.size, args.duration, run)


def measure(size: int, duration: float, run: Callable[[int, int, float, str], Load]) -> None:
    mock_port, proxy_port = free_port(), free_port()
    mock = start("mock", "--port", str(mock_port), "--size", str(size), "--no-access-log")
    upstream = f"http://127.0.0.1:{mock_port}"
    proxy = start("proxy", "--upstream", upstream, "--port", str(proxy_port))
    results: dict[tuple[str, str, int], Load] = {}
    cpu: dict[tuple[str, str, int], list[str]] = {}
    pids = [mock.pid, proxy.pid]
    try:
        wait_healthy(mock_port, "/healthz")
        wait_healthy(proxy_port, "/healthz")  # through the proxy to the mock
        for port in (mock_port, proxy_port):
            run(port, 32, 2, "cached")  # warm-up: memo, front cache, verdicts
        for mix in MIXES:
            for concurrency in (1, 32):
                for label, port in (("direct", mock_port), ("proxied", proxy_port)):
                    before = [cpu_seconds(pid) for pid in pids]
                    load = run(port, concurrency, duration, mix)
                    results[mix, label, concurrency] = load
                    spent = cpu[mix, label, concurrency] = per_request(
                        before, pids, load.rps * duration
                    )
                    print(f"  {mix:<7} {label:<8} c={concurrency:<3} {load.rps:>8,.0f} req/s  "
                          f"p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:6.2f} ms  "
                          f"CPU ms/req mock {spent[0]} proxy {spent[1]}  "
                          f"non-2xx/errors {load.errors}", flush=True)  # fmt: skip
        found = tally(proxy_port)
    finally:
        stop(proxy)
        stop(mock)

    print("\n| mix | path | c | req/s | p50 ms | p99 ms | CPU ms/req mock | proxy |")
    print("|---|---|---|---|---|---|---|---|")
    for (mix, label, concurrency), load in results.items():
        mock_ms, proxy_ms = cpu[mix, label, concurrency]
        print(f"| {mix} | {label} | {concurrency} | {load.rps:,.0f} | {load.p50_ms:.2f} | "
              f"{load.p99_ms:.2f} | {mock_ms} | {proxy_ms} |")  # fmt: skip
    print()
    for mix in MIXES:
        added = results[mix, "proxied", 1].p50_ms - results[mix, "direct", 1].p50_ms
        ratio = results[mix, "proxied", 32].rps / results[mix, "direct", 32].rps
        print(f"{mix}: added p50 latency (c=1) {added:.2f} ms -> "
              f"{'meets' if added <= 2 else 'MISSES'} <= 2 ms; throughput (c=32) {ratio:.0%} "
              f"of direct -> {'meets' if ratio >= 0.7 else 'MISSES'} >= 70%")  # fmt: skip
    violations = found["violations"]
    assert isinstance(violations, list)
    print(f"proxy: {found['exchanges']} exchanges judged, {len(violations)} distinct violations")


if __name__ == "__main__":
    main()
