"""The mock as issue 13 found it, to measure against in the same run.

Issue 13's targets compare with "today": the figures of the code it was filed
against, measured on the filer's machine (cached 23,669 req/s, never-seen 1,581
req/s). An absolute figure from another day says as much about the host as
about the code, and on a shared machine the same code moves by a third from one
hour to the next. So the bench also runs that code, in the same run, with the
same load and dataset: :data:`REVISION` from this checkout's git history,
unpacked into a temporary directory, laid out as the installed package
(``usagekit.mock``, ``usagekit.conformance``, ``usagekit.cli``) and put first
on ``PYTHONPATH`` for this very interpreter, whose installed dependencies it
shares (that revision's pins are a subset of today's).

Without git or without that commit (a shallow clone, an unpacked sdist),
:func:`unpack` says why and the bench goes on without the baseline.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

from load import Load

#: The last commit before work on issue 13 began: the code its table was measured on.
REVISION = "b55dd8f1b83d5a50e98c20231ca81c6d22d4c44b"
#: The package's parts, each a directory of the tree installed as ``usagekit.<name>``, and
#: the spec, which ``mock/openapi.yaml`` links to (``../openapi.yaml``) at that revision.
PARTS = ("mock", "conformance", "cli", "openapi.yaml")
ROOT = Path(__file__).resolve().parent.parent
#: How the bench names it, and the mock of this checkout in the same rounds.
LABEL = f"usagekit mock at {REVISION[:7]}, 2 workers"
NOW = "usagekit mock now, 2 workers (alternating)"
#: The cells of each mix alternate between the two this many times.
ROUNDS = 3


def unpack(target: Path) -> tuple[Path | None, str]:
    """:data:`REVISION`'s package under ``target`` (a directory for ``PYTHONPATH``), or
    ``None`` and why not."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", REVISION, *PARTS],
        capture_output=True,
    )
    if archive.returncode != 0:
        why = archive.stderr.decode(errors="replace").strip().splitlines()
        return None, f"git archive {REVISION[:7]} failed: {why[-1] if why else 'no output'}"
    package = target / "usagekit"
    package.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(package, filter="data")
    return target, ""


def command(path: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """``usagekit ARGS`` of the unpacked revision (its click entry point) and its env."""
    code = "import sys\nfrom usagekit.cli.main import main\nsys.argv[0] = 'usagekit'\nmain()"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(path), os.environ.get("PYTHONPATH")])),
    }
    return [sys.executable, "-c", code, *args], env


def combined(rounds: list[tuple[Load, float | None]]) -> tuple[Load, float | None]:
    """Rounds of equal length as one cell: the mean rate, the median p50, the worst p99,
    every error, and the CPU per answer over all of them."""
    loads = [load for load, _ in rounds]
    answers = [load.rps for load in loads]
    spent = [cpu * n for (_, cpu), n in zip(rounds, answers, strict=True) if cpu is not None]
    cpu_ms = sum(spent) / sum(answers) if len(spent) == len(rounds) and sum(answers) else None
    return Load(
        rps=sum(answers) / len(loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=max(load.p99_ms for load in loads),
        errors=sum(load.errors for load in loads),
    ), cpu_ms
