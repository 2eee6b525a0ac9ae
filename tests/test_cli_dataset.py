"""``usagekit dataset export`` and ``validate``, driven through click's runner."""

from __future__ import annotations

import json
import time
from pathlib import Path

import factories as f
import pytest
from click.testing import CliRunner

from usagekit.cli.dataset import HOUR, current_hour, dataset
from usagekit.mock.core.instants import US
from usagekit.mock.datasets.files import ACCOUNTS_FILE, CONVERSATIONS_FILE, load_dataset
from usagekit.mock.datasets.synthetic import DEMO_ACCOUNT_ID, DEMO_API_KEY, MIN_SIZE


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(dataset, [str(a) for a in args])
    return result.exit_code, result.output


def test_export_writes_a_loadable_dataset_and_repeats_it_byte_for_byte(tmp_path: Path) -> None:
    options = (
        "--seed",
        "5",
        "--now",
        "2025-06-01T02:00:00+02:00",
        "--size",
        "1500",
        "--days",
        "60",
    )
    code, output = run("export", tmp_path / "a", *options)
    assert code == 0, output
    assert f"demo account {DEMO_ACCOUNT_ID}, API key {DEMO_API_KEY}" in output
    assert run("export", tmp_path / "b", *options)[0] == 0
    for name in (ACCOUNTS_FILE, CONVERSATIONS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = load_dataset(tmp_path / "a").conversations
    assert len(rows) == 1500
    now = f.at("2025-06-01T00:00:00Z")
    assert now - 60 * 86_400 * US <= rows.start.min()
    assert rows.start.max() < now


def test_export_without_now_ends_at_the_current_utc_hour(tmp_path: Path) -> None:
    before = current_hour()
    code, output = run("export", tmp_path, "--size", str(MIN_SIZE), "--days", "2")
    assert code == 0, output
    after = current_hour()
    rows = load_dataset(tmp_path).conversations
    assert before - 2 * 86_400 * US <= rows.start.min()
    assert rows.start.max() < after


def test_the_current_hour_is_floored() -> None:
    hour = current_hour()
    assert hour % HOUR == 0
    assert 0 <= time.time() * US - hour < HOUR + US


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--now", "2025-06-01T00:00:00"], "has no UTC offset"),
        (["--now", "yesterday"], "not an ISO-8601 date-time"),
        (["--now", "0001-01-02T00:00:00Z"], "years 1 to 9999"),
        (["--size", str(MIN_SIZE - 1)], "--size"),
        (["--days", "0"], "--days"),
    ],
)
def test_export_refuses_bad_options(tmp_path: Path, arguments: list[str], message: str) -> None:
    code, output = run("export", tmp_path / "out", *arguments)
    assert code == 2
    assert message in output
    assert not (tmp_path / "out").exists()


def test_validate_reports_what_a_dataset_holds(tmp_path: Path) -> None:
    run("export", tmp_path, "--now", "2025-01-01T00:00:00Z", "--size", "1000")
    code, output = run("validate", tmp_path)
    assert code == 0, output
    assert f"{tmp_path}: valid" in output
    assert "conversations: 1,000, starting from 2023-" in output
    assert "by status: in_progress " in output


def test_validate_names_the_first_bad_record(tmp_path: Path) -> None:
    run("export", tmp_path, "--now", "2025-01-01T00:00:00Z", "--size", "1000")
    path = tmp_path / CONVERSATIONS_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[41])
    record["type"] = "fax"
    lines[41] = json.dumps(record) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    code, output = run("validate", tmp_path)
    assert code == 1
    assert f"{path}:42: field 'type'" in output
    assert '"fax" is not one of phone, web, test, unknown' in output


def test_an_edited_export_reloads_with_the_edit(tmp_path: Path) -> None:
    run("export", tmp_path, "--now", "2025-01-01T00:00:00Z", "--size", "1000")
    path = tmp_path / CONVERSATIONS_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[0])
    record |= {"duration_seconds": 4242, "start_timestamp": "2024-12-31T23:00:00-01:00"}
    path.write_text("".join([*lines[1:], json.dumps(record) + "\n"]), encoding="utf-8")
    rows = load_dataset(tmp_path).records()
    assert rows[-1].conversation_id == record["conversation_id"]
    assert (rows[-1].start, rows[-1].duration_seconds) == (f.at("2025-01-01T00:00:00Z"), 4242)
