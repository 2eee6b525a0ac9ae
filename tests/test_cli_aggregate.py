"""``usagekit aggregate``: a dataset directory written by hand, the body printed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from usagekit.cli.aggregate import aggregate

PARENT = "7d9c3a52-4f1e-4b8a-9c2d-5e6f7a8b9c0d"
CHILD = "0e1d2c3b-4a59-4867-9786-a5b4c3d2e1f0"

ACCOUNTS = [
    {
        "id": PARENT,
        "parent_id": None,
        "name": "Parent",
        "api_keys": ["sk-parent"],
        "agents": [{"id": "agent-p", "name": "Pat"}],
    },
    {
        "id": CHILD,
        "parent_id": PARENT,
        "name": "Child",
        "api_keys": ["sk-child"],
        "agents": [{"id": "agent-c", "name": "Cam"}],
    },
]


def record(n: int, account: str, agent: str | None, start: str, seconds: int, **extra) -> dict:
    return {
        "conversation_id": f"conv-{n}",
        "account_id": account,
        "agent_id": agent,
        "type": extra.get("type", "phone"),
        "direction": "inbound",
        "status": extra.get("status", "completed"),
        "start_timestamp": start,
        "duration_seconds": seconds,
    }


CONVERSATIONS = [
    # Vienna is +01:00 in early March 2024: 23:30Z on the 1st is 00:30 on the 2nd.
    record(1, PARENT, "agent-p", "2024-03-01T08:00:00+01:00", 60),
    record(2, CHILD, "agent-c", "2024-03-01T09:00:00Z", 120),
    record(3, PARENT, None, "2024-03-01T23:30:00Z", 30, type="web"),
    record(4, PARENT, "agent-p", "2024-03-02T10:00:00+01:00", 999, status="failed"),
    record(5, CHILD, None, "2024-03-03T23:00:00Z", 5),  # 00:00 on the 4th: after end
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "accounts.json").write_text(json.dumps(ACCOUNTS), encoding="utf-8")
    lines = "".join(json.dumps(c) + "\n" for c in CONVERSATIONS)
    (tmp_path / "conversations.jsonl").write_text(lines, encoding="utf-8")
    return tmp_path


def run(data_dir: Path, *args: str, account: str = PARENT):
    return CliRunner().invoke(aggregate, ["--data", str(data_dir), "--account", account, *args])


VIENNA_DAYS = [
    "--tz",
    "Europe/Vienna",
    "--start",
    "2024-03-01T00:00:00",
    "--end",
    "2024-03-04T00:00:00",
]


def test_prints_the_exact_body(data_dir):
    result = run(data_dir, *VIENNA_DAYS, "--group-by", "agent")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("}\n")
    # Derived by hand from CONVERSATIONS: 1 and 2 on the 1st, 3 on the 2nd (local
    # date), 4 failed, 5 after end; the parent reads its child; agents sort as text.
    assert json.loads(result.stdout) == {
        "meta": {
            "account_id": PARENT,
            "start": "2024-03-01T00:00:00+01:00",
            "end": "2024-03-04T00:00:00+01:00",
            "granularity": "day",
            "group_by": ["agent"],
            "tz": "Europe/Vienna",
        },
        "data": [
            {
                "ts": "2024-03-01T00:00:00+01:00",
                "values": [
                    {"seconds": 120, "conversations": 1, "dimensions": {"agent": "agent-c"}},
                    {"seconds": 60, "conversations": 1, "dimensions": {"agent": "agent-p"}},
                ],
            },
            {
                "ts": "2024-03-02T00:00:00+01:00",
                "values": [
                    {"seconds": 30, "conversations": 1, "dimensions": {"agent": "unassigned"}}
                ],
            },
            {"ts": "2024-03-03T00:00:00+01:00", "values": []},
        ],
    }
    # Canonical bytes: compact, the contract's key order.
    assert result.stdout.startswith('{"meta":{"account_id":"')


def test_a_subaccount_reads_only_itself(data_dir):
    result = run(data_dir, *VIENNA_DAYS, "--granularity", "month", account=CHILD)
    assert result.exit_code == 0, result.output
    (bucket,) = json.loads(result.stdout)["data"]
    assert bucket == {
        "ts": "2024-03-01T00:00:00+01:00",
        "values": [{"seconds": 120, "conversations": 1, "dimensions": {}}],
    }


def test_group_by_comma_and_repeated_forms_are_the_same_query(data_dir):
    outputs = {
        run(data_dir, *VIENNA_DAYS, *args).stdout
        for args in (
            ["--group-by", "type,agent"],
            ["--group-by", "type", "--group-by", "agent"],
            ["--group-by", "type,agent", "--group-by", "type"],
        )
    }
    (output,) = outputs
    assert json.loads(output)["meta"]["group_by"] == ["type", "agent"]


def test_now_pins_the_default_range(data_dir):
    result = run(data_dir, "--now", "2024-03-31T12:00:00Z", "--tz", "Europe/Vienna")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)["meta"]
    # end = now; start = exactly 720 h earlier; Vienna went to +02:00 on 2024-03-31.
    assert (meta["start"], meta["end"]) == (
        "2024-03-01T13:00:00+01:00",
        "2024-03-31T14:00:00+02:00",
    )


def test_now_defaults_to_the_wall_clock_in_whole_seconds(data_dir):
    before = int(time.time())
    result = run(data_dir, "--granularity", "month")
    after = time.time()
    assert result.exit_code == 0, result.output
    end = json.loads(result.stdout)["meta"]["end"]
    assert "." not in end
    parsed = time.mktime(time.strptime(end, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before <= parsed <= after


def test_invalid_parameters_are_listed_with_exit_status_2(data_dir):
    result = run(
        data_dir, "--limit", "0", "--tz", "europe/vienna", "--granularity", "week", "--start", "x"
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "query.granularity",
        "query.limit",
        "query.tz",
        "query.start",
    ]
    assert "did you mean 'Europe/Vienna'?" in result.stderr


def test_an_unknown_account_is_an_error_with_exit_status_2(data_dir):
    result = run(data_dir, "--limit", "900", account="me")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "query.limit: 900 is not between 1 and 500" in result.stderr
    assert "--account: no account 'me'" in result.stderr


def test_now_needs_an_offset(data_dir):
    result = run(data_dir, "--now", "2024-03-31T12:00:00")
    assert result.exit_code == 2
    assert "has no UTC offset" in result.stderr


def test_a_bad_dataset_is_reported_with_its_file_and_line(data_dir):
    with (data_dir / "conversations.jsonl").open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record(6, PARENT, "agent-p", "yesterday", 1)) + "\n")
    result = run(data_dir)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "conversations.jsonl:6" in result.stderr
