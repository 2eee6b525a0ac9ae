"""The exchange view: each reading made once, however many rules read it."""

from __future__ import annotations

import json

import pytest
from factories import PARENT, PARENT_KEY, busy_dataset

from usagekit.conformance import view as view_module
from usagekit.conformance.config import KitConfig
from usagekit.conformance.exchange import Exchange, KeyRole
from usagekit.conformance.judging import judge, response_rules
from usagekit.conformance.oracle import Oracle
from usagekit.conformance.registry import RuleKind
from usagekit.conformance.rules import RULES
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.instants import US

NOW = 1_717_200_000 * US
CONFIG = KitConfig(base_url="http://x", api_key=PARENT_KEY, account_id=PARENT, server_now=NOW)
PARAMS = (("granularity", "day"), ("group_by", "type"), ("tz", "Europe/Vienna"))
#: Every response rule, matches_reference too (the oracle holds the dataset).
RESPONSE_RULES = [rule for rule in RULES if rule.kind is RuleKind.RESPONSE]


def exchange(content: bytes, status: int = 200) -> Exchange:
    return Exchange(
        method="GET",
        base_url="http://x",
        path=f"/v1/accounts/{PARENT}/analytics/usage",
        account=PARENT,
        params=PARAMS,
        key=KeyRole.ACCOUNT,
        key_text=None,
        status=status,
        headers={"content-type": "application/json"},
        content=content,
        elapsed=0.0,
    )


@pytest.fixture(scope="module")
def oracle() -> Oracle:
    return Oracle(CONFIG, busy_dataset(NOW))


def test_a_correct_answer_passes_every_response_rule(oracle: Oracle) -> None:
    answer = ExchangeView(exchange(b"{}"), oracle).answer
    assert answer is not None
    verdicts = judge(ExchangeView(exchange(json.dumps(answer).encode()), oracle), RESPONSE_RULES)
    assert [j.rule.name for j in verdicts if j.failure] == []
    assert {"buckets_follow_calendar", "matches_reference"} <= {j.rule.name for j in verdicts}


def test_every_reading_is_made_once(oracle: Oracle, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("read_usage", "read_error"):
        original = getattr(view_module, name)
        monkeypatch.setattr(
            view_module, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a)
        )
    resolves = []
    resolve = oracle.resolve
    monkeypatch.setattr(oracle, "resolve", lambda *a: resolves.append(a) or resolve(*a))
    answer = ExchangeView(exchange(b"{}"), oracle).answer
    resolves.clear()
    view = ExchangeView(exchange(json.dumps(answer).encode()), oracle)
    verdicts = judge(view, RESPONSE_RULES)
    assert len(verdicts) == len(RESPONSE_RULES) - 2  # the error rules do not apply to a 200
    assert calls == ["read_usage"]
    assert len(resolves) == 1


def test_a_malformed_answer_is_reported_once_by_the_shape_rule(oracle: Oracle) -> None:
    verdicts = judge(ExchangeView(exchange(b'{"meta": {}}'), oracle))
    failed = [j.rule.name for j in verdicts if j.failure]
    assert failed == ["usage_body_shape"]


def test_judge_takes_only_response_rules(oracle: Oracle) -> None:
    view = ExchangeView(exchange(b"{}"), oracle)
    assert all(rule.kind is RuleKind.RESPONSE for rule in response_rules(view))
    scenario = next(rule for rule in RULES if rule.kind is RuleKind.SCENARIO)
    with pytest.raises(ValueError, match="not a response rule"):
        judge(view, [scenario])


def _calendar(oracle: Oracle, body: dict) -> str | None:
    view = ExchangeView(exchange(json.dumps(body).encode()), oracle)
    (verdict,) = [
        j for j in judge(view, RESPONSE_RULES) if j.rule.name == "buckets_follow_calendar"
    ]
    return verdict.failure.reason if verdict.failure else None


def test_the_calendar_rule_names_the_first_wrong_bucket(oracle: Oracle) -> None:
    """All buckets are compared at once; the failure still names the first that differs."""
    answer = ExchangeView(exchange(b"{}"), oracle).answer
    assert answer is not None
    first = answer["data"][0]["ts"]
    assert _calendar(oracle, answer) is None
    spelled = json.loads(json.dumps(answer))
    for bucket in spelled["data"]:  # the same instants in another spelling of the offset
        bucket["ts"] = bucket["ts"].replace("T", "t").replace("+0", ".000000+0")
    assert _calendar(oracle, spelled) is None
    shifted = json.loads(json.dumps(answer))
    for index in (3, 5):
        shifted["data"][index]["ts"] = shifted["data"][index - 1]["ts"]
    reason = _calendar(oracle, shifted)
    assert reason == f"bucket 3 is {answer['data'][2]['ts']}, expected {answer['data'][3]['ts']}"
    cut = json.loads(json.dumps(answer))
    cut["data"].pop()
    count = len(answer["data"])
    assert _calendar(oracle, cut) == (
        f"{count - 1} buckets, expected {count} (missing from {answer['data'][-1]['ts']})"
    )
    extra = json.loads(json.dumps(answer))
    extra["data"].insert(0, {**extra["data"][0], "ts": "2000-01-01T00:00:00+01:00"})
    assert _calendar(oracle, extra) == f"bucket 0 is 2000-01-01T00:00:00+01:00, expected {first}"
