"""``usagekit proxy`` as users run it: a real process between a client and a real upstream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jsonschema
import pytest
from factories import PARENT_KEY
from proxy_support import DATASET, NOW, NOW_TEXT, REQUESTS, USAGE, USAGEKIT, proxy_process
from servers.minimal import Fault, MinimalServer
from servers.running import serving
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Mount, Route

SCHEMA = json.loads((Path(__file__).parent / "data" / "har-1.2.schema.json").read_text())

pytestmark = pytest.mark.slow


def send_all(base: str) -> list[httpx.Response]:
    with httpx.Client(base_url=base, timeout=10) as client:
        return [
            client.get(
                USAGE.format(account), params=params, headers={"X-API-Key": key} if key else {}
            )
            for account, key, params in REQUESTS
        ]


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    assert process.stderr is not None
    log = process.stderr.read()
    return process.wait(timeout=20), log


def test_a_faulty_upstream_through_the_proxy_process(tmp_path: Path) -> None:
    upstream_app = MinimalServer(dataset=DATASET, faults=frozenset({Fault.IGNORES_LIMIT}), now=NOW)
    files = {name: tmp_path / name for name in ("r.md", "r.html", "j.xml", "c.json", "t.har")}
    with (
        serving(upstream_app.app()) as upstream,
        proxy_process(
            upstream,
            *("--report", str(files["r.md"]), "--report", str(files["r.html"])),
            *("--junit-xml", str(files["j.xml"]), "--coverage-json", str(files["c.json"])),
            *("--record", str(files["t.har"]), "--refresh", "0.2"),
        ) as (base, process),
    ):
        answers = send_all(base)
        flagged = [a for a in answers if a.headers["x-usagekit-violations"] != "0"]
        assert flagged
        assert all("bucket_count_within_limit" in a.headers["x-usagekit-rules"] for a in flagged)
        tally = httpx.get(f"{base}/_usagekit/violations").json()
        assert tally["exchanges"] == len(REQUESTS)
        (limit,) = [v for v in tally["violations"] if v["rule"] == "bucket_count_within_limit"]
        assert limit["count"] == len(flagged)
        assert limit["curl"].startswith('curl -sS -H "X-API-Key: $USAGEKIT_API_KEY" ')
        assert f" '{upstream}/" in limit["curl"]
        # Other paths go to the upstream untouched: its own 404, in its own words.
        other = httpx.get(f"{base}/nowhere?x=1")
        assert other.status_code == 404
        assert other.json()["code"] == "not_found"
        assert "x-usagekit-violations" not in other.headers
        # Reports are refreshed while the proxy runs, so a killed job still leaves them.
        deadline = time.monotonic() + 10
        while "bucket_count_within_limit" not in _read(files["r.md"]):
            assert time.monotonic() < deadline, "no report while running"
            time.sleep(0.1)
        rules = {v["rule"] for v in tally["violations"]}
        code, log = stop(process)

    assert code == 1
    assert PARENT_KEY not in log
    # Each (rule, reason) is logged once, with its curl.
    first = [line for line in log.splitlines() if line.startswith("✗ ") and "(seen" not in line]
    assert len(first) == len(tally["violations"])
    assert log.count("    reproduce: curl ") == len(first)
    markdown = files["r.md"].read_text()
    assert "bucket_count_within_limit" in markdown
    assert "## Coverage" in markdown
    assert "Coverage" in files["r.html"].read_text()
    suite = ET.parse(files["j.xml"]).getroot()
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert set(failed) == rules
    coverage = json.loads(files["c.json"].read_text())
    assert coverage["exchanges"] == len(REQUESTS)
    assert coverage["cells"]["status:200"] > 0
    har = json.loads(files["t.har"].read_text())
    jsonschema.validate(har, SCHEMA)
    assert len(har["log"]["entries"]) == len(REQUESTS) + 1  # and the 404 elsewhere
    assert PARENT_KEY not in files["t.har"].read_text()

    # Offline, the recording gives the same verdict as the live traffic.
    offline = tmp_path / "offline.xml"
    replayed = subprocess.run(
        [str(USAGEKIT), "check", "--replay", str(files["t.har"]), "--now", NOW_TEXT,
         "--junit-xml", str(offline), "--coverage-json", str(tmp_path / "offline.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    suite = ET.parse(offline).getroot()
    assert {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None} == rules
    assert json.loads((tmp_path / "offline.json").read_text())["cells"] == coverage["cells"]


def test_a_correct_upstream_exits_0_unless_coverage_falls_short(tmp_path: Path) -> None:
    app = MinimalServer(dataset=DATASET, now=NOW).app()
    with serving(app) as upstream:
        with proxy_process(upstream, "--min-coverage", "granularity:*") as (base, process):
            assert all(a.headers["x-usagekit-violations"] == "0" for a in send_all(base))
            code, log = stop(process)
        assert code == 0, log
        with proxy_process(upstream, "--min-coverage", "tz:skipped-midnight") as (base, process):
            send_all(base)
            code, log = stop(process)
        assert code == 1
        assert "not exercised: tz:skipped-midnight" in log


def test_strict_mode_through_the_process() -> None:
    app = MinimalServer(dataset=DATASET, faults=frozenset({Fault.ERROR_SHAPE}), now=NOW).app()
    with serving(app) as upstream, proxy_process(upstream, "--strict") as (base, process):
        answer = httpx.get(f"{base}{USAGE.format('me')}")  # no key: a 401 in the wrong shape
        assert answer.status_code == 502
        assert answer.json()["code"] == "upstream_violation"
        assert "error_body_shape" in {e["field"] for e in answer.json()["errors"]}
        stop(process)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def test_the_usagekit_command_is_installed() -> None:
    assert os.access(USAGEKIT, os.X_OK)


def test_a_proxy_that_cannot_listen_exits_2_and_still_writes_its_reports(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(USAGEKIT), "proxy", "--upstream", "http://127.0.0.1:9", "--port", str(port),
             "--report", str(tmp_path / "r.md"), "--junit-xml", str(tmp_path / "j.xml")],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in (tmp_path / "r.md").read_text()
    assert ET.parse(tmp_path / "j.xml").getroot().iter("testcase")


@pytest.mark.parametrize("wrong", [["--port", "abc"], ["--profile", "lenient"], ["--nope"]])
def test_a_command_line_click_refuses_still_writes_every_report(
    tmp_path: Path, wrong: list[str]
) -> None:
    done = subprocess.run(
        [str(USAGEKIT), "proxy", "--upstream", "http://127.0.0.1:9", "--report",
         str(tmp_path / "r.md"), "--report", str(tmp_path / "r.html"), "--junit-xml",
         str(tmp_path / "j.xml"), "--coverage-json", str(tmp_path / "c.json"), *wrong],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert wrong[0] in done.stderr
    for name in ("r.md", "r.html", "j.xml"):
        report = (tmp_path / name).read_text(encoding="utf-8")
        assert "bad usage" in report, name
        assert "http://127.0.0.1:9" in report, name  # the upstream it was to judge
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["exchanges"] == 0


def test_a_record_file_that_cannot_be_written_exits_2_and_still_writes_its_reports(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("")  # the recorder makes missing directories, not this
    har = tmp_path / "a-file" / "traffic.har"
    done = subprocess.run(
        [str(USAGEKIT), "proxy", "--upstream", "http://127.0.0.1:9", "--port", "0",
         "--record", str(har), "--report", str(tmp_path / "r.md")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    report = (tmp_path / "r.md").read_text()
    assert "(bad usage)" in report, report
    assert f"--record {har}" in report, report


def test_a_crash_still_writes_every_report_naming_it_and_exits_2(tmp_path: Path) -> None:
    # test_check_crash's way: a sitecustomize makes one internal function raise, as a bug.
    from test_check_crash import MESSAGE, SITECUSTOMIZE

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": pythonpath,
           "USAGEKIT_TEST_CRASH": "usagekit.conformance.proxying:ValidationProxy"}  # fmt: skip
    done = subprocess.run(
        [str(USAGEKIT), "proxy", "--upstream", "http://127.0.0.1:9", "--port", "0",
         "--report", str(tmp_path / "r.md"), "--junit-xml", str(tmp_path / "j.xml")],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"RuntimeError: {MESSAGE}" in done.stderr  # the traceback, for the bug report
    assert "**Could not judge the server** (crash)" in (tmp_path / "r.md").read_text()
    error = ET.parse(tmp_path / "j.xml").getroot().find(".//error")
    assert error is not None
    assert error.get("type") == "crash"


def test_the_admin_token_reaches_the_process() -> None:
    app = MinimalServer(dataset=DATASET, now=NOW).app()
    env_token = {"env": {**os.environ, "USAGEKIT_ADMIN_TOKEN": "from-env"}}
    with serving(app) as upstream:
        for args, token, extra in (
            (("--admin-token", "s3cret"), "s3cret", {}),
            ((), "from-env", env_token),
        ):
            with proxy_process(upstream, *args, **extra) as (base, process):
                refused = httpx.get(f"{base}/_usagekit/violations")
                assert refused.status_code == 401
                assert refused.json()["code"] == "unauthorized"
                headers = {"Authorization": f"Bearer {token}"}
                allowed = httpx.get(f"{base}/_usagekit/violations", headers=headers)
                assert allowed.status_code == 200
                assert allowed.json()["exchanges"] == 0
                stop(process)


def test_the_process_gate_reads_x_forwarded_for_from_loopback_as_uvicorn_does() -> None:
    app = MinimalServer(dataset=DATASET, now=NOW).app()
    with serving(app) as upstream, proxy_process(upstream) as (base, process):
        behind = httpx.get(
            f"{base}/_usagekit/violations", headers={"X-Forwarded-For": "203.0.113.7"}
        )
        local = httpx.get(f"{base}/_usagekit/violations")
        stop(process)
    assert behind.status_code == 403
    assert behind.json()["code"] == "forbidden"
    assert local.status_code == 200


def test_the_answer_keeps_the_upstreams_date_and_server_and_adds_none() -> None:
    app = MinimalServer(dataset=DATASET, now=NOW).app()
    with serving(app) as upstream, proxy_process(upstream) as (base, process):
        path = f"{USAGE.format('me')}?granularity=day"
        straight = httpx.get(f"{upstream}{path}", headers={"X-API-Key": PARENT_KEY})
        proxied = httpx.get(f"{base}{path}", headers={"X-API-Key": PARENT_KEY})
        stop(process)
    assert proxied.status_code == straight.status_code == 200
    for name in ("date", "server"):  # the upstream's one of each, not the proxy's too
        assert len(straight.headers.get_list(name)) == 1
        assert len(proxied.headers.get_list(name)) == 1
    assert proxied.headers["server"] == straight.headers["server"]


def test_sigterm_ends_a_stream_in_flight_and_the_reports_are_written(tmp_path: Path) -> None:
    """An answer that may never end (an event stream on another path through the proxy)
    does not keep the proxy from stopping: SIGTERM cuts it, and the proxy exits and
    writes its reports as without it, the endpoint's exchanges judged."""

    async def events() -> AsyncIterator[bytes]:
        while True:
            yield b"data: tick\n\n"
            await asyncio.sleep(0.05)

    upstream_app = Starlette(
        routes=[
            Route(
                "/v1/events", lambda _: StreamingResponse(events(), media_type="text/event-stream")
            ),
            Mount("/", app=MinimalServer(dataset=DATASET, now=NOW).app()),
        ]
    )
    report = tmp_path / "r.md"
    with (
        serving(upstream_app) as upstream,
        proxy_process(upstream, "--report", str(report)) as (
            base,
            process,
        ),
    ):
        judged = httpx.get(f"{base}{USAGE.format('me')}", headers={"X-API-Key": PARENT_KEY})
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as stream:
            stream.sendall(b"GET /v1/events HTTP/1.1\r\nhost: localhost\r\n\r\n")
            assert stream.recv(65536).startswith(b"HTTP/1.1 200")
            process.send_signal(signal.SIGTERM)
            try:
                _, log = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                pytest.fail("the proxy was still running 15 s after SIGTERM")
            while stream.recv(65536):  # the stream ends with the proxy
                pass
    assert judged.headers["x-usagekit-violations"] == "0"
    assert process.returncode == 0, log
    assert "1 requests" in report.read_text()
