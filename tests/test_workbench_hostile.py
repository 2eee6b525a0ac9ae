"""Runtime control of a running mock under hostile input: every refusal a 422 in shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from factories import CHILD_KEY, PARENT_KEY
from server_support import ME, error_of, uvicorn_server

SCENARIO = "/_usagekit/scenario"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with uvicorn_server() as url:
        yield url


@pytest.fixture
def mock(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as client:
        yield client
        client.delete(SCENARIO)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        # An integer JSON reads exactly, too large for a float: no rate at all.
        (b'{"rate_limit": 1' + b"0" * 400 + b"}", "rate_limit"),
        # A lone surrogate: JSON text, but no key of any dataset (nor UTF-8).
        (b'{"key": "\\ud800", "code": 503}', "key"),
    ],
    ids=["huge-rate-limit", "lone-surrogate-key"],
)
def test_a_scenario_no_worker_can_apply_is_a_422_naming_its_field(mock, raw, field):
    answer = mock.put(SCENARIO, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert error_of(answer)["code"] == "validation_error"
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert mock.get(SCENARIO).json() == {"global": None, "keys": []}
    assert mock.get(ME, headers={"X-API-Key": PARENT_KEY}).status_code == 200


def test_delete_with_an_empty_key_is_a_422_and_resets_nothing(mock):
    # A script's `?key=$KEY` with KEY unset must not reset every scenario there is.
    assert mock.put(SCENARIO, json={"code": 503}).status_code == 200
    assert mock.put(SCENARIO, json={"code": 401, "key": CHILD_KEY}).status_code == 200
    before = mock.get(SCENARIO).json()
    answer = mock.delete(SCENARIO, params={"key": ""})
    assert answer.status_code == 422, answer.text
    assert error_of(answer)["code"] == "validation_error"
    assert [e["field"] for e in answer.json()["errors"]] == ["key"]
    assert mock.get(SCENARIO).json() == before
    assert mock.get(ME, headers={"X-API-Key": PARENT_KEY}).status_code == 503


def test_page_assets_are_revalidated_so_an_upgrade_never_runs_stale_scripts(base):
    # With only Last-Modified, a browser may reuse a script unasked for a tenth of its
    # age (RFC 9111 4.2.2): after an upgrade, the new page would run the old script.
    for asset in (
        "dashboard.js",
        "copy.js",
        "workbench.css",
        "vendor/chart.umd.min.js",
        "swagger.js",
    ):
        first = httpx.get(f"{base}/demo/assets/{asset}")
        assert first.status_code == 200
        assert first.headers["cache-control"] == "no-cache"
        again = httpx.get(
            f"{base}/demo/assets/{asset}", headers={"if-none-match": first.headers["etag"]}
        )
        assert again.status_code == 304  # revalidation costs no body
        assert again.headers["cache-control"] == "no-cache"
