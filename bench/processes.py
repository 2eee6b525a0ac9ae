"""The bench's server processes: the issue's dataset exported, the command that starts one,
a free port, waiting until one answers, its CPU time and memory (the process and its
descendants), stopping it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from load import NOW


def export_dataset(target: Path, size: int) -> Path:
    """The issue's dataset: ``usagekit dataset export target --seed 1 --now NOW --size size``."""
    subprocess.run(
        [Path(sys.executable).with_name("usagekit"), "dataset", "export", str(target),
         "--seed", "1", "--now", NOW, "--size", str(size)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return target


def usagekit(subcommand: str, *args: str, flags: tuple[str, ...] = ()) -> list[str]:
    """The command line of ``usagekit SUBCOMMAND ARGS`` run by this very Python (and its
    installed package), whatever ``usagekit`` is on the PATH; ``flags``: the interpreter's."""
    name = subcommand
    code = f"import sys\nfrom usagekit.cli.{name} import {name}\n{name}(sys.argv[1:])"
    return [sys.executable, *flags, "-c", code, *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, path: str, timeout: float = 180.0) -> float:
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


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        found += tree(int(child))
    return found


def memory_mb(pid: int) -> tuple[float, float]:
    """The sum of PSS and of RSS over the process tree, MiB."""
    pss = rss = 0
    for member in tree(pid):
        for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
    return pss / 1024, rss / 1024


def connections(pid: int, port: int) -> list[int]:
    """How many established TCP connections to ``port`` each process of ``pid``'s tree
    holds, for those that hold any (a supervisor holds none)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(f"socket:[{fields[9]}]")
    held = []
    for member in tree(pid):
        with contextlib.suppress(OSError):  # a process gone meanwhile
            links = [os.readlink(fd) for fd in Path(f"/proc/{member}/fd").iterdir()]
            held.append(sum(link in inodes for link in links))
    return [n for n in held if n]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far, with the children it has reaped
    (such as the mock's forked decoder of a large file's second half)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(field) for field in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
