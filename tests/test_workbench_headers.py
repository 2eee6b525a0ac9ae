"""The workbench's security headers, from a real server process; never on the contract's answers.

A browser enforcing the policy is tests/test_browser_policy.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from factories import PARENT_KEY
from server_support import ME, uvicorn_server

from usagekit.mock.server.policy import page_policy, server_origins
from usagekit.mock.spec import load_spec

HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")
PAGES = ["/", "/demo", "/demo/", "/ui/", "/ui/index.html"]
#: Not pages: assets (the mock's and Swagger UI's), the served spec, admin JSON and refusals.
OTHERS = [
    "/demo/assets/dashboard.js",
    "/demo/assets/swagger.js",
    "/demo/assets/workbench.css",
    "/demo/assets/nothing.js",
    "/demo/config.json",
    "/ui/swagger-ui-bundle.js",
    "/ui/swagger-ui.css",
    "/openapi.json",
    "/openapi.yaml",
    "/_usagekit/status",
    "/_usagekit/names",
    "/_usagekit/scenario",
    "/_usagekit/nothing",
]


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with uvicorn_server() as url:
        yield url


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";"))}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_has_a_strict_policy_nosniff_and_no_referrer(base, path):
    page = httpx.get(f"{base}{path}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    policy = directives(page.headers["content-security-policy"])
    assert policy["default-src"] == policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == policy["base-uri"] == policy["object-src"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"][0] == "'self'"
    # Every script and style is a file: the page has no inline one to allow.
    assert "<script>" not in page.text
    assert "<style" not in page.text
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", page.text, re.IGNORECASE)


def test_swagger_ui_may_try_it_out_on_each_server_of_the_contract(base):
    page = httpx.get(f"{base}/ui/")
    connect = directives(page.headers["content-security-policy"])["connect-src"]
    assert connect == ["'self'", "http://127.0.0.1:8000", "https://api.itellico.ai"]
    assert [s["url"] for s in load_spec()["servers"]] == connect[1:]
    for path in ("/", "/demo"):
        policy = httpx.get(f"{base}{path}").headers["content-security-policy"]
        assert directives(policy)["connect-src"] == ["'self'"]


@pytest.mark.parametrize("path", OTHERS)
def test_every_other_workbench_answer_has_nosniff_and_no_referrer(base, path):
    answer = httpx.get(f"{base}{path}")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in answer.headers  # not a page
    assert len(answer.headers.get_list("x-content-type-options")) == 1


def test_a_refused_page_request_has_them_too(base):
    # A 405 from a page route, a 304 revalidating an asset.
    refused = httpx.post(f"{base}/demo")
    assert refused.status_code == 405
    asset = httpx.get(f"{base}/demo/assets/copy.js")
    again = httpx.get(
        f"{base}/demo/assets/copy.js", headers={"if-none-match": asset.headers["etag"]}
    )
    assert again.status_code == 304
    for answer in (refused, again):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("path", "key", "status"),
    [
        (ME, PARENT_KEY, 200),  # a new request, then (the second) the front door's repeat
        (ME, None, 401),
        (f"{ME}?granularity=fortnight", PARENT_KEY, 422),
        ("/v1/nothing", PARENT_KEY, 404),
        ("/healthz", None, 200),
    ],
)
def test_the_contracts_answers_carry_none_of_them(base, path, key, status):
    headers = {"X-API-Key": key} if key else {}
    for _ in range(2):
        answer = httpx.get(f"{base}{path}", headers=headers)
        assert answer.status_code == status
        assert not set(HEADERS) & set(answer.headers), answer.headers


def test_server_origins_lists_each_absolute_http_server_once():
    spec = {
        "servers": [
            {"url": "https://api.example.com/v1"},
            {"url": "HTTPS://API.example.com:443/other"},
            {"url": "http://user:pw@[::1]:8080/"},
            {"url": "/relative"},
            {"url": "https://{region}.example.com"},
            {"url": "ftp://files.example.com"},
            {"url": "https://evil.example; script-src *"},
            {"url": "https://api.example.com"},
        ]
    }
    assert server_origins(spec) == [
        "https://api.example.com",
        "https://api.example.com:443",
        "http://[::1]:8080",
    ]
    assert server_origins({}) == []
    assert "script-src 'self';" in page_policy(connect=server_origins(spec))
