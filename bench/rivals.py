"""The other mocks bench/server.py measures the mock against: Prism 5 (the version the
tests pin, installed by their ``npm ci``) and connexion's own ``--mock=all``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from usagekit.mock.spec import spec_path

__all__ = ["connexion_command", "prism_command"]

#: Installs the tests' pinned frontend tools (npm ci) and prints their bin directory.
NODE_TOOLS = Path(__file__).resolve().parent.parent / "tests" / "node_tools.py"


def prism_command() -> list[str]:
    """``prism mock`` of the Prism the tests pin, installed by their ``npm ci`` if need be."""
    done = subprocess.run([sys.executable, str(NODE_TOOLS)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{NODE_TOOLS} failed:\n{done.stderr}")
    return [str(Path(done.stdout.strip()) / "prism"), "mock"]


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
