"""Start-up and memory of ``usagekit mock --data DIR``: cache cold and warm, 1 and 2 workers.

    .venv/bin/python bench/startup.py [--data DIR] [--size 1000000] [--python-client]

The dataset is the issue's (``usagekit dataset export DIR --seed 1 --now
2025-01-15T00:00:00Z --size 1000000``), exported to a temporary directory
unless ``--data`` names one. Everything runs with a cache directory of its own
(``USAGEKIT_CACHE_DIR``, emptied first), so "cold" is cold whatever the
user's cache holds. In one run:

1. the load of DIR in this process (CPU seconds, with the forked decoder of
   the file's second half): decoding without a cache, the first load through
   the empty cache (decode, then keep), and a load that maps what the first
   kept;
2. ``usagekit mock --data DIR`` with 1 and 2 workers, first with the cache
   emptied (cold), then with it filled (warm): seconds to healthy, the CPU
   time of the server's processes until then (with the children they have
   reaped, such as that decoder), and their memory -- the sum of
   PSS (a page the workers share counts once) and of RSS -- after start and
   after the warm-up bench/server.py runs (2 s of the cached mix, 2 s of the
   unique mix, c=32);
3. the targets of issue 13: healthy in under 3 s, and PSS of 2 workers at
   most 1.3x one worker's after start and after the warm-up.

Nothing is asserted; on a shared machine compare the figures of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from load import NOW, run_python, run_wrk, write_scripts
from processes import (
    cpu_seconds,
    export_dataset,
    free_port,
    memory_mb,
    stop,
    usagekit,
    wait_healthy,
)

from usagekit.mock.datasets import cache, files


@dataclass(frozen=True, slots=True)
class Start:
    workers: int
    cache: str
    healthy: float
    cpu: float
    pss: float
    rss: float
    warm_pss: float
    warm_rss: float


def timed_load(data: Path, *, use_cache: bool) -> float:
    """CPU seconds of one load, with its forked decoder's."""
    begin = os.times()
    files.load_dataset(data, use_cache=use_cache)
    end = os.times()
    fields = ("user", "system", "children_user", "children_system")
    return sum(getattr(end, name) - getattr(begin, name) for name in fields)


def start(data: Path, workers: int, label: str, scripts: dict[str, Path] | None) -> Start:
    port = free_port()
    command = usagekit(
        "mock", "--data", str(data), "--port", str(port), "--workers", str(workers),
        "--now", NOW, "--no-access-log", "--log-level", "warning", flags=("-W", "ignore"),
    )  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        healthy = wait_healthy(port, "/healthz")
        cpu = cpu_seconds(process.pid)
        time.sleep(1.0)
        pss, rss = memory_mb(process.pid)
        for mix in ("cached", "unique"):
            if scripts is not None:
                run_wrk(port, 32, 2, scripts[mix])
            else:
                run_python(port, 32, 2, mix)
        warm_pss, warm_rss = memory_mb(process.pid)
    finally:
        stop(process)
    return Start(workers, label, healthy, cpu, pss, rss, warm_pss, warm_rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a dataset directory already exported")
    parser.add_argument("--size", type=int, default=1_000_000, help="conversations to export")
    parser.add_argument("--python-client", action="store_true", help="never use wrk")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="usagekit-startup-"))
    root = workdir / "cache"
    os.environ[cache.CACHE_ENV] = str(root)  # this process and every server it starts
    try:
        data = args.data or export_dataset(workdir / "data", args.size)
        scripts = write_scripts(workdir) if shutil.which("wrk") and not args.python_client else None
        print(f"dataset {data}; cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")
        shutil.rmtree(root, ignore_errors=True)
        plain = timed_load(data, use_cache=False)
        first = timed_load(data, use_cache=True)
        mapped = timed_load(data, use_cache=True)
        print(f"load in process (CPU s): decode {plain:.2f}, first load (decode + keep) "
              f"{first:.2f}, cached {mapped:.3f}\n", flush=True)  # fmt: skip
        starts = []
        for label in ("cold", "warm"):
            for workers in (1, 2):
                if label == "cold":
                    shutil.rmtree(root, ignore_errors=True)
                starts.append(start(data, workers, label, scripts))
                print_start(starts[-1])
        report(starts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def print_start(s: Start) -> None:
    print(f"  {s.workers} worker(s), {s.cache} cache: healthy {s.healthy:.2f} s "
          f"({s.cpu:.2f} s CPU); PSS {s.pss:.0f} MiB (RSS {s.rss:.0f}) after start, "
          f"{s.warm_pss:.0f} MiB (RSS {s.warm_rss:.0f}) after the warm-up", flush=True)  # fmt: skip


def report(starts: list[Start]) -> None:
    print("\n| workers | cache | healthy s | CPU s | PSS start | RSS start | PSS warm | RSS warm |")
    print("|---|---|---|---|---|---|---|---|")
    for s in starts:
        print(f"| {s.workers} | {s.cache} | {s.healthy:.2f} | {s.cpu:.2f} | {s.pss:.0f} | "
              f"{s.rss:.0f} | {s.warm_pss:.0f} | {s.warm_rss:.0f} |")  # fmt: skip
    by = {(s.workers, s.cache): s for s in starts}
    print()
    for label in ("cold", "warm"):
        one, two = by[(1, label)], by[(2, label)]
        slowest = max(one.healthy, two.healthy)
        after_start, after_warm = two.pss / one.pss, two.warm_pss / one.warm_pss
        fast = "meets" if slowest < 3 else "MISSES"
        lean = "meets" if max(after_start, after_warm) <= 1.3 else "MISSES"
        print(f"{label} cache: slowest start {slowest:.2f} s ({fast} < 3 s); PSS 2 workers / "
              f"1 worker {after_start:.2f} after start, {after_warm:.2f} after the warm-up "
              f"({lean} <= 1.3)")  # fmt: skip


if __name__ == "__main__":
    main()
