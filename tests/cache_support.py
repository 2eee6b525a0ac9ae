"""What the columnar cache's tests share: an exported dataset, a fresh copy of it, the
cache's folder, and ways to tell a mapped load from a decoded one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.instants import parse_instant
from usagekit.mock.datasets import cache, files, synthetic

NOW = parse_instant("2025-01-15T00:00:00Z")
#: Enough conversations for a file past cache.MIN_BYTES.
SIZE = 6000
COLUMNS = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exported") / "data"
    previous = os.environ.get(cache.CACHE_ENV)
    os.environ[cache.CACHE_ENV] = "off"  # the tests decide when the cache is primed
    try:
        files.save_dataset(synthetic.generate(seed=3, now=NOW, size=SIZE), folder)
    finally:
        os.environ[cache.CACHE_ENV] = previous or ""
    assert (folder / files.CONVERSATIONS_FILE).stat().st_size > cache.MIN_BYTES
    return folder


@pytest.fixture
def data(exported: Path, tmp_path: Path) -> Path:
    """A fresh copy of the exported files (a test may edit them)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in (files.ACCOUNTS_FILE, files.CONVERSATIONS_FILE):
        (folder / name).write_bytes((exported / name).read_bytes())
    return folder


def decoded(folder: Path) -> Dataset:
    return files.load_dataset(folder, use_cache=False)


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.accounts == b.accounts
    for name in COLUMNS:
        left, right = getattr(a.conversations, name), getattr(b.conversations, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name


def mapped(array: np.ndarray) -> bool:
    return isinstance(array.base, np.memmap)


def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("decoded conversations.jsonl although the cache holds it")

    monkeypatch.setattr(files, "read_conversations", refuse)


def items(root: Path, prefix: str) -> list[Path]:
    return sorted(root.glob(f"*/*/{prefix}-*"))
