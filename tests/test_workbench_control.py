"""Runtime control in process: /_usagekit/scenario and the requests journal."""

from __future__ import annotations

import time

import pytest
from factories import CHILD_KEY, OTHER_KEY, PARENT, PARENT_KEY
from server_support import ME
from workbench_support import workbench

SCENARIO = "/_usagekit/scenario"


def test_a_global_scenario_forces_its_code_until_deleted():
    with workbench() as mock:
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        put = _put(mock, {"code": 503})
        assert put.status_code == 200, put.text
        assert put.json()["global"]["code"] == 503
        forced = mock.get(ME, key=PARENT_KEY)
        assert forced.status_code == 503
        assert forced.headers["retry-after"] == "5"
        assert forced.json()["code"] == "service_unavailable"
        # A Prefer header still wins for its own request.
        assert mock.get(ME, key=PARENT_KEY, headers={"prefer": "code=429"}).status_code == 429
        # One it cannot apply leaves the scenario's answer, and says why.
        refused = mock.get(ME, key=PARENT_KEY, headers={"prefer": "code=418"})
        assert refused.status_code == 503
        assert "code=418 cannot be forced" in refused.headers["warning"]
        assert "preference-applied" not in refused.headers
        assert mock.get("/healthz").status_code == 200
        assert mock.request("DELETE", SCENARIO).json()["global"] is None
        assert mock.get(ME, key=PARENT_KEY).status_code == 200


def _put(mock, body):
    return mock._runner.run(mock._client.put(SCENARIO, json=body))


def test_a_scenario_for_one_key_leaves_the_others_alone():
    with workbench() as mock:
        put = _put(mock, {"code": 401, "key": CHILD_KEY})
        assert put.status_code == 200
        shown = put.text
        assert CHILD_KEY not in shown  # the key is never echoed
        assert put.json()["keys"][0]["account_id"] != PARENT
        assert mock.get(ME, key=CHILD_KEY).status_code == 401
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        assert mock.request("DELETE", SCENARIO, params={"key": CHILD_KEY}).json()["keys"] == []
        assert mock.get(ME, key=CHILD_KEY).status_code == 200


def test_rate_limit_and_error_rate_scenarios():
    with workbench() as mock:
        assert _put(mock, {"rate_limit": 1}).status_code == 200
        first, second = mock.get(ME, key=PARENT_KEY), mock.get(ME, key=PARENT_KEY)
        assert (first.status_code, second.status_code) == (200, 429)
        assert second.headers["retry-after"] == "1"
        assert _put(mock, {"error_rate": 1}).status_code == 200
        assert mock.get(ME, key=OTHER_KEY).status_code in (500, 503)
        assert _put(mock, {"latency_ms": [120, 120]}).status_code == 200
        started = time.perf_counter()
        assert mock.get(ME, key=PARENT_KEY).status_code == 200
        assert time.perf_counter() - started >= 0.12


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"code": 404}, ["code"]),
        ({"code": "503"}, ["code"]),
        ({"latency_ms": [300, 100], "error_rate": 2}, ["latency_ms", "error_rate"]),
        ({"rate_limit": 0, "colour": "red"}, ["colour", "rate_limit"]),
        ({"key": "sk-nobody"}, ["key"]),
        ([1, 2], ["body"]),
    ],
)
def test_a_bad_scenario_is_a_422_naming_each_field(body, fields):
    with workbench() as mock:
        answer = _put(mock, body)
    assert answer.status_code == 422
    assert sorted(e["field"] for e in answer.json()["errors"]) == sorted(fields)


def test_an_oversize_scenario_is_refused_unread():
    with workbench() as mock:
        answer = mock._runner.run(
            mock._client.put(SCENARIO, content=b'{"code": 503' + b" " * 70_000 + b"}")
        )
        assert answer.status_code == 422
        assert [e["field"] for e in answer.json()["errors"]] == ["body"]
        assert mock.get(SCENARIO).json()["global"] is None


def test_journal_records_requests_without_keys_and_is_bounded():
    with workbench() as mock:
        mock.get(ME, key=PARENT_KEY, params={"granularity": "hour"})
        mock.get(ME, key="sk-wrong")
        entries = mock.get("/_usagekit/requests", params={"limit": 2}).json()["requests"]
        bad = mock.get("/_usagekit/requests", params={"limit": 100000})
        text = mock.get("/_usagekit/requests").text
    assert [e["status"] for e in entries] == [401, 200]
    assert entries[1]["query"] == "granularity=hour"
    assert entries[1]["account_id"] == PARENT
    assert entries[1]["account"] == "demo"
    assert entries[0]["account_id"] is None
    assert PARENT_KEY not in text
    assert "sk-wrong" not in text
    assert bad.status_code == 422
