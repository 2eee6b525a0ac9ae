"""The multi-worker server's supervisor on its own: a worker that cannot start, its imports."""

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


def test_a_worker_that_cannot_start_is_restarted_once_a_second_until_the_stop(tmp_path) -> None:
    control = tmp_path / "control"
    (control / "nested").mkdir(parents=True)
    (control / "nested" / "journal").write_text("x")
    (control / "link").symlink_to(tmp_path)  # removed as a link, never followed
    (tmp_path / "kept").write_text("outside")
    command = [sys.executable, "-c", BECOME, str(control)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    time.sleep(3.5)
    assert Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-I", b"-S"]
    process.send_signal(signal.SIGTERM)
    _, log = process.communicate(timeout=30)
    assert process.returncode == 0
    lines = log.decode().splitlines()
    # The first replacement at once, then one a second: about 4 in 3.5 s, not thousands.
    assert 2 <= len(lines) <= 6, lines
    assert all(line.startswith("WARNING:  worker ") for line in lines), lines
    assert all(line.endswith(f" exited ({3 << 8}); starting another") for line in lines), lines
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
