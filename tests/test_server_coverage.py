"""The mock's coverage ledger: GET /_usagekit/coverage counts the states its traffic exercised."""

from __future__ import annotations

import pytest
from factories import PARENT_KEY
from server_support import ME
from workbench_support import workbench

from usagekit.mock.core.query import RawQuery, resolve_query
from usagekit.mock.server import coverage
from usagekit.mock.server.routes import SENT
from usagekit.mock.server.validation import RESOLVED, Resolved

COVERAGE = "/_usagekit/coverage"
NOW = 1_736_899_200_000_000  # 2025-01-15T00:00:00Z, in µs


def test_the_mock_counts_what_it_served():
    with workbench() as mock:
        assert mock.get(COVERAGE).json()["exchanges"] == 0
        for _ in range(2):  # the second is answered by the front cache: still counted in full
            answer = mock.get(ME, key=PARENT_KEY, params={"tz": "Europe/Vienna", "limit": "1"})
            assert answer.status_code == 200
        grouped = {"group_by": "type,agent", "granularity": "hour"}
        assert mock.get(ME, key=PARENT_KEY, params=grouped).status_code == 200
        assert mock.get(ME, key=PARENT_KEY, params={"limit": "0"}).status_code == 422
        assert mock.get(ME).status_code == 401
        forced = mock.get(ME, key=PARENT_KEY, headers={"prefer": "code=503"})
        assert forced.status_code == 503
        assert mock.request("POST", ME, key=PARENT_KEY).status_code == 405  # not the operation
        assert mock.get("/healthz").status_code == 200

        ledger = mock.get(COVERAGE).json()
    cells = ledger["cells"]
    assert ledger["exchanges"] == 6
    assert cells["status:200"] == 3
    assert cells["status:422"] == cells["error:validation_error"] == 1
    assert cells["status:401"] == cells["error:unauthorized"] == 1
    assert cells["status:503"] == cells["error:service_unavailable"] == 1
    assert cells["tz:dst-north"] == 2
    assert cells["limit:1"] == 2
    assert cells["limit:truncated"] == 3  # one day of 30, and 500 hours of 720
    assert cells["group_by:agent+type"] == cells["group_by_order:type,agent"] == 1
    assert cells["granularity:hour"] == 1
    assert cells["param:limit:present"] == 3
    assert cells["param:tz:default"] == 4
    assert "granularity:month" in ledger["not_exercised"]


def test_the_coverage_route_is_an_admin_route():
    with workbench(admin_token="s3cret") as mock:
        assert mock.get(COVERAGE).status_code == 401
        authorized = mock.get(COVERAGE, headers={"authorization": "Bearer s3cret"})
        assert authorized.status_code == 200


def test_every_spelling_counts_the_parameters_it_wrote():
    # First seen, another spelling (found as the contract reads it), a repeat as written,
    # an error through connexion, and no key at all (the front cache never sees it).
    with workbench() as mock:
        for query in ("tz=UTC&limit=5", "limit=5&x=1&tz=UTC", "tz=UTC&limit=5", "limit=0&tz="):
            mock.get(f"{ME}?{query}", key=PARENT_KEY)
        mock.get(f"{ME}?tz=UTC&group_by=")
        cells = mock.get(COVERAGE).json()["cells"]
    assert cells["status:200"] == 3
    assert cells["param:tz:present"] == 5
    assert cells["param:limit:present"] == 4
    assert cells["param:group_by:present"] == 1
    assert cells["param:start:default"] == 5
    assert cells["limit:truncated"] == 3


def test_repeats_count_in_full_when_read_later(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two answers wait to be counted when the ledger is read; the third is counted at once.
    monkeypatch.setattr(coverage, "MAX_WAITING", 2)
    with workbench() as mock:
        for _ in range(3):
            for limit in ("1", "2", "3"):
                answer = mock.get(ME, key=PARENT_KEY, params={"tz": "UTC", "limit": limit})
                assert answer.status_code == 200
        first = mock.get(COVERAGE).json()
        mock.get(ME, key=PARENT_KEY, params={"tz": "UTC", "limit": "1"})
        second = mock.get(COVERAGE).json()
    assert first["exchanges"] == first["cells"]["status:200"] == 9
    assert first["cells"]["limit:1"] == 3
    assert first["cells"]["param:limit:present"] == first["cells"]["param:tz:present"] == 9
    assert second["exchanges"] == second["cells"]["status:200"] == 10
    assert second["cells"]["limit:1"] == 4


def test_a_first_answer_is_counted_at_once_and_only_repeats_wait() -> None:
    # A read or a flush must never find new queries to classify: under never-seen
    # traffic that backlog stalled a worker at every flush.
    shared = coverage.SharedLedger(coverage.coverage_ledger())
    resolved = [
        Resolved(
            query=resolve_query(RawQuery(tz="UTC", limit=str(n)), account_id="a", now=NOW),
            second=None,
        )
        for n in (1, 2)
    ]
    sent = frozenset({"tz", "limit"})
    for answer in (*resolved, resolved[0], resolved[0]):
        scope = {"query_string": b"", "extensions": {SENT: sent, RESOLVED: answer}}
        shared.record_answer(scope, 200, b"")
    before = shared.ledger.counts()  # not settled: what a flush would find already there
    assert before["status:200"] == 2
    assert before["limit:1"] == 1
    after = shared.settle().counts()
    assert after["status:200"] == shared.ledger.exchanges == 4
    assert after["limit:1"] == 3
    assert after["param:limit:present"] == 4
    assert shared.settle().counts() == after  # the repeats are counted once
