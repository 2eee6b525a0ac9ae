"""Scenarios: Prefer code= and latency=, --latency and --error-rate (seeded)."""

from __future__ import annotations

import pytest
from factories import PARENT_KEY
from server_support import ME, error_of, served

from usagekit.mock.server.scenarios import FORCIBLE, Chaos, Preferences, parse_prefer
from usagekit.mock.spec import load_spec

EXAMPLES = {
    "401": "Unauthorized",
    "403": "Forbidden",
    "422": "ValidationError",
    "429": "RateLimitExceeded",
    "500": "InternalError",
    "503": "ServiceUnavailable",
}


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


def example(status: int) -> dict:
    response = load_spec()["components"]["responses"][EXAMPLES[str(status)]]
    return response["content"]["application/json"]["example"]


@pytest.mark.parametrize("status", FORCIBLE)
def test_prefer_code_forces_the_status_with_the_spec_example(mock, status) -> None:
    response = mock.get(ME, key=PARENT_KEY, headers={"Prefer": f"code={status}"})
    assert response.status_code == status
    assert error_of(response) == example(status)
    assert response.headers["preference-applied"] == f"code={status}"
    if status in (429, 503):
        assert int(response.headers["retry-after"]) >= 1
    else:
        assert "retry-after" not in response.headers


def test_prefer_code_needs_no_key(mock) -> None:
    assert mock.get(ME, headers={"Prefer": "code=503"}).status_code == 503


@pytest.mark.parametrize("prefer", ["code=200", "code=404", "code=abc", "colour=blue", ""])
def test_other_preferences_are_ignored(mock, prefer) -> None:
    response = mock.get(ME, key=PARENT_KEY, headers={"Prefer": prefer})
    assert response.status_code == 200
    assert "preference-applied" not in response.headers


def test_prefer_latency_delays_and_answers_normally(mock) -> None:
    plain = mock.get(ME, key=PARENT_KEY)
    delayed = mock.get(ME, key=PARENT_KEY, headers={"Prefer": "latency=5"})
    assert delayed.status_code == 200
    assert delayed.content == plain.content
    assert delayed.headers["preference-applied"] == "latency=5"


def test_prefer_applies_to_the_operation_only(mock) -> None:
    assert mock.get("/healthz", headers={"Prefer": "code=500"}).status_code == 200


def test_parse_prefer_reads_rfc_7240_lists() -> None:
    assert parse_prefer(["code=429, latency=20"]) == Preferences(code=429, latency_ms=20)
    assert parse_prefer(['Code="503"; x=y', "latency=99999999"]) == Preferences(
        code=503, latency_ms=60_000
    )
    nothing = parse_prefer(["code=418", "return=minimal"])
    assert (nothing.code, nothing.latency_ms, nothing.applied) == (None, None, None)
    assert len(nothing.refused) == 2
    assert Preferences(code=401, latency_ms=3).applied == "code=401, latency=3"


def outcomes(seed: int, n: int = 40) -> list[int]:
    with served(error_rate=0.5, chaos_seed=seed) as mock:
        return [mock.get(ME, key=PARENT_KEY).status_code for _ in range(n)]


def test_error_rate_is_reproducible_with_a_seed() -> None:
    first = outcomes(7)
    assert first == outcomes(7)
    assert set(first) == {200, 500, 503}


def test_error_rate_failures_use_the_contract_shape() -> None:
    with served(error_rate=1.0, chaos_seed=1) as mock:
        for _ in range(5):
            response = mock.get(ME, key=PARENT_KEY)
            assert response.status_code in (500, 503)
            assert error_of(response) == example(response.status_code)
        assert mock.get("/healthz").status_code == 200


def test_a_prefer_code_wins_over_chaos() -> None:
    with served(error_rate=1.0, chaos_seed=1) as mock:
        assert mock.get(ME, key=PARENT_KEY, headers={"Prefer": "code=403"}).status_code == 403


def test_chaos_latency_draws_fixed_or_uniform_delays() -> None:
    fixed = Chaos(latency_ms=(30, 30), error_rate=0.0, seed=1)
    assert [fixed.draw() for _ in range(3)] == [(0.03, None)] * 3
    spread = Chaos(latency_ms=(10, 20), error_rate=0.0, seed=1)
    delays = [spread.draw()[0] for _ in range(50)]
    assert all(0.01 <= d <= 0.02 for d in delays)
    assert len(set(delays)) > 1
    again = Chaos(latency_ms=(10, 20), error_rate=0.0, seed=1)
    assert delays == [again.draw()[0] for _ in range(50)]


def test_chaos_latency_still_answers() -> None:
    with served(latency_ms=(1, 2), chaos_seed=3) as mock:
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
