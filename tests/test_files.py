"""The dataset directory format: round trips, canonical bytes, and an error for each bad record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import factories as f
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usagekit.mock.core.dataset import Account, Agent, Dataset
from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT, format_instant, parse_datetime
from usagekit.mock.datasets import _conversations
from usagekit.mock.datasets._canonical import canonical
from usagekit.mock.datasets._columns import decoded
from usagekit.mock.datasets._ids import SeenIds
from usagekit.mock.datasets._lines import Codes, LineChecker
from usagekit.mock.datasets.files import (
    ACCOUNTS_FILE,
    CONVERSATIONS_FILE,
    load_dataset,
    save_dataset,
)

FIELDS = (
    "conversation_id",
    "account_id",
    "agent_id",
    "type",
    "direction",
    "status",
    "start_timestamp",
    "duration_seconds",
)


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.accounts == b.accounts
    assert a.agent_ids == b.agent_ids
    for name in ("ids", "start", "duration", "account", "agent", "type", "direction", "status"):
        left, right = getattr(a.conversations, name), getattr(b.conversations, name)
        assert np.array_equal(left, right), name
        assert left.dtype.kind == right.dtype.kind, name


def record(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid line of conversations.jsonl for factories.ACCOUNTS, as a dict."""
    line = {
        "conversation_id": f"conv-{n}",
        "account_id": f.PARENT,
        "agent_id": "agent-a",
        "type": "phone",
        "direction": "inbound",
        "status": "completed",
        "start_timestamp": "2024-03-01T12:00:00Z",
        "duration_seconds": 60,
    }
    line.update(changes)
    return line


def write(directory: Path, lines: list[Any], accounts: Any = None, *, compact: bool = True) -> Path:
    """A dataset directory with factories.ACCOUNTS (or ``accounts``) and these lines."""
    directory.mkdir(parents=True, exist_ok=True)
    if accounts is None:
        save_dataset(f.dataset([]), directory)
    else:
        (directory / ACCOUNTS_FILE).write_text(json.dumps(accounts), encoding="utf-8")
    separators = (",", ":") if compact else (", ", ": ")
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, separators=separators)) + "\n"
        for line in lines
    )
    (directory / CONVERSATIONS_FILE).write_text(text, encoding="utf-8")
    return directory


SAMPLE = [
    f.conversation("2024-03-01T12:00:00Z", 30),
    f.conversation("2024-03-01T11:00:00.5+01:00", 40, agent=None, status="failed"),
    f.conversation("2024-03-01T12:00:00Z", 7, id="tie-after-first", type="web"),
    f.conversation("1999-12-31T23:59:59.000001-08:00", 0, account=f.CHILD, agent="agent-c"),
    f.conversation("2024-03-02T00:00:00Z", 2**31 - 1, id='quote " and \\ and ü', type="test"),
    f.conversation("0001-01-01T00:00:00Z", 1, id="年", direction="internal", status="in_progress"),
    f.conversation("9999-12-31T23:59:59.999999Z", 5, account=f.OTHER, agent=None, type="unknown"),
]


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


def many(count: int, first: int = 0) -> list[dict[str, Any]]:
    """``count`` valid records, one a second, with an agent of each account in turn."""
    owners = [(f.PARENT, "agent-a"), (f.PARENT, None), (f.CHILD, "agent-c"), (f.OTHER, None)]
    rows = []
    for n in range(first, first + count):
        account, agent = owners[n % 4]
        start = format_instant(1_700_000_000_000_000 + n * 1_000_000, 0)
        rows.append(record(n, account_id=account, agent_id=agent, start_timestamp=start))
    return rows


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
        record(start_timestamp="2024-02-01T00:00:00.1234567Z"),
        "start_timestamp",
        "microsecond",
        id="nanoseconds",
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


# -- the fast ways of reading accept exactly what the line check accepts --


_WRITTEN = st.builds(
    format_instant,
    st.integers(MIN_INSTANT, MAX_INSTANT).map(lambda us: us // 10**4 * 10**4),
    st.sampled_from([0, 0, 0, 3600, -19800, 50400, -43200]),
)
_OWNERS = [
    (f.PARENT, "agent-a"),
    (f.PARENT, "agent-b"),
    (f.PARENT, None),
    (f.CHILD, "agent-c"),
    (f.OTHER, None),
]
_VALID = st.builds(
    lambda cid, owner, type_, direction, status, start, duration: {
        "conversation_id": cid,
        "account_id": owner[0],
        "agent_id": owner[1],
        "type": type_,
        "direction": direction,
        "status": status,
        "start_timestamp": start,
        "duration_seconds": duration,
    },
    st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True)
    | st.text(min_size=1, max_size=4).filter(lambda t: "\0" not in t),
    st.sampled_from(_OWNERS),
    st.sampled_from(["phone", "web", "test", "unknown"]),
    st.sampled_from(["inbound", "outbound", "internal"]),
    st.sampled_from(["in_progress", "completed", "failed", "transferred"]),
    _WRITTEN | _WRITTEN | _WRITTEN.map(str.lower),
    st.integers(0, 2**31 - 1),
)
_ODD = {
    "conversation_id": st.sampled_from(["", 5, "a\0", None]),
    "account_id": st.sampled_from(["nobody", "", None, 1]),
    "agent_id": st.sampled_from(["agent-z", "", "agent-c", "agent-a", 0]),
    "type": st.sampled_from(["Phone", "", 1, None]),
    "direction": st.sampled_from(["in", "INBOUND", None]),
    "status": st.sampled_from(["done", True]),
    "start_timestamp": _WRITTEN.map(lambda t: t[:-1])
    | st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
        r"(\.[0-9]{1,8})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
        fullmatch=True,
    ),
    "duration_seconds": st.sampled_from([-1, 2**31, 2**63, True, 1.0, "1", None]),
}
_REMOVE = object()
_CHANGE = st.sampled_from(sorted(_ODD)).flatmap(
    lambda name: st.tuples(st.just(name), _ODD[name] | st.just(_REMOVE))
)


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record, or one with a field changed to an odd value or removed (1 in 3)."""
    record = draw(_VALID)
    if draw(st.integers(0, 2)) == 0:
        name, value = draw(_CHANGE)
        if value is _REMOVE:
            del record[name]
        else:
            record[name] = value
    if draw(st.integers(0, 3)) == 0:
        record["cost"] = 0.5  # extra keys are ignored
    return record


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(_records(), min_size=1, max_size=4), style=st.integers(0, 2))
def test_fast_paths_agree_with_the_line_check(records: list[dict[str, Any]], style: int) -> None:
    """style 0: as drawn, spaced; 1: as drawn, compact; 2: compact in UTC (canonical if valid)."""
    for i, r in enumerate(records):  # repeats are checked across blocks, elsewhere
        if isinstance(r.get("conversation_id"), str):
            r["conversation_id"] = f"{i}{r['conversation_id']}"
        if style == 2:
            r.pop("cost", None)
            r["start_timestamp"] = _in_utc(r.get("start_timestamp"))
    spaced = style == 0
    separators = (", ", ": ") if spaced else (",", ":")
    lines = [json.dumps(r, separators=separators, ensure_ascii=False).encode() for r in records]
    codes = Codes.of(f.ACCOUNTS)
    checker = LineChecker(path="x", accounts=f.ACCOUNTS, codes=codes)
    try:
        truth = checker.check_lines(lines, 1, SeenIds())
    except DatasetError:
        truth = None
    block = b"".join(line + b"\n" for line in lines)
    for fast in (canonical(block, _newlines(block), codes), decoded(lines, codes)):
        if fast is not None:
            assert truth is not None, "a fast path accepted what the line check rejects"
            for name in ("ids", "hashes", "start", "duration", "account", "agent", "type"):
                assert np.array_equal(getattr(fast, name), getattr(truth, name)), name
            assert np.array_equal(fast.direction, truth.direction)
            assert np.array_equal(fast.status, truth.status)


def _newlines(block: bytes) -> np.ndarray:
    return np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))


def _in_utc(text: Any) -> Any:
    """``text`` rewritten in UTC with Z, when it is a date-time with an offset."""
    try:
        parsed = parse_datetime(text)
    except (TypeError, ValueError):
        return text
    return text if parsed.offset is None else format_instant(f.at(text), 0)


def test_each_way_of_reading_takes_the_files_it_is_for(tmp_path: Path) -> None:
    """The fast paths are not only right but used: canonical lines, then any JSON."""
    codes = Codes.of(f.ACCOUNTS)
    rows = many(50)
    lines = [json.dumps(r, separators=(",", ":")).encode() for r in rows]
    block = b"".join(line + b"\n" for line in lines)
    assert canonical(block, _newlines(block), codes) is not None
    spaced = b"\n".join(json.dumps(r).encode() for r in rows)
    assert canonical(spaced, _newlines(spaced), codes) is None
    assert decoded(spaced.split(b"\n"), codes) is not None
