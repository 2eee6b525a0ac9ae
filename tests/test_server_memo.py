"""The response memo (bounded by bytes) and the front cache in front of connexion."""

from __future__ import annotations

import time

from factories import OTHER_KEY, PARENT, PARENT_KEY
from server_support import DATASET, ME, NOW, PATH, Served

from usagekit.mock.core.aggregate import Aggregator
from usagekit.mock.server.app import create_app
from usagekit.mock.server.config import Clock, ServerConfig
from usagekit.mock.server.memo import (
    FRONT_ENTRY_BYTES,
    FrontCache,
    FrontEntry,
    ResponseMemo,
    request_key,
    sent_parameters,
)


def test_memo_is_bounded_by_bytes_least_recently_used_first_out() -> None:
    memo = ResponseMemo(max_bytes=10)
    memo.put("a", b"aaaa")
    memo.put("b", b"bbbb")
    assert memo.get("a") == b"aaaa"  # now "b" is the least recently used
    memo.put("c", b"cccc")
    assert memo.get("b") is None
    assert memo.get("a") == b"aaaa"
    assert memo.size == 8
    memo.put("huge", b"x" * 11)  # larger than the budget: not kept, nothing evicted
    assert memo.get("huge") is None
    assert len(memo) == 2
    memo.put("a", b"aaaaaaaa")  # replacing counts the new size only
    assert memo.size == 8
    assert memo.get("c") is None


def test_front_cache_expires_wall_clock_entries_with_their_second() -> None:
    front = FrontCache(ResponseMemo(max_bytes=10_000))
    pinned = request_key(b"k", "/p", b"tz=UTC")
    clock = request_key(b"k", "/p", b"tz=Asia/Tokyo")
    front.put(pinned, FrontEntry("q1", None))
    front.put(clock, FrontEntry("q2", 100))
    assert front.get(clock, 100) == FrontEntry("q2", 100)
    assert front.get(clock, 101) is None
    assert front.get(clock, 100) is None  # dropped
    assert front.get(pinned, 10**9) == FrontEntry("q1", None)


def test_front_entries_and_bodies_share_one_byte_budget() -> None:
    memo = ResponseMemo(max_bytes=10 * FRONT_ENTRY_BYTES)
    front = FrontCache(memo)
    memo.put("body", b"x" * FRONT_ENTRY_BYTES)
    for i in range(100):
        front.put(request_key(b"k", "/p", f"start={i}".encode()), FrontEntry(i, None))
    assert memo.size <= memo.max_bytes
    assert memo.get("body") is None  # least recently used: pushed out by the requests
    assert len(memo) < 10


def test_a_spelling_seen_before_is_found_as_written() -> None:
    memo = ResponseMemo(max_bytes=100 * FRONT_ENTRY_BYTES)
    front = FrontCache(memo)
    written = (b"k", "/p", b"tz=UTC&x=1")
    request = request_key(*written)
    entry = FrontEntry("q", None, sent_parameters(request))
    front.put(request, entry, written)
    assert front.get_raw(written, 0) is entry
    # Another spelling of the same request: parsed once, then known as written too.
    other = (b"k", "/p", b"x=2&tz=UTC")
    assert front.get_raw(other, 0) is None
    assert front.get(request_key(*other), 0, other) is entry
    assert front.get_raw(other, 0) is entry
    # Neither the key nor the path may differ.
    assert front.get_raw((b"j", "/p", b"tz=UTC&x=1"), 0) is None
    assert front.get_raw((b"k", "/q", b"tz=UTC&x=1"), 0) is None


def test_spellings_as_written_are_charged_to_the_budget() -> None:
    memo = ResponseMemo(max_bytes=20 * FRONT_ENTRY_BYTES)
    front = FrontCache(memo)
    request = request_key(b"k", "/p", b"tz=UTC")
    front.put(request, FrontEntry("q", None))
    for i in range(1000):
        written = (b"k", "/p", f"tz=UTC&pad={i}".encode())
        assert front.get(request, 0, written) is not None
    assert memo.size <= memo.max_bytes
    assert len(memo) < 20


def test_wall_clock_entries_expire_under_every_spelling() -> None:
    front = FrontCache(ResponseMemo(max_bytes=10_000))
    written = (b"k", "/p", b"tz=Asia/Tokyo")
    request = request_key(*written)
    front.put(request, FrontEntry("q", 100), written)
    assert front.get_raw(written, 100) is not None
    assert front.get_raw(written, 101) is None
    assert front.get(request, 101, written) is None


def test_sent_parameters_names_what_the_query_string_wrote() -> None:
    def sent(query: str) -> frozenset[str]:
        return sent_parameters(request_key(b"k", "/p", query.encode()))

    assert sent("") == frozenset()
    assert sent("tz=&limit=5&pad=1") == {"tz", "limit"}
    assert sent("group_by=&start=x&start=y&end") == {"group_by", "start", "end"}
    assert sent("granularity=day&group_by=agent,type") == {"granularity", "group_by"}


def test_request_key_ignores_unknown_parameters_and_their_order() -> None:
    def key(query: str) -> object:
        return request_key(b"k", "/p", query.encode())

    same = key("tz=UTC&group_by=agent&limit=5")
    assert key("limit=5&pad=xyz&tz=UTC&group_by=agent") == same
    assert key("limit=9&limit=5&group_by=agent&tz=UTC&x=1") == same  # last scalar wins
    assert key("tz=UTC%2F&group_by=agent&limit=5") != same
    assert key("group_by=type&group_by=agent&tz=UTC&limit=5") != same  # group_by keeps order
    assert key("tz=UTC&group_by=agent,type") != key("tz=UTC&group_by=agent&group_by=type")


class CountingAggregator:
    def __init__(self):
        self.inner = Aggregator(DATASET)
        self.calls = 0

    def __call__(self, query):
        self.calls += 1
        return self.inner(query)


def counted(clock=None, monotonic=time.monotonic, **config):
    counter = CountingAggregator()
    config.setdefault("now", NOW)
    app = create_app(
        DATASET, ServerConfig(**config), aggregator=counter, clock=clock, monotonic=monotonic
    )
    return counter, Served(app)


def test_each_distinct_query_is_computed_once() -> None:
    counter, mock = counted()
    try:
        first = mock.get(ME, key=PARENT_KEY, params={"group_by": "agent,type"})
        again = mock.get(ME, key=PARENT_KEY, params={"group_by": "agent,type"})
        # Other spellings of the same query: new front entries, same memo entry.
        spelled = mock.get(f"{ME}?group_by=agent&group_by=type&tz=UTC", key=PARENT_KEY)
        by_id = mock.get(PATH.format(PARENT), key=PARENT_KEY, params={"group_by": "agent,type"})
        assert first.content == again.content == spelled.content == by_id.content
        assert counter.calls == 1
        mock.get(ME, key=PARENT_KEY, params={"group_by": "type"})
        assert counter.calls == 2
    finally:
        mock.close()


def test_repeats_keep_auth_scenarios_and_rate_limits() -> None:
    # A frozen monotonic clock: no token comes back however slow the machine is.
    _, mock = counted(monotonic=lambda: 100.0, rate_limit=2.0)
    try:
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        # A cached answer is not served to another key, nor without one.
        assert mock.get(ME, key=OTHER_KEY).json()["meta"]["account_id"] != PARENT
        assert mock.get(ME).status_code == 401
        assert mock.get(ME, key=PARENT_KEY, headers={"Prefer": "code=500"}).status_code == 500
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        assert mock.get(ME, key=PARENT_KEY).status_code == 429
        assert mock.request("HEAD", ME, key=PARENT_KEY).status_code == 405
    finally:
        mock.close()


def test_wall_clock_answers_are_not_served_past_their_second() -> None:
    wall = [1_711_929_600.2]  # 2024-04-01T00:00:00.2Z
    counter, mock = counted(clock=Clock(None, lambda: wall[0]), now=None)
    try:
        first = mock.get(ME, key=PARENT_KEY)
        assert first.json()["meta"]["end"] == "2024-04-01T00:00:00Z"
        wall[0] += 0.7
        assert mock.get(ME, key=PARENT_KEY).content == first.content
        assert counter.calls == 1
        wall[0] += 0.2
        later = mock.get(ME, key=PARENT_KEY)
        assert later.json()["meta"]["end"] == "2024-04-01T00:00:01Z"
        assert counter.calls == 2
        # An explicit end does not depend on the clock: kept past its second.
        fixed = {"end": "2024-03-20T00:00:00Z"}
        mock.get(ME, key=PARENT_KEY, params=fixed)
        assert counter.calls == 3
        wall[0] += 5
        mock.get(ME, key=PARENT_KEY, params=fixed)
        assert counter.calls == 3
    finally:
        mock.close()
