"""CPU instructions per request, live, for this checkout against another: callgrind's count.

    .venv/bin/python bench/instructions.py --baseline DIR [--target mock|proxy]
        [--mix unique|cached] [--requests 300] [--size 200000]

Starts ``usagekit mock`` (one worker, a synthetic dataset, pinned ``--now``),
and with ``--target proxy`` a ``usagekit proxy`` in front of it, the measured
process under valgrind's callgrind with instrumentation off; sends 200 requests
of load.py's mix on one kept-alive connection (rollups, calendar pages and caches
built), turns instrumentation on, sends ``--requests`` more, and divides the
instructions counted by them. Then the same with ``--baseline``, a checkout with
its own ``.venv`` (``git worktree add --detach DIR REV && make -C DIR install``).
Prints both and their ratio. An instruction count is the figure a busy machine
distorts least: an A/B of a hot path on a shared host, where req/s cannot tell
1% from noise. Needs valgrind (Debian's ``valgrind`` package).
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import NOW, QUERIES, SEED, unique_query
from processes import free_port

from usagekit.mock.datasets.synthetic import DEMO_API_KEY

WARM_UP = 200
HERE = Path(__file__).resolve().parent.parent


def _up(port: int, path: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing answered on port {port}") from None
            time.sleep(0.1)


def _requests(mix: str, count: int, rng: random.Random) -> list[tuple[str, str]]:
    if mix == "unique":
        return [(DEMO_API_KEY, unique_query(rng)) for _ in range(count)]
    return [QUERIES[i % len(QUERIES)] for i in range(count)]


def measure(root: Path, target: str, mix: str, count: int, size: int) -> float:
    """Instructions per request of ``target`` run from the checkout at ``root``."""
    usagekit = str(root / ".venv" / "bin" / "usagekit")
    out = Path(tempfile.mkdtemp(prefix="usagekit-callgrind-"))
    grind = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}/callgrind.%p"]  # fmt: skip
    mock_port = free_port()
    mock = [usagekit, "mock", "--port", str(mock_port), "--size", str(size),
            "--no-access-log", "--now", NOW]  # fmt: skip
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen(grind * (target == "mock") + mock, **quiet)]
    port = mock_port
    _up(mock_port, "/healthz")
    if target == "proxy":
        port = free_port()
        proxy = [usagekit, "proxy", "--upstream", f"http://127.0.0.1:{mock_port}",
                 "--port", str(port), "--now", NOW]  # fmt: skip
        processes.append(subprocess.Popen(grind + proxy, **quiet))
        _up(port, "/_usagekit/violations")
    measured = processes[-1].pid
    rng = random.Random(SEED)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def ask(requests: list[tuple[str, str]]) -> None:
        for key, path in requests:
            connection.request("GET", path, headers={"X-API-Key": key})
            connection.getresponse().read()

    try:
        ask(_requests(mix, WARM_UP, rng))
        control = ["callgrind_control", "-i"]
        subprocess.run([*control, "on", str(measured)], check=True, **quiet)
        ask(_requests(mix, count, rng))
        subprocess.run([*control, "off", str(measured)], check=True, **quiet)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(120)
    counted = 0
    for dump in out.glob("callgrind.*"):
        for line in dump.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                counted = max(counted, int(line.split()[1]))
    shutil.rmtree(out, ignore_errors=True)
    return counted / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout with .venv")
    parser.add_argument("--target", choices=("mock", "proxy"), default="mock")
    parser.add_argument("--mix", choices=("unique", "cached"), default="unique")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--size", type=int, default=200_000, help="conversations")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    if not (args.baseline / ".venv" / "bin" / "usagekit").exists():
        sys.exit(f"{args.baseline}/.venv/bin/usagekit is missing: make -C {args.baseline} install")
    figures = {}
    for name, root in (("this", HERE), ("baseline", args.baseline.resolve())):
        figures[name] = measure(root, args.target, args.mix, args.requests, args.size)
        print(f"{name:>8}: {figures[name] / 1000:,.1f}k instructions per request ({root})")
    print(f"   ratio: {figures['this'] / figures['baseline']:.3f} (this / baseline), "
          f"{args.target}, {args.mix} mix, {args.requests} requests")  # fmt: skip


if __name__ == "__main__":
    main()
