"""The reference aggregator: every rule of contract-notes B, the contract's own examples,
and random queries against the brute force, on both the raw and the rollup path."""

from __future__ import annotations

import json

import factories
import pytest
from factories import CHILD, OTHER, PARENT, conversation

from usagekit.mock.core.aggregate import Aggregator, aggregate
from usagekit.mock.core.dataset import Account, Agent
from usagekit.mock.core.query import RawQuery, resolve_query

NOW = factories.at("2024-06-15T12:00:00Z")


def answer(records, account=PARENT, *, now=NOW, **params) -> dict:
    """The body for ``params``, checked to be the same on both paths."""
    dataset = factories.dataset(records)
    query = resolve_query(RawQuery(**params), account_id=account, now=now)
    raw = aggregate(dataset, query).to_json()
    assert Aggregator(dataset)(query).to_json() == raw
    return json.loads(raw)


def totals(body: dict) -> list[tuple[str, int, int]]:
    """(ts, seconds, conversations) of an ungrouped body."""
    found = []
    for bucket in body["data"]:
        (value,) = bucket["values"]
        assert value["dimensions"] == {}
        found.append((bucket["ts"], value["seconds"], value["conversations"]))
    return found


DAY = {"start": "2024-05-01T00:00:00Z", "end": "2024-05-04T00:00:00Z"}


# -- B1: what is counted


def test_range_is_half_open():
    records = [
        conversation("2024-04-30T23:59:59.999999Z", 1),
        conversation("2024-05-01T00:00:00Z", 2),
        conversation("2024-05-03T23:59:59.999999Z", 4),
        conversation("2024-05-04T00:00:00Z", 8),
    ]
    assert totals(answer(records, **DAY)) == [
        ("2024-05-01T00:00:00Z", 2, 1),
        ("2024-05-02T00:00:00Z", 0, 0),
        ("2024-05-03T00:00:00Z", 4, 1),
    ]


def test_only_completed_conversations_count():
    records = [
        conversation("2024-05-01T10:00:00Z", 1, status=status)
        for status in ("completed", "in_progress", "failed", "transferred")
    ]
    assert totals(answer(records, **DAY))[0] == ("2024-05-01T00:00:00Z", 1, 1)


def test_a_conversation_counts_wholly_in_the_bucket_of_its_start():
    # Three days long, started at 23:00 on the 1st: all of it in the 1st.
    records = [conversation("2024-05-01T23:00:00Z", 3 * 86_400)]
    assert totals(answer(records, **DAY)) == [
        ("2024-05-01T00:00:00Z", 3 * 86_400, 1),
        ("2024-05-02T00:00:00Z", 0, 0),
        ("2024-05-03T00:00:00Z", 0, 0),
    ]


def test_records_of_the_first_bucket_before_start_do_not_count():
    # The first bucket (the 1st) starts before start (noon): its morning is outside.
    records = [conversation("2024-05-01T11:59:59Z", 1), conversation("2024-05-01T12:00:00Z", 2)]
    body = answer(records, start="2024-05-01T12:00:00Z", end="2024-05-02T12:00:00Z")
    assert totals(body) == [("2024-05-01T00:00:00Z", 2, 1), ("2024-05-02T00:00:00Z", 0, 0)]


# -- B2: scope


SCOPED = [
    conversation("2024-05-01T10:00:00Z", 1, account=PARENT),
    conversation("2024-05-01T10:00:00Z", 2, account=CHILD, agent="agent-c"),
    conversation("2024-05-01T10:00:00Z", 4, account=OTHER, agent=None),
]


@pytest.mark.parametrize(("account", "seconds"), [(PARENT, 3), (CHILD, 2), (OTHER, 4)])
def test_a_parent_reads_its_subaccounts_and_a_subaccount_only_itself(account, seconds):
    assert totals(answer(SCOPED, account, **DAY))[0][1:] == (seconds, seconds.bit_count())


def test_subaccount_dimension_is_the_owner_and_the_parents_own_id():
    body = answer(SCOPED, group_by="subaccount", **DAY)
    assert body["data"][0]["values"] == sorted(
        [
            {"seconds": 1, "conversations": 1, "dimensions": {"subaccount": PARENT}},
            {"seconds": 2, "conversations": 1, "dimensions": {"subaccount": CHILD}},
        ],
        key=lambda v: v["dimensions"]["subaccount"],
    )


# -- B3, B4: buckets (the zones themselves are in test_buckets.py)


def test_buckets_are_dense_with_zeros_and_empty_dimensions_when_ungrouped():
    body = answer([], granularity="hour", start="2024-05-01T00:00:00Z", end="2024-05-01T03:00:00Z")
    assert body["data"] == [
        {
            "ts": f"2024-05-01T0{h}:00:00Z",
            "values": [{"seconds": 0, "conversations": 0, "dimensions": {}}],
        }
        for h in range(3)
    ]


def test_grouped_empty_buckets_have_no_values():
    body = answer([], group_by="agent", **DAY)
    assert [bucket["values"] for bucket in body["data"]] == [[], [], []]


def test_fall_back_hours_are_two_buckets_with_their_own_values():
    # 05:30Z is 01:30 EDT, 06:30Z is 01:30 EST.
    records = [
        conversation("2024-11-03T05:30:00Z", 10),
        conversation("2024-11-03T06:30:00Z", 20),
        conversation("2024-11-03T06:45:00Z", 40),
    ]
    body = answer(
        records,
        granularity="hour",
        tz="America/New_York",
        start="2024-11-03T01:00:00",
        end="2024-11-03T02:00:00",
    )
    assert totals(body) == [
        ("2024-11-03T01:00:00-04:00", 10, 1),
        ("2024-11-03T01:00:00-05:00", 60, 2),
    ]


def test_limit_returns_the_first_buckets_and_counts_nothing_after_them():
    records = [conversation(f"2024-05-0{d}T12:00:00Z", d) for d in range(1, 4)]
    body = answer(records, limit="2", **DAY)
    assert totals(body) == [("2024-05-01T00:00:00Z", 1, 1), ("2024-05-02T00:00:00Z", 2, 1)]
    # meta still echoes the requested range.
    assert body["meta"]["end"] == "2024-05-04T00:00:00Z"
    full = answer(records, **DAY)
    assert full["data"][:2] == body["data"]


def test_an_hour_query_over_the_whole_calendar_answers_its_first_500_buckets():
    records = [conversation("0001-01-01T05:00:00Z", 3), conversation("2024-05-01T00:00:00Z", 5)]
    body = answer(
        records, granularity="hour", start="0001-01-01T00:00:00Z", end="9999-12-31T23:59:59Z"
    )
    # 500 hours from the first: the last starts 499 h (20 days 19 h) in; 2024 is cut off.
    assert len(body["data"]) == 500
    assert (body["data"][0]["ts"], body["data"][-1]["ts"]) == (
        "0001-01-01T00:00:00Z",
        "0001-01-21T19:00:00Z",
    )
    assert sum(v["seconds"] for b in body["data"] for v in b["values"]) == 3
    assert body["meta"]["end"] == "9999-12-31T23:59:59Z"


# -- B5: values


def test_grouped_values_are_non_empty_combinations_sorted_in_group_by_order():
    records = [
        conversation("2024-05-01T10:00:00Z", 1, agent="agent-b", type="web"),
        conversation("2024-05-01T11:00:00Z", 2, agent="agent-a", type="web"),
        conversation("2024-05-01T12:00:00Z", 4, agent=None, type="phone"),
        conversation("2024-05-01T13:00:00Z", 8, agent="agent-a", type="phone"),
        conversation("2024-05-01T14:00:00Z", 16, agent="agent-a", type="phone"),
    ]
    by_agent_type = answer(records, group_by="agent,type", **DAY)["data"][0]["values"]
    assert [(v["dimensions"], v["seconds"], v["conversations"]) for v in by_agent_type] == [
        ({"agent": "agent-a", "type": "phone"}, 24, 2),
        ({"agent": "agent-a", "type": "web"}, 2, 1),
        ({"agent": "agent-b", "type": "web"}, 1, 1),
        ({"agent": "unassigned", "type": "phone"}, 4, 1),
    ]
    by_type_agent = answer(records, group_by=["type", "agent"], **DAY)["data"][0]["values"]
    assert [list(v["dimensions"].items()) for v in by_type_agent] == [
        [("type", "phone"), ("agent", "agent-a")],
        [("type", "phone"), ("agent", "unassigned")],
        [("type", "web"), ("agent", "agent-a")],
        [("type", "web"), ("agent", "agent-b")],
    ]


def test_unassigned_sorts_as_its_text_among_agent_ids():
    accounts = (
        Account(
            id=PARENT,
            parent_id=None,
            name="P",
            api_keys=("sk-p",),
            agents=(Agent(id="aardvark", name="A"), Agent(id="zebra", name="Z")),
        ),
    )
    records = [
        conversation("2024-05-01T10:00:00Z", 1, agent=agent)
        for agent in ("zebra", None, "aardvark")
    ]
    dataset = factories.dataset(records, accounts)
    query = resolve_query(RawQuery(group_by="agent", **DAY), account_id=PARENT, now=NOW)
    values = aggregate(dataset, query).to_dict()["data"][0]["values"]
    assert [v["dimensions"]["agent"] for v in values] == ["aardvark", "unassigned", "zebra"]


def test_dimensions_hold_exactly_the_requested_keys():
    records = [conversation("2024-05-01T10:00:00Z", 1, account=CHILD, agent="agent-c")]
    for group_by in (["type"], ["subaccount", "agent"], ["agent", "subaccount", "type"]):
        (value,) = answer(records, group_by=group_by, **DAY)["data"][0]["values"]
        assert list(value["dimensions"]) == group_by


# -- B6: meta


def test_meta_echoes_the_resolved_query_with_defaults():
    body = answer([], CHILD, group_by=["type", "agent,type", "subaccount"], tz="Asia/Kathmandu")
    # end = now; start = end - 720 h; both written in tz (+05:45).
    assert body["meta"] == {
        "account_id": CHILD,
        "start": "2024-05-16T17:45:00+05:45",
        "end": "2024-06-15T17:45:00+05:45",
        "granularity": "day",
        "group_by": ["type", "agent", "subaccount"],
        "tz": "Asia/Kathmandu",
    }


def test_meta_keeps_the_requested_instants_and_fractions():
    body = answer(
        [],
        start="2024-05-01T00:00:00.25+02:00",
        end="2024-05-02T00:00:00Z",
        tz="Europe/Vienna",
        granularity="hour",
        limit="1",
    )
    assert body["meta"]["start"] == "2024-05-01T00:00:00.250000+02:00"
    assert body["meta"]["end"] == "2024-05-02T02:00:00+02:00"
    assert body["meta"]["group_by"] == []


def test_json_is_canonical():
    dataset = factories.dataset([conversation("2024-05-01T10:00:00Z", 7)])
    query = resolve_query(RawQuery(group_by="agent", limit="1", **DAY), account_id=PARENT, now=NOW)
    assert aggregate(dataset, query).to_json() == (
        b'{"meta":{"account_id":"' + PARENT.encode() + b'","start":"2024-05-01T00:00:00Z",'
        b'"end":"2024-05-04T00:00:00Z","granularity":"day","group_by":["agent"],"tz":"UTC"},'
        b'"data":[{"ts":"2024-05-01T00:00:00Z","values":[{"seconds":7,"conversations":1,'
        b'"dimensions":{"agent":"agent-a"}}]}]}'
    )
