"""The multi-worker server's supervisor alone: workers that cannot start, a stop, its imports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from usagekit.mock.server import supervisor

#: Forks a worker that exits at once, then becomes the supervisor of it, as prefork.py does,
#: with a worker command that fails at once too.
BECOME = (
    "import os, sys\n"
    "from usagekit.mock.server import supervisor\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os._exit(3)\n"
    "argv = supervisor.command([pid], 30, sys.argv[1], ['/bin/sh', '-c', 'exit 3'])\n"
    "os.execv(argv[0], argv)\n"
)


def become(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """A supervisor of a worker that exits at once, its replacements failing too; the
    control directory it must remove holds a nested file and a link out of it."""
    control = tmp_path / "control"
    (control / "nested").mkdir(parents=True)
    (control / "nested" / "journal").write_text("x")
    (control / "link").symlink_to(tmp_path)  # removed as a link, never followed
    (tmp_path / "kept").write_text("outside")
    command = [sys.executable, "-c", BECOME, str(control)]
    return subprocess.Popen(command, stderr=subprocess.PIPE), control


def test_workers_that_cannot_start_are_restarted_once_a_second_then_the_server_stops(
    tmp_path,
) -> None:
    began = time.monotonic()
    process, control = become(tmp_path)
    time.sleep(0.5)
    assert Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-I", b"-S"]
    _, log = process.communicate(timeout=60)
    took = time.monotonic() - began
    assert process.returncode == 1
    lines = log.decode().splitlines()
    # The builder's worker, then replacements one a second, each exiting before its start
    # window: the fifth in a row stops the server, in about 4 s, not thousands of restarts.
    restarts = [f" exited ({3 << 8}); starting another"] * supervisor.FAILED_STARTS
    assert [line[line.index(" exited") :] for line in lines] == [
        *restarts,
        f" exited ({3 << 8}): {supervisor.FAILED_STARTS} replacements in a row did not start; "
        "stopping the server",
    ], lines
    assert all(line.startswith("WARNING:  worker ") for line in lines), lines
    assert took >= (supervisor.FAILED_STARTS - 1) * supervisor.RESTART_PAUSE
    assert not control.exists()
    assert (tmp_path / "kept").read_text() == "outside"


def test_a_stop_signal_while_workers_are_restarted_stops_the_server_cleanly(tmp_path) -> None:
    process, control = become(tmp_path)
    time.sleep(1.5)
    process.send_signal(signal.SIGTERM)
    _, log = process.communicate(timeout=30)
    assert process.returncode == 0
    assert 1 <= len(log.decode().splitlines()) < supervisor.FAILED_STARTS, log
    assert not control.exists()
    assert (tmp_path / "kept").read_text() == "outside"


def modules(code: str) -> set[str]:
    """The modules a bare interpreter (as the supervisor's) holds after running ``code``."""
    code += "\nprint(' '.join(sys.modules))"
    run = [sys.executable, "-I", "-S", "-c", code]
    return set(subprocess.run(run, capture_output=True, text=True, check=True).stdout.split())


def test_the_supervisor_imports_the_standard_library_only_and_little_of_it() -> None:
    path = supervisor.__file__
    module = modules(f"import sys\nexec(compile(open({path!r}).read(), {path!r}, 'exec'), {{}})")
    assert module - modules("import os, sys, time") <= {"_signal", "__future__"}
