"""The pinned frontend tools of ``tests/node``: Prism, openapi-typescript, TypeScript.

``npm ci`` installs them from the lock file into ``tests/node/node_modules``
(ignored by git) once per lock file; a file lock keeps parallel processes from
installing twice. The tests (``frontends.tools``) and ``bench/server.py`` run
the same Prism this way; ``python tests/node_tools.py`` installs and prints the
``node_modules/.bin`` directory. No pytest here, so the bench can run it.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

NODE = Path(__file__).parent / "node"
MODULES = NODE / "node_modules"
STAMP = MODULES / ".usagekit-lock-sha256"


def missing() -> list[str]:
    """The commands the install needs that are not on PATH."""
    return [name for name in ("node", "npm") if shutil.which(name) is None]


def install() -> Path:
    """The ``node_modules/.bin`` directory of the pinned tools, installed if need be."""
    digest = hashlib.sha256((NODE / "package-lock.json").read_bytes()).hexdigest()
    with open(NODE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (STAMP.is_file() and STAMP.read_text() == digest):
            # --ignore-scripts: no install step of these packages is needed (one only
            # reports telemetry); the lock file pins every package and its hash.
            command = ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
            done = subprocess.run(
                [*command, "--prefer-offline"], cwd=NODE, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
            STAMP.write_text(digest)
    return MODULES / ".bin"


if __name__ == "__main__":
    print(install())
