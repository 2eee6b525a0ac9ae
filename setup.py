"""Which files the distribution carries, read from the source tree.

``mock/``, ``conformance/`` and ``cli/`` install as ``usagekit.mock``,
``usagekit.conformance`` and ``usagekit.cli`` (a bare top-level ``mock`` would
shadow the PyPI ``mock`` backport). setuptools' own discovery cannot add that
prefix, so this file does the discovery: every directory with an
``__init__.py`` is a package, and every other file under the three roots
(the spec, ``py.typed``, static pages, anything added later) is package data
of the package that holds it. Only caches are left out. Nothing is listed by
hand, so nothing can be forgotten; ``tests/test_packaging.py`` compares the
wheel with the tree. Everything else about the project is in pyproject.toml.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

NAMESPACE = "usagekit"
ROOTS = ("mock", "conformance", "cli")
CACHES = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"})
HERE = Path(__file__).parent


def shipped(path: Path) -> bool:
    """False for caches, compiled files and hidden files (editor and OS droppings)."""
    return not (path.name in CACHES or path.name.startswith(".") or path.suffix in {".pyc", ".pyo"})


def discover() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each package's directory, and each package's data files (relative to it)."""
    dirs: dict[str, str] = {}
    data: dict[str, list[str]] = {}
    for root in ROOTS:
        for here, subdirs, files in os.walk(HERE / root, followlinks=True):
            subdirs[:] = sorted(d for d in subdirs if shipped(Path(d)))
            folder = Path(here).relative_to(HERE)
            if "__init__.py" in files:
                dirs[".".join((NAMESPACE, *folder.parts))] = folder.as_posix()
            package = _owner(folder, dirs)
            owner = Path(dirs[package])
            for name in sorted(files):
                path = folder / name
                if shipped(path) and not (path.suffix == ".py" and folder == owner):
                    data.setdefault(package, []).append(path.relative_to(owner).as_posix())
    return dirs, data


def _owner(folder: Path, dirs: dict[str, str]) -> str:
    """The innermost package whose directory holds ``folder``."""
    while ".".join((NAMESPACE, *folder.parts)) not in dirs:
        if folder.parent == folder:
            raise SystemExit(f"{folder} lies outside any package")
        folder = folder.parent
    return ".".join((NAMESPACE, *folder.parts))


PACKAGE_DIRS, PACKAGE_DATA = discover()

setup(packages=sorted(PACKAGE_DIRS), package_dir=PACKAGE_DIRS, package_data=PACKAGE_DATA)
