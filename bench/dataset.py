"""Benchmark: generate, export and load a synthetic dataset (1,000,000 conversations by default).

    .venv/bin/python bench/dataset.py [--size N] [--repeat R] [--accounts A]

Each measurement runs in a fresh subprocess, so that the peak resident memory
(VmHWM) of one does not hide in another's. The steps take turns, ``--repeat``
rounds, and the best of each is printed with its CPU time beside the wall
time: on a shared machine the wall time also counts waiting for a core.
Baselines from the same run put the figures in proportion:

* ``imports``: the interpreter with numpy, Faker and usagekit imported;
* ``json.loads``: decoding every line of the file with the stdlib and nothing
  else: the least a loader that decodes each line as JSON could take.

``load`` reads the canonical file that ``export`` wrote; ``load (JSON)`` reads
the same records with one space added to each line, which the loader's
canonical fast path declines, so it decodes every line as JSON (the speed for
files that other tools wrote).

Many accounts (``--accounts``, 180,000 by default: ``accounts.json`` near its
64 MiB cap, beside 1,000 conversations): ``accounts`` loads the directory and
builds the mock's key index, what ``usagekit mock --data`` does with the
accounts before it answers; its baseline ``accounts json.loads`` only decodes
the same file. The ratio of the two stays a small constant however many
accounts there are; until stop 26 the key index asked the dataset for each
key's subaccounts by scanning every account, and 188,000 accounts kept the
mock from starting for more than 15 minutes (20,000 took 35 s of CPU).

Targets (issue 4): generate + load <= 5 s and <= 200 MiB. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = "2026-01-01T00:00:00Z"
TARGET_SECONDS = 5.0
TARGET_MIB = 200.0


def cpu_seconds() -> float:
    """CPU time of this process and of the children it has reaped (a load forks one)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


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
    began, cpu = time.perf_counter(), cpu_seconds()
    if step == "imports":
        pass
    elif step == "generate":
        generate(now=now, size=size)
    elif step == "export":
        dataset = generate(now=now, size=size)
        began, cpu = time.perf_counter(), cpu_seconds()
        save_dataset(dataset, directory)
    elif step == "load":
        load_dataset(directory)
    elif step == "load (JSON)":
        load_dataset(directory / "spaced")
    elif step == "accounts":
        from usagekit.mock.server.access import KeyIndex

        KeyIndex(load_dataset(directory / "accounts"))
    elif step == "accounts json.loads":
        json.loads((directory / "accounts" / "accounts.json").read_bytes())
    elif step == "json.loads":
        with (directory / CONVERSATIONS_FILE).open("rb") as lines:
            for line in lines:
                json.loads(line)
    else:
        raise ValueError(step)
    return {
        "seconds": time.perf_counter() - began,
        "cpu": cpu_seconds() - cpu,
        "peak_mib": peak_mib(),
    }


def respace(source: Path, target: Path) -> None:
    """A copy of the dataset in ``source`` whose lines are valid but not canonical."""
    from usagekit.mock.datasets.files import ACCOUNTS_FILE, CONVERSATIONS_FILE

    target.mkdir()
    (target / ACCOUNTS_FILE).write_bytes((source / ACCOUNTS_FILE).read_bytes())
    text = (source / CONVERSATIONS_FILE).read_bytes()
    (target / CONVERSATIONS_FILE).write_bytes(
        text.replace(b'{"conversation_id"', b'{ "conversation_id"')
    )


def many_accounts(source: Path, target: Path, count: int) -> None:
    """A copy of the dataset in ``source`` with ``count`` more accounts (a quarter top-level,
    each with three subaccounts; two keys and two agents each) and its first 1,000 lines."""
    from usagekit.mock.datasets.files import ACCOUNTS_FILE, CONVERSATIONS_FILE

    target.mkdir()
    accounts = json.loads((source / ACCOUNTS_FILE).read_bytes())
    for i in range(count):
        accounts.append(
            {
                "id": f"many-{i}",
                "parent_id": None if i % 4 == 0 else f"many-{i - i % 4}",
                "name": f"Account {i}",
                "api_keys": [f"sk-many-{i}-a", f"sk-many-{i}-b"],
                "agents": [{"id": f"many-{i}-agent-{j}", "name": f"Agent {j}"} for j in range(2)],
            }
        )
    (target / ACCOUNTS_FILE).write_text(json.dumps(accounts, indent=2), encoding="utf-8")
    with (source / CONVERSATIONS_FILE).open("rb") as lines:
        head = b"".join(line for _, line in zip(range(1000), lines, strict=False))
    (target / CONVERSATIONS_FILE).write_bytes(head)


def measure(step: str, size: int, directory: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, "--size", str(size), "--dir", directory],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=180_000, help="0: no many-accounts steps")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.dir)))
        return

    steps = ("imports", "generate", "export", "load", "json.loads", "load (JSON)")
    if args.accounts:
        steps += ("accounts", "accounts json.loads")
    # Decoding is what is measured here (bench/startup.py measures the columnar cache):
    # no step may map what an earlier one kept.
    os.environ["USAGEKIT_CACHE_DIR"] = "off"
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        runs: dict[str, list[dict[str, float]]] = {step: [] for step in steps}
        for _ in range(args.repeat):
            for step in steps:
                if step == "load (JSON)" and not (directory / "spaced").exists():
                    respace(directory, directory / "spaced")
                if step == "accounts" and not (directory / "accounts").exists():
                    many_accounts(directory, directory / "accounts", args.accounts)
                runs[step].append(measure(step, args.size, directory))
        mib = sum(f.stat().st_size for f in directory.iterdir() if f.is_file()) / 2**20
        grown = directory / "accounts" / "accounts.json"
        accounts_mib = grown.stat().st_size / 2**20 if args.accounts else 0
    found = {
        step: {key: min(run[key] for run in done) for key in ("seconds", "cpu", "peak_mib")}
        for step, done in runs.items()
    }

    print(f"{args.size:,} conversations, now={NOW}, best of {args.repeat} rounds")
    print(f"files: {mib:,.0f} MiB; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'step':<20}{'wall s':>8}{'cpu s':>8}{'peak RSS MiB':>14}")
    for step, figures in found.items():
        print(
            f"{step:<20}{figures['seconds']:>8.3f}{figures['cpu']:>8.3f}{figures['peak_mib']:>14.1f}"
        )
    total = found["generate"]["seconds"] + found["load"]["seconds"]
    total_cpu = found["generate"]["cpu"] + found["load"]["cpu"]
    peak = max(found["generate"]["peak_mib"], found["load"]["peak_mib"])
    baseline = found["json.loads"]["cpu"]
    print(
        f"load / json.loads (cpu): {found['load']['cpu'] / baseline:.2f}x canonical file,"
        f" {found['load (JSON)']['cpu'] / baseline:.2f}x any JSON"
    )
    print(
        f"generate + load: {total:.2f} s wall, {total_cpu:.2f} s cpu"
        f" (target <= {TARGET_SECONDS:.0f} s)"
    )
    print(f"peak RSS of generate, load: {peak:.0f} MiB (target <= {TARGET_MIB:.0f} MiB)")
    if args.accounts:
        ratio = found["accounts"]["cpu"] / found["accounts json.loads"]["cpu"]
        print(
            f"{args.accounts:,} more accounts ({accounts_mib:.0f} MiB): load + key index"
            f" / json.loads of accounts.json (cpu): {ratio:.1f}x"
        )


if __name__ == "__main__":
    main()
