"""A large conversations.jsonl read in two halves at once: the columns and errors of one read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import factories as f
import numpy as np
import pytest

from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import format_instant
from usagekit.mock.datasets import _conversations, _halves
from usagekit.mock.datasets.files import ACCOUNTS_FILE, CONVERSATIONS_FILE, save_dataset

COLUMNS = ("ids", "start", "duration", "account", "agent", "type", "direction", "status")
#: About three read blocks of lines: each half spans more than one.
COUNT = 30_000


def line(n: int, **changes: object) -> str:
    owners = [(f.PARENT, "agent-a"), (f.PARENT, None), (f.CHILD, "agent-c"), (f.OTHER, None)]
    account, agent = owners[n % 4]
    record = {
        "conversation_id": f"conv-{n}",
        "account_id": account,
        "agent_id": agent,
        "type": "phone",
        "direction": "inbound",
        "status": "completed",
        # Out of order now and then, so that the sort across halves is tested too.
        "start_timestamp": format_instant(1_700_000_000_000_000 + (n * 7919 % COUNT) * 10**6, 0),
        "duration_seconds": n % 600,
    }
    return json.dumps(record | changes, separators=(",", ":"))


@pytest.fixture
def lines() -> list[str]:
    return [line(n) for n in range(COUNT)]


class Counted(_halves.Half):
    made = 0

    def __init__(self, *args, **kwargs) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)


def read(folder: Path, *, halves: bool) -> object:
    """The columns, or the error, of one read: in halves, or sequentially."""
    path = folder / CONVERSATIONS_FILE
    accounts = f.ACCOUNTS
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_halves, "PARALLEL_BYTES", 1 if halves else 2**62)
        patch.setattr(_conversations, "Half", Counted)
        made = Counted.made
        try:
            found: object = _conversations.read_conversations(path, accounts)
        except DatasetError as exc:
            found = str(exc)
        # The two halves were read at once (a process with threads would not fork).
        assert Counted.made == made + halves, "the halves were not read in parallel"
    return found


def folder_with(tmp_path: Path, lines: list[str]) -> Path:
    folder = tmp_path / "data"
    save_dataset(f.dataset([]), folder)
    (folder / CONVERSATIONS_FILE).write_text("".join(f"{text}\n" for text in lines))
    assert (folder / ACCOUNTS_FILE).exists()
    return folder


def test_two_halves_give_the_columns_of_one_read(tmp_path, lines):
    folder = folder_with(tmp_path, lines)
    halves, whole = read(folder, halves=True), read(folder, halves=False)
    for name in COLUMNS:
        left, right = getattr(halves, name), getattr(whole, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name
    assert len(whole) == COUNT


@pytest.mark.parametrize(
    ("where", "change"),
    [
        pytest.param(100, {"status": "done"}, id="first half"),
        pytest.param(COUNT - 3, {"status": "done"}, id="second half"),
        pytest.param(COUNT - 5, {"conversation_id": "conv-17"}, id="repeat across halves"),
        pytest.param(COUNT - 5, {"conversation_id": f"conv-{COUNT - 9}"}, id="repeat within"),
    ],
)
def test_an_error_in_either_half_is_the_one_a_single_read_reports(tmp_path, lines, where, change):
    lines[where] = line(where, **change)
    folder = folder_with(tmp_path, lines)
    halves = read(folder, halves=True)
    assert isinstance(halves, str), halves
    assert halves == read(folder, halves=False)
    assert f":{where + 1}:" in halves


def test_a_line_without_newline_at_the_middle_reads_sequentially(tmp_path):
    folder = folder_with(tmp_path, [line(0)])
    path = folder / CONVERSATIONS_FILE
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        assert _halves.split_point(stream, size, 4096) is None  # below PARALLEL_BYTES
    with path.open("rb") as stream, pytest.MonkeyPatch.context() as patch:
        patch.setattr(_halves, "PARALLEL_BYTES", 1)
        assert _halves.split_point(stream, size, 4096) is None  # one line: no middle to cut at
