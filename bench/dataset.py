"""Benchmark: generate, export and load a synthetic dataset (1,000,000 conversations by default).

    .venv/bin/python bench/dataset.py [--size N] [--repeat R]

Each measurement runs in a fresh subprocess, so that the peak resident memory
(VmHWM) of one does not hide in another's, and the best of ``--repeat`` runs
is printed (the machine may be shared). Baselines from the same run put the
figures in proportion:

* ``imports``: the interpreter with numpy, Faker and usagekit imported;
* ``json.loads``: decoding every line of the file with the stdlib and nothing
  else, so ``load / json.loads`` is the cost of validation and columns.

Targets (issue 4): generate + load <= 5 s and <= 200 MiB. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-01-01T00:00:00Z"
TARGET_SECONDS = 5.0
TARGET_MIB = 200.0


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(step: str, size: int, directory: Path) -> dict[str, float]:
    """Run one measurement in this process; the parent reads the printed JSON."""
    from usagekit.mock.core.instants import parse_datetime
    from usagekit.mock.core.zones import get_timeline
    from usagekit.mock.datasets.files import CONVERSATIONS_FILE, load_dataset, save_dataset
    from usagekit.mock.datasets.synthetic import generate

    now = parse_datetime(NOW).instant(get_timeline("UTC"))
    began = time.perf_counter()
    if step == "imports":
        pass
    elif step == "generate":
        generate(now=now, size=size)
    elif step == "export":
        dataset = generate(now=now, size=size)
        began = time.perf_counter()
        save_dataset(dataset, directory)
    elif step == "load":
        load_dataset(directory)
    elif step == "json.loads":
        with (directory / CONVERSATIONS_FILE).open("rb") as lines:
            for line in lines:
                json.loads(line)
    else:
        raise ValueError(step)
    return {"seconds": time.perf_counter() - began, "peak_mib": peak_mib()}


def measure(step: str, size: int, directory: Path, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--child", step, "--size", str(size), "--dir", directory],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(out))
    return {
        "seconds": min(r["seconds"] for r in runs),
        "peak_mib": min(r["peak_mib"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.dir)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        found = {}
        for step in ("imports", "generate", "export", "load", "json.loads"):
            found[step] = measure(step, args.size, directory, args.repeat)
        mib = sum(f.stat().st_size for f in directory.iterdir()) / 2**20

    print(f"{args.size:,} conversations, now={NOW}, best of {args.repeat} runs")
    print(f"files: {mib:,.0f} MiB on disk")
    print(f"{'step':<12}{'seconds':>9}{'peak RSS MiB':>14}")
    for step, figures in found.items():
        print(f"{step:<12}{figures['seconds']:>9.3f}{figures['peak_mib']:>14.1f}")
    total = found["generate"]["seconds"] + found["load"]["seconds"]
    peak = max(found["generate"]["peak_mib"], found["load"]["peak_mib"])
    ratio = found["load"]["seconds"] / found["json.loads"]["seconds"]
    print(f"load / json.loads: {ratio:.2f}x (validation and columns on top of decoding)")
    print(f"generate + load: {total:.2f} s (target <= {TARGET_SECONDS:.0f} s)")
    print(f"peak RSS of generate, load: {peak:.0f} MiB (target <= {TARGET_MIB:.0f} MiB)")


if __name__ == "__main__":
    main()
