"""--rate-limit: a token bucket per key, 429 rate_limit_exceeded with Retry-After."""

from __future__ import annotations

import pytest
from factories import CHILD_KEY, PARENT_KEY
from server_support import ME, error_of, served

from usagekit.mock.server.ratelimit import RateLimiter, TokenBucket


def test_bucket_grants_its_burst_then_refills() -> None:
    bucket = TokenBucket(rate=2.0, capacity=2.0, updated=0.0)
    assert bucket.take(0.0) == 0
    assert bucket.take(0.0) == 0
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert bucket.take(0.5) == 0
    assert bucket.take(10.0) == 0  # refills to capacity, not beyond
    assert bucket.take(10.0) == 0
    assert bucket.take(10.0) > 0


def test_limiter_keeps_one_bucket_per_key() -> None:
    now = [0.0]
    limiter = RateLimiter(1.0, clock=lambda: now[0])
    assert limiter.take(b"a") == 0
    assert limiter.take(b"a") == pytest.approx(1.0)
    assert limiter.take(b"b") == 0
    now[0] = 1.0
    assert limiter.take(b"a") == 0


def test_over_the_rate_is_429_with_retry_after() -> None:
    with served(rate_limit=1.0) as mock:
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        limited = mock.get(ME, key=PARENT_KEY)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        body = error_of(limited)
        assert body["code"] == "rate_limit_exceeded"
        assert body["message"] == "Rate limit of 1 requests per second exceeded."
        # Other keys have their own bucket; keys the server does not know get their 401.
        assert mock.get(ME, key=CHILD_KEY).status_code == 200
        for _ in range(3):
            assert mock.get(ME, key="sk-unknown").status_code == 401
        assert mock.get("/healthz").status_code == 200


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    with served(rate_limit=0.25) as mock:
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        limited = mock.get(ME, key=PARENT_KEY)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] in {"3", "4"}


def test_each_worker_enforces_its_share() -> None:
    with served(rate_limit=4.0, workers=2) as mock:
        statuses = [mock.get(ME, key=PARENT_KEY).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
