"""A large conversations.jsonl read in two halves at once: the columns and errors of one read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import factories as f
import pytest

from usagekit.mock.core.instants import format_instant
from usagekit.mock.datasets import _halves
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


#: One read in a new interpreter, where no other thread can keep the halves from forking
#: (a test run leaves threads behind); prints the columns' digest or the error.
READ = """
import hashlib, json, sys
import factories as f
from pathlib import Path
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets import _conversations, _halves

made = []
class Counted(_halves.Half):
    def __init__(self, *args):
        made.append(1)
        super().__init__(*args)

_halves.PARALLEL_BYTES = 1 if sys.argv[2] == "halves" else 2**62
_conversations.Half = Counted
try:
    rows = _conversations.read_conversations(Path(sys.argv[1]), f.ACCOUNTS)
except DatasetError as exc:
    found = {"error": str(exc)}
else:
    digest = hashlib.sha256()
    for name in sys.argv[3:]:
        column = getattr(rows, name)
        digest.update(column.dtype.str.encode() + column.tobytes())
    found = {"digest": digest.hexdigest(), "rows": len(rows)}
print(json.dumps(found | {"halves": len(made)}))
"""


def read(folder: Path, *, halves: bool) -> dict:
    """The columns' digest, or the error, of one read: in halves, or sequentially."""
    command = [sys.executable, "-c", READ, str(folder / CONVERSATIONS_FILE)]
    command += ["halves" if halves else "whole", *COLUMNS]
    tests = str(Path(__file__).parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found.pop("halves") == halves, "the halves were not read at once"
    return found


def folder_with(tmp_path: Path, lines: list[str]) -> Path:
    folder = tmp_path / "data"
    save_dataset(f.dataset([]), folder)
    (folder / CONVERSATIONS_FILE).write_text("".join(f"{text}\n" for text in lines))
    assert (folder / ACCOUNTS_FILE).exists()
    return folder


def test_two_halves_give_the_columns_of_one_read(tmp_path, lines):
    folder = folder_with(tmp_path, lines)
    whole = read(folder, halves=False)
    assert read(folder, halves=True) == whole
    assert whole["rows"] == COUNT


def test_a_byte_order_mark_leaves_both_halves_as_they_were(tmp_path, lines):
    folder = folder_with(tmp_path, lines)
    whole = read(folder, halves=False)
    path = folder / CONVERSATIONS_FILE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read(folder, halves=True) == whole
    assert read(folder, halves=False) == whole


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
    assert "error" in halves, halves
    assert halves == read(folder, halves=False)
    assert f":{where + 1}:" in halves["error"]


def test_the_halves_meet_at_a_line_start_or_not_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(_halves.threading, "active_count", lambda: 1)  # no fork here
    folder = folder_with(tmp_path, [line(0), line(1)])
    path = folder / CONVERSATIONS_FILE
    text = path.read_bytes()
    with path.open("rb") as stream:
        assert _halves.split_point(stream, len(text), 4096) is None  # under PARALLEL_BYTES
        monkeypatch.setattr(_halves, "PARALLEL_BYTES", 1)
        assert _halves.split_point(stream, len(text), 4096) == text.index(b"\n") + 1
        assert stream.tell() == 0
    path.write_bytes(text[: text.index(b"\n") + 1])  # one line: no line starts after the middle
    with path.open("rb") as stream:
        assert _halves.split_point(stream, path.stat().st_size, 4096) is None
    path.write_bytes(text)
    monkeypatch.setattr(_halves.threading, "active_count", lambda: 2)
    with path.open("rb") as stream:
        assert _halves.split_point(stream, len(text), 4096) is None  # threads: never fork
