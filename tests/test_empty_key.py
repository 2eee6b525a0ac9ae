"""An ``X-API-Key`` sent without a value, through the proxy or in a HAR, is judged as no key.

It was judged as a key of the traffic's (the proxy cannot know whose), so a server
that answered it 200 went unflagged, and a finding's curl sent
``"X-API-Key: $USAGEKIT_API_KEY"``: with the variable set, the curl got a 200 where
a 401 had been judged. Now it is a key missing its value: the contract's 401 is
expected, the curl sends ``X-API-Key;`` (curl's way to send a header empty), the
recorder writes it as sent (an empty value is no secret) and replay reads it alike.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from factories import PARENT

from usagekit.conformance.config import KitConfig
from usagekit.conformance.exchange import KeyRole
from usagekit.conformance.flight import Flight
from usagekit.conformance.har import HarWriter, Recorded
from usagekit.conformance.harfile import read_har
from usagekit.conformance.observed import exchange_of, key_sent
from usagekit.conformance.traffic import Traffic

URL = f"http://upstream.test/v1/accounts/{PARENT}/analytics/usage?start=2025-01-01T00:00:00Z"
UNAUTHORIZED = json.dumps({"code": "unauthorized", "message": "A key is required."}).encode()


def recorded(key: str | None, status: int, body: bytes) -> Recorded:
    headers = () if key is None else (("X-API-Key", key),)
    return Recorded(
        started=0.0, method="GET", url=URL, request_headers=headers, status=status, reason="",
        response_headers=(("content-type", "application/json"),), content=body, elapsed=0.001,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "role"),
    [
        (b"sk-k", KeyRole.TRAFFIC),
        (b"", KeyRole.INVALID),
        (b"  ", KeyRole.INVALID),
        (None, KeyRole.NONE),
    ],
)
def test_the_proxy_reads_a_key_sent_empty_as_none(value: bytes | None, role: KeyRole) -> None:
    headers = [(b"host", b"proxy")] + ([] if value is None else [(b"x-api-key", value)])
    scope = {"method": "GET", "path": "/v1/x", "query_string": b"", "headers": headers}
    assert Flight.of(scope, "http://upstream.test", judged=True).key is role


def test_an_empty_key_answered_200_is_flagged_and_its_curl_sends_it_empty() -> None:
    judge = Traffic(KitConfig(base_url="http://upstream.test", api_key="", account_id=""))
    assert judge.judge(recorded("", 401, UNAUTHORIZED)) == []  # the contract's answer
    violations = judge.judge(recorded("", 200, b'{"data": []}'))
    assert violations, "a 200 to a request without a key's value went unflagged"
    curl = exchange_of(recorded("", 200, b"{}")).curl()
    assert "USAGEKIT_API_KEY" not in curl
    assert "X-API-Key;" in shlex.split(curl)


def test_the_recorder_keeps_an_empty_key_and_replay_reads_it_so(tmp_path: Path) -> None:
    har = tmp_path / "t.har"
    writer = HarWriter(har, "test", "0")
    writer.add(recorded("", 401, UNAUTHORIZED))
    writer.add(recorded("sk-secret", 200, b"{}"))
    writer.close()
    assert "sk-secret" not in har.read_text(encoding="utf-8")  # a key is still redacted
    empty, keyed = read_har(har)
    assert empty.header("x-api-key") == ""
    assert exchange_of(empty).key is KeyRole.INVALID
    assert exchange_of(keyed).key is KeyRole.TRAFFIC


@pytest.mark.parametrize("value", [" \t", "\u00a0", "sk-k"])
def test_the_proxy_and_a_har_read_one_value_alike(value: str) -> None:
    # Live the proxy holds the header's bytes, a replay the HAR's text: one verdict.
    assert key_sent(value.encode("utf-8")) is key_sent(value)
