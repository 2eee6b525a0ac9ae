"""Dataset directories as users bring them, through ``usagekit dataset validate`` run as a process.

Each case is a file a spreadsheet, an editor or another tool wrote: it loads
with the values it holds, or it is refused with its file, line and field,
exit status 1 and no traceback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import factories as f
import httpx
import pytest
from files_support import SAMPLE, assert_same, record, write
from frontends import usagekit
from processes import free_port, running

from usagekit.mock.core.instants import format_instant
from usagekit.mock.datasets.files import ACCOUNTS_FILE, CONVERSATIONS_FILE, load_dataset

BOM = b"\xef\xbb\xbf"
#: files_support.SAMPLE (odd ids, both ends of time, fractions) as lines of the file.
SAMPLE_LINES = [
    {
        "conversation_id": r.conversation_id,
        "account_id": r.account_id,
        "agent_id": r.agent_id,
        "type": r.type,
        "direction": r.direction,
        "status": r.status,
        "start_timestamp": format_instant(r.start, 0),
        "duration_seconds": r.duration_seconds,
    }
    for r in SAMPLE
]


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


def test_files_saved_with_a_byte_order_mark_load_as_without(tmp_path: Path) -> None:
    # Notepad, PowerShell's Set-Content -Encoding UTF8 and spreadsheets' "UTF-8"
    # exports begin a file with EF BB BF; RFC 8259 lets a reader ignore it.
    plain = write(tmp_path / "plain", SAMPLE_LINES, compact=False)
    marked = tmp_path / "marked"
    marked.mkdir()
    for name in (ACCOUNTS_FILE, CONVERSATIONS_FILE):
        (marked / name).write_bytes(BOM + (plain / name).read_bytes())
    code, output = validate(marked)
    assert code == 0, output
    assert output.replace(str(marked), "") == validate(plain)[1].replace(str(plain), "")
    assert_same(load_dataset(marked, use_cache=False), load_dataset(plain, use_cache=False))


def test_a_byte_order_mark_inside_the_file_is_refused_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE_LINES) / CONVERSATIONS_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2], BOM + lines[2], *lines[3:]]))  # two files pasted
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:3:" in output


@pytest.mark.parametrize(
    ("first", "last"),
    [
        pytest.param("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", id="year 1 only"),
        pytest.param("2024-03-01T12:00:00Z", "9999-12-31T23:59:59Z", id="up to year 9999"),
    ],
)
def test_the_mock_serves_a_dataset_at_either_end_of_time(
    tmp_path: Path, first: str, last: str
) -> None:
    # Valid to the loader, so the mock must start and serve it: its pages date their
    # examples by the last conversation, which must not take them past year 9999 or 1.
    lines = [record(1, start_timestamp=first), record(2, start_timestamp=last)]
    write(tmp_path, lines)
    port = free_port()
    command = [usagekit(), "mock", "--data", str(tmp_path), "--port", str(port)]
    with running(command, port, path="/healthz", timeout=60) as base:
        for page in ("/", "/openapi.json", "/demo"):
            assert httpx.get(f"{base}{page}", timeout=10).status_code == 200, page
        for start in {first, last}:
            day = start[:10]
            answer = httpx.get(
                f"{base}/v1/accounts/me/analytics/usage",
                params={"start": f"{day}T00:00:00Z", "end": f"{day}T23:59:59.999999Z"},
                headers={"X-API-Key": f.PARENT_KEY},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            counted = sum(v["conversations"] for b in answer.json()["data"] for v in b["values"])
            assert counted == (2 if first == last else 1), answer.text


@pytest.mark.parametrize("key", ["sk-pasted ", "\tsk-pasted", "sk-\npasted", "sk-\x7fpasted"])
def test_an_api_key_no_http_header_can_carry_is_refused(tmp_path: Path, key: str) -> None:
    # A spreadsheet cell's trailing space: fetch() strips it from a header value
    # (RFC 9110 5.5), so every request with the key got a 401, the landing page's
    # demo key among them; a control character cannot be sent at all.
    accounts = [
        {"id": "acme", "parent_id": None, "name": "Acme", "api_keys": ["sk-ok", key], "agents": []}
    ]
    path = write(tmp_path, [], accounts) / ACCOUNTS_FILE
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}: field '[0].api_keys[1]'" in output
    assert "Traceback" not in output


def test_an_api_key_with_inner_spaces_or_other_scripts_loads(tmp_path: Path) -> None:
    keys = ["sk-with space", "sk-\tab", "sk-schlüssel-ключ"]
    accounts = [{"id": "acme", "parent_id": None, "name": "A", "api_keys": keys, "agents": []}]
    code, output = validate(write(tmp_path, [], accounts))
    assert code == 0, output


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda rows: json.dumps(rows, indent=2), id="a JSON array, indented"),
        pytest.param(lambda rows: json.dumps(rows), id="a JSON array on one line"),
        pytest.param(
            lambda rows: "\n".join(json.dumps(r, indent=2) for r in rows), id="objects indented"
        ),
        pytest.param(
            lambda rows: ",\n".join(json.dumps(r) for r in rows), id="objects with commas"
        ),
    ],
)
def test_json_that_is_not_json_lines_is_named_so(tmp_path: Path, text) -> None:
    path = write(tmp_path, []) / CONVERSATIONS_FILE
    path.write_text(text([record(1), record(2)]) + "\n", encoding="utf-8")
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:1:" in output
    assert "one conversation per line (JSON Lines)" in output, output


def test_a_number_too_long_to_read_in_accounts_json_is_refused_without_a_traceback(
    tmp_path: Path,
) -> None:
    # An extra key is ignored, but JSON must still read it: Python refuses an
    # integer of more than 4,300 digits with a ValueError of its own.
    text = '[{"id": "a", "parent_id": null, "name": "A", "api_keys": [], "agents": [],'
    write(tmp_path, [], [])
    path = tmp_path / ACCOUNTS_FILE
    path.write_text(f'{text}\n "serial": {"7" * 5000}}}]\n', encoding="utf-8")
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:2: invalid JSON: a number too long to read" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_named_so(tmp_path: Path, encoding: str) -> None:
    # Windows PowerShell 5.1's ">" and Out-File write UTF-16 with a byte order mark.
    path = write(tmp_path, [record(1)]) / CONVERSATIONS_FILE
    text = path.read_text(encoding="utf-8")
    marked = text.encode(encoding)
    if encoding == "utf-16-be":
        marked = b"\xfe\xff" + marked
    path.write_bytes(marked)
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:1: not UTF-8 text (byte 1) -- UTF-16" in output
    (tmp_path / ACCOUNTS_FILE).write_bytes(marked)  # the accounts are read first
    code, output = validate(tmp_path)
    assert f"{tmp_path / ACCOUNTS_FILE}: not UTF-8 text (byte 1) -- UTF-16" in output
