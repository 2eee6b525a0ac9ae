"""Traffic's memory of verdicts: a repeat is told by its bytes, and memory stays bounded."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from factories import PARENT, PARENT_KEY
from hypothesis import given
from hypothesis import strategies as st
from proxy_support import UPSTREAM, USAGE, direct, traffic

from usagekit.conformance import traffic as traffic_module
from usagekit.conformance.exchange import Exchange
from usagekit.conformance.har import Recorded
from usagekit.conformance.observed import exchange_of, split_url
from usagekit.conformance.traffic import Traffic

PARAMS = [("granularity", "hour"), ("limit", "24")]


def recorded(content: bytes, url: str | None = None) -> Recorded:
    query = "&".join(f"{k}={v}" for k, v in PARAMS)
    return Recorded(
        started=0.0,
        method="GET",
        url=url or f"{UPSTREAM}{USAGE.format(PARENT)}?{query}",
        request_headers=(("X-API-Key", "[redacted]"),),
        status=200,
        reason="OK",
        response_headers=(("content-type", "application/json"),),
        content=content,
        elapsed=0.001,
    )


@pytest.fixture(scope="module")
def body() -> bytes:
    (answer,) = direct(requests=[(PARENT, PARENT_KEY, PARAMS)])
    assert answer.status == 200
    return answer.content


def judged(judge: Traffic, record: Recorded, built: list[Recorded]) -> list[str]:
    def exchange() -> Exchange:
        built.append(record)
        return exchange_of(record)

    request = (record.method, record.url, record.status)
    return [v.rule for v in judge.judge_answer(request, record.content, exchange)]


_URL_PARTS = st.sampled_from(
    ["http://", "HTTPS://", "x+y.z-1://", "1http://", "http:", "//", "/", "?", "#", ":", "@",
     "[", "]", " ", "\t", "\n", "\x7f", "é", "127.0.0.1:80", "a", "%2F", "=", "&", "v1"]
)  # fmt: skip


@given(st.lists(_URL_PARTS, max_size=12).map("".join))
def test_a_url_is_split_as_urlsplit_splits_it(url: str) -> None:
    try:
        split = urlsplit(url)
    except ValueError:  # a bracket urlsplit refuses
        return
    assert split_url(url) == (split.scheme, split.netloc, split.path, split.query)


def test_a_repeated_answer_is_not_judged_again_but_counted(body: bytes) -> None:
    judge, built = traffic(), []
    assert judged(judge, recorded(body), built) == []
    assert judged(judge, recorded(bytes(body)), built) == []  # equal bytes, another object
    assert len(built) == 1
    summary = judge.summary()
    assert summary.requests == 2
    assert judge.ledger.exchanges == 2
    assert {r.passed for r in summary.results if r.passed} == {2}


def test_the_same_request_with_other_bytes_is_judged_anew(body: bytes) -> None:
    judge, built = traffic(), []
    broken = json.loads(body)
    broken["data"] = broken["data"][::-1]  # same length, same sums: only the order is wrong
    assert judged(judge, recorded(body), built) == []
    assert "buckets_ascending" in judged(judge, recorded(json.dumps(broken).encode()), built)
    assert judged(judge, recorded(body), built) == []  # the correct bytes again: correct again
    assert len(built) == 3  # each change of bytes is judged; nothing is taken for a repeat


def test_remembered_bodies_stay_within_their_budget(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traffic_module, "VERDICT_BYTES", 4 * len(body))
    judge, built = traffic(), []
    urls = [recorded(body).url + f"&n={n}" for n in range(6)]
    for url in urls:  # six answers of one body each: only the last four are kept
        judged(judge, recorded(body, url), built)
    assert len(built) == 6
    assert judge._kept == 4 * len(body)
    judged(judge, recorded(body, urls[-1]), built)
    assert len(built) == 6  # the most recent is remembered
    judged(judge, recorded(body, urls[0]), built)
    assert len(built) == 7  # the oldest was let go


def test_a_body_too_large_for_the_budget_is_judged_every_time(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traffic_module, "VERDICT_BYTES", 2 * len(body))
    judge, built = traffic(), []
    for _ in range(2):
        judged(judge, recorded(body), built)
    assert len(built) == 2
    assert judge._kept == 0


def test_repeats_are_counted_when_read_and_when_their_verdicts_are_forgotten(
    body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traffic_module, "VERDICTS_KEPT", 1)
    judge, built = traffic(), []
    first, other = recorded(body), recorded(body, recorded(body).url + "&n=1")
    for _ in range(3):
        judged(judge, first, built)
    assert judge.violations()["exchanges"] == 3  # the two repeats, counted as it is read
    judged(judge, first, built)
    judged(judge, other, built)  # the first answer's verdicts let go, its repeat still counted
    assert len(built) == 2
    summary = judge.summary()
    assert summary.requests == 5
    assert {r.passed for r in summary.results if r.passed} == {5}
    cells = judge.ledger.counts()
    assert judge.ledger.exchanges == 5
    assert cells["status:200"] == 5
    assert judge.summary().requests == 5  # nothing counted twice
