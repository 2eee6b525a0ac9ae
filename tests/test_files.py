"""The dataset directory format: round trips, canonical bytes, the directory and accounts.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import factories as f
import pytest
from files_support import FIELDS, SAMPLE, assert_same, many, record, write

from usagekit.mock.core.dataset import Account, Agent, Dataset
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import format_instant
from usagekit.mock.datasets import _conversations
from usagekit.mock.datasets.files import (
    ACCOUNTS_FILE,
    CONVERSATIONS_FILE,
    load_dataset,
    save_dataset,
)


def test_a_saved_dataset_loads_equal_and_saves_to_the_same_bytes(tmp_path: Path) -> None:
    original = f.dataset(SAMPLE)
    save_dataset(original, tmp_path / "a")
    loaded = load_dataset(tmp_path / "a")
    assert_same(loaded, original)
    assert loaded.records() == original.records()
    save_dataset(loaded, tmp_path / "b")
    for name in (ACCOUNTS_FILE, CONVERSATIONS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_saved_files_are_canonical(tmp_path: Path) -> None:
    data = f.dataset(SAMPLE)
    save_dataset(data, tmp_path)
    accounts = [
        {
            "id": a.id,
            "parent_id": a.parent_id,
            "name": a.name,
            "api_keys": list(a.api_keys),
            "agents": [{"id": g.id, "name": g.name} for g in a.agents],
        }
        for a in f.ACCOUNTS
    ]
    expected = json.dumps(accounts, indent=2, ensure_ascii=False) + "\n"
    assert (tmp_path / ACCOUNTS_FILE).read_text(encoding="utf-8") == expected
    lines = (tmp_path / CONVERSATIONS_FILE).read_bytes().decode("utf-8").splitlines()
    by_start = sorted(SAMPLE, key=lambda r: r.start)  # sorted() is stable, like the file
    assert len(lines) == len(by_start)
    for line, r in zip(lines, by_start, strict=True):
        values = (r.conversation_id, r.account_id, r.agent_id, r.type, r.direction, r.status)
        fields = dict(zip(FIELDS, values, strict=False))
        fields |= {"start_timestamp": format_instant(r.start, 0), "duration": 0}
        del fields["duration"]
        fields["duration_seconds"] = r.duration_seconds
        assert line == json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    assert lines[0].endswith('"start_timestamp":"0001-01-01T00:00:00Z","duration_seconds":1}')


def test_ties_keep_file_order_and_the_rest_is_sorted(tmp_path: Path) -> None:
    lines = [
        record(1, start_timestamp="2024-03-02T00:00:00Z"),
        record(2, start_timestamp="2024-03-01T01:00:00+01:00"),  # 00:00Z, tie with 3
        record(3, start_timestamp="2024-03-01T00:00:00Z"),
        record(4, start_timestamp="2024-02-29T23:59:59.999999Z"),
    ]
    data = load_dataset(write(tmp_path, lines))
    assert data.conversations.ids.tolist() == [b"conv-4", b"conv-2", b"conv-3", b"conv-1"]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    """More lines than one read block (~190 bytes a line), so that each reading sees two."""
    return many(_conversations.BLOCK_BYTES // 150)


@pytest.fixture(scope="module")
def expected(rows: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    return load_dataset(write(tmp_path_factory.mktemp("canonical"), rows))


@pytest.mark.parametrize(
    "style", ["spaced", "extra-field", "key-order", "offsets", "lower-case-z", "crlf"]
)
def test_every_way_of_writing_a_valid_file_loads_the_same(
    tmp_path: Path, rows: list[dict[str, Any]], expected: Dataset, style: str
) -> None:
    if style == "spaced":
        directory = write(tmp_path, rows, compact=False)
    elif style == "extra-field":
        directory = write(tmp_path, [{**r, "cost": 0.1, "tags": []} for r in rows])
    elif style == "key-order":
        directory = write(tmp_path, [dict(reversed(r.items())) for r in rows])
    elif style == "offsets":
        directory = write(
            tmp_path, [{**r, "start_timestamp": _shifted(r["start_timestamp"])} for r in rows]
        )
    elif style == "lower-case-z":
        directory = write(
            tmp_path, [{**r, "start_timestamp": r["start_timestamp"].lower()} for r in rows]
        )
    else:
        directory = write(tmp_path, rows)
        text = (directory / CONVERSATIONS_FILE).read_bytes()
        (directory / CONVERSATIONS_FILE).write_bytes(text.replace(b"\n", b"\r\n"))
    assert_same(load_dataset(directory), expected)


def test_the_canonical_file_is_what_save_writes(
    tmp_path: Path, rows: list[dict[str, Any]], expected: Dataset
) -> None:
    save_dataset(expected, tmp_path)
    lines = (tmp_path / CONVERSATIONS_FILE).read_text(encoding="utf-8").splitlines()
    assert lines == [json.dumps(r, separators=(",", ":")) for r in rows]


def _shifted(utc: str) -> str:
    """The same instant written with a -05:30 offset."""
    return format_instant(f.at(utc), -(5 * 3600 + 30 * 60))


def test_an_empty_conversations_file_is_an_empty_dataset(tmp_path: Path) -> None:
    data = load_dataset(write(tmp_path, []))
    assert len(data.conversations) == 0
    assert data.accounts == f.ACCOUNTS


def test_extra_account_keys_are_ignored(tmp_path: Path) -> None:
    accounts = [
        {"id": "a", "parent_id": None, "name": "A", "api_keys": ["k"], "zone": "UTC",
         "agents": [{"id": "x", "name": "X", "voice": "alloy"}]},
    ]  # fmt: skip
    data = load_dataset(write(tmp_path, [record(account_id="a", agent_id="x")], accounts))
    assert data.accounts == (
        Account(
            id="a", parent_id=None, name="A", api_keys=("k",), agents=(Agent(id="x", name="X"),)
        ),
    )


# -- the directory and accounts.json --


def test_a_missing_directory_or_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not a dataset directory"):
        load_dataset(tmp_path / "absent")
    directory = write(tmp_path / "d", [record()])
    (directory / CONVERSATIONS_FILE).unlink()
    with pytest.raises(DatasetError, match="no such file") as caught:
        load_dataset(directory)
    assert caught.value.path == str(directory / CONVERSATIONS_FILE)
    (directory / ACCOUNTS_FILE).unlink()
    with pytest.raises(DatasetError, match="no such file") as caught:
        load_dataset(directory)
    assert caught.value.path == str(directory / ACCOUNTS_FILE)


def test_accounts_json_syntax_errors_name_the_line(tmp_path: Path) -> None:
    directory = write(tmp_path, [])
    (directory / ACCOUNTS_FILE).write_text('[\n  {"id": "a",\n  }\n]\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="invalid JSON") as caught:
        load_dataset(directory)
    assert (caught.value.path, caught.value.line) == (str(directory / ACCOUNTS_FILE), 3)


def test_accounts_json_nested_too_deeply_is_an_error_not_a_crash(tmp_path: Path) -> None:
    directory = write(tmp_path, [])
    (directory / ACCOUNTS_FILE).write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(DatasetError, match="nested too deeply"):
        load_dataset(directory)


def account(key: str, **changes: Any) -> dict[str, Any]:
    """An entry of accounts.json with id ``key``, its own API key and agent."""
    item = {
        "id": key,
        "parent_id": None,
        "name": key.upper(),
        "api_keys": [f"sk-{key}"],
        "agents": [{"id": f"agent-{key}", "name": "Agent"}],
    }
    item.update(changes)
    return item


BAD_ACCOUNTS = [
    pytest.param({"id": "a"}, None, "JSON array", id="not an array"),
    pytest.param(["a"], "[0]", "JSON object", id="not an object"),
    pytest.param(
        [{"id": "a", "parent_id": None, "name": "A", "agents": []}],
        "[0].api_keys",
        "missing",
        id="missing key",
    ),
    pytest.param([account(""), account("b")], "[0].id", "empty", id="empty id"),
    pytest.param([account("a"), account("b", id=2)], "[1].id", "string", id="numeric id"),
    pytest.param([account("me")], "[0].id", "reserved", id="me"),
    pytest.param([account("a", name=None)], "[0].name", "string", id="name not text"),
    # A truncated emoji ("\ud83d", JSON's escape of half a pair) is no text a page can show.
    pytest.param(
        [account("a", name="A \ud83d")], "[0].name", "lone surrogate", id="surrogate in name"
    ),
    pytest.param([account("a\udc00")], "[0].id", "lone surrogate", id="surrogate in id"),
    pytest.param(
        [account("a", agents=[{"id": "x", "name": "\ud800"}])],
        "[0].agents[0].name",
        "lone surrogate",
        id="surrogate in agent name",
    ),
    pytest.param([account("a", api_keys="sk-a")], "[0].api_keys", "array", id="keys not a list"),
    pytest.param([account("a", api_keys=[""])], "[0].api_keys[0]", "empty", id="empty key"),
    pytest.param(
        [account("a", agents=[{"id": "x"}])],
        "[0].agents[0].name",
        "missing",
        id="agent without name",
    ),
    pytest.param(
        [account("a", agents=[{"id": "unassigned", "name": "U"}])],
        "[0].agents[0].id",
        "reserved",
        id="agent unassigned",
    ),
    pytest.param(
        [account("a"), account("b"), account("a", api_keys=[], agents=[])],
        "[2].id",
        "duplicate account id 'a'",
        id="duplicate id",
    ),
    pytest.param(
        [account("a"), account("b", api_keys=["sk-a"])],
        "[1].api_keys[0]",
        "duplicate API key",
        id="duplicate key",
    ),
    pytest.param(
        [account("a"), account("b", agents=[{"id": "agent-a", "name": "A"}])],
        "[1].agents[0].id",
        "duplicate agent id",
        id="duplicate agent",
    ),
    pytest.param(
        [account("a", parent_id="z")], "[0].parent_id", "unknown account 'z'", id="unknown parent"
    ),
    pytest.param([account("a", parent_id="a")], "[0].parent_id", "own parent", id="own parent"),
    pytest.param(
        [account("a"), account("b", parent_id="a"), account("c", parent_id="b")],
        "[2].parent_id",
        "two levels",
        id="three levels",
    ),
]


@pytest.mark.parametrize(("accounts", "field", "reason"), BAD_ACCOUNTS)
def test_bad_accounts_name_the_field(
    tmp_path: Path, accounts: Any, field: str, reason: str
) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, [], accounts))
    assert (caught.value.path, caught.value.field) == (str(tmp_path / ACCOUNTS_FILE), field)
    assert reason in caught.value.reason


def test_a_parent_may_follow_its_subaccount_and_ids_may_repeat_across_kinds(tmp_path: Path) -> None:
    accounts = [account("b", parent_id="a", agents=[{"id": "a", "name": "A"}]), account("a")]
    data = load_dataset(write(tmp_path, [record(account_id="b", agent_id="a")], accounts))
    assert [a.id for a in data.subaccounts("a")] == ["b"]
