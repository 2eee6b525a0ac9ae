"""The dataset directory format: the fast ways of reading accept what the line check accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import factories as f
import numpy as np
from files_support import many
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usagekit.mock.core.errors import DatasetError
from usagekit.mock.core.instants import MAX_INSTANT, MIN_INSTANT, format_instant, parse_datetime
from usagekit.mock.datasets._canonical import canonical
from usagekit.mock.datasets._columns import decoded
from usagekit.mock.datasets._ids import SeenIds
from usagekit.mock.datasets._lines import Codes, LineChecker

# -- the fast ways of reading accept exactly what the line check accepts --


_WRITTEN = st.builds(
    format_instant,
    st.integers(MIN_INSTANT, MAX_INSTANT).map(lambda us: us // 10**4 * 10**4),
    st.sampled_from([0, 0, 0, 3600, -19800, 50400, -43200]),
)
# .NET, Java and Go write up to nine fractional digits (floored to the µs on load);
# "Z" may also be written "+00:00" or "-00:00".
_NANO = st.builds(
    lambda text, digits, zone: f"{text[:19]}.{digits}{zone}",
    _WRITTEN,
    st.from_regex(r"[0-9]{1,9}", fullmatch=True),
    st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-12:00"]),
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
    _WRITTEN | _WRITTEN | _WRITTEN.map(str.lower) | _NANO,
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
        r"(\.[0-9]{1,11})?([Zz]|[+-][0-9]{2}:[0-9]{2})?",
        fullmatch=True,
    )
    # A cell with a line break: two clocks, or one and a newline.
    | st.builds(lambda a, b: f"{a}\n{b}", _WRITTEN, _WRITTEN | st.just("")),
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
            assert fast.floored == truth.floored


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
