"""The package installs under one namespace and leaves the PyPI ``mock`` package alone."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
    )
    (found,) = out.glob("usagekit-*.whl")
    return found


def test_wheel_installs_only_the_usagekit_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"usagekit", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "usagekit/mock/core/aggregate.py" in names
    assert "usagekit/conformance/__init__.py" in names
    assert "usagekit/cli/__init__.py" in names
    assert not any(name.startswith(("mock/", "conformance/", "cli/")) for name in names)


def test_wheel_carries_the_contract(wheel: Path) -> None:
    packaged = zipfile.ZipFile(wheel).read("usagekit/mock/openapi.yaml")
    assert packaged == (ROOT / "openapi.yaml").read_bytes()


@pytest.mark.slow
def test_install_beside_the_pypi_mock_package(wheel: Path, tmp_path: Path) -> None:
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
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True)
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


def test_wheel_carries_the_workbench_pages(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    server = ROOT / "mock" / "server"
    assets = [
        path.relative_to(server).as_posix()
        for folder in ("templates", "static")
        for path in (server / folder).rglob("*")
        if path.is_file()
    ]
    assert "static/vendor/chart.umd.min.js" in assets
    assert {f"usagekit/mock/server/{asset}" for asset in assets} <= names
