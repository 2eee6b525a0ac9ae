"""The mock under load: cached and never-seen queries, one and two workers, against Prism 5.

    .venv/bin/python bench/server.py [--data DIR] [--size 1000000] [--duration 10]
                                     [--python-client] [--no-prism] [--no-connexion]
                                     [--no-baseline]

The dataset is the issue's: ``usagekit dataset export DIR --seed 1 --now
2025-01-15T00:00:00Z --size 1000000`` (exported to a temporary directory
unless ``--data`` names one already exported). In one run:

1. the per-stage split of a never-seen query (resolve, aggregate, encode,
   HTTP stack), measured in process -- see ``stages.py``;
2. ``usagekit mock --data DIR`` with 1 and 2 workers: time to healthy, the
   CPU time the server's processes spent starting, their memory (the sum of
   PSS, which counts a page the workers share once, and of RSS, which counts it
   in each) after start, right after a warm-up and at rest after it (an idle
   worker gives its free heap back), then the ``cached`` and ``unique`` mixes
   of ``load.py``;
3. the mock as issue 13 found it (``baseline.py``: its commit unpacked from
   this checkout's history) and this one, both up with 2 workers each, their
   cells of each mix alternating in rounds so that a neighbour's load falls on
   both alike: the issue's "cached not lower than today" and "the cold path at
   >= 2x today" as ratios of one run, not against another day's figures;
4. baselines answering the unique mix with a static example: Prism 5
   (``prism mock openapi.yaml``, default logging and ``-v silent``) when node
   and npm are installed -- the Prism 5.16.0 the tests run, pinned by
   ``tests/node/package-lock.json`` and installed by ``tests/node_tools.py``
   (``npm ci``, once) -- and connexion's ``--mock=all``.

The load generator is wrk where installed, else an asyncio client over raw
keep-alive sockets. Prints a table and the ratios the issue's targets name:
unique/cached, unique/Prism-default, unique/Prism-silent, cached and unique
over the mock as the issue found it, p99 at c=32 (also scaled to the issue's
machine by the as-found mock's p99 in the same run: this host's speed varies
from day to day), and the memory of two workers over one. Each cell of a
server also prints the CPU time its processes spent per answer, and for
several workers how many of the 32 connections each held halfway through
(p99 follows the busiest worker's queue). Nothing is asserted. On a shared
machine every figure moves with the neighbours' load: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import baseline
import stages
from load import NOW, Load, run_python, run_wrk, write_scripts
from processes import (
    connections,
    cpu_seconds,
    export_dataset,
    free_port,
    memory_mb,
    stop,
    usagekit,
    wait_healthy,
)
from rivals import connexion_command, prism_command
from verdicts import Cell, print_split, report

from usagekit.mock.datasets import files
from usagekit.mock.server.heap import IDLE_SECONDS
from usagekit.mock.spec import spec_path

#: How long the server is left alone before its memory "at rest" is read: the time a
#: worker without connections waits before giving its free heap back, and some.
REST_SECONDS = IDLE_SECONDS + 0.5


def mock_flags(data: Path, workers: int) -> tuple[str, ...]:
    """``usagekit mock``'s flags in every cell: the dataset, pinned now, no access log."""
    return ("--data", str(data), "--workers", str(workers), "--now", NOW, "--no-access-log",
            "--log-level", "warning")  # fmt: skip


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.scripts = (
            write_scripts(workdir) if shutil.which("wrk") and not args.python_client else None
        )
        self.cells: list[Cell] = []
        self.notes: list[str] = []
        self.memory: dict[int, tuple[float, float, float]] = {}

    def drive(
        self,
        server: str,
        port: int,
        mix: str,
        concurrency: int,
        *,
        warm: bool = False,
        pid: int | None = None,
    ) -> None:
        seconds = 2 if warm else self.args.duration
        load, cpu_ms, split = self.load(port, mix, concurrency, seconds, pid)
        if not warm:
            self.record(Cell(server, mix, concurrency, load, cpu_ms, split))

    def load(
        self, port: int, mix: str, concurrency: int, seconds: float, pid: int | None
    ) -> tuple[Load, float | None, str]:
        """The load of ``seconds`` of ``mix``, and, when the server's ``pid`` is given, the
        CPU time it (and its workers) spent per answer meanwhile and how many of the
        connections each worker held halfway through ("16/16": p99 follows the busiest)."""
        cpu = cpu_seconds(pid) if pid is not None else 0.0
        held: list[int] = []
        if pid is not None:
            halfway = threading.Timer(seconds / 2, lambda: held.extend(connections(pid, port)))
            halfway.start()
        if self.scripts is not None:
            load = run_wrk(port, concurrency, seconds, self.scripts[mix])
        else:
            load = run_python(port, concurrency, seconds, mix)
        answers = load.rps * seconds
        cpu_ms = (cpu_seconds(pid) - cpu) / answers * 1000 if pid is not None and answers else None
        if pid is not None:
            halfway.join()
        return load, cpu_ms, "/".join(map(str, sorted(held)))

    def record(self, cell: Cell) -> None:
        self.cells.append(cell)
        load, cpu_ms = cell.load, cell.cpu_ms
        shown = f"  server CPU {cpu_ms:.3f} ms/answer" if cpu_ms is not None else ""
        shown += f"  connections {cell.split}" if "/" in cell.split else ""
        print(f"  {cell.server:<26} {cell.mix:<7} c={cell.concurrency:<3} {load.rps:>9,.0f} req/s  "
              f"p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:6.2f} ms  "
              f"non-2xx/errors {load.errors}{shown}", flush=True)  # fmt: skip

    def mock(self, workers: int, data: Path) -> None:
        port = free_port()
        command = usagekit("mock", "--port", str(port), *mock_flags(data, workers))
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        name = f"usagekit mock, {workers} worker{'s' if workers > 1 else ''}"
        try:
            ready = wait_healthy(port, "/healthz")
            cpu = cpu_seconds(process.pid)
            time.sleep(REST_SECONDS)
            pss, rss = memory_mb(process.pid)
            # Every worker memoises the cached mix and builds the rollups the unique mix reads.
            self.drive(name, port, "cached", 32, warm=True)
            self.drive(name, port, "unique", 32, warm=True)
            busy_pss, busy_rss = memory_mb(process.pid)
            # At rest: a worker without connections gives its free heap back (mock/server/heap.py).
            time.sleep(REST_SECONDS)
            rest_pss, rest_rss = memory_mb(process.pid)
            self.notes.append(
                f"{name}: healthy after {ready:.2f} s ({cpu:.2f} s CPU); memory after start "
                f"PSS {pss:.0f} MiB (RSS {rss:.0f}); after the warm-up PSS {busy_pss:.0f} MiB "
                f"(RSS {busy_rss:.0f}) at once, {rest_pss:.0f} MiB (RSS {rest_rss:.0f}) at rest"
            )
            print(self.notes[-1], flush=True)
            self.memory[workers] = (pss, busy_pss, rest_pss)
            levels = (1, 32) if workers > 1 else (32,)
            for mix in ("cached", "unique"):
                for concurrency in levels:
                    self.drive(name, port, mix, concurrency, pid=process.pid)
        finally:
            stop(process)

    def baseline(
        self,
        name: str,
        command: list[str],
        port: int,
        health: str,
        env: dict | None = None,
        mixes: tuple[str, ...] = ("unique",),
    ) -> None:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        try:
            ready = wait_healthy(port, health)
            print(f"{name}: healthy after {ready:.2f} s", flush=True)
            for mix in mixes:
                self.drive(name, port, mix, 32, warm=True)
            for mix in mixes:
                self.drive(name, port, mix, 32, pid=process.pid)
        finally:
            stop(process)

    def found(self, workdir: Path, data: Path) -> None:
        """Now against the mock as issue 13 found it (baseline.py): both up, 2 workers each,
        their cells alternating in rounds, so that a neighbour's load falls on both alike."""
        path, why = baseline.unpack(workdir / "baseline")
        if path is None:
            self.notes.append(f"no in-run baseline: {why}")
            print(self.notes[-1], flush=True)
            return
        flags = mock_flags(data, 2)
        ports = free_port(), free_port()
        then, env = baseline.command(path, "mock", "--port", str(ports[1]), *flags)
        servers = [
            (baseline.NOW, ports[0], subprocess.Popen(
                usagekit("mock", "--port", str(ports[0]), *flags),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)),
            (baseline.LABEL, ports[1], subprocess.Popen(
                then, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)),
        ]  # fmt: skip
        try:
            for name, port, _ in servers:
                print(f"{name}: healthy after {wait_healthy(port, '/healthz'):.2f} s", flush=True)
                for mix in ("cached", "unique"):
                    self.drive(name, port, mix, 32, warm=True)
            seconds = max(1, round(self.args.duration / baseline.ROUNDS))  # wrk: whole ones
            for mix in ("cached", "unique"):
                rounds: dict[str, list[tuple[Load, float | None, str]]] = {
                    name: [] for name, _, _ in servers
                }
                for _ in range(baseline.ROUNDS):
                    for name, port, process in servers:
                        rounds[name].append(self.load(port, mix, 32, seconds, process.pid))
                for name, loads in rounds.items():
                    load, cpu_ms = baseline.combined([(load, cpu) for load, cpu, _ in loads])
                    split = ", ".join(split for _, _, split in loads)
                    self.record(Cell(name, mix, 32, load, cpu_ms, split))
        except TimeoutError as error:  # the rest of the run still reports
            self.notes.append(f"no in-run baseline: a server did not start ({error})")
            print(self.notes[-1], flush=True)
        finally:
            for _, _, process in servers:
                stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a dataset directory already exported")
    parser.add_argument("--size", type=int, default=1_000_000, help="conversations to export")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--python-client", action="store_true", help="never use wrk")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism 5")
    parser.add_argument("--no-connexion", action="store_true", help="skip connexion's mock")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the mock as issue 13 found it"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="usagekit-bench-"))
    try:
        data = args.data or export_dataset(workdir / "data", args.size)
        bench = Bench(args, workdir)
        client = "wrk" if bench.scripts else "python asyncio (raw keep-alive sockets)"
        load = os.getloadavg()[0]
        print(f"load generator: {client}; {args.duration:g} s per cell; dataset {data}; "
              f"cores: {os.cpu_count()}; load average {load:.1f}", flush=True)  # fmt: skip
        split = stages.measure(files.load_dataset(data))
        print_split(split)
        for workers in (1, 2):
            bench.mock(workers, data)
        if not args.no_baseline:
            bench.found(workdir, data)
        if not args.no_prism and shutil.which("node") and shutil.which("npm"):
            prism = prism_command()
            for name, extra in (
                ("Prism 5 (default)", []),
                ("Prism 5 (-v silent)", ["-v", "silent"]),
            ):
                port = free_port()
                command = [*prism, str(spec_path()), "-p", str(port), *extra]
                bench.baseline(name, command, port, "/openapi.json")
        if not args.no_connexion:
            port = free_port()
            command, env = connexion_command(workdir, port)
            bench.baseline("connexion --mock=all", command, port, "/openapi.json", env)
        report(bench.cells, bench.notes, bench.memory)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
