"""Every non-2xx in the contract's shape: 404, 405 with Allow, 500, and the spec's routes."""

from __future__ import annotations

import logging

import pytest
from factories import PARENT_KEY
from server_support import DATASET, ME, error_of, served
from workbench_support import workbench

from usagekit.mock.core.dataset import Dataset


@pytest.fixture(scope="module")
def mock():
    with served() as client:
        yield client


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1/accounts/me/analytics/usages",
        "/v1/accounts/me/analytics/usage/",
        "/v1/accounts//analytics/usage",
        "/v2/accounts/me/analytics/usage",
    ],
)
def test_unknown_paths_are_404(mock, path) -> None:
    response = mock.get(path, key=PARENT_KEY)
    assert response.status_code == 404
    body = error_of(response)
    assert body["code"] == "not_found"
    assert path in body["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_other_methods_are_405_with_allow_get(mock, method) -> None:
    response = mock.request(method, ME, key=PARENT_KEY)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.headers["content-type"] == "application/json"
    if method != "HEAD":
        body = error_of(response)
        assert body == {
            "code": "method_not_allowed",
            "message": f"{method} is not allowed here; use GET.",
        }


def test_405_without_a_key_too(mock) -> None:
    assert mock.request("POST", ME).status_code == 405


class BrokenDataset(Dataset):
    def scope(self, account_id: str):
        raise RuntimeError("boom in the aggregator")


def test_an_unexpected_error_is_a_500_without_traceback(caplog) -> None:
    broken = BrokenDataset(
        accounts=DATASET.accounts, agent_ids=DATASET.agent_ids, conversations=DATASET.conversations
    )
    with served(broken) as mock, caplog.at_level(logging.INFO):
        response = mock.get(ME, key=PARENT_KEY)
    assert response.status_code == 500
    assert error_of(response) == {
        "code": "internal_error",
        "message": "An internal error occurred.",
    }
    assert "boom" in caplog.text  # the log names the error ...
    assert "Traceback" not in caplog.text  # ... without a traceback
    assert PARENT_KEY not in caplog.text


def test_health_spec_and_ui_need_no_key(mock) -> None:
    health = mock.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    spec = mock.get("/openapi.json")
    assert spec.status_code == 200
    assert "/v1/accounts/{account_id}/analytics/usage" in spec.json()["paths"]
    ui = mock.get("/ui/")
    assert ui.status_code == 200
    assert "swagger-ui" in ui.text.lower()


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/", "GET, HEAD"),
        ("/demo", "GET, HEAD"),
        ("/openapi.json", "GET, HEAD"),
        ("/ui/", "GET, HEAD"),
        ("/demo/assets/nothing.js", "GET, HEAD"),
        ("/_usagekit/status", "GET, HEAD"),
        ("/_usagekit/requests", "GET, HEAD"),
        ("/_usagekit/scenario", "DELETE, GET, HEAD, PUT"),
    ],
)
def test_the_workbench_routes_405_in_the_contract_shape_naming_what_they_take(path, allow):
    # starlette's Route answered these in plain text (`Method Not Allowed`), the scenario's
    # Allow named GET only, and a static asset's 405 said "Not found." without an Allow.
    with workbench() as bench:
        response = bench.request("PATCH", path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert error_of(response) == {
        "code": "method_not_allowed",
        "message": f"PATCH is not allowed here; use {allow}.",
    }


def test_an_unknown_admin_path_is_named_once() -> None:
    with workbench() as bench:
        response = bench.get("/_usagekit/nothing")
    assert response.status_code == 404
    assert error_of(response)["detail"] == "No admin route /_usagekit/nothing."
