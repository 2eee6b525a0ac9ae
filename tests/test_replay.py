"""``check --replay``: the verdicts of a recorded HAR offline equal the live run's."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import PARENT, PARENT_KEY
from proxy_support import DATASET, NOW, USAGE, kit_config, through, traffic
from servers.minimal import Fault, MinimalServer
from servers.process import served
from servers.running import serving
from test_conformance_repro import sent_again

from usagekit.conformance.har import HarWriter
from usagekit.conformance.harfile import MAX_ENTRY
from usagekit.conformance.outcomes import Summary
from usagekit.conformance.proxy import ValidationProxy
from usagekit.conformance.replay import replay
from usagekit.mock.datasets.files import save_dataset

DATA = Path(__file__).parent / "data"
TESTS = str(Path(__file__).parent)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("dataset")
    save_dataset(DATASET, directory)
    return directory


def verdicts(summary: Summary) -> dict[str, tuple[int, int, tuple[str, ...]]]:
    return {
        r.name: (r.passed, r.failed, tuple(sorted(f.reason for f in r.findings)))
        for r in summary.results
    }


@pytest.mark.parametrize(
    "faults",
    [
        frozenset(),
        frozenset({Fault.IGNORES_LIMIT, Fault.ERROR_SHAPE}),
        frozenset({Fault.UTC_LABELS, Fault.INCLUSIVE_END, Fault.NO_AUTH}),
    ],
    ids=["correct", "limit+shape", "labels+end+auth"],
)
def test_replay_gives_the_live_verdicts(
    tmp_path: Path, data_dir: Path, faults: frozenset[Fault]
) -> None:
    har = tmp_path / "live.har"
    live = traffic(data_dir)
    through(live, faults, record=har)
    summary, replayed = replay(kit_config(data=data_dir), har, DATASET)
    assert verdicts(summary) == verdicts(live.summary())
    assert summary.ok is (not faults)
    assert replayed.ledger.counts() == live.ledger.counts()


def test_a_browser_export_of_a_correct_backend_passes(data_dir: Path) -> None:
    summary, judged = replay(kit_config(data=data_dir), DATA / "devtools-export.har", DATASET)
    assert summary.ok, [f.reason for f in summary.findings]
    assert summary.requests == 2  # the script and the icon are not the endpoint's
    ran = {r.name for r in summary.results if r.passed}
    assert {"matches_reference", "buckets_follow_calendar", "error_body_shape"} <= ran
    assert judged.ledger.counts()["status:422"] == 1


def test_a_browser_export_of_a_broken_backend_fails(tmp_path: Path, data_dir: Path) -> None:
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    content = export["log"]["entries"][1]["response"]["content"]
    body = json.loads(content["text"])
    body["data"].pop(0)  # a backend that loses the first day
    content["text"] = json.dumps(body)
    content["size"] = len(content["text"].encode())  # an export says how long its body is
    broken = tmp_path / "broken.har"
    broken.write_text(json.dumps(export), encoding="utf-8")
    summary, _ = replay(kit_config(data=data_dir), broken, DATASET)
    failed = {r.name for r in summary.results if r.failed}
    assert {"buckets_follow_calendar", "matches_reference"} <= failed
    (finding,) = [f for f in summary.findings if f.rule == "buckets_follow_calendar"]
    # The reproduction goes to the backend the browser talked to.
    assert "https://api.staging.example.com/v1/accounts/" in finding.curl[0]


_PEAK = """
import json, resource, sys
from pathlib import Path
from proxy_support import DATASET, kit_config
from usagekit.conformance.replay import replay
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
summary, _ = replay(kit_config(data=Path(sys.argv[2])), Path(sys.argv[1]), DATASET)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"grown_kib": grown, "requests": summary.requests, "ok": summary.ok,
                  "not_judged": summary.not_judged}))
"""


def _export_with(path: Path, entries: int, filler: bytes, tail: list[dict[str, Any]]) -> None:
    """A browser's export of a long session, written an entry at a time: ``entries`` images
    of ``filler`` (base64), one answer of the endpoint after each, then ``tail``."""
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    usage = export["log"]["entries"][1]
    image = copy.deepcopy(export["log"]["entries"][3])
    image["response"]["status"] = 200
    image["response"]["content"] = {
        "size": len(filler),
        "mimeType": "image/png",
        "text": base64.b64encode(filler).decode(),
        "encoding": "base64",
    }
    with path.open("w", encoding="utf-8") as out:
        out.write('{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": '
                  '"537.36"}, "pages": [], "entries": [\n')  # fmt: skip
        items = [image, usage] * entries + tail
        for n, item in enumerate(items):
            out.write((",\n" if n else "") + json.dumps(item, indent=2))
        out.write("\n]}}\n")


def test_a_large_export_is_read_in_bounded_memory(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "session.har"
    _export_with(path, 100, os.urandom(1 << 20) * 2, [])  # 100 images of 2 MiB
    size = path.stat().st_size
    assert size > 250 << 20
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path), str(data_dir)],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": TESTS},
    )  # fmt: skip
    peak = json.loads(done.stdout)
    assert peak["ok"]
    assert peak["requests"] == 100
    # An entry at a time: a few chunks and one image, not the file (nor its parsed objects).
    assert peak["grown_kib"] * 1024 < 48 << 20, f"{peak['grown_kib']} KiB for {size >> 20} MiB"


def test_an_entry_too_large_to_hold_is_passed_over_and_named(
    tmp_path: Path, data_dir: Path
) -> None:
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    huge = copy.deepcopy(export["log"]["entries"][1])
    content = huge["response"]["content"]
    content["text"] = " " * (MAX_ENTRY + 1) + content["text"]  # a body JSON may well have
    path = tmp_path / "huge.har"
    _export_with(path, 1, b"png", [huge, export["log"]["entries"][1]])
    summary, _ = replay(kit_config(data=data_dir), path, DATASET)
    assert summary.ok
    assert summary.requests == 2  # the ones before and after it
    ((reason, count, first),) = summary.not_judged
    assert "larger than" in reason
    assert count == 1
    assert "/analytics/usage?" in first


def _replayed(tmp_path: Path, export: dict[str, Any]) -> subprocess.CompletedProcess[bytes]:
    """``usagekit check --replay`` of ``export`` (written to a file), as a process, with a
    Markdown, an HTML and a JUnit report in ``tmp_path``."""
    path = tmp_path / "export.har"
    path.write_text(json.dumps(export), encoding="utf-8")
    usagekit = Path(sys.executable).with_name("usagekit")
    return subprocess.run(
        [str(usagekit), "check", "--replay", str(path), "--report", str(tmp_path / "r.md"),
         "--report", str(tmp_path / "r.html"), "--junit-xml", str(tmp_path / "j.xml")],
        capture_output=True, check=False,
    )  # fmt: skip


def test_the_command_reports_what_it_did_not_judge_in_every_report(tmp_path: Path) -> None:
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    evicted = copy.deepcopy(export["log"]["entries"][1])
    del evicted["response"]["content"]["text"]  # the browser no longer held the body
    export["log"]["entries"].append(evicted)
    done = _replayed(tmp_path, export)
    stdout = done.stdout.decode()
    assert done.returncode == 0, stdout + done.stderr.decode()
    assert "NOT JUDGED (1 exchanges of the endpoint)" in stdout
    assert "2 requests, 1 not judged" in stdout
    for report in ("r.md", "r.html", "j.xml"):
        text = (tmp_path / report).read_text(encoding="utf-8")
        assert "the body is not in the HAR" in text, report
        assert "curl -sS" in text, report


def test_replay_judges_the_paths_the_proxy_judges(tmp_path: Path, data_dir: Path) -> None:
    """The server and the proxy route a path decoded: an escaped slash in the account is not
    the endpoint's path, an escaped letter of it is."""
    har = tmp_path / "live.har"
    live = traffic(data_dir)
    requests = [("acc%2Fx", PARENT_KEY, []), (PARENT, PARENT_KEY, [])]
    through(live, record=har, requests=requests)
    summary, _ = replay(kit_config(data=data_dir), har, DATASET)
    assert summary.requests == live.summary().requests == 1
    assert verdicts(summary) == verdicts(live.summary())


def test_an_account_sent_escaped_is_the_account_the_server_reads(
    tmp_path: Path, data_dir: Path
) -> None:
    escaped = "".join(f"%{ord(c):02X}" for c in PARENT)
    har = tmp_path / "escaped.har"
    live = traffic(data_dir)
    (answer,) = through(live, record=har, requests=[(escaped, PARENT_KEY, [])])
    assert answer.status == 200
    assert live.summary().ok, [f.reason for f in live.summary().findings]
    summary, _ = replay(kit_config(data=data_dir), har, DATASET)
    assert summary.ok, [f.reason for f in summary.findings]
    assert summary.requests == 1
    assert "matches_reference" in {r.name for r in summary.results if r.passed}


def test_a_request_with_only_a_host_header_is_recorded_and_judged_again(
    tmp_path: Path, data_dir: Path
) -> None:
    """The proxy's HAR holds every header the upstream got, Host too: an entry with no
    request headers at all is one whose headers the tool did not capture."""
    har = tmp_path / "bare.har"
    recorder = HarWriter(har, "usagekit proxy", "test")
    live = traffic(data_dir)
    target = USAGE.format(PARENT)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": target, "raw_path": target.encode(),
             "query_string": b"", "headers": [(b"host", b"proxy.test")],
             "client": ("127.0.0.1", 1), "server": ("proxy.test", 80)}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def go(base: str) -> None:
        proxy = ValidationProxy(base, live, recorder=recorder)
        await proxy(scope, receive, send)
        await proxy.aclose()

    with serving(MinimalServer(dataset=DATASET, now=NOW).app()) as base:
        asyncio.run(go(base))
    recorder.close()
    assert sent[0]["status"] == 401
    summary, _ = replay(kit_config(data=data_dir), har, DATASET)
    assert summary.not_judged == ()
    assert summary.requests == live.summary().requests == 1
    assert verdicts(summary) == verdicts(live.summary())


@pytest.mark.slow
def test_the_curl_of_a_browser_exports_finding_gets_the_answer_judged(
    tmp_path: Path, data_dir: Path
) -> None:
    """A Chrome export of a faulty server's answers (HTTP/2 pseudo-headers, the key's
    name in lower case, escaped query values): each finding's curl, run in a shell,
    gets the answer that was judged -- the same status, byte for byte the same body."""
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    with served(data_dir, {Fault.IGNORES_LIMIT, Fault.ERROR_SHAPE}, now=NOW) as base:
        entries = []
        for query in ("limit=2&start=2024-03-01T00%3A00%3A00Z", "limit=0&tz=Europe%2FVienna"):
            url = f"{base}{USAGE.format(PARENT)}?{query}"
            answer = httpx.get(url, headers={"x-api-key": PARENT_KEY}, timeout=10)
            chrome = copy.deepcopy(export["log"]["entries"][1])
            chrome["request"]["url"] = url
            chrome["request"]["headers"][2]["value"] = url.partition(base)[2]  # :path
            chrome["response"]["status"] = answer.status_code
            chrome["response"]["headers"] = [{"name": k, "value": v}
                                             for k, v in answer.headers.items()]  # fmt: skip
            chrome["response"]["content"] = {"size": len(answer.content),
                                             "mimeType": "application/json",
                                             "text": answer.text}  # fmt: skip
            entries.append(chrome)
        export["log"]["entries"] = entries
        path = tmp_path / "export.har"
        path.write_text(json.dumps(export), encoding="utf-8")
        summary, _ = replay(kit_config(data=data_dir), path, DATASET)
        assert {"bucket_count_within_limit", "error_body_shape"} <= {
            f.rule for f in summary.findings
        }
        for finding in summary.findings:
            for judged in finding.judged:
                curl = judged.curl
                assert '"X-API-Key: $USAGEKIT_API_KEY"' in curl
                assert sent_again(curl, tmp_path, timeout=10) == (0, judged.status, judged.digest)


def test_a_url_no_shell_text_holds_is_printed_as_the_bytes_it_stands_for(tmp_path: Path) -> None:
    """A HAR is JSON, and its URL may hold what no request line or report can: a lone
    surrogate (a byte that is not UTF-8, as Python writes it), an escape or a carriage
    return. Every report is written, none holds a raw control character, and the curl,
    run in a real shell, hands curl the URL's bytes."""
    export = json.loads((DATA / "devtools-export.har").read_text(encoding="utf-8"))
    entry = export["log"]["entries"][1]
    url = entry["request"]["url"] + "&x=\udcff\x1b]0;t\x07\r%FF"
    entry["request"]["url"] = url
    entry["response"]["content"]["text"] = "{}"  # a finding, with its curl
    entry["response"]["content"].pop("size", None)
    done = _replayed(tmp_path, export)
    assert done.returncode == 1, done.stdout + done.stderr
    curls = set()
    for report in ("r.md", "r.html", "j.xml"):
        text = (tmp_path / report).read_text(encoding="utf-8")
        curls |= {line for line in text.splitlines() if line.lstrip().startswith("curl -sS")}
        assert not any(c in text for c in "\x1b\x07\r"), report
    assert curls
    wanted = url.encode("utf-8", "surrogateescape")
    for curl in curls:
        script = 'curl() { printf "%s\\n" "$@"; }; ' + curl.strip()
        for shell in ("sh", "bash"):
            argv = subprocess.run([shell, "-c", script], capture_output=True, check=True)
            assert argv.stdout.split(b"\n")[-2] == wanted, (shell, curl)  # the last argument
