"""The distribution carries every module and data file, and installs like a user installs it.

``python -m build`` makes the sdist and, from it, the wheel, as a user's
``pip install .`` or a release would. The wheel must hold exactly the files
under ``mock/``, ``conformance/`` and ``cli/`` (caches aside), byte for byte,
under the ``usagekit`` namespace. The slow tests install it -- without ``-e``,
without extras -- into a fresh venv and use it from outside the checkout.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import sysconfig
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from processes import stop
from server_support import free_port, wait_healthy

from usagekit.mock.datasets.synthetic import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_SUBACCOUNT_ID,
    DEMO_SUBACCOUNT_KEY,
    FOREIGN_ACCOUNT_ID,
)

ROOT = Path(__file__).parents[1]
SOURCES = ("mock", "conformance", "cli")
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}


@dataclass(frozen=True)
class Dists:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("usagekit-*.whl")
    (sdist,) = out.glob("usagekit-*.tar.gz")
    return Dists(wheel=wheel, sdist=sdist)


def source_files() -> dict[str, Path]:
    """Each file under the source roots, by the path it must have in the wheel."""
    files = {}
    for root in SOURCES:
        for path in (ROOT / root).rglob("*"):
            relative = path.relative_to(ROOT)
            if any(part in CACHES or part.startswith(".") for part in relative.parts):
                continue
            if path.is_file() and path.suffix not in {".pyc", ".pyo"}:
                files[f"usagekit/{relative.as_posix()}"] = path
    return files


def test_the_wheel_holds_exactly_the_source_tree(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as wheel:
        shipped = {n for n in wheel.namelist() if not n.split("/", 1)[0].endswith(".dist-info")}
        expected = source_files()
        assert shipped == set(expected)
        for name, path in expected.items():
            assert wheel.read(name) == path.read_bytes(), name


def test_the_wheel_installs_only_the_usagekit_namespace(dists: Dists) -> None:
    names = zipfile.ZipFile(dists.wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"usagekit", dists.wheel.name.split("-py3")[0] + ".dist-info"}
    # rules/ is the subpackage a hand-written package list once forgot.
    assert "usagekit/conformance/rules/__init__.py" in names
    assert "usagekit/mock/openapi.yaml" in names
    # pyproject's license = "MIT" ships its text (PEP 639's License-File).
    dist_info = dists.wheel.name.split("-py3")[0] + ".dist-info"
    assert f"{dist_info}/licenses/LICENSE" in names


def test_the_sdist_holds_the_source_tree_and_the_contract(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as sdist:
        prefix = sdist.getnames()[0].split("/", 1)[0]
        names = {name.removeprefix(f"{prefix}/") for name in sdist.getnames()}
        expected = {name.removeprefix("usagekit/") for name in source_files()}
        shipped = {"openapi.yaml", "pyproject.toml", "setup.py", "README.md", "LICENSE"}
        assert expected | shipped <= names
        contract = sdist.extractfile(f"{prefix}/mock/openapi.yaml")
        assert contract is not None
        assert contract.read() == (ROOT / "openapi.yaml").read_bytes()


# -- installed as users install it ------------------------------------------------------


class Venv:
    """A fresh virtualenv, used from a directory outside the checkout."""

    def __init__(self, path: Path, cwd: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        self.bin = path / "bin"
        self.cwd = cwd
        # Nothing of the checkout or of the test's own venv may leak in.
        self.env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        self.env["PATH"] = os.pathsep.join([str(self.bin), os.environ.get("PATH", "")])

    def pip(self, *args: str) -> None:
        self.run("python", "-m", "pip", "--quiet", *args)

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, (args, result.stdout[-3000:], result.stderr[-3000:])
        return result.stdout

    @contextlib.contextmanager
    def mock(self) -> Iterator[str]:
        port = free_port()
        process = subprocess.Popen(
            [str(self.bin / "usagekit"), "mock", "--port", str(port), "--size", "20000"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base, process, timeout=60)
            yield base
        finally:
            stop(process)


def use_as_a_user(venv: Venv, name: str) -> None:
    """What a user does first: version, the rule list, the mock, the kit against it."""
    where = venv.run("python", "-c", "import usagekit.mock; print(usagekit.mock.__file__)")
    assert where.startswith(str(venv.bin.parent)), where
    version = venv.run("usagekit", "--version")
    assert "usagekit" in version
    rules = venv.run("usagekit", "check", "--list-checks").splitlines()
    assert len(rules) > 10
    report = venv.cwd / f"{name}.xml"
    with venv.mock() as base:
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        venv.run(
            "usagekit", "check", "--base-url", base,
            "--account-id", DEMO_ACCOUNT_ID,
            "--subaccount-id", DEMO_SUBACCOUNT_ID,
            "--foreign-account-id", FOREIGN_ACCOUNT_ID,
            "--max-examples", "5",
            "--junit-xml", str(report),
            env={"USAGEKIT_API_KEY": DEMO_API_KEY, "USAGEKIT_SUBACCOUNT_KEY": DEMO_SUBACCOUNT_KEY},
        )  # fmt: skip
    suites = ET.parse(report).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= len(rules)
    assert not suites.findall(".//failure")


@pytest.mark.slow
def test_installed_from_the_wheel_then_the_sdist(dists: Dists, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    began = time.perf_counter()
    venv = Venv(tmp_path / "venv", outside)
    # No -e and no extras: the runtime dependencies alone, at the pinned versions.
    venv.pip("install", "-c", str(ROOT / "constraints.txt"), str(dists.wheel))
    use_as_a_user(venv, "wheel")
    # The sdist reuses the dependency set the wheel resolved; `pip check` proves
    # that the sdist's own metadata asks for nothing else.
    venv.pip("uninstall", "--yes", "usagekit")
    venv.pip("install", "--no-deps", str(dists.sdist))
    venv.run("python", "-m", "pip", "check")
    use_as_a_user(venv, "sdist")
    print(f"install test: {time.perf_counter() - began:.1f} s")


@pytest.mark.slow
def test_install_beside_the_pypi_mock_package(dists: Dists, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Our dependencies come from this environment, so that the test installs
    # only the two packages that matter: PyPI's `mock`, then usagekit.
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "mock"], check=True)
    subprocess.run([*pip, "--no-deps", str(dists.wheel)], check=True)
    probe = "\n".join(
        [
            "import mock, usagekit.mock, usagekit.mock.core.aggregate, usagekit.conformance",
            f"assert hasattr(mock, 'Mock') and mock.__file__.startswith({site!r}), mock.__file__",
            f"assert usagekit.mock.__file__.startswith({site!r}), usagekit.mock.__file__",
            "print('ok')",
        ]
    )
    result = subprocess.run(
        [python, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "ok"


def test_wheel_carries_the_workbench_pages(dists: Dists) -> None:
    names = set(zipfile.ZipFile(dists.wheel).namelist())
    server = ROOT / "mock" / "server"
    assets = [
        path.relative_to(server).as_posix()
        for folder in ("templates", "static")
        for path in (server / folder).rglob("*")
        if path.is_file()
    ]
    assert "static/vendor/chart.umd.min.js" in assets
    assert {f"usagekit/mock/server/{asset}" for asset in assets} <= names
