"""status_matches_reference: the reference's status, and every answer the contract admits.

A false alarm is worse than a miss: where more than one answer is correct --
which of the key and the parameters a server checks first, whether it names
the relation start >= end next to an invalid field, on which of the two
fields -- each is accepted, and only wrong answers fail.
"""

from __future__ import annotations

import json

import pytest

from usagekit.conformance.config import KitConfig, wall_clock
from usagekit.conformance.exchange import Exchange, KeyRole
from usagekit.conformance.judging import judge
from usagekit.conformance.oracle import Oracle
from usagekit.conformance.rules import RULES
from usagekit.conformance.view import ExchangeView
from usagekit.mock.core.instants import US, format_instant

CONFIG = KitConfig(
    base_url="http://x", api_key="kp", account_id="parent", foreign_account_id="other"
)
RULE = next(rule for rule in RULES if rule.name == "status_matches_reference")

# The case: a field error and a relation error in one request.
JUNK_AND_BACKWARDS = (
    ("group_by", "junk"),
    ("start", "2099-01-01T00:00:00Z"),
    ("end", "1981-01-01T00:00:00Z"),
)
BACKWARDS = JUNK_AND_BACKWARDS[1:]


def exchange(
    status: int,
    *params: tuple[str, str],
    named: tuple[str, ...] | None = (),
    account: str = "parent",
    key: KeyRole = KeyRole.ACCOUNT,
) -> Exchange:
    body: dict[str, object] = {"code": "validation_error", "message": "invalid"}
    if named is not None:
        body["errors"] = [{"field": name, "message": "invalid"} for name in named]
    return Exchange(
        method="GET",
        base_url="http://x",
        path=f"/v1/accounts/{account}/analytics/usage",
        account=account,
        params=params,
        key=key,
        key_text=None,
        status=status,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode() if status >= 400 else b"{}",
        elapsed=0.0,
    )


def reason(exchange: Exchange, config: KitConfig = CONFIG) -> str | None:
    """The failure's reason; ``None`` when the rule held; ``"n/a"`` when it did not apply."""
    found = judge(ExchangeView(exchange, Oracle(config, None)), [RULE])
    if not found:
        return "n/a"
    return None if found[0].failure is None else found[0].failure.reason


@pytest.mark.parametrize(
    "named",
    [
        ("query.group_by",),  # fields first, relations once every field is valid (pydantic)
        ("query.group_by", "query.start"),  # everything at once, relation on start
        ("query.start", "query.group_by"),  # in another order
        ("query.group_by", "query.end"),  # the relation on end
        ("query.group_by", "query.start", "query.end", "query.group_by"),  # on both, repeated
    ],
)
def test_a_relation_may_or_may_not_be_named_next_to_a_field_error(named) -> None:
    assert reason(exchange(422, *JUNK_AND_BACKWARDS, named=named)) is None


def test_every_field_error_must_still_be_named() -> None:
    got = reason(exchange(422, *JUNK_AND_BACKWARDS, named=("query.start",)))
    assert got == "the 422 does not name query.group_by"


@pytest.mark.parametrize("named", [("query.start",), ("query.end",), ("query.start", "query.end")])
def test_a_relation_alone_may_be_named_on_either_field(named) -> None:
    assert reason(exchange(422, *BACKWARDS, named=named)) is None


@pytest.mark.parametrize("named", [(), None])
def test_a_relation_alone_must_be_named(named) -> None:
    assert reason(exchange(422, *BACKWARDS, named=named)) == "the 422 does not name query.start"


def test_a_relation_the_server_can_decide_without_tz_may_be_named() -> None:
    # Both date-times carry an offset: a server may find start >= end although tz is unknown.
    sent = (("tz", "Mars/Olympus"), *BACKWARDS)
    assert reason(exchange(422, *sent, named=("query.tz", "query.start"))) is None
    # Local date-times in an unknown zone: any reading is the server's.
    naive = (
        ("tz", "Mars/Olympus"),
        ("start", "2024-01-02T00:00:00"),
        ("end", "2024-01-01T12:00:00"),
    )
    assert reason(exchange(422, *naive, named=("query.tz", "query.end"))) is None


def test_a_valid_range_named_as_invalid_fails() -> None:
    sent = (("tz", "Mars/Olympus"), ("start", "1981-01-01T00:00:00Z"), ("end", "2099-01-01Z"))
    forward = (("tz", "Mars/Olympus"), ("start", "1981-01-01T00:00:00Z"))
    assert reason(exchange(422, *forward, named=("query.tz", "query.start"))) == (
        "the 422 names valid query.start"
    )
    # A malformed end: the relation cannot be read, so naming start is wrong.
    assert reason(exchange(422, *sent[1:], named=("query.end", "query.start"))) == (
        "the 422 names valid query.start"
    )


@pytest.mark.parametrize(
    ("key", "account", "refusal"),
    [(KeyRole.NONE, "parent", 401), (KeyRole.INVALID, "me", 401), (KeyRole.ACCOUNT, "other", 403)],
)
def test_the_key_or_the_parameters_may_be_checked_first(key, account, refusal) -> None:
    sent = (("limit", "0"),)
    assert reason(exchange(refusal, *sent, key=key, account=account)) is None
    assert reason(exchange(422, *sent, named=("query.limit",), key=key, account=account)) is None
    assert reason(exchange(422, *sent, named=(), key=key, account=account)) == (
        "the 422 does not name query.limit"
    )
    got = reason(exchange(200, *sent, key=key, account=account))
    assert got is not None
    assert got.endswith(f"got 200, expected {refusal} or 422")


def test_a_refusal_without_invalid_parameters_is_exact() -> None:
    assert reason(exchange(422, key=KeyRole.NONE)) == (
        "a request without a valid key got 422, expected 401"
    )


def test_a_start_near_the_server_s_unknown_now_is_not_judged() -> None:
    near = format_instant(wall_clock() - 60 * US, 0)
    assert reason(exchange(422, ("start", near), named=("query.start",))) == "n/a"
    assert reason(exchange(200, ("start", near))) == "n/a"
    far = format_instant(wall_clock() - 2 * 86_400 * US, 0)
    assert reason(exchange(422, ("start", far), named=("query.start",))) == (
        "a valid request got 422, expected 200"
    )


def test_a_pinned_clock_decides_a_start_near_now() -> None:
    now = 1_700_000_000 * US
    pinned = KitConfig(base_url="http://x", api_key="kp", account_id="parent", server_now=now)
    after = format_instant(now + 60 * US, 0)
    assert reason(exchange(422, ("start", after), named=("query.start",)), pinned) is None
    assert reason(exchange(200, ("start", after)), pinned) == (
        "invalid parameters got 200, expected 422"
    )
