"""The workbench's pages in a real browser: /demo, the landing page and Swagger UI.

One mock (a real uvicorn process over a small synthetic dataset with a pinned
"now") and one chromium for the module. Each state is saved as a screenshot
under reports/screenshots/.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import httpx
import pytest
from browser_support import Console, launch, screenshot
from playwright.sync_api import Browser, Page, expect
from server_support import uvicorn_server

from usagekit.mock.datasets import synthetic
from usagekit.mock.server.config import parse_instant

pytestmark = pytest.mark.slow

#: Four months after New York's spring-forward day 2026-03-08 (a 23-hour day).
NOW = parse_instant("2026-07-01T00:00:00Z")
READY = "body[data-state=ready]"
#: What chromium logs for a fetch answered with an error status the test asked for.
NETWORK_ERROR = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with uvicorn_server(dataset_factory=None, size=20_000, now=NOW) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def open_demo(page: Page, base: str) -> Console:
    console = Console(page)
    page.goto(f"{base}/demo")
    page.wait_for_selector(READY)
    return console


def table_rows(page: Page) -> list[tuple[str, int, int]]:
    rows = page.locator("[data-testid=usage-table] tbody tr")
    cells = rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    return [(ts, int(seconds), int(conversations)) for ts, seconds, conversations in cells]


def api_rows(page: Page) -> list[tuple[str, int, int]]:
    """The same request the page shows as curl, sent with httpx: bucket totals."""
    words = shlex.split(page.get_by_test_id("curl").inner_text())
    headers = dict(
        tuple(words[i + 1].split(": ", 1)) for i, word in enumerate(words) if word == "-H"
    )
    answer = httpx.get(words[-1], headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return [
        (
            bucket["ts"],
            sum(v["seconds"] for v in bucket["values"]),
            sum(v["conversations"] for v in bucket["values"]),
        )
        for bucket in answer.json()["data"]
    ]


def test_dashboard_opens_with_data_and_its_table_equals_the_api(page: Page, base: str):
    console = open_demo(page, base)
    rows = table_rows(page)
    assert rows == api_rows(page)
    assert sum(seconds for _, seconds, _ in rows) > 0  # real data on first open
    # Grouped by agent and subaccount: names in the legend, the same totals.
    page.get_by_test_id("group-subaccount").check()
    page.get_by_test_id("group-agent").check()
    expect(page.get_by_test_id("group-by-order")).to_have_text("order: subaccount, agent")
    page.get_by_test_id("load").click()
    page.wait_for_selector(READY)
    assert "group_by=subaccount,agent" in page.get_by_test_id("curl").inner_text()
    assert table_rows(page) == api_rows(page)
    screenshot(page, "demo-grouped")
    assert console.take() == []


def test_switching_the_zone_changes_the_buckets_on_a_dst_day(page: Page, base: str):
    console = open_demo(page, base)
    page.get_by_test_id("range").select_option("custom")
    page.get_by_test_id("start").fill("2026-03-08T00:00:00")
    page.get_by_test_id("end").fill("2026-03-09T00:00:00")
    page.get_by_test_id("granularity").select_option("hour")
    page.get_by_test_id("load").click()
    page.wait_for_selector(READY)
    utc = table_rows(page)
    assert len(utc) == 24
    assert utc == api_rows(page)

    page.get_by_test_id("tz").fill("America/New_York")
    page.get_by_test_id("load").click()
    expect(page.locator("#table-caption")).to_contain_text("America/New_York")
    new_york = table_rows(page)
    assert len(new_york) == 23  # 02:00 does not exist that night
    assert new_york[0][0] == "2026-03-08T00:00:00-05:00"
    assert new_york[-1][0] == "2026-03-08T23:00:00-04:00"
    assert new_york == api_rows(page)
    screenshot(page, "demo-dst-day-new-york")
    assert console.take() == []


def test_the_zone_list_offers_dst_zones_first(page: Page, base: str):
    open_demo(page, base)
    zones = page.locator("#zones option").evaluate_all(
        "options => options.map(o => [o.value, o.label])"
    )
    assert len(zones) > 400
    kinds = [label for _, label in zones]
    first_fixed = kinds.index("fixed offset")
    assert set(kinds[:first_fixed]) == {"daylight saving time"}
    assert "daylight saving time" not in kinds[first_fixed:]
    assert "America/New_York" in [name for name, _ in zones[:first_fixed]]


@pytest.mark.parametrize(
    ("trigger", "state", "shown"),
    [
        ("401", "error-401", {"error-key": "API key"}),
        ("403", "error-403", {"error-account_id": "may not read"}),
        ("422", "error-422", {"error-limit": "maximum", "error-tz": "time zone"}),
        ("429", "error-429", {"retry-countdown": "Retry"}),
        ("503", "error-503", {"retry-countdown": "Retrying in 5 s"}),
    ],
)
def test_each_error_button_shows_its_state(page: Page, base: str, trigger, state, shown):
    console = open_demo(page, base)
    page.get_by_test_id(f"trigger-{trigger}").click()
    page.wait_for_selector(f"body[data-state={state}]")
    problem = page.get_by_test_id("problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text(trigger)
    for test_id, text in shown.items():
        expect(page.get_by_test_id(test_id)).to_contain_text(text)
    assert f"Prefer: code={trigger}" in page.get_by_test_id("curl").inner_text()
    assert table_rows(page) == []  # no stale buckets under an error
    screenshot(page, f"demo-error-{trigger}")
    if trigger in ("429", "503"):
        # Retry-After counts down, then the page asks again (without Prefer) and gets data.
        page.wait_for_selector(READY, timeout=10_000)
        assert table_rows(page) == api_rows(page)
    # The only console errors are chromium's lines for the statuses asked for.
    errors = console.take()
    assert errors, "chromium logs the error answer"
    assert all((m := NETWORK_ERROR.match(e)) and m[1] == trigger for e in errors), errors


def test_latency_button_shows_a_spinner_then_the_data(page: Page, base: str):
    console = open_demo(page, base)
    page.get_by_test_id("trigger-latency").click()
    spinner = page.get_by_test_id("spinner")
    expect(spinner).to_be_visible()
    assert page.evaluate("document.body.dataset.state") == "loading"
    screenshot(page, "demo-latency-spinner", full_page=False)
    page.wait_for_selector(READY)
    expect(spinner).to_be_hidden()
    assert table_rows(page) == api_rows(page)
    assert console.take() == []


def test_an_answer_overtaken_by_a_newer_request_is_not_shown(page: Page, base: str):
    console = open_demo(page, base)
    slow = page.expect_response(lambda r: r.request.headers.get("prefer") == "latency=2000")
    with slow as delayed:
        page.get_by_test_id("trigger-latency").click()
        # While that answer is delayed, a newer request: New York's buckets.
        page.get_by_test_id("tz").fill("America/New_York")
        page.get_by_test_id("load").click()
        expect(page.locator("#table-caption")).to_contain_text("America/New_York")
        newest = table_rows(page)
    delayed.value.finished()
    # The delayed answer (UTC's buckets) has arrived; the page has had time to read it.
    page.evaluate("() => new Promise(done => setTimeout(done, 500))")
    expect(page.locator("#table-caption")).to_contain_text("America/New_York")
    assert table_rows(page) == newest == api_rows(page)
    assert page.evaluate("document.body.dataset.state") == "ready"
    assert console.take() == []


def test_a_request_the_server_never_answers_leaves_no_stale_buckets(page: Page):
    with uvicorn_server(dataset_factory=None, size=5_000, now=NOW) as url:
        console = open_demo(page, url)
        assert table_rows(page)
    # The server is gone (stopped, or restarting): the next request fails.
    page.get_by_test_id("tz").fill("America/New_York")
    page.get_by_test_id("load").click()
    page.wait_for_selector("body[data-state=error-network]")
    expect(page.get_by_test_id("status")).to_contain_text("The request failed")
    assert "tz=America/New_York" in page.get_by_test_id("curl").inner_text()
    # Not the previous request's buckets under this request's curl.
    assert table_rows(page) == []
    expect(page.locator("#table-caption")).not_to_contain_text("UTC")
    assert console.take() == ["Failed to load resource: net::ERR_CONNECTION_REFUSED"]


def test_landing_page(page: Page, base: str):
    console = Console(page)
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", name="usagekit mock")).to_be_visible()
    expect(page.get_by_test_id("credentials")).to_contain_text(synthetic.DEMO_API_KEY)
    expect(page.get_by_role("link", name="/demo")).to_be_visible()
    curl = page.get_by_test_id("curl").inner_text()
    assert curl.startswith("curl ")
    screenshot(page, "landing")
    page.get_by_role("link", name="/demo").click()
    page.wait_for_selector(READY)
    assert console.take() == []


def test_swagger_ui_try_it_out_returns_data_on_first_try(page: Page, base: str):
    console = Console(page)
    page.goto(f"{base}/ui/")
    servers = page.locator(".servers select option").first
    expect(servers).to_have_text(re.compile(re.escape(base)))
    page.locator(".opblock-summary").first.click()
    page.get_by_role("button", name="Execute").click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200", timeout=20_000)
    body = page.locator(".live-responses-table .microlight").first.inner_text()
    assert '"seconds"' in body  # not 31 empty buckets
    page.locator(".live-responses-table").first.scroll_into_view_if_needed()
    screenshot(page, "swagger-ui-try-it-out", full_page=False)
    assert console.take() == []


def test_dashboard_works_behind_an_admin_token_with_ids_for_names(page: Page):
    # With --admin-token the browser cannot read /_usagekit/names (it sends no token):
    # the dashboard still draws the data, showing ids where names would be.
    token = "s3cret-admin-token"
    with uvicorn_server(dataset_factory=None, size=5_000, now=NOW, admin_token=token) as url:
        named = httpx.get(f"{url}/_usagekit/names", headers={"Authorization": f"Bearer {token}"})
        assert named.status_code == 200
        console = open_demo(page, url)
        assert table_rows(page) == api_rows(page)
        own = page.get_by_test_id("account").locator("option").nth(1)
        assert own.inner_text() == own.get_attribute("value")  # an id, not a name
        assert own.inner_text() not in named.json()["accounts"].values()
        screenshot(page, "demo-admin-token")
    errors = console.take()
    assert len(errors) == 1, errors
    match = NETWORK_ERROR.match(errors[0])
    assert match, errors
    assert match[1] == "401", errors
