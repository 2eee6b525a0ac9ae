"""The dataset directory format: each bad conversation record names file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from files_support import FIELDS, many, record, write

from usagekit.mock.core.errors import DatasetError
from usagekit.mock.datasets import _conversations
from usagekit.mock.datasets.files import (
    CONVERSATIONS_FILE,
    load_dataset,
)

# -- bad conversation records: each names the file, the line and the field --


BAD_LINES = [
    pytest.param('{"conversation_id": "x",', None, "invalid JSON", id="not JSON"),
    pytest.param("[1, 2]", None, "expected a JSON object", id="not an object"),
    pytest.param("[" * 4_000, None, "nested too deeply", id="deep"),
    pytest.param("[" * 100_000, None, "longer than 4,096 bytes", id="long"),
    pytest.param("", None, "blank line", id="blank"),
    pytest.param(record(conversation_id=""), "conversation_id", "non-empty", id="empty id"),
    pytest.param(
        record(conversation_id=7), "conversation_id", "expected a string", id="numeric id"
    ),
    pytest.param(record(conversation_id="a\0"), "conversation_id", "NUL", id="NUL in id"),
    pytest.param(
        record(conversation_id="c-\ud83d"),
        "conversation_id",
        "lone surrogate",
        id="lone surrogate in id",
    ),
    pytest.param(
        record(account_id="nobody"), "account_id", "unknown account 'nobody'", id="unknown account"
    ),
    pytest.param(
        record(account_id=["x"]), "account_id", "expected a string", id="account not a string"
    ),
    pytest.param(
        record(agent_id="agent-z"), "agent_id", "unknown agent 'agent-z'", id="unknown agent"
    ),
    pytest.param(
        record(agent_id="agent-c"), "agent_id", "belongs to account", id="someone else's agent"
    ),
    pytest.param(record(agent_id=""), "agent_id", "unknown agent ''", id="empty agent"),
    pytest.param(record(agent_id=3), "agent_id", "string or null", id="agent not a string"),
    pytest.param(
        record(type="Phone"), "type", '"Phone" is not one of phone, web, test, unknown', id="type"
    ),
    pytest.param(
        record(direction="in"), "direction", "not one of inbound, outbound", id="direction"
    ),
    pytest.param(record(status=None), "status", "null is not one of in_progress", id="status"),
    pytest.param(
        record(start_timestamp="2024-03-01T12:00:00"), "start_timestamp", "offset", id="naive time"
    ),
    pytest.param(
        record(start_timestamp="2024-03-01"), "start_timestamp", "ISO-8601", id="date only"
    ),
    pytest.param(
        record(start_timestamp="2024-02-30T00:00:00Z"), "start_timestamp", "valid", id="30 February"
    ),
    pytest.param(
        record(start_timestamp="2024-02-01T24:00:00Z"), "start_timestamp", "valid", id="hour 24"
    ),
    pytest.param(
        record(start_timestamp="2024-02-01T00:00:00+24:00"),
        "start_timestamp",
        "offset",
        id="offset 24:00",
    ),
    pytest.param(
        # Up to nine digits load floored to the µs (test_datasets_stamps.py); ten are refused.
        record(start_timestamp="2024-02-01T00:00:00.1234567891Z"),
        "start_timestamp",
        "more than nanosecond precision",
        id="past nanoseconds",
    ),
    pytest.param(
        record(start_timestamp="0000-12-31T23:00:00Z"), "start_timestamp", "valid", id="year 0"
    ),
    pytest.param(
        record(start_timestamp="0001-01-01T00:30:00+01:00"),
        "start_timestamp",
        "years 1 to 9999",
        id="before year 1 in UTC",
    ),
    pytest.param(
        record(start_timestamp="9999-12-31T23:30:00-01:00"),
        "start_timestamp",
        "years 1 to 9999",
        id="after 9999 in UTC",
    ),
    pytest.param(
        record(start_timestamp=1709294400),
        "start_timestamp",
        "RFC 3339 string",
        id="time as number",
    ),
    pytest.param(record(duration_seconds=12.0), "duration_seconds", "integer", id="float duration"),
    pytest.param(record(duration_seconds=True), "duration_seconds", "integer", id="bool duration"),
    pytest.param(record(duration_seconds="12"), "duration_seconds", "integer", id="text duration"),
    pytest.param(
        record(duration_seconds=-1),
        "duration_seconds",
        "not in 0..2147483647",
        id="negative duration",
    ),
    pytest.param(
        record(duration_seconds=2**31),
        "duration_seconds",
        "not in 0..2147483647",
        id="huge duration",
    ),
    pytest.param(
        record(duration_seconds=10**30), "duration_seconds", "not in 0..", id="enormous duration"
    ),
]


@pytest.mark.parametrize(("line", "field", "reason"), BAD_LINES)
def test_a_bad_record_names_file_line_and_field(
    tmp_path: Path, line: Any, field: str | None, reason: str
) -> None:
    directory = write(tmp_path, [record(1), record(2), line, record(4)])
    with pytest.raises(DatasetError) as caught:
        load_dataset(directory)
    error = caught.value
    assert (error.path, error.line, error.field) == (str(directory / CONVERSATIONS_FILE), 3, field)
    assert reason in error.reason
    assert str(error).startswith(f"{directory / CONVERSATIONS_FILE}:3:")


@pytest.mark.parametrize("name", FIELDS)
def test_every_field_is_required(tmp_path: Path, name: str) -> None:
    line = record(1)
    del line[name]
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, [record(0), line]))
    assert (caught.value.line, caught.value.field) == (2, name)
    assert "missing" in caught.value.reason


def test_agent_id_may_be_null_but_not_absent(tmp_path: Path) -> None:
    data = load_dataset(write(tmp_path / "null", [record(agent_id=None)]))
    assert data.records()[0].agent_id is None


def test_text_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    directory = write(tmp_path, [record(1), record(2)])
    path = directory / CONVERSATIONS_FILE
    path.write_bytes(path.read_bytes() + b'{"conversation_id": "\xff"}\n')
    with pytest.raises(DatasetError) as caught:
        load_dataset(directory)
    assert caught.value.line == 3
    assert "UTF-8" in caught.value.reason


def test_a_repeated_id_is_reported_on_its_second_line(tmp_path: Path) -> None:
    lines = [record(1), record(2), record(3), record(2, status="failed")]
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, lines))
    assert (caught.value.line, caught.value.field) == (4, "conversation_id")
    assert "'conv-2', first seen on line 2" in caught.value.reason


def test_a_repeat_across_blocks_is_found_and_the_first_bad_line_wins(tmp_path: Path) -> None:
    rows = many(_conversations.BLOCK_BYTES // 150)
    last = len(rows)
    # A repeat of line 6 far into a later block, then a worse-looking error after it.
    rows.append(record(5, start_timestamp="2024-01-01T00:00:00Z"))
    rows.append(record(10**6, type="video"))
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, rows))
    assert (caught.value.line, caught.value.field) == (last + 1, "conversation_id")
    assert "first seen on line 6" in caught.value.reason


def test_the_first_of_several_bad_lines_is_reported(tmp_path: Path) -> None:
    rows: list[Any] = many(3000)
    rows[2500] = record(2500, status="done")
    rows[1200] = record(1200, duration_seconds=-5)
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, rows))
    assert (caught.value.line, caught.value.field) == (1201, "duration_seconds")
