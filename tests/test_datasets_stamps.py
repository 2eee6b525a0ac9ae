"""``start_timestamp`` as other platforms write it, through ``usagekit dataset validate`` and
``usagekit mock --data`` run as processes.

.NET's round-trip ``O`` format writes seven fractional digits, Java's
``Instant.toString`` up to nine, Go's ``RFC3339Nano`` up to nine with trailing
zeros trimmed. Up to nine load, floored to the microsecond (the contract's
precision), and ``validate`` says how many flooring changed; ten or more are
refused naming the line. Every other spelling either loads as the README says
or is refused naming its line: never a traceback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import factories as f
import httpx
import pytest
from files_support import record, write
from frontends import usagekit
from processes import free_port, running

from usagekit.mock.datasets.files import CONVERSATIONS_FILE, load_dataset


def validate(directory: Path) -> tuple[int, str]:
    done = subprocess.run(
        [usagekit(), "dataset", "validate", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | {"USAGEKIT_CACHE_DIR": "off"},
    )
    return done.returncode, done.stdout + done.stderr


#: As written by each platform, and the instant (floored to the µs) it loads as.
WRITTEN = [
    ("2024-03-01T12:00:00.1234567Z", "2024-03-01T12:00:00.123456Z"),  # .NET "O", UTC
    ("2024-03-01T12:00:00.1234567+01:00", "2024-03-01T11:00:00.123456Z"),  # .NET "O", local
    ("2024-03-01T12:00:00.123456789Z", "2024-03-01T12:00:00.123456Z"),  # Java, Go
    ("2024-03-01T12:00:00.12345678-05:00", "2024-03-01T17:00:00.123456Z"),  # Go, trimmed
    ("2024-03-01T12:00:00.9999999Z", "2024-03-01T12:00:00.999999Z"),  # floored, not rounded up
    ("2024-03-01T12:00:00.1200000Z", "2024-03-01T12:00:00.12Z"),  # zeros: nothing floored
    ("2024-03-01T12:00:00.000000000Z", "2024-03-01T12:00:00Z"),  # Java's .000000000
    ("1969-12-31T23:59:59.9999999Z", "1969-12-31T23:59:59.999999Z"),  # before the epoch
]


def test_seven_to_nine_fractional_digits_load_floored_and_validate_says_how_many(
    tmp_path: Path,
) -> None:
    lines = [record(i, start_timestamp=written) for i, (written, _) in enumerate(WRITTEN)]
    write(tmp_path, lines)
    code, output = validate(tmp_path)
    assert code == 0, output
    # Six of them had a non-zero digit past the sixth; the zeros change nothing.
    assert "start_timestamp: 6 written past the microsecond, floored to it" in output
    assert "README, Datasets" in output
    loaded = load_dataset(tmp_path, use_cache=False).records()
    by_id = {r.conversation_id: r.start for r in loaded}
    assert by_id == {f"conv-{i}": f.at(floored) for i, (_, floored) in enumerate(WRITTEN)}


def test_validate_says_nothing_of_flooring_when_nothing_was_floored(tmp_path: Path) -> None:
    write(tmp_path, [record(1, start_timestamp="2024-03-01T12:00:00.1234560Z"), record(2)])
    code, output = validate(tmp_path)
    assert code == 0, output
    assert "floored" not in output


@pytest.mark.parametrize("lines", [1, 9000], ids=["one block", "many blocks"])
def test_ten_fractional_digits_are_refused_naming_the_line(tmp_path: Path, lines: int) -> None:
    # Past nanoseconds no platform writes: refused, whichever way the block is read.
    rows = [record(i, start_timestamp="2024-03-01T12:00:00.1234567Z") for i in range(lines)]
    rows.append(record(lines, start_timestamp="2024-03-01T12:00:00.1234567891Z"))
    path = write(tmp_path, rows) / CONVERSATIONS_FILE
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:{lines + 1}: field 'start_timestamp'" in output
    assert "more than nanosecond precision (at most 9 fractional digits)" in output
    assert "Traceback" not in output


def test_a_conversation_floored_stays_in_its_bucket_on_the_mock(tmp_path: Path) -> None:
    # Rounding .9999999 up would move the conversation to the next day; flooring keeps
    # it where the file put it, and an end bound a microsecond later still counts it.
    write(tmp_path, [record(1, start_timestamp="2024-03-01T23:59:59.9999999Z")])
    port = free_port()
    command = [usagekit(), "mock", "--data", str(tmp_path), "--port", str(port)]
    with running(command, port, path="/healthz", timeout=60) as base:
        answer = httpx.get(
            f"{base}/v1/accounts/me/analytics/usage",
            params={
                "start": "2024-03-01T00:00:00Z",
                "end": "2024-03-03T00:00:00Z",
                "granularity": "day",
            },
            headers={"X-API-Key": f.PARENT_KEY},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        counts = {
            b["ts"][:10]: sum(v["conversations"] for v in b["values"] or [])
            for b in answer.json()["data"]
        }
        assert counts == {"2024-03-01": 1, "2024-03-02": 0}, answer.text


#: Spellings that load, and the instant each names.
ACCEPTED = [
    ("2024-03-01T12:00:00+00:00", "2024-03-01T12:00:00Z"),
    # RFC 3339 4.3: -00:00 is UTC with the local offset unknown; the instant is the same.
    ("2024-03-01T12:00:00-00:00", "2024-03-01T12:00:00Z"),
    ("2024-03-01t12:00:00z", "2024-03-01T12:00:00Z"),  # RFC 3339 5.6 allows lower case
    ("2024-03-01t12:00:00.1234567z", "2024-03-01T12:00:00.123456Z"),
]


@pytest.mark.parametrize(("written", "instant"), ACCEPTED, ids=[w for w, _ in ACCEPTED])
def test_other_spellings_of_utc_load(tmp_path: Path, written: str, instant: str) -> None:
    write(tmp_path, [record(1, start_timestamp=written)])
    code, output = validate(tmp_path)
    assert code == 0, output
    assert load_dataset(tmp_path, use_cache=False).records()[0].start == f.at(instant)


def test_crlf_line_ends_load_as_lf(tmp_path: Path) -> None:
    # A file written on Windows, or by a CSV-minded tool: JSON reads "\r" as space.
    lines = [record(1), record(2, start_timestamp="2024-03-01T12:00:00.1234567Z")]
    write(tmp_path, lines)
    path = tmp_path / CONVERSATIONS_FILE
    lf = load_dataset(tmp_path, use_cache=False).records()
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, output = validate(tmp_path)
    assert code == 0, output
    assert load_dataset(tmp_path, use_cache=False).records() == lf


REFUSED = [
    # Python's str(datetime), SQL exports: RFC 3339 lets an application choose a space,
    # but the contract's date-time (and so this file) takes "T", as the README says.
    ("2024-03-01 12:00:00Z", "is not an ISO-8601 date-time"),
    ("2024-03-01 12:00:00+00", "is not an ISO-8601 date-time"),  # PostgreSQL's text
    ("2024-03-01T12:00:00+0100", "is not an ISO-8601 date-time"),  # ISO basic offset
    ("2024-06-30T23:59:60Z", "second must be in 0..59"),  # a leap second
    ("2024-03-01T12:00:00.Z", "is not an ISO-8601 date-time"),
    ("2024-03-01T12:00:00,5Z", "is not an ISO-8601 date-time"),
    ("2024-03-01T12:00:00.1234567", "has no UTC offset"),
]


@pytest.mark.parametrize(("written", "reason"), REFUSED, ids=[w for w, _ in REFUSED])
def test_other_spellings_are_refused_naming_the_line(
    tmp_path: Path, written: str, reason: str
) -> None:
    path = write(tmp_path, [record(1), record(2, start_timestamp=written)]) / CONVERSATIONS_FILE
    code, output = validate(tmp_path)
    assert code == 1, output
    assert f"{path}:2: field 'start_timestamp'" in output
    assert reason in output
    assert "Traceback" not in output
