"""The oracle: who may read what, how a request reads, and the exact grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from usagekit.conformance.config import KitConfig
from usagekit.conformance.exchange import Exchange, KeyRole
from usagekit.conformance.oracle import Access, Oracle
from usagekit.conformance.stamps import read_stamp, stamp_columns, written_offset
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.buckets import Granularity, bucket_grid
from usagekit.mock.core.errors import QueryError
from usagekit.mock.core.query import RawQuery, UsageQuery

CONFIG = KitConfig(
    base_url="http://x",
    api_key="kp",
    account_id="parent",
    subaccount_id="child",
    subaccount_key="kc",
    foreign_account_id="other",
    server_now=1_700_000_000_000_000,
)


_NAMES = st.sampled_from(["start", "end", "tz", "group_by", "limit", ""])


@given(st.lists(st.tuples(_NAMES, st.text(max_size=4)), max_size=8), _NAMES)
def test_values_are_every_value_of_a_name_in_order(params, name) -> None:
    sent = exchange("a", KeyRole.ACCOUNT, *params)
    wanted = [value for key, value in params if key == name]
    got = sent.values(name)
    assert got == wanted
    got.append("changed")  # the caller's own list: the exchange's answer stays the same
    assert sent.values(name) == wanted
    assert all(sent.values(key) == [v for k, v in params if k == key] for key, _ in params)


def exchange(account: str, key: KeyRole, *params: tuple[str, str], status: int = 200) -> Exchange:
    return Exchange(
        method="GET",
        base_url="http://x",
        path=f"/v1/accounts/{account}/analytics/usage",
        account=account,
        params=params,
        key=key,
        key_text=None,
        status=status,
        headers={},
        content=b"{}",
        elapsed=0.0,
    )


@pytest.mark.parametrize(
    ("account", "key", "access", "real"),
    [
        ("parent", KeyRole.ACCOUNT, Access.READABLE, "parent"),
        ("me", KeyRole.ACCOUNT, Access.READABLE, "parent"),
        ("child", KeyRole.ACCOUNT, Access.READABLE, "child"),
        ("me", KeyRole.SUBACCOUNT, Access.READABLE, "child"),
        ("child", KeyRole.SUBACCOUNT, Access.READABLE, "child"),
        ("parent", KeyRole.SUBACCOUNT, Access.FORBIDDEN, None),
        ("other", KeyRole.ACCOUNT, Access.FORBIDDEN, None),
        ("parent", KeyRole.NONE, Access.UNAUTHENTICATED, None),
        ("me", KeyRole.INVALID, Access.UNAUTHENTICATED, None),
        ("somebody", KeyRole.ACCOUNT, Access.UNKNOWN, None),
    ],
)
def test_access(account: str, key: KeyRole, access: Access, real: str | None) -> None:
    assert Oracle(CONFIG, None).access(exchange(account, key)) == (access, real)


def test_accounts_the_kit_made_up_are_forbidden() -> None:
    oracle = Oracle(CONFIG, None)
    oracle.absent_accounts.add("made-up")
    assert oracle.access(exchange("made-up", KeyRole.ACCOUNT))[0] is Access.FORBIDDEN


@pytest.mark.parametrize(
    "params",
    [(("tz", "null"),), (("limit", "1"), ("limit", "2")), (("group_by", "null"),)],
)
def test_readings_the_contract_leaves_open_are_not_judged(params) -> None:
    assert Oracle(CONFIG, None).raw_query(exchange("parent", KeyRole.ACCOUNT, *params)) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["start", "end", "granularity", "tz", "limit", "group_by", "x"]),
            st.sampled_from(["null", "", "a", "a,b", "1"]),
        ),
        max_size=6,
    )
)
def test_raw_query_reads_each_name_s_values_as_sent(params) -> None:
    # One pass over the parameters gives what a look-up of each name's values gave.
    sent = exchange("parent", KeyRole.ACCOUNT, *params)
    values = {name: sent.values(name) for name in ("start", "end", "granularity", "tz", "limit")}
    groups = sent.values("group_by")
    raw = Oracle(CONFIG, None).raw_query(sent)
    if any(len(v) > 1 or "null" in v for v in values.values()) or "null" in groups:
        assert raw is None
        return
    assert raw == RawQuery(
        **{name: v[0] if v else None for name, v in values.items()},
        group_by=[item for value in groups for item in value.split(",")] if groups else None,
    )


def test_group_by_merges_both_forms() -> None:
    raw = Oracle(CONFIG, None).raw_query(
        exchange("parent", KeyRole.ACCOUNT, ("group_by", "agent,type"), ("group_by", "agent"))
    )
    assert raw is not None
    assert list(raw.group_by or ()) == ["agent", "type", "agent"]


def test_resolve_uses_the_server_now_and_reports_invalid_queries() -> None:
    oracle = Oracle(CONFIG, None)
    query = ExchangeView(exchange("parent", KeyRole.ACCOUNT), oracle).resolved
    assert isinstance(query, UsageQuery)
    assert query.end == CONFIG.server_now
    bad = ExchangeView(exchange("parent", KeyRole.ACCOUNT, ("limit", "0")), oracle).resolved
    assert isinstance(bad, QueryError)
    assert [e.field for e in bad.errors] == ["query.limit"]


def test_the_grid_is_the_core_s() -> None:
    oracle = Oracle(CONFIG, None)
    view = ExchangeView(
        exchange(
            "parent",
            KeyRole.ACCOUNT,
            ("start", "2024-11-03T00:00:00-04:00"),
            ("end", "2024-11-03T03:00:00-05:00"),
            ("granularity", "hour"),
            ("tz", "America/New_York"),
        ),
        oracle,
    )
    query = view.query
    assert isinstance(query, UsageQuery)
    grid = bucket_grid(query.timeline, Granularity.HOUR, query.start, query.end, 500)
    stamps = view.grid
    assert stamps is not None
    assert [s.offset for s in stamps] == [-14400, -14400, -18000, -18000]
    assert [s.instant for s in stamps] == (grid.starts * 1_000_000).tolist()


@pytest.mark.parametrize(
    ("tz", "start", "end", "granularity"),
    [
        ("America/New_York", "2024-11-02T20:00:00Z", "2024-11-04T00:00:00Z", "hour"),
        ("UTC", "2023-01-01T00:00:00Z", "2023-03-01T00:00:00Z", "day"),
        ("Asia/Kolkata", "2023-03-01T00:00:00Z", "2023-03-03T00:00:00Z", "hour"),
        ("Australia/Lord_Howe", "2023-03-20T00:00:00Z", "2023-04-20T00:00:00Z", "day"),
        ("Africa/Monrovia", "1971-10-01T00:00:00Z", "1971-12-01T00:00:00Z", "day"),  # -00:44:30
    ],
)
def test_the_grid_s_labels_are_taken_as_read_only_when_written_exactly(
    tz: str, start: str, end: str, granularity: str
) -> None:
    raw = RawQuery(start=start, end=end, granularity=granularity, tz=tz)
    query = Oracle.resolve(raw, "parent", CONFIG.server_now)
    assert isinstance(query, UsageQuery)
    labels = Oracle.labels(query, Oracle.grid(query))
    assert labels is not None
    texts = bucket_grid(
        query.timeline, query.granularity, query.start, query.end, query.limit
    ).labels()  # the reference's, written on their own
    read, taken = stamp_columns(list(texts)), labels.read(texts)
    assert taken is not None
    assert read is not None
    assert np.array_equal(taken.instants, read.instants)
    assert np.array_equal(taken.offsets, read.offsets)
    # Anything else is read: another spelling, a label fewer, labels cut elsewhere.
    assert labels.read([texts[0].replace("T", "t"), *texts[1:]]) is None
    assert labels.read(texts[:-1]) is None
    assert labels.read([texts[0] + texts[1][:1], texts[1][1:], *texts[2:]]) is None
    # ... and as many texts, one holding the NUL the labels are joined with.
    assert labels.read([texts[0] + "\0" + texts[1], *texts[2:], ""]) is None
    assert labels.read(["", texts[0] + "\0" + texts[1], *texts[2:]]) is None


def test_labels_of_two_widths_are_read_one_by_one() -> None:
    # Monrovia went from -00:44:30 to GMT in 1972: "-00:44" and then "Z".
    raw = RawQuery(start="1971-12-01T00:00:00Z", end="1972-02-01T00:00:00Z", tz="Africa/Monrovia")
    query = Oracle.resolve(raw, "parent", CONFIG.server_now)
    assert isinstance(query, UsageQuery)
    assert Oracle.labels(query, Oracle.grid(query)) is None


@pytest.mark.parametrize(
    ("text", "instant", "offset"),
    [
        ("1970-01-01T00:00:00Z", 0, 0),
        ("1970-01-01T01:00:00+01:00", 0, 3600),
        ("1970-01-01T00:00:00.5+00:00", 500_000, 0),
        # One instant, written each way RFC 3339 allows.
        ("1970-01-01t00:00:00z", 0, 0),
        ("1970-01-01T00:00:00.000+00:00", 0, 0),
        ("1970-01-01T00:00:00-00:00", 0, 0),
        ("1890-01-01T00:00:00+01:05:21", -2524521600_000_000 - 3921_000_000, 3921),
    ],
)
def test_read_stamp(text: str, instant: int, offset: int) -> None:
    stamp = read_stamp(text)
    assert stamp is not None
    assert (stamp.instant, stamp.offset) == (instant, offset)


@pytest.mark.parametrize("text", ["2024-01-01T00:00:00", "2024-01-01", "yesterday", 17, None])
def test_read_stamp_wants_a_date_time_with_offset(text: object) -> None:
    assert read_stamp(text) is None


def test_an_offset_with_seconds_may_be_written_to_the_minute() -> None:
    assert written_offset(3921) == {3921, 3960, 3900}
    assert written_offset(-17762) == {-17762, -17760, -17820}
