"""The validation proxy's overhead: the mock direct vs through ``usagekit proxy``, in one run.

    .venv/bin/python bench/proxy.py [--size 200000] [--duration 5] [--python-client]

Starts ``usagekit mock`` (one worker, a synthetic dataset, pinned ``--now``)
and ``usagekit proxy --upstream`` it with the same ``--now`` (so that the
reference profile judges every answer exactly), then drives load.py's two
mixes at concurrency 1 (latency) and 32 (throughput), straight at the mock
and through the proxy:

* ``cached``: a dozen dashboard queries repeated -- the proxy has judged each
  answer once and finds its verdict again by the request and the answer's bytes;
* ``unique``: every request a new query, so every answer is judged in full
  (each wrk run and each of its threads draws its own queries, seeded by the
  run's number: no cell asks what an earlier one warmed a cache with).

Each cell is measured in two placements of the processes on the CPUs:

* ``shared``: the load generator, the mock and the proxy each may run on every
  CPU. This answers "what does a machine that runs all three serve through the
  proxy?". When all three are CPU-bound, proxied throughput is at most direct x
  (mock + load) / (mock + load + proxy), the CPU each spends per request: the
  proxy's CPU is taken from the mock's, so the ratio says how the proxy's cost
  compares with the mock's, not whether the proxy is a bottleneck.
* ``own core``: the load generator and the mock pinned to one CPU, the proxy to
  another (every thread of each process, checked in ``/proc/PID/task/*/status``),
  the way a proxy is deployed: a sidecar or a CI job's container with CPU of its
  own. Direct is then the mock and the load generator on that same one CPU, the
  hardware the proxied path's upstream gets, so the ratio answers "does the
  proxy bottleneck the traffic when it has a core of its own?": it is 100%
  until the proxy's CPU per request exceeds the mock's and the load's together
  (printed too, from the CPU per request: the share of direct's rate that the
  proxy's core alone allows, a figure a busy machine distorts far less).
  Skipped, with the reason printed, on a machine with fewer than two CPUs.

The load generator is wrk where installed (as ``server.py`` uses it), else
load.py's asyncio client, which takes a core of its own and so understates a
proxy that shares the machine with it. Cells alternate direct, proxied, and
shared, own core, so that a neighbour's load falls on each alike. Prints p50/p99
and req/s of each cell, the added p50 latency (c=1) and the throughput ratio
(c=32) per mix and placement, the CPU time the load generator, the mock and the
proxy spent per request in each cell (getrusage and /proc: figures a
neighbour's load distorts far less than req/s), and the proxy's violation tally
(a correct upstream must give none). Targets: p50 added latency <= 2 ms;
throughput >= 70% of direct. Nothing is asserted; on a shared machine compare
the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from load import NOW, Load, run_python, run_wrk, write_scripts
from processes import cpu_seconds, free_port, stop, tree, usagekit, wait_healthy

MIXES = ("cached", "unique")
SHARED, OWN_CORE = "shared", "own core"


@dataclass(frozen=True, slots=True)
class Placement:
    """The CPUs each party may run on: the load generator, the mock, the proxy."""

    name: str
    load: frozenset[int]
    mock: frozenset[int]
    proxy: frozenset[int]


def placements() -> tuple[list[Placement], str | None]:
    """Both placements where the machine allows, else ``shared`` and why not ``own core``."""
    every = frozenset(os.sched_getaffinity(0))
    shared = Placement(SHARED, every, every, every)
    if len(every) < 2:
        return [shared], f"{OWN_CORE} skipped: this process may run on {len(every)} CPU only"
    first, second = sorted(every)[:2]
    upstream = frozenset({first})
    return [shared, Placement(OWN_CORE, upstream, upstream, frozenset({second}))], None


def pin(pid: int, cpus: frozenset[int]) -> None:
    """Every thread of ``pid`` and of its descendants to ``cpus``, checked in /proc."""
    for member in tree(pid):
        for task in Path(f"/proc/{member}/task").iterdir():
            try:
                os.sched_setaffinity(int(task.name), cpus)
                status = (task / "status").read_text()
            except (ProcessLookupError, FileNotFoundError):
                continue  # a thread that ended meanwhile (the mock's cache writer, say)
            allowed = next(x for x in status.splitlines() if x.startswith("Cpus_allowed_list:"))
            if parse_cpu_list(allowed.split(":")[1]) != cpus:
                raise RuntimeError(f"thread {task.name} of {member}: {allowed.strip()}")


def parse_cpu_list(text: str) -> frozenset[int]:
    """``0-1,3`` -> {0, 1, 3}, the kernel's list format."""
    cpus: set[int] = set()
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return frozenset(cpus)


@contextmanager
def load_pinned(cpus: frozenset[int]) -> Iterator[None]:
    """This thread (the asyncio client) and what it starts (wrk) on ``cpus`` meanwhile."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def spent(*pids: int) -> list[float]:
    """CPU seconds so far of the load generator (this process and the children it has
    reaped: wrk) and of each process tree in ``pids``."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return [sum(u.ru_utime + u.ru_stime for u in usage), *(cpu_seconds(pid) for pid in pids)]


def start(command: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        usagekit(command, *args, "--now", NOW),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


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
        chosen, skipped = placements()
        for placement in chosen:
            print(f"placement {placement.name}: load + mock on CPUs {sorted(placement.mock)}, "
                  f"proxy on CPUs {sorted(placement.proxy)}")  # fmt: skip
        if skipped:
            print(skipped)
        measure(args.size, args.duration, run, chosen)


Cell = tuple[str, str, int, str]  # mix, placement, concurrency, path


def measure(
    size: int,
    duration: float,
    run: Callable[[int, int, float, str], Load],
    chosen: list[Placement],
) -> None:
    mock_port, proxy_port = free_port(), free_port()
    mock = start("mock", "--port", str(mock_port), "--size", str(size), "--no-access-log")
    upstream = f"http://127.0.0.1:{mock_port}"
    proxy = start("proxy", "--upstream", upstream, "--port", str(proxy_port))
    results: dict[Cell, Load] = {}
    cpu: dict[Cell, list[float]] = {}
    try:
        wait_healthy(mock_port, "/healthz")
        wait_healthy(proxy_port, "/healthz")  # through the proxy to the mock
        for port in (mock_port, proxy_port):
            run(port, 32, 2, "cached")  # warm-up: memo, front cache, verdicts
        for mix in MIXES:
            for concurrency in (1, 32):
                for placement in chosen:
                    pin(mock.pid, placement.mock)
                    pin(proxy.pid, placement.proxy)
                    for label, port in (("direct", mock_port), ("proxied", proxy_port)):
                        cell = (mix, placement.name, concurrency, label)
                        before = spent(mock.pid, proxy.pid)
                        with load_pinned(placement.load):
                            load = results[cell] = run(port, concurrency, duration, mix)
                        requests = max(load.rps * duration, 1)
                        ms = cpu[cell] = [
                            (b - a) * 1000 / requests
                            for a, b in zip(before, spent(mock.pid, proxy.pid), strict=True)
                        ]
                        print(f"  {mix:<7} {placement.name:<8} {label:<8} c={concurrency:<3} "
                              f"{load.rps:>8,.0f} req/s  p50 {load.p50_ms:6.2f} ms  "
                              f"p99 {load.p99_ms:6.2f} ms  CPU ms/req load {ms[0]:.2f} "
                              f"mock {ms[1]:.2f} proxy {ms[2]:.2f}  "
                              f"non-2xx/errors {load.errors}", flush=True)  # fmt: skip
        found = tally(proxy_port)
    finally:
        stop(proxy)
        stop(mock)
    summarize(results, cpu, chosen, found)


def summarize(
    results: dict[Cell, Load],
    cpu: dict[Cell, list[float]],
    chosen: list[Placement],
    found: dict[str, object],
) -> None:
    print("\n| mix | placement | path | c | req/s | p50 ms | p99 ms "
          "| CPU ms/req load | mock | proxy |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (mix, placement, concurrency, label), load in results.items():
        spent = " | ".join(f"{ms:.2f}" for ms in cpu[mix, placement, concurrency, label])
        print(f"| {mix} | {placement} | {label} | {concurrency} | {load.rps:,.0f} | "
              f"{load.p50_ms:.2f} | {load.p99_ms:.2f} | {spent} |")  # fmt: skip
    print()
    for placement in chosen:
        for mix in MIXES:
            direct = results[mix, placement.name, 1, "direct"]
            added = results[mix, placement.name, 1, "proxied"].p50_ms - direct.p50_ms
            proxied = results[mix, placement.name, 32, "proxied"]
            ratio = proxied.rps / results[mix, placement.name, 32, "direct"].rps
            print(f"{placement.name:<8} {mix}: added p50 latency (c=1) {added:.2f} ms -> "
                  f"{'meets' if added <= 2 else 'MISSES'} <= 2 ms; throughput (c=32) {ratio:.0%} "
                  f"of direct -> {'meets' if ratio >= 0.7 else 'MISSES'} >= 70%")  # fmt: skip
    for mix in MIXES if any(p.name == OWN_CORE for p in chosen) else ():
        # CPU per request, which a neighbour's load distorts far less than req/s: with a
        # core of its own, the proxy caps proxied throughput at 1 / its CPU per exchange,
        # and direct runs at 1 / (mock + load) on the other core.
        load_ms, mock_ms, _ = cpu[mix, OWN_CORE, 32, "direct"]
        proxy_ms = cpu[mix, OWN_CORE, 32, "proxied"][2]
        print(f"own core {mix}: CPU per request (c=32) proxy {proxy_ms:.3f} ms vs mock + load "
              f"{mock_ms + load_ms:.3f} ms direct -> the proxy's core alone caps proxied "
              f"at {min(1.0, (mock_ms + load_ms) / proxy_ms):.0%} of direct")  # fmt: skip
    violations = found["violations"]
    assert isinstance(violations, list)
    print(f"proxy: {found['exchanges']} exchanges judged, {len(violations)} distinct violations")


if __name__ == "__main__":
    main()
