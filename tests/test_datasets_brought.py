"""Dataset directories as users bring them, through ``usagekit dataset validate`` run as a process.

Each case is a file a spreadsheet, an editor or another tool wrote: it loads
with the values it holds, or it is refused with its file, line and field,
exit status 1 and no traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from files_support import record, write
from frontends import usagekit


def validate(directory: Path) -> tuple[int, str]:
    done = subprocess.run(
        [usagekit(), "dataset", "validate", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_start_timestamp_holding_a_newline_is_refused_and_so_is_the_next_bad_one(
    tmp_path: Path,
) -> None:
    # Two clocks in one cell (a spreadsheet's cell with a line break) and a line
    # whose clock is no date at all: neither names an instant.
    lines = [
        record(1, start_timestamp="2024-03-01T12:00:00Z\n2024-03-02T12:00:00Z"),
        record(2, start_timestamp="garbage"),
    ]
    path = write(tmp_path, lines, compact=False) / "conversations.jsonl"
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:1: field 'start_timestamp'" in output
    assert "Traceback" not in output


def test_a_start_timestamp_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    lines = [record(1, start_timestamp="2024-03-01T12:00:00Z\n"), record(2)]
    path = write(tmp_path, lines, compact=False) / "conversations.jsonl"
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:1: field 'start_timestamp'" in output
    assert "Traceback" not in output
