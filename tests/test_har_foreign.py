"""``check --replay`` of HARs other tools wrote: every odd-but-valid entry is judged
without a false alarm, or reported as not judged, with why -- never judged wrongly.

Each entry is built the way a tool writes it, from a Chrome export of a correct
backend's answer (``tests/data/devtools-export.har``): Chrome's and Firefox's
and Safari's developer tools, Playwright's ``recordHar``, Charles, mitmproxy,
HTTP Toolkit. The backend is correct, so any finding is a false alarm.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from proxy_support import DATASET, kit_config

from usagekit.conformance.config import KitConfig
from usagekit.conformance.outcomes import Summary
from usagekit.conformance.replay import replay
from usagekit.mock.datasets.files import save_dataset

DATA = Path(__file__).parent / "data"
EXPORT = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
#: Chrome's entry of a 200 of the endpoint, and its body.
CHROME = EXPORT["log"]["entries"][1]
BODY = CHROME["response"]["content"]["text"]

Entry = dict[str, Any]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(DATASET, directory)
    return directory


def har(tmp_path: Path, entries: list[Entry], creator: str = "WebInspector") -> Path:
    document = copy.deepcopy(EXPORT)
    document["log"]["creator"] = {"name": creator, "version": "1"}
    document["log"]["entries"] = entries
    path = tmp_path / "export.har"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def replayed(data_dir: Path, path: Path) -> Summary:
    summary, _ = replay(kit_config(data=data_dir), path, DATASET)
    return summary


def entry(change: Callable[[Entry], object] = lambda e: None) -> Entry:
    made = copy.deepcopy(CHROME)
    change(made)
    return made


def response(e: Entry) -> Entry:
    return e["response"]


def content(e: Entry) -> Entry:
    return e["response"]["content"]


def _firefox(e: Entry) -> None:
    e["startedDateTime"] = "2024-04-01T11:15:02.123+02:00"  # Firefox writes local time
    e["time"] = -1
    e["timings"] = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": 80,
                    "receive": 0}  # fmt: skip
    e["request"]["httpVersion"] = response(e)["httpVersion"] = "HTTP/2"
    e["request"]["headers"] = [
        {"name": "Host", "value": "api.staging.example.com"},
        {"name": "X-Api-Key", "value": "sk-staging-frontend-key"},
    ]
    content(e)["comment"] = ""
    response(e)["bodySize"] = -1


def _safari(e: Entry) -> None:
    content(e)["text"] = base64.b64encode(BODY.encode()).decode()
    content(e)["encoding"] = "base64"
    e["_fetchType"] = "Network Load"
    e["time"] = 0
    e["startedDateTime"] = "2024-04-01T09:15:02.1Z"


def _playwright(e: Entry) -> None:
    e["_securityDetails"] = {"protocol": "TLS 1.3"}
    e["_serverPort"] = 443
    response(e)["_transferSize"] = -1
    response(e)["headers"] = [{"name": "Content-Type", "value": "application/json; charset=utf-8"}]


def _charles(e: Entry) -> None:
    e["request"]["url"] = e["request"]["url"].replace("example.com/", "example.com:443/")
    content(e)["compression"] = 52
    content(e)["encoding"] = "utf8"  # some tools name the text's own encoding
    e["comment"] = ""


def _mitmproxy(e: Entry) -> None:
    e["request"]["httpVersion"] = response(e)["httpVersion"] = "HTTP/2.0"
    response(e)["headers"].append({"name": ":status", "value": "200"})
    e["timings"] = {"send": 0.5, "receive": 0.4, "wait": 12.1, "connect": -1, "ssl": -1}


def _prefixed(e: Entry) -> None:
    e["request"]["url"] = e["request"]["url"].replace("/v1/", "/api/v1/")


def _query_string_decoded(e: Entry) -> None:
    # The URL is what went out; queryString is the tool's reading of it.
    e["request"]["queryString"] = [{"name": "start", "value": "2024-03-01T00:00:00Z"}]


def _no_response_headers(e: Entry) -> None:
    response(e)["headers"] = []  # not captured; content.mimeType says what it was


def _odd_dates(e: Entry) -> None:
    e["startedDateTime"] = "2024-04-01T09:15:02.123456789+05:45"
    e["time"] = None


JUDGED = {
    "chrome": lambda e: None,
    "chrome-no-error": lambda e: response(e).update(_error=None, _fetchedViaServiceWorker=False),
    "firefox": _firefox,
    "safari": _safari,
    "playwright-embed": _playwright,
    "charles": _charles,
    "mitmproxy": _mitmproxy,
    "prefix": _prefixed,
    "querystring-decoded": _query_string_decoded,
    "no-response-headers": _no_response_headers,
    "odd-dates": _odd_dates,
}


@pytest.mark.parametrize("tool", JUDGED)
def test_an_odd_but_whole_entry_is_judged_without_a_false_alarm(
    tmp_path: Path, data_dir: Path, tool: str
) -> None:
    summary = replayed(data_dir, har(tmp_path, [entry(JUDGED[tool])] * 2))
    assert summary.ok, [f"{f.rule}: {f.reason}" for f in summary.findings]
    assert summary.requests == 2
    held = {r.name for r in summary.results if r.passed}
    assert {"matches_reference", "json_content_type", "status_matches_reference"} <= held
    assert summary.not_judged == ()


def _not_captured(e: Entry) -> None:
    del content(e)["text"]  # Chrome evicted it; Playwright's "omit"


def _attached(e: Entry) -> None:
    del content(e)["text"]
    content(e)["_file"] = "3f2a.json"  # Playwright's "attach": the body is beside the HAR


def _discarded(e: Entry) -> None:
    del content(e)["text"]
    content(e)["comment"] = "Body discarded during HAR generation: longer than limit"


def _empty_text(e: Entry) -> None:
    content(e)["text"] = ""  # size still says 364 bytes


def _cut_at_the_limit(e: Entry) -> None:
    content(e)["text"] = BODY[:100]  # Firefox keeps the first 1 MiB, size is the whole


def _cut_by_usagekit(e: Entry) -> None:
    content(e)["text"] = BODY[:100]
    content(e)["size"] = 100
    content(e)["_truncated"] = True  # usagekit proxy --record, past its limit


def _blocked(e: Entry) -> None:
    response(e).update(status=0, statusText="", httpVersion="", headers=[],
                       _error="net::ERR_FAILED")  # fmt: skip
    response(e)["content"] = {"size": 0, "mimeType": "x-unknown"}


def _internal_redirect(e: Entry) -> None:
    response(e).update(status=307, statusText="Internal Redirect", redirectURL="https://x/")
    response(e)["headers"] = [{"name": "Location", "value": "https://x/"},
                              {"name": "Non-Authoritative-Reason", "value": "HSTS"}]  # fmt: skip
    response(e)["content"] = {"size": 0, "mimeType": "x-unknown"}


def _incomplete(e: Entry) -> None:
    response(e)["_error"] = "net::ERR_INCOMPLETE_CHUNKED_ENCODING"
    content(e)["text"] = BODY[:100]
    content(e)["size"] = 100


def _service_worker(e: Entry) -> None:
    response(e)["_fetchedViaServiceWorker"] = True


def _revalidated(e: Entry) -> None:
    e["request"]["headers"].append({"name": "if-none-match", "value": '"v1"'})
    response(e).update(status=304, statusText="Not Modified")  # the body: the cached copy


def _bad_base64(e: Entry) -> None:
    content(e).update(text="not base64!", encoding="base64")


def _query_elsewhere(e: Entry) -> None:
    e["request"]["url"] = e["request"]["url"].partition("?")[0]  # queryString holds it


def _cached(e: Entry) -> None:
    e["request"]["headers"] = []  # Chrome's memory cache: no request went out
    e["_fromCache"] = "memory"


def _relative(e: Entry) -> None:
    e["request"]["url"] = "/" + e["request"]["url"].split("/", 3)[3]


def _nowhere(e: Entry) -> None:
    _relative(e)  # and no :authority or Host to say where it went
    e["request"]["headers"] = [h for h in e["request"]["headers"] if h["name"] != ":authority"]


def _host_alone(e: Entry) -> None:
    _relative(e)  # HTTP/1.1's Host, without a port: http or https?
    e["request"]["headers"] = [h for h in e["request"]["headers"] if not h["name"].startswith(":")]
    e["request"]["headers"].append({"name": "Host", "value": "api.staging.example.com"})


def _not_a_path(e: Entry) -> None:
    e["request"]["url"] = e["request"]["url"].split("/", 2)[2]  # the host, without a scheme


NOT_JUDGED = {
    "chrome-evicted": (_not_captured, "not in the HAR"),
    "playwright-attach": (_attached, "not in the HAR"),
    "httptoolkit-discarded": (_discarded, "not in the HAR"),
    "empty-text": (_empty_text, "not in the HAR"),
    "firefox-cut": (_cut_at_the_limit, "cut short"),
    "usagekit-cut": (_cut_by_usagekit, "cut short"),
    "blocked": (_blocked, "no answer"),
    "internal-redirect": (_internal_redirect, "the browser's own redirect"),
    "incomplete": (_incomplete, "did not arrive whole"),
    "service-worker": (_service_worker, "service worker"),
    "revalidated": (_revalidated, "304"),
    "bad-base64": (_bad_base64, "base64"),
    "query-elsewhere": (_query_elsewhere, "queryString"),
    "memory-cache": (_cached, "headers are not in the HAR"),
    "relative-url-nowhere": (_nowhere, "no Host or :authority"),
    "relative-url-host-alone": (_host_alone, "neither :scheme nor the Host's port"),
    "not-a-url": (_not_a_path, "not absolute"),
}


@pytest.mark.parametrize("case", NOT_JUDGED)
def test_an_entry_without_the_whole_answer_is_not_judged_and_says_why(
    tmp_path: Path, data_dir: Path, case: str
) -> None:
    change, why = NOT_JUDGED[case]
    summary = replayed(data_dir, har(tmp_path, [entry(change), entry(change), entry()]))
    assert summary.ok, [f"{f.rule}: {f.reason}" for f in summary.findings]
    assert summary.requests == 1  # the whole one, judged
    ((reason, count, first),) = summary.not_judged
    assert why in reason
    assert count == 2
    assert first.startswith("curl ")


def test_a_304_to_a_request_that_asked_for_none_is_judged(tmp_path: Path, data_dir: Path) -> None:
    """Only a conditional request may get a 304 (RFC 9110 15.4.5): one that sent no
    validator was answered wrong, and is judged as the live proxy judges it."""

    def unasked(e: Entry) -> None:
        response(e).update(status=304, statusText="Not Modified")

    summary = replayed(data_dir, har(tmp_path, [entry(unasked)]))
    assert not summary.not_judged
    assert "status_matches_reference" in {f.rule for f in summary.findings}


def test_a_file_cut_mid_entry_judges_the_entries_before_and_says_so(
    tmp_path: Path, data_dir: Path
) -> None:
    path = har(tmp_path, [entry(), entry(_prefixed), entry()])
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex('"startedDateTime"')], encoding="utf-8")
    summary = replayed(data_dir, path)
    assert summary.ok
    assert summary.requests == 2
    ((reason, count, first),) = summary.not_judged
    assert "cut off" in reason
    assert count == 1
    assert first == f"entry 2 of {path}"


def test_a_bom_and_utf_16_are_read(tmp_path: Path, data_dir: Path) -> None:
    path = har(tmp_path, [entry()])
    text = path.read_text(encoding="utf-8")
    for encoded in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        path.write_bytes(encoded)
        summary = replayed(data_dir, path)
        assert summary.ok
        assert summary.requests == 1


def _left_open_and_too_early(e: Entry) -> None:
    # Sent at 09:15 for a range that starts at 10:00 and ends at the server's "now": empty,
    # a 422 then -- and whenever the HAR is replayed later, the same 422 must hold.
    e["request"]["url"] = e["request"]["url"].partition("?")[0] + "?start=2024-04-01T10:00:00Z"
    e["request"]["queryString"] = [{"name": "start", "value": "2024-04-01T10:00:00Z"}]
    error = {"field": "query.start", "message": "start must be before end"}
    body = {"code": "validation_error", "message": "1 invalid parameter", "errors": [error]}
    response(e).update(status=422, statusText="Unprocessable Entity")
    content(e).update(text=json.dumps(body), size=len(json.dumps(body)))


def test_a_request_left_to_the_servers_clock_is_judged_at_the_time_it_was_sent(
    tmp_path: Path, data_dir: Path
) -> None:
    config = KitConfig(base_url="http://staging.test", api_key="", account_id="", data=data_dir)
    assert config.server_now is None  # the server's clock: not pinned, read from the HAR
    path = har(tmp_path, [entry(_left_open_and_too_early)])
    summary, _ = replay(config, path, DATASET)
    assert summary.ok, [f"{f.rule}: {f.reason}" for f in summary.findings]
    assert "status_matches_reference" in {r.name for r in summary.results if r.passed}


def test_a_preflight_and_other_hosts_are_left_alone(tmp_path: Path, data_dir: Path) -> None:
    def preflight(e: Entry) -> None:
        e["request"]["method"] = "OPTIONS"
        response(e).update(status=204, headers=[{"name": "access-control-allow-origin",
                                                 "value": "*"}])  # fmt: skip
        response(e)["content"] = {"size": 0, "mimeType": "x-unknown"}

    def elsewhere(e: Entry) -> None:
        e["request"]["url"] = e["request"]["url"].replace("api.staging", "metrics.vendor")
        e["request"]["url"] = e["request"]["url"].replace("/analytics/usage", "/collect")

    path = har(tmp_path, [entry(preflight), entry(elsewhere), entry()])
    summary = replayed(data_dir, path)
    assert summary.ok
    assert summary.requests == 1
    assert summary.not_judged == ()


def _host_and_port(e: Entry) -> None:
    _relative(e)
    e["request"]["headers"] = [h for h in e["request"]["headers"] if not h["name"].startswith(":")]
    e["request"]["headers"].append({"name": "host", "value": "api.staging.example.com:443"})


@pytest.mark.parametrize(
    "change", [_relative, _host_and_port], ids=["h2-authority-and-scheme", "host-port-443"]
)
def test_a_path_alone_is_judged_at_the_url_its_headers_name(
    tmp_path: Path, data_dir: Path, change: Callable[[Entry], None]
) -> None:
    # Judged as the absolute entry is: a wrong answer fails, with a curl to the rebuilt URL.
    def wrong(e: Entry) -> None:
        change(e)
        body = json.loads(BODY)
        body["meta"]["granularity"] = "month"
        content(e).update(text=json.dumps(body), size=len(json.dumps(body)))

    summary = replayed(data_dir, har(tmp_path, [entry(change), entry(wrong)]))
    assert not summary.not_judged, summary.not_judged
    assert summary.requests == 2
    finding = next(f for f in summary.findings if f.rule == "meta_echoes_query")
    assert re.search(r"'https://api\.staging\.example\.com(:443)?/v1/accounts/", finding.curl[0])


def test_a_redirect_the_server_sent_is_judged_as_check_judges_it(
    tmp_path: Path, data_dir: Path
) -> None:
    """The kit's client follows no redirect: a 3xx of the endpoint is the server's answer,
    and ``check`` fails it on ``status_matches_reference`` (tests/test_check_hostile.py);
    so does replay, not a false "not judged" nor a pass."""

    def redirected(e: Entry) -> None:
        location = {"name": "location", "value": "https://elsewhere.test/v1/usage"}
        response(e).update(status=302, statusText="Found", redirectURL=location["value"])
        response(e)["headers"].append(location)
        content(e).update(text="", size=0)

    summary = replayed(data_dir, har(tmp_path, [entry(redirected)]))
    assert not summary.not_judged, summary.not_judged
    [finding] = [f for f in summary.findings if f.rule == "status_matches_reference"]
    assert "302" in finding.reason, finding.reason
