"""The workbench's pages under their Content-Security-Policy, in a real browser.

tests/test_browser.py uses every control of the pages with the policy on, and its
``Console`` fails a test on any policy violation; here: that the policy is what a
browser enforces (an injected inline script does not run, and is reported), and
that the pages load nothing from outside the mock, also under a host name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from browser_support import Console, launch
from playwright.sync_api import Browser, Page, Route, expect
from server_support import uvicorn_server

from usagekit.mock.server.config import parse_instant

pytestmark = pytest.mark.slow

NOW = parse_instant("2026-07-01T00:00:00Z")
READY = "body[data-state=ready]"
#: A name for the loopback address that is not "localhost": Swagger UI treats a
#: spec served from such a host as public (its validator badge). The mock answers it
#: as ``--allowed-host`` (a user's /etc/hosts name).
HOST = "mock.test"
#: Another such name, not allowed: a page's own name rebound to 127.0.0.1.
REBOUND = "rebound.test"
#: What the test adds to the /demo page: an inline script and an inline handler.
INJECTED = (
    '<script>document.body.dataset.injected = "ran";</script>'
    '<button type="button" data-testid="injected"'
    " onclick=\"document.body.dataset.clicked = 'ran'\">injected</button>"
)


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with uvicorn_server(dataset_factory=None, size=5_000, now=NOW, allowed_hosts=(HOST,)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch(f"--host-resolver-rules=MAP {HOST} 127.0.0.1, MAP {REBOUND} 127.0.0.1")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.mark.parametrize("policy", ["sent", "removed"])
def test_an_injected_inline_script_is_refused_and_reported(page: Page, base: str, policy):
    def inject(route: Route) -> None:
        answer = route.fetch()
        headers = dict(answer.headers)
        assert "script-src 'self'" in headers["content-security-policy"]
        if policy == "removed":
            del headers["content-security-policy"]
        body = answer.text().replace("</body>", f"{INJECTED}</body>")
        route.fulfill(response=answer, headers=headers, body=body)

    page.route(f"{base}/demo", inject)
    console = Console(page)
    page.goto(f"{base}/demo")
    page.wait_for_selector(READY)  # the page's own scripts run
    page.get_by_test_id("injected").click()
    ran = page.evaluate("[document.body.dataset.injected, document.body.dataset.clicked]")
    violations = [e for e in console.take() if e.startswith("csp: ")]
    if policy == "removed":
        # The injection works: without the policy both run, and nothing is reported.
        assert ran == ["ran", "ran"]
        assert violations == []
        return
    assert ran == [None, None]
    assert [v.split()[1] for v in violations] == ["script-src-elem", "script-src-attr"]
    assert all(" refused inline at " in v for v in violations), violations


def test_swagger_ui_under_a_host_name_loads_nothing_from_outside(page: Page, base: str):
    named = base.replace("127.0.0.1", HOST)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    console = Console(page)
    page.goto(f"{named}/ui/")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".dialog-ux .modal-ux")
    expect(dialog.get_by_role("button", name="Logout")).to_be_visible()  # the demo key
    dialog.get_by_role("button", name="Close").click()
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Execute").click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200")
    assert console.take() == []
    assert {_origin(url) for url in asked if not url.startswith("data:")} == {named}


def test_a_page_whose_name_rebinds_to_loopback_reads_nothing(page: Page, base: str):
    # Same-origin with the mock, so CORS cannot stop it: the Host allow-list does.
    rebound = base.replace("127.0.0.1", REBOUND)
    for path in ("/_usagekit/requests", "/demo/config.json", "/"):
        answer = page.goto(f"{rebound}{path}")
        assert answer is not None
        assert answer.status == 400, path
        assert answer.json()["code"] == "bad_request"
        assert "sk-" not in answer.text()


def test_landing_page_copy_button_works_under_the_policy(page: Page, base: str):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    console = Console(page)
    page.goto(f"{base}/")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.get_by_test_id("curl").inner_text()
    assert re.match(r"curl -sS -H 'X-API-Key: ", copied)
    assert console.take() == []


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
