"""The numpy read of canonical lines: it accepts only what the line check accepts, same values."""

from __future__ import annotations

import json

import factories as f
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT, format_instant
from usagekit.mock.datasets._canonical import canonical
from usagekit.mock.datasets._ids import SeenIds
from usagekit.mock.datasets._lines import Codes, LineChecker

CODES = Codes.of(f.ACCOUNTS)
CHECKER = LineChecker(path="x", accounts=f.ACCOUNTS, codes=CODES)
COLUMNS = ("ids", "hashes", "start", "duration", "account", "agent", "type", "direction", "status")
OWNERS = [(f.PARENT, "agent-a"), (f.PARENT, "agent-b"), (f.PARENT, None), (f.CHILD, "agent-c")]


def line(n: int = 0, **changes: object) -> bytes:
    """A canonical line (as write_conversations writes it) for factories.ACCOUNTS."""
    account, agent = OWNERS[n % len(OWNERS)]
    record = {
        "conversation_id": f"conv-{n}",
        "account_id": account,
        "agent_id": agent,
        "type": ("phone", "web", "test", "unknown")[n % 4],
        "direction": ("inbound", "outbound", "internal")[n % 3],
        "status": ("in_progress", "completed", "failed", "transferred")[n % 4],
        "start_timestamp": format_instant(1_700_000_000_000_000 + n * 1_000_001, 0),
        "duration_seconds": n * 37 % 100_000,
    }
    return json.dumps(record | changes, separators=(",", ":"), ensure_ascii=False).encode()


def agree(lines: list[bytes], *, final_newline: bool = True) -> bool:
    """Whether the numpy read accepted ``lines``; if it did, with the line check's columns."""
    block = b"\n".join(lines) + (b"\n" if final_newline else b"")
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
    fast = canonical(block, ends, CODES)
    if fast is None:
        return False
    # Repeated ids are the caller's to find, once over the whole file (_conversations):
    # a repeat there sends the file to the careful read, as a doubt here does.
    hashes = np.sort(fast.hashes)
    if np.any(hashes[1:] == hashes[:-1]):
        return False
    try:
        truth = CHECKER.check_lines(lines, 1, SeenIds())
    except DatasetError as exc:
        raise AssertionError(f"numpy accepted what the line check rejects: {exc}") from None
    for name in COLUMNS:
        left, right = getattr(fast, name), getattr(truth, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name
    return True


def test_canonical_lines_are_read_by_numpy() -> None:
    assert agree([line(n) for n in range(50)])
    assert agree([line(n) for n in range(5)], final_newline=False)
    assert agree([line(1, conversation_id="é" * 20, start_timestamp="2024-02-29T23:59:59.5Z")])


@pytest.mark.parametrize(
    ("clock", "valid"),
    [
        ("2024-02-29T00:00:00Z", True),
        ("2023-02-29T00:00:00Z", False),
        ("1900-02-29T00:00:00Z", False),
        ("2000-02-29T00:00:00Z", True),
        ("2024-04-31T00:00:00Z", False),
        ("2024-12-31T23:59:59.999999Z", True),
        ("2024-01-01T24:00:00Z", False),
        ("2024-01-01T23:60:00Z", False),
        ("2024-01-01T23:59:60Z", False),
        ("2024-00-01T00:00:00Z", False),
        ("2024-13-01T00:00:00Z", False),
        ("2024-01-00T00:00:00Z", False),
        ("0000-12-31T23:59:59Z", False),
        ("0001-01-01T00:00:00Z", True),
        ("9999-12-31T23:59:59.999999Z", True),
        ("2024-01-01T00:00:00.1Z", True),
        ("2024-01-01T00:00:00.1234567Z", False),
        ("2024-01-01T00:00:00.Z", False),
        ("2024-01-01T00:00:00z", False),
        ("2024-01-01t00:00:00Z", False),
        ("2024-01-01T00:00:00+00:00", False),
        ("2024-1-01T00:00:00Z", False),
        ("2024-01-01T00:00:0aZ", False),
    ],
)
def test_clocks(clock: str, valid: bool) -> None:
    lines = [line(0), line(1, start_timestamp=clock), line(2)]
    assert agree(lines) == valid  # a clock it refuses goes on to the other ways


@pytest.mark.parametrize(
    ("duration", "valid"),
    [
        *[("0", True), ("7", True), ("2147483647", True), ("2147483648", False)],
        *[("9999999999", False), ("01", False), ("12345678901", False), ("-1", False)],
        *[("1.0", False), ("1e3", False), ('"1"', False), ("true", False), ("", False)],
        (" 1", False),
    ],
)
def test_durations(duration: str, valid: bool) -> None:
    written = line(3).decode().rsplit(":", 1)[0] + ":" + duration + "}"
    assert agree([line(0), written.encode()]) == valid


@pytest.mark.parametrize(
    "changes",
    [
        {"account_id": "nobody"},
        {"account_id": f.PARENT + " "},
        {"account_id": f.PARENT[:-1]},
        {"agent_id": "agent-c"},  # the child's agent, on a parent's line
        {"agent_id": ""},
        {"type": "Phone"},
        {"type": "phon"},
        {"status": "complete"},
        {"conversation_id": ""},
        {"conversation_id": "x" * 129},
    ],
)
def test_values_the_line_check_refuses_are_refused(changes: dict[str, object]) -> None:
    assert not agree([line(0), line(1, **changes)])


def test_an_id_at_the_cap_and_ids_of_many_lengths() -> None:
    assert agree([line(0, conversation_id="x" * 128), line(1, conversation_id="y")])


def test_a_repeated_id_goes_to_the_careful_read() -> None:
    """One changed byte can make two ids one ("conv-1" -> "conv-0"): the numpy read
    leaves repeats to its caller, whose check sends the file to the line check."""
    assert not agree([line(0), line(1, conversation_id="conv-0")])


_BYTES = st.sampled_from([*b'"{}:,.-_ 0123456789ZTaez\\\t', 0xC3, 0xA9, 0x7F, 0x00])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(1, 6),
    where=st.integers(0, 10_000),
    edit=st.sampled_from(["replace", "insert", "delete", "swap"]),
    value=_BYTES,
    start=st.integers(MIN_INSTANT // 10**6, MAX_INSTANT // 10**6),
)
def test_one_byte_changed_is_refused_or_read_as_the_line_check_reads_it(
    count: int, where: int, edit: str, value: int, start: int
) -> None:
    lines = [line(n, start_timestamp=format_instant(start * 10**6, 0)) for n in range(count)]
    row = where % count
    text = bytearray(lines[row])
    at = where % len(text)
    if edit == "replace":
        text[at] = value
    elif edit == "insert":
        text.insert(at, value)
    elif edit == "delete":
        del text[at]
    else:
        text[at], text[(at + 1) % len(text)] = text[(at + 1) % len(text)], text[at]
    lines[row] = bytes(text).replace(b"\n", b"")
    agree(lines)
