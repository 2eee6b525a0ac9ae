"""The mock under load: cached and never-seen queries, one and two workers, against Prism 5.

    .venv/bin/python bench/server.py [--data DIR] [--size 1000000] [--duration 10]
                                     [--python-client] [--no-prism] [--no-connexion]

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
3. baselines answering the unique mix with a static example: Prism 5
   (``prism mock openapi.yaml``, default logging and ``-v silent``) when node
   and npm are installed -- the Prism 5.16.0 the tests run, pinned by
   ``tests/node/package-lock.json`` and installed by ``tests/node_tools.py``
   (``npm ci``, once) -- and connexion's ``--mock=all``.

The load generator is wrk where installed, else an asyncio client over raw
keep-alive sockets. Prints a table and the ratios the issue's targets name:
unique/cached, unique/Prism-default, unique/Prism-silent, p99 at c=32, and
the memory of two workers over one. Nothing is asserted. On a shared machine
every figure moves with the neighbours' load: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import stages
from load import NOW, Load, run_python, run_wrk, write_scripts
from processes import (
    cpu_seconds,
    export_dataset,
    free_port,
    memory_mb,
    stop,
    usagekit,
    wait_healthy,
)

from usagekit.mock.datasets import files
from usagekit.mock.server.heap import IDLE_SECONDS
from usagekit.mock.spec import spec_path

#: How long the server is left alone before its memory "at rest" is read: the time a
#: worker without connections waits before giving its free heap back, and some.
REST_SECONDS = IDLE_SECONDS + 0.5
#: Installs the tests' pinned frontend tools (npm ci) and prints their bin directory.
NODE_TOOLS = Path(__file__).resolve().parent.parent / "tests" / "node_tools.py"


@dataclass(frozen=True, slots=True)
class Cell:
    server: str
    mix: str
    concurrency: int
    load: Load
    #: CPU time the server's processes spent per answer (ms), when measured: on a
    #: shared machine a steadier figure than the rate, which follows the neighbours.
    cpu_ms: float | None = None


def prism_command() -> list[str]:
    """``prism mock`` of the Prism the tests pin, installed by their ``npm ci`` if need be."""
    done = subprocess.run([sys.executable, str(NODE_TOOLS)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{NODE_TOOLS} failed:\n{done.stderr}")
    return [str(Path(done.stdout.strip()) / "prism"), "mock"]


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.scripts = (
            write_scripts(workdir) if shutil.which("wrk") and not args.python_client else None
        )
        self.cells: list[Cell] = []
        self.notes: list[str] = []

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
        cpu = cpu_seconds(pid) if pid is not None else 0.0
        if self.scripts is not None:
            load = run_wrk(port, concurrency, seconds, self.scripts[mix])
        else:
            load = run_python(port, concurrency, seconds, mix)
        if warm:
            return
        answers = load.rps * seconds
        cpu_ms = (cpu_seconds(pid) - cpu) / answers * 1000 if pid is not None and answers else None
        self.cells.append(Cell(server, mix, concurrency, load, cpu_ms))
        shown = f"  server CPU {cpu_ms:.3f} ms/answer" if cpu_ms is not None else ""
        print(f"  {server:<26} {mix:<7} c={concurrency:<3} {load.rps:>9,.0f} req/s  "
              f"p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:6.2f} ms  "
              f"non-2xx/errors {load.errors}{shown}", flush=True)  # fmt: skip

    def mock(self, workers: int, data: Path) -> None:
        port = free_port()
        command = usagekit(
            "mock", "--data", str(data), "--port", str(port), "--workers", str(workers),
            "--now", NOW, "--no-access-log", "--log-level", "warning",
        )  # fmt: skip
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
            self.memory = getattr(self, "memory", {}) | {workers: (pss, busy_pss, rest_pss)}
            levels = (1, 32) if workers > 1 else (32,)
            for mix in ("cached", "unique"):
                for concurrency in levels:
                    self.drive(name, port, mix, concurrency, pid=process.pid)
        finally:
            stop(process)

    def baseline(
        self, name: str, command: list[str], port: int, health: str, env: dict | None = None
    ) -> None:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        try:
            ready = wait_healthy(port, health)
            print(f"{name}: healthy after {ready:.2f} s", flush=True)
            self.drive(name, port, "unique", 32, warm=True)
            self.drive(name, port, "unique", 32)
        finally:
            stop(process)


ANY_KEY = """
def accept(api_key, required_scopes=None):
    return {"sub": "bench"}
"""


def connexion_command(workdir: Path, port: int) -> tuple[list[str], dict[str, str]]:
    # The spec has no x-apikeyInfoFunc (ours plugs in through security_map), so
    # connexion's mock would answer 401; its APIKEYINFO_FUNC takes any key instead.
    (workdir / "usagekit_bench_any_key.py").write_text(ANY_KEY, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "APIKEYINFO_FUNC": "usagekit_bench_any_key.accept", "PYTHONPATH": path}
    connexion = Path(sys.executable).with_name("connexion")
    return [str(connexion), "run", str(spec_path()), "--mock=all", "--port", str(port)], env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a dataset directory already exported")
    parser.add_argument("--size", type=int, default=1_000_000, help="conversations to export")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--python-client", action="store_true", help="never use wrk")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism 5")
    parser.add_argument("--no-connexion", action="store_true", help="skip connexion's mock")
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
        report(bench)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_split(split: stages.Split) -> None:
    kb = split.body_kb
    print(f"\nper-stage split of a never-seen query, in process (CPU ms; bodies {kb:.1f} kB):")
    print("| resolve | aggregate | encode | HTTP stack | whole app | app p50 | app p99 | app max |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {split.resolve_ms:.3f} | {split.aggregate_ms:.3f} | {split.encode_ms:.3f} | "
          f"{split.stack_ms:.3f} | {split.app_ms:.3f} | {split.app_p50_ms:.3f} | "
          f"{split.app_p99_ms:.3f} | {split.app_max_ms:.3f} |\n", flush=True)  # fmt: skip


def report(bench: Bench) -> None:
    print(
        "\n| server | mix | c | req/s | p50 ms | p99 ms | non-2xx/errors | server CPU ms/answer |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for c in bench.cells:
        cpu = "" if c.cpu_ms is None else f"{c.cpu_ms:.3f}"
        print(f"| {c.server} | {c.mix} | {c.concurrency} | {c.load.rps:,.0f} | "
              f"{c.load.p50_ms:.2f} | {c.load.p99_ms:.2f} | {c.load.errors} | {cpu} |")  # fmt: skip
    cell = {(c.server, c.mix, c.concurrency): c.load for c in bench.cells}
    unique = cell.get(("usagekit mock, 2 workers", "unique", 32))
    cached = cell.get(("usagekit mock, 2 workers", "cached", 32))
    print()
    for note in bench.notes:
        print(note)
    if unique is None:
        return
    lines = [f"unique / cached (2 workers, c=32): {unique.rps / cached.rps:.2f}"] if cached else []
    for name, target in (("Prism 5 (default)", 1.5), ("Prism 5 (-v silent)", 0.6)):
        prism = cell.get((name, "unique", 32))
        if prism is not None:
            ratio = unique.rps / prism.rps
            verdict = "meets" if ratio >= target else "MISSES"
            lines.append(f"unique / {name}: {ratio:.2f} ({verdict} >= {target})")
    verdict = "meets" if unique.p99_ms <= 20 else "MISSES"
    lines.append(f"unique p99 at c=32: {unique.p99_ms:.2f} ms ({verdict} <= 20 ms)")
    memory = getattr(bench, "memory", {})
    if 1 in memory and 2 in memory:
        start, busy, rest = (memory[2][i] / memory[1][i] for i in (0, 1, 2))
        verdict = "meets" if max(start, busy, rest) <= 1.3 else "MISSES"
        lines.append(f"PSS 2 workers / 1 worker: {start:.2f} after start, {busy:.2f} right after "
                     f"the warm-up, {rest:.2f} at rest after it ({verdict} <= 1.3)")  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
